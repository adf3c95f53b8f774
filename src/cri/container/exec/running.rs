//! A running exec ([`Launched`]): its stdio ends, its exit status, and killing it —
//! through the container's monitor (closing our side of its connection), or, for the
//! fallback forked from the daemon itself ([`fallback`]), by killing the process tree
//! found through /proc.

use std::os::fd::BorrowedFd;
use std::path::Path;
use std::time::Duration;

use tokio::net::unix::{pipe, OwnedWriteHalf};
use tokio::task::JoinHandle;

use super::kill_tree;
use super::launch::LaunchError;
use super::shim;

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

/// Forks the exec from the daemon (a monitor that takes no exec requests).
pub(super) fn fallback(
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
    pub(super) fn from_monitor(s: shim::Started) -> Launched {
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
