//! The read-only FUSE filesystem serving one [`Squashfs`] image.
//!
//! Requests arrive from `fuser` worker threads (see `crate::mount`); each one resolves a
//! FUSE node id to an inode through [`inodes::InodeMap`] and answers from the image's
//! caches. [`SquashFuse`] is an `Arc` inside, so every worker shares one set of caches.

/// Unwraps a reader result or answers the request with the error's errno.
macro_rules! tryr {
    ($reply:ident, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return $reply.error(super::attr::errno(&e)),
        }
    };
}

mod attr;
mod caller;
mod data;
mod inodes;
mod ops;
mod owners;
mod push;
mod readdir;
mod xattr;

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;
use std::time::Duration;

use crate::squashfs::{Error, Inode, InodeRef, Squashfs};
use inodes::InodeMap;
pub use owners::{IdRange, OwnerMap};

/// How long the kernel may cache entries and attributes: the image never changes.
const TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// A `fuser::Filesystem` serving a squashfs image read-only; cheap to clone and share.
#[derive(Clone, Debug)]
pub struct SquashFuse {
    inner: Arc<FsInner>,
}

#[derive(Debug)]
struct FsInner {
    image: Squashfs,
    root_ino: u32,
    root_ref: InodeRef,
    /// Numbers handed to the kernel, for images without an export table.
    inodes: InodeMap,
    /// The image has an export table: it maps numbers to inodes (through the bounded
    /// metadata cache), so `inodes` stays empty.
    exportable: bool,
    /// The kernel opens files without asking us (`FUSE_NO_OPEN_SUPPORT`).
    zero_message_open: AtomicBool,
    /// The kernel opens directories without asking us (`FUSE_NO_OPENDIR_SUPPORT`).
    zero_message_opendir: AtomicBool,
    /// Lookups of non-directories so far: someone is stat-ing what readdir listed.
    file_lookups: AtomicU64,
    /// `file_lookups` when the last listing started.
    file_lookups_seen: AtomicU64,
    /// How the image's owners are reported.
    owners: OwnerMap,
    /// Blocks on their way to the kernel's page cache.
    push: push::Pusher,
}

impl SquashFuse {
    /// Serves `image`; FUSE node ids are the image's inode numbers, with the root's
    /// number swapped with 1 (`FUSE_ROOT_ID`).
    pub fn new(image: Squashfs) -> Self {
        Self::with_owners(image, OwnerMap::default())
    }

    /// As [`SquashFuse::new`], reporting the image's owners through `owners`.
    pub fn with_owners(image: Squashfs, owners: OwnerMap) -> Self {
        let root_ref = InodeRef(image.superblock().root_inode);
        let root_ino = image.root().map(|r| r.ino).unwrap_or(1);
        // After the root inode: its read does not wait for the prefetch.
        image.prefetch_tables();
        let exportable = image.superblock().is_exportable();
        Self {
            inner: Arc::new(FsInner {
                image,
                root_ino,
                root_ref,
                inodes: InodeMap::new(),
                exportable,
                zero_message_open: AtomicBool::new(false),
                zero_message_opendir: AtomicBool::new(false),
                file_lookups: AtomicU64::new(0),
                file_lookups_seen: AtomicU64::new(0),
                owners,
                push: push::Pusher::default(),
            }),
        }
    }

    /// The image being served.
    pub fn image(&self) -> &Squashfs {
        &self.inner.image
    }

    /// The attributes of `inode` under node id `node`, owners mapped.
    fn attr(&self, inode: &Inode, node: u64) -> fuser::FileAttr {
        let mut attr = attr::file_attr(inode, node);
        attr.uid = self.inner.owners.uid(attr.uid);
        attr.gid = self.inner.owners.gid(attr.gid);
        attr
    }

    /// The FUSE node id of squashfs inode number `ino` (and back: the map is its own inverse).
    fn node_id(&self, ino: u32) -> u64 {
        let root = self.inner.root_ino;
        u64::from(match ino {
            i if i == root => 1,
            1 => root,
            i => i,
        })
    }

    /// The inode behind FUSE node id `node`.
    fn resolve(&self, node: u64) -> Result<Arc<Inode>, Error> {
        let ino = u32::try_from(node).map_err(|_| Error::NotFound(format!("node {node}")))?;
        let ino = self.node_id(ino) as u32;
        let r = if ino == self.inner.root_ino {
            Some(self.inner.root_ref)
        } else {
            self.inner.inodes.get(ino)
        };
        if let Some(r) = r {
            return self.inner.image.inode(r);
        }
        let found = self.inner.image.inode_by_number(ino)?;
        found.ok_or_else(|| Error::NotFound(format!("node {node}")))
    }

    /// Remembers where inode `inode` lives, before its node id is handed to the kernel
    /// (unless the export table knows).
    fn remember(&self, inode: &Inode) {
        if inode.ino != self.inner.root_ino && !self.inner.exportable {
            self.inner.inodes.insert(inode.ino, inode.inode_ref);
        }
    }
}
