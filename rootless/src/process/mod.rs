//! The processes that make a container: main (the caller of `create`) forks an
//! intermediate, which creates or joins the namespaces and forks init, which builds the
//! root filesystem, waits for `start` and becomes the user's process.
//!
//! `main.rs` drives the setup from the caller's side, `intermediate.rs` and `init.rs`
//! run in the children, `finalize.rs` is the last step before `execve` (shared with
//! `exec`), and `message.rs`/`channel.rs` carry the typed messages between them.

mod channel;
mod finalize;
mod init;
mod intermediate;
mod main;
mod message;

use std::path::PathBuf;

pub(crate) use finalize::{exec_user, resolve_executable};
pub(crate) use init::INIT_NAME;
pub(crate) use main::{spawn, Setup};

/// Spawning or talking to the container's setup processes failed.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// A system call failed.
    #[error("{op}: {source}")]
    Sys {
        /// The operation.
        op: &'static str,
        /// The cause.
        source: nix::Error,
    },
    /// A setup process sent something unexpected.
    #[error("setup protocol error: {0}")]
    Protocol(String),
    /// A setup process exited without reporting.
    #[error("the container's setup process exited unexpectedly")]
    Eof,
    /// A setup process reported a failure.
    #[error("container setup failed: {0}")]
    Setup(String),
    /// The user namespace's id maps could not be written.
    #[error(transparent)]
    Userns(#[from] crate::userns::UsernsError),
}

impl ProcessError {
    pub(crate) fn sys(op: &'static str) -> impl FnOnce(nix::Error) -> Self {
        move |source| Self::Sys { op, source }
    }
}

/// A step inside a setup process (intermediate, init, exec) failed; its text travels
/// to main as [`message::Message::Error`].
#[derive(Debug, thiserror::Error)]
pub(crate) enum SetupError {
    /// A system call on a path failed.
    #[error("{op} {path}: {source}")]
    Path {
        /// The operation.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        source: nix::Error,
    },
    /// A system call failed.
    #[error("{op}: {source}")]
    Sys {
        /// The operation.
        op: &'static str,
        /// The cause.
        source: nix::Error,
    },
    /// A namespace step failed.
    #[error(transparent)]
    Ns(#[from] crate::namespaces::NsError),
    /// A seccomp step failed.
    #[error(transparent)]
    Seccomp(#[from] crate::seccomp::SeccompError),
    /// A hook failed.
    #[error(transparent)]
    Hook(#[from] crate::hooks::HookError),
    /// A capability step failed.
    #[error("capabilities: {0}")]
    Caps(#[from] caps::errors::CapsError),
    /// Talking to main failed.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// Anything else, described.
    #[error("{0}")]
    Other(String),
}

impl SetupError {
    pub(crate) fn sys(op: &'static str) -> impl FnOnce(nix::Error) -> Self {
        move |source| Self::Sys { op, source }
    }

    pub(crate) fn path<'a>(
        op: &'static str,
        path: &'a std::path::Path,
    ) -> impl FnOnce(nix::Error) -> Self + 'a {
        move |source| Self::Path {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What the setup children get from main.
pub(crate) struct ChildArgs<'a> {
    /// The validated bundle.
    pub plan: &'a crate::spec::Plan,
    /// The container id.
    pub id: &'a str,
    /// The exec fifo, opened read-write: init blocks reading it until `start`.
    pub fifo: std::os::fd::OwnedFd,
    /// A connected console socket, when the process wants a terminal.
    pub console: Option<std::os::fd::OwnedFd>,
}
