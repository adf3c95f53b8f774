//! The squashfs writer against independent readers: a generated tree with every
//! entry kind (the one the reader tests build with mksquashfs) is loaded into a
//! `write::Tree`, written, and checked with our reader, `unsquashfs -lln` (listing
//! equal to mksquashfs' own image of the same tree), `unsquashfs` extraction with
//! xattrs, and a `squashfuse` mount; plus byte-for-byte reproducibility.

mod common;

use std::collections::HashMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use fusefs::write::{write_image, Compression, Entry, EntryKind, FileData, Options, Tree};
use fusefs::{CacheConfig, Source, Squashfs};

/// Loads the source tree at `root` into a writer tree; file bytes go to a spool.
fn load(t: &common::tree::Tree) -> (Tree, Vec<u8>) {
    let (mut tree, mut spool, mut links) = (Tree::new(), Vec::new(), HashMap::new());
    add(t, Path::new(""), &mut tree, &mut spool, &mut links);
    (tree, spool)
}

fn add(
    t: &common::tree::Tree,
    rel: &Path,
    tree: &mut Tree,
    spool: &mut Vec<u8>,
    links: &mut HashMap<u64, FileData>,
) {
    let path = t.root.join(rel);
    let md = fs::symlink_metadata(&path).expect("lstat");
    let ft = md.file_type();
    use std::os::unix::fs::FileTypeExt;
    let dev = || {
        (
            nix::sys::stat::major(md.rdev()) as u32,
            nix::sys::stat::minor(md.rdev()) as u32,
        )
    };
    let kind = if ft.is_dir() {
        EntryKind::Dir
    } else if ft.is_file() {
        let d = *links.entry(md.ino()).or_insert_with(|| {
            let bytes = fs::read(&path).expect("read");
            let d = FileData {
                id: md.ino(),
                offset: spool.len() as u64,
                len: bytes.len() as u64,
            };
            spool.extend_from_slice(&bytes);
            d
        });
        EntryKind::File(d)
    } else if ft.is_symlink() {
        EntryKind::Symlink(
            fs::read_link(&path)
                .expect("readlink")
                .as_os_str()
                .as_bytes()
                .to_vec(),
        )
    } else if ft.is_char_device() {
        EntryKind::Char(dev().0, dev().1)
    } else if ft.is_block_device() {
        EntryKind::Block(dev().0, dev().1)
    } else if ft.is_fifo() {
        EntryKind::Fifo
    } else {
        EntryKind::Socket
    };
    let xattrs = t.xattrs.get(rel).cloned().unwrap_or_default();
    let entry = Entry {
        kind,
        mode: (md.mode() & 0o7777) as u16,
        uid: md.uid(),
        gid: md.gid(),
        mtime: md.mtime() as u32,
        xattrs,
    };
    tree.insert(rel.as_os_str().as_bytes().to_vec(), entry);
    if ft.is_dir() {
        for e in fs::read_dir(&path).expect("readdir") {
            add(
                t,
                &rel.join(e.expect("entry").file_name()),
                tree,
                spool,
                links,
            );
        }
    }
}

fn write_file(tree: &Tree, spool: &[u8], out: &Path, opts: &Options) {
    let mut f = fs::File::create(out).expect("create");
    write_image(tree, spool, &mut f, opts).expect("write image");
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn check(compression: Compression, block: usize) {
    let dir = common::tempdir();
    let t = common::tree::build(&dir.path().join("src"), block);
    let (tree, spool) = load(&t);
    let ours = dir.path().join("ours.sqfs");
    let opts = Options {
        compression,
        block_size: block as u32,
        ..Options::default()
    };
    write_file(&tree, &spool, &ours, &opts);
    let fs_ =
        Squashfs::open(Source::open(&ours).expect("source"), CacheConfig::default()).expect("open");
    let stats = common::walk::compare(&fs_, &t, true);
    let report = fs_.verify().expect("verify");
    assert_eq!(
        report.files,
        stats.files as u64 - 2,
        "hard links are one inode"
    );
    let theirs = dir.path().join("theirs.sqfs");
    common::mksquashfs(&t.root, &theirs, &["-b", &block.to_string()]);
    // Directory sizes depend on how listings are cut into runs, which is ours to choose.
    let list = |img: &Path| {
        let out = run(Command::new("unsquashfs").arg("-lln").arg(img));
        out.lines()
            .map(|l| match l.starts_with('d') {
                true => l
                    .split_whitespace()
                    .enumerate()
                    .filter(|(i, _)| *i != 2)
                    .map(|(_, w)| w)
                    .collect::<Vec<_>>()
                    .join(" "),
                false => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (a, b) = (list(&ours), list(&theirs));
    let diff: Vec<_> = a
        .lines()
        .zip(b.lines())
        .filter(|(x, y)| x != y)
        .take(5)
        .collect();
    assert!(
        a == b,
        "unsquashfs -lln listings differ (ours, mksquashfs'): {diff:#?}"
    );
    squashfuse_matches(&t.root, &ours, &dir.path().join("mnt"));
    let out = dir.path().join("x");
    run(Command::new("unsquashfs")
        .arg("-q")
        .arg("-n")
        .arg("-d")
        .arg(&out)
        .arg(&ours));
    if t.privileged {
        let xattrs = |root: &Path| {
            run(Command::new("getfattr")
                .args(["-R", "-h", "-d", "-m", "-", "-e", "hex"])
                .arg(".")
                .current_dir(root))
        };
        assert_eq!(
            xattrs(&out),
            xattrs(&t.root),
            "xattrs extracted by unsquashfs"
        );
    }
}

/// Unmounts on drop.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Mounts `img` with squashfuse (root) and compares it with the source tree.
fn squashfuse_matches(src: &Path, img: &Path, mnt: &Path) {
    if !common::require_root("squashfuse mount of a written image") {
        return;
    }
    fs::create_dir(mnt).expect("mkdir");
    run(Command::new("squashfuse").arg(img).arg(mnt));
    let _m = Mounted(mnt.to_path_buf());
    compare_mounted(src, mnt, Path::new(""));
}

fn compare_mounted(src: &Path, mnt: &Path, rel: &Path) {
    use std::os::unix::fs::FileTypeExt;
    let (a, b) = (src.join(rel), mnt.join(rel));
    let (ma, mb) = (
        fs::symlink_metadata(&a).expect("lstat"),
        fs::symlink_metadata(&b).expect("lstat"),
    );
    let what = rel.display();
    assert_eq!(
        (ma.mode(), ma.uid(), ma.gid(), ma.mtime()),
        (mb.mode(), mb.uid(), mb.gid(), mb.mtime()),
        "{what}"
    );
    let ft = ma.file_type();
    if ft.is_file() {
        assert_eq!(
            (ma.len(), ma.nlink()),
            (mb.len(), mb.nlink()),
            "size and links of {what}"
        );
        assert!(
            fs::read(&a).expect("read") == fs::read(&b).expect("read"),
            "content of {what}"
        );
    } else if ft.is_symlink() {
        assert_eq!(
            fs::read_link(&a).expect("readlink"),
            fs::read_link(&b).expect("readlink"),
            "{what}"
        );
    } else if ft.is_char_device() || ft.is_block_device() {
        assert_eq!(ma.rdev(), mb.rdev(), "device of {what}");
    } else if ft.is_dir() {
        let names = |p: &Path| {
            let mut v: Vec<_> = fs::read_dir(p)
                .expect("readdir")
                .map(|e| e.expect("entry").file_name())
                .collect();
            v.sort();
            v
        };
        let (na, nb) = (names(&a), names(&b));
        assert_eq!(na, nb, "entries of {what}");
        for n in na {
            compare_mounted(src, mnt, &rel.join(n));
        }
    }
}

#[test]
fn zstd_image_matches_the_source_and_squashfs_tools() {
    check(Compression::Zstd(3), 131_072);
}

#[test]
fn gzip_image_with_4k_blocks_matches() {
    check(Compression::Gzip(6), 4096);
}

#[test]
fn output_is_reproducible_across_thread_counts() {
    let dir = common::tempdir();
    let t = common::tree::build(&dir.path().join("src"), 131_072);
    let (tree, spool) = load(&t);
    let bytes = |threads| {
        let mut c = std::io::Cursor::new(Vec::new());
        write_image(
            &tree,
            &spool[..],
            &mut c,
            &Options {
                threads,
                mkfs_time: 7,
                ..Options::default()
            },
        )
        .expect("write");
        c.into_inner()
    };
    let one = bytes(1);
    assert!(one == bytes(4), "1 and 4 threads give the same bytes");
    assert_eq!(one.len() % 4096, 0);
    assert_eq!(
        u32::from_le_bytes(one[8..12].try_into().unwrap()),
        7,
        "mkfs time"
    );
}

fn entry(kind: EntryKind) -> Entry {
    Entry {
        kind,
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime: 0,
        xattrs: Vec::new(),
    }
}

/// A directory whose listing spans many metadata blocks: every name is found by an
/// indexed lookup of our reader and listed by unsquashfs.
#[test]
fn big_directory_is_indexed_and_found() {
    let (mut tree, mut spool) = (Tree::new(), Vec::new());
    tree.insert(b"big".to_vec(), entry(EntryKind::Dir));
    for i in 0..3000u64 {
        let name = format!("big/file-{i:05}-{}", "n".repeat((i % 90) as usize));
        let content = format!("content {i}");
        let d = FileData {
            id: i,
            offset: spool.len() as u64,
            len: content.len() as u64,
        };
        spool.extend_from_slice(content.as_bytes());
        tree.insert(
            name.into_bytes(),
            Entry {
                uid: i as u32 % 70,
                ..entry(EntryKind::File(d))
            },
        );
    }
    let mut c = std::io::Cursor::new(Vec::new());
    write_image(&tree, &spool[..], &mut c, &Options::default()).expect("write");
    let img = c.into_inner();
    let fs_ = Squashfs::open(
        Source::from_bytes(&img).expect("source"),
        CacheConfig::default(),
    )
    .expect("open");
    for i in (0..3000u64).step_by(7) {
        let name = format!("big/file-{i:05}-{}", "n".repeat((i % 90) as usize));
        let inode = fs_
            .lookup_path(&name)
            .unwrap_or_else(|e| panic!("lookup {name}: {e}"));
        assert_eq!(
            common::walk::read_all(&fs_, &inode),
            format!("content {i}").as_bytes()
        );
        assert_eq!(inode.uid, i as u32 % 70);
    }
    let dir = common::tempdir();
    let path = dir.path().join("big.sqfs");
    fs::write(&path, &img).expect("write");
    let listing = run(Command::new("unsquashfs").arg("-l").arg(&path));
    assert_eq!(
        listing.lines().filter(|l| l.contains("/big/file-")).count(),
        3000
    );
}

/// `write_image` of `tree` with file data `data` and default options into memory.
fn write_to_memory(tree: &Tree, data: &[u8]) -> Result<(), fusefs::write::WriteError> {
    write_image(
        tree,
        data,
        &mut std::io::Cursor::new(Vec::new()),
        &Options::default(),
    )
    .map(|_| ())
}

#[test]
fn inconsistent_trees_are_refused() {
    let mut tree = Tree::new();
    tree.insert(b"a/b".to_vec(), entry(EntryKind::Fifo));
    let err = write_to_memory(&tree, &[][..]);
    assert!(
        matches!(err, Err(fusefs::write::WriteError::Orphan { .. })),
        "{err:?}"
    );
    let mut tree = Tree::new();
    tree.insert(b"f".to_vec(), entry(EntryKind::Fifo));
    tree.insert(b"f/x".to_vec(), entry(EntryKind::Fifo));
    assert!(write_to_memory(&tree, &[][..]).is_err());
    let mut tree = Tree::new();
    tree.insert("n".repeat(257).into_bytes(), entry(EntryKind::Fifo));
    assert!(write_to_memory(&tree, &[][..]).is_err());
    let mut tree = Tree::new();
    tree.insert(
        b"short".to_vec(),
        entry(EntryKind::File(FileData {
            id: 0,
            offset: 0,
            len: 10,
        })),
    );
    assert!(write_to_memory(&tree, &b"abc"[..]).is_err());
}
