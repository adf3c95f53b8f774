//! The test server: a streaming [`Server`] on its own tokio runtime with a
//! [`TestRuntime`] behind it, torn down (server, containers) on drop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sifcri::streaming::{AttachRequest, ExecRequest, Server, ServerConfig};

use super::runtime::TestRuntime;

/// Open fds of the test process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Waits up to 5 s for the fd count to fall back to `before`.
pub fn assert_fds_back_to(before: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while open_fds() > before {
        assert!(
            Instant::now() < deadline,
            "fds leaked: {} > {before}",
            open_fds()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub struct Harness {
    pub rt: tokio::runtime::Runtime,
    pub runtime: Arc<TestRuntime>,
    server: Option<Server>,
}

impl Harness {
    pub fn new(ttl: Duration) -> Self {
        Self::with_config(ServerConfig {
            token_ttl: ttl,
            ..ServerConfig::default()
        })
    }

    pub fn with_config(config: ServerConfig) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let runtime = Arc::new(TestRuntime::default());
        let server = rt.block_on(Server::start(config, runtime.clone())).unwrap();
        Self {
            rt,
            runtime,
            server: Some(server),
        }
    }

    pub fn server(&self) -> &Server {
        self.server.as_ref().unwrap()
    }

    pub fn exec(&self, cmd: &str, tty: bool, stdin: bool) -> String {
        self.server().exec_url(ExecRequest {
            container_id: "c1".into(),
            cmd: vec!["sh".into(), "-c".into(), cmd.into()],
            tty,
            stdin,
            stdout: true,
            stderr: !tty,
        })
    }

    /// An attach URL for `container` with stdin, stdout and stderr, no tty.
    pub fn attach_all(&self, container: &str) -> String {
        self.server().attach_url(AttachRequest {
            container_id: container.into(),
            stdin: true,
            stdout: true,
            stderr: true,
            tty: false,
        })
    }

    /// Every process the runtime started is gone.
    pub fn assert_no_process_left(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        for pid in self.runtime.pids.lock().unwrap().iter() {
            while std::path::Path::new(&format!("/proc/{pid}")).exists() {
                assert!(Instant::now() < deadline, "process {pid} left behind");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _guard = self.rt.enter();
        self.server.take();
        self.runtime.containers.lock().unwrap().clear();
    }
}

/// Writes `frame` (stdin for the command, in the protocol's framing) 512 times on a
/// clone of `tcp` from a thread — more than the pipe, the queues and the socket hold, so
/// the session's reader stalls handing stdin to a command that does not read it — then
/// after 2 s hangs up the connection as a vanished client would.
pub fn flood_then_hang_up(tcp: &std::net::TcpStream, frame: Vec<u8>) {
    let mut flood = tcp.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        for _ in 0..512 {
            if std::io::Write::write_all(&mut flood, &frame).is_err() {
                return;
            }
        }
    });
    std::thread::sleep(std::time::Duration::from_secs(2));
    let _ = tcp.shutdown(std::net::Shutdown::Both);
    let _ = writer.join();
}
