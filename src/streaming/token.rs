//! Single-use, expiring tokens: the last path segment of every URL the
//! Exec/Attach/PortForward RPCs return. A token is removed the moment a
//! client presents it, valid or late.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Maps tokens to pending requests until used or expired.
pub struct TokenCache<T> {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, T)>>,
}

impl<T> TokenCache<T> {
    /// A cache whose tokens live for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Stores `value` under a fresh random token and returns the token.
    pub fn insert(&self, value: T) -> String {
        let token = random_token();
        let now = Instant::now();
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (at, _)| now.duration_since(*at) < self.ttl);
        map.insert(token.clone(), (now, value));
        token
    }

    /// Removes and returns the request of `token` if it has not expired.
    pub fn take(&self, token: &str) -> Option<T> {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (at, value) = map.remove(token)?;
        (at.elapsed() < self.ttl).then_some(value)
    }
}

/// 128 random bits from the kernel, hex encoded (URL-safe).
fn random_token() -> String {
    let mut buf = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf));
    if read.is_err() {
        // No /dev/urandom: fall back on a hash of time and address (still unguessable enough
        // for a loopback server, and never a panic).
        let seed = format!("{:?}{:p}", Instant::now(), &buf);
        let h = seed.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        buf[..8].copy_from_slice(&h.to_le_bytes());
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_single_use_and_expire() {
        let c = TokenCache::new(Duration::from_millis(50));
        let t = c.insert(7);
        assert_eq!(t.len(), 32);
        assert_ne!(t, c.insert(8));
        assert_eq!(c.take(&t), Some(7));
        assert_eq!(c.take(&t), None);
        let late = c.insert(9);
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(c.take(&late), None);
        assert_eq!(c.take("nope"), None);
    }
}
