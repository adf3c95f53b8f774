//! Port forward into a pod of the user daemon (issue 7): the PortForward URL of a
//! `sifcri serve` run by `sifcri-test`, driven by the independent SPDY client of
//! `tests/streaming_client`, reaches a server listening on the pod's localhost. Exec
//! through the container's monitor under the user daemon (issue 6): the checks of
//! `tests/exec_checks`, before and after a daemon kill -9 and restart.

mod exec_checks;
mod rootless_common;
mod streaming_client;

use std::time::{Duration, Instant};

use proto::cri;
use rootless_common::{busybox_image, pod_config, require_user, UserDaemon};
use streaming_client::{open_port_pair, upgrade, In};

const IMAGE: &str = "localhost/busybox-forward:latest";

#[tokio::test]
async fn port_forward_into_a_user_daemon_pod() {
    if !require_user() {
        return;
    }
    let mut d = UserDaemon::start("");
    busybox_image(&d, IMAGE, |_| {});
    let mut c = d.client().await;
    let pod = pod_config(&d, "forward");
    let pod_id = rootless_common::run_pod(&mut c, &pod).await;
    let mut config = rootless_common::container_config("echo", IMAGE, &["nc", "-ll", "-p", "8080"]);
    config.args = vec!["-e".into(), "/bin/cat".into()];
    config.log_path = "echo.log".into();
    rootless_common::run_container(&mut c, &pod_id, &pod, config).await;
    let req = cri::PortForwardRequest {
        pod_sandbox_id: pod_id.clone(),
        port: vec![8080],
    };
    let url = c.port_forward(req).await.unwrap().into_inner().url;
    let echoed = tokio::task::spawn_blocking(move || echo_through(&url)).await;
    let log = std::fs::read_to_string(d.logs().join("echo.log")).unwrap_or_default();
    assert!(echoed.unwrap(), "no echo: {}\ncontainer: {log}", d.log());
    let stop = cri::StopPodSandboxRequest {
        pod_sandbox_id: pod_id.clone(),
    };
    c.stop_pod_sandbox(stop).await.unwrap();
    let remove = cri::RemovePodSandboxRequest {
        pod_sandbox_id: pod_id,
    };
    c.remove_pod_sandbox(remove).await.unwrap();
    let left = d.shutdown();
    assert!(left.is_empty(), "processes left: {left:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn exec_through_the_monitor_of_a_user_daemon() {
    if !require_user() {
        return;
    }
    let mut d = UserDaemon::start("");
    busybox_image(&d, IMAGE, |_| {});
    let mut c = d.client().await;
    let pod = pod_config(&d, "exec");
    let pod_id = rootless_common::run_pod(&mut c, &pod).await;
    let config = rootless_common::container_config("box", IMAGE, &["sleep", "3600"]);
    let id = rootless_common::run_container(&mut c, &pod_id, &pod, config).await;
    exec_checks::exit_codes(&mut c, &id).await;
    exec_checks::timeout_kills_the_tree(&mut c, &id, 4414).await;
    exec_checks::terminal(&mut c, &id).await;
    exec_checks::vanishing_client(&mut c, &id, false, 4411).await;
    exec_checks::vanishing_client(&mut c, &id, true, 4412).await;
    d.kill9();
    d.spawn();
    let mut c = d.client().await;
    exec_checks::exit_codes(&mut c, &id).await;
    exec_checks::terminal(&mut c, &id).await;
    rootless_common::remove_pod(&mut c, &pod_id).await;
    let left = d.shutdown();
    assert!(left.is_empty(), "processes left: {left:?}");
}

/// Sends `ping` through a port-forward stream pair to 8080 until it comes back (the
/// server may still be starting); false after 20 s.
fn echo_through(url: &str) -> bool {
    let (tcp, hs) = upgrade(url, &["portforward.k8s.io"]);
    assert_eq!(hs.status, 101);
    let mut s = streaming_client::Client::new(tcp);
    let deadline = Instant::now() + Duration::from_secs(20);
    for rid in 0.. {
        if Instant::now() > deadline {
            return false;
        }
        let (errors, data) = open_port_pair(&mut s, 8080, rid);
        s.send(data, b"ping\n", false);
        let mut got = Vec::new();
        while let Some(frame) = s.read() {
            match frame {
                In::Data { id, data: d, .. } if id == data => got.extend(d),
                In::Data { id, data: d, fin } if id == errors => {
                    // Refused while the server is not listening yet: try again.
                    if !d.is_empty() {
                        eprintln!("forward error: {}", String::from_utf8_lossy(&d));
                    }
                    if fin {
                        break;
                    }
                }
                In::Data { fin: true, .. } | In::Rst { .. } => break,
                _ => {}
            }
            if got.ends_with(b"ping\n") {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}
