//! `sifcri oci mount SIF BUNDLE` / `oci umount BUNDLE`: a SIF served through FUSE as a
//! bundle's rootfs (writable through an overlay as root, read-only for a user), run,
//! then unmounted and cleaned up.

mod oci_common;

use std::path::{Path, PathBuf};
use std::process::Command;

use oci_common::{chown_to_user, make_rootfs, modes, Env, Mode};
use serde_json::{json, Value};
use sifcri::sif::{Arch, CreateOptions, DataType, FsType, ObjectInput, PartType, PartitionInfo};

/// Unmounts the bundle's rootfs if a test failed before `oci umount`.
struct MountGuard(PathBuf);

impl Drop for MountGuard {
    fn drop(&mut self) {
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        if mounts.contains(self.0.to_str().unwrap()) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// A SIF of the busybox tree (squashfs by Debian's mksquashfs, SIF by our writer).
fn make_sif(dir: &Path) -> PathBuf {
    let tree = dir.join("tree");
    make_rootfs(&tree);
    let sqfs = dir.join("rootfs.sqfs");
    let st = Command::new("mksquashfs")
        .arg(&tree)
        .arg(&sqfs)
        .args(["-noappend", "-no-progress", "-quiet"])
        .status();
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(
        st.is_ok_and(|s| s.success()) || !ci,
        "mksquashfs failed (squashfs-tools installed?)"
    );
    let info = PartitionInfo {
        fs: FsType::Squashfs,
        part: PartType::System,
        arch: Arch::AMD64,
    };
    let input =
        ObjectInput::new(DataType::Partition, std::fs::File::open(&sqfs).unwrap()).partition(info);
    let sif = dir.join("image.sif");
    sifcri::sif::create(&sif, &CreateOptions::deterministic(), vec![input]).unwrap();
    std::fs::set_permissions(&sif, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    sif
}

#[test]
fn sif_bundle_mount_run_umount() {
    if !Path::new("/dev/fuse").exists()
        || Command::new("mksquashfs").arg("-version").output().is_err()
    {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true: /dev/fuse and mksquashfs needed"
        );
        eprintln!("SKIP: needs /dev/fuse and mksquashfs");
        return;
    }
    for mode in modes() {
        let env = Env::new(mode);
        let sif = make_sif(env.path());
        let bundle = env.path().join("sifbundle");
        std::fs::create_dir(&bundle).unwrap();
        if mode == Mode::User {
            chown_to_user(&bundle);
        }
        let _guard = MountGuard(bundle.join("rootfs"));
        env.ok(&["mount", sif.to_str().unwrap(), bundle.to_str().unwrap()]);
        let mut cfg: Value =
            serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap();
        assert_eq!(cfg["process"]["args"], json!(["/bin/sh"]));
        cfg["process"]["args"] = json!([
            "sh",
            "-c",
            "cat /etc/secret 2>/dev/null; touch /written && echo wrote || echo readonly"
        ]);
        cfg["linux"]["maskedPaths"] = json!([]);
        std::fs::write(
            bundle.join("config.json"),
            serde_json::to_vec(&cfg).unwrap(),
        )
        .unwrap();
        let out = env.run_in(&bundle, "fromsif");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{mode:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.starts_with("top secret\n"), "{mode:?}: {stdout}");
        match mode {
            Mode::Root => {
                assert!(stdout.contains("wrote"), "{stdout}");
                assert!(
                    bundle.join("upper/written").exists(),
                    "the write lands in the overlay's upper dir"
                );
            }
            Mode::User => assert!(stdout.contains("readonly"), "{stdout}"),
        }
        env.ok(&["umount", bundle.to_str().unwrap()]);
        assert!(!bundle.join("rootfs").exists() && !bundle.join("config.json").exists());
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(
            !mounts.contains(bundle.to_str().unwrap()),
            "{mode:?}: mount left behind"
        );
    }
}
