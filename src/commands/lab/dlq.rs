//! `msgwork lab dlq`: retries, backoff and dead letters.

use std::fmt::Write as _;

use anyhow::{Result, bail};

use super::shared::{parse_duration_ms, record_charted, within};
use crate::Outcome;
use crate::cli::DlqArgs;
use crate::commands::context::{Context, emit};
use crate::sim::lab::dlq;
use crate::ui::plot::{self, LineChart};

/// `1s,5s,30s,5m` to milliseconds.
fn parse_backoff(list: &str) -> Result<Vec<u64>> {
    list.split(',')
        .map(|part| parse_duration_ms("--backoff", part))
        .collect()
}

/// The unit a span of simulated time reads best in, and its length in ms.
fn unit(ms: u64) -> (&'static str, f64) {
    match ms {
        0..=59_999 => ("s", 1_000.0),
        60_000..=3_599_999 => ("min", 60_000.0),
        _ => ("h", 3_600_000.0),
    }
}

fn duration(ms: u64) -> String {
    let (name, length) = unit(ms);
    format!("{:.1} {name}", ms as f64 / length)
}

/// Retry-queue and dead-letter depth against simulated time, in the unit the run's length reads
/// best in.
fn depth_chart(r: &dlq::DlqReport) -> LineChart {
    let (name, length) = unit(r.finished_at_ms);
    let at = |d: &dlq::Depth| d.t_ms as f64 / length;
    LineChart::new(
        &format!(
            "Queue depth over {} of simulated time",
            duration(r.finished_at_ms)
        ),
        &format!("simulated time ({name})"),
        "messages",
    )
    .series(
        "retry queue",
        r.timeline.iter().map(|d| (at(d), d.retry as f64)),
    )
    .series(
        "dead letters",
        r.timeline.iter().map(|d| (at(d), d.dead as f64)),
    )
}

pub(super) fn dlq_lab(args: &DlqArgs, ctx: &Context) -> Result<Outcome> {
    within("--messages", args.messages, 1, 1_000_000)?;
    within("--max-attempts", args.max_attempts, 1, 20)?;
    for (name, rate) in [
        ("--poison-rate", args.poison_rate),
        ("--transient-rate", args.transient_rate),
    ] {
        within(name, rate, 0.0, 1.0)?;
    }
    if args.poison_rate + args.transient_rate > 1.0 {
        bail!("--poison-rate and --transient-rate add up to more than 1");
    }
    let backoff = parse_backoff(&args.backoff)?;
    if let Some(path) = &args.plot {
        plot::check_svg_path(path)?;
    }
    let store = ctx.open_store()?;
    let mut options =
        dlq::DlqOptions::new(args.seed.unwrap_or_else(crate::sim::model::random_seed));
    options.messages = args.messages;
    options.max_attempts = args.max_attempts;
    options.backoff_ms = backoff;
    options.poison_rate = args.poison_rate;
    options.transient_rate = args.transient_rate;
    let r = dlq::run(&options);
    let chart = depth_chart(&r);
    if let Some(path) = &args.plot {
        LineChart {
            title: format!(
                "lab dlq, seed {}: retries with backoff {} and at most {} attempts",
                options.seed, args.backoff, options.max_attempts
            ),
            ..chart.clone()
        }
        .save(path)?;
    }
    let Some(run) = record_charted(
        &store,
        "lab-dlq",
        options.seed,
        &options,
        &r,
        args.plot.as_deref(),
        args.json,
    )?
    else {
        return Ok(Outcome::Success);
    };
    let paint = ctx.paint;
    let mut out = format!(
        "{}  seed {} · {} messages · {} attempts at most · backoff {}\n\n",
        paint.bold("msgwork lab dlq"),
        options.seed,
        options.messages,
        options.max_attempts,
        args.backoff
    );
    let mut table = paint.table(&["", "messages"]);
    for (label, n) in [
        (
            "applied on the first attempt",
            r.applied - r.applied_after_retry,
        ),
        ("applied after retrying", r.applied_after_retry),
        ("dead-lettered", r.dead_lettered),
        ("retries scheduled", r.retries),
        ("lost", r.lost),
    ] {
        let verdict = if label == "lost" {
            if n == 0 {
                crate::ui::Verdict::Good
            } else {
                crate::ui::Verdict::Bad
            }
        } else {
            crate::ui::Verdict::Plain
        };
        table.add_row(vec![
            comfy_table::Cell::new(label),
            paint.number(n, verdict),
        ]);
    }
    let _ = writeln!(out, "{table}\n");
    let _ = writeln!(out, "{}", chart.terminal(paint));
    // The chart samples the queues once a simulated second; the peak is exact.
    let _ = writeln!(
        out,
        "Peak retry-queue depth {} · {} dead letters at the end",
        r.max_retry_depth, r.dead_lettered
    );
    if let Some(path) = &args.plot {
        let _ = writeln!(out, "Chart written to {}", path.display());
    }
    out.push('\n');
    if !r.dead_letters.is_empty() {
        let mut t = paint.table(&["message", "attempts", "why it is in the dead-letter queue"]);
        for d in r.dead_letters.iter().take(8) {
            t.add_row(vec![
                format!("#{}", d.message),
                d.attempts.to_string(),
                d.reason.clone(),
            ]);
        }
        let _ = writeln!(out, "{t}");
        if r.dead_letters.len() > 8 {
            let _ = writeln!(
                out,
                "  … and {} more (--json lists them all)",
                r.dead_letters.len() - 8
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "{}", paint.bold("What this shows"));
    let _ = writeln!(
        out,
        "  • Backoff turned {} transient failures into successes: a dependency that was down for a while \
         got time to recover instead of a retry storm.",
        r.applied_after_retry
    );
    let poison = r
        .dead_letters
        .iter()
        .filter(|d| d.reason.contains("payload"))
        .count();
    let _ = writeln!(
        out,
        "  • {} messages did not succeed within {} attempts: {poison} poison (no retry could save them) and {} \
         whose dependency stayed down longer than the backoff waited. Each went to the dead-letter queue with \
         its reason, where an alert and a person should look at it; retrying poison forever would block the \
         queue behind it.",
        r.dead_lettered,
        options.max_attempts,
        r.dead_letters.len() - poison
    );
    let _ = writeln!(
        out,
        "  • Applied {} + dead-lettered {} = {}: nothing was lost, and every message is accounted for.",
        r.applied, r.dead_lettered, options.messages
    );
    let _ = writeln!(
        out,
        "{}",
        paint.dim(&format!(
            "Replay: msgwork lab dlq --seed {}  ·  recorded as run {run}",
            options.seed
        ))
    );
    emit(&out)?;
    Ok(Outcome::Success)
}
