//! Shared helpers of the fusefs integration tests: capability probes, a generated source
//! tree covering every file type, `mksquashfs` images, a comparison walker and an image served on a FUSE mount.

#![allow(dead_code)]

pub mod serve;
pub mod tree;
pub mod walk;

use std::path::{Path, PathBuf};
use std::process::Command;

/// True when running under CI (`CI=true`), where skipping is a failure.
pub fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// True when the test runs as root; otherwise skips loudly, or fails under CI.
pub fn require_root(what: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    assert!(!is_ci(), "{what}: needs root, and CI=true forbids skipping");
    eprintln!("SKIPPED {what}: needs root");
    false
}

/// Builds `out` from `src` with `mksquashfs` and extra `args`; panics with its output on failure.
pub fn mksquashfs(src: &Path, out: &Path, args: &[&str]) {
    let res = Command::new("mksquashfs")
        .arg(src)
        .arg(out)
        .args(["-noappend", "-quiet", "-no-progress", "-processors", "1"])
        .args(args)
        .output()
        .expect("run mksquashfs (install squashfs-tools)");
    assert!(
        res.status.success(),
        "mksquashfs {args:?} failed: {}{}",
        String::from_utf8_lossy(&res.stdout),
        String::from_utf8_lossy(&res.stderr)
    );
}

/// A temporary directory removed on drop.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("fusefs-test-")
        .tempdir()
        .expect("tempdir")
}

/// Path of `name` inside `dir`.
pub fn join(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}
