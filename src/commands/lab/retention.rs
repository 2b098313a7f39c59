//! `msgwork lab retention`: the inbox retention window.

use std::fmt::Write as _;

use anyhow::Result;

use super::shared::{Request, check_outputs, list_word, record_charted, within};
use crate::Outcome;
use crate::cli::RetentionArgs;
use crate::commands::context::{Context, emit};
use crate::commands::replay::Replay;
use crate::sim::lab::retention;
use crate::ui::plot::{Figure, LineChart};
use crate::ui::plural;

/// The trade-off against the window: duplicates that got through, and what the inbox grew to.
fn trade_off(r: &retention::RetentionReport) -> Figure {
    let x = "ids kept for (hours)";
    let points =
        |f: fn(&retention::Window) -> u64| r.windows.iter().map(move |w| (w.hours.0, f(w) as f64));
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

/// The checked options: the seed drawn if it was left out, the windows read.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
struct RetentionOptions {
    #[serde(skip)]
    seed: u64,
    events: u32,
    duplicate_rate: f64,
    hours: Vec<retention::Hours>,
}

fn options(args: &RetentionArgs) -> Result<RetentionOptions> {
    within("--events", args.events, 1, 1_000_000)?;
    within("--duplicate-rate", args.duplicate_rate, 0.0, 1.0)?;
    let hours = &args.hours;
    let windows = parse_hours(hours)?;
    Ok(RetentionOptions {
        seed: args.seed.unwrap_or_else(crate::sim::model::random_seed),
        events: args.events,
        duplicate_rate: args.duplicate_rate,
        hours: windows,
    })
}

/// `--hours`: a comma-separated list of windows, each a number of hours from 0.01 (36 seconds)
/// to 10000, decimals allowed. The first entry that is not one is named in the error.
fn parse_hours(text: &str) -> Result<Vec<retention::Hours>> {
    text.split(',')
        .map(|entry| {
            let entry = entry.trim();
            entry
                .parse::<f64>()
                .ok()
                .filter(|h| (0.01..=10_000.0).contains(h))
                .map(retention::Hours)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "--hours takes numbers of hours from 0.01 to 10000, like 0.5,4,24 (got '{entry}' in '{text}')"
                    )
                })
        })
        .collect()
}

/// The command that replays the run: every option, since each one changes the result.
fn replay(o: &RetentionOptions) -> Replay {
    let mut replay = Replay::new(&["lab", "retention"]);
    replay
        .option("--seed", o.seed)
        .option("--events", o.events)
        .option("--duplicate-rate", o.duplicate_rate)
        .option("--hours", list_word(&o.hours));
    replay
}

pub(super) fn retention_lab(args: &RetentionArgs, ctx: &Context) -> Result<Outcome> {
    let o = options(args)?;
    let plot = args.plot.as_deref();
    check_outputs(ctx, plot, None, args.force)?;
    let replay = replay(&o);
    let recorder = ctx.recorder()?;
    let (seed, events) = (o.seed, o.events);
    let bar = crate::ui::Bar::new(o.hours.len() as u64, "windows", !args.json);
    bar.message("replaying the arrivals against each window");
    let r = retention::run(seed, events, o.duplicate_rate, &o.hours, &bar);
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
    let request = Request {
        seed,
        options: &o,
        replay: &replay,
    };
    let Some(run) = record_charted(&recorder, "lab-retention", &request, &r, plot, args.json)?
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
    let _ = writeln!(out, "{}", paint.bold("What this shows"));
    for sentence in explain(&r) {
        let _ = writeln!(out, "  • {sentence}");
    }
    let _ = writeln!(
        out,
        "  • Choose the window from how late a duplicate can really be (relay outages, replays from backup), not \
         from table size alone, and sweep in batches so the sweep never slows the consumer."
    );
    let _ = writeln!(out, "{}", paint.dim(&format!("Replay: {replay}{run}")));
    emit(&out)?;
    Ok(Outcome::Success)
}

/// The findings about the window, each stated only when this run's figures bear it out.
fn explain(r: &retention::RetentionReport) -> Vec<String> {
    let mut lines = Vec::new();
    let mut windows: Vec<&retention::Window> = r.windows.iter().collect();
    windows.sort_by(|a, b| a.hours.0.total_cmp(&b.hours.0));
    let (Some(shortest), Some(longest)) = (windows.first(), windows.last()) else {
        return lines;
    };
    if r.duplicates == 0 {
        lines.push(
            "No event came back a second time (--duplicate-rate 0), so no window had a duplicate \
             to catch and the shortest one is as good as any."
                .to_string(),
        );
        return lines;
    }
    // The shortest window from which on no longer one let a duplicate through either.
    let last_leak = windows.iter().rposition(|w| w.reapplied > 0);
    let Some(leak) = last_leak else {
        lines.push(format!(
            "Even the shortest window here, {} h, caught all {} late duplicates: none came later \
             than that.",
            shortest.hours, r.duplicates
        ));
        if longest.hours > shortest.hours {
            lines.push(format!(
                "A longer window bought nothing here but table size: {} inbox rows at {} h \
                 against {} at {} h.",
                longest.max_inbox_rows, longest.hours, shortest.max_inbox_rows, shortest.hours
            ));
        }
        return lines;
    };
    if shortest.reapplied > 0 {
        lines.push(format!(
            "A short window forgets ids while duplicates are still on their way: kept for {} h, \
             {} arrived after {} id was swept and {} applied again, a second charge each.",
            shortest.hours,
            plural(shortest.reapplied, "duplicate", "duplicates"),
            if shortest.reapplied == 1 {
                "its"
            } else {
                "their"
            },
            if shortest.reapplied == 1 {
                "was"
            } else {
                "were"
            },
        ));
    }
    lines.push(match windows.get(leak + 1) {
        Some(w) => format!(
            "From {} h on, no duplicate got through here, at the price of {} inbox rows at {} h. \
             Past the longest delay a duplicate can have, a longer window buys nothing but table \
             size.",
            w.hours, w.max_inbox_rows, w.hours
        ),
        None => format!(
            "Even the longest window here, {} h, let {} through: the tail of late arrivals is \
             longer still.",
            longest.hours,
            plural(longest.reapplied, "duplicate", "duplicates")
        ),
    });
    lines
}

#[cfg(test)]
mod tests {
    use super::super::shared::testing::assert_replays;
    use super::*;
    use crate::cli::LabCommand;

    #[test]
    fn the_replay_gives_back_every_option_that_changes_the_result() {
        assert_replays(
            "retention",
            &[
                &[
                    "--seed",
                    "3",
                    "--events",
                    "20000",
                    "--duplicate-rate",
                    "0.1",
                    "--hours",
                    "1,2,4,8,12,24,48,96",
                ],
                &[
                    "--seed",
                    "3",
                    "--events",
                    "90",
                    "--duplicate-rate",
                    "0.25",
                    "--hours",
                    "24, 1,6",
                ],
            ],
            |lab| match lab {
                LabCommand::Retention(args) => options(&args).unwrap(),
                other => panic!("{other:?}"),
            },
            replay,
        );
    }
}
