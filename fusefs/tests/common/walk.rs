//! Compares an image, read through the library, with the tree it was built from.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use fusefs::{Inode, Kind, Squashfs};

use super::tree::Tree;

/// What the comparison checked, for sanity assertions.
#[derive(Default, Debug)]
pub struct Stats {
    pub files: usize,
    pub dirs: usize,
    pub bytes: u64,
}

fn kind_of(ft: fs::FileType) -> Kind {
    use std::os::unix::fs::FileTypeExt;
    match () {
        _ if ft.is_dir() => Kind::Dir,
        _ if ft.is_file() => Kind::File,
        _ if ft.is_symlink() => Kind::Symlink,
        _ if ft.is_block_device() => Kind::BlockDev,
        _ if ft.is_char_device() => Kind::CharDev,
        _ if ft.is_fifo() => Kind::Fifo,
        _ => Kind::Socket,
    }
}

/// Reads all of file `inode` in uneven chunks.
pub fn read_all(fs: &Squashfs, inode: &Inode) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 70_001];
    loop {
        let n = fs.read(inode, out.len() as u64, &mut buf).expect("read");
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// Walks `tree` and checks every entry against the image; `xattrs` says whether the
/// image was built with xattrs.
pub fn compare(fs: &Squashfs, tree: &Tree, xattrs: bool) -> Stats {
    let mut links = HashMap::new();
    let mut stats = Stats::default();
    compare_dir(fs, tree, Path::new(""), xattrs, &mut links, &mut stats);
    stats
}

fn compare_dir(
    fs: &Squashfs,
    tree: &Tree,
    rel: &Path,
    xattrs: bool,
    links: &mut HashMap<u64, u32>,
    stats: &mut Stats,
) {
    let dir = fs.lookup_path(rel).expect("lookup dir");
    let listing = fs.read_dir(&dir).expect("read_dir");
    let image: BTreeSet<Vec<u8>> = listing
        .entries()
        .iter()
        .map(|e| listing.name(e).to_vec())
        .collect();
    let mut source = BTreeSet::new();
    for entry in fs::read_dir(tree.root.join(rel)).expect("read source dir") {
        let entry = entry.expect("entry");
        source.insert(entry.file_name().as_bytes().to_vec());
        let child = rel.join(entry.file_name());
        compare_one(fs, tree, &child, xattrs, links, stats);
    }
    assert_eq!(image, source, "entries of {}", rel.display());
    stats.dirs += 1;
}

fn compare_one(
    fs: &Squashfs,
    tree: &Tree,
    rel: &Path,
    xattrs: bool,
    links: &mut HashMap<u64, u32>,
    stats: &mut Stats,
) {
    let path = tree.root.join(rel);
    let md = fs::symlink_metadata(&path).expect("lstat");
    let inode = fs
        .lookup_path(rel)
        .unwrap_or_else(|e| panic!("lookup {}: {e}", rel.display()));
    let what = rel.display();
    assert_eq!(inode.kind, kind_of(md.file_type()), "kind of {what}");
    assert_eq!(inode.mode, md.mode(), "mode of {what}");
    assert_eq!(
        (inode.uid, inode.gid),
        (md.uid(), md.gid()),
        "owner of {what}"
    );
    assert_eq!(i64::from(inode.mtime), md.mtime(), "mtime of {what}");
    assert_eq!(inode.nlink as u64, md.nlink(), "nlink of {what}");
    if let Some(prev) = links.insert(md.ino(), inode.ino) {
        assert_eq!(prev, inode.ino, "hard link identity of {what}");
    }
    match inode.kind {
        Kind::Dir => compare_dir(fs, tree, rel, xattrs, links, stats),
        Kind::File => {
            assert_eq!(inode.size, md.len(), "size of {what}");
            let data = read_all(fs, &inode);
            assert!(
                data == fs::read(&path).expect("read source"),
                "content of {what}"
            );
            stats.files += 1;
            stats.bytes += inode.size;
        }
        Kind::Symlink => {
            let target = fs::read_link(&path).expect("readlink");
            assert_eq!(
                fs.read_link(&inode).expect("read_link"),
                target.as_os_str().as_bytes(),
                "{what}"
            );
        }
        Kind::BlockDev | Kind::CharDev => {
            assert_eq!(u64::from(inode.rdev), md.rdev(), "rdev of {what}")
        }
        Kind::Fifo | Kind::Socket => {}
    }
    let mut got: Vec<_> = fs
        .xattrs(&inode)
        .expect("xattrs")
        .into_iter()
        .map(|x| (x.name, x.value))
        .collect();
    got.sort();
    let mut want = if xattrs {
        tree.xattrs.get(rel).cloned().unwrap_or_default()
    } else {
        Vec::new()
    };
    want.sort();
    assert_eq!(got, want, "xattrs of {what}");
}
