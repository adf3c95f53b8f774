//! The pod and container steps every CRI end-to-end test repeats, over a
//! RuntimeService client: a container config, RunPodSandbox, CreateContainer +
//! StartContainer, ExecSync with its output, ContainerStatus, StopPodSandbox +
//! RemovePodSandbox, waiting for a daemon's socket, and the `sifcri sif add`
//! arguments. Shared by `cri_common` (root daemon) and `rootless_common` (the
//! user's daemon, which includes this file by path).

#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use proto::cri;
use proto::cri::runtime_service_client::RuntimeServiceClient;
use tonic::transport::Channel;

/// The RuntimeService client the tests use.
pub type Client = RuntimeServiceClient<Channel>;

/// A container `name` of `image` running `command`; the rest default.
pub fn container_config(name: &str, image: &str, command: &[&str]) -> cri::ContainerConfig {
    cri::ContainerConfig {
        metadata: Some(cri::ContainerMetadata {
            name: name.into(),
            attempt: 0,
        }),
        image: Some(cri::ImageSpec {
            image: image.into(),
            ..Default::default()
        }),
        command: command.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// RunPodSandbox of `pod`; its id.
pub async fn run_pod(c: &mut Client, pod: &cri::PodSandboxConfig) -> String {
    let req = cri::RunPodSandboxRequest {
        config: Some(pod.clone()),
        runtime_handler: String::new(),
    };
    let r = c.run_pod_sandbox(req).await;
    r.unwrap().into_inner().pod_sandbox_id
}

/// CreateContainer of `config` in pod `pod_id` (made from `pod`); its id.
pub async fn create_container(
    c: &mut Client,
    pod_id: &str,
    pod: &cri::PodSandboxConfig,
    config: cri::ContainerConfig,
) -> String {
    let req = cri::CreateContainerRequest {
        pod_sandbox_id: pod_id.into(),
        config: Some(config),
        sandbox_config: Some(pod.clone()),
    };
    c.create_container(req)
        .await
        .unwrap()
        .into_inner()
        .container_id
}

/// StartContainer of `id`.
pub async fn start_container(c: &mut Client, id: &str) {
    let req = cri::StartContainerRequest {
        container_id: id.into(),
    };
    c.start_container(req).await.unwrap();
}

/// CreateContainer then StartContainer; the container's id.
pub async fn run_container(
    c: &mut Client,
    pod_id: &str,
    pod: &cri::PodSandboxConfig,
    config: cri::ContainerConfig,
) -> String {
    let id = create_container(c, pod_id, pod, config).await;
    start_container(c, &id).await;
    id
}

/// RunPodSandbox of `pod`, then a started container of `config` in it:
/// (pod id, container id).
pub async fn run_pod_with(
    c: &mut Client,
    pod: &cri::PodSandboxConfig,
    config: cri::ContainerConfig,
) -> (String, String) {
    let pod_id = run_pod(c, pod).await;
    let id = run_container(c, &pod_id, pod, config).await;
    (pod_id, id)
}

/// ExecSync of `sh -c script` in `id`: (exit code, stdout then stderr).
pub async fn exec_sh(c: &mut Client, id: &str, script: &str, timeout: i64) -> (i32, String) {
    let req = cri::ExecSyncRequest {
        container_id: id.into(),
        cmd: vec!["sh".into(), "-c".into(), script.into()],
        timeout,
    };
    let r = c.exec_sync(req).await.unwrap().into_inner();
    let text = String::from_utf8_lossy(&r.stdout).to_string() + &String::from_utf8_lossy(&r.stderr);
    (r.exit_code, text)
}

/// ContainerStatus of `id`.
pub async fn container_status(c: &mut Client, id: &str) -> cri::ContainerStatus {
    let req = cri::ContainerStatusRequest {
        container_id: id.into(),
        verbose: false,
    };
    let r = c.container_status(req).await.unwrap().into_inner();
    r.status.expect("a container status")
}

/// StopPodSandbox then RemovePodSandbox of `pod_id`.
pub async fn remove_pod(c: &mut Client, pod_id: &str) {
    let req = cri::StopPodSandboxRequest {
        pod_sandbox_id: pod_id.into(),
    };
    c.stop_pod_sandbox(req).await.unwrap();
    let req = cri::RemovePodSandboxRequest {
        pod_sandbox_id: pod_id.into(),
    };
    c.remove_pod_sandbox(req).await.unwrap();
}

/// Spawns `cmd` (a daemon) with stdin and stdout on /dev/null and stderr
/// appended to `dir/daemon.log`.
pub fn spawn_logged(cmd: &mut Command, dir: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("daemon.log"))
        .unwrap();
    let cmd = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
    cmd.spawn().unwrap()
}

/// `dir/daemon.log` so far.
pub fn read_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("daemon.log")).unwrap_or_default()
}

/// Waits up to `limit` for a daemon's socket to accept; panics with `log()`
/// when the daemon exits first or the time runs out.
pub fn wait_socket(
    socket: &Path,
    child: &mut Option<Child>,
    limit: Duration,
    log: impl Fn() -> String,
) {
    let deadline = Instant::now() + limit;
    while std::os::unix::net::UnixStream::connect(socket).is_err() {
        if let Some(status) = child.as_mut().and_then(|c| c.try_wait().unwrap()) {
            panic!("daemon exited early ({status}): {}", log());
        }
        assert!(Instant::now() < deadline, "daemon not ready: {}", log());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `sifcri sif add` arguments that put squashfs `sqfs` into `sif` as the
/// amd64 system partition.
pub fn sif_add_args<'a>(sif: &'a Path, sqfs: &'a Path) -> Vec<&'a OsStr> {
    let mut add: Vec<&OsStr> = [
        "sif",
        "add",
        "--datatype",
        "partition",
        "--partfs",
        "squashfs",
        "--parttype",
        "system",
        "--partarch",
        "amd64",
    ]
    .iter()
    .map(|s| s.as_ref())
    .collect();
    add.push(sif.as_os_str());
    add.push(sqfs.as_os_str());
    add
}
