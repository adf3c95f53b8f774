//! The idle timeout of a streaming connection (the kubelet's
//! `streamingConnectionIdleTimeout`, 4 h by default): a connection on which no
//! frame has passed, in either direction, for that long is closed, which stops
//! the command it carried.
//!
//! Input: `[streaming] idle_timeout` from the daemon's configuration
//! ([`IdleTimeout`]), and a [`Activity::touch`] from the reader and the writer
//! of each connection on every frame. Output: [`Activity::idle`] resolves once
//! the connection has been quiet for the timeout.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

/// How long a streaming connection may carry nothing: a duration written as
/// whole numbers with units (`"4h"`, `"15m"`, `"1h30m"`, `"90s"`, `"500ms"`);
/// `"0"` turns the timeout off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct IdleTimeout(pub Option<Duration>);

/// The kubelet's default streaming idle timeout.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(4 * 3600);

impl Default for IdleTimeout {
    fn default() -> Self {
        Self(Some(DEFAULT_IDLE_TIMEOUT))
    }
}

impl TryFrom<String> for IdleTimeout {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
    }
}

impl std::str::FromStr for IdleTimeout {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("invalid duration {text:?} (expected e.g. \"4h\", \"90s\", \"0\")");
        if text.trim() == "0" {
            return Ok(Self(None));
        }
        let mut total = Duration::ZERO;
        let mut rest = text.trim();
        if rest.is_empty() {
            return Err(bad());
        }
        while !rest.is_empty() {
            let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
            let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
            let unit_end = rest[digits..]
                .find(|c: char| c.is_ascii_digit())
                .map_or(rest.len(), |i| digits + i);
            let unit = match &rest[digits..unit_end] {
                "ms" => Duration::from_millis(1),
                "s" => Duration::from_secs(1),
                "m" => Duration::from_secs(60),
                "h" => Duration::from_secs(3600),
                _ => return Err(bad()),
            };
            let part = u32::try_from(n).ok().and_then(|n| unit.checked_mul(n));
            total = part.and_then(|p| total.checked_add(p)).ok_or_else(bad)?;
            rest = &rest[unit_end..];
        }
        Ok(Self((!total.is_zero()).then_some(total)))
    }
}

/// When a connection last carried a frame; cheap to clone and to touch.
#[derive(Debug, Clone)]
pub(crate) struct Activity(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    start: Instant,
    /// Milliseconds from `start` to the last frame.
    last_ms: AtomicU64,
    /// The reader waits for a handler to take the client's input.
    stalled: AtomicBool,
}

impl Activity {
    /// A connection that just carried something.
    pub(crate) fn new() -> Self {
        Self(Arc::new(Inner {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            stalled: AtomicBool::new(false),
        }))
    }

    /// Runs `handover` (the reader handing client input to a handler), marked as
    /// stalled while it waits.
    pub(crate) async fn handing_over<F: std::future::Future>(&self, handover: F) -> F::Output {
        self.0.stalled.store(true, Ordering::Relaxed);
        let r = handover.await;
        self.0.stalled.store(false, Ordering::Relaxed);
        r
    }

    /// The reader is waiting for a handler to take the client's input.
    pub(crate) fn stalled(&self) -> bool {
        self.0.stalled.load(Ordering::Relaxed)
    }

    /// Records a frame passing now.
    pub(crate) fn touch(&self) {
        let ms = u64::try_from(self.0.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.0.last_ms.fetch_max(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.0.start + Duration::from_millis(self.0.last_ms.load(Ordering::Relaxed))
    }

    /// Resolves once nothing has passed for `timeout`; never without one.
    pub(crate) async fn idle(&self, timeout: Option<Duration>) {
        let Some(timeout) = timeout else {
            return std::future::pending().await;
        };
        loop {
            let deadline = self.last() + timeout;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations_and_refuses_the_rest() {
        let d = |s: &str| s.parse::<IdleTimeout>().map(|t| t.0);
        assert_eq!(d("4h"), Ok(Some(DEFAULT_IDLE_TIMEOUT)));
        assert_eq!(d("1h30m"), Ok(Some(Duration::from_secs(5400))));
        assert_eq!(d("90s"), Ok(Some(Duration::from_secs(90))));
        assert_eq!(d("250ms"), Ok(Some(Duration::from_millis(250))));
        assert_eq!(d("0"), Ok(None));
        assert_eq!(d("0s"), Ok(None));
        for bad in ["", " ", "4", "h", "4d", "-1s", "1.5h", "99999999999h"] {
            assert!(d(bad).is_err(), "{bad:?} accepted");
        }
        assert!(serde_json::from_str::<IdleTimeout>("\"4x\"").is_err());
        assert_eq!(
            serde_json::from_str::<IdleTimeout>("\"2m\"").unwrap().0,
            Some(Duration::from_secs(120))
        );
    }

    #[tokio::test]
    async fn idle_resolves_after_quiet_time_and_touch_postpones_it() {
        let a = Activity::new();
        let t0 = Instant::now();
        tokio::time::sleep(Duration::from_millis(150)).await;
        a.touch();
        a.idle(Some(Duration::from_millis(200))).await;
        assert!(t0.elapsed() >= Duration::from_millis(340));
    }
}
