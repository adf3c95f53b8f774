//! Shared helpers of the image tests: a real registry (Debian's docker-registry) on a
//! free loopback port, tar layers written by hand (crafted members included), images
//! pushed with our own client, and squashfs listings via `unsquashfs`.
#![allow(dead_code)]

pub mod fake;
pub mod layers;
pub mod registry;

use std::path::Path;
use std::process::Command;

use sifcri::sif::Sif;

/// Skips loudly outside CI when `tool` is missing; fails under `CI=true`.
pub fn require_tool(tool: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{tool} is required under CI=true (scripts/setup.sh installs it)"
        );
        eprintln!("SKIPPED: {tool} not installed (run scripts/setup.sh)");
    }
    found
}

/// `unsquashfs -lln` of a SIF's primary partition, as `(mode owner name-and-target)`
/// lines with the `squashfs-root` prefix dropped, sizes and times left out.
pub fn list_sif(sif_path: &Path) -> Vec<String> {
    let sif = Sif::open(sif_path).expect("open SIF");
    let part = sif.primary_partition().expect("primary partition");
    let out = Command::new("unsquashfs")
        .args(["-lln", "-o", &part.offset().to_string()])
        .arg(sif_path)
        .env("TZ", "UTC")
        .output()
        .expect("run unsquashfs");
    assert!(
        out.status.success(),
        "unsquashfs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let name_at = f.iter().position(|x| x.starts_with("squashfs-root"))?;
            let name = f[name_at..].join(" ").replacen("squashfs-root", "", 1);
            let dev = if f[0].starts_with(['c', 'b']) {
                format!(" {}{}", f[2], f[3])
            } else {
                String::new()
            };
            Some(format!(
                "{} {}{} {}",
                f[0],
                f[1],
                dev,
                if name.is_empty() { "/" } else { &name }
            ))
        })
        .collect()
}

/// A temp dir readable by everyone (for the unprivileged user), removed on drop.
pub fn world_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::Builder::new()
        .prefix("sifcri-image-test")
        .tempdir_in("/tmp")
        .expect("tempdir");
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    d
}
