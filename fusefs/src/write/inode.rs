//! The inode and directory tables: inodes in the layout's order (children before
//! their directory), each directory's listing written just before its inode. Basic
//! inodes where they fit; extended ones for xattrs, hard links, sparse or large
//! files, and big or indexed directories.

use super::compress::Packer;
use super::data::Data;
use super::dir::{write_listing, DirLoc};
use super::error::WriteError;
use super::layout::Layout;
use super::meta::MetaWriter;
use super::tables::{IdTable, XattrTable};
use super::{Entry, EntryKind};

const NONE: u32 = u32::MAX;

/// The two tables' bytes, the root's inode reference and every inode's by number.
pub(crate) struct Tables {
    pub(crate) inodes: Vec<u8>,
    pub(crate) dirs: Vec<u8>,
    pub(crate) root: u64,
    pub(crate) refs: Vec<u64>,
}

/// Basic inode type of an entry (what directory entries carry).
fn basic_type(e: &Entry) -> u16 {
    match e.kind {
        EntryKind::Dir => 1,
        EntryKind::File(_) => 2,
        EntryKind::Symlink(_) => 3,
        EntryKind::Block(..) => 4,
        EntryKind::Char(..) => 5,
        EntryKind::Fifo => 6,
        EntryKind::Socket => 7,
    }
}

/// Linux's `new_encode_dev`, which squashfs stores.
fn encode_dev(major: u32, minor: u32) -> u32 {
    (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12)
}

/// Writes every inode and listing.
pub(crate) fn write_tables(
    layout: &Layout<'_>,
    data: &Data,
    ids: &mut IdTable,
    xattrs: &mut XattrTable,
    packer: &mut Packer,
) -> Result<Tables, WriteError> {
    let mut inodes = MetaWriter::new();
    let mut dirs = MetaWriter::new();
    let mut refs = vec![0u64; layout.inode_count as usize + 1];
    let mut done = vec![false; refs.len()];
    for &i in &layout.order {
        let ino = layout.ino[i];
        if std::mem::replace(&mut done[ino as usize], true) {
            continue;
        }
        let e = layout.inode_entry(i);
        let dir = match e.kind {
            EntryKind::Dir => {
                let types = |c: usize| basic_type(layout.nodes[c].entry);
                Some(write_listing(layout, i, &refs, types, &mut dirs, packer)?)
            }
            _ => None,
        };
        let (block, offset) = inodes.position();
        if block > u64::from(u32::MAX) {
            return Err(WriteError::TooLarge("inode table"));
        }
        refs[ino as usize] = block << 16 | u64::from(offset);
        let xattr = xattrs.add(&e.xattrs, packer)?.unwrap_or(NONE);
        let mut b = Vec::with_capacity(64);
        let ext = xattr != NONE || layout.nlink[i] > 1 && !matches!(e.kind, EntryKind::Dir);
        let body = Body {
            layout,
            data,
            i,
            xattr,
        };
        let t = match (&e.kind, dir) {
            (EntryKind::Dir, Some(loc)) => body.dir(&loc, &mut b),
            _ => body.other(e, ext, &mut b),
        };
        let mut head = Vec::with_capacity(16 + b.len());
        for v in [t, (e.mode & 0o7777), ids.index(e.uid)?, ids.index(e.gid)?] {
            head.extend_from_slice(&v.to_le_bytes());
        }
        head.extend_from_slice(&e.mtime.to_le_bytes());
        head.extend_from_slice(&ino.to_le_bytes());
        head.extend_from_slice(&b);
        inodes.write(packer, &head);
    }
    let root = refs[layout.ino[0] as usize];
    Ok(Tables {
        inodes: inodes.finish(packer).0,
        dirs: dirs.finish(packer).0,
        root,
        refs,
    })
}

struct Body<'l, 'a> {
    layout: &'l Layout<'a>,
    data: &'l Data,
    i: usize,
    xattr: u32,
}

fn put(b: &mut Vec<u8>, words: &[u32]) {
    for w in words {
        b.extend_from_slice(&w.to_le_bytes());
    }
}

impl Body<'_, '_> {
    /// A directory inode body; returns its type.
    fn dir(&self, loc: &DirLoc, b: &mut Vec<u8>) -> u16 {
        let l = self.layout;
        let parent = if self.i == 0 {
            l.inode_count + 1
        } else {
            l.ino[l.nodes[self.i].parent]
        };
        let (nlink, size) = (l.nlink[self.i], loc.size + 3);
        if self.xattr == NONE && loc.index.is_empty() && size <= 0xffff {
            put(b, &[loc.block, nlink]);
            b.extend_from_slice(&(size as u16).to_le_bytes());
            b.extend_from_slice(&loc.offset.to_le_bytes());
            put(b, &[parent]);
            return 1;
        }
        put(b, &[nlink, size, loc.block, parent]);
        b.extend_from_slice(&(loc.index.len() as u16).to_le_bytes());
        b.extend_from_slice(&loc.offset.to_le_bytes());
        put(b, &[self.xattr]);
        for (index, start, name) in &loc.index {
            put(b, &[*index, *start, name.len() as u32 - 1]);
            b.extend_from_slice(name);
        }
        8
    }

    /// Any other inode body; returns its type.
    fn other(&self, e: &Entry, ext: bool, b: &mut Vec<u8>) -> u16 {
        let nlink = self.layout.nlink[self.i];
        let tail = |b: &mut Vec<u8>| {
            if ext {
                put(b, &[self.xattr])
            }
        };
        let t = basic_type(e);
        match &e.kind {
            EntryKind::File(d) => return self.file(d.id, d.len, ext, b),
            EntryKind::Symlink(target) => {
                put(b, &[nlink, target.len() as u32]);
                b.extend_from_slice(target);
            }
            EntryKind::Char(ma, mi) | EntryKind::Block(ma, mi) => {
                put(b, &[nlink, encode_dev(*ma, *mi)])
            }
            EntryKind::Fifo | EntryKind::Socket | EntryKind::Dir => put(b, &[nlink]),
        }
        tail(b);
        if ext {
            t + 7
        } else {
            t
        }
    }

    fn file(&self, id: u64, len: u64, ext: bool, b: &mut Vec<u8>) -> u16 {
        let rec = self.data.files.get(&id);
        let (start, sparse) = rec.map_or((0, 0), |r| (r.start, r.sparse));
        let (frag, frag_off) = rec.and_then(|r| r.frag).unwrap_or((NONE, 0));
        let sizes = rec.map_or(&[][..], |r| &r.sizes[..]);
        let fits = |v: u64| u32::try_from(v).ok();
        match (ext || sparse != 0, fits(start), fits(len)) {
            (false, Some(s), Some(l)) => {
                put(b, &[s, frag, frag_off, l]);
                put(b, sizes);
                2
            }
            _ => {
                for v in [start, len, sparse] {
                    b.extend_from_slice(&v.to_le_bytes());
                }
                put(b, &[self.layout.nlink[self.i], frag, frag_off, self.xattr]);
                put(b, sizes);
                9
            }
        }
    }
}
