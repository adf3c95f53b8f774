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

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use tokio::net::unix::pipe;

use super::super::ContainerRecord;
use super::running::{fallback, Launched};
use super::shim::{self, ShimError};
use crate::shim::wire::exec::ExecRequest;

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
