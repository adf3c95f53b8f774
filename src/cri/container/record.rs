//! One container as stored on disk (`ROOT/containers/ID.json`) and its CRI views.

use std::path::PathBuf;

use proto::cri;
use serde::{Deserialize, Serialize};

use crate::shim::ExitRecord;

/// The exit code reported for a container whose monitor vanished.
pub const LOST_EXIT_CODE: i32 = 255;

/// The exit code reported for a container that StartContainer failed to start.
pub const START_ERROR_EXIT_CODE: i32 = 128;

/// Everything the daemon knows about one container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerRecord {
    /// The container id (64 hex digits).
    pub id: String,
    /// Its pod.
    pub pod_id: String,
    /// The request's config.
    pub config: cri::ContainerConfig,
    /// The image id it runs.
    pub image_id: String,
    /// Creation time, ns.
    pub created_at: i64,
    /// Start time, ns (0 until started).
    pub started_at: i64,
    /// The runtime directory (bundle, upper layer, exit.json).
    pub dir: PathBuf,
    /// The CRI log file, if any.
    pub log_path: Option<PathBuf>,
    /// init's pid (host view); 0 until StartContainer has started the monitor.
    pub pid: i32,
    /// Why StartContainer failed, if it did: the container is then exited (exit code
    /// [`START_ERROR_EXIT_CODE`], reason `StartError`), as containerd reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_error: Option<String>,
    /// The image's SIF file, for the monitor StartContainer starts (absent in records
    /// of containers whose monitor was started at create, by an earlier daemon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sif: Option<PathBuf>,
}

impl ContainerRecord {
    /// The exit record, once the container has ended. A container whose monitor died
    /// without writing one (killed, or the runtime directory lost in a reboot) has
    /// ended too, with exit code 255.
    pub fn exit(&self) -> Option<ExitRecord> {
        if let Some(e) = crate::shim::exit_record(&self.dir) {
            return Some(e);
        }
        if self.start_error.is_some() {
            return Some(ExitRecord {
                exit_code: START_ERROR_EXIT_CODE,
                finished_at: self.created_at,
                signal: None,
                oom_killed: false,
            });
        }
        if self.never_started() || self.monitor_alive() {
            return None;
        }
        crate::shim::exit_record(&self.dir).or(Some(ExitRecord {
            exit_code: LOST_EXIT_CODE,
            finished_at: self.started_at.max(self.created_at),
            signal: None,
            oom_killed: false,
        }))
    }

    /// Created and not started: StartContainer has not started its monitor yet.
    pub fn never_started(&self) -> bool {
        self.pid == 0 && self.started_at == 0 && self.start_error.is_none()
    }

    /// Whether the shim still runs (its pid file names a live, non-zombie process).
    pub(super) fn monitor_alive(&self) -> bool {
        let Ok(text) = std::fs::read_to_string(self.dir.join("shim.pid")) else {
            return false;
        };
        let Ok(pid) = text.trim().parse::<i32>() else {
            return false;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next());
        matches!(state, Some(s) if s != "Z" && s != "X")
    }

    /// The CRI state.
    pub fn state(&self) -> cri::ContainerState {
        self.state_given(self.exit().as_ref())
    }

    /// The CRI state given the exit record already read: a status is built from one
    /// look at the record (two looks could disagree: exited, but with no exit code).
    fn state_given(&self, exit: Option<&ExitRecord>) -> cri::ContainerState {
        if exit.is_some() {
            cri::ContainerState::ContainerExited
        } else if self.started_at > 0 {
            cri::ContainerState::ContainerRunning
        } else {
            cri::ContainerState::ContainerCreated
        }
    }

    /// The ListContainers entry.
    pub fn summary(&self) -> cri::Container {
        cri::Container {
            id: self.id.clone(),
            pod_sandbox_id: self.pod_id.clone(),
            metadata: self.config.metadata.clone(),
            image: self.config.image.clone(),
            image_ref: self.image_id.clone(),
            state: self.state() as i32,
            created_at: self.created_at,
            labels: self.config.labels.clone(),
            annotations: self.config.annotations.clone(),
            image_id: self.image_id.clone(),
        }
    }

    /// The ContainerStatus entry.
    pub fn status(&self) -> cri::ContainerStatus {
        let exit = self.exit();
        let (finished_at, exit_code, reason) = match &exit {
            Some(e) => {
                let reason = match (e.oom_killed, e.exit_code) {
                    _ if self.start_error.is_some() => "StartError",
                    (true, _) => "OOMKilled",
                    (false, 0) => "Completed",
                    (false, _) => "Error",
                };
                (e.finished_at, e.exit_code, reason.to_owned())
            }
            None => (0, 0, String::new()),
        };
        cri::ContainerStatus {
            id: self.id.clone(),
            metadata: self.config.metadata.clone(),
            state: self.state_given(exit.as_ref()) as i32,
            created_at: self.created_at,
            started_at: self.started_at,
            finished_at,
            exit_code,
            image: self.config.image.clone(),
            image_ref: self.image_id.clone(),
            reason,
            labels: self.config.labels.clone(),
            annotations: self.config.annotations.clone(),
            mounts: self.config.mounts.clone(),
            log_path: self
                .log_path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            image_id: self.image_id.clone(),
            resources: self.resources(),
            user: Some(super::user::status_user(&self.config)),
            message: self.start_error.clone().unwrap_or_default(),
        }
    }

    /// The resources asked for at create or by the last UpdateContainerResources.
    pub fn resources(&self) -> Option<cri::ContainerResources> {
        let linux = self.config.linux.as_ref()?.resources.clone()?;
        Some(cri::ContainerResources {
            linux: Some(linux),
            windows: None,
        })
    }

    /// Whether the container passes a ListContainers filter.
    pub fn matches(&self, f: &cri::ContainerFilter) -> bool {
        (f.id.is_empty() || self.id.starts_with(&f.id))
            && (f.pod_sandbox_id.is_empty() || self.pod_id.starts_with(&f.pod_sandbox_id))
            && f.state.is_none_or(|s| s.state == self.state() as i32)
            && f.label_selector
                .iter()
                .all(|(k, v)| self.config.labels.get(k) == Some(v))
    }
}
