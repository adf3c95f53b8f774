//! Images for the tests: Debian's mksquashfs, wrapped into SIF by our own writer
//! (the `sifcri::sif` library, as `sifcri sif new` + `sifcri sif add` use it).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use sifcri::sif::{Arch, CreateOptions, DataType, FsType, ObjectInput, PartType, PartitionInfo};

use super::{Runner, Scratch};

/// The compressors Debian's mksquashfs offers.
pub const COMPRESSORS: [&str; 5] = ["gzip", "xz", "lzo", "lz4", "zstd"];

/// `mksquashfs TREE OUT -comp COMP`, world-readable.
pub fn squashfs(tree: &Path, out: &Path, comp: &str) -> PathBuf {
    let st = Command::new("mksquashfs")
        .arg(tree)
        .arg(out)
        .args([
            "-comp",
            comp,
            "-noappend",
            "-no-progress",
            "-quiet",
            "-xattrs",
        ])
        .status()
        .unwrap();
    assert!(st.success(), "mksquashfs -comp {comp}");
    std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o644)).unwrap();
    out.to_owned()
}

/// A SIF holding `sqfs` as its (only) system partition, written by our SIF writer.
pub fn sif(_scratch: &Scratch, sqfs: &Path, out: &Path) -> PathBuf {
    sif_with(sqfs, out, PartType::System, FsType::Squashfs)
}

/// A SIF holding `data` as a partition of the given types.
pub fn sif_with(data: &Path, out: &Path, part: PartType, fs: FsType) -> PathBuf {
    let file = std::fs::File::open(data).unwrap();
    let info = PartitionInfo {
        fs,
        part,
        arch: Arch::AMD64,
    };
    let input = ObjectInput::new(DataType::Partition, file).partition(info);
    sifcri::sif::create(out, &CreateOptions::deterministic(), vec![input]).unwrap();
    std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o644)).unwrap();
    out.to_owned()
}

/// Mounts `image` at `dir` with `sifcri mount` (background) as `runner`.
pub fn mount(scratch: &Scratch, runner: &Runner, image: &Path, dir: &Path) {
    runner.ok(&[
        &scratch.bin(),
        "mount",
        &image.to_string_lossy(),
        &dir.to_string_lossy(),
    ]);
}

/// `sifcri umount DIR` as `runner`.
pub fn umount(scratch: &Scratch, runner: &Runner, dir: &Path) {
    runner.ok(&[&scratch.bin(), "umount", &dir.to_string_lossy()]);
}
