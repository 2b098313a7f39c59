//! Summaries of measured samples: the percentiles the labs and the benchmark report.

use serde::Serialize;

/// How a set of measurements spreads: what a typical one is and what the slow ones do, in the
/// samples' own unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Spread {
    pub samples: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Spread {
    /// Percentiles of `values`. Each is a value that was really measured (nearest rank). No
    /// values, all zeros.
    pub fn of(mut values: Vec<f64>) -> Spread {
        values.sort_unstable_by(f64::total_cmp);
        let samples = values.len();
        Spread {
            samples,
            p50: percentile(&values, 50.0),
            p95: percentile(&values, 95.0),
            p99: percentile(&values, 99.0),
            max: values.last().copied().unwrap_or(0.0),
            mean: if samples == 0 {
                0.0
            } else {
                values.iter().sum::<f64>() / samples as f64
            },
        }
    }

    /// The same figures rounded to three decimals: a microsecond when the unit is milliseconds.
    pub fn rounded(self) -> Spread {
        Spread {
            p50: round3(self.p50),
            p95: round3(self.p95),
            p99: round3(self.p99),
            max: round3(self.max),
            mean: round3(self.mean),
            ..self
        }
    }
}

/// The `pct`th percentile of ascending `sorted` samples by the nearest-rank method: the smallest
/// sample with at least `pct`% of them at or below it. 0 when there are none.
pub fn percentile(sorted: &[f64], pct: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (pct.clamp(0.0, 100.0) / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Rounds for reports: three decimals.
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_measured_values() {
        let s = Spread::of((1..=100).rev().map(f64::from).collect());
        assert_eq!(
            (s.samples, s.p50, s.p95, s.p99, s.max),
            (100, 50.0, 95.0, 99.0, 100.0)
        );
        assert!((s.mean - 50.5).abs() < 1e-9);
    }

    #[test]
    fn one_sample_is_every_percentile_and_none_is_zero() {
        let s = Spread::of(vec![7.5]);
        assert_eq!((s.p50, s.p99, s.max), (7.5, 7.5, 7.5));
        assert_eq!(Spread::of(Vec::new()), Spread::default());
        assert_eq!(percentile(&[], 50.0), 0.0);
        assert_eq!(percentile(&[1.0, 2.0], 0.0), 1.0);
        assert_eq!(percentile(&[1.0, 2.0], 100.0), 2.0);
    }
}
