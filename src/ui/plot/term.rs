//! Terminal charts: at most 12 lines of 80 columns, drawn with the eighth blocks ▁…█ so they
//! read the same with or without colour. Each series gets its own band of rows and its own y
//! range, labelled at the left; the x axis and its ticks are the SVG's.

use super::axis::{Axis, bucket, percentile, to_scale, value_label};
use super::{Distribution, LineChart, Paint, Scale, Series};

/// The widest a terminal chart gets, in columns.
pub(super) const MAX_WIDTH: usize = 80;
/// Rows of blocks a chart may use; the title and the x axis take the other four of its 12 lines.
const PLOT_ROWS: usize = 8;
/// Series (or samples) drawn at most; the SVG shows them all.
const MAX_BANDS: usize = 8;
/// Longer series names are cut, so the plot keeps most of the width.
const MAX_NAME: usize = 22;
const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A one-line chart of evenly spaced values for a table cell or a summary line: `width` columns
/// (fewer if there are fewer values), each the peak of its stretch so a spike is never averaged
/// away, eight levels from the lowest value (or zero) to the highest. Empty for no values.
pub fn sparkline(values: &[f64], width: usize) -> String {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() || width == 0 {
        return String::new();
    }
    let n = finite.len();
    let width = width.min(n);
    let columns: Vec<f64> = (0..width)
        .map(|c| {
            finite[c * n / width..(c + 1) * n / width]
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .collect();
    let lo = columns.iter().copied().fold(0.0, f64::min);
    let hi = columns.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    columns
        .iter()
        .map(|v| {
            let eighths = level(lo, hi, *v, 8);
            cell(eighths, 0)
        })
        .collect()
}

/// How many of `eighths` a value fills between `lo` and `hi`: at least one, so a value at the
/// bottom still shows where the data is.
fn level(lo: f64, hi: f64, v: f64, eighths: usize) -> usize {
    // A flat series has no range to rise in: it lies along the bottom.
    let frac = if hi > lo { (v - lo) / (hi - lo) } else { 0.0 };
    let frac = if frac.is_finite() {
        frac.clamp(0.0, 1.0)
    } else {
        0.0
    };
    ((frac * eighths as f64).round() as usize).max(1)
}

/// The block for a column filled to `eighths`, in the row whose bottom is `base` eighths up.
fn cell(eighths: usize, base: usize) -> char {
    match eighths.saturating_sub(base) {
        0 => ' ',
        k if k >= 8 => '█',
        k => BLOCKS[k - 1],
    }
}

/// A scale-space value back as a data value.
fn from_scale(scale: Scale, s: f64) -> f64 {
    match scale {
        Scale::Linear => s,
        Scale::Log => 10f64.powf(s),
    }
}

/// Cuts `s` to `width` characters, marking the cut with an ellipsis.
fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A line of `width` spaces into which labels are written by column.
struct Canvas(Vec<char>);

impl Canvas {
    fn new(width: usize) -> Self {
        Canvas(vec![' '; width])
    }

    /// Writes `s` from column `at` if all of it fits on free cells, and the cell before (when
    /// `gap_before`) and after (when `gap_after`) are free too; says whether it did.
    fn put(&mut self, at: usize, s: &str, gap_before: bool, gap_after: bool) -> bool {
        let len = s.chars().count();
        if at + len > self.0.len() {
            return false;
        }
        let lo = if gap_before { at.saturating_sub(1) } else { at };
        let hi = if gap_after {
            (at + len + 1).min(self.0.len())
        } else {
            at + len
        };
        if self.0[lo..hi].iter().any(|c| *c != ' ') {
            return false;
        }
        for (i, c) in s.chars().enumerate() {
            self.0[at + i] = c;
        }
        true
    }

    fn line(&self) -> String {
        self.0.iter().collect::<String>().trim_end().to_string()
    }
}

/// The column (0-based, within `width`) for a scale-space value on `axis`.
fn column(axis: &Axis, s: f64, width: usize) -> usize {
    let c = (axis.fraction(s) * width as f64).floor();
    (c.max(0.0) as usize).min(width.saturating_sub(1))
}

/// The x axis under a plot that starts at column `gutter`: the rule with tick marks, the tick
/// labels, and the axis title centred under the plot.
fn x_axis(gutter: usize, width: usize, axis: &Axis, label: &str) -> Vec<String> {
    let mut rule: Vec<char> = std::iter::once('└')
        .chain(std::iter::repeat_n('─', width))
        .collect();
    let mut labels = Canvas::new(gutter + 1 + width);
    for t in &axis.ticks {
        let c = column(axis, *t, width);
        rule[c + 1] = '┬';
        let text = axis.label(*t);
        let len = text.chars().count();
        // Centred on its tick, but kept on the line at the right end.
        let start = (gutter + 1 + c).saturating_sub(len / 2);
        labels.put(
            start.min((gutter + 1 + width).saturating_sub(len)),
            &text,
            true,
            true,
        );
    }
    let title = match axis.scale {
        Scale::Linear => label.to_string(),
        Scale::Log => format!("{label}, log scale"),
    };
    let title = fit(&title, gutter + 1 + width);
    let start = (gutter + 1 + width.saturating_sub(title.chars().count()) / 2)
        .min(gutter + 1 + width - title.chars().count());
    vec![
        format!("{}{}", " ".repeat(gutter), rule.iter().collect::<String>()),
        labels.line(),
        format!("{}{title}", " ".repeat(start)),
    ]
}

/// One band: a series' values per column (`None` where it has no data), drawn in `rows` rows.
fn band(values: &[Option<f64>], lo: f64, hi: f64, rows: usize) -> Vec<String> {
    let eighths: Vec<usize> = values
        .iter()
        .map(|v| v.map_or(0, |v| level(lo, hi, v, rows * 8)))
        .collect();
    (0..rows)
        .map(|r| {
            let base = (rows - 1 - r) * 8;
            eighths.iter().map(|e| cell(*e, base)).collect()
        })
        .collect()
}

/// A series' value in each of `width` columns across `x`: the peak of the points inside a
/// column, else the line between its neighbours, else nothing.
fn columns(points: &[(f64, f64)], x: &Axis, width: usize) -> Vec<Option<f64>> {
    let mut out = vec![None; width];
    for (sx, y) in points {
        let c = column(x, *sx, width);
        out[c] = Some(out[c].map_or(*y, |v: f64| v.max(*y)));
    }
    for (c, slot) in out.iter_mut().enumerate() {
        if slot.is_some() {
            continue;
        }
        let centre = x.lo + (c as f64 + 0.5) / width as f64 * (x.hi - x.lo);
        let before = points.iter().rev().find(|p| p.0 <= centre);
        let after = points.iter().find(|p| p.0 >= centre);
        if let (Some(a), Some(b)) = (before, after) {
            let t = if b.0 > a.0 {
                (centre - a.0) / (b.0 - a.0)
            } else {
                0.0
            };
            *slot = Some(a.1 + (b.1 - a.1) * t);
        }
    }
    out
}

/// A series ready to draw in its band: its points and y range in scale space, so a log band
/// rises evenly from its smallest value to its largest.
struct Band<'a> {
    name: &'a str,
    points: Vec<(f64, f64)>,
    y_scale: Scale,
    lo: f64,
    hi: f64,
}

impl Band<'_> {
    /// The labels for the top and the bottom of the band; none when it has no points.
    fn range_labels(&self) -> (String, String) {
        if self.points.is_empty() {
            return (String::new(), String::new());
        }
        let label = |s| value_label(from_scale(self.y_scale, s));
        (label(self.hi), label(self.lo))
    }
}

/// Line charts sharing an x axis, stacked: each series in its own band with its own y range.
pub(super) fn line_chart(title: &str, charts: &[&LineChart], paint: Paint) -> String {
    let Some(first) = charts.first() else {
        return format!("{}\n", paint.bold(&fit(title, MAX_WIDTH)));
    };
    let all: Vec<(&Series, Scale)> = charts
        .iter()
        .flat_map(|c| c.series.iter().map(|s| (s, c.y_scale)))
        .collect();
    let shown = &all[..all.len().min(MAX_BANDS)];
    let mut heading = title.to_string();
    if all.len() > shown.len() {
        heading = format!("{title} (first {} of {} series)", shown.len(), all.len());
    }
    let rows = (PLOT_ROWS / shown.len().max(1)).clamp(1, 4);
    let x = Axis::fit(
        first.x_scale,
        all.iter().flat_map(|(s, _)| s.points.iter().map(|p| p.0)),
        false,
    );
    let bands: Vec<Band<'_>> = shown
        .iter()
        .map(|(series, y_scale)| {
            let points: Vec<(f64, f64)> = series
                .points
                .iter()
                .filter_map(|(px, py)| Some((x.place(*px)?, to_scale(*y_scale, *py)?)))
                .collect();
            let ys = points.iter().map(|p| p.1);
            let mut lo = ys.clone().fold(f64::INFINITY, f64::min);
            let hi = ys.fold(f64::NEG_INFINITY, f64::max);
            if *y_scale == Scale::Linear {
                lo = lo.min(0.0);
            }
            Band {
                name: &series.name,
                points,
                y_scale: *y_scale,
                lo,
                hi,
            }
        })
        .collect();
    let name_width = bands
        .iter()
        .map(|b| b.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(MAX_NAME);
    let label_width = bands
        .iter()
        .map(|b| {
            let (hi, lo) = b.range_labels();
            hi.chars().count().max(lo.chars().count())
        })
        .max()
        .unwrap_or(1);
    let gutter = name_width + 1 + label_width + 1;
    let width = MAX_WIDTH.saturating_sub(gutter + 1).max(10);
    let mut out = vec![paint.bold(&fit(&heading, MAX_WIDTH))];
    for b in &bands {
        let (hi_label, lo_label) = b.range_labels();
        let mut lines = band(&columns(&b.points, &x, width), b.lo, b.hi, rows);
        if b.points.is_empty() {
            let why = if first.x_scale == Scale::Log || b.y_scale == Scale::Log {
                "no points above zero for a log scale"
            } else {
                "no points"
            };
            lines[0] = fit(why, width);
        }
        for (r, line) in lines.into_iter().enumerate() {
            let (who, value, tick) = match r {
                0 => (fit(b.name, name_width), hi_label.clone(), '┤'),
                r if r == rows - 1 => (String::new(), lo_label.clone(), '┤'),
                _ => (String::new(), String::new(), '│'),
            };
            let value = fit(&value, label_width);
            out.push(
                format!("{who:<name_width$} {value:>label_width$} {tick}{line}")
                    .trim_end()
                    .to_string(),
            );
        }
    }
    out.extend(x_axis(gutter, width, &x, &first.x_label));
    out.join("\n") + "\n"
}

/// Latency samples side by side on a log axis: a band per sample, the share of its values in
/// each column, ▲ under its p50 and p99 when there is room, and the figures at the right.
pub(super) fn distribution(dist: &Distribution, paint: Paint) -> String {
    let sorted: Vec<Vec<f64>> = dist.samples.iter().map(|s| s.sorted()).collect();
    let shown = sorted.len().min(MAX_BANDS);
    let markers = shown <= 4;
    let mut heading = dist.title.clone();
    if sorted.len() > shown {
        heading = format!("{heading} (first {shown} of {} samples)", sorted.len());
    }
    if !markers {
        heading = format!("{heading}  (p50 / p99 at the right)");
    }
    let rows = if markers {
        (PLOT_ROWS / shown.max(1)).saturating_sub(1).clamp(1, 3)
    } else {
        1
    };
    let x = Axis::fit(Scale::Log, sorted.iter().flatten().copied(), false);
    let stats: Vec<Vec<String>> = sorted[..shown]
        .iter()
        .map(|values| {
            let lines = rows + usize::from(markers);
            match (percentile(values, 50.0), percentile(values, 99.0)) {
                (Some(p50), Some(p99)) if lines >= 2 => {
                    let mut s = vec![
                        format!("p50 {} ms", value_label(p50)),
                        format!("p99 {} ms", value_label(p99)),
                    ];
                    if lines >= 3 {
                        s.push(format!("n {}", values.len()));
                    }
                    s
                }
                (Some(p50), Some(p99)) => {
                    vec![format!("{} / {} ms", value_label(p50), value_label(p99))]
                }
                _ => vec!["no samples".to_string()],
            }
        })
        .collect();
    let stats_width = stats.iter().flatten().map(|s| s.chars().count()).max();
    let stats_width = stats_width.unwrap_or(0);
    let name_width = dist.samples[..shown]
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(MAX_NAME);
    let gutter = name_width + 1;
    let width = MAX_WIDTH
        .saturating_sub(gutter + 1 + 2 + stats_width)
        .max(10);
    let counts: Vec<Vec<usize>> = sorted[..shown]
        .iter()
        .map(|v| bucket(v, &x, width))
        .collect();
    let shares: Vec<Vec<Option<f64>>> = counts
        .iter()
        .zip(&sorted)
        .map(|(c, v)| {
            c.iter()
                .map(|n| (*n > 0).then(|| *n as f64 / v.len() as f64))
                .collect()
        })
        .collect();
    let top = shares
        .iter()
        .flatten()
        .flatten()
        .copied()
        .fold(0.0, f64::max);
    let mut out = vec![paint.bold(&fit(&heading, MAX_WIDTH))];
    for (i, sample) in dist.samples[..shown].iter().enumerate() {
        let mut lines = band(&shares[i], 0.0, top, rows);
        if markers {
            lines.push(marker_row(&sorted[i], &x, width));
        }
        for (r, line) in lines.into_iter().enumerate() {
            let who = if r == 0 {
                fit(&sample.name, name_width)
            } else {
                String::new()
            };
            let axis = if r < rows { '│' } else { ' ' };
            let note = stats[i].get(r).map_or("", String::as_str);
            out.push(
                format!("{who:<name_width$} {axis}{line:<width$}  {note}")
                    .trim_end()
                    .to_string(),
            );
        }
    }
    out.extend(x_axis(gutter, width, &x, &dist.x_label));
    out.join("\n") + "\n"
}

/// ▲ under a sample's p50 and p99, each named beside it where the name fits.
fn marker_row(sorted: &[f64], x: &Axis, width: usize) -> String {
    let at = |p: Option<f64>| p.map(|p| column(x, x.place(p).unwrap_or(x.lo), width));
    let (Some(c50), Some(c99)) = (at(percentile(sorted, 50.0)), at(percentile(sorted, 99.0)))
    else {
        return String::new();
    };
    let mut row = Canvas::new(width);
    row.0[c50] = '▲';
    row.0[c99] = '▲';
    let names: &[(usize, &str)] = if c50 == c99 {
        &[(c50, "p50,p99")]
    } else {
        &[(c50, "p50"), (c99, "p99")]
    };
    // p99 first: it is the one nearer the right edge, so it has fewer places to go.
    for (c, name) in names.iter().rev() {
        let len = name.chars().count();
        if !row.put(c + 1, name, false, true) && *c >= len {
            row.put(c - len, name, true, false);
        }
    }
    row.line()
}
