//! One pod sandbox as stored on disk (`ROOT/pods/ID.json`) and in memory.

use std::path::PathBuf;

use proto::cri;
use serde::{Deserialize, Serialize};

/// A pod sandbox's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PodState {
    /// Namespaces exist, containers may run.
    Ready,
    /// Stopped: containers stopped, network torn down, namespaces released.
    NotReady,
}

impl PodState {
    /// The CRI enum value.
    pub fn cri(self) -> i32 {
        match self {
            PodState::Ready => cri::PodSandboxState::SandboxReady as i32,
            PodState::NotReady => cri::PodSandboxState::SandboxNotready as i32,
        }
    }
}

/// Everything the daemon knows about one pod sandbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PodRecord {
    /// The sandbox id (64 hex digits).
    pub id: String,
    /// The request's config, as sent.
    pub config: cri::PodSandboxConfig,
    /// The runtime handler asked for.
    pub runtime_handler: String,
    /// Creation time, ns since the epoch.
    pub created_at: i64,
    /// Current state.
    pub state: PodState,
    /// The pod's runtime directory (pinned namespaces, resolv.conf, hostname).
    pub dir: PathBuf,
    /// Pinned namespaces by kind (`net`, `ipc`, `uts`, `pid`), absent where the host's
    /// (or, for pid, a per-container one) is used.
    pub namespaces: Vec<(String, PathBuf)>,
    /// The pod IP from CNI, if any.
    pub ip: Option<String>,
    /// The CNI attachment (what DEL needs), while the network is up.
    #[serde(default)]
    pub network: Option<crate::network::Attachment>,
    /// The pod's cgroup (absent in records older than pod cgroups).
    #[serde(default)]
    pub cgroup: Option<super::cgroup::PodCgroup>,
    /// The process holding the pod's pid namespace (`NamespaceMode::POD`), if any.
    #[serde(default)]
    pub pid_holder: Option<i32>,
}

impl PodRecord {
    /// The metadata (validated present at creation).
    pub fn metadata(&self) -> cri::PodSandboxMetadata {
        self.config.metadata.clone().unwrap_or_default()
    }

    /// The namespace options asked for.
    pub fn namespace_options(&self) -> cri::NamespaceOption {
        namespace_options(&self.config)
    }

    /// The pinned namespace file of `kind`, if the pod has its own.
    pub fn namespace(&self, kind: &str) -> Option<&PathBuf> {
        self.namespaces
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, p)| p)
    }

    /// The ListPodSandbox entry.
    pub fn summary(&self) -> cri::PodSandbox {
        cri::PodSandbox {
            id: self.id.clone(),
            metadata: Some(self.metadata()),
            state: self.state.cri(),
            created_at: self.created_at,
            labels: self.config.labels.clone(),
            annotations: self.config.annotations.clone(),
            runtime_handler: self.runtime_handler.clone(),
        }
    }

    /// The PodSandboxStatus entry.
    pub fn status(&self) -> cri::PodSandboxStatus {
        let network = self.ip.as_ref().map(|ip| cri::PodSandboxNetworkStatus {
            ip: ip.clone(),
            additional_ips: Vec::new(),
        });
        cri::PodSandboxStatus {
            id: self.id.clone(),
            metadata: Some(self.metadata()),
            state: self.state.cri(),
            created_at: self.created_at,
            network,
            linux: Some(cri::LinuxPodSandboxStatus {
                namespaces: Some(cri::Namespace {
                    options: Some(self.namespace_options()),
                }),
            }),
            labels: self.config.labels.clone(),
            annotations: self.config.annotations.clone(),
            runtime_handler: self.runtime_handler.clone(),
        }
    }

    /// Whether the pod passes a ListPodSandbox filter.
    pub fn matches(&self, f: &cri::PodSandboxFilter) -> bool {
        (f.id.is_empty() || self.id.starts_with(&f.id))
            && f.state.is_none_or(|s| s.state == self.state.cri())
            && f.label_selector
                .iter()
                .all(|(k, v)| self.config.labels.get(k) == Some(v))
    }
}

/// The namespace options of a pod config (defaults: every namespace per pod).
pub fn namespace_options(config: &cri::PodSandboxConfig) -> cri::NamespaceOption {
    config
        .linux
        .as_ref()
        .and_then(|l| l.security_context.as_ref())
        .and_then(|s| s.namespace_options.clone())
        .unwrap_or_default()
}
