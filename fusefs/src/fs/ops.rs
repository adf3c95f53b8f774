//! The `fuser::Filesystem` operations: lookup, attributes, data, directories, xattrs.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::Ordering::Relaxed;

use fuser::{
    AccessFlags, Errno, FileHandle, Filesystem, FopenFlags, Generation, INodeNo, IoctlFlags,
    KernelConfig, LockOwner, OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyDirectoryPlus,
    ReplyEmpty, ReplyEntry, ReplyIoctl, ReplyOpen, ReplyStatfs, ReplyXattr, Request,
};

use super::attr::negative_attr;
use super::{SquashFuse, TTL};
use crate::squashfs::Kind;

fn open_mode_ok(flags: OpenFlags) -> bool {
    flags.0 & libc::O_ACCMODE == libc::O_RDONLY
}

impl Filesystem for SquashFuse {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        use fuser::InitFlags as F;
        for flag in [
            F::FUSE_DO_READDIRPLUS,
            F::FUSE_READDIRPLUS_AUTO,
            F::FUSE_CACHE_SYMLINKS,
            F::FUSE_PARALLEL_DIROPS,
        ] {
            let _ = config.add_capabilities(flag);
        }
        let _ = config
            .set_max_readahead(u32::MAX)
            .or_else(|max| config.set_max_readahead(max));
        let _ = config.set_max_background(64);
        // Opening changes nothing on an immutable image: answering OPEN/OPENDIR with
        // ENOSYS makes the kernel open with KEEP_CACHE (and CACHE_DIR) on its own.
        let caps = config.capabilities();
        let inner = &self.inner;
        inner
            .zero_message_open
            .store(caps.contains(F::FUSE_NO_OPEN_SUPPORT), Relaxed);
        inner
            .zero_message_opendir
            .store(caps.contains(F::FUSE_NO_OPENDIR_SUPPORT), Relaxed);
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let dir = tryr!(reply, self.resolve(parent.0));
        let found = tryr!(reply, self.image().lookup(&dir, name.as_bytes()));
        let Some(inode) = found else {
            // A negative entry with a timeout: the kernel caches the miss (library and
            // module search paths probe many names that do not exist).
            return reply.entry(&TTL, &negative_attr(), Generation(0));
        };
        self.remember(&inode);
        if inode.kind != Kind::Dir {
            self.inner.file_lookups.fetch_add(1, Relaxed);
        }
        reply.entry(
            &TTL,
            &self.attr(&inode, self.node_id(inode.ino)),
            Generation(0),
        );
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let inode = tryr!(reply, self.resolve(ino.0));
        reply.attr(&TTL, &self.attr(&inode, ino.0));
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        let inode = tryr!(reply, self.resolve(ino.0));
        let target = tryr!(reply, self.image().read_link(&inode));
        reply.data(target);
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        if self.inner.zero_message_open.load(Relaxed) {
            return reply.error(Errno::ENOSYS);
        }
        let inode = tryr!(reply, self.resolve(ino.0));
        match inode.kind {
            Kind::Dir => reply.error(Errno::EISDIR),
            _ if !open_mode_ok(flags) => reply.error(Errno::EROFS),
            _ => reply.opened(FileHandle(0), FopenFlags::FOPEN_KEEP_CACHE),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        self.read_reply(ino.0, offset, size, reply);
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        if self.inner.zero_message_opendir.load(Relaxed) {
            return reply.error(Errno::ENOSYS);
        }
        let inode = tryr!(reply, self.resolve(ino.0));
        if inode.kind != Kind::Dir {
            return reply.error(Errno::ENOTDIR);
        }
        reply.opened(
            FileHandle(0),
            FopenFlags::FOPEN_KEEP_CACHE | FopenFlags::FOPEN_CACHE_DIR,
        );
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        reply: ReplyDirectory,
    ) {
        self.readdir_reply(ino.0, offset, reply);
    }

    fn readdirplus(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        reply: ReplyDirectoryPlus,
    ) {
        self.readdirplus_reply(ino.0, offset, reply);
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lo: LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.error(Errno::ENOSYS);
    }

    /// No ioctl applies to a squashfs file. The kernel forwards every one, even after
    /// ENOSYS (unlike OPEN or FLUSH), and every `isatty()` on an open file is one
    /// (`TCGETS`: a python start-up asks 132 times), so the answer is the one `isatty`
    /// expects, given at once (the library's default logs a warning per call).
    fn ioctl(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _flags: IoctlFlags,
        _cmd: u32,
        _in_data: &[u8],
        _out_size: u32,
        reply: ReplyIoctl,
    ) {
        reply.error(Errno::ENOTTY);
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let sb = self.image().superblock();
        let blocks = sb.bytes_used.div_ceil(u64::from(sb.block_size));
        reply.statfs(
            blocks,
            0,
            0,
            u64::from(sb.inode_count),
            0,
            sb.block_size,
            256,
            sb.block_size,
        );
    }

    fn getxattr(&self, _req: &Request, ino: INodeNo, name: &OsStr, size: u32, reply: ReplyXattr) {
        self.getxattr_reply(ino.0, name, size, reply);
    }

    fn listxattr(&self, req: &Request, ino: INodeNo, size: u32, reply: ReplyXattr) {
        self.listxattr_reply(ino.0, req.pid(), size, reply);
    }

    fn access(&self, req: &Request, ino: INodeNo, mask: AccessFlags, reply: ReplyEmpty) {
        let inode = tryr!(reply, self.resolve(ino.0));
        if mask.contains(AccessFlags::W_OK) {
            return reply.error(Errno::EROFS);
        }
        let owner = self.attr(&inode, ino.0);
        if allowed(&inode, (owner.uid, owner.gid), (req.uid(), req.gid()), mask) {
            reply.ok();
        } else {
            reply.error(Errno::EACCES);
        }
    }
}

/// Unix permission check of `mask` (R_OK/X_OK) for the caller `(uid, gid)` against the
/// reported `owner` (supplementary groups are not visible here; the kernel's own check
/// with `default_permissions` covers them).
fn allowed(
    inode: &crate::squashfs::Inode,
    owner: (u32, u32),
    (uid, gid): (u32, u32),
    mask: AccessFlags,
) -> bool {
    let want = (mask.bits() & 0o7) as u32;
    if uid == 0 {
        return want & 1 == 0 || inode.mode & 0o111 != 0 || inode.kind == Kind::Dir;
    }
    let bits = if uid == owner.0 {
        inode.mode >> 6
    } else if gid == owner.1 {
        inode.mode >> 3
    } else {
        inode.mode
    } & 0o7;
    bits & want == want
}
