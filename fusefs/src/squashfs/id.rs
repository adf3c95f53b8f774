//! The id table: the distinct uids and gids that inodes refer to by 16-bit index.
//!
//! Small (at most 65536 entries), so it is read whole at open.

use super::error::{Error, Result};
use super::table::Table;
use super::Inner;

impl Inner {
    /// Reads every id of the id table.
    pub(crate) fn load_ids(&self) -> Result<Vec<u32>> {
        let sb = &self.sb;
        let table = Table::read(&self.source, sb.id_table, u64::from(sb.id_count), 4)?;
        let mut ids = Vec::with_capacity(usize::from(sb.id_count));
        let mut b = [0u8; 4];
        for i in 0..table.len() {
            table.entry(self, i, &mut b)?;
            ids.push(u32::from_le_bytes(b));
        }
        Ok(ids)
    }

    /// The id at `index` of the id table.
    pub(crate) fn id(&self, index: u16) -> Result<u32> {
        self.ids
            .get(usize::from(index))
            .copied()
            .ok_or(Error::corrupt("id index out of range", u64::from(index)))
    }
}
