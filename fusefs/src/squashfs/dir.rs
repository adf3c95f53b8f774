//! Directory listings: read from the directory table on first use, cached parsed.
//!
//! A listing is a run of headers (count, inode block, base inode number) each followed
//! by up to 256 entries (offset, inode number delta, type, name). Names come sorted, so
//! a parsed [`Dir`] answers lookups by binary search.

use std::sync::Arc;

use super::error::{Error, Result};
use super::inode::{Inode, InodeRef, Kind};
use super::Inner;

/// One directory entry.
#[derive(Debug, Clone, Copy)]
pub struct DirEntry {
    name_start: u32,
    name_len: u16,
    /// Kind of the entry's inode.
    pub kind: Kind,
    /// Inode number of the entry.
    pub ino: u32,
    /// Where the entry's inode lives.
    pub inode_ref: InodeRef,
}

/// A parsed directory listing (without `.` and `..`).
#[derive(Debug, Default)]
pub struct Dir {
    entries: Vec<DirEntry>,
    names: Vec<u8>,
    sorted: bool,
}

impl DirEntry {
    /// An entry found outside a parsed [`Dir`] (its name is not kept).
    pub(crate) fn new(kind: Kind, ino: u32, inode_ref: InodeRef) -> Self {
        Self {
            name_start: 0,
            name_len: 0,
            kind,
            ino,
            inode_ref,
        }
    }
}

impl Dir {
    /// The entries, in on-disk (byte-sorted) order.
    pub fn entries(&self) -> &[DirEntry] {
        &self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True for an empty directory.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The name of `entry`, which must come from this directory.
    pub fn name(&self, entry: &DirEntry) -> &[u8] {
        let start = entry.name_start as usize;
        self.names
            .get(start..start + usize::from(entry.name_len))
            .unwrap_or_default()
    }

    /// The entry called `name`.
    pub fn find(&self, name: &[u8]) -> Option<&DirEntry> {
        if self.sorted {
            let i = self
                .entries
                .binary_search_by(|e| self.name(e).cmp(name))
                .ok()?;
            self.entries.get(i)
        } else {
            self.entries.iter().find(|e| self.name(e) == name)
        }
    }
}

const MAX_HEADER_COUNT: u32 = 256;

impl Inner {
    /// The entry `name` of directory `dir`: from its parsed listing when cached, through
    /// the directory index for an uncached indexed directory, else by parsing it.
    pub(crate) fn dir_lookup(&self, dir: &Inode, name: &[u8]) -> Result<Option<DirEntry>> {
        let super::inode::Data::Dir(loc) = &dir.data else {
            return Err(Error::NotDir);
        };
        if loc.index.is_some() && self.caches.dirs.get(dir.inode_ref.0).is_none() {
            return self.lookup_indexed(loc, name);
        }
        Ok(self.dir(dir)?.find(name).copied())
    }

    /// The listing of directory inode `dir`.
    pub(crate) fn dir(&self, dir: &Inode) -> Result<Arc<Dir>> {
        let key = dir.inode_ref.0;
        let super::inode::Data::Dir(loc) = &dir.data else {
            return Err(Error::NotDir);
        };
        self.caches.dirs.get_or_load(key, || {
            let at = self
                .sb
                .dir_table
                .checked_add(u64::from(loc.block))
                .filter(|b| *b < self.sb.bytes_used)
                .ok_or(Error::corrupt("directory outside the directory table", key))?;
            let d = self.parse_dir(at, usize::from(loc.offset), loc.len)?;
            let weight = 64 + d.entries.len() * std::mem::size_of::<DirEntry>() + d.names.len();
            Ok((Arc::new(d), weight))
        })
    }

    fn parse_dir(&self, at: u64, offset: usize, len: u32) -> Result<Dir> {
        let mut m = self.meta_reader(at, offset)?;
        let mut left = len;
        let mut dir = Dir::default();
        let corrupt = |what| Error::corrupt(what, at);
        while left > 0 {
            left = left
                .checked_sub(12)
                .ok_or(corrupt("directory header truncated"))?;
            let count = m.u32()?.checked_add(1).filter(|c| *c <= MAX_HEADER_COUNT);
            let count = count.ok_or(corrupt("directory header count too large"))?;
            let start = m.u32()?;
            let base = m.u32()?;
            for _ in 0..count {
                let offset = m.u16()?;
                let delta = m.u16()? as i16;
                let kind = Kind::from_type(m.u16()?).ok_or(corrupt("bad directory entry type"))?;
                let name_len = m.u16()?.checked_add(1).filter(|n| *n <= 256);
                let name_len = name_len.ok_or(corrupt("directory entry name too long"))?;
                let used = 8 + u32::from(name_len);
                left = left
                    .checked_sub(used)
                    .ok_or(corrupt("directory entry truncated"))?;
                let ino = i64::from(base) + i64::from(delta);
                let ino = u32::try_from(ino).ok().filter(|i| *i != 0);
                let ino = ino.ok_or(corrupt("directory entry inode number out of range"))?;
                let name_start =
                    u32::try_from(dir.names.len()).map_err(|_| corrupt("directory too large"))?;
                m.read_into(&mut dir.names, usize::from(name_len))?;
                check_name(&dir.names[name_start as usize..])
                    .ok_or(corrupt("bad directory entry name"))?;
                dir.entries.push(DirEntry {
                    name_start,
                    name_len,
                    kind,
                    ino,
                    inode_ref: InodeRef::new(start, offset),
                });
            }
        }
        dir.sorted = dir
            .entries
            .windows(2)
            .all(|w| dir.name(&w[0]) < dir.name(&w[1]));
        Ok(dir)
    }
}

fn check_name(name: &[u8]) -> Option<()> {
    let bad = name.is_empty()
        || name == b"."
        || name == b".."
        || name.iter().any(|b| *b == b'/' || *b == 0);
    (!bad).then_some(())
}
