//! Charts for the labs: an SVG file for `--plot FILE.svg`, drawn with plotters, and a compact
//! terminal version of the same chart (at most 12 lines of 80 columns, unicode blocks, readable
//! without colour).
//!
//! Two kinds of chart, both built with a few chained calls and no plotting knowledge:
//! - [`LineChart`]: named series of (x, y) points, either axis linear or log10;
//! - [`Distribution`]: named samples of latencies in ms, bucketed on a log axis, with p50 and p99.
//!
//! [`Figure`] stacks several into one SVG (panels sharing a page, each with its own y axis).
//! Nothing here decides anything: the caller passes what the core computed.

mod axis;
mod svg;
mod term;
#[cfg(test)]
mod tests;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

use super::Paint;
pub use term::sparkline;

/// How an axis maps values to positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Scale {
    #[default]
    Linear,
    /// Log10: equal distances for equal ratios. Zero and negative values cannot be shown and are
    /// left out of the line (it breaks there) rather than failing.
    Log,
}

/// One named line of a [`LineChart`].
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    /// Drawn in order of x; points with a NaN or infinite coordinate are left out.
    pub points: Vec<(f64, f64)>,
}

/// Several named series against shared axes: "queue depth over time", "poll time against table
/// size".
#[derive(Clone, Debug, PartialEq)]
pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_scale: Scale,
    pub y_scale: Scale,
    pub series: Vec<Series>,
}

impl LineChart {
    pub fn new(title: &str, x_label: &str, y_label: &str) -> Self {
        LineChart {
            title: title.to_string(),
            x_label: x_label.to_string(),
            y_label: y_label.to_string(),
            x_scale: Scale::Linear,
            y_scale: Scale::Linear,
            series: Vec::new(),
        }
    }

    /// Puts x on a log10 scale.
    pub fn log_x(mut self) -> Self {
        self.x_scale = Scale::Log;
        self
    }

    /// Puts y on a log10 scale.
    pub fn log_y(mut self) -> Self {
        self.y_scale = Scale::Log;
        self
    }

    /// Adds a named series.
    pub fn series(mut self, name: &str, points: impl IntoIterator<Item = (f64, f64)>) -> Self {
        let mut points: Vec<(f64, f64)> = points
            .into_iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        self.series.push(Series {
            name: name.to_string(),
            points,
        });
        self
    }

    /// The chart as an SVG document.
    pub fn svg(&self) -> Result<String> {
        svg::render(&self.title, &[Panel::Line(self)])
    }

    /// Writes the chart to `path` as SVG (see [`write_svg`]).
    pub fn save(&self, path: &Path) -> Result<()> {
        write_svg(path, &self.svg()?)
    }

    /// The terminal version: at most 12 lines of 80 columns.
    pub fn terminal(&self, paint: Paint) -> String {
        term::line_chart(&self.title, &[self], paint)
    }
}

/// One named set of latencies in a [`Distribution`].
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    /// Milliseconds. NaN and infinite values are left out; zero and negative ones are counted in
    /// the lowest bucket, since a log axis has no place for them.
    pub values_ms: Vec<f64>,
}

impl Sample {
    /// The values, finite and sorted.
    fn sorted(&self) -> Vec<f64> {
        let mut v: Vec<f64> = self
            .values_ms
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect();
        v.sort_by(f64::total_cmp);
        v
    }
}

/// Latency distributions compared on a log axis: "CDC" against "polling 500 ms". Each sample
/// is bucketed (ten buckets a decade) as a share of its own count, so samples of different sizes
/// compare, and its p50 and p99 are marked.
#[derive(Clone, Debug, PartialEq)]
pub struct Distribution {
    pub title: String,
    pub x_label: String,
    pub samples: Vec<Sample>,
}

impl Distribution {
    /// `x_label` names what was measured, e.g. "delivery latency (ms)".
    pub fn new(title: &str, x_label: &str) -> Self {
        Distribution {
            title: title.to_string(),
            x_label: x_label.to_string(),
            samples: Vec::new(),
        }
    }

    /// Adds a named sample of latencies in milliseconds.
    pub fn sample(mut self, name: &str, values_ms: impl IntoIterator<Item = f64>) -> Self {
        self.samples.push(Sample {
            name: name.to_string(),
            values_ms: values_ms.into_iter().collect(),
        });
        self
    }

    /// The chart as an SVG document.
    pub fn svg(&self) -> Result<String> {
        svg::render(&self.title, &[Panel::Distribution(self)])
    }

    /// Writes the chart to `path` as SVG (see [`write_svg`]).
    pub fn save(&self, path: &Path) -> Result<()> {
        write_svg(path, &self.svg()?)
    }

    /// The terminal version: at most 12 lines of 80 columns.
    pub fn terminal(&self, paint: Paint) -> String {
        term::distribution(self, paint)
    }
}

/// Charts stacked on one page, one below the other, each with its own axes: two measures of the
/// same runs in different units, such as duplicates re-applied and inbox rows against the
/// retention window.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    pub title: String,
    pub panels: Vec<Chart>,
}

/// A panel of a [`Figure`].
#[derive(Clone, Debug, PartialEq)]
pub enum Chart {
    Line(LineChart),
    Distribution(Distribution),
}

/// A panel borrowed for rendering.
#[derive(Clone, Copy)]
enum Panel<'a> {
    Line(&'a LineChart),
    Distribution(&'a Distribution),
}

impl Figure {
    pub fn new(title: &str) -> Self {
        Figure {
            title: title.to_string(),
            panels: Vec::new(),
        }
    }

    /// Adds a panel below the others; its title becomes the panel's caption.
    pub fn panel(mut self, chart: impl Into<Chart>) -> Self {
        self.panels.push(chart.into());
        self
    }

    fn borrowed(&self) -> Vec<Panel<'_>> {
        self.panels
            .iter()
            .map(|p| match p {
                Chart::Line(c) => Panel::Line(c),
                Chart::Distribution(d) => Panel::Distribution(d),
            })
            .collect()
    }

    /// The figure as an SVG document.
    pub fn svg(&self) -> Result<String> {
        svg::render(&self.title, &self.borrowed())
    }

    /// Writes the chart to `path` as SVG (see [`write_svg`]).
    pub fn save(&self, path: &Path) -> Result<()> {
        write_svg(path, &self.svg()?)
    }

    /// The terminal version. Line panels sharing their x axis stack into one chart of at most 12
    /// lines, each series with its own y range; other panels follow one after another.
    pub fn terminal(&self, paint: Paint) -> String {
        let lines: Vec<&LineChart> = self
            .panels
            .iter()
            .filter_map(|p| match p {
                Chart::Line(c) => Some(c),
                Chart::Distribution(_) => None,
            })
            .collect();
        let shared_x = lines.len() == self.panels.len()
            && lines
                .windows(2)
                .all(|w| w[0].x_label == w[1].x_label && w[0].x_scale == w[1].x_scale);
        if shared_x && !lines.is_empty() {
            return term::line_chart(&self.title, &lines, paint);
        }
        self.panels
            .iter()
            .map(|p| match p {
                Chart::Line(c) => c.terminal(paint),
                Chart::Distribution(d) => d.terminal(paint),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl From<LineChart> for Chart {
    fn from(chart: LineChart) -> Self {
        Chart::Line(chart)
    }
}

impl From<Distribution> for Chart {
    fn from(chart: Distribution) -> Self {
        Chart::Distribution(chart)
    }
}

/// Checks a `--plot` value before any work is done: charts are SVG only, so a path that does
/// not end in `.svg` is bad input.
pub fn check_svg_path(path: &Path) -> Result<()> {
    let is_svg = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("svg"));
    let named = path.file_stem().is_some_and(|stem| !stem.is_empty());
    if !is_svg || !named {
        bail!(
            "--plot writes SVG only: give a file name ending in .svg, like depth.svg (got '{}')",
            path.display()
        );
    }
    Ok(())
}

/// Writes an SVG document to `path` through a temporary file in the same directory and a
/// rename, so a reader never sees half a chart and a failed write leaves no file behind.
pub fn write_svg(path: &Path, svg: &str) -> Result<()> {
    write_atomically(path, svg.as_bytes())
        .with_context(|| format!("cannot write chart to {}", path.display()))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&temp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}
