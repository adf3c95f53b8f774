//! Extended attributes: the xattr id table (per-inode list location) and key/value area.
//!
//! Names are stored without their namespace prefix; the type's low byte picks it
//! (0 `user.`, 1 `trusted.`, 2 `security.`) and bit 8 marks a value stored out of line
//! (the inline value is then a reference to the real one). Values may be empty or binary.

use super::error::{Error, Result};
use super::inode::Inode;
use super::table::Table;
use super::Inner;
use crate::source::Source;

/// One extended attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Xattr {
    /// Full name, prefix included (`user.foo`).
    pub name: Vec<u8>,
    /// Value bytes.
    pub value: Vec<u8>,
}

/// The xattr id table and where the key/value area starts.
#[derive(Debug)]
pub(crate) struct XattrTable {
    kv_start: u64,
    ids: Table,
}

const MAX_COUNT: u32 = 65536;
const MAX_VALUE: u32 = 65536;
const PREFIXES: [&[u8]; 3] = [b"user.", b"trusted.", b"security."];

impl XattrTable {
    pub(crate) fn read(source: &Source, at: u64) -> Result<Self> {
        let mut hdr = [0u8; 16];
        source.read_exact_at(at, &mut hdr)?;
        let mut le = super::le::Le::new(&hdr, at);
        let kv_start = le.u64()?;
        let count = le.u32()?;
        if kv_start >= source.len() {
            return Err(Error::corrupt("xattr area outside the image", at));
        }
        let ids = Table::read(source, at + 16, u64::from(count), 16)?;
        Ok(Self { kv_start, ids })
    }
}

impl Inner {
    /// Every extended attribute of `inode`, in on-disk order.
    pub(crate) fn xattrs(&self, inode: &Inode) -> Result<Vec<Xattr>> {
        let (Some(index), Some(table)) = (inode.xattr, &self.xattr) else {
            return Ok(Vec::new());
        };
        let mut e = [0u8; 16];
        table.ids.entry(self, u64::from(index), &mut e)?;
        let mut le = super::le::Le::new(&e, u64::from(index));
        let (r, count) = (le.u64()?, le.u32()?);
        if count > MAX_COUNT {
            return Err(Error::corrupt("too many xattrs", r));
        }
        let mut m = self.kv_reader(table, r)?;
        let mut out = Vec::with_capacity(count.min(64) as usize);
        for _ in 0..count {
            let t = m.u16()?;
            let prefix = PREFIXES
                .get(usize::from(t & 0xff))
                .ok_or(Error::corrupt("unknown xattr prefix", r))?;
            let name_len = usize::from(m.u16()?);
            let mut name = prefix.to_vec();
            m.read_into(&mut name, name_len)?;
            let size = m.u32()?;
            let value = if t & 0x100 != 0 {
                let vref = m.u64()?;
                let mut v = self.kv_reader(table, vref)?;
                let size = v.u32()?;
                read_value(&mut v, size, r)?
            } else {
                read_value(&mut m, size, r)?
            };
            out.push(Xattr { name, value });
        }
        Ok(out)
    }

    fn kv_reader(&self, table: &XattrTable, r: u64) -> Result<super::metadata::MetaReader<'_>> {
        let block = table
            .kv_start
            .checked_add(r >> 16)
            .filter(|b| *b < self.sb.bytes_used)
            .ok_or(Error::corrupt("xattr reference outside the image", r))?;
        self.meta_reader(block, (r & 0xffff) as usize)
    }
}

fn read_value(m: &mut super::metadata::MetaReader<'_>, size: u32, at: u64) -> Result<Vec<u8>> {
    if size > MAX_VALUE {
        return Err(Error::corrupt("xattr value too large", at));
    }
    let mut v = Vec::new();
    m.read_into(&mut v, size as usize)?;
    Ok(v)
}
