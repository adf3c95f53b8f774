//! Pod sandboxes through the real daemon: lifecycle, namespaces and hostname seen from
//! inside, DNS and sysctls, list filters, bad input codes, restart after `kill -9`,
//! and 20 pods run and removed concurrently, each with a container of one image (one
//! shared FUSE lower), with a leak check (mounts, lowers, state, records).

mod cri_common;

use std::process::Command;

use cri_common::{
    busybox_image, container_config, mounts_under, pod_config, remove_pod_only, require_root,
    run_container, Daemon,
};
use proto::cri;
use tonic::Code;

fn pod_dir(d: &Daemon, id: &str) -> std::path::PathBuf {
    d.state().join("pods").join(id)
}

fn in_ns(d: &Daemon, id: &str, kinds: &[&str], cmd: &[&str]) -> String {
    let mut c = Command::new("nsenter");
    for k in kinds {
        c.arg(format!(
            "--{k}={}",
            pod_dir(d, id).join(format!("ns-{k}")).display()
        ));
    }
    let out = c.arg("--").args(cmd).output().unwrap();
    assert!(out.status.success(), "{:?}", out);
    String::from_utf8(out.stdout).unwrap()
}

async fn run(c: &mut cri_common::Client, config: cri::PodSandboxConfig) -> String {
    cri_common::run_pod(c, &config).await
}

async fn status(c: &mut cri_common::Client, id: &str) -> Result<cri::PodSandboxStatus, Code> {
    let req = cri::PodSandboxStatusRequest {
        pod_sandbox_id: id.into(),
        verbose: true,
    };
    match c.pod_sandbox_status(req).await {
        Ok(r) => Ok(r.into_inner().status.unwrap()),
        Err(s) => Err(s.code()),
    }
}

async fn stop(c: &mut cri_common::Client, id: &str) {
    let req = cri::StopPodSandboxRequest {
        pod_sandbox_id: id.into(),
    };
    c.stop_pod_sandbox(req).await.unwrap();
}

async fn list(c: &mut cri_common::Client, f: cri::PodSandboxFilter) -> Vec<String> {
    let req = cri::ListPodSandboxRequest { filter: Some(f) };
    let items = c.list_pod_sandbox(req).await.unwrap().into_inner().items;
    items.into_iter().map(|p| p.id).collect()
}

#[tokio::test]
async fn lifecycle_namespaces_dns_and_sysctls() {
    if !require_root() {
        return;
    }
    let d = Daemon::start();
    let mut c = d.client().await;
    let mut config = pod_config("web");
    config.labels.insert("app".into(), "web".into());
    config.dns_config = Some(cri::DnsConfig {
        servers: vec!["10.96.0.10".into()],
        searches: vec!["test.svc.cluster.local".into()],
        options: vec!["ndots:5".into()],
    });
    let mut linux = cri::LinuxPodSandboxConfig::default();
    linux
        .sysctls
        .insert("net.ipv4.ip_unprivileged_port_start".into(), "80".into());
    linux
        .sysctls
        .insert("kernel.shm_rmid_forced".into(), "1".into());
    config.linux = Some(linux);
    let id = run(&mut c, config).await;
    assert_eq!(id.len(), 64);

    let s = status(&mut c, &id).await.unwrap();
    assert_eq!(s.state, cri::PodSandboxState::SandboxReady as i32);
    assert_eq!(s.metadata.unwrap().name, "web");
    assert_eq!(in_ns(&d, &id, &["uts"], &["hostname"]).trim(), "web");
    let port = "/proc/sys/net/ipv4/ip_unprivileged_port_start";
    assert_eq!(in_ns(&d, &id, &["net"], &["cat", port]).trim(), "80");
    let shm = "/proc/sys/kernel/shm_rmid_forced";
    assert_eq!(in_ns(&d, &id, &["ipc"], &["cat", shm]).trim(), "1");
    let host_ns = std::fs::read_link("/proc/self/ns/net").unwrap();
    let pod_ns = in_ns(&d, &id, &["net"], &["readlink", "/proc/self/ns/net"]);
    assert_ne!(
        pod_ns.trim(),
        host_ns.to_str().unwrap(),
        "pod shares the host netns"
    );
    let resolv = std::fs::read_to_string(pod_dir(&d, &id).join("resolv.conf")).unwrap();
    assert!(resolv.contains("nameserver 10.96.0.10"), "{resolv}");
    assert!(resolv.contains("search test.svc.cluster.local"), "{resolv}");

    let other = run(&mut c, pod_config("db")).await;
    let by_label = cri::PodSandboxFilter {
        label_selector: [("app".to_string(), "web".to_string())].into(),
        ..Default::default()
    };
    assert_eq!(list(&mut c, by_label).await, vec![id.clone()]);
    let by_prefix = cri::PodSandboxFilter {
        id: other[..12].into(),
        ..Default::default()
    };
    assert_eq!(list(&mut c, by_prefix).await, vec![other.clone()]);

    stop(&mut c, &id).await;
    stop(&mut c, &id).await;
    let s = status(&mut c, &id).await.unwrap();
    assert_eq!(s.state, cri::PodSandboxState::SandboxNotready as i32);
    assert!(!pod_dir(&d, &id).join("ns-net").exists());
    let ready = cri::PodSandboxFilter {
        state: Some(cri::PodSandboxStateValue {
            state: cri::PodSandboxState::SandboxReady as i32,
        }),
        ..Default::default()
    };
    assert_eq!(list(&mut c, ready).await, vec![other.clone()]);
    for p in [&id, &other] {
        remove_pod_only(&mut c, p).await;
        remove_pod_only(&mut c, p).await;
        assert_eq!(status(&mut c, p).await.unwrap_err(), Code::NotFound);
    }
    assert_no_leftovers(&d);
}

#[tokio::test]
async fn host_network_pod_shares_the_host_namespaces() {
    if !require_root() {
        return;
    }
    let d = Daemon::start();
    let mut c = d.client().await;
    let mut config = pod_config("hostnet");
    let options = cri::NamespaceOption {
        network: cri::NamespaceMode::Node as i32,
        ipc: cri::NamespaceMode::Node as i32,
        ..Default::default()
    };
    config.linux = Some(cri::LinuxPodSandboxConfig {
        security_context: Some(cri::LinuxSandboxSecurityContext {
            namespace_options: Some(options),
            ..Default::default()
        }),
        ..Default::default()
    });
    let id = run(&mut c, config).await;
    assert!(!pod_dir(&d, &id).join("ns-net").exists());
    let s = status(&mut c, &id).await.unwrap();
    let opts = s.linux.unwrap().namespaces.unwrap().options.unwrap();
    assert_eq!(opts.network, cri::NamespaceMode::Node as i32);
    remove_pod_only(&mut c, &id).await;
    assert_no_leftovers(&d);
}

#[tokio::test]
async fn bad_input_gets_the_right_codes() {
    if !require_root() {
        return;
    }
    let d = Daemon::start();
    let mut c = d.client().await;
    let no_meta = cri::RunPodSandboxRequest {
        config: Some(cri::PodSandboxConfig::default()),
        runtime_handler: String::new(),
    };
    let e = c.run_pod_sandbox(no_meta).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    let mut no_uid = pod_config("x");
    no_uid.metadata.as_mut().unwrap().uid.clear();
    let req = cri::RunPodSandboxRequest {
        config: Some(no_uid),
        runtime_handler: String::new(),
    };
    assert_eq!(
        c.run_pod_sandbox(req).await.unwrap_err().code(),
        Code::InvalidArgument
    );
    let bad_sysctl = {
        let mut p = pod_config("sys");
        let mut linux = cri::LinuxPodSandboxConfig::default();
        linux.sysctls.insert("../../etc/x".into(), "1".into());
        p.linux = Some(linux);
        p
    };
    let req = cri::RunPodSandboxRequest {
        config: Some(bad_sysctl),
        runtime_handler: String::new(),
    };
    assert_eq!(
        c.run_pod_sandbox(req).await.unwrap_err().code(),
        Code::InvalidArgument
    );
    let id = run(&mut c, pod_config("dup")).await;
    let dup = cri::RunPodSandboxRequest {
        config: Some(pod_config("dup")),
        runtime_handler: String::new(),
    };
    let e = c.run_pod_sandbox(dup).await.unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists, "{e:?}");
    let unknown = "0".repeat(64);
    assert_eq!(status(&mut c, &unknown).await.unwrap_err(), Code::NotFound);
    stop(&mut c, &unknown).await;
    remove_pod_only(&mut c, &unknown).await;
    let empty = cri::PodSandboxStatusRequest::default();
    let e = c.pod_sandbox_status(empty).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    remove_pod_only(&mut c, &id).await;
    assert_no_leftovers(&d);
}

#[tokio::test]
async fn pods_survive_a_daemon_kill_and_restart() {
    if !require_root() {
        return;
    }
    let mut d = Daemon::start();
    let mut c = d.client().await;
    let ready = run(&mut c, pod_config("ready")).await;
    let stopped = run(&mut c, pod_config("stopped")).await;
    stop(&mut c, &stopped).await;
    d.kill9();
    d.spawn();
    let mut c = d.client().await;
    let s = status(&mut c, &ready).await.unwrap();
    assert_eq!(s.state, cri::PodSandboxState::SandboxReady as i32);
    assert_eq!(in_ns(&d, &ready, &["uts"], &["hostname"]).trim(), "ready");
    let s = status(&mut c, &stopped).await.unwrap();
    assert_eq!(s.state, cri::PodSandboxState::SandboxNotready as i32);
    let all = list(&mut c, cri::PodSandboxFilter::default()).await;
    assert_eq!(all.len(), 2);
    for p in [&ready, &stopped] {
        remove_pod_only(&mut c, p).await;
    }
    assert_no_leftovers(&d);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_pods_concurrently_leave_nothing_behind() {
    if !require_root() {
        return;
    }
    let d = Daemon::start();
    busybox_image(&d, "localhost/busybox:pods");
    let mut tasks = Vec::new();
    for i in 0..20 {
        let mut c = d.client().await;
        tasks.push(tokio::spawn(async move {
            let config = pod_config(&format!("p{i}"));
            let id = run(&mut c, config.clone()).await;
            let container = sleeper(&mut c, &id, config).await;
            (c, id, container)
        }));
    }
    let mut pods = Vec::new();
    for t in tasks {
        pods.push(t.await.unwrap());
    }
    let lowers = d.state().join("lowers");
    let fuse = |d: &Daemon| {
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let under = d.dir.path().display().to_string();
        info.lines()
            .filter(|l| l.contains(" - fuse.sifcri ") && l.contains(&under))
            .count()
    };
    assert_eq!(
        fuse(&d),
        1,
        "one FUSE mount for the 20 containers of one image"
    );
    let refs = std::fs::read_dir(&lowers).unwrap().flatten();
    let refs: usize = refs
        .filter(|e| e.path().is_dir())
        .map(|e| std::fs::read_dir(e.path().join("refs")).unwrap().count())
        .sum();
    assert_eq!(refs, 20);
    let mut tasks = Vec::new();
    for (mut c, id, _) in pods {
        tasks.push(tokio::spawn(async move {
            stop(&mut c, &id).await;
            remove_pod_only(&mut c, &id).await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut c = d.client().await;
    assert!(list(&mut c, cri::PodSandboxFilter::default())
        .await
        .is_empty());
    assert_eq!(fuse(&d), 0);
    assert_no_leftovers(&d);
}

/// Creates and starts a container sleeping in pod `id`; returns its id.
async fn sleeper(c: &mut cri_common::Client, id: &str, pod: cri::PodSandboxConfig) -> String {
    let config = container_config("sleeper", "localhost/busybox:pods", &["sleep", "600"]);
    run_container(c, id, &pod, config).await
}

fn assert_no_leftovers(d: &Daemon) {
    assert_eq!(mounts_under(d.dir.path()), Vec::<std::path::PathBuf>::new());
    let pods = d.state().join("pods");
    let left: Vec<_> = std::fs::read_dir(&pods)
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left in state: {left:?}");
    let records: Vec<_> = std::fs::read_dir(d.root().join("pods"))
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(records.is_empty(), "records left: {records:?}");
    let lowers: Vec<_> = std::fs::read_dir(d.state().join("lowers"))
        .map(|r| {
            r.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    assert!(lowers.is_empty(), "shared lowers left: {lowers:?}");
    let containers: Vec<_> = std::fs::read_dir(d.state().join("containers"))
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(containers.is_empty(), "containers left: {containers:?}");
}
