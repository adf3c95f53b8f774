//! `getxattr`/`listxattr` with the exact size protocol: size 0 asks for the length, a
//! too-small buffer is ERANGE, a missing name ENODATA.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use fuser::{Errno, ReplyXattr};

use super::caller::may_list_trusted;
use super::SquashFuse;

fn xattr_reply(reply: ReplyXattr, value: &[u8], size: u32) {
    if size == 0 {
        reply.size(value.len() as u32);
    } else if value.len() > size as usize {
        reply.error(Errno::ERANGE);
    } else {
        reply.data(value);
    }
}

impl SquashFuse {
    pub(super) fn getxattr_reply(&self, node: u64, name: &OsStr, size: u32, reply: ReplyXattr) {
        let inode = tryr!(reply, self.resolve(node));
        let value = tryr!(reply, self.image().get_xattr(&inode, name.as_bytes()));
        xattr_reply(reply, &value, size);
    }

    /// Lists names NUL-terminated; `trusted.*` only for callers that may read them.
    pub(super) fn listxattr_reply(&self, node: u64, pid: u32, size: u32, reply: ReplyXattr) {
        let inode = tryr!(reply, self.resolve(node));
        let all = tryr!(reply, self.image().xattrs(&inode));
        let mut names = Vec::new();
        let mut trusted = None;
        for x in all {
            if x.name.starts_with(b"trusted.")
                && !*trusted.get_or_insert_with(|| may_list_trusted(pid))
            {
                continue;
            }
            names.extend_from_slice(&x.name);
            names.push(0);
        }
        xattr_reply(reply, &names, size);
    }
}
