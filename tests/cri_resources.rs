//! Pod and container cgroups through the real daemon: the pod's cgroup (ours under
//! /sifcri, or the CRI cgroup_parent), the container's child cgroup with the CRI limits
//! written, UpdateContainerResources changing them live and ContainerStatus reporting
//! them, the clamped oom_score_adj, stats from those cgroups, OOMKilled, and no cgroup
//! left after the pod is removed. Works on cgroup v1 controllers and on pure v2.

mod cri_common;

use std::path::PathBuf;
use std::time::Duration;

use cri_common::{
    busybox_daemon, container_config, container_stats, container_status, exec_out, pod_config,
    remove_pod, run_pod_pair, start_container, try_create, try_run, Client, Pod,
};
use proto::cri;

const IMAGE: &str = "localhost/busybox:test";

/// The directory of cgroup `path` for a v1 controller, or in the v2 hierarchy.
fn cg_dir(ctrl: &str, path: &str) -> PathBuf {
    let rel = path.trim_start_matches('/');
    let v1 = PathBuf::from("/sys/fs/cgroup").join(ctrl);
    if v1.is_dir() {
        v1.join(rel)
    } else {
        PathBuf::from("/sys/fs/cgroup").join(rel)
    }
}

fn v2() -> bool {
    !PathBuf::from("/sys/fs/cgroup/memory").is_dir()
}

fn read(p: PathBuf) -> String {
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .trim()
        .to_owned()
}

/// The memory limit file's value for cgroup `path`.
fn memory_limit(path: &str) -> String {
    let file = if v2() {
        "memory.max"
    } else {
        "memory.limit_in_bytes"
    };
    read(cg_dir("memory", path).join(file))
}

/// The CPU quota of cgroup `path` (v1 cfs_quota_us, v2 the first field of cpu.max).
fn cpu_quota(path: &str) -> String {
    if v2() {
        let max = read(cg_dir("cpu", path).join("cpu.max"));
        max.split(' ').next().unwrap_or_default().to_owned()
    } else {
        read(cg_dir("cpu", path).join("cpu.cfs_quota_us"))
    }
}

/// A pod `name` under the cgroup parent `parent` (ours when empty).
async fn run_pod(c: &mut Client, name: &str, parent: &str) -> Pod {
    let mut config = pod_config(name);
    config.linux = Some(cri::LinuxPodSandboxConfig {
        cgroup_parent: parent.into(),
        ..Default::default()
    });
    run_pod_pair(c, config).await
}

/// Creates and starts container `name` of [`IMAGE`] running `command` with `resources`.
async fn create(
    c: &mut Client,
    pod: &Pod,
    name: &str,
    command: &[&str],
    resources: cri::LinuxContainerResources,
) -> String {
    let config = cri::ContainerConfig {
        linux: Some(cri::LinuxContainerConfig {
            resources: Some(resources),
            ..Default::default()
        }),
        ..container_config(name, IMAGE, command)
    };
    try_run(c, pod, config).await.unwrap()
}

/// ExecSync of `cmd` in `id`: its stdout, trimmed.
async fn exec(c: &mut Client, id: &str, cmd: &[&str]) -> String {
    exec_out(c, id, cmd, 10).await.1.trim().to_owned()
}

fn limits() -> cri::LinuxContainerResources {
    cri::LinuxContainerResources {
        cpu_period: 100_000,
        cpu_quota: 50_000,
        cpu_shares: 512,
        memory_limit_in_bytes: 64 << 20,
        oom_score_adj: -999,
        ..Default::default()
    }
}

#[tokio::test]
async fn limits_written_updated_reported_and_removed() {
    let Some((_d, mut c)) = busybox_daemon(IMAGE).await else {
        return;
    };
    let pod = run_pod(&mut c, "res", "").await;
    let ctr = create(&mut c, &pod, "sleeper", &["sleep", "60"], limits()).await;
    let path = format!("/sifcri/{}/{ctr}", pod.0);
    assert_eq!(memory_limit(&path), (64u64 << 20).to_string());
    assert_eq!(cpu_quota(&path), "50000");
    // oom_score_adj: clamped to what the daemon may set, never refused.
    let own = read(PathBuf::from("/proc/self/oom_score_adj"));
    let inside: i64 = exec(&mut c, &ctr, &["cat", "/proc/self/oom_score_adj"])
        .await
        .parse()
        .unwrap();
    assert!(
        inside == -999 || inside == own.parse::<i64>().unwrap(),
        "{inside}"
    );

    let mut new = limits();
    new.memory_limit_in_bytes = 96 << 20;
    new.cpu_quota = 20_000;
    let req = cri::UpdateContainerResourcesRequest {
        container_id: ctr.clone(),
        linux: Some(new.clone()),
        ..Default::default()
    };
    c.update_container_resources(req).await.unwrap();
    assert_eq!(memory_limit(&path), (96u64 << 20).to_string());
    assert_eq!(cpu_quota(&path), "20000");
    let reported = container_status(&mut c, &ctr)
        .await
        .resources
        .unwrap()
        .linux
        .unwrap();
    assert_eq!(reported.memory_limit_in_bytes, 96 << 20);
    assert_eq!(reported.cpu_quota, 20_000);

    let stats = container_stats(&mut c, &ctr).await;
    let ws = stats.memory.unwrap().working_set_bytes.unwrap().value;
    assert!(ws > 0, "memory working set from the container's cgroup");

    let bad = cri::UpdateContainerResourcesRequest {
        container_id: "nope".into(),
        linux: Some(new),
        ..Default::default()
    };
    let err = c.update_container_resources(bad).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);

    // Updated while created, before any cgroup exists: the start applies the update.
    let config = cri::ContainerConfig {
        linux: Some(cri::LinuxContainerConfig {
            resources: Some(limits()),
            ..Default::default()
        }),
        ..container_config("later", IMAGE, &["sleep", "60"])
    };
    let later = try_create(&mut c, &pod, config).await.unwrap();
    let mut newer = limits();
    newer.memory_limit_in_bytes = 80 << 20;
    let req = cri::UpdateContainerResourcesRequest {
        container_id: later.clone(),
        linux: Some(newer),
        ..Default::default()
    };
    c.update_container_resources(req).await.unwrap();
    start_container(&mut c, &later).await;
    let later_path = format!("/sifcri/{}/{later}", pod.0);
    assert_eq!(memory_limit(&later_path), (80u64 << 20).to_string());

    remove_pod(&mut c, &pod.0).await;
    let pod_dir = cg_dir("memory", &format!("/sifcri/{}", pod.0));
    assert!(!pod_dir.exists(), "{} left behind", pod_dir.display());
}

#[tokio::test]
async fn cgroup_parent_and_oom_killed() {
    let Some((_d, mut c)) = busybox_daemon(IMAGE).await else {
        return;
    };
    let parent = format!("/sifcri-test-{}/pod-oom", std::process::id());
    let pod = run_pod(&mut c, "oom", &parent).await;
    let small = cri::LinuxContainerResources {
        memory_limit_in_bytes: 32 << 20,
        memory_swap_limit_in_bytes: 32 << 20,
        ..Default::default()
    };
    // dd's buffer of 128 MiB does not fit in 32 MiB: the OOM killer ends it.
    let dd = ["dd", "if=/dev/zero", "of=/dev/null", "bs=128M", "count=1"];
    let ctr = create(&mut c, &pod, "hog", &dd, small).await;
    assert!(cg_dir("memory", &format!("{parent}/{ctr}")).exists() || v2());
    let mut s = container_status(&mut c, &ctr).await;
    for _ in 0..500 {
        if s.state == cri::ContainerState::ContainerExited as i32 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        s = container_status(&mut c, &ctr).await;
    }
    assert_eq!(s.reason, "OOMKilled", "{s:?}");
    assert_eq!(s.exit_code, 137);
    remove_pod(&mut c, &pod.0).await;
    // kubelet's parent is kubelet's to remove; the container's own cgroup is gone.
    let parent_dir = cg_dir("memory", &parent);
    assert!(!parent_dir.join(&ctr).exists());
    for ctrl in ["cpu", "cpuacct", "cpuset", "memory", "pids", ""] {
        let dir = cg_dir(ctrl, &parent);
        let _ = std::fs::remove_dir(&dir);
        let _ = std::fs::remove_dir(dir.parent().unwrap());
    }
}
