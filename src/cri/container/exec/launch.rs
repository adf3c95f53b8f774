//! A process started in a running container from the daemon itself, with no runtime
//! process in between: `rootless` prepares the exec here (spec, namespaces, cgroups,
//! seccomp program, capabilities) and forks from this multi-threaded process with a
//! child that only makes raw system calls until `execve` (`rootless::PreparedExec`).
//! Its stdio are pipes to the daemon (or /dev/null); the child that mirrors its exit
//! status is reaped on a blocking thread. Dropped before it ended, the whole process
//! tree is killed.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use tokio::net::unix::pipe;
use tokio::task::JoinHandle;

use super::super::ContainerRecord;
use super::kill_tree;

/// A running exec.
#[derive(Debug)]
pub struct Launched {
    pid: i32,
    waiter: Option<JoinHandle<Result<i32, String>>>,
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
    /// Starts `args` in this container (runtime state under `runtime_root`), with
    /// pipes for those of stdin, stdout and stderr that `pipes` asks for.
    pub async fn launch_exec(
        &self,
        runtime_root: &Path,
        args: Vec<String>,
        pipes: [bool; 3],
    ) -> Result<Launched, LaunchError> {
        let (root, id) = (runtime_root.to_path_buf(), self.id.clone());
        tokio::task::spawn_blocking(move || start(&root, &id, args, pipes))
            .await
            .map_err(|e| LaunchError::Other(format!("exec: {e}")))?
    }
}

fn start(
    root: &Path,
    id: &str,
    args: Vec<String>,
    pipes: [bool; 3],
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
    let pid = prepared.spawn(stdio).map_err(|e| other(&e))?;
    drop(theirs);
    let waiter =
        tokio::task::spawn_blocking(move || rootless::wait_code(pid).map_err(|e| e.to_string()));
    let mut ours = ours.into_iter();
    let mut next = || ours.next().flatten();
    let (i, o, e) = (next(), next(), next());
    let mut launched = Launched {
        pid: pid.as_raw(),
        waiter: Some(waiter),
        stdin: None,
        stdout: None,
        stderr: None,
    };
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

impl Launched {
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

    /// Kills the whole process tree and reaps our child; the pids it killed.
    pub async fn kill(&mut self) -> Vec<i32> {
        let killed = kill_tree(self.pid);
        let _ = self.wait().await;
        killed
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        // Still running (not waited for): kill the tree; the blocking waiter reaps.
        if self.waiter.as_ref().is_some_and(|w| !w.is_finished()) {
            kill_tree(self.pid);
        }
    }
}
