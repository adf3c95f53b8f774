//! RuntimeService: each call opens a span, validates, runs the blocking work on a
//! blocking thread and maps errors once (see [`super::Error`]).

use std::sync::Arc;
use std::time::Duration;

use proto::cri;
use proto::cri::runtime_service_server::RuntimeService;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use super::container::Containers;
use super::{images, info, Error};
use crate::config::Config;
use crate::pod::Pods;

/// The RuntimeService implementation.
#[derive(Debug, Clone)]
pub struct Runtime {
    config: Arc<Config>,
    pods: Arc<Pods>,
    containers: Arc<Containers>,
    streams: super::stream::Urls,
    events: Arc<super::events::Events>,
}

impl Runtime {
    /// Loads the pod records and makes the service.
    pub fn new(config: &Config) -> Result<Runtime, Error> {
        let pods = Arc::new(
            Pods::open(&config.root, &config.state, cni(config))?
                .with_cgroup_driver(config.cgroup_driver),
        );
        let linger = config.image_mounts.linger.0.unwrap_or_default();
        let containers = Arc::new(Containers::open(&config.root, &config.state, linger)?);
        sweep_lowers(containers.lowers().clone());
        Ok(Runtime {
            events: super::events::Events::start(&pods, &containers),
            pods,
            containers,
            config: Arc::new(config.clone()),
            streams: Default::default(),
        })
    }

    /// The shared image lowers, for the daemon to unmount the unused ones at shutdown.
    pub fn lowers(&self) -> crate::mount::Lowers {
        self.containers.lowers().clone()
    }

    /// What the streaming server calls to run exec, attach and port forwards.
    pub fn stream_runtime(&self) -> Arc<dyn crate::streaming::StreamRuntime> {
        Arc::new(super::stream::Backend::new(
            self.containers.clone(),
            self.pods.clone(),
        ))
    }

    /// Serves Exec, Attach and PortForward with URLs of `server`.
    pub fn with_streaming(mut self, server: crate::streaming::Server) -> Runtime {
        self.streams = super::stream::Urls::new(server);
        self
    }
}

/// With a linger, unmounts the image lowers left unused that long, looking every
/// quarter of it (at least every second, at most every minute), for the daemon's life.
fn sweep_lowers(lowers: crate::mount::Lowers) {
    let linger = lowers.linger();
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    if linger.is_zero() {
        return;
    }
    let every = (linger / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
    handle.spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let l = lowers.clone();
            match tokio::task::spawn_blocking(move || l.sweep(linger)).await {
                Ok(Ok(done)) => done
                    .iter()
                    .for_each(|d| tracing::info!("shared lowers: {d}")),
                Ok(Err(e)) => tracing::warn!(error = %e, "cannot sweep the shared lowers"),
                Err(_) => {}
            }
        }
    });
}

fn cni(config: &Config) -> crate::network::Cni {
    crate::network::Cni {
        bin_dirs: config.cni.bin_dirs.clone(),
        conf_dir: config.cni.conf_dir.clone(),
    }
}

type Reply<T> = Result<Response<T>, Status>;

/// Runs blocking `work` on a blocking thread inside `span`.
async fn blocking<T, F>(span: tracing::Span, work: F) -> Reply<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, Error> + Send + 'static,
{
    let inner = span.clone();
    let joined = tokio::task::spawn_blocking(move || inner.in_scope(work))
        .instrument(span)
        .await;
    match joined {
        Ok(Ok(v)) => Ok(Response::new(v)),
        Ok(Err(e)) => Err(e.into()),
        Err(e) => Err(Status::internal(format!("worker failed: {e}"))),
    }
}

fn need_id(id: &str, what: &str) -> Result<(), Status> {
    if id.is_empty() {
        return Err(Error::InvalidArgument(format!("{what} id is empty")).into());
    }
    Ok(())
}

#[tonic::async_trait]
impl RuntimeService for Runtime {
    async fn version(&self, _: Request<cri::VersionRequest>) -> Reply<cri::VersionResponse> {
        Ok(Response::new(info::version()))
    }

    async fn status(&self, _: Request<cri::StatusRequest>) -> Reply<cri::StatusResponse> {
        Ok(Response::new(info::status(&self.config)))
    }

    async fn runtime_config(
        &self,
        _: Request<cri::RuntimeConfigRequest>,
    ) -> Reply<cri::RuntimeConfigResponse> {
        Ok(Response::new(info::runtime_config(&self.config)))
    }

    async fn update_runtime_config(
        &self,
        _: Request<cri::UpdateRuntimeConfigRequest>,
    ) -> Reply<cri::UpdateRuntimeConfigResponse> {
        // The pod CIDR is the CNI configuration's business.
        Ok(Response::new(cri::UpdateRuntimeConfigResponse {}))
    }

    async fn run_pod_sandbox(
        &self,
        req: Request<cri::RunPodSandboxRequest>,
    ) -> Reply<cri::RunPodSandboxResponse> {
        let req = req.into_inner();
        let config = req
            .config
            .ok_or_else(|| Error::InvalidArgument("no pod sandbox config".into()))?;
        let name = config.metadata.as_ref().map(|m| m.name.clone());
        let span = tracing::info_span!("RunPodSandbox", pod = name.unwrap_or_default());
        let pods = self.pods.clone();
        blocking(span, move || {
            let pod = pods.run(config, req.runtime_handler)?;
            tracing::info!(id = pod.id, "pod sandbox ready");
            Ok(cri::RunPodSandboxResponse {
                pod_sandbox_id: pod.id,
            })
        })
        .await
    }

    async fn stop_pod_sandbox(
        &self,
        req: Request<cri::StopPodSandboxRequest>,
    ) -> Reply<cri::StopPodSandboxResponse> {
        let id = req.into_inner().pod_sandbox_id;
        need_id(&id, "pod sandbox")?;
        let span = tracing::info_span!("StopPodSandbox", pod = id);
        let (pods, containers) = (self.pods.clone(), self.containers.clone());
        blocking(span, move || {
            for c in containers.list(None).iter().filter(|c| c.pod_id == id) {
                containers.stop(&c.id, std::time::Duration::ZERO)?;
            }
            pods.stop(&id)?;
            Ok(cri::StopPodSandboxResponse {})
        })
        .await
    }

    async fn remove_pod_sandbox(
        &self,
        req: Request<cri::RemovePodSandboxRequest>,
    ) -> Reply<cri::RemovePodSandboxResponse> {
        let id = req.into_inner().pod_sandbox_id;
        need_id(&id, "pod sandbox")?;
        let span = tracing::info_span!("RemovePodSandbox", pod = id);
        let (pods, containers) = (self.pods.clone(), self.containers.clone());
        let events = self.events.clone();
        blocking(span, move || {
            for c in containers.list(None).iter().filter(|c| c.pod_id == id) {
                containers.remove(&c.id)?;
                events.deleted(c, &pods, &containers);
            }
            pods.remove(&id)?;
            Ok(cri::RemovePodSandboxResponse {})
        })
        .await
    }

    async fn pod_sandbox_status(
        &self,
        req: Request<cri::PodSandboxStatusRequest>,
    ) -> Reply<cri::PodSandboxStatusResponse> {
        let req = req.into_inner();
        need_id(&req.pod_sandbox_id, "pod sandbox")?;
        let pod = self.pods.get(&req.pod_sandbox_id).map_err(Error::from)?;
        let mut info = std::collections::HashMap::new();
        if req.verbose {
            let json = serde_json::json!({ "pid": 0, "runtimeHandler": pod.runtime_handler,
                "config": pod.config, "namespaces": pod.namespaces, "dir": pod.dir });
            info.insert("info".to_owned(), json.to_string());
        }
        Ok(Response::new(cri::PodSandboxStatusResponse {
            status: Some(pod.status()),
            info,
            containers_statuses: Vec::new(),
            timestamp: crate::state::now_nanos(),
        }))
    }

    async fn list_pod_sandbox(
        &self,
        req: Request<cri::ListPodSandboxRequest>,
    ) -> Reply<cri::ListPodSandboxResponse> {
        let filter = req.into_inner().filter;
        let items = self.pods.list(filter.as_ref());
        Ok(Response::new(cri::ListPodSandboxResponse {
            items: items.iter().map(|p| p.summary()).collect(),
        }))
    }

    type GetContainerEventsStream = super::events::EventStream;

    async fn get_container_events(
        &self,
        _: Request<cri::GetEventsRequest>,
    ) -> Reply<Self::GetContainerEventsStream> {
        Ok(Response::new(self.events.subscribe()))
    }

    async fn update_container_resources(
        &self,
        req: Request<cri::UpdateContainerResourcesRequest>,
    ) -> Reply<cri::UpdateContainerResourcesResponse> {
        let req = req.into_inner();
        need_id(&req.container_id, "container")?;
        let span = tracing::info_span!("UpdateContainerResources", container = req.container_id);
        let containers = self.containers.clone();
        blocking(span, move || {
            let linux = req.linux.unwrap_or_default();
            containers.update_resources(&req.container_id, linux)?;
            Ok(cri::UpdateContainerResourcesResponse {})
        })
        .await
    }

    async fn exec(&self, req: Request<cri::ExecRequest>) -> Reply<cri::ExecResponse> {
        let req = req.into_inner();
        let _span = tracing::info_span!("Exec", container = req.container_id).entered();
        let url = self.streams.exec(&self.containers, req)?;
        Ok(Response::new(cri::ExecResponse { url }))
    }

    async fn attach(&self, req: Request<cri::AttachRequest>) -> Reply<cri::AttachResponse> {
        let req = req.into_inner();
        let _span = tracing::info_span!("Attach", container = req.container_id).entered();
        let url = self.streams.attach(&self.containers, req)?;
        Ok(Response::new(cri::AttachResponse { url }))
    }

    async fn port_forward(
        &self,
        req: Request<cri::PortForwardRequest>,
    ) -> Reply<cri::PortForwardResponse> {
        let req = req.into_inner();
        let _span = tracing::info_span!("PortForward", pod = req.pod_sandbox_id).entered();
        let url = self.streams.port_forward(&self.pods, req)?;
        Ok(Response::new(cri::PortForwardResponse { url }))
    }

    async fn checkpoint_container(
        &self,
        _: Request<cri::CheckpointContainerRequest>,
    ) -> Reply<cri::CheckpointContainerResponse> {
        Err(Error::Unimplemented("checkpoint_container").into())
    }

    async fn list_metric_descriptors(
        &self,
        _: Request<cri::ListMetricDescriptorsRequest>,
    ) -> Reply<cri::ListMetricDescriptorsResponse> {
        Err(Error::Unimplemented("list_metric_descriptors").into())
    }

    async fn list_pod_sandbox_metrics(
        &self,
        _: Request<cri::ListPodSandboxMetricsRequest>,
    ) -> Reply<cri::ListPodSandboxMetricsResponse> {
        Err(Error::Unimplemented("list_pod_sandbox_metrics").into())
    }

    async fn create_container(
        &self,
        req: Request<cri::CreateContainerRequest>,
    ) -> Reply<cri::CreateContainerResponse> {
        let req = req.into_inner();
        need_id(&req.pod_sandbox_id, "pod sandbox")?;
        let config = req
            .config
            .ok_or_else(|| Error::InvalidArgument("no container config".into()))?;
        let name = config.metadata.as_ref().map(|m| m.name.clone());
        let span = tracing::info_span!("CreateContainer", pod = req.pod_sandbox_id, name);
        let (pods, containers) = (self.pods.clone(), self.containers.clone());
        let root = self.config.root.clone();
        let events = self.events.clone();
        blocking(span, move || {
            let pod = pods.get(&req.pod_sandbox_id)?;
            if pod.state != crate::pod::PodState::Ready {
                return Err(Error::FailedPrecondition(format!(
                    "pod {} is not ready",
                    pod.id
                )));
            }
            let image_name = config
                .image
                .as_ref()
                .map(|i| i.image.clone())
                .unwrap_or_default();
            let image = images::resolve(&root, &image_name)?;
            let c = containers.create(&pod, config, image)?;
            tracing::info!(id = c.id, "container created");
            events.created(&c.id, &pods, &containers);
            Ok(cri::CreateContainerResponse { container_id: c.id })
        })
        .await
    }

    async fn start_container(
        &self,
        req: Request<cri::StartContainerRequest>,
    ) -> Reply<cri::StartContainerResponse> {
        let id = req.into_inner().container_id;
        need_id(&id, "container")?;
        let span = tracing::info_span!("StartContainer", container = id);
        let (pods, containers) = (self.pods.clone(), self.containers.clone());
        let events = self.events.clone();
        blocking(span, move || {
            containers.start(&id)?;
            events.started(&id, &pods, &containers);
            Ok(cri::StartContainerResponse {})
        })
        .await
    }

    async fn stop_container(
        &self,
        req: Request<cri::StopContainerRequest>,
    ) -> Reply<cri::StopContainerResponse> {
        let req = req.into_inner();
        need_id(&req.container_id, "container")?;
        let span = tracing::info_span!("StopContainer", container = req.container_id);
        let containers = self.containers.clone();
        let timeout = std::time::Duration::from_secs(req.timeout.max(0) as u64);
        blocking(span, move || {
            containers.stop(&req.container_id, timeout)?;
            Ok(cri::StopContainerResponse {})
        })
        .await
    }

    async fn remove_container(
        &self,
        req: Request<cri::RemoveContainerRequest>,
    ) -> Reply<cri::RemoveContainerResponse> {
        let id = req.into_inner().container_id;
        need_id(&id, "container")?;
        let span = tracing::info_span!("RemoveContainer", container = id);
        let (pods, containers) = (self.pods.clone(), self.containers.clone());
        let events = self.events.clone();
        blocking(span, move || {
            let before = containers.get(&id).ok();
            containers.remove(&id)?;
            if let Some(c) = before {
                events.deleted(&c, &pods, &containers);
            }
            Ok(cri::RemoveContainerResponse {})
        })
        .await
    }

    async fn list_containers(
        &self,
        req: Request<cri::ListContainersRequest>,
    ) -> Reply<cri::ListContainersResponse> {
        let filter = req.into_inner().filter;
        let list = self.containers.list(filter.as_ref());
        Ok(Response::new(cri::ListContainersResponse {
            containers: list.iter().map(|c| c.summary()).collect(),
        }))
    }

    async fn container_status(
        &self,
        req: Request<cri::ContainerStatusRequest>,
    ) -> Reply<cri::ContainerStatusResponse> {
        let req = req.into_inner();
        need_id(&req.container_id, "container")?;
        let c = self.containers.get(&req.container_id)?;
        let mut info = std::collections::HashMap::new();
        if req.verbose {
            let json = serde_json::json!({ "pid": c.pid, "dir": c.dir, "config": c.config });
            info.insert("info".to_owned(), json.to_string());
        }
        Ok(Response::new(cri::ContainerStatusResponse {
            status: Some(c.status()),
            info,
        }))
    }

    async fn exec_sync(&self, req: Request<cri::ExecSyncRequest>) -> Reply<cri::ExecSyncResponse> {
        let req = req.into_inner();
        need_id(&req.container_id, "container")?;
        let span = tracing::info_span!("ExecSync", container = req.container_id);
        let c = self.containers.get(&req.container_id)?;
        let timeout = std::time::Duration::from_secs(req.timeout.max(0) as u64);
        let r = super::container::exec_sync(&self.containers, &c, &req.cmd, timeout)
            .instrument(span)
            .await?;
        Ok(Response::new(r))
    }

    async fn reopen_container_log(
        &self,
        req: Request<cri::ReopenContainerLogRequest>,
    ) -> Reply<cri::ReopenContainerLogResponse> {
        let id = req.into_inner().container_id;
        need_id(&id, "container")?;
        let span = tracing::info_span!("ReopenContainerLog", container = id);
        let containers = self.containers.clone();
        blocking(span, move || {
            containers.reopen_log(&id)?;
            Ok(cri::ReopenContainerLogResponse {})
        })
        .await
    }

    async fn container_stats(
        &self,
        req: Request<cri::ContainerStatsRequest>,
    ) -> Reply<cri::ContainerStatsResponse> {
        let id = req.into_inner().container_id;
        need_id(&id, "container")?;
        let c = self.containers.get(&id)?;
        let containers = self.containers.clone();
        blocking(
            tracing::debug_span!("ContainerStats", container = id),
            move || {
                Ok(cri::ContainerStatsResponse {
                    stats: Some(containers.stats(&c)),
                })
            },
        )
        .await
    }

    async fn list_container_stats(
        &self,
        req: Request<cri::ListContainerStatsRequest>,
    ) -> Reply<cri::ListContainerStatsResponse> {
        let f = req.into_inner().filter.unwrap_or_default();
        let filter = cri::ContainerFilter {
            id: f.id,
            pod_sandbox_id: f.pod_sandbox_id,
            label_selector: f.label_selector,
            state: None,
        };
        let containers = self.containers.clone();
        blocking(tracing::debug_span!("ListContainerStats"), move || {
            let list = containers.list(Some(&filter));
            Ok(cri::ListContainerStatsResponse {
                stats: list.iter().map(|c| containers.stats(c)).collect(),
            })
        })
        .await
    }

    async fn pod_sandbox_stats(
        &self,
        req: Request<cri::PodSandboxStatsRequest>,
    ) -> Reply<cri::PodSandboxStatsResponse> {
        let id = req.into_inner().pod_sandbox_id;
        need_id(&id, "pod sandbox")?;
        let pod = self.pods.get(&id).map_err(Error::from)?;
        let containers = self.containers.clone();
        blocking(
            tracing::debug_span!("PodSandboxStats", pod = id),
            move || {
                Ok(cri::PodSandboxStatsResponse {
                    stats: Some(containers.pod_stats(&pod)),
                })
            },
        )
        .await
    }

    async fn list_pod_sandbox_stats(
        &self,
        req: Request<cri::ListPodSandboxStatsRequest>,
    ) -> Reply<cri::ListPodSandboxStatsResponse> {
        let f = req.into_inner().filter.unwrap_or_default();
        let filter = cri::PodSandboxFilter {
            id: f.id,
            label_selector: f.label_selector,
            state: None,
        };
        let (pods, containers) = (self.pods.clone(), self.containers.clone());
        blocking(tracing::debug_span!("ListPodSandboxStats"), move || {
            let list = pods.list(Some(&filter));
            Ok(cri::ListPodSandboxStatsResponse {
                stats: list.iter().map(|p| containers.pod_stats(p)).collect(),
            })
        })
        .await
    }
}
