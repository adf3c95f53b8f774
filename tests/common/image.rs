//! Images for the tests: Debian's mksquashfs, wrapped into SIF by our own writer
//! (`sifcri sif new` + `sifcri sif add`).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Runner, Scratch, Who};

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
pub fn sif(scratch: &Scratch, sqfs: &Path, out: &Path) -> PathBuf {
    sif_with(scratch, sqfs, out, "system", "squashfs")
}

/// A SIF holding `data` as a partition of the given types, made with
/// `sifcri sif new` and `sifcri sif add`.
pub fn sif_with(scratch: &Scratch, data: &Path, out: &Path, part: &str, fs: &str) -> PathBuf {
    let root = scratch.runner(Who::Root);
    let (bin, out_s) = (scratch.bin(), out.to_string_lossy());
    root.ok(&[&bin, "sif", "new", &out_s]);
    root.ok(&[
        &bin,
        "sif",
        "add",
        "--datatype",
        "partition",
        "--partfs",
        fs,
        "--parttype",
        part,
        "--partarch",
        "amd64",
        &out_s,
        &data.to_string_lossy(),
    ]);
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
