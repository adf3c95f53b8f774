//! SIF images for the `oci mount` tests: a busybox tree squashed by Debian's
//! mksquashfs and wrapped by our SIF writer, optionally with an OCI image config
//! object; and a guard that unmounts a bundle's rootfs a failed test left mounted.

use std::path::{Path, PathBuf};
use std::process::Command;

use sifcri::sif::{Arch, CreateOptions, DataType, FsType, ObjectInput, PartType, PartitionInfo};

use super::make_rootfs;

/// Unmounts the bundle's rootfs if a test failed before `oci umount`.
pub struct MountGuard(pub PathBuf);

impl Drop for MountGuard {
    fn drop(&mut self) {
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        if mounts.contains(self.0.to_str().unwrap()) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// True when /dev/fuse and mksquashfs are here; skips loudly (fails under CI=true).
pub fn can_mount() -> bool {
    let ok = Path::new("/dev/fuse").exists()
        && Command::new("mksquashfs").arg("-version").output().is_ok();
    if !ok {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true: /dev/fuse and mksquashfs needed"
        );
        eprintln!("SKIP: needs /dev/fuse and mksquashfs");
    }
    ok
}

/// A SIF at `dir/image.sif` of the busybox tree, changed by `edit` before squashing,
/// with `config` as its `oci-config.json` object when given.
pub fn make_sif(
    dir: &Path,
    edit: impl FnOnce(&Path),
    config: Option<&serde_json::Value>,
) -> PathBuf {
    let tree = dir.join("tree");
    make_rootfs(&tree);
    edit(&tree);
    let sqfs = dir.join("rootfs.sqfs");
    let st = Command::new("mksquashfs")
        .arg(&tree)
        .arg(&sqfs)
        .args(["-noappend", "-no-progress", "-quiet"])
        .status();
    assert!(st.is_ok_and(|s| s.success()), "mksquashfs failed");
    let json = config.map(|c| serde_json::to_vec(c).unwrap());
    let info = PartitionInfo {
        fs: FsType::Squashfs,
        part: PartType::PrimarySystem,
        arch: Arch::AMD64,
    };
    let mut inputs =
        vec![
            ObjectInput::new(DataType::Partition, std::fs::File::open(&sqfs).unwrap())
                .partition(info),
        ];
    if let Some(json) = &json {
        inputs.push(
            ObjectInput::new(DataType::GenericJson, json.as_slice())
                .name(sifcri::image::convert::CONFIG_OBJECT_NAME),
        );
    }
    let sif = dir.join("image.sif");
    sifcri::sif::create(&sif, &CreateOptions::deterministic(), inputs).unwrap();
    std::fs::set_permissions(&sif, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    std::fs::remove_dir_all(&tree).unwrap();
    std::fs::remove_file(&sqfs).unwrap();
    sif
}
