//! A squashfs 4.0 writer: an in-memory [`Tree`] of entries (regular files whose
//! bytes are ranges of a [`Spool`], directories, symlinks, devices, fifos, sockets,
//! with owners, modes, mtimes and xattrs of any namespace squashfs knows) becomes one
//! image, written front to back into any `Write + Seek`.
//!
//! Layout, as mksquashfs lays it out: superblock, data blocks and fragment blocks
//! (`data.rs`, compressed in parallel, order kept), inode table and directory table
//! (`inode.rs`, `dir.rs`, written bottom-up so every directory knows its children's
//! inode references), then the fragment, export, id and xattr tables (`tables.rs`).
//! Output depends only on the tree, the spool bytes and the [`Options`]: entries are
//! sorted by name and no clock is read.

mod compress;
mod data;
mod dir;
mod error;
mod inode;
mod layout;
mod meta;
mod tables;
mod xattr;

use std::collections::BTreeMap;
use std::io::{Seek, Write};

pub use compress::Compression;
pub use error::WriteError;

/// Where regular files' bytes come from: one file (or buffer) read at offsets.
pub trait Spool: Sync {
    /// Fills `buf` from `offset`.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()>;
}

impl Spool for std::fs::File {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(self, buf, offset)
    }
}

impl Spool for [u8] {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        let start = usize::try_from(offset).ok().filter(|s| *s <= self.len());
        let src = start.and_then(|s| self.get(s..s.checked_add(buf.len())?));
        let src = src.ok_or(std::io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// A regular file's bytes: `len` bytes at `offset` of the spool. Entries with the
/// same `id` are hard links of one inode (metadata from the first by path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileData {
    /// Identity of the inode.
    pub id: u64,
    /// Start in the spool.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
}

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory.
    Dir,
    /// A regular file.
    File(FileData),
    /// A symbolic link and its target.
    Symlink(Vec<u8>),
    /// A character device (major, minor).
    Char(u32, u32),
    /// A block device (major, minor).
    Block(u32, u32),
    /// A named pipe.
    Fifo,
    /// A unix socket.
    Socket,
}

/// One entry of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What it is.
    pub kind: EntryKind,
    /// Permission bits with setuid/setgid/sticky (the type bits are ignored).
    pub mode: u16,
    /// Owner, as recorded in the image.
    pub uid: u32,
    /// Group, as recorded in the image.
    pub gid: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: u32,
    /// Extended attributes, full names (`security.capability`); only the `user.`,
    /// `trusted.` and `security.` namespaces exist in squashfs, others are skipped.
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

/// The file tree: entries by relative `/`-separated path, the root being `b""`
/// (a root 0755 root:root directory at time 0 when absent).
pub type Tree = BTreeMap<Vec<u8>, Entry>;

/// How to write the image.
#[derive(Debug, Clone)]
pub struct Options {
    /// Block compressor (default zstd level 3).
    pub compression: Compression,
    /// Data block size, a power of two from 4 KiB to 1 MiB (default 128 KiB).
    pub block_size: u32,
    /// The superblock's creation time (default 0: reproducible).
    pub mkfs_time: u32,
    /// Write the NFS export table (default true, as mksquashfs).
    pub exportable: bool,
    /// Compression threads (default: available cores, at most 8).
    pub threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            compression: Compression::default(),
            block_size: 128 * 1024,
            mkfs_time: 0,
            exportable: true,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(8)),
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Bytes of the image (`bytes_used`, before the 4 KiB padding).
    pub bytes_used: u64,
    /// Number of inodes.
    pub inodes: u32,
    /// Xattrs skipped because squashfs has no such namespace.
    pub skipped_xattrs: usize,
}

/// Writes `tree` as a squashfs image at the current position of `out` (which
/// becomes the image's offset 0), reading file bytes from `spool`.
pub fn write_image<W: Write + Seek, S: Spool + ?Sized>(
    tree: &Tree,
    spool: &S,
    out: &mut W,
    opts: &Options,
) -> Result<Summary, WriteError> {
    if !(4096..=1 << 20).contains(&opts.block_size) || !opts.block_size.is_power_of_two() {
        return Err(WriteError::TooLarge(
            "block size not a power of two in 4 KiB..1 MiB",
        ));
    }
    let layout = layout::Layout::new(tree)?;
    let mut img = tables::Image::start(out, opts)?;
    let files = data::write_data(&layout, spool, &mut img, opts)?;
    img.finish(&layout, &files, opts)
}
