//! The runtime verbs on one container, one file each (`create.rs`, `start.rs`,
//! `state.rs`, `kill.rs`, `delete.rs`, `exec.rs`, `run.rs`, `update.rs`), over its
//! state directory.

mod create;
mod delete;
mod exec;
mod kill;
mod prepared;
mod run;
mod start;
mod state;
mod update;

use std::path::{Path, PathBuf};

pub use create::CreateOptions;
pub use exec::{wait_code, ExecOptions};
pub use prepared::PreparedExec;

use crate::state::{validate_id, StateFile};
use crate::Error;

/// A container's lifecycle status, as the runtime spec names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Being created.
    Creating,
    /// Created; init waits for `start`.
    Created,
    /// The user's process runs.
    Running,
    /// The process has exited.
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Creating => "creating",
            Self::Created => "created",
            Self::Running => "running",
            Self::Stopped => "stopped",
        })
    }
}

/// A container known to a state root.
#[derive(Debug, Clone)]
pub struct Container {
    dir: PathBuf,
    state: StateFile,
}

impl Container {
    /// Loads container `id` from the state root.
    pub fn load(root: &Path, id: &str) -> Result<Self, Error> {
        validate_id(id)?;
        let dir = root.join(id);
        if !dir.join("state.json").exists() {
            return Err(Error::NotFound(id.into()));
        }
        Ok(Self {
            state: StateFile::load(&dir)?,
            dir,
        })
    }

    /// Every container under the state root, sorted by id.
    pub fn list(root: &Path) -> Result<Vec<Self>, Error> {
        let entries = match std::fs::read_dir(root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("read state root", root)(e)),
        };
        let mut out: Vec<Self> = entries
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|id| Self::load(root, id).ok())
            })
            .collect();
        out.sort_by(|a, b| a.id().cmp(b.id()));
        Ok(out)
    }

    /// The container id.
    pub fn id(&self) -> &str {
        &self.state.id
    }

    /// init's pid, once created.
    pub fn pid(&self) -> Option<i32> {
        self.state.pid
    }

    /// The bundle directory.
    pub fn bundle(&self) -> &Path {
        &self.state.bundle
    }

    /// Creation time, seconds since the epoch.
    pub fn created(&self) -> u64 {
        self.state.created
    }

    /// Resource usage read from the container's cgroups.
    pub fn stats(&self) -> crate::cgroups::Stats {
        self.state.cgroup.stats()
    }

    /// The container's cgroups (to update limits or read the OOM-kill count).
    pub fn cgroup(&self) -> &crate::cgroups::Manager {
        &self.state.cgroup
    }

    fn fifo(&self) -> PathBuf {
        self.dir.join("exec.fifo")
    }

    /// Whether init (the pid recorded at create) still lives.
    fn init_alive(&self) -> bool {
        let (Some(pid), Some(start)) = (self.state.pid, self.state.pid_start) else {
            return false;
        };
        crate::state::proc_stat(pid).is_some_and(|(st, s)| s == start && st != 'Z' && st != 'X')
    }

    fn wrong(&self, verb: &'static str) -> Error {
        Error::WrongStatus {
            id: self.id().into(),
            status: self.status(),
            verb,
        }
    }
}
