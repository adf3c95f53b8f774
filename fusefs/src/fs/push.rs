//! Whole blocks pushed into the kernel's page cache after a partial read.
//!
//! The kernel asks for what a reader wants: a random 4 KiB `pread` becomes a 4 KiB
//! FUSE read, yet answering it means reading (and decompressing) the whole block.
//! The kernel's own squashfs driver fills the page cache with every page of a block
//! it decompressed, so the next reads of that block need no I/O at all; here the
//! block's bytes go to the kernel with `FUSE_NOTIFY_STORE` for the same effect.
//!
//! Stores run on a thread of their own, never on a worker: storing a page waits for
//! its lock, which a read request still queued for the workers may hold. The queue is
//! bounded and a full queue drops the push (it is only a hint); the thread starts on
//! the first push (so a server may still fork before) and ends with the filesystem.

use std::ops::Range;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, OnceLock};

use fuser::{INodeNo, Notifier};

use crate::mount::NotifierSlot;
use crate::squashfs::FileBlock;

/// Pushes waiting for the store thread; beyond this, pushes are dropped.
const QUEUE: usize = 64;

/// One block of a file to store: node id, the block's file offset, its bytes, and
/// the range of them the kernel already has (left out).
type Push = (u64, u64, FileBlock, Range<usize>);

#[derive(Debug, Default)]
pub(super) struct Pusher {
    slot: NotifierSlot,
    queue: OnceLock<Option<SyncSender<Push>>>,
}

impl Pusher {
    pub(super) fn slot(&self) -> NotifierSlot {
        Arc::clone(&self.slot)
    }

    /// Queues `block`, the bytes of node `node` from file offset `offset`, but for
    /// `sent`, for the kernel's page cache; does nothing without a notifier or when the
    /// queue is full.
    pub(super) fn push(&self, node: u64, offset: u64, block: FileBlock, sent: Range<usize>) {
        let queue = self.queue.get_or_init(|| {
            let notifier = self.slot.get()?.clone();
            let (tx, rx) = sync_channel(QUEUE);
            std::thread::Builder::new()
                .name("fusefs-push".into())
                .spawn(move || store_all(&notifier, &rx))
                .ok()?;
            Some(tx)
        });
        if let Some(tx) = queue {
            let _ = tx.try_send((node, offset, block, sent));
        }
    }
}

/// Stores every queued block until the filesystem (the sender) is gone or the
/// connection refuses notifications (unmounted: `ENODEV`).
fn store_all(notifier: &Notifier, rx: &Receiver<Push>) {
    while let Ok((node, offset, block, sent)) = rx.recv() {
        let parts = [0..sent.start, sent.end..block.len()];
        for part in parts.into_iter().filter(|p| !p.is_empty()) {
            let (Some(bytes), Some(at)) = (
                block.get(part.clone()),
                offset.checked_add(part.start as u64),
            ) else {
                continue;
            };
            match notifier.store(INodeNo(node), at, bytes) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENODEV) => return,
                // The kernel forgot the inode meanwhile: a hint lost.
                Err(e) => tracing::debug!("page cache store of node {node} at {at}: {e}"),
            }
        }
    }
}

/// [`crate::mount::Server::start`] hands the filesystem its notifier: partial reads
/// then push their whole block (see the `push` module).
impl crate::mount::Notifying for super::SquashFuse {
    fn notifier_slot(&self) -> Option<NotifierSlot> {
        Some(self.inner.push.slot())
    }
}
