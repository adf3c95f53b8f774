//! The CRI calls the end-to-end tests make beside `flow`'s happy path: a pod passed
//! around as (id, config), a `sh -c` container that logs, create / start / exec that
//! hand back the daemon's error (for the tests of bad input), waiting for a container
//! to exit, stopping and removing containers, RemovePodSandbox alone, and the lines of
//! a CRI log file. Shared by `cri_common` and `rootless_common` (by path, as `flow`).

#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use proto::cri;

use super::flow::{container_config, container_status, run_pod, Client};

/// A pod as the tests pass it around: (its id, its config).
pub type Pod = (String, cri::PodSandboxConfig);

/// RunPodSandbox of `config`: (its id, the config).
pub async fn run_pod_pair(c: &mut Client, config: cri::PodSandboxConfig) -> Pod {
    (run_pod(c, &config).await, config)
}

/// RunPodSandbox of `config`: its id, or the daemon's error.
pub async fn try_run_pod(
    c: &mut Client,
    config: &cri::PodSandboxConfig,
) -> Result<String, tonic::Status> {
    let req = cri::RunPodSandboxRequest {
        config: Some(config.clone()),
        runtime_handler: String::new(),
    };
    Ok(c.run_pod_sandbox(req).await?.into_inner().pod_sandbox_id)
}

/// A container `name` of `image` running `sh -c script`, logging to `NAME.log` in its
/// pod's log directory.
pub fn sh_config(name: &str, image: &str, script: &str) -> cri::ContainerConfig {
    cri::ContainerConfig {
        log_path: format!("{name}.log"),
        ..container_config(name, image, &["sh", "-c", script])
    }
}

/// CreateContainer of `config` in `pod`: its id, or the daemon's error.
pub async fn try_create(
    c: &mut Client,
    pod: &Pod,
    config: cri::ContainerConfig,
) -> Result<String, tonic::Status> {
    let req = cri::CreateContainerRequest {
        pod_sandbox_id: pod.0.clone(),
        config: Some(config),
        sandbox_config: Some(pod.1.clone()),
    };
    Ok(c.create_container(req).await?.into_inner().container_id)
}

/// CreateContainer then StartContainer of `config` in `pod`: its id, or the first
/// error of the daemon.
pub async fn try_run(
    c: &mut Client,
    pod: &Pod,
    config: cri::ContainerConfig,
) -> Result<String, tonic::Status> {
    let id = try_create(c, pod, config).await?;
    let req = cri::StartContainerRequest {
        container_id: id.clone(),
    };
    c.start_container(req).await?;
    Ok(id)
}

/// ExecSync of `cmd` in `id`: the response, or the daemon's error.
pub async fn try_exec(
    c: &mut Client,
    id: &str,
    cmd: &[&str],
    timeout: i64,
) -> Result<cri::ExecSyncResponse, tonic::Status> {
    let req = cri::ExecSyncRequest {
        container_id: id.into(),
        cmd: cmd.iter().map(|s| s.to_string()).collect(),
        timeout,
    };
    Ok(c.exec_sync(req).await?.into_inner())
}

/// ExecSync of `cmd` in `id`: (exit code, stdout).
pub async fn exec_out(c: &mut Client, id: &str, cmd: &[&str], timeout: i64) -> (i32, String) {
    let r = try_exec(c, id, cmd, timeout).await.unwrap();
    (r.exit_code, String::from_utf8_lossy(&r.stdout).into_owned())
}

/// ExecSync of `cmd` in `id`: (exit code, stdout then stderr).
pub async fn exec_all(c: &mut Client, id: &str, cmd: &[&str], timeout: i64) -> (i32, String) {
    let r = try_exec(c, id, cmd, timeout).await.unwrap();
    let text = String::from_utf8_lossy(&r.stdout).to_string() + &String::from_utf8_lossy(&r.stderr);
    (r.exit_code, text)
}

/// Polls ContainerStatus of `id` (every 20 ms, 10 s at most) until it has exited;
/// that status.
pub async fn wait_exited(c: &mut Client, id: &str) -> cri::ContainerStatus {
    for _ in 0..500 {
        let s = container_status(c, id).await;
        if s.state == cri::ContainerState::ContainerExited as i32 {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("container {id} did not exit");
}

/// Waits for `id` to exit, asserts it exited with 0: the texts of its log.
pub async fn exited_texts(c: &mut Client, id: &str) -> Vec<String> {
    let s = wait_exited(c, id).await;
    assert_eq!(s.exit_code, 0, "{s:?}");
    log_texts(Path::new(&s.log_path))
}

/// ContainerStats of `id`.
pub async fn container_stats(c: &mut Client, id: &str) -> cri::ContainerStats {
    let req = cri::ContainerStatsRequest {
        container_id: id.into(),
    };
    let r = c.container_stats(req).await.unwrap().into_inner();
    r.stats.expect("container stats")
}

/// StopContainer of `id` with `timeout` seconds of grace.
pub async fn stop_container(c: &mut Client, id: &str, timeout: i64) {
    let req = cri::StopContainerRequest {
        container_id: id.into(),
        timeout,
    };
    c.stop_container(req).await.unwrap();
}

/// RemoveContainer of `id`.
pub async fn remove_container(c: &mut Client, id: &str) {
    let req = cri::RemoveContainerRequest {
        container_id: id.into(),
    };
    c.remove_container(req).await.unwrap();
}

/// RemovePodSandbox of `pod_id`, without StopPodSandbox first (the daemon stops it).
pub async fn remove_pod_only(c: &mut Client, pod_id: &str) {
    let req = cri::RemovePodSandboxRequest {
        pod_sandbox_id: pod_id.into(),
    };
    c.remove_pod_sandbox(req).await.unwrap();
}

/// The lines of the CRI log file at `path` without their timestamps:
/// "STREAM TAG TEXT".
pub fn log_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            l.split_once(' ')
                .map(|(_, rest)| rest.to_owned())
                .unwrap_or_default()
        })
        .collect()
}

/// The texts of the CRI log file at `path`, one a line, stream and tag left out.
pub fn log_texts(path: &Path) -> Vec<String> {
    let log = std::fs::read_to_string(path).unwrap();
    // "TIMESTAMP STREAM TAG TEXT"
    log.lines()
        .filter_map(|l| l.splitn(4, ' ').nth(3).map(str::to_owned))
        .collect()
}
