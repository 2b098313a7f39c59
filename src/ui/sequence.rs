//! Sequence diagrams of an order's life, from [`Lanes`]: a compact terminal version (one row a
//! step, arrows between lane columns, readable without colour) and an SVG drawn with plotters,
//! as Lamport diagrams draw messages between processes.

use anyhow::{Result, anyhow};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::Paint;
use crate::verify::lanes::{Kind, Lanes};

/// The diagram as terminal lines: a header of lane names, then one row a step.
pub fn terminal(lanes: &Lanes, paint: Paint) -> String {
    let widths: Vec<usize> = lanes
        .lanes
        .iter()
        .map(|l| l.chars().count().max(7) + 3)
        .collect();
    let centre = |i: usize| widths[..i].iter().sum::<usize>() + widths[i] / 2;
    let total: usize = widths.iter().sum();
    let mut out = String::new();
    let mut header = format!("{:>8}  ", "ms");
    for (name, w) in lanes.lanes.iter().zip(&widths) {
        let pad = w - name.chars().count();
        header.push_str(&" ".repeat(pad / 2));
        header.push_str(name);
        header.push_str(&" ".repeat(pad - pad / 2));
    }
    out.push_str(&paint.bold(header.trim_end()));
    out.push('\n');
    for step in &lanes.steps {
        let mut row: Vec<char> = vec![' '; total];
        for i in 0..lanes.lanes.len() {
            row[centre(i)] = '│';
        }
        let (a, b) = (centre(step.from), centre(step.to));
        match step.kind {
            Kind::Note => row[a] = '◆',
            Kind::Kill => row[a] = '✗',
            Kind::Request | Kind::Reply => {
                let line = if step.kind == Kind::Request {
                    '─'
                } else {
                    '┄'
                };
                let (lo, hi) = (a.min(b), a.max(b));
                for c in row.iter_mut().take(hi).skip(lo + 1) {
                    *c = line;
                }
                row[a] = '●';
                row[b] = if b > a { '▶' } else { '◀' };
            }
        }
        let drawn: String = row.into_iter().collect();
        let label = match step.kind {
            Kind::Kill => paint.bad(&step.label),
            _ => step.label.clone(),
        };
        out.push_str(&format!("{:>8}  {}  {label}\n", step.ms, drawn.trim_end()));
    }
    out
}

const LANE_GAP: u32 = 150;
const ROW: u32 = 30;
const TOP: u32 = 90;
const LEFT: u32 = 90;
const FONT: &str = "sans-serif";

/// The diagram as an SVG document.
pub fn svg(lanes: &Lanes) -> Result<String> {
    let width = LEFT + LANE_GAP * lanes.lanes.len() as u32 + 140;
    let height = TOP + ROW * (lanes.steps.len() as u32 + 1) + 20;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        draw(&root, lanes).map_err(|e| anyhow!("cannot draw the diagram: {e}"))?;
        root.present()
            .map_err(|e| anyhow!("cannot draw the diagram: {e}"))?;
    }
    Ok(out)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

fn draw(root: &Area<'_>, lanes: &Lanes) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    root.fill(&WHITE)?;
    let x = |i: usize| (LEFT + LANE_GAP * i as u32 + LANE_GAP / 2) as i32;
    let bottom = (TOP + ROW * (lanes.steps.len() as u32 + 1)) as i32;
    let title = TextStyle::from((FONT, 20).into_font()).pos(Pos::new(HPos::Left, VPos::Top));
    root.draw(&Text::new(lanes.title.clone(), (20, 16), title))?;
    let name = TextStyle::from((FONT, 15).into_font().style(FontStyle::Bold))
        .pos(Pos::new(HPos::Center, VPos::Bottom));
    let grey = RGBColor(160, 160, 160);
    for (i, lane) in lanes.lanes.iter().enumerate() {
        root.draw(&Text::new(
            lane.clone(),
            (x(i), TOP as i32 - 14),
            name.clone(),
        ))?;
        root.draw(&PathElement::new(
            vec![(x(i), TOP as i32 - 8), (x(i), bottom)],
            grey.stroke_width(2),
        ))?;
    }
    let ms = TextStyle::from((FONT, 12).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
    let label = TextStyle::from((FONT, 12).into_font()).pos(Pos::new(HPos::Center, VPos::Bottom));
    let note = TextStyle::from((FONT, 12).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    let blue = RGBColor(0, 114, 178);
    let red = RGBColor(213, 94, 0);
    for (row, step) in lanes.steps.iter().enumerate() {
        let y = (TOP + ROW * (row as u32 + 1)) as i32;
        root.draw(&Text::new(
            format!("{} ms", step.ms),
            (LEFT as i32 - 10, y),
            ms.clone(),
        ))?;
        let (a, b) = (x(step.from), x(step.to));
        match step.kind {
            Kind::Request | Kind::Reply => {
                let style = blue.stroke_width(2);
                if step.kind == Kind::Request {
                    root.draw(&PathElement::new(vec![(a, y), (b, y)], style))?;
                } else {
                    root.draw(&DashedPathElement::new(vec![(a, y), (b, y)], 6, 4, style))?;
                }
                let dir = if b > a { -1 } else { 1 };
                root.draw(&Polygon::new(
                    vec![(b, y), (b + dir * 9, y - 5), (b + dir * 9, y + 5)],
                    blue.filled(),
                ))?;
                root.draw(&Text::new(
                    step.label.clone(),
                    ((a + b) / 2, y - 3),
                    label.clone(),
                ))?;
            }
            Kind::Note => {
                root.draw(&Circle::new((a, y), 5, blue.filled()))?;
                root.draw(&Text::new(step.label.clone(), (a + 10, y), note.clone()))?;
            }
            Kind::Kill => {
                let s = red.stroke_width(3);
                root.draw(&PathElement::new(vec![(a - 7, y - 7), (a + 7, y + 7)], s))?;
                root.draw(&PathElement::new(vec![(a - 7, y + 7), (a + 7, y - 7)], s))?;
                root.draw(&Text::new(
                    step.label.clone(),
                    (a + 12, y),
                    note.clone().color(&red),
                ))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::lanes::Step;

    fn lanes() -> Lanes {
        Lanes {
            title: "The life of order 3".into(),
            lanes: vec!["client".into(), "service".into(), "broker".into()],
            steps: vec![
                Step {
                    ms: 1,
                    from: 0,
                    to: 1,
                    kind: Kind::Request,
                    label: "place_order 3".into(),
                },
                Step {
                    ms: 2,
                    from: 1,
                    to: 2,
                    kind: Kind::Request,
                    label: "publish e".into(),
                },
                Step {
                    ms: 2,
                    from: 1,
                    to: 1,
                    kind: Kind::Kill,
                    label: "service killed".into(),
                },
                Step {
                    ms: 3,
                    from: 2,
                    to: 1,
                    kind: Kind::Reply,
                    label: "publish_ok".into(),
                },
            ],
        }
    }

    #[test]
    fn the_terminal_diagram_points_each_arrow_at_its_receiver() {
        let text = terminal(&lanes(), Paint::new(crate::cli::ColorChoice::Never));
        let rows: Vec<&str> = text.lines().collect();
        assert!(rows[0].contains("client") && rows[0].contains("broker"));
        assert!(
            rows[1].contains('●') && rows[1].contains('▶') && rows[1].ends_with("place_order 3")
        );
        assert!(rows[1].find('●') < rows[1].find('▶'));
        assert!(rows[3].contains('✗'));
        assert!(rows[4].find('◀') < rows[4].find('●'), "{}", rows[4]);
        assert!(rows[4].contains('┄'));
    }

    #[test]
    fn the_svg_has_every_lane_and_label() {
        let svg = svg(&lanes()).unwrap();
        for text in [
            "client",
            "service",
            "broker",
            "place_order 3",
            "service killed",
            "publish_ok",
        ] {
            assert!(svg.contains(text), "{text}");
        }
    }
}
