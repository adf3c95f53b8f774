//! Exec through the monitor: a control connection whose first frame is an exec request
//! ([`crate::shim::wire::exec`]) runs a process in the container, forked from the shim
//! over `rootless::PreparedExec` with the stdio the client sent (or a terminal opened
//! here in the container's own devpts, whose master goes back to the client).
//!
//! The shim's `wait_init` reaps every child with `waitpid(-1)`; an exec's exit status
//! is routed to its connection through [`Children`] (the pid is registered under the
//! same lock the fork is made under, so a status reaped at once is not lost). When the
//! client's connection ends first (client gone, ExecSync timeout), the process tree is
//! killed and the shim answers once it is gone.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::{Duration, Instant};

pub use super::children::Children;
use super::children::Event;
use crate::shim::wire::exec::{self as proto, ErrorCode, ExecRequest};
use crate::shim::wire::Kind;

/// What an exec needs from the monitor.
#[derive(Debug)]
pub struct Context {
    /// The OCI runtime state root.
    pub runtime_root: PathBuf,
    /// The container id.
    pub id: String,
    /// Where exit statuses are routed.
    pub children: std::sync::Arc<Children>,
}

impl Context {
    /// Serves one exec connection (its request already read) to its end.
    pub fn serve(&self, conn: UnixStream, payload: &[u8], fds: Vec<OwnedFd>) {
        let Some(req) = ExecRequest::decode(payload) else {
            let _ = send(
                &conn,
                &proto::error_frame(ErrorCode::Other, "bad exec request"),
            );
            return;
        };
        let (tx, rx) = channel();
        let started = self.start(&req, fds, tx.clone());
        let (pid, master) = match started {
            Ok(s) => s,
            Err((code, msg)) => {
                let _ = send(&conn, &proto::error_frame(code, &msg));
                return;
            }
        };
        let frame = proto::int_frame(Kind::Started, pid);
        let sent = match &master {
            Some(m) => proto::send_with_fds(&conn, &frame, &[m.as_fd()]),
            None => send(&conn, &frame),
        };
        drop(master);
        if sent.is_ok() {
            watch_client(&conn, tx);
        } else {
            let _ = tx.send(Event::Gone);
        }
        let last = match wait(pid, &rx) {
            Ok(code) => proto::int_frame(Kind::Exited, code),
            Err(msg) => proto::error_frame(ErrorCode::Other, &msg),
        };
        let _ = send(&conn, &last);
        let _ = conn.shutdown(std::net::Shutdown::Both);
    }

    /// Prepares and forks the process; its pid and a terminal's master.
    fn start(
        &self,
        req: &ExecRequest,
        fds: Vec<OwnedFd>,
        tx: Sender<Event>,
    ) -> Result<(i32, Option<OwnedFd>), (ErrorCode, String)> {
        let other = |e: &dyn std::fmt::Display| (ErrorCode::Other, format!("exec: {e}"));
        let container =
            rootless::Container::load(&self.runtime_root, &self.id).map_err(|e| other(&e))?;
        let opts = rootless::ExecOptions {
            args: req.args.clone(),
            tty: req.tty,
            ..Default::default()
        };
        let prepared = container.prepare_exec(&opts).map_err(|e| match e {
            rootless::Error::WrongStatus { .. } => (ErrorCode::NotRunning, e.to_string()),
            e => other(&e),
        })?;
        let (stdio, master) = if req.tty {
            let init = container.pid().unwrap_or(0);
            let ptmx = PathBuf::from(format!("/proc/{init}/root/dev/pts/ptmx"));
            let (master, slave) = crate::sys::open_pty(&ptmx)
                .map_err(|e| other(&format!("open a terminal in the container: {e}")))?;
            if req.width > 0 && req.height > 0 {
                let _ = crate::sys::set_window_size(master.as_fd(), req.height, req.width);
            }
            (vec![slave], Some(master))
        } else if fds.len() == 3 {
            (fds, None)
        } else {
            return Err(other(&"stdin, stdout and stderr must be sent along"));
        };
        let pick = |i: usize| stdio.get(i).or(stdio.first()).map(AsFd::as_fd);
        let (Some(i), Some(o), Some(e)) = (pick(0), pick(1), pick(2)) else {
            return Err(other(&"no stdio"));
        };
        let pid = self.children.spawn(tx, || {
            prepared
                .spawn([i, o, e])
                .map(nix::unistd::Pid::as_raw)
                .map_err(|e| format!("exec: {e}"))
        });
        pid.map(|p| (p, master)).map_err(|m| (ErrorCode::Other, m))
    }
}

fn send(conn: &UnixStream, frame: &[u8]) -> std::io::Result<()> {
    std::io::Write::write_all(&mut &*conn, frame)
}

/// Tells the waiter when the client's side ends (end of file, an error, or any byte:
/// the client sends nothing after its request).
fn watch_client(conn: &UnixStream, tx: Sender<Event>) {
    let Ok(mut r) = conn.try_clone() else {
        let _ = tx.send(Event::Gone);
        return;
    };
    std::thread::spawn(move || {
        let mut b = [0u8; 64];
        let _ = std::io::Read::read(&mut r, &mut b);
        let _ = tx.send(Event::Gone);
    });
}

/// The exit status of `pid`; when the client goes first, kills the process tree and
/// waits (5 s at most for the status, 2 s more for the tree) until it is gone.
fn wait(pid: i32, rx: &Receiver<Event>) -> Result<i32, String> {
    match rx.recv() {
        Ok(Event::Exited(code)) => return Ok(code),
        Ok(Event::Gone) => {}
        Ok(Event::Lost) | Err(_) => {
            proto::kill_tree(pid);
            return Err("the container has exited".into());
        }
    }
    let killed = proto::kill_tree(pid);
    let deadline = Instant::now() + Duration::from_secs(5);
    let code = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Event::Exited(code)) => break Some(code),
            Ok(Event::Gone) => continue,
            Ok(Event::Lost) | Err(_) => break None,
        }
    };
    // Zombies too (a client may look right after: critest runs `pgrep`), but not for
    // long: an init that does not reap keeps its orphans' zombies.
    let deadline = Instant::now() + Duration::from_secs(2);
    while killed
        .iter()
        .any(|p| PathBuf::from(format!("/proc/{p}")).exists())
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    code.ok_or_else(|| "the exec'd process did not end".into())
}
