//! Decoding inodes from the inode table: the common header, then each type's body.
//!
//! Called through the inode cache; every field that points elsewhere (directory block
//! offset, file block list, symlink length) is checked here.

use std::sync::Arc;

use super::{Data, DirLoc, FileLayout, Inode, InodeRef, Kind};
use crate::squashfs::error::{Error, Result};
use crate::squashfs::metadata::{MetaReader, BLOCK};
use crate::squashfs::Inner;

const NO_INDEX: u32 = u32::MAX;
const MAX_SYMLINK: u32 = 64 * 1024;
/// Cap on a file's block count (2 TiB at 128 KiB blocks) bounding the block list.
const MAX_BLOCKS: u64 = 1 << 24;

struct Header {
    kind_type: u16,
    mode: u16,
    uid: u32,
    gid: u32,
    mtime: u32,
    ino: u32,
}

fn opt(x: u32) -> Option<u32> {
    (x != NO_INDEX).then_some(x)
}

impl Inner {
    /// The inode at `r`, from the cache or decoded from the inode table.
    pub(crate) fn inode(&self, r: InodeRef) -> Result<Arc<Inode>> {
        self.caches.inodes.get_or_load(r.0, || {
            let inode = self.decode_inode(r)?;
            let weight = 160
                + match &inode.data {
                    Data::File(f) => f.sizes.len() * 12,
                    Data::Symlink(t) => t.len(),
                    _ => 0,
                };
            Ok((Arc::new(inode), weight))
        })
    }

    fn decode_inode(&self, r: InodeRef) -> Result<Inode> {
        let block = self
            .sb
            .inode_table
            .checked_add(r.block())
            .filter(|b| *b < self.sb.dir_table)
            .ok_or(Error::corrupt(
                "inode reference outside the inode table",
                r.0,
            ))?;
        if r.offset() >= BLOCK {
            return Err(Error::corrupt("inode offset past block end", r.0));
        }
        let mut m = self.meta_reader(block, r.offset())?;
        let h = Header {
            kind_type: m.u16()?,
            mode: m.u16()?,
            uid: self.id(m.u16()?)?,
            gid: self.id(m.u16()?)?,
            mtime: m.u32()?,
            ino: m.u32()?,
        };
        let kind = Kind::from_type(h.kind_type).ok_or(Error::corrupt("unknown inode type", r.0))?;
        if h.ino == 0 || h.ino > self.sb.inode_count {
            return Err(Error::corrupt("inode number out of range", r.0));
        }
        let mut inode = Inode {
            ino: h.ino,
            inode_ref: r,
            kind,
            mode: kind.mode_bits() | u32::from(h.mode & 0o7777),
            uid: h.uid,
            gid: h.gid,
            mtime: h.mtime,
            nlink: 1,
            size: 0,
            rdev: 0,
            xattr: None,
            data: Data::None,
        };
        self.decode_body(&mut m, h.kind_type, &mut inode)?;
        Ok(inode)
    }

    fn decode_body(&self, m: &mut MetaReader<'_>, t: u16, i: &mut Inode) -> Result<()> {
        match t {
            1 => self.basic_dir(m, i),
            8 => self.ext_dir(m, i),
            2 | 9 => self.reg(m, i, t == 9),
            3 | 10 => {
                i.nlink = m.u32()?;
                let len = m.u32()?;
                if len > MAX_SYMLINK {
                    return Err(Error::corrupt("symlink target too long", i.inode_ref.0));
                }
                let mut target = Vec::new();
                m.read_into(&mut target, len as usize)?;
                i.size = u64::from(len);
                i.data = Data::Symlink(target.into_boxed_slice());
                if t == 10 {
                    i.xattr = opt(m.u32()?);
                }
                Ok(())
            }
            4 | 5 | 11 | 12 => {
                i.nlink = m.u32()?;
                i.rdev = m.u32()?;
                if t > 10 {
                    i.xattr = opt(m.u32()?);
                }
                Ok(())
            }
            _ => {
                i.nlink = m.u32()?;
                if t > 10 {
                    i.xattr = opt(m.u32()?);
                }
                Ok(())
            }
        }
    }

    fn basic_dir(&self, m: &mut MetaReader<'_>, i: &mut Inode) -> Result<()> {
        let block = m.u32()?;
        i.nlink = m.u32()?;
        let size = u32::from(m.u16()?);
        let offset = m.u16()?;
        let parent = m.u32()?;
        self.set_dir(i, block, offset, size, parent)
    }

    fn ext_dir(&self, m: &mut MetaReader<'_>, i: &mut Inode) -> Result<()> {
        i.nlink = m.u32()?;
        let size = m.u32()?;
        let block = m.u32()?;
        let parent = m.u32()?;
        let index_count = m.u16()?;
        let offset = m.u16()?;
        i.xattr = opt(m.u32()?);
        self.set_dir(i, block, offset, size, parent)?;
        if let (Data::Dir(loc), true) = (&mut i.data, index_count > 0) {
            let (at, off) = m.position();
            loc.index = Some((index_count, at, off));
        }
        Ok(())
    }

    fn set_dir(
        &self,
        i: &mut Inode,
        block: u32,
        offset: u16,
        size: u32,
        parent: u32,
    ) -> Result<()> {
        let len = size
            .checked_sub(3)
            .ok_or(Error::corrupt("directory size below 3", i.inode_ref.0))?;
        if usize::from(offset) >= BLOCK {
            return Err(Error::corrupt(
                "directory offset past block end",
                i.inode_ref.0,
            ));
        }
        i.size = u64::from(size);
        i.data = Data::Dir(DirLoc {
            block,
            offset,
            len,
            parent,
            index: None,
        });
        Ok(())
    }

    fn reg(&self, m: &mut MetaReader<'_>, i: &mut Inode, ext: bool) -> Result<()> {
        let (start, size, frag, frag_off) = if ext {
            let start = m.u64()?;
            let size = m.u64()?;
            let _sparse = m.u64()?;
            i.nlink = m.u32()?;
            let frag = m.u32()?;
            let off = m.u32()?;
            i.xattr = opt(m.u32()?);
            (start, size, frag, off)
        } else {
            let start = u64::from(m.u32()?);
            let frag = m.u32()?;
            let off = m.u32()?;
            (start, u64::from(m.u32()?), frag, off)
        };
        i.size = size;
        let fragment = opt(frag).map(|f| (f, frag_off));
        let bs = u64::from(self.sb.block_size);
        let n = if fragment.is_some() {
            size / bs
        } else {
            size.div_ceil(bs)
        };
        if n > MAX_BLOCKS {
            return Err(Error::corrupt("file too large", i.inode_ref.0));
        }
        i.data = Data::File(self.block_list(m, start, n, fragment, i.inode_ref)?);
        Ok(())
    }

    fn block_list(
        &self,
        m: &mut MetaReader<'_>,
        blocks_start: u64,
        n: u64,
        fragment: Option<(u32, u32)>,
        at: InodeRef,
    ) -> Result<FileLayout> {
        let corrupt = || Error::corrupt("file block list exceeds the image", at.0);
        let mut sizes = Vec::with_capacity(usize::try_from(n.min(4096)).map_err(|_| corrupt())?);
        let mut offsets = Vec::with_capacity(sizes.capacity() + 1);
        let mut off = 0u64;
        offsets.push(0);
        for _ in 0..n {
            let s = m.u32()?;
            if s & !0x01ff_ffff != 0 || s & 0x00ff_ffff > self.sb.block_size {
                return Err(Error::corrupt("bad data block size", at.0));
            }
            off = off
                .checked_add(u64::from(s & 0x00ff_ffff))
                .ok_or_else(corrupt)?;
            sizes.push(s);
            offsets.push(off);
        }
        let end = blocks_start.checked_add(off).ok_or_else(corrupt)?;
        if end > self.sb.bytes_used {
            return Err(corrupt());
        }
        Ok(FileLayout {
            blocks_start,
            sizes: sizes.into_boxed_slice(),
            offsets: offsets.into_boxed_slice(),
            fragment,
        })
    }
}
