//! Summaries of measured samples: the percentiles the labs report.

use serde::Serialize;

/// A distribution in a few numbers, in the samples' own unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    pub count: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Summary {
    /// Summarises `samples` (sorting them in place). Percentiles are nearest-rank: each is a value
    /// that was really measured. No samples, all zeros.
    pub fn of(samples: &mut [f64]) -> Summary {
        if samples.is_empty() {
            return Summary::default();
        }
        samples.sort_unstable_by(f64::total_cmp);
        let count = samples.len();
        Summary {
            count,
            p50: nearest_rank(samples, 50.0),
            p95: nearest_rank(samples, 95.0),
            p99: nearest_rank(samples, 99.0),
            max: samples[count - 1],
            mean: samples.iter().sum::<f64>() / count as f64,
        }
    }
}

/// The `pct`th percentile of sorted, non-empty samples, by the nearest-rank method.
pub fn nearest_rank(sorted: &[f64], pct: f64) -> f64 {
    let rank = (pct / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Rounds for reports: three decimals is a microsecond when the unit is milliseconds.
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_measured_values() {
        let mut samples: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let s = Summary::of(&mut samples);
        assert_eq!(
            (s.count, s.p50, s.p95, s.p99, s.max),
            (100, 50.0, 95.0, 99.0, 100.0)
        );
        assert!((s.mean - 50.5).abs() < 1e-9);
    }

    #[test]
    fn one_sample_is_every_percentile_and_none_is_zero() {
        let s = Summary::of(&mut [7.5]);
        assert_eq!((s.p50, s.p99, s.max), (7.5, 7.5, 7.5));
        assert_eq!(Summary::of(&mut []), Summary::default());
    }
}
