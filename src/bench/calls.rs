//! The timed RuntimeService calls of one pod + container lifecycle, and the pod and
//! container configs they send (a kubelet-like pod: own network, ipc and uts
//! namespaces, a pid namespace per container, a log directory per pod).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proto::cri;
use proto::cri::runtime_service_client::RuntimeServiceClient;
use tonic::transport::Channel;

use super::client::{owned_dir, timed, Timed};
use super::Error;

/// The container's command: waits until SIGTERM, then exits 0 at once (a plain `sleep`
/// as pid 1 of its pid namespace ignores SIGTERM and would wait for the stop timeout).
/// It logs [`READY`] once the trap is set: a SIGTERM before that would be ignored.
const COMMAND: &str = "trap 'exit 0' TERM; echo ready; sleep 3600 & wait";
/// The line the container logs once it handles SIGTERM.
const READY: &str = "ready";
/// The container's log file, in its pod's log directory.
const LOG: &str = "bench.log";
/// Seconds StopContainer waits before SIGKILL.
pub(super) const STOP_TIMEOUT: i64 = 10;

/// The runtime calls; cheap to clone (one HTTP/2 connection shared by every clone).
#[derive(Debug, Clone)]
pub struct Calls {
    rt: RuntimeServiceClient<Channel>,
    logs: PathBuf,
    owner: (u32, u32),
}

fn namespaces() -> cri::NamespaceOption {
    cri::NamespaceOption {
        network: cri::NamespaceMode::Pod as i32,
        pid: cri::NamespaceMode::Container as i32,
        ipc: cri::NamespaceMode::Pod as i32,
        ..Default::default()
    }
}

impl Calls {
    /// Calls on `rt`; pod log directories under `logs`, owned by `owner` (uid, gid).
    pub fn new(rt: RuntimeServiceClient<Channel>, logs: PathBuf, owner: (u32, u32)) -> Calls {
        Calls { rt, logs, owner }
    }

    /// The RuntimeService client.
    pub(super) fn rt(&mut self) -> &mut RuntimeServiceClient<Channel> {
        &mut self.rt
    }

    /// The directory holding every pod's log directory.
    pub fn logs(&self) -> &Path {
        &self.logs
    }

    /// The config of pod `name`; creates its log directory.
    pub fn pod_config(&self, name: &str) -> Result<cri::PodSandboxConfig, Error> {
        let dir = self.logs.join(name);
        owned_dir(&dir, self.owner)?;
        let security_context = cri::LinuxSandboxSecurityContext {
            namespace_options: Some(namespaces()),
            ..Default::default()
        };
        Ok(cri::PodSandboxConfig {
            metadata: Some(cri::PodSandboxMetadata {
                name: name.into(),
                uid: crate::state::new_id(),
                namespace: "sifcri-bench".into(),
                attempt: 0,
            }),
            hostname: name.into(),
            log_directory: dir.display().to_string(),
            linux: Some(cri::LinuxPodSandboxConfig {
                security_context: Some(security_context),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    fn container_config(image: &str) -> cri::ContainerConfig {
        let security_context = cri::LinuxContainerSecurityContext {
            namespace_options: Some(namespaces()),
            ..Default::default()
        };
        cri::ContainerConfig {
            metadata: Some(cri::ContainerMetadata {
                name: "bench".into(),
                attempt: 0,
            }),
            image: Some(cri::ImageSpec {
                image: image.into(),
                ..Default::default()
            }),
            command: vec!["sh".into(), "-c".into(), COMMAND.into()],
            log_path: LOG.into(),
            linux: Some(cri::LinuxContainerConfig {
                security_context: Some(security_context),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// RunPodSandbox; returns the pod id.
    pub async fn run_pod(&mut self, config: &cri::PodSandboxConfig) -> Timed<String> {
        let req = cri::RunPodSandboxRequest {
            config: Some(config.clone()),
            runtime_handler: String::new(),
        };
        let (r, t) = timed("RunPodSandbox", self.rt.run_pod_sandbox(req)).await?;
        Ok((r.pod_sandbox_id, t))
    }

    /// CreateContainer of `image` in pod `pod`; returns the container id.
    pub async fn create(
        &mut self,
        pod: &str,
        config: &cri::PodSandboxConfig,
        image: &str,
    ) -> Timed<String> {
        let req = cri::CreateContainerRequest {
            pod_sandbox_id: pod.into(),
            config: Some(Self::container_config(image)),
            sandbox_config: Some(config.clone()),
        };
        let (r, t) = timed("CreateContainer", self.rt.create_container(req)).await?;
        Ok((r.container_id, t))
    }

    /// StartContainer.
    pub async fn start(&mut self, id: &str) -> Timed<()> {
        let req = cri::StartContainerRequest {
            container_id: id.into(),
        };
        let (_, t) = timed("StartContainer", self.rt.start_container(req)).await?;
        Ok(((), t))
    }

    /// Waits (untimed) until pod `name`'s container logged [`READY`], polling its log.
    pub async fn wait_ready(&self, name: &str) -> Result<(), Error> {
        let log = self.logs.join(name).join(LOG);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.lines().any(|l| l.ends_with(READY)) {
                return Ok(());
            }
            if Instant::now() > deadline {
                let log = log.display();
                return Err(Error::Unexpected(format!(
                    "no {READY:?} in {log} after 30 s"
                )));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// ExecSync of `true`; a non-zero exit is an error.
    pub async fn exec_true(&mut self, id: &str) -> Timed<()> {
        let req = cri::ExecSyncRequest {
            container_id: id.into(),
            cmd: vec!["true".into()],
            timeout: 10,
        };
        let (r, t) = timed("ExecSync", self.rt.exec_sync(req)).await?;
        if r.exit_code != 0 {
            let err = String::from_utf8_lossy(&r.stderr);
            return Err(Error::Unexpected(format!(
                "ExecSync true: exit code {}: {err}",
                r.exit_code
            )));
        }
        Ok(((), t))
    }
}
