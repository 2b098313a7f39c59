//! Axis ranges, tick positions and number labels, shared by the SVG and terminal renderers so
//! both show the same ticks. A log axis works in log10 space: its ticks are decades, and
//! 2 and 5 between them when the range spans two decades or less.

use super::Scale;

/// One axis, ready to draw: where it starts and ends (in scale space: log10 of the value on a
/// log axis) and which ticks to label.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Axis {
    pub scale: Scale,
    pub lo: f64,
    pub hi: f64,
    /// Labelled ticks, in scale space, ascending, all within `lo..=hi`.
    pub ticks: Vec<f64>,
    /// Unlabelled grid lines between the ticks (2…9 within each decade on a log axis).
    pub minor: Vec<f64>,
}

impl Axis {
    /// An axis that holds every usable value. Values a log axis cannot show (zero, negative) and
    /// non-finite ones are left out; with nothing left the axis is a sensible empty default.
    /// `from_zero` starts a linear axis at 0 when every value is positive (counts, sizes).
    pub fn fit(scale: Scale, values: impl IntoIterator<Item = f64>, from_zero: bool) -> Axis {
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for v in values.into_iter().filter_map(|v| to_scale(scale, v)) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if lo > hi {
            (lo, hi) = (0.0, 1.0);
        }
        match scale {
            Scale::Linear => {
                if from_zero {
                    lo = lo.min(0.0);
                    hi = hi.max(0.0);
                }
                if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
                    if from_zero && lo == 0.0 {
                        hi = 1.0;
                    } else {
                        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.5 };
                        (lo, hi) = (lo - pad, hi + pad);
                    }
                }
            }
            Scale::Log => {
                // Whole decades: the eye reads a log axis by its powers of ten.
                lo = lo.floor();
                hi = hi.ceil();
                if hi <= lo {
                    hi = lo + 1.0;
                }
            }
        }
        Axis::new(scale, lo, hi)
    }

    /// An axis over `lo..hi` in scale space, with ticks worked out.
    pub fn new(scale: Scale, lo: f64, hi: f64) -> Axis {
        let (ticks, minor) = match scale {
            Scale::Linear => (linear_ticks(lo, hi, 6), Vec::new()),
            Scale::Log => log_ticks(lo, hi),
        };
        Axis {
            scale,
            lo,
            hi,
            ticks,
            minor,
        }
    }

    /// A linear axis with a little room above the highest value, so a peak does not touch the
    /// frame; the ticks stay where they were.
    pub fn with_headroom(mut self) -> Axis {
        if self.scale == Scale::Linear {
            let top = self.hi + (self.hi - self.lo) * 0.06;
            self = Axis::new(self.scale, self.lo, top);
        }
        self
    }

    /// Where `v` (a data value) sits on this axis, or `None` if the axis cannot show it.
    pub fn place(&self, v: f64) -> Option<f64> {
        to_scale(self.scale, v)
    }

    /// The position of a scale-space value between `lo` (0) and `hi` (1).
    pub fn fraction(&self, s: f64) -> f64 {
        let span = self.hi - self.lo;
        if span > 0.0 {
            (s - self.lo) / span
        } else {
            0.5
        }
    }

    /// The label of a tick given in scale space.
    pub fn label(&self, s: f64) -> String {
        match self.scale {
            Scale::Linear => tick_label(s, tick_step(&self.ticks)),
            Scale::Log => {
                let value = 10f64.powf(s);
                // The decimals a tick at this decade needs: 0.05 needs two.
                let step = 10f64.powf(s.floor());
                tick_label(value, step)
            }
        }
    }
}

/// A data value in scale space, or `None` when the scale cannot show it.
pub(super) fn to_scale(scale: Scale, v: f64) -> Option<f64> {
    if !v.is_finite() {
        return None;
    }
    match scale {
        Scale::Linear => Some(v),
        Scale::Log if v > 0.0 => Some(v.log10()),
        Scale::Log => None,
    }
}

/// Round steps (1, 2 or 5 times a power of ten) giving about `target` ticks.
fn linear_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let span = hi - lo;
    if !(span > 0.0 && span.is_finite()) {
        return vec![lo];
    }
    let raw = span / target.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    // The round step nearest the raw one, as a ratio, so the count stays near the target.
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .min_by(|a, b| (a / raw).ln().abs().total_cmp(&(b / raw).ln().abs()))
        .unwrap_or(magnitude);
    // A hair of slack, so 0.35 / 0.05 = 6.999… still counts 0.35 as inside.
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last)
        .map(|i| {
            let v = i as f64 * step;
            // -0 and 0.30000000000000004 read badly: snap to the step's precision.
            let snapped = (v / step).round() * step;
            if snapped == 0.0 { 0.0 } else { snapped }
        })
        .collect()
}

/// Decades as ticks; 2 and 5 between them when the range spans two decades or less; 2…9 as
/// minor grid lines.
fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let within = |s: &f64| *s >= lo - 1e-9 && *s <= hi + 1e-9;
    let few = hi - lo <= 2.0;
    let mut ticks = Vec::new();
    let mut minor = Vec::new();
    for d in (lo.floor() as i32)..=(hi.ceil() as i32) {
        for m in 1..=9u8 {
            let s = f64::from(d) + f64::from(m).log10();
            if !within(&s) {
                continue;
            }
            if m == 1 || (few && (m == 2 || m == 5)) {
                ticks.push(s);
            } else if hi - lo <= 6.0 {
                minor.push(s);
            }
        }
    }
    (ticks, minor)
}

/// The spacing between ticks, or 1 with fewer than two.
fn tick_step(ticks: &[f64]) -> f64 {
    match ticks {
        [a, b, ..] => (b - a).abs(),
        _ => 1.0,
    }
}

/// A tick label with the decimals its step needs and k/M for thousands and millions:
/// `0.05`, `2.5`, `500`, `10k`, `1.5M`; scientific past a billion or for steps below a
/// thousandth.
pub(super) fn tick_label(v: f64, step: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e9 || step.abs() < 1e-3) {
        return scientific(v);
    }
    let (scaled, scaled_step, suffix) = if v.abs() >= 1e6 {
        (v / 1e6, step / 1e6, "M")
    } else if v.abs() >= 1e4 || (v.abs() >= 1e3 && step >= 1e3) {
        (v / 1e3, step / 1e3, "k")
    } else {
        (v, step, "")
    };
    let decimals = if scaled_step > 0.0 && scaled_step < 1.0 {
        (-scaled_step.log10().floor()) as usize
    } else {
        0
    };
    let mut text = format!("{scaled:.decimals$}");
    if text.contains('.') {
        text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    if text == "-0" {
        text = "0".to_string();
    }
    text + suffix
}

/// A measured value to three significant figures, thousands grouped by k/M: `0.0523`, `8.4`,
/// `251`, `12.3k`; scientific below a thousandth or past a billion.
pub(super) fn value_label(v: f64) -> String {
    if !v.is_finite() {
        return "-".to_string();
    }
    if v == 0.0 {
        return "0".to_string();
    }
    if v.abs() < 1e-3 || v.abs() >= 1e9 {
        return scientific(v);
    }
    let (scaled, suffix) = if v.abs() >= 1e6 {
        (v / 1e6, "M")
    } else if v.abs() >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let digits = scaled.abs().log10().floor() as i32;
    let decimals = (2 - digits).clamp(0, 6) as usize;
    let mut text = format!("{scaled:.decimals$}");
    if text.contains('.') {
        text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    text + suffix
}

/// Very small and very large values as `1.5e-7` and `3e12`: past a billion, or below a
/// thousandth, a reader counts digits instead of reading the number.
fn scientific(v: f64) -> String {
    let text = format!("{v:.2e}");
    match text.split_once('e') {
        Some((mantissa, exponent)) if mantissa.contains('.') => {
            let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
            format!("{mantissa}e{exponent}")
        }
        _ => text,
    }
}

/// The value below which `p` percent of the samples fall (nearest rank), from sorted finite
/// samples; `None` for none.
pub(super) fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    (!sorted.is_empty()).then(|| crate::sim::stats::percentile(sorted, p))
}

/// Counts per bucket, `n` buckets of equal width across the log axis; values at or below zero
/// land in the first, since a log axis has no place for them.
pub(super) fn bucket(values: &[f64], axis: &Axis, n: usize) -> Vec<usize> {
    let n = n.max(1);
    let mut counts = vec![0usize; n];
    for v in values {
        let i = match axis.place(*v) {
            Some(s) => (axis.fraction(s) * n as f64).floor().max(0.0) as usize,
            None => 0,
        };
        counts[i.min(n - 1)] += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(axis: &Axis) -> Vec<String> {
        axis.ticks.iter().map(|t| axis.label(*t)).collect()
    }

    #[test]
    fn linear_ticks_are_round_and_inside_the_range() {
        let axis = Axis::fit(Scale::Linear, [0.0, 6.26], false);
        assert_eq!(labels(&axis), ["0", "1", "2", "3", "4", "5", "6"]);
        let axis = Axis::fit(Scale::Linear, [0.1, 0.35], false);
        assert_eq!(labels(&axis), ["0.1", "0.15", "0.2", "0.25", "0.3", "0.35"]);
        let axis = Axis::fit(Scale::Linear, [574.0, 20_000.0], true);
        assert_eq!(labels(&axis), ["0", "5k", "10k", "15k", "20k"]);
        for axis in [&axis, &Axis::fit(Scale::Linear, [-3.0, 7.5], false)] {
            assert!(axis.ticks.iter().all(|t| *t >= axis.lo && *t <= axis.hi));
            assert!(axis.ticks.windows(2).all(|w| w[0] < w[1]));
        }
    }

    #[test]
    fn log_ticks_are_decades_with_2_and_5_when_the_range_is_short() {
        let wide = Axis::fit(Scale::Log, [0.05, 1000.0], false);
        assert_eq!((wide.lo, wide.hi), (-2.0, 3.0));
        assert_eq!(labels(&wide), ["0.01", "0.1", "1", "10", "100", "1k"]);
        assert!(!wide.minor.is_empty(), "2…9 grid lines within five decades");
        let rows = Axis::fit(Scale::Log, [10_000.0, 100_000.0, 1_000_000.0], false);
        assert_eq!(
            labels(&rows),
            ["10k", "20k", "50k", "100k", "200k", "500k", "1M"]
        );
        let hours = Axis::fit(Scale::Log, [1.0, 96.0], false);
        assert_eq!(labels(&hours), ["1", "2", "5", "10", "20", "50", "100"]);
        assert!(hours.ticks.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn degenerate_data_still_gives_a_usable_axis() {
        for (scale, values) in [
            (Scale::Linear, vec![]),
            (Scale::Linear, vec![5.0]),
            (Scale::Linear, vec![0.0, 0.0]),
            (Scale::Linear, vec![f64::NAN, f64::INFINITY]),
            (Scale::Log, vec![]),
            (Scale::Log, vec![0.0, -1.0]),
            (Scale::Log, vec![100.0]),
            (Scale::Log, vec![3.0, 3.0]),
        ] {
            for from_zero in [false, true] {
                let axis = Axis::fit(scale, values.iter().copied(), from_zero);
                assert!(axis.lo < axis.hi, "{scale:?} {values:?}: {axis:?}");
                assert!(!axis.ticks.is_empty(), "{scale:?} {values:?}: {axis:?}");
                assert!(axis.lo.is_finite() && axis.hi.is_finite());
            }
        }
        assert_eq!(Axis::fit(Scale::Linear, [0.0], true).lo, 0.0);
        assert_eq!(Axis::fit(Scale::Linear, [4.0, 4.0], true).lo, 0.0);
    }

    #[test]
    fn labels_read_like_a_person_wrote_them() {
        assert_eq!(tick_label(0.30000000000000004, 0.1), "0.3");
        assert_eq!(tick_label(1500.0, 500.0), "1500");
        assert_eq!(tick_label(2_500_000.0, 500_000.0), "2.5M");
        assert_eq!(value_label(0.052_34), "0.0523");
        assert_eq!(value_label(8.4), "8.4");
        assert_eq!(value_label(251.2), "251");
        assert_eq!(value_label(12_345.0), "12.3k");
        assert_eq!(value_label(0.0), "0");
        assert_eq!(value_label(0.000_012_3), "1.23e-5");
        assert_eq!(value_label(1e-6), "1e-6");
        assert_eq!(value_label(3e12), "3e12");
        assert_eq!(tick_label(2.000_000_000_000_000_3e-10, 2e-10), "2e-10");
        assert_eq!(tick_label(0.0, 2e-10), "0");
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let sorted: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&sorted, 50.0), Some(50.0));
        assert_eq!(percentile(&sorted, 99.0), Some(99.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
