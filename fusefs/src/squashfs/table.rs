//! Lookup tables (id, fragment, export, xattr id): an uncompressed array of `u64`
//! metadata block pointers, each block holding fixed-size entries.
//!
//! Only the pointer array is read at open; entries are fetched through the metadata
//! cache when asked for.

use super::error::{Error, Result};
use super::metadata::BLOCK;
use super::Inner;
use crate::source::Source;

/// A table of `count` entries of `entry_size` bytes.
#[derive(Debug, Default)]
pub(crate) struct Table {
    blocks: Vec<u64>,
    count: u64,
    entry_size: usize,
}

impl Table {
    /// Reads the pointer array at `at` for `count` entries of `entry_size` bytes.
    pub(crate) fn read(source: &Source, at: u64, count: u64, entry_size: usize) -> Result<Self> {
        let per_block = (BLOCK / entry_size) as u64;
        let n = count.div_ceil(per_block);
        let bytes = n
            .checked_mul(8)
            .filter(|b| *b <= source.len())
            .ok_or(Error::corrupt("lookup table too large", at))?;
        let mut raw = vec![0u8; bytes as usize];
        source.read_exact_at(at, &mut raw)?;
        let blocks = raw
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect::<Vec<_>>();
        if blocks.iter().any(|b| *b >= source.len()) {
            return Err(Error::corrupt("lookup table block outside the image", at));
        }
        Ok(Self {
            blocks,
            count,
            entry_size,
        })
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> u64 {
        self.count
    }

    /// The bytes of entry `index`, copied into `out`.
    pub(crate) fn entry(&self, inner: &Inner, index: u64, out: &mut [u8]) -> Result<()> {
        if index >= self.count || out.len() != self.entry_size {
            return Err(Error::corrupt("lookup table index out of range", index));
        }
        let per_block = (BLOCK / self.entry_size) as u64;
        let block = usize::try_from(index / per_block)
            .ok()
            .and_then(|i| self.blocks.get(i))
            .ok_or(Error::corrupt("lookup table index out of range", index))?;
        let off = (index % per_block) as usize * self.entry_size;
        let meta = inner.meta_block(*block)?;
        let src = meta
            .data
            .get(off..off + self.entry_size)
            .ok_or(Error::corrupt("lookup table block too short", *block))?;
        out.copy_from_slice(src);
        Ok(())
    }
}
