//! `readdir` and `readdirplus`: `.` and `..`, then the listing from the entry after
//! `offset` (offsets are entry positions + 1; the kernel caches whole listings).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use fuser::{FileType, Generation, INodeNo, ReplyDirectory, ReplyDirectoryPlus};

use std::sync::atomic::Ordering::Relaxed;

use super::attr::{errno, file_type};
use super::{SquashFuse, TTL};
use crate::squashfs::{DirEntry, Error, Inode};

/// File lookups between two listings that make the next listing a readdirplus.
const STAT_WALK_LOOKUPS: u64 = 4;

impl SquashFuse {
    /// The node id of `dir`'s parent (`dir` has node id `node`).
    fn parent_node(&self, dir: &Inode, node: u64) -> u64 {
        if node == 1 {
            return 1;
        }
        match dir.parent_ino() {
            Some(p) if p != 0 && p <= self.image().superblock().inode_count => self.node_id(p),
            _ => 1,
        }
    }

    /// Hands `.`, `..` and then (when `entries`) the listing of directory `node`,
    /// from position `offset` on, to `add` with the offset of the next entry, until
    /// `add` answers true (the reply is full). Both kinds of listing walk through here.
    fn walk(
        &self,
        node: u64,
        offset: u64,
        entries: bool,
        mut add: impl FnMut(u64, &OsStr, Slot<'_>) -> Result<bool, Error>,
    ) -> Result<(), Error> {
        let dir = self.resolve(node)?;
        let listing = self.image().read_dir(&dir)?;
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let dots = [
            (node, &b"."[..]),
            (self.parent_node(&dir, node), &b".."[..]),
        ];
        for (i, (n, name)) in dots.into_iter().enumerate().skip(start) {
            if add(i as u64 + 1, OsStr::from_bytes(name), Slot::Dot(n, &dir))? {
                return Ok(());
            }
        }
        if !entries {
            return Ok(());
        }
        let skip = start.saturating_sub(2);
        for (i, e) in listing.entries().iter().enumerate().skip(skip) {
            let name = OsStr::from_bytes(listing.name(e));
            if add(i as u64 + 3, name, Slot::Entry(e))? {
                break;
            }
        }
        Ok(())
    }

    pub(super) fn readdir_reply(&self, node: u64, offset: u64, mut reply: ReplyDirectory) {
        let listed = self.walk(node, offset, true, |next, name, slot| {
            Ok(match slot {
                Slot::Dot(n, _) => reply.add(INodeNo(n), next, FileType::Directory, name),
                Slot::Entry(e) => {
                    let n = INodeNo(self.node_id(e.ino));
                    reply.add(n, next, file_type(e.kind), name)
                }
            })
        });
        match listed {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(errno(&e)),
        }
    }

    /// Whether files were looked up since the last listing began (`ls -l`, `find -ls`,
    /// opening what was listed): then listings carry attributes (readdirplus), else the
    /// kernel is spared instantiating an inode per entry that nobody will stat.
    fn stat_walk(&self) -> bool {
        let now = self.inner.file_lookups.load(Relaxed);
        let before = self.inner.file_lookups_seen.swap(now, Relaxed);
        now.saturating_sub(before) >= STAT_WALK_LOOKUPS
    }

    pub(super) fn readdirplus_reply(&self, node: u64, offset: u64, mut reply: ReplyDirectoryPlus) {
        // A fresh listing without a stat walk going on answers only `.` and `..`: the
        // kernel then lists the rest with plain readdir.
        let entries = offset != 0 || self.stat_walk();
        let listed = self.walk(node, offset, entries, |next, name, slot| {
            // The kernel does not instantiate `.`/`..` from readdirplus; attrs are informative.
            let (n, attr, inode) = match slot {
                Slot::Dot(n, dir) => (n, self.attr(dir, n), None),
                Slot::Entry(e) => {
                    let inode = self.image().entry_inode(e)?;
                    let n = self.node_id(inode.ino);
                    (n, self.attr(&inode, n), Some(inode))
                }
            };
            let full = reply.add(INodeNo(n), next, name, &TTL, &attr, Generation(0));
            if let (false, Some(inode)) = (full, inode) {
                self.remember(&inode);
            }
            Ok(full)
        });
        match listed {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(errno(&e)),
        }
    }
}

/// What [`SquashFuse::walk`] hands out: `.` or `..` (node id, and the directory
/// listed), or an entry of the listing.
enum Slot<'a> {
    Dot(u64, &'a Inode),
    Entry(&'a DirEntry),
}
