//! `msgwork lab retention`: the inbox retention window.

use std::fmt::Write as _;

use anyhow::Result;
use serde_json::json;

use super::{record, within};
use crate::Outcome;
use crate::commands::{Context, emit};
use crate::sim::retention;

pub(super) fn retention_lab(
    events: u32,
    rate: f64,
    hours: &str,
    seed: Option<u64>,
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
    let store = ctx.open_store()?;
    let seed = seed.unwrap_or_else(crate::sim::random_seed);
    let r = retention::run(seed, events, rate, &windows)?;
    let Some(run) = record(
        &store,
        "lab-retention",
        seed,
        &json!({"events": events, "duplicate_rate": rate, "hours": windows}),
        &r,
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
    let biggest = r
        .windows
        .iter()
        .map(|w| w.max_inbox_rows)
        .max()
        .unwrap_or(1)
        .max(1);
    let mut table = paint.table(&[
        "keep ids for",
        "duplicates re-applied",
        "skipped",
        "inbox rows at most",
        "",
    ]);
    for w in &r.windows {
        let bar = "█".repeat(((w.max_inbox_rows * 24).div_ceil(biggest)) as usize);
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
            comfy_table::Cell::new(bar),
        ]);
    }
    let _ = writeln!(out, "{table}\n");
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
