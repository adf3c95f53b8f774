//! `read`: a request inside one block is answered from the cached block itself;
//! one spanning blocks is assembled in a per-thread buffer.

use std::cell::RefCell;

use fuser::{Errno, ReplyData};

use super::attr::errno;
use super::SquashFuse;
use crate::squashfs::Kind;

thread_local! {
    static READ_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl SquashFuse {
    pub(super) fn read_reply(&self, node: u64, offset: u64, size: u32, reply: ReplyData) {
        let inode = tryr!(reply, self.resolve(node));
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
}
