//! Connecting to a TCP port inside another network namespace (a pod's), for
//! port forwarding: a dedicated std thread joins the namespace given by path
//! (`/proc/PID/ns/net` or a pinned netns file) with `setns`, connects to the
//! loopback address there and hands the socket back. The socket stays in the
//! pod's namespace; the thread ends right after, so no other thread of the
//! daemon ever changes namespace.

use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sched::CloneFlags;
use tokio::net::TcpStream;

/// How long a connect inside the namespace may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Errors of [`connect_in_netns`].
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    /// The namespace file could not be opened.
    #[error("open network namespace {path}")]
    Open {
        /// The namespace path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// `setns` into it failed (EPERM without CAP_SYS_ADMIN over its owner).
    #[error("join network namespace {path}")]
    Setns {
        /// The namespace path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: nix::errno::Errno,
    },
    /// Nothing accepted the connection on loopback (IPv4, then IPv6).
    #[error("connect to localhost:{port} in {path}")]
    Connect {
        /// The namespace path.
        path: PathBuf,
        /// The port.
        port: u16,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The helper thread could not start or handing back the socket failed.
    #[error("netns connect thread")]
    Thread(#[source] io::Error),
}

/// Connects to `127.0.0.1:port` (or `[::1]:port` when that is refused) inside
/// the network namespace at `netns`; needs CAP_SYS_ADMIN over the namespace's
/// owning user namespace (root, for the daemon's rootful pods).
pub async fn connect_in_netns(netns: &Path, port: u16) -> Result<TcpStream, NetnsError> {
    let path = netns.to_path_buf();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("netns-connect".into())
        .spawn(move || {
            let _ = tx.send(connect_blocking(path, port));
        })
        .map_err(NetnsError::Thread)?;
    let gone = || NetnsError::Thread(io::Error::other("helper thread ended without an answer"));
    let std_stream = rx.await.map_err(|_| gone())??;
    std_stream
        .set_nonblocking(true)
        .map_err(NetnsError::Thread)?;
    TcpStream::from_std(std_stream).map_err(NetnsError::Thread)
}

/// Runs on its own thread: joins the namespace, then connects.
fn connect_blocking(path: PathBuf, port: u16) -> Result<std::net::TcpStream, NetnsError> {
    let ns = File::open(&path).map_err(|source| NetnsError::Open {
        path: path.clone(),
        source,
    })?;
    nix::sched::setns(&ns, CloneFlags::CLONE_NEWNET).map_err(|source| NetnsError::Setns {
        path: path.clone(),
        source,
    })?;
    let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
    std::net::TcpStream::connect_timeout(&v4, CONNECT_TIMEOUT)
        .or_else(|e| match e.kind() {
            io::ErrorKind::ConnectionRefused => {
                std::net::TcpStream::connect_timeout(&v6, CONNECT_TIMEOUT).map_err(|_| e)
            }
            _ => Err(e),
        })
        .map_err(|source| NetnsError::Connect { path, port, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn own_namespace_and_bad_paths() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let own = Path::new("/proc/self/ns/net");
        let s = connect_in_netns(own, port).await;
        match s {
            Ok(s) => assert_eq!(s.peer_addr().unwrap().port(), port),
            // Without CAP_SYS_ADMIN even joining our own namespace is refused.
            Err(NetnsError::Setns { .. }) => {}
            Err(e) => panic!("{e}"),
        }
        let missing = connect_in_netns(Path::new("/nonexistent/ns"), port).await;
        assert!(matches!(missing, Err(NetnsError::Open { .. })));
    }
}
