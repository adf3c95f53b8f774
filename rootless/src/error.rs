//! The crate's error: every module's error folded into one enum for callers.

use std::path::PathBuf;

/// Any failure of a runtime verb.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bundle's `config.json` is unusable.
    #[error(transparent)]
    Spec(#[from] crate::spec::SpecError),
    /// Reading or writing the state directory failed.
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    /// Setting up a cgroup failed.
    #[error(transparent)]
    Cgroup(#[from] crate::cgroups::CgroupError),
    /// The seccomp profile could not be compiled or loaded.
    #[error(transparent)]
    Seccomp(#[from] crate::seccomp::SeccompError),
    /// A hook failed.
    #[error(transparent)]
    Hook(#[from] crate::hooks::HookError),
    /// Spawning or talking to the container's processes failed.
    #[error(transparent)]
    Process(#[from] crate::process::ProcessError),
    /// The container exists already.
    #[error("container {0:?} already exists")]
    AlreadyExists(String),
    /// No container of that id.
    #[error("container {0:?} does not exist")]
    NotFound(String),
    /// The verb does not apply to the container's current status.
    #[error("container {id:?} is {status}: cannot {verb}")]
    WrongStatus {
        /// The container.
        id: String,
        /// Its status.
        status: crate::Status,
        /// What was asked.
        verb: &'static str,
    },
    /// An argument is invalid.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A system call on a path failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// The operation.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A system call failed.
    #[error("{op}: {source}")]
    Sys {
        /// The operation.
        op: &'static str,
        /// The cause.
        source: nix::Error,
    },
}

impl Error {
    /// Wraps an errno with the operation that produced it.
    pub(crate) fn sys(op: &'static str) -> impl FnOnce(nix::Error) -> Self {
        move |source| Self::Sys { op, source }
    }

    /// Wraps an I/O error with the operation and path that produced it.
    pub(crate) fn io<'a>(
        op: &'static str,
        path: &'a std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Self + 'a {
        move |source| Self::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}
