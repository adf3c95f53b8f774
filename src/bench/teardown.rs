//! The timed teardown calls of a lifecycle: StopContainer, RemoveContainer,
//! StopPodSandbox, RemovePodSandbox (which also removes the pod's log directory).

use proto::cri;

use super::calls::{Calls, STOP_TIMEOUT};
use super::client::{timed, Timed};

impl Calls {
    /// StopContainer with the benchmark's timeout.
    pub async fn stop_container(&mut self, id: &str) -> Timed<()> {
        let req = cri::StopContainerRequest {
            container_id: id.into(),
            timeout: STOP_TIMEOUT,
        };
        let (_, t) = timed("StopContainer", self.rt().stop_container(req)).await?;
        Ok(((), t))
    }

    /// RemoveContainer.
    pub async fn remove_container(&mut self, id: &str) -> Timed<()> {
        let req = cri::RemoveContainerRequest {
            container_id: id.into(),
        };
        let (_, t) = timed("RemoveContainer", self.rt().remove_container(req)).await?;
        Ok(((), t))
    }

    /// StopPodSandbox.
    pub async fn stop_pod(&mut self, id: &str) -> Timed<()> {
        let req = cri::StopPodSandboxRequest {
            pod_sandbox_id: id.into(),
        };
        let (_, t) = timed("StopPodSandbox", self.rt().stop_pod_sandbox(req)).await?;
        Ok(((), t))
    }

    /// RemovePodSandbox; then removes the pod's log directory `name` (not timed).
    pub async fn remove_pod(&mut self, id: &str, name: &str) -> Timed<()> {
        let req = cri::RemovePodSandboxRequest {
            pod_sandbox_id: id.into(),
        };
        let (_, t) = timed("RemovePodSandbox", self.rt().remove_pod_sandbox(req)).await?;
        let _ = std::fs::remove_dir_all(self.logs().join(name));
        Ok(((), t))
    }
}
