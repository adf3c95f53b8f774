//! `sifcri oci mount SIF BUNDLE` / `oci umount BUNDLE`: a SIF served through FUSE as a
//! bundle's rootfs, writable through an overlay (mounted by `oci mount` as root, by the
//! container's init for a user), run, then unmounted and cleaned up; and a SIF with an
//! OCI image config, whose Entrypoint, Cmd, Env, WorkingDir, User and Labels become
//! the bundle's config.json.

mod oci_common;

use std::path::Path;

use oci_common::sif::{can_mount, make_sif, MountGuard};
use oci_common::{
    chown_to_user, modes, subordinate_gid_start, subordinate_start, user_gid, user_uid, Env, Mode,
};
use serde_json::{json, Value};

fn read_config(bundle: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap()
}

fn write_config(bundle: &Path, cfg: &Value) {
    std::fs::write(bundle.join("config.json"), serde_json::to_vec(cfg).unwrap()).unwrap();
}

/// A bundle directory the mode's user owns.
fn bundle_dir(env: &Env, mode: Mode) -> std::path::PathBuf {
    let bundle = env.path().join("sifbundle");
    std::fs::create_dir(&bundle).unwrap();
    if mode == Mode::User {
        chown_to_user(&bundle);
    }
    bundle
}

/// `oci umount` leaves neither mount nor files.
fn umount_clean(env: &Env, mode: Mode, bundle: &Path) {
    env.ok(&["umount", bundle.to_str().unwrap()]);
    assert!(!bundle.join("rootfs").exists() && !bundle.join("config.json").exists());
    assert!(!bundle.join("upper").exists() && !bundle.join(".upper.work").exists());
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(bundle.to_str().unwrap()),
        "{mode:?}: mount left behind"
    );
}

#[test]
fn sif_bundle_mount_run_umount() {
    if !can_mount() {
        return;
    }
    for mode in modes() {
        let env = Env::new(mode);
        let sif = make_sif(env.path(), |_| {}, None);
        let before = std::fs::read(&sif).unwrap();
        let bundle = bundle_dir(&env, mode);
        let _guard = MountGuard(bundle.join("rootfs"));
        env.ok(&["mount", sif.to_str().unwrap(), bundle.to_str().unwrap()]);
        let mut cfg = read_config(&bundle);
        assert_eq!(cfg["process"]["args"], json!(["/bin/sh"]));
        assert_eq!(cfg["root"]["readonly"], json!(false), "{mode:?}");
        let script = "cat /etc/secret 2>/dev/null; echo new > /written && cat /written; \
                      mkdir /etc/new && echo etc-ok || echo etc-denied";
        cfg["process"]["args"] = json!(["sh", "-c", script]);
        cfg["linux"]["maskedPaths"] = json!([]);
        write_config(&bundle, &cfg);
        let out = env.run_in(&bundle, "fromsif");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{mode:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Container root may write into the image's root-owned directories, also as a
        // user: the FUSE server reports them as owned by the user (docs/rootless.md).
        assert_eq!(stdout, "top secret\nnew\netc-ok\n", "{mode:?}");
        let upper = std::fs::read_to_string(bundle.join("upper/written"));
        assert_eq!(
            upper.unwrap(),
            "new\n",
            "{mode:?}: the write lands in upper"
        );
        umount_clean(&env, mode, &bundle);
        assert!(std::fs::read(&sif).unwrap() == before, "the SIF changed");
    }
}

/// The image's /etc/passwd, and a directory /home/app owned by 1000:1000.
fn image_home(tree: &Path) {
    std::fs::write(tree.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    let home = tree.join("home/app");
    std::fs::create_dir_all(&home).unwrap();
    std::os::unix::fs::chown(&home, Some(1000), Some(1000)).unwrap();
}

/// The host owner (uid, gid) of a file in the bundle's upper directory.
fn upper_owner(bundle: &Path, name: &str) -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(bundle.join("upper").join(name)).unwrap();
    (meta.uid(), meta.gid())
}

/// Issue 4: container root writes into the image's root-owned /, /etc (a new file, an
/// append to /etc/passwd) and /tmp, and into a directory of uid 1000, as root and as a
/// user; the image's owners show inside as they are stored, and in the upper directory
/// the new files belong to the user (copied-up ones keep their owner, mapped).
#[test]
fn container_root_writes_into_root_owned_image_dirs() {
    if !can_mount() {
        return;
    }
    for mode in modes() {
        let env = Env::new(mode);
        let sif = make_sif(env.path(), image_home, None);
        let bundle = bundle_dir(&env, mode);
        let _guard = MountGuard(bundle.join("rootfs"));
        env.ok(&["mount", sif.to_str().unwrap(), bundle.to_str().unwrap()]);
        let mut cfg = read_config(&bundle);
        let script = "stat -c '%u:%g' /etc /home/app; echo a > /top && echo b > /etc/newfile \
                      && echo app:x:1000:1000::/home/app:/bin/sh >> /etc/passwd \
                      && echo c > /tmp/t && echo d > /home/app/f && echo written; \
                      tail -n 1 /etc/passwd; stat -c '%u:%g' /etc/newfile /home/app/f";
        cfg["process"]["args"] = json!(["sh", "-c", script]);
        cfg["linux"]["maskedPaths"] = json!([]);
        // The image's own /tmp, not the default spec's tmpfs.
        let mounts = cfg["mounts"].as_array_mut().unwrap();
        mounts.retain(|m| m["destination"] != "/tmp");
        write_config(&bundle, &cfg);
        let out = env.run_in(&bundle, "rootwrites");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{mode:?}: {stderr}");
        let want = "0:0\n1000:1000\nwritten\napp:x:1000:1000::/home/app:/bin/sh\n0:0\n0:0\n";
        assert_eq!(stdout, want, "{mode:?}: {stderr}");
        let (me, app) = match mode {
            Mode::Root => ((0, 0), (1000, 1000)),
            Mode::User => (
                (user_uid(), user_gid()),
                (subordinate_start() + 999, subordinate_gid_start() + 999),
            ),
        };
        for file in ["top", "etc/newfile", "etc/passwd", "tmp/t", "home/app/f"] {
            assert_eq!(upper_owner(&bundle, file), me, "{mode:?}: upper/{file}");
        }
        assert_eq!(upper_owner(&bundle, "home/app"), app, "{mode:?}: copied up");
        umount_clean(&env, mode, &bundle);
    }
}

/// The image's /etc/passwd and /etc/group, and a working directory.
fn image_users(tree: &Path) {
    let passwd = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/srv:/bin/sh\n";
    std::fs::write(tree.join("etc/passwd"), passwd).unwrap();
    let group = "root:x:0:\nstaff:x:50:\napp:x:1000:\nextra:x:60:app\n";
    std::fs::write(tree.join("etc/group"), group).unwrap();
    std::fs::create_dir(tree.join("srv")).unwrap();
}

#[test]
fn sif_bundle_from_image_config() {
    if !can_mount() {
        return;
    }
    let image_config = json!({"architecture": "amd64", "os": "linux", "config": {
        "Entrypoint": ["/bin/sh", "-c"],
        "Cmd": ["echo $GREETING; pwd; id -u; id -G"],
        "Env": ["GREETING=hello"], "WorkingDir": "/srv", "User": "app:staff",
        "Labels": {"org.test.label": "yes"}, "StopSignal": "SIGINT", "Volumes": {"/data": {}}
    }});
    for mode in modes() {
        let env = Env::new(mode);
        let sif = make_sif(env.path(), image_users, Some(&image_config));
        let bundle = bundle_dir(&env, mode);
        let _guard = MountGuard(bundle.join("rootfs"));
        env.ok(&["mount", sif.to_str().unwrap(), bundle.to_str().unwrap()]);
        let cfg = read_config(&bundle);
        let p = &cfg["process"];
        assert_eq!(
            p["args"],
            json!(["/bin/sh", "-c", "echo $GREETING; pwd; id -u; id -G"])
        );
        let env_list = p["env"].as_array().unwrap();
        assert!(env_list.contains(&json!("GREETING=hello")), "{env_list:?}");
        assert!(env_list
            .iter()
            .any(|e| e.as_str().unwrap().starts_with("PATH=/usr/local")));
        assert_eq!(p["cwd"], "/srv");
        assert_eq!(
            p["user"],
            json!({"uid": 1000, "gid": 50, "additionalGids": [60]})
        );
        assert_eq!(cfg["annotations"]["org.test.label"], "yes");
        assert_eq!(
            cfg["annotations"]["org.opencontainers.image.stopSignal"],
            "SIGINT"
        );
        if mode == Mode::User {
            // uid 1000 needs more than the user's own id: oci mount maps the
            // subordinate range.
            let maps = |first| json!([{"containerID": 0, "hostID": first, "size": 1}, {"containerID": 1, "hostID": subordinate_start(), "size": 65536}]);
            assert_eq!(cfg["linux"]["uidMappings"], maps(user_uid()));
            let gmaps = json!([{"containerID": 0, "hostID": user_gid(), "size": 1}, {"containerID": 1, "hostID": subordinate_gid_start(), "size": 65536}]);
            assert_eq!(cfg["linux"]["gidMappings"], gmaps);
            let users = cfg["linux"]["namespaces"].as_array().unwrap();
            assert_eq!(users.iter().filter(|n| n["type"] == "user").count(), 1);
        } else {
            assert!(cfg["linux"]["uidMappings"].is_null());
        }
        let out = env.run_in(&bundle, "imagecfg");
        assert!(
            out.status.success(),
            "{mode:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(stdout, "hello\n/srv\n1000\n50 60\n", "{mode:?}");
        umount_clean(&env, mode, &bundle);
    }
}

#[test]
fn image_config_naming_an_unknown_user_fails_cleanly() {
    if !can_mount() {
        return;
    }
    let image_config = json!({"config": {"Cmd": ["/bin/sh"], "User": "ghost"}});
    for mode in modes() {
        let env = Env::new(mode);
        let sif = make_sif(env.path(), |_| {}, Some(&image_config));
        let bundle = bundle_dir(&env, mode);
        let _guard = MountGuard(bundle.join("rootfs"));
        let out = env.oci(&["mount", sif.to_str().unwrap(), bundle.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{mode:?}: mount with an unknown user succeeded"
        );
        assert!(
            stderr.contains("\"ghost\"") && stderr.contains("no such user"),
            "{stderr}"
        );
        let left: Vec<_> = std::fs::read_dir(&bundle)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(left.is_empty(), "{mode:?}: left in the bundle: {left:?}");
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(
            !mounts.contains(bundle.to_str().unwrap()),
            "{mode:?}: mount left behind"
        );
    }
}
