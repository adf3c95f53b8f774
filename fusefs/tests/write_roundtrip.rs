//! Round-trip property test of the squashfs writer: seeded random trees (every entry
//! kind, files around block and fragment boundaries, zero blocks, hard links, shared
//! and distinct xattr sets, random owners and times) are written with small blocks
//! and read back through our reader, entry by entry.

mod common;

use std::collections::{BTreeMap, HashMap};

use fusefs::write::{write_image, Compression, Entry, EntryKind, FileData, Options, Tree};
use fusefs::{CacheConfig, Kind, Source, Squashfs};

const BLOCK: u64 = 4096;

fn random_tree(rng: &mut fastrand::Rng) -> (Tree, Vec<u8>) {
    let (mut tree, mut spool) = (Tree::new(), Vec::new());
    let mut dirs = vec![Vec::new()];
    let mut files: Vec<FileData> = Vec::new();
    for i in 0..rng.usize(20..200) {
        let parent = dirs[rng.usize(..dirs.len())].clone();
        let mut path = parent.clone();
        if !path.is_empty() {
            path.push(b'/');
        }
        let name_len = rng.usize(1..40);
        path.extend((0..name_len).map(|_| rng.u8(b'a'..=b'e')));
        path.extend(format!("{i}").bytes());
        let kind = match rng.u8(0..10) {
            0 | 1 => EntryKind::Dir,
            2 if !files.is_empty() => EntryKind::File(files[rng.usize(..files.len())]),
            3 => EntryKind::Symlink(
                (0..rng.usize(1..300))
                    .map(|_| rng.u8(b'!'..=b'~'))
                    .collect(),
            ),
            4 => EntryKind::Char(rng.u32(0..4096), rng.u32(0..1 << 20)),
            5 => EntryKind::Block(rng.u32(0..4096), rng.u32(0..1 << 20)),
            6 => [EntryKind::Fifo, EntryKind::Socket][rng.usize(..2)].clone(),
            _ => {
                let len = match rng.u8(0..4) {
                    0 => rng.u64(0..100),
                    1 => BLOCK * rng.u64(1..4),
                    2 => BLOCK * rng.u64(1..4) + rng.u64(1..BLOCK),
                    _ => rng.u64(0..5 * BLOCK),
                };
                let offset = spool.len() as u64;
                let zero = rng.bool();
                for b in 0..len {
                    let in_zero_block = zero && (b / BLOCK) % 2 == 0;
                    spool.push(if in_zero_block { 0 } else { rng.u8(..4) });
                }
                let d = FileData {
                    id: i as u64,
                    offset,
                    len,
                };
                files.push(d);
                EntryKind::File(d)
            }
        };
        if kind == EntryKind::Dir {
            dirs.push(path.clone());
        }
        let xattrs = match rng.u8(0..4) {
            0 => vec![(b"user.a".to_vec(), b"shared".to_vec())],
            1 => vec![
                (b"security.capability".to_vec(), vec![rng.u8(..); 20]),
                (b"trusted.t".to_vec(), Vec::new()),
                (b"user.n".to_vec(), format!("{i}").into_bytes()),
            ],
            _ => Vec::new(),
        };
        let e = Entry {
            kind,
            mode: rng.u16(..0o10000),
            uid: rng.u32(..),
            gid: rng.u32(0..5),
            mtime: rng.u32(..),
            xattrs,
        };
        tree.insert(path, e);
    }
    (tree, spool)
}

fn kind_of(k: &EntryKind) -> Kind {
    match k {
        EntryKind::Dir => Kind::Dir,
        EntryKind::File(_) => Kind::File,
        EntryKind::Symlink(_) => Kind::Symlink,
        EntryKind::Char(..) => Kind::CharDev,
        EntryKind::Block(..) => Kind::BlockDev,
        EntryKind::Fifo => Kind::Fifo,
        EntryKind::Socket => Kind::Socket,
    }
}

fn check(tree: &Tree, spool: &[u8], fs: &Squashfs) {
    let mut masters: HashMap<u64, &Entry> = HashMap::new();
    let mut inos: HashMap<u64, u32> = HashMap::new();
    for (path, e) in tree {
        let inode = fs
            .lookup_path(std::str::from_utf8(path).unwrap())
            .expect("lookup");
        let what = String::from_utf8_lossy(path);
        let meta = match e.kind {
            EntryKind::File(d) => {
                if let Some(prev) = inos.insert(d.id, inode.ino) {
                    assert_eq!(prev, inode.ino, "hard link {what}");
                }
                *masters.entry(d.id).or_insert(e)
            }
            _ => e,
        };
        assert_eq!(inode.kind, kind_of(&e.kind), "{what}");
        assert_eq!(inode.mode & 0o7777, u32::from(meta.mode), "{what}");
        assert_eq!(
            (inode.uid, inode.gid, inode.mtime),
            (meta.uid, meta.gid, meta.mtime),
            "{what}"
        );
        let want: BTreeMap<Vec<u8>, Vec<u8>> = meta.xattrs.iter().cloned().collect();
        let got: BTreeMap<Vec<u8>, Vec<u8>> = fs
            .xattrs(&inode)
            .expect("xattrs")
            .into_iter()
            .map(|x| (x.name, x.value))
            .collect();
        assert_eq!(got, want, "xattrs of {what}");
        match &e.kind {
            EntryKind::File(d) => {
                let data = common::walk::read_all(fs, &inode);
                let start = d.offset as usize;
                assert!(
                    data == spool[start..start + d.len as usize],
                    "content of {what}"
                );
            }
            EntryKind::Symlink(t) => assert_eq!(fs.read_link(&inode).expect("readlink"), &t[..]),
            EntryKind::Char(ma, mi) | EntryKind::Block(ma, mi) => {
                let (ma, mi) = (*ma, *mi);
                assert_eq!(
                    inode.rdev,
                    (mi & 0xff) | (ma << 8) | ((mi & !0xff) << 12),
                    "{what}"
                );
            }
            _ => {}
        }
    }
    fs.verify().expect("verify");
}

#[test]
fn random_trees_round_trip() {
    for seed in 0..24u64 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let (tree, spool) = random_tree(&mut rng);
        let compression = if seed % 2 == 0 {
            Compression::Zstd(1)
        } else {
            Compression::Gzip(1)
        };
        let opts = Options {
            compression,
            block_size: BLOCK as u32,
            exportable: seed % 3 != 0,
            threads: 1 + seed as usize % 3,
            ..Options::default()
        };
        let mut out = std::io::Cursor::new(vec![0xAAu8; 100]);
        out.set_position(100);
        write_image(&tree, &spool[..], &mut out, &opts).expect("write");
        let img = out.into_inner()[100..].to_vec();
        let fs = Squashfs::open(
            Source::from_bytes(&img).expect("source"),
            CacheConfig::default(),
        )
        .unwrap_or_else(|e| panic!("seed {seed}: open: {e}"));
        check(&tree, &spool, &fs);
    }
}
