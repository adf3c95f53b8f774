//! Conversions at the FUSE boundary: inodes to `FileAttr`, reader errors to errno.

use std::time::{Duration, UNIX_EPOCH};

use fuser::{Errno, FileAttr, FileType, INodeNo};

use crate::squashfs::{Error, Inode, Kind};

/// The `fuser` file type of `kind`.
pub(super) fn file_type(kind: Kind) -> FileType {
    match kind {
        Kind::Dir => FileType::Directory,
        Kind::File => FileType::RegularFile,
        Kind::Symlink => FileType::Symlink,
        Kind::BlockDev => FileType::BlockDevice,
        Kind::CharDev => FileType::CharDevice,
        Kind::Fifo => FileType::NamedPipe,
        Kind::Socket => FileType::Socket,
    }
}

/// The attributes of `inode`, reported under FUSE node id `node`.
pub(super) fn file_attr(inode: &Inode, node: u64) -> FileAttr {
    let mtime = UNIX_EPOCH + Duration::from_secs(u64::from(inode.mtime));
    FileAttr {
        ino: INodeNo(node),
        size: inode.size,
        blocks: inode.size.div_ceil(512),
        atime: mtime,
        mtime,
        ctime: mtime,
        crtime: mtime,
        kind: file_type(inode.kind),
        perm: (inode.mode & 0o7777) as u16,
        nlink: inode.nlink,
        uid: inode.uid,
        gid: inode.gid,
        rdev: inode.rdev,
        blksize: 4096,
        flags: 0,
    }
}

/// The attributes of a negative entry (node id 0: "no such name", cacheable).
pub(super) fn negative_attr() -> FileAttr {
    FileAttr {
        ino: INodeNo(0),
        size: 0,
        blocks: 0,
        atime: UNIX_EPOCH,
        mtime: UNIX_EPOCH,
        ctime: UNIX_EPOCH,
        crtime: UNIX_EPOCH,
        kind: FileType::RegularFile,
        perm: 0,
        nlink: 0,
        uid: 0,
        gid: 0,
        rdev: 0,
        blksize: 4096,
        flags: 0,
    }
}

/// The errno a reader error becomes; damaged images are logged and become EIO.
pub(super) fn errno(e: &Error) -> Errno {
    match e {
        Error::NotFound(_) => Errno::ENOENT,
        Error::NotDir => Errno::ENOTDIR,
        Error::IsDir => Errno::EISDIR,
        Error::NotSymlink => Errno::EINVAL,
        Error::NoXattr => Errno::ENODATA,
        other => {
            tracing::warn!(error = %other, "squashfs image read failed");
            Errno::EIO
        }
    }
}
