//! PID namespace modes through the real daemon: POD (containers of a pod see each
//! other's processes, held by a per-pod holder that goes with the pod), CONTAINER
//! (each its own) and NODE (the host's).

mod cri_common;

use cri_common::{busybox_image, pod_config, require_root, Client, Daemon};
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
    let req = cri::RunPodSandboxRequest {
        config: Some(config),
        runtime_handler: String::new(),
    };
    c.run_pod_sandbox(req)
        .await
        .unwrap()
        .into_inner()
        .pod_sandbox_id
}

async fn sleeper(c: &mut Client, pod: &str, secs: &str, pid: cri::NamespaceMode) -> String {
    let config = cri::ContainerConfig {
        metadata: Some(cri::ContainerMetadata {
            name: format!("s{secs}"),
            attempt: 0,
        }),
        image: Some(cri::ImageSpec {
            image: IMAGE.into(),
            ..Default::default()
        }),
        command: vec!["sleep".into(), secs.into()],
        linux: Some(cri::LinuxContainerConfig {
            security_context: Some(cri::LinuxContainerSecurityContext {
                namespace_options: options(pid),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let req = cri::CreateContainerRequest {
        pod_sandbox_id: pod.into(),
        config: Some(config),
        sandbox_config: None,
    };
    let id = c
        .create_container(req)
        .await
        .unwrap()
        .into_inner()
        .container_id;
    let req = cri::StartContainerRequest {
        container_id: id.clone(),
    };
    c.start_container(req).await.unwrap();
    id
}

async fn ps(c: &mut Client, id: &str) -> String {
    let req = cri::ExecSyncRequest {
        container_id: id.into(),
        cmd: vec!["ps".into()],
        timeout: 10,
    };
    let r = c.exec_sync(req).await.unwrap().into_inner();
    String::from_utf8_lossy(&r.stdout).into_owned()
}

async fn remove_pod(c: &mut Client, id: &str) {
    let req = cri::RemovePodSandboxRequest {
        pod_sandbox_id: id.into(),
    };
    c.remove_pod_sandbox(req).await.unwrap();
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
    remove_pod(&mut c, &shared).await;
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
    remove_pod(&mut c, &apart).await;

    let host = run_pod(&mut c, "host", Node).await;
    let a = sleeper(&mut c, &host, "305", Node).await;
    let seen = ps(&mut c, &a).await;
    assert!(seen.contains("sifcri"), "the host's processes: {seen}");
    remove_pod(&mut c, &host).await;
}
