//! Block compression for the writer: zstd (any level) or gzip (zlib streams, as
//! squashfs stores them). A block that does not shrink is stored as is, which the
//! caller marks in the block's size word.

use std::io::Write;

/// The compressor and level of a new image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// zstd frames at this level (1..=22; 3 is fast and packs well).
    Zstd(i32),
    /// zlib streams at this level (1..=9).
    Gzip(u32),
}

impl Default for Compression {
    fn default() -> Self {
        Compression::Zstd(3)
    }
}

impl Compression {
    /// The superblock compressor id.
    pub(crate) fn id(self) -> u16 {
        match self {
            Compression::Gzip(_) => 1,
            Compression::Zstd(_) => 6,
        }
    }
}

/// One compressor context (reused across blocks; one per worker thread).
pub(crate) struct Packer {
    kind: Compression,
    zstd: Option<zstd::bulk::Compressor<'static>>,
}

impl Packer {
    pub(crate) fn new(kind: Compression) -> Packer {
        let zstd = match kind {
            Compression::Zstd(level) => zstd::bulk::Compressor::new(level).ok(),
            Compression::Gzip(_) => None,
        };
        Packer { kind, zstd }
    }

    /// `Some(compressed)` when that is smaller than `raw`, else `None` (store raw).
    pub(crate) fn pack(&mut self, raw: &[u8]) -> Option<Vec<u8>> {
        let out = match (self.kind, self.zstd.as_mut()) {
            (Compression::Zstd(_), Some(z)) => z.compress(raw).ok()?,
            (Compression::Zstd(level), None) => zstd::bulk::compress(raw, level).ok()?,
            (Compression::Gzip(level), _) => {
                let level = flate2::Compression::new(level.clamp(1, 9));
                let mut e = flate2::write::ZlibEncoder::new(Vec::with_capacity(raw.len()), level);
                e.write_all(raw).ok()?;
                e.finish().ok()?
            }
        };
        (out.len() < raw.len()).then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_when_smaller_only() {
        for kind in [Compression::Zstd(3), Compression::Gzip(6)] {
            let mut p = Packer::new(kind);
            assert!(p.pack(&[7u8; 4096]).is_some_and(|c| c.len() < 100));
            let noise: Vec<u8> = (0..64u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect();
            assert!(p.pack(&noise).is_none());
        }
    }
}
