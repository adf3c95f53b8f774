//! A generated source tree with every file type squashfs stores, and the xattrs set on it.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

/// Xattrs set on each path (relative), as the image must report them.
pub type XattrMap = BTreeMap<PathBuf, Vec<(Vec<u8>, Vec<u8>)>>;

/// What a built tree holds beyond its files.
pub struct Tree {
    pub root: PathBuf,
    pub xattrs: XattrMap,
    pub privileged: bool,
}

fn rng_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..len).map(|_| rng.u8(..)).collect()
}

fn compressible(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| b"squashfs fragment text "[i % 23])
        .collect()
}

fn write(root: &Path, rel: &str, data: &[u8], mode: u32, mtime: u64) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    fs::write(&p, data).expect("write");
    let f = fs::File::options().write(true).open(&p).expect("open");
    f.set_modified(UNIX_EPOCH + Duration::from_secs(mtime))
        .expect("mtime");
    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).expect("chmod");
}

fn setxattr(root: &Path, rel: &str, name: &str, value: &[u8], map: &mut XattrMap) {
    let mut cmd = Command::new("setfattr");
    cmd.arg("-h").arg("-n").arg(name);
    if !value.is_empty() {
        let hex: String = value.iter().map(|b| format!("{b:02x}")).collect();
        cmd.arg("-v").arg(format!("0x{hex}"));
    }
    let st = cmd
        .arg(root.join(rel))
        .status()
        .expect("run setfattr (install attr)");
    assert!(st.success(), "setfattr {name} on {rel}");
    map.entry(PathBuf::from(rel))
        .or_default()
        .push((name.as_bytes().to_vec(), value.to_vec()));
}

/// Builds the full tree under `root` (devices, ownership and trusted.* only as root).
pub fn build(root: &Path, block: usize) -> Tree {
    let privileged = nix::unistd::geteuid().is_root();
    let mut xattrs = XattrMap::new();
    files(root, block);
    specials(root, privileged);
    names(root);
    many(root, privileged);
    set_xattrs(root, privileged, &mut xattrs);
    fs::set_permissions(root, fs::Permissions::from_mode(0o755)).expect("chmod root");
    Tree {
        root: root.to_path_buf(),
        xattrs,
        privileged,
    }
}

fn files(root: &Path, block: usize) {
    write(root, "files/empty", b"", 0o644, 1_000_000_000);
    write(
        root,
        "files/small",
        b"hello squashfs\n",
        0o600,
        1_200_000_000,
    );
    write(
        root,
        "files/exact-block",
        &rng_bytes(1, block),
        0o644,
        1_300_000_000,
    );
    write(
        root,
        "files/blocks-and-tail",
        &rng_bytes(2, 2 * block + 17),
        0o755,
        1_400_000_000,
    );
    write(
        root,
        "files/text",
        &compressible(5 * block + 1234),
        0o4755,
        1_500_000_000,
    );
    write(
        root,
        "files/zeros",
        &vec![0u8; 3 * block],
        0o444,
        1_600_000_000,
    );
    write(
        root,
        "files/big",
        &rng_bytes(3, 600_000),
        0o640,
        1_700_000_000,
    );
    let sparse = root.join("files/sparse");
    let f = fs::File::create(&sparse).expect("sparse");
    f.set_len(8 * block as u64 + 5).expect("set_len");
    std::os::unix::fs::FileExt::write_all_at(&f, b"middle", 4 * block as u64).expect("write");
    for i in 0..40 {
        write(
            root,
            &format!("frags/f{i:02}"),
            &compressible(i * 37 + 1),
            0o644,
            1_650_000_000 + i as u64,
        );
    }
}

fn specials(root: &Path, privileged: bool) {
    fs::create_dir_all(root.join("links")).expect("mkdir");
    symlink("../files/small", root.join("links/rel")).expect("symlink");
    symlink("/nonexistent/abs/target", root.join("links/abs")).expect("symlink");
    symlink("x".repeat(1000), root.join("links/long")).expect("symlink");
    fs::create_dir_all(root.join("dev")).expect("mkdir");
    nix::unistd::mkfifo(
        &root.join("dev/fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o640),
    )
    .expect("mkfifo");
    drop(std::os::unix::net::UnixListener::bind(root.join("dev/sock")).expect("socket"));
    fs::create_dir_all(root.join("hard/sub")).expect("mkdir");
    write(root, "hard/a", b"linked content", 0o644, 1_234_567_890);
    fs::hard_link(root.join("hard/a"), root.join("hard/b")).expect("link");
    fs::hard_link(root.join("hard/a"), root.join("hard/sub/c")).expect("link");
    fs::create_dir_all(root.join("sticky")).expect("mkdir");
    fs::set_permissions(root.join("sticky"), fs::Permissions::from_mode(0o1777)).expect("chmod");
    if privileged {
        use nix::sys::stat::{makedev, mknod, Mode, SFlag};
        let m = Mode::from_bits_truncate(0o660);
        mknod(&root.join("dev/null"), SFlag::S_IFCHR, m, makedev(1, 3)).expect("mknod");
        mknod(&root.join("dev/loop"), SFlag::S_IFBLK, m, makedev(7, 0)).expect("mknod");
        mknod(
            &root.join("dev/bigdev"),
            SFlag::S_IFCHR,
            m,
            makedev(300, 70000),
        )
        .expect("mknod");
    }
}

fn names(root: &Path) {
    let odd = root.join("odd");
    fs::create_dir_all(&odd).expect("mkdir");
    for name in [
        "ünïcødé-日本語",
        "with space",
        "-dash",
        "new\nline",
        "a.b.c",
        "Z",
        "z",
    ] {
        fs::write(odd.join(name), name.as_bytes()).expect("write");
    }
    fs::write(odd.join("n".repeat(255)), b"long name").expect("write");
    let mut deep = root.join("deep");
    for i in 0..40 {
        deep = deep.join(format!("level{i}"));
    }
    fs::create_dir_all(&deep).expect("mkdir");
    fs::write(deep.join("bottom"), b"deep").expect("write");
}

fn many(root: &Path, privileged: bool) {
    let dir = root.join("many");
    fs::create_dir_all(&dir).expect("mkdir");
    for i in 0..700u32 {
        let p = dir.join(format!("entry-{i:05}-{}", "p".repeat((i % 50) as usize)));
        fs::write(&p, i.to_le_bytes()).expect("write");
        if privileged {
            std::os::unix::fs::lchown(&p, Some(1000 + i % 150), Some(2000 + i % 90))
                .expect("chown");
        }
    }
}

fn set_xattrs(root: &Path, privileged: bool, map: &mut XattrMap) {
    fs::create_dir_all(root.join("xattr")).expect("mkdir");
    write(root, "xattr/file", b"x", 0o644, 1_500_000_000);
    write(root, "xattr/other", b"y", 0o644, 1_500_000_000);
    let big = rng_bytes(9, 3000);
    let binary: Vec<u8> = (0..=255).collect();
    setxattr(root, "xattr/file", "user.plain", b"hello", map);
    setxattr(root, "xattr/file", "user.empty", b"", map);
    setxattr(root, "xattr/file", "user.binary", &binary, map);
    setxattr(root, "xattr/file", "user.big", &big, map);
    setxattr(root, "xattr/other", "user.big", &big, map);
    setxattr(root, "xattr/other", "user.same", b"hello", map);
    setxattr(root, "xattr", "user.dir", b"on a directory", map);
    if privileged {
        setxattr(root, "xattr/file", "trusted.secret", b"trusted value", map);
        setxattr(root, "xattr/file", "security.label", b"sec", map);
        setxattr(root, "xattr/other", "trusted.empty", b"", map);
        setxattr(root, "links/rel", "trusted.onlink", b"link attr", map);
    }
}
