//! The lazy squashfs 4.0 reader.
//!
//! [`Squashfs::open`] reads the superblock and the small lookup-table indexes (id,
//! fragment, export, xattr id); inodes, directories and data are read on demand from a
//! [`Source`] through bounded caches. Every structure is checked as it is parsed; a
//! damaged image yields [`Error`], never a panic.

mod compression;
mod dir;
mod dir_index;
mod error;
mod export;
mod file;
mod fragment;
mod id;
mod inode;
mod le;
mod lzo;
mod metadata;
mod superblock;
mod table;
mod verify;
mod xattr;

use std::path::{Component, Path};
use std::sync::Arc;

pub use compression::Compressor;
pub use dir::{Dir, DirEntry};
pub use error::{Error, Result};
pub use file::FileBlock;
pub use inode::{Inode, InodeRef, Kind};
pub use superblock::Superblock;
pub use verify::VerifyReport;
pub use xattr::Xattr;

use crate::cache::{Cache, CacheConfig};
use crate::source::Source;
use metadata::MetaBlock;
use table::Table;

/// At most this much of the metadata tables is prefetched ([`Squashfs::prefetch_tables`]).
const PREFETCH_MAX: u64 = 64 << 20;

/// The caches of one open image.
pub(crate) struct Caches {
    pub(crate) meta: Cache<Arc<MetaBlock>>,
    pub(crate) inodes: Cache<Arc<Inode>>,
    pub(crate) dirs: Cache<Arc<Dir>>,
    pub(crate) data: Cache<Arc<Vec<u8>>>,
}

impl Caches {
    /// Splits `c.bytes` (at least 1 MiB): 1/8 each for metadata blocks, inodes and
    /// directories, the rest for data blocks of `block_size` bytes; a shard holds at
    /// least 4 of its cache's largest values.
    fn new(c: CacheConfig, block_size: u32) -> Self {
        let b = c.bytes.max(1 << 20);
        let meta = 4 * (metadata::BLOCK as u64 + 64);
        Self {
            meta: Cache::with_min_shard(b / 8, c.shards, meta),
            inodes: Cache::with_min_shard(b / 8, c.shards, 64 << 10),
            dirs: Cache::with_min_shard(b / 8, c.shards, 256 << 10),
            data: Cache::with_min_shard(b - 3 * (b / 8), c.shards, 4 * u64::from(block_size)),
        }
    }
}

/// Shared state of an open image.
pub(crate) struct Inner {
    pub(crate) source: Source,
    pub(crate) sb: Superblock,
    pub(crate) compressor: Compressor,
    pub(crate) caches: Caches,
    pub(crate) ids: Vec<u32>,
    pub(crate) fragments: Table,
    pub(crate) exports: Option<Table>,
    pub(crate) xattr: Option<xattr::XattrTable>,
}

/// An open squashfs image; cheap to clone and share between threads.
#[derive(Clone)]
pub struct Squashfs {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Squashfs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Squashfs")
            .field("superblock", &self.inner.sb)
            .finish()
    }
}

impl Squashfs {
    /// Opens the image in `source`, reading only the superblock and table indexes.
    pub fn open(source: Source, cache: CacheConfig) -> Result<Self> {
        // Exactly the bytes asked for while opening; readahead again for the data.
        source.readahead(false);
        let sb = Superblock::read(&source)?;
        let compressor = Compressor::from_id(sb.compressor)?;
        let mut inner = Inner {
            fragments: Table::default(),
            exports: None,
            xattr: None,
            ids: Vec::new(),
            caches: Caches::new(cache, sb.block_size),
            compressor,
            sb,
            source,
        };
        inner.ids = inner.load_ids()?;
        let sb = &inner.sb;
        if sb.frag_count > 0 && sb.frag_table != superblock::NO_TABLE {
            inner.fragments =
                Table::read(&inner.source, sb.frag_table, u64::from(sb.frag_count), 16)?;
        }
        if sb.is_exportable() {
            inner.exports = Some(Table::read(
                &inner.source,
                sb.export_table,
                u64::from(sb.inode_count),
                8,
            )?);
        }
        if sb.has_xattrs() {
            inner.xattr = Some(xattr::XattrTable::read(&inner.source, sb.xattr_table)?);
        }
        inner.source.readahead(true);
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Starts reading the inode, directory and lookup tables (together after the data,
    /// up to 64 MiB) into the page cache in the background, so that a cold walk of the
    /// tree finds them there. For a server, once it has read what its mount needs: a
    /// read of a page inside the prefetch waits for the whole request.
    pub fn prefetch_tables(&self) {
        let sb = &self.inner.sb;
        let tables = sb.bytes_used.saturating_sub(sb.inode_table);
        self.inner
            .source
            .will_need(sb.inode_table, tables.min(PREFETCH_MAX));
    }

    /// The superblock.
    pub fn superblock(&self) -> &Superblock {
        &self.inner.sb
    }

    /// The compressor of the image.
    pub fn compressor(&self) -> Compressor {
        self.inner.compressor
    }

    /// The root directory's inode.
    pub fn root(&self) -> Result<Arc<Inode>> {
        let root = self.inode(InodeRef(self.inner.sb.root_inode))?;
        if root.kind != Kind::Dir {
            return Err(Error::corrupt(
                "root inode is not a directory",
                root.inode_ref.0,
            ));
        }
        Ok(root)
    }

    /// The inode at reference `r`.
    pub fn inode(&self, r: InodeRef) -> Result<Arc<Inode>> {
        self.inner.inode(r)
    }

    /// The inode numbered `ino`, when the image has an export table (else `None`).
    pub fn inode_by_number(&self, ino: u32) -> Result<Option<Arc<Inode>>> {
        let Some(r) = self.inner.export_lookup(ino)? else {
            return Ok(None);
        };
        let inode = self.inode(r)?;
        if inode.ino != ino {
            return Err(Error::corrupt("export table points at another inode", r.0));
        }
        Ok(Some(inode))
    }

    /// The listing of directory `dir` (without `.` and `..`).
    pub fn read_dir(&self, dir: &Inode) -> Result<Arc<Dir>> {
        self.inner.dir(dir)
    }

    /// The entry `name` of directory `dir`, if present.
    pub fn lookup(&self, dir: &Inode, name: &[u8]) -> Result<Option<Arc<Inode>>> {
        match self.inner.dir_lookup(dir, name)? {
            Some(e) => Ok(Some(self.entry_inode(&e)?)),
            None => Ok(None),
        }
    }

    /// The inode of directory entry `e`, checked against the entry.
    pub fn entry_inode(&self, e: &DirEntry) -> Result<Arc<Inode>> {
        let inode = self.inode(e.inode_ref)?;
        if inode.ino != e.ino || inode.kind != e.kind {
            return Err(Error::corrupt(
                "directory entry disagrees with its inode",
                e.inode_ref.0,
            ));
        }
        Ok(inode)
    }

    /// The inode at `path` (relative to the root; symlinks are not followed).
    pub fn lookup_path(&self, path: impl AsRef<Path>) -> Result<Arc<Inode>> {
        use std::os::unix::ffi::OsStrExt;
        let path = path.as_ref();
        let mut cur = self.root()?;
        for c in path.components() {
            match c {
                Component::RootDir | Component::CurDir => {}
                Component::Normal(name) => {
                    if cur.kind != Kind::Dir {
                        return Err(Error::NotDir);
                    }
                    cur = self
                        .lookup(&cur, name.as_bytes())?
                        .ok_or_else(|| Error::NotFound(path.display().to_string()))?;
                }
                Component::ParentDir | Component::Prefix(_) => {
                    return Err(Error::NotFound(path.display().to_string()))
                }
            }
        }
        Ok(cur)
    }

    /// The target of symlink `inode`.
    pub fn read_link<'a>(&self, inode: &'a Inode) -> Result<&'a [u8]> {
        match &inode.data {
            inode::Data::Symlink(t) => Ok(t),
            _ => Err(Error::NotSymlink),
        }
    }

    /// Copies bytes of file `inode` from `offset` into `buf`; returns the count read.
    pub fn read(&self, inode: &Inode, offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.inner.read_file(inode, offset, buf)
    }

    /// Block `index` of file `inode`, shared with the cache (no copy).
    pub fn read_block(&self, inode: &Inode, index: u64) -> Result<FileBlock> {
        self.inner.file_block(inode, index)
    }

    /// Every extended attribute of `inode`.
    pub fn xattrs(&self, inode: &Inode) -> Result<Vec<Xattr>> {
        self.inner.xattrs(inode)
    }

    /// The value of extended attribute `name` of `inode`.
    pub fn get_xattr(&self, inode: &Inode, name: &[u8]) -> Result<Vec<u8>> {
        let all = self.xattrs(inode)?;
        let x = all.into_iter().find(|x| x.name == name);
        x.map(|x| x.value).ok_or(Error::NoXattr)
    }
}
