//! `msgwork lab retention`: the inbox retention window.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde_json::json;

use super::shared::{record_charted, within};
use crate::Outcome;
use crate::commands::context::{Context, emit};
use crate::sim::lab::retention;
use crate::ui::plot::{self, Figure, LineChart};

/// The trade-off against the window: duplicates that got through, and what the inbox grew to.
fn trade_off(r: &retention::RetentionReport) -> Figure {
    let x = "ids kept for (hours)";
    let points = |f: fn(&retention::Window) -> u64| {
        r.windows
            .iter()
            .map(move |w| (f64::from(w.hours), f(w) as f64))
    };
    Figure::new("Retention window: duplicates re-applied against inbox size")
        .panel(
            LineChart::new("Duplicates applied a second time", x, "duplicates")
                .log_x()
                .series("duplicates re-applied", points(|w| w.reapplied)),
        )
        .panel(
            LineChart::new("What the inbox grows to", x, "rows")
                .log_x()
                .series("inbox rows at most", points(|w| w.max_inbox_rows)),
        )
}

pub(super) fn retention_lab(
    events: u32,
    rate: f64,
    hours: &str,
    seed: Option<u64>,
    plot: Option<&Path>,
    json: bool,
    ctx: &Context,
) -> Result<Outcome> {
    within("--events", events, 1, 1_000_000)?;
    within("--duplicate-rate", rate, 0.0, 1.0)?;
    let windows: Vec<u32> = hours
        .split(',')
        .map(|h| {
            h.trim()
                .parse::<u32>()
                .ok()
                .filter(|h| (1..=10_000).contains(h))
        })
        .collect::<Option<_>>()
        .ok_or_else(|| {
            anyhow::anyhow!("--hours takes whole numbers of hours, like 1,4,24 (got '{hours}')")
        })?;
    if let Some(path) = plot {
        plot::check_svg_path(path)?;
    }
    let store = ctx.open_store()?;
    let seed = seed.unwrap_or_else(crate::sim::model::random_seed);
    let bar = crate::ui::Bar::new(windows.len() as u64, "windows", !json);
    bar.message("replaying the arrivals against each window");
    let r = retention::run(seed, events, rate, &windows, &bar);
    bar.finish();
    let r = r?;
    let chart = trade_off(&r);
    if let Some(path) = plot {
        Figure {
            title: format!(
                "lab retention, seed {seed}: {events} events, {} late duplicates",
                r.duplicates
            ),
            ..chart.clone()
        }
        .save(path)?;
    }
    let Some(run) = record_charted(
        &store,
        "lab-retention",
        seed,
        &json!({"events": events, "duplicate_rate": rate, "hours": windows}),
        &r,
        plot,
        json,
    )?
    else {
        return Ok(Outcome::Success);
    };
    let paint = ctx.paint;
    let mut out = format!(
        "{}  seed {seed} · {events} events over 72 h · {} late duplicates\n\n",
        paint.bold("msgwork lab retention"),
        r.duplicates
    );
    let mut table = paint.table(&[
        "keep ids for",
        "duplicates re-applied",
        "skipped",
        "inbox rows at most",
    ]);
    for w in &r.windows {
        table.add_row(vec![
            comfy_table::Cell::new(format!("{} h", w.hours)),
            paint.number(
                w.reapplied,
                if w.reapplied == 0 {
                    crate::ui::Verdict::Good
                } else {
                    crate::ui::Verdict::Bad
                },
            ),
            paint.number(w.skipped, crate::ui::Verdict::Plain),
            paint.number(w.max_inbox_rows, crate::ui::Verdict::Plain),
        ]);
    }
    let _ = writeln!(out, "{table}\n");
    let _ = writeln!(out, "{}", chart.terminal(paint));
    if let Some(path) = plot {
        let _ = writeln!(out, "Chart written to {}\n", path.display());
    }
    let first_safe = r.windows.iter().find(|w| w.reapplied == 0);
    let _ = writeln!(out, "{}", paint.bold("What this shows"));
    let _ = writeln!(
        out,
        "  • A short window forgets ids while duplicates are still on their way: each one that arrives after \
         its id was swept is applied again, a second charge."
    );
    match first_safe {
        Some(w) => {
            let _ = writeln!(
                out,
                "  • From {} h on, no duplicate got through here, at the price of {} inbox rows. Past the longest \
                 delay a duplicate can have, a longer window buys nothing but table size.",
                w.hours, w.max_inbox_rows
            );
        }
        None => {
            let _ = writeln!(
                out,
                "  • Even the longest window here let duplicates through: the tail of late arrivals is longer still."
            );
        }
    }
    let _ = writeln!(
        out,
        "  • Choose the window from how late a duplicate can really be (relay outages, replays from backup), not \
         from table size alone, and sweep in batches so the sweep never slows the consumer."
    );
    let _ = writeln!(
        out,
        "{}",
        paint.dim(&format!(
            "Replay: msgwork lab retention --seed {seed}  ·  recorded as run {run}"
        ))
    );
    emit(&out)?;
    Ok(Outcome::Success)
}
