//! Pulls from a real registry (docker-registry on a loopback port): layer semantics
//! (whiteouts, opaque dirs, cross-layer hard links, owners, modes, devices,
//! symlinks), tags and digests, platform choice from an index, byte-for-byte
//! reproducibility, coalesced concurrent pulls, and an unprivileged pull via the CLI.

mod image_common;

use std::sync::Arc;

use image_common::layers::Layer;
use image_common::list_sif;
use image_common::registry::{client, config, push_image, Registry};
use sifcri::image::registry::Auth;
use sifcri::image::{pull, PullOptions, Store};

fn busybox() -> Vec<u8> {
    std::fs::read("/bin/busybox").unwrap_or_else(|_| b"#!/bin/sh\n".to_vec())
}

#[test]
fn multi_layer_image_unpacks_exactly() {
    let Some(reg) = Registry::start(None) else {
        return;
    };
    let c = client();
    let base = Layer::default()
        .dir("bin", 0o755, (0, 0))
        .file("bin/busybox", &busybox(), 0o755, (0, 0))
        .symlink("bin/sh", "busybox")
        .dir("etc", 0o755, (0, 0))
        .file("etc/passwd", b"root:x:0:0::/root:/bin/sh\n", 0o644, (0, 0))
        .file("etc/gone", b"x", 0o644, (0, 0))
        .dir("opq", 0o755, (0, 0))
        .file("opq/old", b"old", 0o644, (0, 0))
        .file("data", b"shared bytes", 0o640, (1234, 5678))
        .dir("home/user", 0o700, (1000, 1000))
        .gzip();
    let top = Layer::default()
        .file("etc/.wh.gone", b"", 0o644, (0, 0))
        .dir("opq", 0o755, (0, 0))
        .file("opq/.wh..wh..opq", b"", 0o644, (0, 0))
        .file("opq/new", b"new", 0o4755, (0, 0))
        .hardlink("link-to-data", "data")
        .chardev("dev/null", 1, 3)
        .file_with_xattr("xattr-file", b"x", "user.test", b"value")
        .zstd();
    let reference = reg.reference("multi/layer:v1");
    push_image(
        &c,
        &reference,
        &[base, top],
        &config("amd64", 2),
        &Auth::Anonymous,
    );
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path()).unwrap();
    let rec = pull(&store, &c, &reference, &PullOptions::default()).unwrap();
    let list = list_sif(&store.sif_path(&rec));
    let want = [
        "drwxr-xr-x 0/0 /",
        "drwxr-xr-x 0/0 /bin",
        "-rwxr-xr-x 0/0 /bin/busybox",
        "lrwxrwxrwx 0/0 /bin/sh -> busybox",
        "-rw-r----- 1234/5678 /data",
        "drwxr-xr-x 0/0 /dev",
        "crw--w---- 0/0 1,3 /dev/null",
        "drwxr-xr-x 0/0 /etc",
        "-rw-r--r-- 0/0 /etc/passwd",
        "drwxr-xr-x 0/0 /home",
        "drwx------ 1000/1000 /home/user",
        "-rw-r----- 1234/5678 /link-to-data",
        "drwxr-xr-x 0/0 /opq",
        "-rwsr-xr-x 0/0 /opq/new",
        "-rw-r--r-- 0/0 /xattr-file",
    ];
    assert_eq!(list, want, "squashfs listing");
    assert_eq!(
        xattr_of(&store.sif_path(&rec), "xattr-file", "user.test"),
        Some(b"value".to_vec())
    );
    assert_eq!(rec.repo_tags, vec![reference.clone()]);
    assert!(rec.id.starts_with("sha256:"));
    let again = pull(&store, &c, &reference, &PullOptions::default()).unwrap();
    assert_eq!(again.id, rec.id);
}

#[test]
fn unprivileged_cli_pull_keeps_image_owners() {
    let Some(reg) = Registry::start(None) else {
        return;
    };
    if !image_common::require_tool("runuser") {
        return;
    }
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIPPED: needs root to switch to the test user");
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI runs the tests as root"
        );
        return;
    }
    let c = client();
    let layer = Layer::default()
        .dir("home/user", 0o700, (1000, 1000))
        .file("home/user/notes", b"hi", 0o600, (1000, 1000))
        .file("setuid", b"x", 0o4755, (0, 0))
        .dir("srv", 0o750, (100_000, 165_536))
        .file("srv/data", b"d", 0o640, (70_000, 70_001))
        .file_with_xattr("ping", b"p", "security.capability", CAP_NET_RAW)
        .file_with_xattr("trusted", b"t", "trusted.overlay.opaque", b"y")
        .gzip();
    let reference = reg.reference("user/pull:v1");
    push_image(
        &c,
        &reference,
        &[layer],
        &config("amd64", 1),
        &Auth::Anonymous,
    );
    let dir = image_common::world_dir();
    let bin = dir.path().join("sifcri");
    std::fs::copy(env!("CARGO_BIN_EXE_sifcri"), &bin).unwrap();
    std::fs::copy(
        env!("CARGO_BIN_EXE_sifcri-runtime"),
        bin.with_file_name("sifcri-runtime"),
    )
    .unwrap();
    let root = dir.path().join("store");
    let out = std::process::Command::new("runuser")
        .args(["-u", "sifcri-test", "--"])
        .arg(&bin)
        .args(["pull", "-q", "--root"])
        .arg(&root)
        .arg(&reference)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pull as sifcri-test: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = Store::open(&root).unwrap();
    let rec = store.lookup(&reference).unwrap();
    let list = list_sif(&store.sif_path(&rec));
    assert_eq!(
        list,
        [
            "drwxr-xr-x 0/0 /",
            "drwxr-xr-x 0/0 /home",
            "drwx------ 1000/1000 /home/user",
            "-rw------- 1000/1000 /home/user/notes",
            "-rw-r--r-- 0/0 /ping",
            "-rwsr-xr-x 0/0 /setuid",
            "drwxr-x--- 100000/165536 /srv",
            "-rw-r----- 70000/70001 /srv/data",
            "-rw-r--r-- 0/0 /trusted",
        ]
    );
    // Owners above 65535 and security./trusted. xattrs, recorded by a user without
    // a user namespace: the squashfs is written in-process, nothing is chowned.
    let sif = store.sif_path(&rec);
    let cap = xattr_of(&sif, "ping", "security.capability");
    assert_eq!(cap.as_deref(), Some(CAP_NET_RAW));
    let opaque = xattr_of(&sif, "trusted", "trusted.overlay.opaque");
    assert_eq!(opaque.as_deref(), Some(&b"y"[..]));
}

/// A VFS_CAP_REVISION_2 `security.capability` value granting CAP_NET_RAW (bit 13).
const CAP_NET_RAW: &[u8] = &[
    0, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

#[test]
fn pulls_are_reproducible_and_coalesced() {
    let Some(reg) = Registry::start(None) else {
        return;
    };
    let c = Arc::new(client());
    let layer = Layer::default()
        .file("a", b"same", 0o644, (0, 0))
        .dir("d", 0o755, (0, 0))
        .gzip();
    let reference = reg.reference("repro/img:v1");
    let (manifest, config_digest) = push_image(
        &c,
        &reference,
        std::slice::from_ref(&layer),
        &config("amd64", 1),
        &Auth::Anonymous,
    );
    let layer_digest = sifcri::image::Digest::of(&layer.1).to_string();
    let root = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(root.path()).unwrap());
    let threads: Vec<_> = (0..10)
        .map(|_| {
            let (store, c, r) = (store.clone(), c.clone(), reference.clone());
            std::thread::spawn(move || pull(&store, &c, &r, &PullOptions::default()).unwrap())
        })
        .collect();
    let recs: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(
        recs.iter().all(|r| r.id == config_digest.to_string()),
        "image id = config digest"
    );
    assert_eq!(
        reg.blob_gets(&layer_digest),
        1,
        "10 concurrent pulls fetch the layer once:\n{}",
        reg.log()
    );
    // A second store (another machine) gets the same bytes, by tag or by digest.
    let root2 = tempfile::tempdir().unwrap();
    let store2 = Store::open(root2.path()).unwrap();
    let by_digest = format!("{}@{manifest}", reg.reference("repro/img"));
    let rec2 = pull(&store2, &c, &by_digest, &PullOptions::default()).unwrap();
    assert_eq!(rec2.id, recs[0].id);
    assert_eq!(rec2.repo_digests, vec![by_digest.clone()]);
    assert!(rec2.repo_tags.is_empty());
    let a = std::fs::read(store.sif_path(&recs[0])).unwrap();
    let b = std::fs::read(store2.sif_path(&rec2)).unwrap();
    assert!(a == b, "two pulls of one image give identical SIF bytes");
    assert_eq!(store2.lookup(&by_digest).unwrap().id, rec2.id);
}

#[test]
fn concurrent_cli_pulls_across_processes_download_once() {
    let Some(reg) = Registry::start(None) else {
        return;
    };
    let layer = Layer::default()
        .file("p", &[1u8; 100_000], 0o644, (0, 0))
        .gzip();
    let layer_digest = sifcri::image::Digest::of(&layer.1).to_string();
    let reference = reg.reference("procs/img:v1");
    push_image(
        &client(),
        &reference,
        &[layer],
        &config("amd64", 1),
        &Auth::Anonymous,
    );
    let root = tempfile::tempdir().unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            std::process::Command::new(env!("CARGO_BIN_EXE_sifcri"))
                .args(["pull", "-q", "--root"])
                .arg(root.path())
                .arg(&reference)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        reg.blob_gets(&layer_digest),
        1,
        "one download across processes"
    );
    assert_eq!(Store::open(root.path()).unwrap().list().unwrap().len(), 1);
}

/// An xattr of one file of a SIF's squashfs, as `unsquashfs` extracts it.
fn xattr_of(sif: &std::path::Path, file: &str, name: &str) -> Option<Vec<u8>> {
    let part = sifcri::sif::Sif::open(sif)
        .unwrap()
        .primary_partition()
        .unwrap()
        .offset();
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("x");
    let ok = std::process::Command::new("unsquashfs")
        .args(["-q", "-n", "-o", &part.to_string(), "-d"])
        .arg(&dest)
        .arg(sif)
        .arg(file)
        .status()
        .unwrap();
    assert!(ok.success(), "unsquashfs");
    xattr::get(dest.join(file), name).unwrap()
}
