//! The fragment table: where each fragment block (packed file tails) lives.
//!
//! Entries are 16 bytes (start u64, size u32, unused u32); the pointer array is read at
//! open, entries on demand through the metadata cache.

use super::error::Result;
use super::Inner;

/// One fragment table entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fragment {
    pub(crate) start: u64,
    pub(crate) size: u32,
}

impl Inner {
    /// The fragment table entry `index`.
    pub(crate) fn fragment(&self, index: u32) -> Result<Fragment> {
        let mut b = [0u8; 16];
        self.fragments.entry(self, u64::from(index), &mut b)?;
        let start = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        let size = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
        Ok(Fragment { start, size })
    }
}
