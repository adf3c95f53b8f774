//! Little-endian field reads from a byte slice, failing (never panicking) on truncation.

use super::error::{Error, Result};

/// A cursor over an on-disk structure; `at` names the structure in errors.
pub(crate) struct Le<'a> {
    buf: &'a [u8],
    pos: usize,
    at: u64,
}

impl<'a> Le<'a> {
    pub(crate) fn new(buf: &'a [u8], at: u64) -> Self {
        Self { buf, pos: 0, at }
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.buf.len())
            .ok_or(Error::corrupt("truncated structure", self.at))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    pub(crate) fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
}
