//! The CRI flows again, with `sifcri serve` started by the ordinary user `sifcri-test`:
//! default paths from XDG_RUNTIME_DIR/XDG_DATA_HOME, an image imported as that user,
//! pod and container lifecycle, exec, logs, Status (the no-cgroup-limits condition),
//! a `kill -9` of the daemon and a restart that finds the running container again,
//! and a leak check (no process of the daemon left; its namespaces die with them).

mod rootless_common;

use std::time::Duration;

use proto::cri;
use rootless_common::{
    busybox_image, container_config, container_status, exec_all, pod_config, require_user, try_run,
    try_run_pod, Client, UserDaemon,
};

const IMAGE: &str = "localhost/busybox-user:latest";

/// A pod with one started container running `script`; returns (pod, container).
pub async fn pod_with(
    d: &UserDaemon,
    c: &mut Client,
    name: &str,
    script: &str,
    mutate: impl FnOnce(&mut cri::PodSandboxConfig, &mut cri::ContainerConfig),
) -> Result<(String, String), tonic::Status> {
    let mut pod = pod_config(d, name);
    let mut config = cri::ContainerConfig {
        log_path: format!("{name}.log"),
        ..container_config("main", IMAGE, &["sh", "-c", script])
    };
    mutate(&mut pod, &mut config);
    let pod_id = try_run_pod(c, &pod).await?;
    let id = try_run(c, &(pod_id.clone(), pod), config).await?;
    Ok((pod_id, id))
}

/// ExecSync of `cmd`: (exit code, stdout + stderr).
pub async fn exec(c: &mut Client, id: &str, cmd: &[&str]) -> (i32, String) {
    exec_all(c, id, cmd, 20).await
}

async fn state(c: &mut Client, id: &str) -> i32 {
    container_status(c, id).await.state
}

#[tokio::test]
async fn user_daemon_runs_a_pod_and_survives_kill9() {
    if !require_user() {
        return;
    }
    let mut d = UserDaemon::start("");
    assert!(d.keeper().is_some(), "no keeper pid file: {}", d.log());
    busybox_image(&d, IMAGE, |_| {});
    let mut c = d.client().await;

    let status = c
        .status(cri::StatusRequest { verbose: false })
        .await
        .unwrap();
    let conditions = status.into_inner().status.unwrap().conditions;
    let limits = conditions.iter().find(|x| x.r#type == "ResourceLimits");
    if let Some(l) = limits {
        assert!(!l.status && l.reason == "NoCgroupDelegation" && !l.message.is_empty());
        assert!(
            d.log().contains("containers run without resource limits"),
            "{}",
            d.log()
        );
    }

    let script = "cat /etc/motd; id -u; exec sleep 600";
    let (pod, id) = pod_with(&d, &mut c, "life", script, |_, _| {})
        .await
        .unwrap();
    let log = d.logs().join("life.log");
    let mut text = String::new();
    for _ in 0..100 {
        text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("hello-from-the-image") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        text.contains(" stdout F hello-from-the-image"),
        "log: {text}"
    );
    let (code, out) = exec(&mut c, &id, &["sh", "-c", "echo out; echo err >&2; exit 3"]).await;
    assert_eq!((code, out.as_str()), (3, "out\nerr\n"));

    d.kill9();
    d.spawn();
    let mut c = d.client().await;
    assert_eq!(
        state(&mut c, &id).await,
        cri::ContainerState::ContainerRunning as i32
    );
    let (code, out) = exec(&mut c, &id, &["cat", "/etc/motd"]).await;
    assert_eq!((code, out.as_str()), (0, "hello-from-the-image\n"));

    let req = cri::StopContainerRequest {
        container_id: id.clone(),
        timeout: 2,
    };
    c.stop_container(req).await.unwrap();
    assert_eq!(
        state(&mut c, &id).await,
        cri::ContainerState::ContainerExited as i32
    );
    c.remove_container(cri::RemoveContainerRequest {
        container_id: id.clone(),
    })
    .await
    .unwrap();
    let req = cri::StopPodSandboxRequest {
        pod_sandbox_id: pod.clone(),
    };
    c.stop_pod_sandbox(req).await.unwrap();
    let req = cri::RemovePodSandboxRequest {
        pod_sandbox_id: pod,
    };
    c.remove_pod_sandbox(req).await.unwrap();
    let left = d.shutdown();
    assert!(left.is_empty(), "processes left: {left:?}");
}
