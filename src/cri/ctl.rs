//! The client behind `sifcri ctl`: a CRI RuntimeService client over a unix socket and
//! the few verbs a newcomer needs to run a pod without crictl.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use proto::cri;
use proto::cri::runtime_service_client::RuntimeServiceClient;
use tonic::transport::{Channel, Endpoint};

/// What a ctl verb can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The socket cannot be reached.
    #[error("cannot connect to {path}: {source}")]
    Connect {
        /// The socket.
        path: PathBuf,
        /// Why.
        source: tonic::transport::Error,
    },
    /// The runtime refused a call.
    #[error("{call}: {status}")]
    Call {
        /// The call.
        call: &'static str,
        /// The answer.
        status: tonic::Status,
    },
    /// No (or more than one) object matches an id.
    #[error("{0}")]
    Id(String),
    /// A local file operation failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn call(name: &'static str) -> impl FnOnce(tonic::Status) -> Error {
    move |status| Error::Call { call: name, status }
}

/// A connected client.
#[derive(Debug)]
pub struct Ctl {
    c: RuntimeServiceClient<Channel>,
}

/// A gRPC channel over the unix socket at `path`.
pub async fn channel(path: &Path) -> Result<Channel, tonic::transport::Error> {
    let owned = path.to_owned();
    Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_| {
            let p = owned.clone();
            async move {
                Ok::<_, std::io::Error>(TokioIo::new(tokio::net::UnixStream::connect(p).await?))
            }
        }))
        .await
}

impl Ctl {
    /// Connects to the runtime at `path`.
    pub async fn connect(path: &Path) -> Result<Ctl, Error> {
        let ch = channel(path).await.map_err(|source| Error::Connect {
            path: path.to_owned(),
            source,
        })?;
        Ok(Ctl {
            c: RuntimeServiceClient::new(ch),
        })
    }

    /// Runs `image` in a new pod; prints its log; returns its exit code.
    pub async fn run(&mut self, image: &str, command: Vec<String>, rm: bool) -> Result<i32, Error> {
        let name = format!("ctl-{}", &crate::state::new_id()[..8]);
        let logs = std::env::temp_dir().join("sifcri-ctl").join(&name);
        let pod = cri::PodSandboxConfig {
            metadata: Some(cri::PodSandboxMetadata {
                name: name.clone(),
                uid: crate::state::new_id(),
                namespace: "default".into(),
                attempt: 0,
            }),
            hostname: name.clone(),
            log_directory: logs.display().to_string(),
            ..Default::default()
        };
        let req = cri::RunPodSandboxRequest {
            config: Some(pod.clone()),
            runtime_handler: String::new(),
        };
        let pod_id = self
            .c
            .run_pod_sandbox(req)
            .await
            .map_err(call("RunPodSandbox"))?
            .into_inner()
            .pod_sandbox_id;
        let result = self.run_in(&pod_id, pod, image, command).await;
        if rm {
            let req = cri::RemovePodSandboxRequest {
                pod_sandbox_id: pod_id.clone(),
            };
            self.c
                .remove_pod_sandbox(req)
                .await
                .map_err(call("RemovePodSandbox"))?;
            let _ = std::fs::remove_dir_all(&logs);
        } else {
            eprintln!("pod {pod_id}");
        }
        result
    }

    async fn run_in(
        &mut self,
        pod_id: &str,
        pod: cri::PodSandboxConfig,
        image: &str,
        command: Vec<String>,
    ) -> Result<i32, Error> {
        let config = cri::ContainerConfig {
            metadata: Some(cri::ContainerMetadata {
                name: "main".into(),
                attempt: 0,
            }),
            image: Some(cri::ImageSpec {
                image: image.into(),
                ..Default::default()
            }),
            command,
            log_path: "main.log".into(),
            ..Default::default()
        };
        let req = cri::CreateContainerRequest {
            pod_sandbox_id: pod_id.into(),
            config: Some(config),
            sandbox_config: Some(pod),
        };
        let id = self
            .c
            .create_container(req)
            .await
            .map_err(call("CreateContainer"))?
            .into_inner()
            .container_id;
        let req = cri::StartContainerRequest {
            container_id: id.clone(),
        };
        self.c
            .start_container(req)
            .await
            .map_err(call("StartContainer"))?;
        let mut shown = 0usize;
        loop {
            let s = self.status(&id).await?;
            shown = print_log(Path::new(&s.log_path), shown)?;
            if s.state == cri::ContainerState::ContainerExited as i32 {
                shown = print_log(Path::new(&s.log_path), shown)?;
                let _ = shown;
                return Ok(s.exit_code);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn status(&mut self, id: &str) -> Result<cri::ContainerStatus, Error> {
        let req = cri::ContainerStatusRequest {
            container_id: id.into(),
            verbose: false,
        };
        let s = self
            .c
            .container_status(req)
            .await
            .map_err(call("ContainerStatus"))?;
        s.into_inner()
            .status
            .ok_or_else(|| Error::Id(format!("no status for {id}")))
    }

    /// Prints pods and containers.
    pub async fn ps(&mut self) -> Result<(), Error> {
        let pods = self
            .c
            .list_pod_sandbox(cri::ListPodSandboxRequest::default())
            .await
            .map_err(call("ListPodSandbox"))?
            .into_inner()
            .items;
        let ctrs = self
            .c
            .list_containers(cri::ListContainersRequest::default())
            .await
            .map_err(call("ListContainers"))?
            .into_inner()
            .containers;
        println!(
            "{:<14}{:<14}{:<24}{:<10}IMAGE",
            "POD", "CONTAINER", "NAME", "STATE"
        );
        for p in &pods {
            let state = if p.state == cri::PodSandboxState::SandboxReady as i32 {
                "ready"
            } else {
                "notready"
            };
            let name = p.metadata.as_ref().map(|m| m.name.as_str()).unwrap_or("");
            println!("{:<14}{:<14}{:<24}{:<10}", short(&p.id), "-", name, state);
            for c in ctrs.iter().filter(|c| c.pod_sandbox_id == p.id) {
                let state = match cri::ContainerState::try_from(c.state) {
                    Ok(cri::ContainerState::ContainerCreated) => "created",
                    Ok(cri::ContainerState::ContainerRunning) => "running",
                    Ok(cri::ContainerState::ContainerExited) => "exited",
                    _ => "unknown",
                };
                let name = c.metadata.as_ref().map(|m| m.name.as_str()).unwrap_or("");
                let image = c.image.as_ref().map(|i| i.image.as_str()).unwrap_or("");
                println!(
                    "{:<14}{:<14}{:<24}{:<10}{image}",
                    short(&p.id),
                    short(&c.id),
                    name,
                    state
                );
            }
        }
        Ok(())
    }

    /// Prints a container's log (the text only).
    pub async fn logs(&mut self, id: &str) -> Result<(), Error> {
        let id = self.container_id(id).await?;
        let s = self.status(&id).await?;
        print_log(Path::new(&s.log_path), 0).map(drop)
    }

    /// Runs a command in a container; returns its exit code.
    pub async fn exec(&mut self, id: &str, cmd: Vec<String>, timeout: i64) -> Result<i32, Error> {
        let id = self.container_id(id).await?;
        let req = cri::ExecSyncRequest {
            container_id: id,
            cmd,
            timeout,
        };
        let r = self
            .c
            .exec_sync(req)
            .await
            .map_err(call("ExecSync"))?
            .into_inner();
        std::io::stdout().write_all(&r.stdout)?;
        std::io::stderr().write_all(&r.stderr)?;
        Ok(r.exit_code)
    }

    /// Stops and removes containers or pods.
    pub async fn rm(&mut self, ids: &[String]) -> Result<(), Error> {
        for id in ids {
            if let Ok(cid) = self.container_id(id).await {
                let req = cri::StopContainerRequest {
                    container_id: cid.clone(),
                    timeout: 10,
                };
                self.c
                    .stop_container(req)
                    .await
                    .map_err(call("StopContainer"))?;
                let req = cri::RemoveContainerRequest {
                    container_id: cid.clone(),
                };
                self.c
                    .remove_container(req)
                    .await
                    .map_err(call("RemoveContainer"))?;
                println!("{cid}");
                continue;
            }
            let f = cri::PodSandboxFilter {
                id: id.clone(),
                ..Default::default()
            };
            let pods = self
                .c
                .list_pod_sandbox(cri::ListPodSandboxRequest { filter: Some(f) })
                .await
                .map_err(call("ListPodSandbox"))?
                .into_inner()
                .items;
            let [pod] = pods.as_slice() else {
                return Err(Error::Id(format!(
                    "{id}: no single container or pod with this id"
                )));
            };
            let req = cri::StopPodSandboxRequest {
                pod_sandbox_id: pod.id.clone(),
            };
            self.c
                .stop_pod_sandbox(req)
                .await
                .map_err(call("StopPodSandbox"))?;
            let req = cri::RemovePodSandboxRequest {
                pod_sandbox_id: pod.id.clone(),
            };
            self.c
                .remove_pod_sandbox(req)
                .await
                .map_err(call("RemovePodSandbox"))?;
            println!("{}", pod.id);
        }
        Ok(())
    }

    async fn container_id(&mut self, prefix: &str) -> Result<String, Error> {
        let f = cri::ContainerFilter {
            id: prefix.into(),
            ..Default::default()
        };
        let list = self
            .c
            .list_containers(cri::ListContainersRequest { filter: Some(f) })
            .await
            .map_err(call("ListContainers"))?
            .into_inner()
            .containers;
        match list.as_slice() {
            [one] => Ok(one.id.clone()),
            [] => Err(Error::Id(format!("no container {prefix}"))),
            _ => Err(Error::Id(format!("{prefix} matches several containers"))),
        }
    }
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// Prints the text of CRI log lines from byte `from`; returns the new offset.
fn print_log(path: &Path, from: usize) -> Result<usize, Error> {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(from),
        Err(e) => return Err(e.into()),
    };
    let Some(new) = data.get(from..) else {
        return Ok(from);
    };
    let complete = new.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    for line in new[..complete]
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
    {
        let mut parts = line.splitn(4, |&b| b == b' ');
        let (_, stream, tag, text) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next().unwrap_or_default(),
        );
        let sink: &mut dyn Write = if stream == Some(b"stderr") {
            &mut err
        } else {
            &mut out
        };
        sink.write_all(text)?;
        if tag != Some(b"P") {
            sink.write_all(b"\n")?;
        }
    }
    Ok(from + complete)
}
