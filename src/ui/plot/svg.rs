//! SVG rendering with plotters. Log axes are drawn in log10 space with our own ticks (see
//! `axis`), so every panel has one coordinate type and labels like `0.05` and `10k`. Text stays
//! `<text>` elements for the viewer's fonts; the legend sits above each plot, never over the data.

use anyhow::{Result, anyhow};
use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::{Axis, bucket, percentile, value_label};
use super::{Distribution, LineChart, Panel, Scale};

const WIDTH: u32 = 900;
const TITLE_HEIGHT: u32 = 48;
const FONT: &str = "sans-serif";

/// Okabe–Ito colours: told apart by most colour-blind readers, and dark enough on white.
const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
];

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Coords = Cartesian2d<Ticked, Ticked>;

/// An [`Axis`] as a plotters coordinate: linear over its scale space, with exactly its ticks as
/// labelled grid lines and its minor ticks as light ones.
struct Ticked(Axis);

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = f64::from(limit.1 - limit.0);
        limit.0 + (self.0.fraction(*value) * span).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.0.minor.clone()
        } else {
            self.0.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.0.lo..self.0.hi
    }
}

/// A figure of one or more panels, one below the other, as an SVG document.
pub(super) fn render(title: &str, panels: &[Panel<'_>]) -> Result<String> {
    let per_panel = if panels.len() > 1 { 400 } else { 500 };
    let height = TITLE_HEIGHT + per_panel * panels.len().max(1) as u32;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, height)).into_drawing_area();
        draw_figure(&root, title, panels).map_err(|e| anyhow!("cannot draw the chart: {e}"))?;
        root.present()
            .map_err(|e| anyhow!("cannot draw the chart: {e}"))?;
    }
    Ok(out)
}

type DrawResult<T> = Result<T, DrawingAreaErrorKind<std::io::Error>>;

fn draw_figure(root: &Area<'_>, title: &str, panels: &[Panel<'_>]) -> DrawResult<()> {
    root.fill(&WHITE)?;
    let (head, body) = root.split_vertically(TITLE_HEIGHT);
    text(
        &head,
        title,
        (WIDTH as i32 / 2, TITLE_HEIGHT as i32 / 2 + 4),
        &bold(22).color(&BLACK),
        Pos::new(HPos::Center, VPos::Center),
    )?;
    if panels.is_empty() {
        return Ok(());
    }
    let captioned = panels.len() > 1;
    // Each series of the figure gets its own colour, across panels too.
    let mut first_colour = 0;
    for (area, panel) in body.split_evenly((panels.len(), 1)).iter().zip(panels) {
        let area = if captioned {
            let caption = match panel {
                Panel::Line(c) => &c.title,
                Panel::Distribution(d) => &d.title,
            };
            let (head, rest) = area.split_vertically(30);
            text(
                &head,
                caption,
                (80, 18),
                &bold(17).color(&BLACK),
                Pos::new(HPos::Left, VPos::Center),
            )?;
            rest
        } else {
            area.clone()
        };
        match panel {
            Panel::Line(chart) => {
                line_panel(&area, chart, first_colour)?;
                first_colour += chart.series.len();
            }
            Panel::Distribution(dist) => {
                distribution_panel(&area, dist, first_colour)?;
                first_colour += dist.samples.len();
            }
        }
    }
    Ok(())
}

fn font(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().into()
}

fn bold(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().style(FontStyle::Bold).into()
}

fn text(
    area: &Area<'_>,
    s: &str,
    at: (i32, i32),
    style: &TextStyle<'_>,
    pos: Pos,
) -> DrawResult<()> {
    area.draw(&Text::new(s.to_string(), at, style.pos(pos)))
}

/// How a legend entry's swatch is drawn.
#[derive(Clone, Copy)]
enum Stroke {
    Solid,
    Dashed,
    Dotted,
}

struct Entry {
    colour: RGBColor,
    stroke: Stroke,
    label: String,
}

/// A rough width for text in the viewer's sans-serif: the layout only needs to avoid overlap.
fn text_width(s: &str, size: f64) -> i32 {
    (s.chars().count() as f64 * size * 0.56).ceil() as i32
}

const LEGEND_FONT: u32 = 14;
const LEGEND_ROW: i32 = 22;
const LEGEND_LEFT: i32 = 80;

/// Lays the entries out in rows across the width; returns each entry's position and the height.
fn legend_layout(entries: &[Entry]) -> (Vec<(i32, i32)>, u32) {
    let right = WIDTH as i32 - 20;
    let (mut x, mut y) = (LEGEND_LEFT, LEGEND_ROW / 2 + 4);
    let mut at = Vec::new();
    for e in entries {
        let w = 30 + text_width(&e.label, f64::from(LEGEND_FONT));
        if x > LEGEND_LEFT && x + w > right {
            x = LEGEND_LEFT;
            y += LEGEND_ROW;
        }
        at.push((x, y));
        x += w + 28;
    }
    (at, (y + LEGEND_ROW / 2 + 4) as u32)
}

/// Draws the legend at the top of `area` and returns what is left below it.
fn legend<'a>(area: &Area<'a>, entries: &[Entry]) -> DrawResult<Area<'a>> {
    let (at, height) = legend_layout(entries);
    let (top, rest) = area.split_vertically(height);
    for (e, (x, y)) in entries.iter().zip(at) {
        let style = ShapeStyle::from(&e.colour).stroke_width(2);
        let swatch = vec![(x, y), (x + 24, y)];
        match e.stroke {
            Stroke::Solid => top.draw(&PathElement::new(swatch, style))?,
            Stroke::Dashed => top.draw(&DashedPathElement::new(swatch, 5, 3, style))?,
            Stroke::Dotted => top.draw(&DashedPathElement::new(swatch, 2, 3, style))?,
        }
        text(
            &top,
            &e.label,
            (x + 30, y),
            &font(LEGEND_FONT).color(&BLACK),
            Pos::new(HPos::Left, VPos::Center),
        )?;
    }
    Ok(rest)
}

/// Axes, grid, tick labels and axis titles.
fn frame<'a>(
    area: &Area<'a>,
    x: &Axis,
    y: &Axis,
    x_label: &str,
    y_label: &str,
) -> DrawResult<ChartContext<'a, SVGBackend<'a>, Coords>> {
    let widest = y
        .ticks
        .iter()
        .map(|t| text_width(&y.label(*t), 14.0))
        .max()
        .unwrap_or(10);
    let mut chart = ChartBuilder::on(area)
        .margin_top(8)
        .margin_right(30)
        .margin_bottom(6)
        .margin_left(8)
        .x_label_area_size(52)
        .y_label_area_size(widest + 44)
        .build_cartesian_2d(Ticked(x.clone()), Ticked(y.clone()))?;
    let x_fmt = |v: &f64| x.label(*v);
    let y_fmt = |v: &f64| y.label(*v);
    chart
        .configure_mesh()
        .x_desc(describe(x_label, x.scale))
        .y_desc(describe(y_label, y.scale))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(font(14).color(&RGBColor(60, 60, 60)))
        .axis_desc_style(font(15).color(&BLACK))
        .bold_line_style(RGBColor(0, 0, 0).mix(0.12))
        .light_line_style(RGBColor(0, 0, 0).mix(0.05))
        .axis_style(RGBColor(90, 90, 90))
        .draw()?;
    Ok(chart)
}

/// An axis title says when its scale is logarithmic, since the ticks alone may not.
fn describe(label: &str, scale: Scale) -> String {
    match scale {
        Scale::Linear => label.to_string(),
        Scale::Log => format!("{label}, log scale"),
    }
}

/// A series as the stretches of line the axes can show: a point a log axis cannot show (zero,
/// negative) breaks the line there.
fn runs(points: &[(f64, f64)], x: &Axis, y: &Axis) -> Vec<Vec<(f64, f64)>> {
    let mut runs = Vec::new();
    let mut run = Vec::new();
    for (px, py) in points {
        match (x.place(*px), y.place(*py)) {
            (Some(sx), Some(sy)) => run.push((sx, sy)),
            _ if run.is_empty() => {}
            _ => runs.push(std::mem::take(&mut run)),
        }
    }
    runs.push(run);
    runs
}

fn line_panel(area: &Area<'_>, chart: &LineChart, first_colour: usize) -> DrawResult<()> {
    let points = || chart.series.iter().flat_map(|s| s.points.iter());
    let x = Axis::fit(chart.x_scale, points().map(|p| p.0), false);
    let y = Axis::fit(chart.y_scale, points().map(|p| p.1), true).with_headroom();
    let lines: Vec<Vec<Vec<(f64, f64)>>> = chart
        .series
        .iter()
        .map(|s| runs(&s.points, &x, &y))
        .collect();
    let entries: Vec<Entry> = chart
        .series
        .iter()
        .zip(&lines)
        .enumerate()
        .map(|(i, (s, runs))| Entry {
            colour: colour(first_colour + i),
            stroke: Stroke::Solid,
            label: if runs.iter().all(Vec::is_empty) {
                format!("{} (no points to show)", s.name)
            } else {
                s.name.clone()
            },
        })
        .collect();
    let area = legend(area, &entries)?;
    let mut ctx = frame(&area, &x, &y, &chart.x_label, &chart.y_label)?;
    for (i, runs) in lines.into_iter().enumerate() {
        let c = colour(first_colour + i);
        let shown: Vec<(f64, f64)> = runs.iter().flatten().copied().collect();
        for run in runs.into_iter().filter(|r| r.len() > 1) {
            ctx.draw_series(std::iter::once(PathElement::new(
                run,
                ShapeStyle::from(&c).stroke_width(2),
            )))?;
        }
        // Few points: mark each, so a reader sees where the measurements are (and a lone
        // point shows at all).
        if shown.len() <= 40 {
            ctx.draw_series(
                shown
                    .iter()
                    .map(|p| Circle::new(*p, 4, ShapeStyle::from(&c).filled())),
            )?;
        }
    }
    Ok(())
}

/// One sample bucketed on the distribution's log axis: share of the sample (%) per bucket.
struct Bucketed {
    shares: Vec<f64>,
    p50: Option<f64>,
    p99: Option<f64>,
    count: usize,
}

fn distribution_panel(area: &Area<'_>, dist: &Distribution, first_colour: usize) -> DrawResult<()> {
    let per_decade = 10;
    let sorted: Vec<Vec<f64>> = dist.samples.iter().map(|s| s.sorted()).collect();
    let x = Axis::fit(Scale::Log, sorted.iter().flatten().copied(), false);
    let bucketed: Vec<Bucketed> = sorted
        .iter()
        .map(|values| {
            let decades = (x.hi - x.lo).round() as usize;
            let counts = bucket(values, &x, decades * per_decade);
            let total = values.len().max(1) as f64;
            Bucketed {
                shares: counts.iter().map(|c| *c as f64 * 100.0 / total).collect(),
                p50: percentile(values, 50.0),
                p99: percentile(values, 99.0),
                count: values.len(),
            }
        })
        .collect();
    let mut entries: Vec<Entry> = dist
        .samples
        .iter()
        .zip(&bucketed)
        .enumerate()
        .map(|(i, (s, b))| Entry {
            colour: colour(first_colour + i),
            stroke: Stroke::Solid,
            label: match (b.p50, b.p99) {
                (Some(p50), Some(p99)) => format!(
                    "{}: p50 {} ms · p99 {} ms · n {}",
                    s.name,
                    value_label(p50),
                    value_label(p99),
                    b.count
                ),
                _ => format!("{}: no samples", s.name),
            },
        })
        .collect();
    let grey = RGBColor(90, 90, 90);
    entries.push(Entry {
        colour: grey,
        stroke: Stroke::Dashed,
        label: "p50".to_string(),
    });
    entries.push(Entry {
        colour: grey,
        stroke: Stroke::Dotted,
        label: "p99".to_string(),
    });
    let area = legend(area, &entries)?;
    let y = Axis::fit(
        Scale::Linear,
        bucketed.iter().flat_map(|b| b.shares.iter().copied()),
        true,
    )
    .with_headroom();
    let mut ctx = frame(&area, &x, &y, &dist.x_label, "share of samples (%)")?;
    let width = 1.0 / per_decade as f64;
    for (i, b) in bucketed.iter().enumerate() {
        let c = colour(first_colour + i);
        let used: Vec<usize> = (0..b.shares.len()).filter(|j| b.shares[*j] > 0.0).collect();
        if let (Some(first), Some(last)) = (used.first(), used.last()) {
            // A step outline over the buckets in use, filled lightly so overlaps stay visible.
            let mut outline = vec![(x.lo + *first as f64 * width, 0.0)];
            for j in *first..=*last {
                let left = x.lo + j as f64 * width;
                outline.push((left, b.shares[j]));
                outline.push((left + width, b.shares[j]));
            }
            outline.push((x.lo + (*last + 1) as f64 * width, 0.0));
            ctx.draw_series(std::iter::once(Polygon::new(
                outline.clone(),
                c.mix(0.15).filled(),
            )))?;
            ctx.draw_series(std::iter::once(PathElement::new(
                outline,
                ShapeStyle::from(&c).stroke_width(2),
            )))?;
        }
        let style = ShapeStyle::from(&c).stroke_width(2);
        for (p, (dash, gap)) in [(b.p50, (7, 4)), (b.p99, (2, 3))] {
            if let Some(p) = p {
                let s = x.place(p).unwrap_or(x.lo).clamp(x.lo, x.hi);
                ctx.draw_series(std::iter::once(DashedPathElement::new(
                    vec![(s, y.lo), (s, y.hi)],
                    dash,
                    gap,
                    style,
                )))?;
            }
        }
    }
    Ok(())
}
