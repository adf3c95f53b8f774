//! `readdir` and `readdirplus`: `.` and `..`, then the listing from the entry after
//! `offset` (offsets are entry positions + 1; the kernel caches whole listings).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use fuser::{FileType, Generation, INodeNo, ReplyDirectory, ReplyDirectoryPlus};

use super::attr::{file_attr, file_type};
use std::sync::atomic::Ordering::Relaxed;

use super::{SquashFuse, TTL};
use crate::squashfs::Inode;

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

    pub(super) fn readdir_reply(&self, node: u64, offset: u64, mut reply: ReplyDirectory) {
        let dir = tryr!(reply, self.resolve(node));
        let listing = tryr!(reply, self.image().read_dir(&dir));
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let dots = [
            (node, &b"."[..]),
            (self.parent_node(&dir, node), &b".."[..]),
        ];
        for (i, (n, name)) in dots.into_iter().enumerate().skip(start) {
            if reply.add(
                INodeNo(n),
                i as u64 + 1,
                FileType::Directory,
                OsStr::from_bytes(name),
            ) {
                return reply.ok();
            }
        }
        for (i, e) in listing
            .entries()
            .iter()
            .enumerate()
            .skip(start.saturating_sub(2))
        {
            let name = OsStr::from_bytes(listing.name(e));
            if reply.add(
                INodeNo(self.node_id(e.ino)),
                i as u64 + 3,
                file_type(e.kind),
                name,
            ) {
                break;
            }
        }
        reply.ok();
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
        let dir = tryr!(reply, self.resolve(node));
        let listing = tryr!(reply, self.image().read_dir(&dir));
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let dots = [
            (node, &b"."[..]),
            (self.parent_node(&dir, node), &b".."[..]),
        ];
        for (i, (n, name)) in dots.into_iter().enumerate().skip(start) {
            // The kernel does not instantiate `.`/`..` from readdirplus; attrs are informative.
            let attr = file_attr(&dir, n);
            if reply.add(
                INodeNo(n),
                i as u64 + 1,
                OsStr::from_bytes(name),
                &TTL,
                &attr,
                Generation(0),
            ) {
                return reply.ok();
            }
        }
        if offset == 0 && !self.stat_walk() {
            // Only `.` and `..`: the kernel lists the rest with plain readdir.
            return reply.ok();
        }
        for (i, e) in listing
            .entries()
            .iter()
            .enumerate()
            .skip(start.saturating_sub(2))
        {
            let inode = tryr!(reply, self.image().entry_inode(e));
            let n = self.node_id(inode.ino);
            let attr = file_attr(&inode, n);
            let name = OsStr::from_bytes(listing.name(e));
            if reply.add(INodeNo(n), i as u64 + 3, name, &TTL, &attr, Generation(0)) {
                break;
            }
            self.remember(&inode);
        }
        reply.ok();
    }
}
