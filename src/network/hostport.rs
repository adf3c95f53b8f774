//! hostPort forwarding for an unprivileged daemon: the daemon stays in the host's
//! network namespace, listens on each pod's hostPort there (TCP; `hostIP`, else all
//! addresses) and relays every connection to `podIP:containerPort`, dialled from a
//! thread that lives in the keeper's network namespace (where the pods' bridge is).
//! Only the ports a user may bind work (by default 1024 and up).
//!
//! Listeners are opened after CNI ADD, closed before CNI DEL, and opened again for
//! the ready pods when a daemon restarts ([`restore`]). Root daemons do not use this:
//! the CNI `portmap` plugin does the job there.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;

type Dial = (SocketAddr, mpsc::Sender<std::io::Result<TcpStream>>);

static LISTENERS: Mutex<BTreeMap<String, Vec<Arc<TcpListener>>>> = Mutex::new(BTreeMap::new());
static DIALER: OnceLock<Mutex<mpsc::Sender<Dial>>> = OnceLock::new();

/// Opens the listeners of pod `id` for the `portMappings` of `runtime_config`, relaying
/// to `ip`. Does nothing for a root daemon. On error, nothing stays open.
pub fn open(id: &str, ip: Option<&str>, runtime_config: &Value) -> Result<(), String> {
    if crate::daemon::userns::current().is_none() {
        return Ok(());
    }
    let mappings: Vec<&Value> = runtime_config["portMappings"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    if mappings.is_empty() {
        return Ok(());
    }
    let ip: std::net::IpAddr = ip
        .and_then(|i| i.parse().ok())
        .ok_or("hostPort: the pod has no IP to forward to")?;
    let mut opened = Vec::new();
    for m in mappings {
        if m["protocol"].as_str().unwrap_or("tcp") != "tcp" {
            tracing::warn!(pod = id, "hostPort: only TCP is forwarded unprivileged");
            continue;
        }
        let port = |k: &str| m[k].as_u64().and_then(|p| u16::try_from(p).ok());
        let (Some(host), Some(target)) = (port("hostPort"), port("containerPort")) else {
            continue;
        };
        let bind_ip = m["hostIP"]
            .as_str()
            .filter(|s| !s.is_empty())
            .unwrap_or("0.0.0.0");
        let listener = match TcpListener::bind((bind_ip, host)) {
            Ok(l) => Arc::new(l),
            Err(e) => {
                opened.iter().for_each(stop);
                return Err(format!("hostPort {bind_ip}:{host}: {e}"));
            }
        };
        let to = SocketAddr::new(ip, target);
        let l = Arc::clone(&listener);
        std::thread::spawn(move || accept_loop(&l, to));
        opened.push(listener);
    }
    lock().insert(id.to_owned(), opened);
    Ok(())
}

/// Closes the listeners of pod `id` (connections already relayed go on).
pub fn close(id: &str) {
    if let Some(ls) = lock().remove(id) {
        ls.iter().for_each(stop);
    }
}

/// Reopens the listeners of every ready pod recorded under `root` (after a restart).
pub fn restore(root: &std::path::Path) {
    let pods = crate::state::load_dir::<crate::pod::PodRecord>(&root.join("pods"));
    for pod in pods.unwrap_or_default() {
        let Some(att) = pod.network.as_ref() else {
            continue;
        };
        if let Err(e) = open(&pod.id, pod.ip.as_deref(), &att.runtime_config) {
            tracing::warn!(pod = %pod.id, "after a restart: {e}");
        }
    }
}

fn lock() -> std::sync::MutexGuard<'static, BTreeMap<String, Vec<Arc<TcpListener>>>> {
    LISTENERS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Wakes the accept loop (accept fails on a shut-down listening socket) and ends it.
fn stop(l: &Arc<TcpListener>) {
    let _ = nix::sys::socket::shutdown(l.as_raw_fd(), nix::sys::socket::Shutdown::Both);
}

fn accept_loop(listener: &TcpListener, to: SocketAddr) {
    for conn in listener.incoming() {
        let Ok(conn) = conn else {
            return;
        };
        std::thread::spawn(move || match dial(to) {
            Ok(upstream) => relay(conn, upstream),
            Err(e) => tracing::debug!(%to, "hostPort: cannot reach the pod: {e}"),
        });
    }
}

/// Connects to `to` from the keeper's network namespace.
fn dial(to: SocketAddr) -> std::io::Result<TcpStream> {
    let dialer = DIALER.get_or_init(|| Mutex::new(spawn_dialer()));
    let (tx, rx) = mpsc::channel();
    let sent = dialer
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send((to, tx));
    if sent.is_err() {
        return Err(std::io::Error::other("the dialer thread is gone"));
    }
    rx.recv()
        .unwrap_or_else(|_| Err(std::io::Error::other("the dialer thread is gone")))
}

/// A thread that enters the keeper's network namespace and connects on request.
fn spawn_dialer() -> mpsc::Sender<Dial> {
    let (tx, rx) = mpsc::channel::<Dial>();
    std::thread::spawn(move || {
        let entered = crate::daemon::userns::current()
            .ok_or_else(|| "no keeper".to_string())
            .and_then(|k| std::fs::File::open(k.netns()).map_err(|e| e.to_string()))
            .and_then(|f| {
                nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(|e| e.to_string())
            });
        for (to, reply) in rx {
            let r = match &entered {
                Ok(()) => TcpStream::connect_timeout(&to, Duration::from_secs(5)),
                Err(e) => Err(std::io::Error::other(format!(
                    "join the pods' network: {e}"
                ))),
            };
            let _ = reply.send(r);
        }
    });
    tx
}

/// Copies both ways until each side has ended.
fn relay(a: TcpStream, b: TcpStream) {
    let (Ok(a2), Ok(b2)) = (a.try_clone(), b.try_clone()) else {
        return;
    };
    let t = std::thread::spawn(move || pump(a2, b2));
    pump(b, a);
    let _ = t.join();
}

fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
