//! Containers through the real daemon: create/start/stop/remove of a busybox SIF,
//! what the container sees (env, hostname, pod DNS, user, read-only root, caps), logs
//! in the CRI format and ReopenContainerLog, ExecSync (output apart, exit code, the
//! container's env, timeout), exit codes after a daemon kill -9 and restart, and bad
//! input codes.

mod cri_common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use cri_common::{
    busybox_daemon, container_stats, container_status, log_lines, logged_pod_config, mounts_under,
    remove_container, remove_pod_only, run_pod_pair, sh_config, start_container, stop_container,
    try_create, try_exec, try_run, wait_exited, Client, Daemon, Pod,
};
use proto::cri;
use tonic::Code;

const IMAGE: &str = "localhost/busybox:test";

/// A pod `name` logging under the daemon's directory, with a cluster DNS server.
async fn run_pod(c: &mut Client, d: &Daemon, name: &str) -> Pod {
    let mut config = logged_pod_config(d, name);
    config.dns_config = Some(cri::DnsConfig {
        servers: vec!["10.96.0.10".into()],
        ..Default::default()
    });
    run_pod_pair(c, config).await
}

/// Container `name` of [`IMAGE`] running `sh -c script`, with GREETING=hello.
fn container_config(name: &str, script: &str) -> cri::ContainerConfig {
    cri::ContainerConfig {
        envs: vec![cri::KeyValue {
            key: "GREETING".into(),
            value: "hello".into(),
        }],
        ..sh_config(name, IMAGE, script)
    }
}

/// A daemon with the busybox image, its client and a pod `name`; `None` (skipped)
/// without root.
async fn daemon_and_pod(name: &str) -> Option<(Daemon, Client, Pod)> {
    let (d, mut c) = busybox_daemon(IMAGE).await?;
    let pod = run_pod(&mut c, &d, name).await;
    Some((d, c, pod))
}

/// [`daemon_and_pod`] and a started container `name` sleeping in the pod:
/// (daemon, client, pod, container id).
async fn sleeping(name: &str) -> Option<(Daemon, Client, Pod, String)> {
    let (d, mut c, pod) = daemon_and_pod(name).await?;
    let id = try_run(&mut c, &pod, container_config(name, "exec sleep 1000"))
        .await
        .unwrap();
    Some((d, c, pod, id))
}

/// A security context: user 1234, every capability dropped but NET_BIND_SERVICE.
fn user_1234_bind_only() -> cri::LinuxContainerSecurityContext {
    cri::LinuxContainerSecurityContext {
        run_as_user: Some(cri::Int64Value { value: 1234 }),
        capabilities: Some(cri::Capability {
            drop_capabilities: vec!["ALL".into()],
            add_capabilities: vec!["NET_BIND_SERVICE".into()],
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The Linux part of a container config holding only the security context `sc`.
fn with_context(sc: cri::LinuxContainerSecurityContext) -> Option<cri::LinuxContainerConfig> {
    Some(cri::LinuxContainerConfig {
        security_context: Some(sc),
        ..Default::default()
    })
}

/// RemovePodSandbox of `pod` (no StopPodSandbox first); then nothing stays mounted.
async fn remove_pod_leaving_nothing(c: &mut Client, d: &Daemon, pod: &Pod) {
    remove_pod_only(c, &pod.0).await;
    assert_eq!(mounts_under(d.dir.path()), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn container_lifecycle_logs_and_what_it_sees() {
    let Some((d, mut c, pod)) = daemon_and_pod("lc").await else {
        return;
    };
    let script =
        "echo $GREETING; hostname; cat /etc/resolv.conf; echo oops >&2; printf partial; exit 3";
    let id = try_create(&mut c, &pod, container_config("once", script))
        .await
        .unwrap();
    let s = container_status(&mut c, &id).await;
    assert_eq!(s.state, cri::ContainerState::ContainerCreated as i32);
    start_container(&mut c, &id).await;
    let s = wait_exited(&mut c, &id).await;
    assert_eq!(s.exit_code, 3);
    assert_eq!(s.reason, "Error");
    assert!(s.started_at > 0 && s.finished_at >= s.started_at);
    let log = Path::new(&s.log_path).to_owned();
    let lines = log_lines(&log);
    assert!(lines.contains(&"stdout F hello".to_string()), "{lines:?}");
    assert!(lines.contains(&"stdout F lc".to_string()), "{lines:?}");
    assert!(
        lines.contains(&"stdout F nameserver 10.96.0.10".to_string()),
        "{lines:?}"
    );
    assert!(lines.contains(&"stderr F oops".to_string()), "{lines:?}");
    assert!(lines.contains(&"stdout P partial".to_string()), "{lines:?}");
    let ts = std::fs::read_to_string(&log).unwrap();
    let first = ts
        .lines()
        .next()
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        first.len() == 30 && first.ends_with('Z'),
        "timestamp {first}"
    );

    // A long-running one: exec, reopen log, stop.
    let id2 = try_create(
        &mut c,
        &pod,
        container_config("long", "echo started; exec sleep 1000"),
    )
    .await
    .unwrap();
    start_container(&mut c, &id2).await;
    let r = try_exec(
        &mut c,
        &id2,
        &["sh", "-c", "echo $GREETING; echo err >&2; exit 7"],
        10,
    )
    .await
    .unwrap();
    assert_eq!(r.stdout, b"hello\n");
    assert_eq!(r.stderr, b"err\n");
    assert_eq!(r.exit_code, 7);
    let r = try_exec(&mut c, &id2, &["env"], 10).await.unwrap();
    let env = String::from_utf8_lossy(&r.stdout).to_string();
    assert!(!env.contains("SIFCRI_LOG"), "daemon env leaked: {env}");
    let t0 = std::time::Instant::now();
    let e = try_exec(&mut c, &id2, &["sleep", "30"], 1)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::DeadlineExceeded);
    assert!(t0.elapsed() < Duration::from_secs(10));
    let r = try_exec(
        &mut c,
        &id2,
        &["sh", "-c", "ps | grep -c '[s]leep 30' || true"],
        10,
    )
    .await
    .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&r.stdout).trim(),
        "0",
        "timed-out exec still runs"
    );

    let log2 = Path::new(&container_status(&mut c, &id2).await.log_path).to_owned();
    std::fs::rename(&log2, log2.with_extension("1")).unwrap();
    c.reopen_container_log(cri::ReopenContainerLogRequest {
        container_id: id2.clone(),
    })
    .await
    .unwrap();
    assert!(log2.exists());

    let t0 = std::time::Instant::now();
    stop_container(&mut c, &id2, 2).await;
    let s = container_status(&mut c, &id2).await;
    assert_eq!(s.state, cri::ContainerState::ContainerExited as i32);
    assert!(t0.elapsed() < Duration::from_secs(8));
    stop_container(&mut c, &id2, 2).await;

    let list = c
        .list_containers(cri::ListContainersRequest::default())
        .await
        .unwrap();
    assert_eq!(list.into_inner().containers.len(), 2);
    for cid in [&id, &id2] {
        remove_container(&mut c, cid).await;
    }
    remove_pod_leaving_nothing(&mut c, &d, &pod).await;
}

#[tokio::test]
async fn security_context_seen_from_inside() {
    let Some((_d, mut c, pod)) = daemon_and_pod("sec").await else {
        return;
    };
    let mut config = container_config(
        "sec",
        "id -u; id -g; touch /x 2>/dev/null && echo rw || echo ro; grep CapEff /proc/self/status",
    );
    config.linux = with_context(cri::LinuxContainerSecurityContext {
        run_as_group: Some(cri::Int64Value { value: 5678 }),
        readonly_rootfs: true,
        ..user_1234_bind_only()
    });
    let id = try_run(&mut c, &pod, config).await.unwrap();
    let s = wait_exited(&mut c, &id).await;
    let lines = log_lines(Path::new(&s.log_path));
    let out: Vec<&str> = lines
        .iter()
        .map(|l| l.splitn(3, ' ').nth(2).unwrap_or(""))
        .collect();
    assert_eq!(out[0], "1234", "{lines:?}");
    assert_eq!(out[1], "5678", "{lines:?}");
    assert_eq!(out[2], "ro", "{lines:?}");
    assert!(out[3].starts_with("CapEff:"), "{lines:?}");
    remove_pod_only(&mut c, &pod.0).await;
    assert!(c
        .list_containers(cri::ListContainersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .containers
        .is_empty());
}

#[tokio::test]
async fn containers_survive_a_daemon_kill_and_restart() {
    let Some((mut d, mut c, pod)) = daemon_and_pod("rs").await else {
        return;
    };
    let long = try_run(&mut c, &pod, container_config("long", "exec sleep 1000"))
        .await
        .unwrap();
    let short = try_create(
        &mut c,
        &pod,
        container_config("short", "read x < /tmp/none 2>/dev/null; sleep 1; exit 42"),
    )
    .await
    .unwrap();
    start_container(&mut c, &short).await;
    d.kill9();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    d.spawn();
    let mut c = d.client().await;
    let s = container_status(&mut c, &long).await;
    assert_eq!(s.state, cri::ContainerState::ContainerRunning as i32);
    let r = try_exec(&mut c, &long, &["echo", "alive"], 10)
        .await
        .unwrap();
    assert_eq!(r.stdout, b"alive\n");
    let s = wait_exited(&mut c, &short).await;
    assert_eq!(s.exit_code, 42);
    let req = cri::StopPodSandboxRequest {
        pod_sandbox_id: pod.0.clone(),
    };
    c.stop_pod_sandbox(req).await.unwrap();
    assert_eq!(
        container_status(&mut c, &long).await.state,
        cri::ContainerState::ContainerExited as i32
    );
    remove_pod_leaving_nothing(&mut c, &d, &pod).await;
}

/// A StartContainer the daemon died in, after it had started the monitor (`shim.pid`
/// written) but before the record said so, and whose monitor is gone: at the next
/// start the daemon settles it as a failed start (exited, 128, StartError), as it would
/// have reported the start's error; the container can be removed.
#[tokio::test]
async fn a_start_the_daemon_died_in_is_settled_at_restart() {
    let Some((mut d, mut c, pod)) = daemon_and_pod("ds").await else {
        return;
    };
    let id = try_create(&mut c, &pod, container_config("ds", "true"))
        .await
        .unwrap();
    d.kill9();
    // A monitor that ran and is gone without a trace: a pid that no longer exists.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    let dir = d.state().join("containers").join(&id);
    std::fs::write(dir.join("shim.pid"), format!("{pid}\n")).unwrap();
    d.spawn();
    let mut c = d.client().await;
    let s = container_status(&mut c, &id).await;
    assert_eq!(s.state, cri::ContainerState::ContainerExited as i32);
    assert_eq!((s.exit_code, s.reason.as_str()), (128, "StartError"));
    assert!(s.message.contains("daemon stopped"), "{}", s.message);
    assert!(s.finished_at > 0, "{s:?}");
    remove_pod_leaving_nothing(&mut c, &d, &pod).await;
}

#[tokio::test]
async fn container_bad_input_gets_the_right_codes() {
    let Some((d, mut c, pod)) = daemon_and_pod("bad").await else {
        return;
    };
    let mut missing = container_config("img", "true");
    missing.image = Some(cri::ImageSpec {
        image: "localhost/nope:1".into(),
        ..Default::default()
    });
    assert_eq!(
        try_create(&mut c, &pod, missing).await.unwrap_err().code(),
        Code::NotFound
    );
    let mut no_meta = container_config("x", "true");
    no_meta.metadata = None;
    assert_eq!(
        try_create(&mut c, &pod, no_meta).await.unwrap_err().code(),
        Code::InvalidArgument
    );
    let ghost = ("0".repeat(64), pod.1.clone());
    assert_eq!(
        try_create(&mut c, &ghost, container_config("g", "true"))
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    let id = try_create(&mut c, &pod, container_config("dup", "true"))
        .await
        .unwrap();
    assert_eq!(
        try_create(&mut c, &pod, container_config("dup", "true"))
            .await
            .unwrap_err()
            .code(),
        Code::AlreadyExists
    );
    let unknown = "f".repeat(64);
    let req = cri::ContainerStatusRequest {
        container_id: unknown.clone(),
        verbose: false,
    };
    assert_eq!(
        c.container_status(req).await.unwrap_err().code(),
        Code::NotFound
    );
    stop_container(&mut c, &unknown, 0).await;
    remove_container(&mut c, &unknown).await;
    assert_eq!(
        try_exec(&mut c, &id, &["true"], 5)
            .await
            .unwrap_err()
            .code(),
        Code::FailedPrecondition
    );
    remove_pod_leaving_nothing(&mut c, &d, &pod).await;
}

#[tokio::test]
async fn stats_and_the_image_service() {
    let Some((d, mut c)) = busybox_daemon(IMAGE).await else {
        return;
    };
    let mut images = proto::cri::image_service_client::ImageServiceClient::new(
        cri_common::channel(&d.socket()).await,
    );
    let list = images
        .list_images(cri::ListImagesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .images;
    assert!(
        list.iter().any(|i| i.repo_tags.iter().any(|t| t == IMAGE)),
        "{list:?}"
    );
    let pod = run_pod(&mut c, &d, "st").await;
    let script =
        "dd if=/dev/zero of=/big bs=1024 count=256 2>/dev/null; echo ready; exec sleep 1000";
    let id = try_run(&mut c, &pod, container_config("st", script))
        .await
        .unwrap();
    let log = PathBuf::from(container_status(&mut c, &id).await.log_path);
    for _ in 0..500 {
        if log_lines(&log).iter().any(|l| l.ends_with("ready")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let s = container_stats(&mut c, &id).await;
    let layer = s.writable_layer.unwrap();
    assert!(layer.used_bytes.unwrap().value >= 256 * 1024, "{layer:?}");
    assert!(layer.inodes_used.unwrap().value >= 1);
    assert!(s.memory.unwrap().working_set_bytes.is_some());
    assert!(s.cpu.unwrap().usage_core_nano_seconds.is_some());
    let f = cri::ContainerStatsFilter {
        pod_sandbox_id: pod.0.clone(),
        ..Default::default()
    };
    let req = cri::ListContainerStatsRequest { filter: Some(f) };
    let all = c
        .list_container_stats(req)
        .await
        .unwrap()
        .into_inner()
        .stats;
    assert_eq!(all.len(), 1);
    let req = cri::PodSandboxStatsRequest {
        pod_sandbox_id: pod.0.clone(),
    };
    let ps = c
        .pod_sandbox_stats(req)
        .await
        .unwrap()
        .into_inner()
        .stats
        .unwrap();
    assert_eq!(ps.linux.unwrap().containers.len(), 1);
    let req = cri::ListPodSandboxStatsRequest::default();
    let all = c
        .list_pod_sandbox_stats(req)
        .await
        .unwrap()
        .into_inner()
        .stats;
    assert_eq!(all.len(), 1);
    let req = cri::ContainerStatsRequest {
        container_id: "e".repeat(64),
    };
    assert_eq!(
        c.container_stats(req).await.unwrap_err().code(),
        Code::NotFound
    );
    remove_pod_leaving_nothing(&mut c, &d, &pod).await;
}

#[tokio::test]
async fn a_container_whose_monitor_died_is_reported_exited() {
    let Some((d, mut c, pod, id)) = sleeping("lost").await else {
        return;
    };
    let dir = d.state().join("containers").join(&id);
    let shim: i32 = std::fs::read_to_string(dir.join("shim.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let req = cri::ContainerStatusRequest {
        container_id: id.clone(),
        verbose: true,
    };
    let info = c.container_status(req).await.unwrap().into_inner().info;
    let v: serde_json::Value = serde_json::from_str(&info["info"]).unwrap();
    let init = v["pid"].as_i64().unwrap() as i32;
    for pid in [init, shim] {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
    }
    let s = wait_exited(&mut c, &id).await;
    assert_eq!(s.exit_code, 255);
    remove_pod_leaving_nothing(&mut c, &d, &pod).await;
}

#[tokio::test]
async fn exec_joins_the_container_as_its_process() {
    let Some((d, mut c, pod)) = daemon_and_pod("ej").await else {
        return;
    };
    let mut config = container_config("ej", "exec sleep 4242");
    config.linux = with_context(user_1234_bind_only());
    let id = try_run(&mut c, &pod, config).await.unwrap();
    // The exec'd shell and the container's own process, seen from inside: the same
    // namespaces, cgroups, user and capabilities. (The container's shell may not have
    // become `sleep` yet when the exec starts: wait for it.)
    let script = "until p=$(pidof sleep); do sleep 0.02; done; cd /proc/self; \
                  for f in ns/mnt ns/net ns/pid ns/ipc ns/uts ns/user ns/cgroup; do \
                  [ \"$(readlink $f)\" = \"$(readlink /proc/$p/$f)\" ] || echo \"differs: $f\"; done; \
                  cmp -s cgroup /proc/$p/cgroup || echo 'differs: cgroup'; \
                  a=$(grep -E '^(Uid|Gid|Cap|NoNewPrivs|Seccomp)' status); b=$(grep -E '^(Uid|Gid|Cap|NoNewPrivs|Seccomp)' /proc/$p/status); \
                  [ \"$a\" = \"$b\" ] || echo \"differs: $a / $b\"; \
                  id -u; pwd -P >/dev/null; echo done";
    let r = try_exec(&mut c, &id, &["sh", "-c", script], 10)
        .await
        .unwrap();
    let out = String::from_utf8_lossy(&r.stdout);
    assert_eq!(
        out,
        "1234\ndone\n",
        "stderr: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert_eq!(r.exit_code, 0);
    // A program that is not there: 127 and a message, the container unaffected.
    let r = try_exec(&mut c, &id, &["no-such-program"], 10)
        .await
        .unwrap();
    assert_eq!(r.exit_code, 127);
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("not found"), "{err}");
    let r = try_exec(&mut c, &id, &["/bin/echo", "still", "here"], 10)
        .await
        .unwrap();
    assert_eq!((r.exit_code, &r.stdout[..]), (0, &b"still here\n"[..]));
    remove_pod_leaving_nothing(&mut c, &d, &pod).await;
}

#[tokio::test]
async fn a_long_exec_does_not_hold_up_another() {
    let Some((d, mut c, pod, id)) = sleeping("ex2").await else {
        return;
    };
    // Several long execs at once, then short ones beside them: each short one answers
    // at once, each long one ends with its own exit code.
    let mut long = Vec::new();
    for _ in 0..3 {
        let mut c2 = d.client().await;
        let id2 = id.clone();
        long.push(tokio::spawn(async move {
            try_exec(&mut c2, &id2, &["sleep", "6"], 20).await
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for i in 0..5 {
        let t0 = std::time::Instant::now();
        let r = try_exec(&mut c, &id, &["echo", &i.to_string()], 10)
            .await
            .unwrap();
        assert_eq!(r.stdout, format!("{i}\n").into_bytes());
        assert!(
            t0.elapsed() < Duration::from_secs(4),
            "short exec waited {:?}",
            t0.elapsed()
        );
    }
    for l in long {
        assert_eq!(l.await.unwrap().unwrap().exit_code, 0);
    }
    remove_pod_leaving_nothing(&mut c, &d, &pod).await;
}
