//! PID namespace modes through the real daemon: POD (containers of a pod see each
//! other's processes, held by a per-pod holder that goes with the pod), CONTAINER
//! (each its own) and NODE (the host's).

mod cri_common;

use cri_common::{
    busybox_image, container_config, exec_out, pod_config, remove_pod_only, require_root,
    start_container, Client, Daemon,
};
use proto::cri;

const IMAGE: &str = "localhost/busybox:test";

fn options(pid: cri::NamespaceMode) -> Option<cri::NamespaceOption> {
    Some(cri::NamespaceOption {
        pid: pid as i32,
        ..Default::default()
    })
}

async fn run_pod(c: &mut Client, name: &str, pid: cri::NamespaceMode) -> String {
    let mut config = pod_config(name);
    config.linux = Some(cri::LinuxPodSandboxConfig {
        security_context: Some(cri::LinuxSandboxSecurityContext {
            namespace_options: options(pid),
            ..Default::default()
        }),
        ..Default::default()
    });
    cri_common::run_pod(c, &config).await
}

/// Creates and starts container `sSECS` sleeping SECS seconds in `pod` (no sandbox
/// config sent), in pid namespace mode `pid`.
async fn sleeper(c: &mut Client, pod: &str, secs: &str, pid: cri::NamespaceMode) -> String {
    let config = cri::ContainerConfig {
        linux: Some(cri::LinuxContainerConfig {
            security_context: Some(cri::LinuxContainerSecurityContext {
                namespace_options: options(pid),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..container_config(&format!("s{secs}"), IMAGE, &["sleep", secs])
    };
    let req = cri::CreateContainerRequest {
        pod_sandbox_id: pod.into(),
        config: Some(config),
        sandbox_config: None,
    };
    let id = c.create_container(req).await.unwrap().into_inner();
    start_container(c, &id.container_id).await;
    id.container_id
}

async fn ps(c: &mut Client, id: &str) -> String {
    exec_out(c, id, &["ps"], 10).await.1
}

#[tokio::test]
async fn pod_container_and_node_pid_modes() {
    if !require_root() {
        return;
    }
    use cri::NamespaceMode::{Container, Node, Pod};
    let d = Daemon::start();
    busybox_image(&d, IMAGE);
    let mut c = d.client().await;

    let shared = run_pod(&mut c, "shared", Pod).await;
    let rec = d.root().join("pods").join(format!("{shared}.json"));
    let record: serde_json::Value = serde_json::from_slice(&std::fs::read(&rec).unwrap()).unwrap();
    let holder = record["pid_holder"]
        .as_i64()
        .expect("a pid namespace holder") as i32;
    let a = sleeper(&mut c, &shared, "301", Pod).await;
    let b = sleeper(&mut c, &shared, "302", Pod).await;
    let seen = ps(&mut c, &b).await;
    assert!(
        seen.contains("sleep 301") && seen.contains("sleep 302"),
        "{seen}"
    );
    assert!(ps(&mut c, &a).await.contains("sleep 302"));
    remove_pod_only(&mut c, &shared).await;
    let gone = std::path::PathBuf::from(format!("/proc/{holder}"));
    for _ in 0..100 {
        if !gone.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!gone.exists(), "the pid namespace holder outlived its pod");

    let apart = run_pod(&mut c, "apart", Container).await;
    let a = sleeper(&mut c, &apart, "303", Container).await;
    let b = sleeper(&mut c, &apart, "304", Container).await;
    let seen = ps(&mut c, &b).await;
    assert!(
        seen.contains("sleep 304") && !seen.contains("sleep 303"),
        "{seen}"
    );
    assert!(!ps(&mut c, &a).await.contains("sleep 304"));
    remove_pod_only(&mut c, &apart).await;

    let host = run_pod(&mut c, "host", Node).await;
    let a = sleeper(&mut c, &host, "305", Node).await;
    let seen = ps(&mut c, &a).await;
    assert!(seen.contains("sifcri"), "the host's processes: {seen}");
    remove_pod_only(&mut c, &host).await;
}
