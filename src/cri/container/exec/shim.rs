//! The daemon's side of exec through the container's monitor: connect to
//! `DIR/control.sock`, send the request with the process's stdio
//! ([`crate::shim::wire::exec`]), read the answer (the pid, and a terminal's master),
//! then wait for the exit status on a task. Closing our side asks the monitor to kill
//! the process tree.

use std::os::fd::{BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::task::JoinHandle;

use crate::shim::wire::exec::{self as proto, ErrorCode, ExecRequest};
use crate::shim::wire::{self, Kind, HEADER_LEN};

/// How long the monitor has to start the process.
const ANSWER_WAIT: Duration = Duration::from_secs(30);

/// Why the monitor did not run the exec.
#[derive(Debug)]
pub enum ShimError {
    /// The monitor does not take exec requests (one started by an older daemon), or
    /// none answers: run the exec another way.
    Unsupported,
    /// The container is not running.
    NotRunning(String),
    /// Anything else.
    Other(String),
}

/// An exec the monitor started.
#[derive(Debug)]
pub struct Started {
    /// The pid of the monitor's child (in the monitor's pid namespace).
    pub pid: i32,
    /// The terminal's master, for a `tty` exec.
    pub master: Option<OwnedFd>,
    /// Yields the exit status (exit code, or 128 + signal).
    pub waiter: JoinHandle<Result<i32, String>>,
    /// Our side of the connection: dropping it asks the monitor to kill the process.
    pub conn: OwnedWriteHalf,
}

/// Asks the monitor of the container in `dir` to run `req` with `stdio` (empty with a
/// terminal). Blocking until the answer; needs a tokio runtime context.
pub fn start(
    dir: &Path,
    req: &ExecRequest,
    stdio: &[BorrowedFd<'_>],
) -> Result<Started, ShimError> {
    let other = |what: &str, e: &dyn std::fmt::Display| ShimError::Other(format!("{what}: {e}"));
    let d = std::fs::File::open(dir).map_err(|e| other("open the container directory", &e))?;
    let conn = UnixStream::connect(wire::short_path(&d, wire::CONTROL_SOCKET))
        .map_err(|_| ShimError::Unsupported)?;
    drop(d);
    let _ = conn.set_read_timeout(Some(ANSWER_WAIT));
    proto::send_with_fds(&conn, &req.encode(), stdio).map_err(|_| ShimError::Unsupported)?;
    let (kind, payload, mut fds) = match proto::read_frame_fds(&conn) {
        Ok(f) => f,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            return Err(other("the container's monitor did not answer", &e))
        }
        // An older monitor ends a connection whose first frame it does not know.
        Err(_) => return Err(ShimError::Unsupported),
    };
    let pid = match kind {
        Kind::Started => proto::parse_int(&payload).unwrap_or(0),
        Kind::ExecError => {
            return Err(match proto::parse_error(&payload) {
                (ErrorCode::NotRunning, m) => ShimError::NotRunning(m),
                (ErrorCode::Other, m) => ShimError::Other(m),
            })
        }
        _ => {
            return Err(ShimError::Other(
                "unexpected answer from the monitor".into(),
            ))
        }
    };
    let master = if req.tty { fds.pop() } else { None };
    let _ = conn.set_read_timeout(None);
    conn.set_nonblocking(true).map_err(|e| other("exec", &e))?;
    let conn = tokio::net::UnixStream::from_std(conn).map_err(|e| other("exec", &e))?;
    let (r, w) = conn.into_split();
    Ok(Started {
        pid,
        master,
        waiter: tokio::spawn(exit_status(r)),
        conn: w,
    })
}

/// Reads the monitor's last frame: the exit status, or why there is none.
async fn exit_status(mut r: OwnedReadHalf) -> Result<i32, String> {
    let mut h = [0u8; HEADER_LEN];
    r.read_exact(&mut h)
        .await
        .map_err(|_| "the container's monitor ended the exec without a status".to_string())?;
    let (kind, len) = wire::parse_header(&h).map_err(|e| e.to_string())?;
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)
        .await
        .map_err(|e| format!("exec: {e}"))?;
    match kind {
        Kind::Exited => proto::parse_int(&payload).ok_or_else(|| "bad exit status".into()),
        Kind::ExecError => Err(proto::parse_error(&payload).1),
        _ => Err("unexpected frame from the monitor".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixListener;

    /// A stand-in monitor on `dir/control.sock` that reads one request (with its
    /// descriptors) and answers with `answer` (nothing: an older monitor's hang-up).
    fn monitor(dir: &Path, answer: Vec<Vec<u8>>) -> std::thread::JoinHandle<usize> {
        let l = UnixListener::bind(dir.join(wire::CONTROL_SOCKET)).unwrap();
        std::thread::spawn(move || {
            let (conn, _) = l.accept().unwrap();
            let fds = match proto::read_frame_fds(&conn) {
                Ok((Kind::Exec, _, fds)) => fds.len(),
                _ => usize::MAX,
            };
            for frame in answer {
                (&conn).write_all(&frame).unwrap();
            }
            fds
        })
    }

    fn stdio() -> Vec<OwnedFd> {
        let null = || OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
        vec![null(), null(), null()]
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn answers_of_the_monitor() {
        let dir = tempfile::tempdir().unwrap();
        let fds = stdio();
        let fds: Vec<BorrowedFd<'_>> = fds.iter().map(std::os::fd::AsFd::as_fd).collect();
        let req = ExecRequest {
            args: vec!["true".into()],
            ..Default::default()
        };
        let run = |answer: Vec<Vec<u8>>| {
            let m = monitor(dir.path(), answer);
            let r = start(dir.path(), &req, &fds);
            let _ = std::fs::remove_file(dir.path().join(wire::CONTROL_SOCKET));
            (r, m.join().unwrap())
        };
        // An older monitor ends the connection: run the exec another way.
        let (r, sent) = run(Vec::new());
        assert!(matches!(r, Err(ShimError::Unsupported)), "{r:?}");
        assert_eq!(sent, 3, "stdio travels with the request");
        let not_running = proto::error_frame(ErrorCode::NotRunning, "stopped");
        let (r, _) = run(vec![not_running]);
        assert!(matches!(r, Err(ShimError::NotRunning(m)) if m == "stopped"));
        let started = proto::int_frame(Kind::Started, 42);
        let exited = proto::int_frame(Kind::Exited, 137);
        let (r, _) = run(vec![started, exited]);
        let s = r.unwrap();
        assert_eq!(s.pid, 42);
        assert_eq!(s.waiter.await.unwrap(), Ok(137));
        // No monitor at all: the fallback says what is wrong.
        let r = start(dir.path(), &req, &fds);
        assert!(matches!(r, Err(ShimError::Unsupported)), "{r:?}");
    }
}
