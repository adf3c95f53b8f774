//! StopContainer right after StartContainer, before the program has installed its
//! SIGTERM handler: the kernel drops a signal to a pid namespace's init that has no
//! handler, so the daemon sends SIGTERM again once the handler is there, and the
//! container ends on its own terms (exit 0) instead of by SIGKILL after the timeout.

mod cri_common;

use cri_common::{
    busybox_daemon, container_config, container_status, pod_config, run_container, run_pod,
};
use proto::cri;

const IMAGE: &str = "localhost/busybox:test";

#[tokio::test]
async fn an_early_stop_reaches_a_late_handler() {
    let Some((d, mut c)) = busybox_daemon(IMAGE).await else {
        return;
    };
    let mut pod = pod_config("stop");
    pod.log_directory = d.dir.path().join("logs").display().to_string();
    let pod_id = run_pod(&mut c, &pod).await;
    let script = "sleep 0.5; trap 'exit 0' TERM; while :; do sleep 0.05; done";
    let mut config = container_config("late-trap", IMAGE, &["sh", "-c", script]);
    // Its own pid namespace, so the shell is pid 1 there.
    config.linux = Some(cri::LinuxContainerConfig {
        security_context: Some(cri::LinuxContainerSecurityContext {
            namespace_options: Some(cri::NamespaceOption {
                pid: cri::NamespaceMode::Container as i32,
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    });
    let id = run_container(&mut c, &pod_id, &pod, config).await;
    let req = cri::StopContainerRequest {
        container_id: id.clone(),
        timeout: 30,
    };
    c.stop_container(req).await.unwrap();
    let s = container_status(&mut c, &id).await;
    assert_eq!(s.state, cri::ContainerState::ContainerExited as i32);
    assert_eq!(
        s.exit_code, 0,
        "ended by SIGKILL, not by its own handler: {s:?}"
    );
    let req = cri::RemovePodSandboxRequest {
        pod_sandbox_id: pod_id,
    };
    c.remove_pod_sandbox(req).await.unwrap();
}
