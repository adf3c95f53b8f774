//! Metadata blocks: the inode, directory, fragment, id, export and xattr tables are
//! streams cut into 8 KiB pieces, each compressed (or stored, bit 15 of its u16
//! length header). A position in such a stream is the compressed offset of its
//! block plus the offset inside the uncompressed block (an inode reference).

use super::compress::Packer;

/// Uncompressed bytes per metadata block.
pub(crate) const BLOCK: usize = 8192;
/// Bit of the length header marking a stored (uncompressed) block.
const STORED: u16 = 0x8000;

/// One table being written, kept in memory until the image's tail is written.
pub(crate) struct MetaWriter {
    out: Vec<u8>,
    buf: Vec<u8>,
    /// Compressed offset of every block started so far.
    starts: Vec<u64>,
}

impl MetaWriter {
    pub(crate) fn new() -> MetaWriter {
        MetaWriter {
            out: Vec::new(),
            buf: Vec::with_capacity(BLOCK),
            starts: Vec::new(),
        }
    }

    /// Where the next byte goes: (compressed block offset, offset in that block).
    pub(crate) fn position(&self) -> (u64, u16) {
        (self.out.len() as u64, self.buf.len() as u16)
    }

    /// Number of blocks cut so far (the number of the block being filled).
    pub(crate) fn blocks(&self) -> usize {
        self.starts.len()
    }

    /// Table offset of block number `n` (cut, or the one being filled).
    pub(crate) fn block_start(&self, n: usize) -> u64 {
        self.starts.get(n).copied().unwrap_or(self.out.len() as u64)
    }

    /// Appends `bytes`, cutting full blocks as they fill.
    pub(crate) fn write(&mut self, packer: &mut Packer, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let n = (BLOCK - self.buf.len()).min(bytes.len());
            self.buf.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            if self.buf.len() == BLOCK {
                self.flush(packer);
            }
        }
    }

    fn flush(&mut self, packer: &mut Packer) {
        if self.buf.is_empty() {
            return;
        }
        self.starts.push(self.out.len() as u64);
        match packer.pack(&self.buf) {
            Some(c) => {
                self.out.extend_from_slice(&(c.len() as u16).to_le_bytes());
                self.out.extend_from_slice(&c);
            }
            None => {
                let len = self.buf.len() as u16 | STORED;
                self.out.extend_from_slice(&len.to_le_bytes());
                self.out.extend_from_slice(&self.buf);
            }
        }
        self.buf.clear();
    }

    /// The finished table bytes and the offset of each block in them.
    pub(crate) fn finish(mut self, packer: &mut Packer) -> (Vec<u8>, Vec<u64>) {
        self.flush(packer);
        (self.out, self.starts)
    }
}

/// A lookup table (fragment, id, export, xattr id): fixed-size entries in metadata
/// blocks, followed by the u64 image offsets of those blocks. `at` is the image
/// offset the bytes will be written at; returns the bytes and the offset of the
/// pointer array (what the superblock names).
pub(crate) fn lookup_table(packer: &mut Packer, entries: &[u8], at: u64) -> (Vec<u8>, u64) {
    let mut w = MetaWriter::new();
    w.write(packer, entries);
    let (mut bytes, starts) = w.finish(packer);
    let table = at + bytes.len() as u64;
    for s in starts {
        bytes.extend_from_slice(&(at + s).to_le_bytes());
    }
    (bytes, table)
}
