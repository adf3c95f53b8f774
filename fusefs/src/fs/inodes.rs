//! Inode number → inode reference, filled as lookups hand node ids to the kernel.
//!
//! Images without an export table have no other way back from a number to an inode.
//! Sharded so concurrent lookups do not contend on one lock.

use std::sync::Mutex;

use crate::cache::KeyMap;
use crate::squashfs::InodeRef;

const SHARDS: usize = 64;

/// A sharded map of the inode numbers the kernel knows.
#[derive(Debug)]
pub(super) struct InodeMap {
    shards: Box<[Mutex<KeyMap<InodeRef>>]>,
}

impl InodeMap {
    pub(super) fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(KeyMap::default())).collect(),
        }
    }

    fn shard(&self, ino: u32) -> &Mutex<KeyMap<InodeRef>> {
        &self.shards[ino as usize % SHARDS]
    }

    pub(super) fn get(&self, ino: u32) -> Option<InodeRef> {
        let map = self.shard(ino).lock().unwrap_or_else(|e| e.into_inner());
        map.get(&u64::from(ino)).copied()
    }

    pub(super) fn insert(&self, ino: u32, r: InodeRef) {
        let mut map = self.shard(ino).lock().unwrap_or_else(|e| e.into_inner());
        map.insert(u64::from(ino), r);
    }
}
