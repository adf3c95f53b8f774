//! A generated source tree with every file type squashfs can hold and the awkward
//! cases: odd names, deep paths, empty and sparse files, hard links, xattrs in every
//! namespace (empty and binary values), every permission bit, many owners, varied
//! mtimes. Built as root (owners, device nodes, trusted.* xattrs need it).

use std::fs;
use std::os::unix::fs::{lchown, symlink, PermissionsExt};
use std::path::Path;
use std::process::Command;

use nix::sys::stat::{mknod, utimensat, Mode, SFlag, UtimensatFlags};
use nix::sys::time::TimeSpec;

/// How big the sparse file is.
pub enum Sparse {
    /// 4 GiB plus a byte: beyond 32-bit sizes.
    Huge,
    /// 96 MiB.
    Small,
}

/// Fills `root` (an empty directory) with the tree.
pub fn generate(root: &Path, sparse: Sparse) {
    let mut n = 0u32;
    let mut next = || {
        n += 1;
        n
    };
    dirs_and_files(root, &mut next);
    special_files(root);
    odd_names(root);
    sparse_file(root, sparse);
    fs::hard_link(root.join("files/f001"), root.join("links/hard-a")).unwrap();
    fs::hard_link(root.join("files/f001"), root.join("hard-b")).unwrap();
    fs::hard_link(root.join("files/f002"), root.join("links/hard-c")).unwrap();
    symlink("../files/f003", root.join("links/rel")).unwrap();
    symlink("/etc/passwd", root.join("links/abs")).unwrap();
    symlink("dangling-target", root.join("links/dangling")).unwrap();
    symlink("x".repeat(1000), root.join("links/long-target")).unwrap();
    xattrs(root);
    owners_and_times(root);
}

fn dirs_and_files(root: &Path, next: &mut impl FnMut() -> u32) {
    for d in ["files", "links", "special", "names", "x", "empty-dir"] {
        fs::create_dir(root.join(d)).unwrap();
    }
    // Sizes around block and fragment edges (squashfs blocks are 128 KiB here).
    let sizes = [
        0usize, 1, 100, 4095, 4096, 4097, 65536, 131071, 131072, 131073, 300_000,
    ];
    for i in 0..120 {
        let size = sizes[i % sizes.len()] + (i / sizes.len()) * 7;
        let seed = next();
        let data: Vec<u8> = (0..size).map(|j| pattern(seed, j)).collect();
        let path = root.join(format!("files/f{i:03}"));
        fs::write(&path, data).unwrap();
        // Every permission bit pattern, setuid/setgid/sticky included.
        let mode = (i as u32 * 0o1111 + 0o400) & 0o7777;
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    }
    // Compressible and incompressible big files.
    fs::write(root.join("files/zeros-1m"), vec![0u8; 1 << 20]).unwrap();
    let noise: Vec<u8> = (0..(3 << 20)).map(|j| pattern(7, j)).collect();
    fs::write(root.join("files/noise-3m"), noise).unwrap();
    // A deep path (about 60 levels).
    let mut deep = root.join("x");
    for level in 0..60 {
        deep = deep.join(format!("d{level}"));
    }
    fs::create_dir_all(&deep).unwrap();
    fs::write(deep.join("bottom"), b"deep\n").unwrap();
    for (i, mode) in [0o700, 0o755, 0o1777, 0o2750, 0o000].iter().enumerate() {
        let d = root.join(format!("dirmode-{i}"));
        fs::create_dir(&d).unwrap();
        fs::write(d.join("inside"), b"in\n").unwrap();
        fs::set_permissions(&d, fs::Permissions::from_mode(*mode)).unwrap();
    }
}

/// Bytes that compress badly but are reproducible.
fn pattern(seed: u32, j: usize) -> u8 {
    let mut x = (j as u64).wrapping_mul(6364136223846793005)
        ^ u64::from(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    (x >> 32) as u8
}

fn special_files(root: &Path) {
    let s = root.join("special");
    let kinds = [
        ("char-null", SFlag::S_IFCHR, nix::sys::stat::makedev(1, 3)),
        (
            "char-big",
            SFlag::S_IFCHR,
            nix::sys::stat::makedev(300, 70000),
        ),
        ("block-0", SFlag::S_IFBLK, nix::sys::stat::makedev(8, 0)),
        (
            "block-big",
            SFlag::S_IFBLK,
            nix::sys::stat::makedev(259, 1048575),
        ),
        ("fifo", SFlag::S_IFIFO, 0),
    ];
    for (name, kind, dev) in kinds {
        mknod(&s.join(name), kind, Mode::from_bits_truncate(0o640), dev).unwrap();
    }
    let sock = std::os::unix::net::UnixListener::bind(s.join("socket")).unwrap();
    drop(sock);
}

fn odd_names(root: &Path) {
    let n = root.join("names");
    let names = [
        "spaces in name".to_owned(),
        "ünïcödé-名前-🦀".to_owned(),
        "a".repeat(255),
        format!("{}é", "b".repeat(253)),
        "-leading-dash".to_owned(),
        ".hidden".to_owned(),
        "quote'\"$`*?[]".to_owned(),
        "back\\slash".to_owned(),
    ];
    for name in names {
        fs::write(n.join(&name), name.as_bytes()).unwrap();
    }
    for i in 0..150 {
        fs::write(n.join(format!("many-{i:04}")), format!("{i}\n")).unwrap();
    }
}

fn sparse_file(root: &Path, sparse: Sparse) {
    let size: u64 = match sparse {
        Sparse::Huge => (4 << 30) + 1,
        Sparse::Small => 96 << 20,
    };
    let f = fs::File::create(root.join("files/sparse")).unwrap();
    f.set_len(size).unwrap();
    use std::os::unix::fs::FileExt;
    for off in [0, 1 << 20, size / 2, size - 5] {
        f.write_all_at(b"data!", off).unwrap();
    }
}

fn xattrs(root: &Path) {
    let set = |path: &str, name: &str, value: &str| {
        let st = Command::new("setfattr")
            .args(["-h", "-n", name, "-v", value])
            .arg(root.join(path))
            .status()
            .unwrap();
        assert!(st.success(), "setfattr {name} on {path}");
    };
    for (i, f) in [
        "files/f010",
        "files/f011",
        "files/f012",
        "names/many-0001",
        "x",
    ]
    .iter()
    .enumerate()
    {
        set(f, "user.plain", &format!("value-{i}"));
        set(f, "user.binary", "0x00ff10ee7f8000");
        set(f, "trusted.secret", "0x0102030405");
        set(f, "security.sifcri", "sec-value");
        set(f, "user.empty", "\"\"");
        set(f, "trusted.empty", "\"\"");
    }
    set(
        "files/f013",
        "user.long",
        &format!("0x{}", "ab".repeat(3000)),
    );
    for i in 0..40 {
        set("files/f014", &format!("user.many-{i:02}"), &format!("{i}"));
    }
    set("links/rel", "trusted.on-symlink", "link");
}

fn owners_and_times(root: &Path) {
    let owners = [
        (0, 0),
        (1, 1),
        (1000, 1000),
        (65534, 65534),
        (123_456, 7),
        (42, 4_000_000),
    ];
    let mut paths: Vec<_> = walk(root);
    // Children before parents, so a directory's mtime is set after its entries.
    paths.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for (i, p) in paths.iter().enumerate() {
        let (uid, gid) = owners[i % owners.len()];
        lchown(p, Some(uid), Some(gid)).unwrap();
        let t = TimeSpec::new(1_000_000_000 + (i as i64) * 86_399, 0);
        utimensat(
            nix::fcntl::AT_FDCWD,
            p,
            &t,
            &t,
            UtimensatFlags::NoFollowSymlink,
        )
        .unwrap();
    }
    // lchown clears setuid/setgid bits on files: put them back.
    for i in 0..120 {
        let path = root.join(format!("files/f{i:03}"));
        let mode = (i as u32 * 0o1111 + 0o400) & 0o7777;
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    }
    let t = TimeSpec::new(2_000_000_000, 0);
    utimensat(
        nix::fcntl::AT_FDCWD,
        root,
        &t,
        &t,
        UtimensatFlags::NoFollowSymlink,
    )
    .unwrap();
}

/// Every path below `root` (not `root` itself), symlinks not followed.
pub fn walk(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            }
            out.push(e.path());
        }
    }
    out
}
