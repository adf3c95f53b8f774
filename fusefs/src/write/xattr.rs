//! The xattr table: each distinct set of attributes once in the key/value area
//! (names stored without their `user.`/`trusted.`/`security.` prefix, which the
//! type's low byte gives; values inline), one id entry per set (its reference,
//! count and listxattr size), then the header naming the area and the id blocks.

use std::collections::HashMap;

use super::compress::Packer;
use super::error::WriteError;
use super::meta::{lookup_table, MetaWriter};

/// One inode's attributes, sorted by full name.
type Set = Vec<(Vec<u8>, Vec<u8>)>;

const PREFIXES: [&[u8]; 3] = [b"user.", b"trusted.", b"security."];

/// Attribute sets seen so far.
pub(crate) struct XattrTable {
    kv: MetaWriter,
    ids: Vec<u8>,
    seen: HashMap<Set, u32>,
    /// Attributes of namespaces squashfs cannot hold.
    pub(crate) skipped: usize,
}

impl Default for XattrTable {
    fn default() -> Self {
        XattrTable {
            kv: MetaWriter::new(),
            ids: Vec::new(),
            seen: HashMap::new(),
            skipped: 0,
        }
    }
}

impl XattrTable {
    /// The xattr index of `attrs` (None when it has none squashfs can store).
    pub(crate) fn add(
        &mut self,
        attrs: &[(Vec<u8>, Vec<u8>)],
        p: &mut Packer,
    ) -> Result<Option<u32>, WriteError> {
        if attrs.is_empty() {
            return Ok(None);
        }
        let mut set: Set = Vec::with_capacity(attrs.len());
        for (name, value) in attrs {
            let known = PREFIXES
                .iter()
                .any(|pre| name.starts_with(pre) && name.len() > pre.len());
            if !known || set.iter().any(|(n, _)| n == name) || u32::try_from(value.len()).is_err() {
                self.skipped += 1;
                continue;
            }
            set.push((name.clone(), value.clone()));
        }
        set.sort();
        if set.is_empty() {
            return Ok(None);
        }
        if let Some(&i) = self.seen.get(&set) {
            return Ok(Some(i));
        }
        let index =
            u32::try_from(self.ids.len() / 16).map_err(|_| WriteError::TooLarge("xattr sets"))?;
        let (block, offset) = self.kv.position();
        let mut size = 0u32;
        for (name, value) in &set {
            let t = PREFIXES
                .iter()
                .position(|pre| name.starts_with(pre))
                .unwrap_or(0);
            let short = &name[PREFIXES[t].len()..];
            let short_len =
                u16::try_from(short.len()).map_err(|_| WriteError::TooLarge("xattr name"))?;
            let mut e = Vec::with_capacity(8 + short.len() + value.len());
            e.extend_from_slice(&(t as u16).to_le_bytes());
            e.extend_from_slice(&short_len.to_le_bytes());
            e.extend_from_slice(short);
            e.extend_from_slice(&(value.len() as u32).to_le_bytes());
            e.extend_from_slice(value);
            self.kv.write(p, &e);
            size = size.saturating_add(name.len() as u32 + 1);
        }
        self.ids
            .extend_from_slice(&(block << 16 | u64::from(offset)).to_le_bytes());
        self.ids
            .extend_from_slice(&(set.len() as u32).to_le_bytes());
        self.ids.extend_from_slice(&size.to_le_bytes());
        self.seen.insert(set, index);
        Ok(Some(index))
    }

    /// The table's bytes, to be written at image offset `at`, and the header's
    /// offset (what the superblock names); None when no inode has xattrs.
    pub(crate) fn finish(self, p: &mut Packer, at: u64) -> Option<(Vec<u8>, u64)> {
        if self.ids.is_empty() {
            return None;
        }
        let count = (self.ids.len() / 16) as u32;
        let (mut bytes, _) = self.kv.finish(p);
        let ids_at = at + bytes.len() as u64;
        let (id_blocks, _) = lookup_table(p, &self.ids, ids_at);
        // lookup_table appends the block pointers after the blocks; the header must
        // sit between them, so split the pointer array off and re-append it.
        let ptrs = id_blocks.len() - 8 * self.ids.len().div_ceil(8192);
        bytes.extend_from_slice(&id_blocks[..ptrs]);
        let header = at + bytes.len() as u64;
        bytes.extend_from_slice(&at.to_le_bytes());
        bytes.extend_from_slice(&count.to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.extend_from_slice(&id_blocks[ptrs..]);
        Some((bytes, header))
    }
}
