//! The export table: inode number → inode reference, present on exportable images.
//!
//! Entries are `u64` inode references indexed by inode number minus one.

use super::error::{Error, Result};
use super::inode::InodeRef;
use super::Inner;

impl Inner {
    /// The reference of inode number `ino` through the export table, when there is one.
    pub(crate) fn export_lookup(&self, ino: u32) -> Result<Option<InodeRef>> {
        let Some(table) = &self.exports else {
            return Ok(None);
        };
        let index = u64::from(ino)
            .checked_sub(1)
            .ok_or(Error::corrupt("inode number zero", 0))?;
        let mut b = [0u8; 8];
        table.entry(self, index, &mut b)?;
        Ok(Some(InodeRef(u64::from_le_bytes(b))))
    }
}
