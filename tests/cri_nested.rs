//! Nested: the root daemon runs a privileged pod whose image holds the sifcri binary
//! (with its shared libraries, util-linux unshare/nsenter and busybox); inside it a
//! second `sifcri serve` starts, imports an image and runs a pod of its own with
//! `sifcri ctl run`. The outer pod gets what docs/rootless.md says it needs: privileged,
//! /dev/fuse, the host's /sys/fs/cgroup, and a host directory for the inner daemon's
//! state (an overlay upper cannot live on the outer container's own overlay).

mod cri_common;

use std::path::Path;
use std::process::Command;

use cri_common::{
    container_config, exec_sh, pod_config, remove_pod, require_root, run_pod_with, sif_add_args,
    sifcri, Daemon,
};
use proto::cri;

const OUTER: &str = "localhost/sifcri-nested:latest";

/// Copies `bin` to `at` under `rootfs`, with every library `ldd` names.
fn copy_with_libs(bin: &Path, at: &str, rootfs: &Path) {
    let dest = rootfs.join(at.trim_start_matches('/'));
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    // Stripped: the debug binary is ~200 MB, too slow to squash and read in a test.
    let stripped = Command::new("strip").arg("-o").arg(&dest).arg(bin).status();
    if !stripped.is_ok_and(|s| s.success()) {
        std::fs::copy(bin, &dest).unwrap();
    }
    let out = Command::new("ldd").arg(bin).output().unwrap();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let path = match line.split_once("=>") {
            Some((_, right)) => right.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        let Some(lib) = path.filter(|p| p.starts_with('/')) else {
            continue;
        };
        let to = rootfs.join(lib.trim_start_matches('/'));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(lib, &to).unwrap();
    }
}

/// A busybox tree at `rootfs` with `applets`.
fn busybox_tree(rootfs: &Path, applets: &[&str]) {
    for sub in ["bin", "etc", "tmp", "proc", "sys", "dev", "root", "data"] {
        std::fs::create_dir_all(rootfs.join(sub)).unwrap();
    }
    let sticky = std::os::unix::fs::PermissionsExt::from_mode(0o1777);
    std::fs::set_permissions(rootfs.join("tmp"), sticky).unwrap();
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    for a in applets {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(a)).unwrap();
    }
    std::fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
}

/// mksquashfs + `sifcri sif new/add` of `rootfs` into `sif`.
fn make_sif(rootfs: &Path, sif: &Path) {
    let sqfs = sif.with_extension("sqfs");
    let st = Command::new("mksquashfs")
        .arg(rootfs)
        .arg(&sqfs)
        .args(["-noappend", "-no-progress", "-quiet"])
        .args(["-comp", "zstd", "-Xcompression-level", "1"])
        .status()
        .unwrap();
    assert!(st.success());
    sifcri(&["sif".as_ref(), "new".as_ref(), sif.as_os_str()]);
    sifcri(&sif_add_args(sif, &sqfs));
}

fn bind(container: &str, host: &Path) -> cri::Mount {
    cri::Mount {
        container_path: container.into(),
        host_path: host.to_string_lossy().into_owned(),
        ..Default::default()
    }
}

/// The inner daemon as root of the outer container.
const ROOT_SCRIPT: &str = r#"
set -e
S=/work/in
mkdir -p $S
sifcri serve --socket $S/s.sock --root $S/root --state $S/state >$S/log 2>&1 </dev/null &
daemon=$!
for i in $(seq 100); do [ -S $S/s.sock ] && break; sleep 0.1; done
sifcri image import --root $S/root /data/inner.sif localhost/inner:latest >/dev/null
rc=0
sifcri ctl --endpoint $S/s.sock run --rm localhost/inner:latest -- sh -c 'cat /etc/motd' || rc=$?
kill $daemon
wait $daemon || true
exit $rc
"#;

/// The inner daemon as an ordinary user (uid 1001) of the outer container: its own
/// user namespace (only its own id mapped: no newuidmap in the image), no network
/// helper.
const USER_SCRIPT: &str = r#"
set -e
S=/work/user
mkdir -p $S/run $S/data $S/tmp
printf '[rootless]\nnetwork = "none"\n' >$S/config.toml
chown -R 1001:1001 $S
as_user() { /usr/bin/setpriv --reuid=1001 --regid=1001 --clear-groups env XDG_RUNTIME_DIR=$S/run XDG_DATA_HOME=$S/data HOME=$S TMPDIR=$S/tmp "$@"; }
as_user sifcri serve --config $S/config.toml >$S/log 2>&1 </dev/null &
daemon=$!
sock=$S/run/sifcri/sifcri.sock
for i in $(seq 100); do [ -S $sock ] && break; sleep 0.1; done
as_user sifcri image import --root $S/data/sifcri /data/inner.sif localhost/inner:latest >/dev/null
rc=0
as_user sifcri ctl --endpoint $sock run --rm localhost/inner:latest -- sh -c 'cat /etc/motd; id -u' || rc=$?
kill $daemon
wait $daemon || true
kill $(cat $S/run/sifcri/userns.pid)
exit $rc
"#;

#[tokio::test]
async fn a_root_daemon_runs_a_root_and_a_user_daemon_that_run_pods() {
    if !require_root() {
        return;
    }
    let t0 = std::time::Instant::now();
    let d = Daemon::start();
    let work = d.dir.path().join("nested");
    let inner_root = work.join("inner-rootfs");
    busybox_tree(&inner_root, &["sh", "cat", "echo", "hostname", "sleep"]);
    std::fs::write(inner_root.join("etc/motd"), "hello-from-the-inner-pod\n").unwrap();
    let outer_root = work.join("outer-rootfs");
    let applets = [
        "cat", "echo", "hostname", "sleep", "mkdir", "seq", "kill", "ls", "[", "chown", "printf",
        "env", "id",
    ];
    busybox_tree(&outer_root, &applets);
    std::fs::write(
        outer_root.join("etc/passwd"),
        "root:x:0:0::/root:/bin/sh\nu:x:1001:1001::/tmp:/bin/sh\n",
    )
    .unwrap();
    make_sif(&inner_root, &outer_root.join("data/inner.sif"));
    copy_with_libs(
        Path::new(env!("CARGO_BIN_EXE_sifcri")),
        "/bin/sifcri",
        &outer_root,
    );
    copy_with_libs(
        Path::new(env!("CARGO_BIN_EXE_sifcri-runtime")),
        "/bin/sifcri-runtime",
        &outer_root,
    );
    // dash as /bin/sh: busybox's sh runs its own applets (unshare, setsid) in place of
    // the util-linux tools the daemon's scripts name.
    copy_with_libs(Path::new("/usr/bin/dash"), "/bin/sh", &outer_root);
    for tool in ["unshare", "nsenter", "setpriv", "setsid"] {
        copy_with_libs(
            &Path::new("/usr/bin").join(tool),
            &format!("/usr/bin/{tool}"),
            &outer_root,
        );
    }
    let sif = work.join("outer.sif");
    make_sif(&outer_root, &sif);
    let root = d.root();
    sifcri(&[
        "image".as_ref(),
        "import".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
        sif.as_os_str(),
        OUTER.as_ref(),
    ]);

    let state = work.join("inner-state");
    std::fs::create_dir_all(&state).unwrap();
    let mut pod = pod_config("nested");
    pod.linux = Some(cri::LinuxPodSandboxConfig {
        security_context: Some(cri::LinuxSandboxSecurityContext {
            privileged: true,
            ..Default::default()
        }),
        ..Default::default()
    });
    let holder = "trap 'exit 0' TERM; sleep 600 & wait";
    let config = cri::ContainerConfig {
        envs: vec![cri::KeyValue {
            key: "PATH".into(),
            value: "/bin:/usr/bin".into(),
        }],
        mounts: vec![
            bind("/dev/fuse", Path::new("/dev/fuse")),
            bind("/sys/fs/cgroup", Path::new("/sys/fs/cgroup")),
            bind("/work", &state),
        ],
        linux: Some(cri::LinuxContainerConfig {
            security_context: Some(cri::LinuxContainerSecurityContext {
                privileged: true,
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..container_config("inner-daemon", OUTER, &["sh", "-c", holder])
    };
    eprintln!("images built: {:?}", t0.elapsed());
    let mut c = d.client().await;
    let (pod_id, id) = run_pod_with(&mut c, &pod, config).await;
    eprintln!("outer container started: {:?}", t0.elapsed());
    for (who, script, log) in [
        ("root", ROOT_SCRIPT, "in/log"),
        ("user", USER_SCRIPT, "user/log"),
    ] {
        let (code, out) = exec_sh(&mut c, &id, script, 90).await;
        let log = std::fs::read_to_string(state.join(log)).unwrap_or_default();
        assert_eq!(
            code, 0,
            "nested {who} daemon failed: {out}\ninner daemon log:\n{log}"
        );
        assert!(
            out.contains("hello-from-the-inner-pod"),
            "{who}: {out}\n{log}"
        );
        eprintln!("inner {who} daemon ran a pod: {:?}", t0.elapsed());
    }

    remove_pod(&mut c, &pod_id).await;
    let state = state.to_string_lossy().into_owned();
    let procs = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            (cmd.contains("/work/in") || cmd.contains("/work/user") || cmd.contains(&state))
                .then_some(cmd)
        });
    let left: Vec<String> = procs.collect();
    assert!(left.is_empty(), "inner processes left: {left:?}");
}
