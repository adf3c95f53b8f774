//! Bounded, sharded CLOCK caches for decompressed blocks and decoded structures.
//!
//! Keys are image offsets or inode references (`u64`); values are cheap clones (`Arc`).
//! Each shard has its own lock held only for the map lookup or insert, never while a
//! block is read or decompressed, so concurrent FUSE workers do not serialize.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

/// Memory limits of an open image's caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    /// Total bytes shared by all caches (metadata, inodes, directories, data blocks).
    pub bytes: u64,
    /// Number of independently locked shards per cache (rounded up to a power of two).
    pub shards: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            bytes: 64 << 20,
            shards: 16,
        }
    }
}

/// A multiplicative hasher for `u64` keys (keys are offsets, not attacker-chosen hashes).
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (n ^ (n >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

pub(crate) type KeyMap<V> = HashMap<u64, V, BuildHasherDefault<KeyHasher>>;

struct Slot<V> {
    key: u64,
    value: V,
    weight: usize,
    referenced: bool,
}

/// A value being loaded by one thread while others wait for it.
type Pending<V> = Arc<OnceLock<Option<(V, usize)>>>;

struct Shard<V> {
    map: KeyMap<usize>,
    loading: KeyMap<Pending<V>>,
    slots: Vec<Option<Slot<V>>>,
    free: Vec<usize>,
    hand: usize,
    used: usize,
    cap: usize,
}

impl<V: Clone> Shard<V> {
    fn get(&mut self, key: u64) -> Option<V> {
        let idx = *self.map.get(&key)?;
        let slot = self.slots.get_mut(idx)?.as_mut()?;
        slot.referenced = true;
        Some(slot.value.clone())
    }

    fn insert(&mut self, key: u64, value: V, weight: usize) {
        if weight > self.cap || self.map.contains_key(&key) {
            return;
        }
        while self.used + weight > self.cap && self.evict_one() {}
        let slot = Some(Slot {
            key,
            value,
            weight,
            referenced: false,
        });
        let idx = match self.free.pop() {
            Some(idx) => {
                self.slots[idx] = slot;
                idx
            }
            None => {
                self.slots.push(slot);
                self.slots.len() - 1
            }
        };
        self.map.insert(key, idx);
        self.used += weight;
    }

    /// Evicts the first unreferenced slot after the hand; false when empty.
    fn evict_one(&mut self) -> bool {
        let n = self.slots.len();
        for _ in 0..n.saturating_mul(2) {
            let idx = self.hand % n;
            self.hand = (idx + 1) % n;
            let Some(slot) = self.slots[idx].as_mut() else {
                continue;
            };
            if slot.referenced {
                slot.referenced = false;
                continue;
            }
            if let Some(slot) = self.slots[idx].take() {
                self.map.remove(&slot.key);
                self.used -= slot.weight;
                self.free.push(idx);
            }
            return true;
        }
        false
    }
}

/// A sharded CLOCK cache from `u64` keys to cheaply cloned values, bounded in bytes.
pub(crate) struct Cache<V> {
    shards: Box<[Mutex<Shard<V>>]>,
    shift: u32,
}

impl<V: Clone> Cache<V> {
    /// A cache holding at most about `bytes` of value weight over `shards` shards,
    /// fewer when a shard would hold less than `min_shard` bytes (so that a shard
    /// fits several of the largest values).
    pub(crate) fn with_min_shard(bytes: u64, shards: usize, min_shard: u64) -> Self {
        let fit = usize::try_from(bytes / min_shard.max(1)).unwrap_or(usize::MAX);
        let n = shards.min(fit).max(1);
        // Round down to a power of two, so `new` does not round up past the fit.
        Self::new(bytes, 1 << (usize::BITS - 1 - n.leading_zeros()))
    }

    /// A cache holding at most about `bytes` of value weight over `shards` shards.
    pub(crate) fn new(bytes: u64, shards: usize) -> Self {
        let shards = shards.clamp(1, 1024).next_power_of_two();
        let shards = if shards as u64 > bytes.max(1) {
            1
        } else {
            shards
        };
        let cap = usize::try_from(bytes / shards as u64).unwrap_or(usize::MAX);
        let shards: Box<[_]> = (0..shards)
            .map(|_| {
                Mutex::new(Shard {
                    map: KeyMap::default(),
                    loading: KeyMap::default(),
                    slots: Vec::new(),
                    free: Vec::new(),
                    hand: 0,
                    used: 0,
                    cap,
                })
            })
            .collect();
        let shift = 64 - shards.len().trailing_zeros();
        Self { shards, shift }
    }

    fn shard(&self, key: u64) -> &Mutex<Shard<V>> {
        let h = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let idx = if self.shift >= 64 {
            0
        } else {
            (h >> self.shift) as usize
        };
        &self.shards[idx % self.shards.len()]
    }

    /// The cached value for `key`, marking it recently used.
    pub(crate) fn get(&self, key: u64) -> Option<V> {
        let mut shard = self.shard(key).lock().unwrap_or_else(|e| e.into_inner());
        shard.get(key)
    }

    /// Caches `value` (of about `weight` bytes) under `key`, evicting as needed.
    #[cfg(test)]
    pub(crate) fn insert(&self, key: u64, value: V, weight: usize) {
        let mut shard = self.shard(key).lock().unwrap_or_else(|e| e.into_inner());
        shard.insert(key, value, weight);
    }

    /// The value for `key`, loading it with `load` (value and weight) on a miss. Threads
    /// missing the same key at once wait for one load instead of repeating it.
    pub(crate) fn get_or_load<E>(
        &self,
        key: u64,
        load: impl Fn() -> Result<(V, usize), E>,
    ) -> Result<V, E> {
        let pending = {
            let mut shard = self.shard(key).lock().unwrap_or_else(|e| e.into_inner());
            if let Some(v) = shard.get(key) {
                return Ok(v);
            }
            shard.loading.entry(key).or_default().clone()
        };
        let mut failure = None;
        let loaded = pending.get_or_init(|| match load() {
            Ok(v) => Some(v),
            Err(e) => {
                failure = Some(e);
                None
            }
        });
        let result = loaded.clone();
        {
            let mut shard = self.shard(key).lock().unwrap_or_else(|e| e.into_inner());
            if shard
                .loading
                .get(&key)
                .is_some_and(|p| Arc::ptr_eq(p, &pending))
            {
                shard.loading.remove(&key);
            }
            if let Some((v, w)) = &result {
                shard.insert(key, v.clone(), *w);
            }
        }
        match (result, failure) {
            (Some((v, _)), _) => Ok(v),
            (None, Some(e)) => Err(e),
            (None, None) => load().map(|(v, _)| v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_within_budget() {
        let cache: Cache<u64> = Cache::new(100, 1);
        for k in 0..50 {
            cache.insert(k, k, 10);
        }
        let held = (0..50).filter(|k| cache.get(*k).is_some()).count();
        assert_eq!(held, 10);
        assert_eq!(cache.get(49), Some(49));
    }

    #[test]
    fn referenced_entries_survive() {
        let cache: Cache<u64> = Cache::new(30, 1);
        cache.insert(1, 1, 10);
        cache.insert(2, 2, 10);
        cache.insert(3, 3, 10);
        assert_eq!(cache.get(1), Some(1));
        cache.insert(4, 4, 10);
        assert_eq!(cache.get(1), Some(1));
        assert_eq!(cache.get(2), None);
    }

    #[test]
    fn concurrent_misses_load_once() {
        let cache: Cache<u64> = Cache::new(1000, 2);
        let loads = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    let v = cache.get_or_load(7, || {
                        loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(50));
                        Ok::<_, ()>((42, 10))
                    });
                    assert_eq!(v, Ok(42));
                });
            }
        });
        assert_eq!(loads.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    fn failed_loads_are_not_cached() {
        let cache: Cache<u64> = Cache::new(1000, 1);
        assert_eq!(
            cache.get_or_load(1, || Err::<(u64, usize), _>("bad")),
            Err("bad")
        );
        assert_eq!(cache.get_or_load(1, || Ok::<_, &str>((5, 1))), Ok(5));
    }

    #[test]
    fn small_budgets_use_fewer_shards() {
        let cache: Cache<u64> = Cache::with_min_shard(1000, 16, 300);
        assert_eq!(cache.shards.len(), 2);
        cache.insert(1, 1, 400);
        assert_eq!(cache.get(1), Some(1));
    }

    #[test]
    fn oversized_values_are_not_cached() {
        let cache: Cache<u64> = Cache::new(10, 1);
        cache.insert(1, 1, 11);
        assert_eq!(cache.get(1), None);
    }
}
