//! `read`: a request inside one block is answered from the cached block itself;
//! one spanning blocks is assembled in a per-thread buffer. After the reply, the rest
//! of a block the request read only part of goes to the kernel's page cache (`push`),
//! as the kernel's squashfs driver fills it, so its other pages need no request.

use std::cell::RefCell;

use fuser::{Errno, ReplyData};

use super::attr::errno;
use super::SquashFuse;
use crate::squashfs::{Inode, Kind};

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
            match block.get(within..within + want) {
                Some(bytes) => reply.data(bytes),
                None => return reply.error(Errno::EIO),
            }
        } else {
            let sent = READ_BUF.with(|buf| {
                let mut buf = buf.borrow_mut();
                buf.resize(want, 0);
                match self.image().read(&inode, offset, &mut buf[..want]) {
                    Ok(n) => {
                        reply.data(&buf[..n]);
                        true
                    }
                    Err(e) => {
                        reply.error(errno(&e));
                        false
                    }
                }
            });
            if !sent {
                return;
            }
        }
        // After the reply: the pages it filled are unlocked by now.
        self.push_around(node, &inode, offset, offset + want as u64);
    }

    /// Pushes what the read of file bytes `[start, end)` left out of its first and
    /// last blocks (cache hits: the read just loaded them).
    fn push_around(&self, node: u64, inode: &Inode, start: u64, end: u64) {
        let bs = u64::from(self.image().superblock().block_size);
        let (first, last) = (start / bs, (end - 1) / bs);
        let ends = if first == last { 1 } else { 2 };
        for index in [first, last].into_iter().take(ends) {
            let at = index * bs;
            let Ok(block) = self.image().read_block(inode, index) else {
                continue;
            };
            let len = block.len() as u64;
            let sent = (start.max(at) - at) as usize..(end.min(at + len) - at) as usize;
            if sent.start > 0 || (sent.end as u64) < len {
                self.inner.push.push(node, at, block, sent);
            }
        }
    }
}
