//! What a daemon started by the ordinary user `sifcri-test` lets its containers do must
//! not reach beyond that user's own files: a CRI mount of /etc/shadow, a symlink in the
//! image pointing out of the rootfs used as a mount target and written through, and
//! device nodes made with mknod (also in a privileged container) — each refused.

mod rootless_common;

use std::os::unix::fs::PermissionsExt;

use proto::cri;
use rootless_common::{
    busybox_image, container_config, exec_sh, pod_config, require_user, try_run, try_run_pod,
    Client, UserDaemon, TEST_USER,
};

const IMAGE: &str = "localhost/busybox-sec:latest";

/// Runs a pod with one container; Err if any step is refused.
async fn try_pod(
    d: &UserDaemon,
    c: &mut Client,
    name: &str,
    script: &str,
    mounts: Vec<cri::Mount>,
    privileged: bool,
) -> Result<String, tonic::Status> {
    let mut pod = pod_config(d, name);
    if privileged {
        pod.linux = Some(cri::LinuxPodSandboxConfig {
            security_context: Some(cri::LinuxSandboxSecurityContext {
                privileged: true,
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    let config = cri::ContainerConfig {
        mounts,
        linux: privileged.then(|| cri::LinuxContainerConfig {
            security_context: Some(cri::LinuxContainerSecurityContext {
                privileged: true,
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..container_config("main", IMAGE, &["sh", "-c", script])
    };
    let pod_id = try_run_pod(c, &pod).await?;
    try_run(c, &(pod_id, pod), config).await
}

async fn exec(c: &mut Client, id: &str, script: &str) -> (i32, String) {
    exec_sh(c, id, script, 20).await
}

fn bind(container: &str, host: &std::path::Path) -> cri::Mount {
    cri::Mount {
        container_path: container.into(),
        host_path: host.to_string_lossy().into_owned(),
        ..Default::default()
    }
}

#[tokio::test]
async fn user_daemon_refuses_shadow_escapes_and_device_nodes() {
    if !require_user() {
        return;
    }
    let mut d = UserDaemon::start("");
    // A directory of the user's own, outside every rootfs, that must stay empty.
    let outside = d.dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o777)).unwrap();
    let target = outside.clone();
    busybox_image(&d, IMAGE, move |rootfs| {
        std::os::unix::fs::symlink(&target, rootfs.join("escape")).unwrap();
    });
    let mut c = d.client().await;
    let shadow = std::fs::read_to_string("/etc/shadow").unwrap_or_default();
    let secret = shadow.lines().next().unwrap_or("root:").to_owned();

    // 1. /etc/shadow bind-mounted in: refused at create, or unreadable inside.
    let shadow_mount = vec![bind("/shadow", std::path::Path::new("/etc/shadow"))];
    match try_pod(&d, &mut c, "shadow", "exec sleep 600", shadow_mount, false).await {
        Err(e) => eprintln!("shadow mount refused at create: {e}"),
        Ok(id) => {
            let (code, out) = exec(&mut c, &id, "cat /shadow").await;
            assert!(
                code != 0 && !out.contains(&secret),
                "read /etc/shadow: {code} {out}"
            );
        }
    }

    // 2. The image's /escape -> OUTSIDE used as a mount target and written through.
    let src = d.dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let script = "echo x > /escape/file; mkdir -p /escape/dir; exec sleep 600";
    let escape = vec![bind("/escape/sub", &src)];
    match try_pod(&d, &mut c, "escape", script, escape, false).await {
        Err(e) => eprintln!("escape mount refused at create: {e}"),
        Ok(id) => {
            let (code, out) = exec(&mut c, &id, "ls /escape").await;
            assert_eq!(code, 0, "{out}");
        }
    }
    let left: Vec<_> = std::fs::read_dir(&outside)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "written outside the rootfs: {left:?}");

    // 3. Device nodes: refused in a plain and in a privileged container.
    for (name, privileged) in [("mknod", false), ("mknod-priv", true)] {
        let script = "exec sleep 600";
        match try_pod(&d, &mut c, name, script, Vec::new(), privileged).await {
            Err(e) => eprintln!("{name}: refused at create: {e}"),
            Ok(id) => {
                let (code, out) =
                    exec(&mut c, &id, "mknod /tmp/mem c 1 1 && head -c1 /tmp/mem").await;
                assert_ne!(
                    code, 0,
                    "{name}: mknod of /dev/mem worked as {TEST_USER}: {out}"
                );
            }
        }
    }
    let left = d.shutdown();
    assert!(left.is_empty(), "processes left: {left:?}");
}
