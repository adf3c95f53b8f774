//! Metadata blocks: the 8 KiB units that hold inodes, directories and lookup tables.
//!
//! Each block is a 2-byte header (bit 15: stored uncompressed; low 15 bits: on-disk
//! size) then its bytes. Blocks are read on demand, decompressed once and kept in the
//! metadata cache keyed by image offset; a [`MetaReader`] walks across block boundaries.

use std::sync::Arc;

use super::error::{Error, Result};
use super::Inner;

/// Bytes of decompressed data in a full metadata block.
pub(crate) const BLOCK: usize = 8192;

/// One decompressed metadata block and where the next one starts.
#[derive(Debug)]
pub(crate) struct MetaBlock {
    pub(crate) data: Vec<u8>,
    pub(crate) next: u64,
}

impl Inner {
    /// The decompressed metadata block at image offset `at`.
    pub(crate) fn meta_block(&self, at: u64) -> Result<Arc<MetaBlock>> {
        self.caches.meta.get_or_load(at, || {
            let block = self.load_meta_block(at)?;
            Ok((Arc::new(block), BLOCK + 64))
        })
    }

    fn load_meta_block(&self, at: u64) -> Result<MetaBlock> {
        // One pread for header and body: at most 8 KiB more than needed, one syscall less.
        let avail = self.source.len().saturating_sub(at).min(2 + BLOCK as u64) as usize;
        if avail < 2 {
            return Err(Error::corrupt("metadata block outside the image", at));
        }
        let mut raw = vec![0u8; avail];
        self.source.read_exact_at(at, &mut raw)?;
        let hdr = u16::from_le_bytes([raw[0], raw[1]]);
        let len = usize::from(hdr & 0x7fff);
        if len == 0 || len > BLOCK || len + 2 > avail {
            return Err(Error::corrupt("bad metadata block header", at));
        }
        let start = at + 2;
        let data = if hdr & 0x8000 != 0 {
            raw.copy_within(2..2 + len, 0);
            raw.truncate(len);
            raw
        } else {
            self.compressor.decompress(&raw[2..2 + len], BLOCK, start)?
        };
        Ok(MetaBlock {
            next: start + len as u64,
            data,
        })
    }

    /// A reader at byte `offset` of the metadata block at image offset `block`.
    pub(crate) fn meta_reader(&self, block: u64, offset: usize) -> Result<MetaReader<'_>> {
        let cur = self.meta_block(block)?;
        if offset > cur.data.len() {
            return Err(Error::corrupt("metadata offset past block end", block));
        }
        Ok(MetaReader {
            inner: self,
            cur,
            block,
            pos: offset,
        })
    }
}

/// A cursor over consecutive metadata blocks.
pub(crate) struct MetaReader<'a> {
    inner: &'a Inner,
    cur: Arc<MetaBlock>,
    block: u64,
    pos: usize,
}

impl MetaReader<'_> {
    /// Image offset of the current block and the offset inside it.
    pub(crate) fn position(&self) -> (u64, usize) {
        (self.block, self.pos)
    }

    fn advance(&mut self) -> Result<()> {
        let next = self.cur.next;
        self.cur = self.inner.meta_block(next)?;
        self.block = next;
        self.pos = 0;
        Ok(())
    }

    /// Fills `buf`, crossing into following blocks as needed.
    pub(crate) fn read(&mut self, mut buf: &mut [u8]) -> Result<()> {
        while !buf.is_empty() {
            if self.pos >= self.cur.data.len() {
                self.advance()?;
                continue;
            }
            let avail = &self.cur.data[self.pos..];
            let n = avail.len().min(buf.len());
            buf[..n].copy_from_slice(&avail[..n]);
            self.pos += n;
            buf = &mut buf[n..];
        }
        Ok(())
    }

    /// Appends `n` bytes to `out`, growing it only as bytes are actually read.
    pub(crate) fn read_into(&mut self, out: &mut Vec<u8>, mut n: usize) -> Result<()> {
        while n > 0 {
            if self.pos >= self.cur.data.len() {
                self.advance()?;
                continue;
            }
            let k = (self.cur.data.len() - self.pos).min(n);
            out.extend_from_slice(&self.cur.data[self.pos..self.pos + k]);
            self.pos += k;
            n -= k;
        }
        Ok(())
    }

    pub(crate) fn u16(&mut self) -> Result<u16> {
        let mut b = [0u8; 2];
        self.read(&mut b)?;
        Ok(u16::from_le_bytes(b))
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        let mut b = [0u8; 4];
        self.read(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    pub(crate) fn u64(&mut self) -> Result<u64> {
        let mut b = [0u8; 8];
        self.read(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
}
