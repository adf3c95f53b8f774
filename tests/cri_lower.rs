//! One FUSE mount per image, shared by all its containers, reference counted under
//! `STATE/lowers/` (issue 5, item 4): two containers of one image share exactly one
//! FUSE mount and see the same files but their own writes; removing one keeps the
//! other working; a daemon kill -9 + restart keeps the count; a lower whose server died
//! is replaced for new containers and stale references are dropped at restart; a failed
//! create and the last removal leave no mount and no lower directory behind; the same
//! sharing under the unprivileged daemon (as `sifcri-test`, in its keeper's namespace).

mod cri_common;
mod rootless_common;

use std::path::{Path, PathBuf};

use cri_common::{
    busybox_daemon, busybox_image, container_config, exec_out, pod_config, remove_container,
    require_root, run_pod_pair, stop_container, try_run, Client, Daemon, Pod,
};
use proto::cri;

const IMAGE: &str = "localhost/busybox:lower";

/// The sifcri FUSE mounts under `dir` in the mount namespace of `pid` ("self": ours).
pub fn fuse_mounts(pid: &str, dir: &Path) -> Vec<PathBuf> {
    let info = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap_or_default();
    info.lines()
        .filter(|l| {
            let fstype = l.split(" - ").nth(1).and_then(|t| t.split(' ').next());
            fstype == Some("fuse.sifcri")
        })
        .filter_map(|l| l.split(' ').nth(4).map(PathBuf::from))
        .filter(|p| p.starts_with(dir))
        .collect()
}

/// The image directories under `STATE/lowers`.
pub fn lower_dirs(state: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(state.join("lowers"))
        .map(|r| {
            r.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default()
}

/// The container ids referencing the one lower under `state`.
fn refs(state: &Path) -> Vec<String> {
    let dirs = lower_dirs(state);
    assert_eq!(dirs.len(), 1, "lowers: {dirs:?}");
    let mut ids: Vec<String> = std::fs::read_dir(dirs[0].join("refs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    ids
}

/// A pod named `name`: (its id, its config).
async fn run_pod(c: &mut Client, name: &str) -> Pod {
    run_pod_pair(c, pod_config(name)).await
}

/// Creates and starts container `name` (sleeping) of [`IMAGE`] in `pod`.
async fn run_container(c: &mut Client, pod: &Pod, name: &str) -> Result<String, tonic::Status> {
    run_image(c, pod, name, IMAGE).await
}

/// Creates and starts container `name` (sleeping) of `image` in `pod`.
async fn run_image(
    c: &mut Client,
    pod: &Pod,
    name: &str,
    image: &str,
) -> Result<String, tonic::Status> {
    try_run(c, pod, container_config(name, image, &["sleep", "600"])).await
}

/// ExecSync of `cmd`: (exit code, stdout).
async fn exec(c: &mut Client, id: &str, cmd: &[&str]) -> (i32, String) {
    exec_out(c, id, cmd, 20).await
}

async fn remove(c: &mut Client, id: &str) {
    stop_container(c, id, 0).await;
    remove_container(c, id).await;
}

/// The pid of the FUSE server of the lower the container `id`'s monitor mounted (it
/// was forked from that monitor, so its command line names the container).
fn lower_server(id: &str) -> Option<i32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: i32 = e.file_name().to_str()?.parse().ok()?;
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        (comm.trim_end() == "sifcri-lower" && String::from_utf8_lossy(&cmdline).contains(id))
            .then_some(pid)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_of_one_image_share_one_fuse_mount() {
    let Some((mut d, mut c)) = busybox_daemon(IMAGE).await else {
        return;
    };
    let pod = run_pod(&mut c, "lower").await;
    let a = run_container(&mut c, &pod, "a").await.unwrap();
    let b = run_container(&mut c, &pod, "b").await.unwrap();
    let top = d.dir.path().to_owned();
    assert_eq!(fuse_mounts("self", &top).len(), 1, "{}", d.log());
    assert_eq!(fuse_mounts("self", &d.state().join("lowers")).len(), 1);
    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    assert_eq!(refs(&d.state()), both);
    let passwd = exec(&mut c, &a, &["cat", "/etc/passwd"]).await;
    assert_eq!(passwd, exec(&mut c, &b, &["cat", "/etc/passwd"]).await);
    assert!(passwd.1.starts_with("root:x:0:0"), "{passwd:?}");
    assert_eq!(
        exec(&mut c, &a, &["sh", "-c", "echo a > /etc/mine"])
            .await
            .0,
        0
    );
    assert_eq!(exec(&mut c, &b, &["cat", "/etc/mine"]).await.0, 1);

    d.kill9();
    d.spawn();
    let mut c = d.client().await;
    assert_eq!(fuse_mounts("self", &top).len(), 1);
    assert_eq!(refs(&d.state()), both);
    remove(&mut c, &a).await;
    assert_eq!(refs(&d.state()), vec![b.clone()]);
    assert_eq!(exec(&mut c, &b, &["cat", "/etc/passwd"]).await, passwd);
    let third = run_container(&mut c, &pod, "c").await.unwrap();
    assert_eq!(fuse_mounts("self", &top).len(), 1);
    assert_eq!(exec(&mut c, &third, &["cat", "/etc/mine"]).await.0, 1);
    remove(&mut c, &b).await;
    remove(&mut c, &third).await;
    assert_eq!(fuse_mounts("self", &top), Vec::<PathBuf>::new());
    assert_eq!(lower_dirs(&d.state()), Vec::<PathBuf>::new());
}

/// With `[image_mounts] linger`, the last container's removal leaves the lower mounted
/// (same server) for the next container of the image; the sweeper unmounts it once it
/// has been unused that long, and a daemon shutdown unmounts an unused one at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unused_lower_lingers_then_goes() {
    if !require_root() {
        return;
    }
    let mut d = Daemon::start_with(&[], "[image_mounts]\nlinger = \"2s\"\n");
    busybox_image(&d, IMAGE);
    let mut c = d.client().await;
    let pod = run_pod(&mut c, "linger").await;
    let top = d.dir.path().to_owned();
    let a = run_container(&mut c, &pod, "a").await.unwrap();
    let server = lower_server(&a).expect("the lower's server");
    remove(&mut c, &a).await;
    assert_eq!(
        fuse_mounts("self", &top).len(),
        1,
        "kept after its last container"
    );
    let b = run_container(&mut c, &pod, "b").await.unwrap();
    assert_eq!(
        lower_server(&a),
        Some(server),
        "the same server serves the next one"
    );
    assert_eq!(exec(&mut c, &b, &["cat", "/etc/group"]).await.0, 0);
    remove(&mut c, &b).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !lower_dirs(&d.state()).is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        lower_dirs(&d.state()),
        Vec::<PathBuf>::new(),
        "swept: {}",
        d.log()
    );
    assert_eq!(fuse_mounts("self", &top), Vec::<PathBuf>::new());

    // Unused at shutdown: unmounted by the daemon on its way out.
    let e = run_container(&mut c, &pod, "e").await.unwrap();
    remove(&mut c, &e).await;
    assert_eq!(fuse_mounts("self", &top).len(), 1);
    d.terminate();
    assert_eq!(
        fuse_mounts("self", &top),
        Vec::<PathBuf>::new(),
        "{}",
        d.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_lower_is_replaced_and_stale_references_are_dropped() {
    let Some((mut d, mut c)) = busybox_daemon(IMAGE).await else {
        return;
    };
    let pod = run_pod(&mut c, "dead").await;
    let a = run_container(&mut c, &pod, "a").await.unwrap();
    let server = lower_server(&a).expect("no sifcri-lower process");
    let kill = nix::sys::signal::kill;
    kill(
        nix::unistd::Pid::from_raw(server),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    d.kill9();
    let stale = lower_dirs(&d.state())[0].join("refs/0123abcd");
    std::fs::write(&stale, "").unwrap();
    d.spawn();
    assert!(!stale.exists(), "stale reference kept: {}", d.log());
    let mut c = d.client().await;
    let b = run_container(&mut c, &pod, "b").await.unwrap();
    let (code, passwd) = exec(&mut c, &b, &["cat", "/etc/passwd"]).await;
    assert!(
        code == 0 && passwd.starts_with("root:x:0:0"),
        "{code} {passwd}"
    );
    assert_eq!(fuse_mounts("self", d.dir.path()).len(), 1);
    remove(&mut c, &a).await;
    remove(&mut c, &b).await;
    assert_eq!(fuse_mounts("self", d.dir.path()), Vec::<PathBuf>::new());
    assert_eq!(lower_dirs(&d.state()), Vec::<PathBuf>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_start_keeps_its_reference_until_removed() {
    let Some((d, mut c)) = busybox_daemon(IMAGE).await else {
        return;
    };
    let pod = run_pod(&mut c, "fail").await;
    let config = |name: &str, command: &str, host_path: &str| cri::ContainerConfig {
        metadata: Some(cri::ContainerMetadata {
            name: name.into(),
            attempt: 0,
        }),
        image: Some(cri::ImageSpec {
            image: IMAGE.into(),
            ..Default::default()
        }),
        command: vec![command.into()],
        mounts: vec![cri::Mount {
            container_path: "/data".into(),
            host_path: host_path.into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let request = |config| cri::CreateContainerRequest {
        pod_sandbox_id: pod.0.clone(),
        config: Some(config),
        sandbox_config: Some(pod.1.clone()),
    };
    // A missing bind mount source is refused at create, before any reference is taken.
    let missing = config("bad", "true", "/nonexistent/sifcri-lower-test");
    let err = c.create_container(request(missing)).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition, "{err:?}");
    assert!(err.message().starts_with("create container:"), "{err:?}");
    assert_eq!(lower_dirs(&d.state()), Vec::<PathBuf>::new());

    // A program the image lacks is refused by the monitor at start, after it mounted the
    // lower: the container is then exited (StartError) and keeps its reference until
    // it is removed.
    let host = d.dir.path().join("data");
    std::fs::create_dir(&host).unwrap();
    let absent = config("absent", "/no/such/program", &host.display().to_string());
    let id = c
        .create_container(request(absent))
        .await
        .unwrap()
        .into_inner()
        .container_id;
    let req = cri::StartContainerRequest {
        container_id: id.clone(),
    };
    let err = c.start_container(req).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition, "{err:?}");
    assert!(err.message().starts_with("start container:"), "{err:?}");
    let req = cri::ContainerStatusRequest {
        container_id: id.clone(),
        verbose: false,
    };
    let status = c.container_status(req).await.unwrap().into_inner();
    let status = status.status.unwrap();
    assert_eq!(status.state, cri::ContainerState::ContainerExited as i32);
    assert_eq!(
        (status.exit_code, status.reason.as_str()),
        (128, "StartError")
    );
    assert!(status.message.contains("/no/such/program"), "{status:?}");
    assert_eq!(refs(&d.state()).len(), 1);
    remove(&mut c, &id).await;
    assert_eq!(fuse_mounts("self", d.dir.path()), Vec::<PathBuf>::new());
    assert_eq!(lower_dirs(&d.state()), Vec::<PathBuf>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_daemon_containers_share_one_lower() {
    if !rootless_common::require_user() {
        return;
    }
    let image = "localhost/busybox-user:lower";
    let mut d = rootless_common::UserDaemon::start("");
    rootless_common::busybox_image(&d, image, |_| {});
    let keeper = d.keeper().expect("no keeper").to_string();
    let mut c = d.client().await;
    let config = rootless_common::pod_config(&d, "ulower");
    let req = cri::RunPodSandboxRequest {
        config: Some(config.clone()),
        runtime_handler: String::new(),
    };
    let pod = c.run_pod_sandbox(req).await.unwrap().into_inner();
    let pod = (pod.pod_sandbox_id, config);
    let a = run_image(&mut c, &pod, "a", image).await.unwrap();
    let b = run_image(&mut c, &pod, "b", image).await.unwrap();
    assert_eq!(fuse_mounts(&keeper, &d.state()).len(), 1, "{}", d.log());
    assert_eq!(refs(&d.state()).len(), 2);
    let motd = exec(&mut c, &a, &["cat", "/etc/motd"]).await;
    assert_eq!(motd, (0, "hello-from-the-image\n".to_owned()));
    assert_eq!(exec(&mut c, &b, &["cat", "/etc/motd"]).await, motd);
    remove(&mut c, &a).await;
    assert_eq!(exec(&mut c, &b, &["cat", "/etc/motd"]).await, motd);
    remove(&mut c, &b).await;
    assert_eq!(fuse_mounts(&keeper, &d.state()), Vec::<PathBuf>::new());
    assert_eq!(lower_dirs(&d.state()), Vec::<PathBuf>::new());
    let req = cri::StopPodSandboxRequest {
        pod_sandbox_id: pod.0.clone(),
    };
    c.stop_pod_sandbox(req).await.unwrap();
    let req = cri::RemovePodSandboxRequest {
        pod_sandbox_id: pod.0,
    };
    c.remove_pod_sandbox(req).await.unwrap();
    let left = d.shutdown();
    assert!(left.is_empty(), "processes left: {left:?}");
}
