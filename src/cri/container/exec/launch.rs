//! A process started in a running container, with its stdio on pipes to the daemon
//! (or /dev/null), or on a terminal whose master the daemon holds.
//!
//! First through the container's monitor ([`super::shim`]: the monitor forks it over
//! `rootless::PreparedExec` and reports its exit status, so it does not depend on the
//! daemon's life). A monitor that does not take exec requests (started by an older
//! daemon) gets the fallback, without a terminal: the daemon prepares the exec itself
//! and forks from this multi-threaded process, the child only making raw system calls
//! until `execve`; the child that mirrors its exit status is reaped on a blocking
//! thread. Dropped before it ended, the whole process tree is killed (by the monitor,
//! once our side of its connection is closed; by us in the fallback).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use tokio::net::unix::{pipe, OwnedWriteHalf};
use tokio::task::JoinHandle;

use super::super::ContainerRecord;
use super::kill_tree;
use super::shim::{self, ShimError};
use crate::shim::wire::exec::ExecRequest;

/// How long a kill through the monitor may take to be confirmed.
const KILL_WAIT: Duration = Duration::from_secs(10);

/// A running exec.
#[derive(Debug)]
pub struct Launched {
    pid: i32,
    waiter: Option<JoinHandle<Result<i32, String>>>,
    /// The connection to the monitor that runs it (none in the fallback).
    monitor: Option<OwnedWriteHalf>,
    /// The terminal's master, for a `tty` exec.
    pub master: Option<std::fs::File>,
    /// The write end of its stdin.
    pub stdin: Option<pipe::Sender>,
    /// The read end of its stdout.
    pub stdout: Option<pipe::Receiver>,
    /// The read end of its stderr.
    pub stderr: Option<pipe::Receiver>,
}

/// Why an exec could not start.
#[derive(Debug)]
pub enum LaunchError {
    /// The container is not running.
    NotRunning(String),
    /// Anything else.
    Other(String),
}

impl From<LaunchError> for crate::cri::Error {
    fn from(e: LaunchError) -> Self {
        match e {
            LaunchError::NotRunning(m) => Self::FailedPrecondition(m),
            LaunchError::Other(m) => Self::Internal(m),
        }
    }
}

impl From<LaunchError> for crate::streaming::RuntimeError {
    fn from(e: LaunchError) -> Self {
        match e {
            LaunchError::NotRunning(m) | LaunchError::Other(m) => Self::Other(m),
        }
    }
}

impl ContainerRecord {
    /// Starts `args` in this container (runtime state under `runtime_root`, for the
    /// fallback), with pipes for those of stdin, stdout and stderr that `pipes` asks for.
    pub async fn launch_exec(
        &self,
        runtime_root: &Path,
        args: Vec<String>,
        pipes: [bool; 3],
    ) -> Result<Launched, LaunchError> {
        let (root, id, dir) = (
            runtime_root.to_path_buf(),
            self.id.clone(),
            self.dir.clone(),
        );
        tokio::task::spawn_blocking(move || start(&root, &dir, &id, args, pipes))
            .await
            .map_err(|e| LaunchError::Other(format!("exec: {e}")))?
    }

    /// Starts `args` on a terminal (initial `(width, height)`, zeros: none) through the
    /// container's monitor; `None` when it takes no exec requests.
    pub async fn launch_exec_tty(
        &self,
        args: Vec<String>,
        (width, height): (u16, u16),
    ) -> Result<Option<Launched>, LaunchError> {
        let req = ExecRequest {
            args,
            tty: true,
            width,
            height,
        };
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || match shim::start(&dir, &req, &[]) {
            Ok(s) => Ok(Some(Launched::from_monitor(s))),
            Err(ShimError::Unsupported) => Ok(None),
            Err(e) => Err(from_shim(e)),
        })
        .await
        .map_err(|e| LaunchError::Other(format!("exec: {e}")))?
    }
}

fn from_shim(e: ShimError) -> LaunchError {
    match e {
        ShimError::Unsupported => LaunchError::Other("exec: the monitor takes no exec".into()),
        ShimError::NotRunning(m) => LaunchError::NotRunning(m),
        ShimError::Other(m) => LaunchError::Other(m),
    }
}

fn start(
    root: &Path,
    dir: &Path,
    id: &str,
    args: Vec<String>,
    pipes: [bool; 3],
) -> Result<Launched, LaunchError> {
    let other = |e: &dyn std::fmt::Display| LaunchError::Other(format!("exec: {e}"));
    let null = || {
        std::fs::File::options()
            .read(true)
            .write(true)
            .open("/dev/null")
    };
    let pipe = || nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC);
    let (mut ours, mut theirs): (Vec<Option<OwnedFd>>, Vec<OwnedFd>) = (Vec::new(), Vec::new());
    for (i, on) in pipes.into_iter().enumerate() {
        if !on {
            ours.push(None);
            theirs.push(null().map_err(|e| other(&e))?.into());
            continue;
        }
        let (r, w) = pipe().map_err(|e| other(&e))?;
        let (mine, child) = if i == 0 { (w, r) } else { (r, w) };
        ours.push(Some(mine));
        theirs.push(child);
    }
    let stdio = [theirs[0].as_fd(), theirs[1].as_fd(), theirs[2].as_fd()];
    let req = ExecRequest {
        args,
        ..Default::default()
    };
    let mut launched = match shim::start(dir, &req, &stdio) {
        Ok(s) => Launched::from_monitor(s),
        Err(ShimError::Unsupported) => fallback(root, id, req.args, stdio)?,
        Err(e) => return Err(from_shim(e)),
    };
    drop(theirs);
    let mut ours = ours.into_iter();
    let mut next = || ours.next().flatten();
    let (i, o, e) = (next(), next(), next());
    // From here a failure drops `launched`, which kills the process.
    launched.stdin = i
        .map(pipe::Sender::from_owned_fd)
        .transpose()
        .map_err(|e| other(&e))?;
    launched.stdout = o
        .map(pipe::Receiver::from_owned_fd)
        .transpose()
        .map_err(|e| other(&e))?;
    launched.stderr = e
        .map(pipe::Receiver::from_owned_fd)
        .transpose()
        .map_err(|e| other(&e))?;
    Ok(launched)
}

/// Forks the exec from the daemon (a monitor that takes no exec requests).
fn fallback(
    root: &Path,
    id: &str,
    args: Vec<String>,
    stdio: [BorrowedFd<'_>; 3],
) -> Result<Launched, LaunchError> {
    let other = |e: &dyn std::fmt::Display| LaunchError::Other(format!("exec: {e}"));
    let container = rootless::Container::load(root, id).map_err(|e| other(&e))?;
    let opts = rootless::ExecOptions {
        args,
        ..Default::default()
    };
    let prepared = container.prepare_exec(&opts).map_err(|e| match e {
        rootless::Error::WrongStatus { .. } => LaunchError::NotRunning(e.to_string()),
        e => other(&e),
    })?;
    let pid = prepared.spawn(stdio).map_err(|e| other(&e))?;
    let waiter =
        tokio::task::spawn_blocking(move || rootless::wait_code(pid).map_err(|e| e.to_string()));
    Ok(Launched {
        pid: pid.as_raw(),
        waiter: Some(waiter),
        monitor: None,
        master: None,
        stdin: None,
        stdout: None,
        stderr: None,
    })
}

impl Launched {
    fn from_monitor(s: shim::Started) -> Launched {
        Launched {
            pid: s.pid,
            waiter: Some(s.waiter),
            monitor: Some(s.conn),
            master: s.master.map(std::fs::File::from),
            stdin: None,
            stdout: None,
            stderr: None,
        }
    }

    /// Waits for the exit status (exit code, or 128 + signal). Cancel-safe.
    pub async fn wait(&mut self) -> Result<i32, String> {
        let Some(w) = self.waiter.as_mut() else {
            return Err("exec: already waited for".into());
        };
        let r = w
            .await
            .map_err(|e| format!("exec: wait: {e}"))
            .and_then(|r| r);
        self.waiter = None;
        r
    }

    /// Waits for the exit status unless `gone` fires first: then kills the process
    /// tree and returns `None`.
    pub async fn wait_or_kill(
        &mut self,
        gone: impl std::future::Future<Output = ()>,
    ) -> Option<Result<i32, String>> {
        tokio::select! {
            r = self.wait() => Some(r),
            () = gone => {
                self.kill().await;
                None
            }
        }
    }

    /// Kills the whole process tree and reaps our child; the pids it killed that may
    /// still exist (none through the monitor: it answers once they are gone).
    pub async fn kill(&mut self) -> Vec<i32> {
        if let Some(conn) = self.monitor.take() {
            drop(conn);
            let _ = tokio::time::timeout(KILL_WAIT, self.wait()).await;
            return Vec::new();
        }
        let killed = kill_tree(self.pid);
        let _ = self.wait().await;
        killed
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        // Still running (not waited for): kill the tree; the blocking waiter reaps.
        // Through the monitor, dropping our side of the connection does it.
        if self.monitor.is_none() && self.waiter.as_ref().is_some_and(|w| !w.is_finished()) {
            kill_tree(self.pid);
        }
    }
}
