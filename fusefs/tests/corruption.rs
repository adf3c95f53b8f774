//! Seeded random corruption: flipped bytes in the superblock, lookup tables, metadata
//! and data of small images must give errors, never a panic, a hang or a huge allocation.

mod common;

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use fusefs::{CacheConfig, InodeRef, Kind, Source, Squashfs};

fn small_tree(root: &Path) {
    for i in 0..12 {
        let data: Vec<u8> = (0..i * 900 + 5).map(|j| (j * 7 % 251) as u8).collect();
        let p = root.join(format!("d{}/f{i}", i % 3));
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(p, data).expect("write");
    }
    fs::write(root.join("empty"), b"").expect("write");
    // A listing over 8 KiB, so the directory gets an index.
    fs::create_dir(root.join("wide")).expect("mkdir");
    for i in 0..300 {
        fs::write(root.join(format!("wide/a-longer-entry-name-{i:04}")), b"").expect("write");
    }
    std::os::unix::fs::symlink("d0/f0", root.join("link")).expect("symlink");
    fs::hard_link(root.join("d1/f1"), root.join("hard")).expect("link");
    let st = std::process::Command::new("setfattr")
        .args(["-n", "user.k", "-v", "value"])
        .arg(root.join("d2/f2"))
        .status()
        .expect("setfattr");
    assert!(st.success());
}

/// Walks everything reachable; errors are expected, and counted.
fn walk(img: &Path) -> usize {
    let cache = CacheConfig {
        bytes: 1 << 20,
        shards: 2,
    };
    let Ok(fs) = Squashfs::open(Source::open(img).expect("source"), cache) else {
        return 1;
    };
    let mut errors = 0;
    let mut seen = HashSet::new();
    let mut stack = match fs.root() {
        Ok(r) => vec![r],
        Err(_) => return 1,
    };
    let mut buf = vec![0u8; 5000];
    while let Some(inode) = stack.pop() {
        if !seen.insert(inode.inode_ref) || seen.len() > 10_000 {
            continue;
        }
        errors += usize::from(fs.xattrs(&inode).is_err());
        match inode.kind {
            Kind::Dir => match fs
                .lookup(&inode, b"a-longer-entry-name-0150")
                .and_then(|_| fs.read_dir(&inode))
            {
                Ok(d) => {
                    for e in d.entries() {
                        match fs.entry_inode(e) {
                            Ok(i) => stack.push(i),
                            Err(_) => errors += 1,
                        }
                        let _ = fs.lookup(&inode, d.name(e));
                    }
                }
                Err(_) => errors += 1,
            },
            Kind::File => {
                let mut off = 0u64;
                while off < inode.size.min(1 << 22) {
                    match fs.read(&inode, off, &mut buf) {
                        Ok(0) => break,
                        Ok(n) => off += n as u64,
                        Err(_) => {
                            errors += 1;
                            break;
                        }
                    }
                }
            }
            Kind::Symlink => errors += usize::from(fs.read_link(&inode).is_err()),
            _ => {}
        }
    }
    for ino in 1..=fs.superblock().inode_count.min(64) {
        errors += usize::from(fs.inode_by_number(ino).is_err());
    }
    let _ = fs.inode(InodeRef(0x1234_5678));
    errors
}

fn corrupt_image(args: &[&str], iterations: u64) {
    let dir = common::tempdir();
    let src = dir.path().join("src");
    small_tree(&src);
    let img = dir.path().join("img.sqfs");
    common::mksquashfs(&src, &img, args);
    let pristine = fs::read(&img).expect("read image");
    assert_eq!(walk(&img), 0, "pristine image reads cleanly");
    let bad = dir.path().join("bad.sqfs");
    let mut rng = fastrand::Rng::with_seed(0x5eed ^ pristine.len() as u64);
    // FUSEFS_CORRUPTION_SCALE=N runs N times the iterations (a longer soak).
    let scale: u64 = std::env::var("FUSEFS_CORRUPTION_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let seed_extra: u64 = std::env::var("FUSEFS_CORRUPTION_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    rng.seed(0x5eed ^ pristine.len() as u64 ^ seed_extra);
    for _ in 0..iterations * scale {
        let mut bytes = pristine.clone();
        let region = rng.u8(..4);
        for _ in 0..rng.usize(1..4) {
            let at = match region {
                0 => rng.usize(..96),
                1 => rng.usize(bytes.len().saturating_sub(200)..bytes.len()),
                _ => rng.usize(..bytes.len()),
            };
            bytes[at] = if rng.bool() {
                rng.u8(..)
            } else {
                bytes[at] ^ (1 << rng.u8(..8))
            };
        }
        if rng.u8(..20) == 0 {
            bytes.truncate(rng.usize(..bytes.len()));
        }
        let f = fs::File::create(&bad).expect("create");
        f.write_all_at(&bytes, 0).expect("write");
        walk(&bad);
        if let Ok(image) = Squashfs::open(
            Source::from_bytes(&bytes).expect("memfd"),
            CacheConfig::default(),
        ) {
            let _ = image.verify();
        }
    }
}

fn scale_factor() -> u64 {
    std::env::var("FUSEFS_CORRUPTION_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

fn with_deadline(name: &str, f: fn()) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(120 * scale_factor())) {
        Ok(()) => {}
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{name}: corrupt images hang the reader"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{name}: the reader panicked"),
    }
}

#[test]
fn corrupt_gzip_images() {
    with_deadline("gzip", || {
        corrupt_image(&["-comp", "gzip", "-b", "4096"], 250)
    });
}

#[test]
fn corrupt_other_compressors() {
    with_deadline("others", || {
        for comp in ["xz", "lzo", "lz4", "zstd"] {
            corrupt_image(&["-comp", comp, "-b", "4096"], 80);
        }
    });
}

#[test]
fn corrupt_uncompressed_images() {
    with_deadline("uncompressed", || {
        corrupt_image(
            &["-noI", "-noD", "-noF", "-noX", "-b", "4096", "-no-exports"],
            250,
        )
    });
}
