//! Percentiles of a set of durations: p50, p90 and max in milliseconds, by nearest rank.

use std::time::Duration;

use serde::Serialize;

/// The spread of one measured quantity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    /// How many samples.
    pub n: usize,
    /// Median, ms.
    pub p50_ms: f64,
    /// 90th percentile, ms.
    pub p90_ms: f64,
    /// Largest sample, ms.
    pub max_ms: f64,
}

impl Summary {
    /// Summarises `samples` (all zero when there are none).
    pub fn of(samples: &[Duration]) -> Summary {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        Summary {
            n: ms.len(),
            p50_ms: rank(&ms, 50),
            p90_ms: rank(&ms, 90),
            max_ms: ms.last().copied().unwrap_or(0.0),
        }
    }
}

/// The nearest-rank percentile `p` of sorted `v`.
fn rank(v: &[f64], p: usize) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let idx = (p * v.len()).div_ceil(100).clamp(1, v.len()) - 1;
    v[idx]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|m| Duration::from_millis(*m)).collect()
    }

    #[test]
    fn nearest_rank() {
        let s = Summary::of(&ms(&[5, 1, 4, 2, 3, 10, 9, 8, 7, 6]));
        assert_eq!((s.n, s.p50_ms, s.p90_ms, s.max_ms), (10, 5.0, 9.0, 10.0));
        let one = Summary::of(&ms(&[7]));
        assert_eq!((one.p50_ms, one.p90_ms, one.max_ms), (7.0, 7.0, 7.0));
        let two = Summary::of(&ms(&[2, 4]));
        assert_eq!((two.p50_ms, two.p90_ms), (2.0, 4.0));
    }

    #[test]
    fn empty_is_zero() {
        let s = Summary::of(&[]);
        assert_eq!((s.n, s.p50_ms, s.max_ms), (0, 0.0, 0.0));
    }
}
