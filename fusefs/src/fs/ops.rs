//! The `fuser::Filesystem` operations: lookup, attributes, data, directories, xattrs.

use std::cell::RefCell;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::Ordering::Relaxed;

use fuser::{
    AccessFlags, Errno, FileHandle, Filesystem, FopenFlags, Generation, INodeNo, KernelConfig,
    LockOwner, OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyDirectoryPlus, ReplyEmpty,
    ReplyEntry, ReplyOpen, ReplyStatfs, ReplyXattr, Request,
};

use super::attr::{errno, file_attr, file_type};
use super::caller::may_list_trusted;
use super::{SquashFuse, TTL};
use crate::squashfs::Kind;

thread_local! {
    static READ_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

macro_rules! tryr {
    ($reply:ident, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return $reply.error(errno(&e)),
        }
    };
}

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
            return reply.error(Errno::ENOENT);
        };
        self.remember(&inode);
        reply.entry(
            &TTL,
            &file_attr(&inode, self.node_id(inode.ino)),
            Generation(0),
        );
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let inode = tryr!(reply, self.resolve(ino.0));
        reply.attr(&TTL, &file_attr(&inode, ino.0));
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
        let inode = tryr!(reply, self.resolve(ino.0));
        if inode.kind != Kind::File {
            return reply.error(Errno::EINVAL);
        }
        let want = u64::from(size).min(inode.size.saturating_sub(offset)) as usize;
        if want == 0 {
            return reply.data(&[]);
        }
        let bs = u64::from(self.image().superblock().block_size);
        let within = (offset % bs) as usize;
        if within + want <= bs as usize {
            let block = tryr!(reply, self.image().read_block(&inode, offset / bs));
            return match block.get(within..within + want) {
                Some(bytes) => reply.data(bytes),
                None => reply.error(Errno::EIO),
            };
        }
        READ_BUF.with(|buf| {
            let mut buf = buf.borrow_mut();
            buf.resize(want, 0);
            match self.image().read(&inode, offset, &mut buf[..want]) {
                Ok(n) => reply.data(&buf[..n]),
                Err(e) => reply.error(errno(&e)),
            }
        })
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
        mut reply: ReplyDirectory,
    ) {
        let dir = tryr!(reply, self.resolve(ino.0));
        let listing = tryr!(reply, self.image().read_dir(&dir));
        let parent = self.parent_node(&dir, ino.0);
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let dots = [(ino.0, &b"."[..]), (parent, &b".."[..])];
        for (i, (node, name)) in dots.into_iter().enumerate().skip(start) {
            if reply.add(
                INodeNo(node),
                i as u64 + 1,
                fuser::FileType::Directory,
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

    fn readdirplus(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectoryPlus,
    ) {
        let dir = tryr!(reply, self.resolve(ino.0));
        let listing = tryr!(reply, self.image().read_dir(&dir));
        let parent = self.parent_node(&dir, ino.0);
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let dots = [(ino.0, &b"."[..]), (parent, &b".."[..])];
        for (i, (node, name)) in dots.into_iter().enumerate().skip(start) {
            let attr = file_attr(&dir, node);
            if reply.add(
                INodeNo(node),
                i as u64 + 1,
                OsStr::from_bytes(name),
                &TTL,
                &attr,
                Generation(0),
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
            let inode = tryr!(reply, self.image().entry_inode(e));
            let node = self.node_id(inode.ino);
            let attr = file_attr(&inode, node);
            let name = OsStr::from_bytes(listing.name(e));
            if reply.add(
                INodeNo(node),
                i as u64 + 3,
                name,
                &TTL,
                &attr,
                Generation(0),
            ) {
                break;
            }
            self.remember(&inode);
        }
        reply.ok();
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
        let inode = tryr!(reply, self.resolve(ino.0));
        let value = tryr!(reply, self.image().get_xattr(&inode, name.as_bytes()));
        xattr_reply(reply, &value, size);
    }

    fn listxattr(&self, req: &Request, ino: INodeNo, size: u32, reply: ReplyXattr) {
        let inode = tryr!(reply, self.resolve(ino.0));
        let all = tryr!(reply, self.image().xattrs(&inode));
        let mut names = Vec::new();
        let mut trusted = None;
        for x in all {
            if x.name.starts_with(b"trusted.")
                && !*trusted.get_or_insert_with(|| may_list_trusted(req.pid()))
            {
                continue;
            }
            names.extend_from_slice(&x.name);
            names.push(0);
        }
        xattr_reply(reply, &names, size);
    }

    fn access(&self, req: &Request, ino: INodeNo, mask: AccessFlags, reply: ReplyEmpty) {
        let inode = tryr!(reply, self.resolve(ino.0));
        if mask.contains(AccessFlags::W_OK) {
            return reply.error(Errno::EROFS);
        }
        if allowed(&inode, req.uid(), req.gid(), mask) {
            reply.ok();
        } else {
            reply.error(Errno::EACCES);
        }
    }
}

impl SquashFuse {
    fn parent_node(&self, dir: &crate::squashfs::Inode, node: u64) -> u64 {
        if node == 1 {
            return 1;
        }
        match dir.parent_ino() {
            Some(p) if p != 0 && p <= self.image().superblock().inode_count => self.node_id(p),
            _ => 1,
        }
    }
}

fn xattr_reply(reply: ReplyXattr, value: &[u8], size: u32) {
    if size == 0 {
        reply.size(value.len() as u32);
    } else if value.len() > size as usize {
        reply.error(Errno::ERANGE);
    } else {
        reply.data(value);
    }
}

/// Unix permission check of `mask` (R_OK/X_OK) for `uid`/`gid` (supplementary groups
/// are not visible here; the kernel's own check with `default_permissions` covers them).
fn allowed(inode: &crate::squashfs::Inode, uid: u32, gid: u32, mask: AccessFlags) -> bool {
    let want = (mask.bits() & 0o7) as u32;
    if uid == 0 {
        return want & 1 == 0 || inode.mode & 0o111 != 0 || inode.kind == Kind::Dir;
    }
    let bits = if uid == inode.uid {
        inode.mode >> 6
    } else if gid == inode.gid {
        inode.mode >> 3
    } else {
        inode.mode
    } & 0o7;
    bits & want == want
}
