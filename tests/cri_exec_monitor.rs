//! Exec through the container's monitor with the real root daemon (issue 6, item 3):
//! ExecSync exit codes (0, non-zero, 128 + signal), a timeout that kills the tree, a
//! terminal exec, streamed execs whose client vanishes (with and without a terminal:
//! run under the monitor, killed), and all of it again after a daemon kill -9 and
//! restart.

mod cri_common;
mod exec_checks;
mod streaming_client;

use cri_common::{busybox_image, pod_config, require_root, Daemon};

const IMAGE: &str = "localhost/busybox:exec-monitor";

#[tokio::test(flavor = "multi_thread")]
async fn exec_through_the_monitor() {
    if !require_root() {
        return;
    }
    let mut d = Daemon::start();
    busybox_image(&d, IMAGE);
    let mut c = d.client().await;
    let pod = pod_config("exec-monitor");
    let pod_id = cri_common::run_pod(&mut c, &pod).await;
    let config = cri_common::container_config("box", IMAGE, &["sleep", "3600"]);
    let id = cri_common::run_container(&mut c, &pod_id, &pod, config).await;

    exec_checks::exit_codes(&mut c, &id).await;
    exec_checks::timeout_kills_the_tree(&mut c, &id, 4402).await;
    exec_checks::terminal(&mut c, &id).await;
    exec_checks::vanishing_client(&mut c, &id, false, 4401).await;
    exec_checks::vanishing_client(&mut c, &id, true, 4404).await;

    // The monitor, not the daemon, runs execs: a crash of the daemon changes nothing.
    d.kill9();
    d.spawn();
    let mut c = d.client().await;
    exec_checks::exit_codes(&mut c, &id).await;
    exec_checks::terminal(&mut c, &id).await;
    exec_checks::vanishing_client(&mut c, &id, false, 4405).await;
    cri_common::remove_pod(&mut c, &pod_id).await;
}
