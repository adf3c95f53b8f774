//! Directory listings in the directory table: runs of entries under a header
//! (at most 256 entries, all of whose inodes start in one inode-table block and lie
//! within ±32767 of the header's inode number), a new run at every metadata block the
//! listing crosses, and an index entry per such run so lookups in big directories
//! can skip ahead (the extended directory inode carries the index).

use super::compress::Packer;
use super::error::WriteError;
use super::layout::Layout;
use super::meta::{MetaWriter, BLOCK};

/// Where a listing went and its index.
pub(crate) struct DirLoc {
    /// Directory-table offset of the block holding its first byte.
    pub(crate) block: u32,
    /// Offset of its first byte in that block.
    pub(crate) offset: u16,
    /// Listing size in bytes.
    pub(crate) size: u32,
    /// (listing offset of a header, directory-table block holding it, first name).
    pub(crate) index: Vec<(u32, u32, Vec<u8>)>,
}

struct Run<'a> {
    at: usize,
    inode_block: u32,
    base: u32,
    entries: Vec<(u16, i16, u16, &'a [u8])>,
}

/// Writes the listing of directory node `d`; `refs` holds inode references by
/// inode number, `types` the basic inode type by node.
pub(crate) fn write_listing(
    layout: &Layout<'_>,
    d: usize,
    refs: &[u64],
    types: impl Fn(usize) -> u16,
    w: &mut MetaWriter,
    packer: &mut Packer,
) -> Result<DirLoc, WriteError> {
    let (block, offset) = w.position();
    let first_block = w.blocks();
    let block = u32::try_from(block).map_err(|_| WriteError::TooLarge("directory table"))?;
    let off0 = usize::from(offset);
    let mut runs: Vec<Run<'_>> = Vec::new();
    let mut len = 0usize;
    for &c in &layout.nodes[d].children {
        let ino = layout.ino[c];
        let r = refs.get(ino as usize).copied().unwrap_or(0);
        let (iblock, ioff) = (
            u32::try_from(r >> 16).map_err(|_| WriteError::TooLarge("inode table"))?,
            (r & 0xffff) as u16,
        );
        let delta = i64::from(ino) - runs.last().map_or(0, |r| i64::from(r.base));
        let fresh = match runs.last() {
            None => true,
            Some(run) => {
                run.entries.len() == 256
                    || run.inode_block != iblock
                    || i16::try_from(delta).is_err()
                    || (off0 + run.at) / BLOCK != (off0 + len) / BLOCK
            }
        };
        if fresh {
            runs.push(Run {
                at: len,
                inode_block: iblock,
                base: ino,
                entries: Vec::new(),
            });
            len += 12;
        }
        let run = runs.last_mut().ok_or(WriteError::TooLarge("directory"))?;
        let delta = i16::try_from(i64::from(ino) - i64::from(run.base)).unwrap_or(0);
        let name = layout.nodes[c].name;
        run.entries.push((ioff, delta, types(c), name));
        len += 8 + name.len();
    }
    let mut bytes = Vec::with_capacity(len);
    let mut index = Vec::new();
    let mut last_block = (off0) / BLOCK;
    for run in &runs {
        let rel = (off0 + run.at) / BLOCK;
        if rel != last_block {
            index.push((
                run.at as u32,
                (first_block + rel) as u32,
                run.entries[0].3.to_vec(),
            ));
            last_block = rel;
        }
        bytes.extend_from_slice(&(run.entries.len() as u32 - 1).to_le_bytes());
        bytes.extend_from_slice(&run.inode_block.to_le_bytes());
        bytes.extend_from_slice(&run.base.to_le_bytes());
        for (ioff, delta, t, name) in &run.entries {
            for v in [*ioff, *delta as u16, *t, (name.len() - 1) as u16] {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
            bytes.extend_from_slice(name);
        }
    }
    w.write(packer, &bytes);
    for entry in &mut index {
        let start = w.block_start(entry.1 as usize);
        entry.1 = u32::try_from(start).map_err(|_| WriteError::TooLarge("directory table"))?;
    }
    let size = u32::try_from(len).map_err(|_| WriteError::TooLarge("directory listing"))?;
    Ok(DirLoc {
        block,
        offset,
        size,
        index,
    })
}
