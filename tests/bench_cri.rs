//! `sifcri bench cri`: a short run (2 rounds, 2 pods at once) against the real daemon;
//! checks the report's shape (every step measured, memory found, nothing left behind),
//! not its timings.

mod cri_common;

use std::process::{Command, Output};

use cri_common::{busybox_image, require_root, Daemon};
use proto::cri;
use serde_json::Value;

const IMAGE: &str = "localhost/busybox:bench";
const STEPS: [&str; 9] = [
    "RunPodSandbox",
    "CreateContainer",
    "StartContainer",
    "ExecSync",
    "StopContainer",
    "RemoveContainer",
    "StopPodSandbox",
    "RemovePodSandbox",
    "Total",
];

fn bench(d: &Daemon, image: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sifcri"))
        .args(["bench", "cri", "--endpoint"])
        .arg(d.socket())
        .args(["--image", image, "--rounds", "2", "--pods", "2"])
        .args(extra)
        .output()
        .unwrap()
}

fn check_steps(r: &Value) {
    let steps = r["steps"].as_array().unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(names, STEPS);
    for s in steps {
        let (p50, p90, max) = (
            s["p50_ms"].as_f64(),
            s["p90_ms"].as_f64(),
            s["max_ms"].as_f64(),
        );
        let (p50, p90, max) = (p50.unwrap(), p90.unwrap(), max.unwrap());
        assert_eq!(s["n"], 2, "{s}");
        assert!(0.0 < p50 && p50 <= p90 && p90 <= max, "{s}");
    }
}

fn check_memory(r: &Value, pods: u64) {
    let m = &r["memory"];
    for k in ["daemon_idle", "daemon_loaded"] {
        let (rss, pss) = (
            m[k]["rss_kib"].as_u64().unwrap(),
            m[k]["pss_kib"].as_u64().unwrap(),
        );
        assert!(rss > 0 && pss > 0 && pss <= rss, "{k}: {m}");
    }
    let mon = &m["monitors"];
    assert!(
        mon["count"].as_u64().unwrap() >= pods,
        "one monitor per container: {m}"
    );
    assert!(mon["per_container_rss_kib"].as_f64().unwrap() > 0.0, "{m}");
    assert!(m["helpers"]["count"].is_u64(), "{m}");
}

async fn nothing_left(d: &Daemon) {
    let mut c = d.client().await;
    let pods = c.list_pod_sandbox(cri::ListPodSandboxRequest::default());
    assert!(pods.await.unwrap().into_inner().items.is_empty());
    let ctrs = c.list_containers(cri::ListContainersRequest::default());
    assert!(ctrs.await.unwrap().into_inner().containers.is_empty());
}

#[tokio::test]
async fn report_shape() {
    if !require_root() {
        return;
    }
    let d = Daemon::start();
    busybox_image(&d, IMAGE);
    let out = bench(&d, IMAGE, &["--json"]);
    assert!(out.status.success(), "{out:?}\n{}", d.log());
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["daemon"]["pid"], d.child.as_ref().unwrap().id());
    assert_eq!(
        (r["rounds"].as_u64(), r["image_pulled"].as_bool()),
        (Some(2), Some(false))
    );
    check_steps(&r);
    let c = &r["concurrent"];
    assert_eq!(
        (c["pods"].as_u64(), c["start_per_pod"]["n"].as_u64()),
        (Some(2), Some(2))
    );
    assert!(c["start_wall_ms"].as_f64().unwrap() >= c["start_per_pod"]["max_ms"].as_f64().unwrap());
    assert!(c["teardown_wall_ms"].as_f64().unwrap() > 0.0);
    check_memory(&r, 2);
    assert_eq!(r["load_average"].as_str().unwrap().split(' ').count(), 3);
    nothing_left(&d).await;

    let text = bench(&d, IMAGE, &[]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(text.status.success(), "{text:?}");
    for step in STEPS {
        assert!(stdout.contains(step), "{stdout}");
    }
    assert!(
        stdout.contains("2 pods at once") && stdout.contains("daemon RSS idle"),
        "{stdout}"
    );
    nothing_left(&d).await;
}

#[tokio::test]
async fn refused_call_is_reported_and_cleaned_up() {
    if !require_root() {
        return;
    }
    let d = Daemon::start();
    let out = bench(&d, "localhost/absent:none", &[]);
    // The missing image is pulled through the ImageService, which fails: the error names
    // the call and the command fails; nothing is left in the runtime.
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("PullImage"),
        "{out:?}"
    );
    nothing_left(&d).await;
}
