//! The library reader against the tree each image was built from, for every compressor
//! and the mksquashfs options that change the on-disk layout.

mod common;

use fusefs::{CacheConfig, Source, Squashfs};

fn check(args: &[&str], block: usize) {
    let dir = common::tempdir();
    let src = dir.path().join("src");
    let tree = common::tree::build(&src, block);
    if !tree.privileged {
        assert!(
            !common::is_ci(),
            "CI runs as root: devices, owners and trusted.* must be covered"
        );
        eprintln!("NOTE: not root: devices, ownership and trusted.* xattrs not covered");
    }
    let img = dir.path().join("image.sqfs");
    let bs = block.to_string();
    let mut all = vec!["-b", bs.as_str()];
    all.extend_from_slice(args);
    common::mksquashfs(&src, &img, &all);
    let cache = CacheConfig {
        bytes: 2 << 20,
        shards: 4,
    };
    let fs = Squashfs::open(Source::open(&img).expect("source"), cache).expect("open");
    let stats = common::walk::compare(&fs, &tree, !args.contains(&"-no-xattrs"));
    let report = fs.verify().expect("verify");
    // Hard links: hard/a, hard/b and hard/sub/c are one inode of 14 bytes.
    let unique = (stats.files as u64 - 2, stats.bytes - 2 * 14);
    assert_eq!((report.files, report.bytes), unique);
    eprintln!("{:?} {args:?}: {stats:?}", fs.compressor());
    assert!(stats.files > 700 && stats.dirs > 45, "{stats:?}");
}

#[test]
fn gzip() {
    check(&["-comp", "gzip"], 131_072);
}

#[test]
fn gzip_small_blocks_no_exports() {
    check(&["-comp", "gzip", "-no-exports"], 4096);
}

#[test]
fn xz() {
    check(&["-comp", "xz"], 131_072);
}

#[test]
fn xz_bcj_x86() {
    check(&["-comp", "xz", "-Xbcj", "x86"], 65_536);
}

#[test]
fn lzo() {
    check(&["-comp", "lzo"], 131_072);
}

#[test]
fn lz4() {
    check(&["-comp", "lz4"], 131_072);
}

#[test]
fn lz4_hc() {
    check(&["-comp", "lz4", "-Xhc"], 8192);
}

#[test]
fn zstd() {
    check(&["-comp", "zstd"], 131_072);
}

#[test]
fn uncompressed() {
    check(&["-noI", "-noD", "-noF", "-noX"], 131_072);
}

#[test]
fn no_xattrs() {
    check(&["-no-xattrs"], 131_072);
}

#[test]
fn no_fragments() {
    check(&["-no-fragments", "-comp", "zstd"], 16_384);
}

#[test]
fn always_fragments() {
    check(&["-always-use-fragments", "-comp", "lz4"], 4096);
}

#[test]
fn one_megabyte_blocks() {
    check(&["-comp", "zstd", "-b", "1M"], 131_072);
}

/// The reference reader: what `unsquashfs` extracts is what the library reads.
#[test]
fn matches_unsquashfs_extraction() {
    let dir = common::tempdir();
    let src = dir.path().join("src");
    let mut tree = common::tree::build(&src, 131_072);
    let img = dir.path().join("image.sqfs");
    common::mksquashfs(&src, &img, &["-comp", "xz"]);
    let out = dir.path().join("extracted");
    let res = std::process::Command::new("unsquashfs")
        .args(["-quiet", "-no-progress", "-d"])
        .arg(&out)
        .arg(&img)
        .output()
        .expect("run unsquashfs");
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    tree.root = out;
    let fs =
        Squashfs::open(Source::open(&img).expect("source"), CacheConfig::default()).expect("open");
    common::walk::compare(&fs, &tree, true);
}

/// Lookups in a large directory not yet listed go through the squashfs directory
/// index; they must agree with the parsed listing, for present and absent names.
#[test]
fn indexed_lookups_match_listing() {
    let dir = common::tempdir();
    let src = dir.path().join("src");
    let big = src.join("big");
    std::fs::create_dir_all(&big).expect("mkdir");
    for i in 0..3000u32 {
        let name = format!(
            "{:x}-{}",
            i.wrapping_mul(2_654_435_761),
            "n".repeat((i % 40) as usize)
        );
        std::fs::write(big.join(name), i.to_le_bytes()).expect("write");
    }
    let img = dir.path().join("image.sqfs");
    common::mksquashfs(&src, &img, &["-comp", "lz4"]);
    let open = || {
        Squashfs::open(Source::open(&img).expect("source"), CacheConfig::default()).expect("open")
    };
    let (listed, indexed) = (open(), open());
    let listing = listed
        .read_dir(&listed.lookup_path("big").expect("big"))
        .expect("read_dir");
    assert_eq!(listing.len(), 3000);
    let big_dir = indexed.lookup_path("big").expect("big");
    for e in listing.entries() {
        let name = listing.name(e);
        let found = indexed
            .lookup(&big_dir, name)
            .expect("lookup")
            .expect("present");
        assert_eq!(
            (found.ino, found.inode_ref),
            (e.ino, e.inode_ref),
            "{}",
            String::from_utf8_lossy(name)
        );
        let mut absent = name.to_vec();
        absent.push(b'~');
        assert!(indexed.lookup(&big_dir, &absent).expect("lookup").is_none());
    }
    for absent in [&b"0"[..], b"", b"zzzz", b"~"] {
        assert!(indexed.lookup(&big_dir, absent).expect("lookup").is_none());
    }
}
