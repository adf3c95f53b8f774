//! Pod sandboxes: their records (persisted under `ROOT/pods/`), pinned namespaces and
//! files (under `STATE/pods/ID/`), and the verbs RunPodSandbox, StopPodSandbox,
//! RemovePodSandbox, PodSandboxStatus and ListPodSandbox.
//!
//! Input: CRI pod configs from [`crate::cri`]. Output: [`PodRecord`]s. Blocking: call
//! from a blocking thread. The map lock is never held while a command runs.

pub mod cgroup;
mod files;
mod namespaces;
mod pidns;
pub use pidns::init as pod_init;
mod record;
mod userns;
mod verbs;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub use record::{PodRecord, PodState};

/// What a pod verb can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A required field is missing or malformed.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// No such pod.
    #[error("pod sandbox {0} not found")]
    NotFound(String),
    /// The pod's name and attempt are taken.
    #[error("pod sandbox {0} already exists")]
    AlreadyExists(String),
    /// A file operation failed.
    #[error("cannot {what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// On what.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A helper command failed.
    #[error("{command} failed: {message}")]
    Command {
        /// The command.
        command: String,
        /// Its error output.
        message: String,
    },
    /// The record could not be saved.
    #[error(transparent)]
    State(#[from] crate::state::Error),
    /// A CNI plugin failed.
    #[error(transparent)]
    Network(#[from] crate::network::Error),
    /// The pod's cgroup could not be made or removed.
    #[error("pod cgroup: {0}")]
    Cgroup(#[from] rootless::cgroups::CgroupError),
    /// Teardown failed in several places.
    #[error("teardown of pod {id} failed: {}", errors.join("; "))]
    Teardown {
        /// The pod.
        id: String,
        /// Every failure.
        errors: Vec<String>,
    },
}

impl Error {
    fn io(what: &'static str, path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            what,
            path: path.to_owned(),
            source,
        }
    }

    /// The gRPC code for this error.
    pub fn code(&self) -> tonic::Code {
        match self {
            Error::InvalidArgument(_) => tonic::Code::InvalidArgument,
            Error::NotFound(_) => tonic::Code::NotFound,
            Error::AlreadyExists(_) => tonic::Code::AlreadyExists,
            _ => tonic::Code::Internal,
        }
    }
}

/// Every pod of the daemon.
#[derive(Debug)]
pub struct Pods {
    cni: crate::network::Cni,
    cgroup_driver: crate::config::CgroupDriver,
    records: PathBuf,
    runtime: PathBuf,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    pods: BTreeMap<String, PodRecord>,
    /// Names (`namespace/name/uid/attempt`) being created.
    reserved: BTreeSet<String>,
}
