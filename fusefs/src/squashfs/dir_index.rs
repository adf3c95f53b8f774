//! Lookups through the directory index of large (extended) directories.
//!
//! The index names the first entry of each metadata block of the listing; the last
//! index entry not greater than the wanted name says where to start, and the scan of
//! the listing stops at the first greater name. A lookup in a directory not yet
//! cached thus reads O(index + one block), not the whole listing.

use std::cmp::Ordering;

use super::dir::DirEntry;
use super::error::{Error, Result};
use super::inode::{DirLoc, InodeRef, Kind};
use super::metadata::{MetaReader, BLOCK};
use super::Inner;

const MAX_NAME: u32 = 256;

impl Inner {
    /// Finds `name` in the directory at `loc` (which has an index) without parsing it all.
    pub(crate) fn lookup_indexed(&self, loc: &DirLoc, name: &[u8]) -> Result<Option<DirEntry>> {
        let Some((count, at, off)) = loc.index else {
            return Err(Error::corrupt("directory has no index", 0));
        };
        let (mut block, mut consumed) = (loc.block, 0u32);
        let mut m = self.meta_reader(at, off)?;
        let mut idx_name = Vec::with_capacity(64);
        for _ in 0..count {
            let index = m.u32()?;
            let start = m.u32()?;
            let size = m.u32()?.checked_add(1).filter(|s| *s <= MAX_NAME);
            let size = size.ok_or(Error::corrupt("directory index name too long", at))?;
            idx_name.clear();
            m.read_into(&mut idx_name, size as usize)?;
            if idx_name.as_slice() > name {
                break;
            }
            (block, consumed) = (start, index);
        }
        let left = loc.len.checked_sub(consumed);
        let left = left.ok_or(Error::corrupt("directory index past the listing", at))?;
        let offset = (usize::from(loc.offset) + consumed as usize) % BLOCK;
        let start = self.sb.dir_table.checked_add(u64::from(block));
        let start = start.filter(|b| *b < self.sb.bytes_used);
        let start = start.ok_or(Error::corrupt(
            "directory index block outside the table",
            at,
        ))?;
        scan(&mut self.meta_reader(start, offset)?, left, name, start)
    }
}

/// Scans `left` listing bytes for `name`, stopping at the first greater name.
fn scan(m: &mut MetaReader<'_>, mut left: u32, name: &[u8], at: u64) -> Result<Option<DirEntry>> {
    let corrupt = |what| Error::corrupt(what, at);
    let mut entry_name = Vec::with_capacity(64);
    while left > 0 {
        left = left
            .checked_sub(12)
            .ok_or(corrupt("directory header truncated"))?;
        let count = m.u32()?.checked_add(1).filter(|c| *c <= 256);
        let count = count.ok_or(corrupt("directory header count too large"))?;
        let (start, base) = (m.u32()?, m.u32()?);
        for _ in 0..count {
            let offset = m.u16()?;
            let delta = m.u16()? as i16;
            let kind = Kind::from_type(m.u16()?).ok_or(corrupt("bad directory entry type"))?;
            let len = m
                .u16()?
                .checked_add(1)
                .filter(|n| u32::from(*n) <= MAX_NAME);
            let len = len.ok_or(corrupt("directory entry name too long"))?;
            left = left
                .checked_sub(8 + u32::from(len))
                .ok_or(corrupt("directory entry truncated"))?;
            entry_name.clear();
            m.read_into(&mut entry_name, usize::from(len))?;
            match entry_name.as_slice().cmp(name) {
                Ordering::Less => continue,
                Ordering::Greater => return Ok(None),
                Ordering::Equal => {}
            }
            let ino = u32::try_from(i64::from(base) + i64::from(delta))
                .ok()
                .filter(|i| *i != 0);
            let ino = ino.ok_or(corrupt("directory entry inode number out of range"))?;
            return Ok(Some(DirEntry::new(kind, ino, InodeRef::new(start, offset))));
        }
    }
    Ok(None)
}
