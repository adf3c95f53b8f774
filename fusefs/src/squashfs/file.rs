//! Regular file data: full blocks (compressed, stored or sparse) and the fragment tail.
//!
//! Blocks are decompressed once into the data cache, keyed by image offset (fragment
//! blocks share that cache); a [`FileBlock`] hands out the bytes without copying.

use std::ops::{Deref, Range};
use std::sync::{Arc, OnceLock};

use super::error::{Error, Result};
use super::inode::{Data, FileLayout, Inode};
use super::Inner;

/// The bytes of a sparse block: allocated on first use (a zeroed allocation reads as
/// the kernel's zero page), not a 1 MiB constant in the binary, which every start of
/// it would read from disk.
fn zeros() -> &'static [u8] {
    static ZEROS: OnceLock<Box<[u8]>> = OnceLock::new();
    ZEROS.get_or_init(|| vec![0; 1 << 20].into_boxed_slice())
}
const UNCOMPRESSED: u32 = 1 << 24;

/// The bytes of one block of a file (or of its tail), shared with the cache.
#[derive(Debug, Clone)]
pub struct FileBlock {
    block: Option<Arc<Vec<u8>>>,
    range: Range<usize>,
}

impl Deref for FileBlock {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.block {
            Some(b) => b.get(self.range.clone()).unwrap_or_default(),
            None => zeros().get(self.range.clone()).unwrap_or_default(),
        }
    }
}

impl Inner {
    /// Block `index` of file `inode` (the last block may be a fragment tail).
    pub(crate) fn file_block(&self, inode: &Inode, index: u64) -> Result<FileBlock> {
        let Data::File(f) = &inode.data else {
            return Err(if matches!(inode.data, Data::Dir(_)) {
                Error::IsDir
            } else {
                Error::corrupt("not a regular file", inode.inode_ref.0)
            });
        };
        let bs = u64::from(self.sb.block_size);
        let start = index.checked_mul(bs).filter(|s| *s < inode.size);
        let start = start.ok_or(Error::corrupt(
            "block index past end of file",
            inode.inode_ref.0,
        ))?;
        let want = (inode.size - start).min(bs) as usize;
        let block = match usize::try_from(index)
            .ok()
            .and_then(|i| f.sizes.get(i).map(|s| (i, *s)))
        {
            Some((_, 0)) => {
                return Ok(FileBlock {
                    block: None,
                    range: 0..want,
                })
            }
            Some((i, size)) => self.data_block(f, i, size)?,
            None => return self.tail(f, want, inode),
        };
        if block.len() != want {
            return Err(Error::corrupt(
                "data block has the wrong size",
                f.blocks_start,
            ));
        }
        Ok(FileBlock {
            block: Some(block),
            range: 0..want,
        })
    }

    fn data_block(&self, f: &FileLayout, i: usize, size: u32) -> Result<Arc<Vec<u8>>> {
        let at = f.blocks_start.checked_add(f.offsets[i]);
        let at = at.ok_or(Error::corrupt(
            "data block offset overflows",
            f.blocks_start,
        ))?;
        self.block_at(at, size)
    }

    /// The decompressed data or fragment block at `at` with on-disk size word `size`.
    fn block_at(&self, at: u64, size: u32) -> Result<Arc<Vec<u8>>> {
        self.caches.data.get_or_load(at, || {
            let block = self.load_block(at, size)?;
            let weight = block.capacity() + 64;
            Ok((Arc::new(block), weight))
        })
    }

    fn load_block(&self, at: u64, size: u32) -> Result<Vec<u8>> {
        let len = (size & 0x00ff_ffff) as usize;
        if len == 0 || len > self.sb.block_size as usize {
            return Err(Error::corrupt("bad data block size", at));
        }
        let mut raw = vec![0u8; len];
        self.source.read_exact_at(at, &mut raw)?;
        if size & UNCOMPRESSED != 0 {
            Ok(raw)
        } else {
            self.compressor
                .decompress(&raw, self.sb.block_size as usize, at)
        }
    }

    fn tail(&self, f: &FileLayout, want: usize, inode: &Inode) -> Result<FileBlock> {
        let (index, offset) = f
            .fragment
            .ok_or(Error::corrupt("file block missing", inode.inode_ref.0))?;
        let frag = self.fragment(index)?;
        if frag.start >= self.sb.bytes_used {
            return Err(Error::corrupt("fragment outside the image", frag.start));
        }
        let block = self.block_at(frag.start, frag.size)?;
        let start = offset as usize;
        let range = start..start.saturating_add(want);
        if range.end > block.len() {
            return Err(Error::corrupt("file tail outside its fragment", frag.start));
        }
        Ok(FileBlock {
            block: Some(block),
            range,
        })
    }

    /// Copies file bytes from `offset` into `buf`; returns how many (0 at end of file).
    pub(crate) fn read_file(&self, inode: &Inode, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let bs = u64::from(self.sb.block_size);
        let mut done = 0usize;
        while done < buf.len() {
            let pos = offset.saturating_add(done as u64);
            if pos >= inode.size {
                break;
            }
            let block = self.file_block(inode, pos / bs)?;
            let within = (pos % bs) as usize;
            let src = block.get(within..).unwrap_or_default();
            let n = src.len().min(buf.len() - done);
            if n == 0 {
                return Err(Error::corrupt("empty data block", inode.inode_ref.0));
            }
            buf[done..done + n].copy_from_slice(&src[..n]);
            done += n;
        }
        Ok(done)
    }
}
