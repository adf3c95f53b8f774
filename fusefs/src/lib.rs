//! fusefs: a lazy squashfs reader and a read-only FUSE filesystem that serves it.
//!
//! The crate never parses SIF: it is handed a file, an offset and a length
//! ([`Source`]). [`Squashfs`] reads the image lazily through bounded caches;
//! [`SquashFuse`] serves it as a `fuser::Filesystem`. [`mod@write`] writes new images
//! (used to convert OCI layers to SIF).

mod cache;
mod fs;
pub mod mount;
mod source;
mod squashfs;
#[allow(unsafe_code)]
mod sys;
pub mod write;

pub use cache::CacheConfig;
pub use fs::{IdRange, OwnerMap, SquashFuse};
pub use source::{Source, SourceError};
pub use squashfs::{
    Compressor, Dir, DirEntry, Error, FileBlock, Inode, InodeRef, Kind, Squashfs, Superblock,
    VerifyReport, Xattr,
};
