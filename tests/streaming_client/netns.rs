//! A "pod" network namespace for the port-forward tests: `unshare -n` holds
//! it (loopback brought up with `ip`), and a TCP echo server listens on
//! 127.0.0.1 inside it, on a thread of the test that joined it with setns.
//! The guard stops the server and kills the holder.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// True as root; outside CI a non-root run skips loudly, under `CI=true` it fails.
pub fn require_root(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test}: needs root (network namespaces) and CI=true"
    );
    eprintln!("SKIP {test}: needs root to create and join network namespaces");
    false
}

pub struct PodNetns {
    holder: Child,
    /// `/proc/PID/ns/net` of the holder.
    pub path: PathBuf,
    /// The echo server's port inside the namespace.
    pub port: u16,
    stop: Arc<AtomicBool>,
    server: Option<JoinHandle<()>>,
}

impl PodNetns {
    pub fn start() -> Self {
        let holder = Command::new("unshare")
            .args(["-n", "sh", "-c", "ip link set lo up && exec sleep 300"])
            .spawn()
            .expect("unshare -n");
        let pid = holder.id();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default() != "sleep\n"
        {
            assert!(Instant::now() < deadline, "netns holder did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        let path = PathBuf::from(format!("/proc/{pid}/ns/net"));
        let ns = std::fs::File::open(&path).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let flag = stop.clone();
        let server = std::thread::spawn(move || {
            nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.set_nonblocking(true).unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => {
                        std::thread::spawn(move || echo(s));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        let port = rx.recv().unwrap();
        Self {
            holder,
            path,
            port,
            stop,
            server: Some(server),
        }
    }
}

/// Echoes until the client's EOF, then closes; a read starting with `quit`
/// makes it answer `bye` and close first.
fn echo(mut s: TcpStream) {
    let _ = s.set_nonblocking(false);
    let mut buf = [0u8; 16384];
    while let Ok(n @ 1..) = s.read(&mut buf) {
        if buf[..n].starts_with(b"quit") {
            let _ = s.write_all(b"bye");
            break;
        }
        if s.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = s.shutdown(Shutdown::Both);
}

impl Drop for PodNetns {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.server.take() {
            let _ = t.join();
        }
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}
