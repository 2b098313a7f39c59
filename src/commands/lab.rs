//! `msgwork lab`: the stretch labs.

use std::fmt::Write as _;

use anyhow::{Result, bail};
use serde_json::json;

use super::{Context, emit, emit_json};
use crate::Outcome;
use crate::cli::{DlqArgs, LabCommand};
use crate::sim::{dlq, fanout, ordering, retention};

const SERVICES: [&str; 3] = ["billing", "inventory", "email"];

/// A bad value for a lab option is bad input: one line, exit 2.
fn within<T: PartialOrd + std::fmt::Display>(flag: &str, value: T, lo: T, hi: T) -> Result<()> {
    if value < lo || value > hi {
        bail!("{flag} must be between {lo} and {hi} (got {value})");
    }
    Ok(())
}

/// Records a lab run. With `--json` it also prints the result and returns `None`: the caller is
/// done. Otherwise it returns the run id for the human report to cite.
fn record(
    store: &crate::store::Store,
    kind: &str,
    seed: u64,
    options: &impl serde::Serialize,
    result: &impl serde::Serialize,
    json: bool,
) -> Result<Option<i64>> {
    let run = store.record(kind, Some(seed), options, result)?;
    if json {
        emit_json(result)?;
        return Ok(None);
    }
    Ok(Some(run))
}

pub fn run(command: LabCommand, ctx: &Context) -> Result<Outcome> {
    match command {
        LabCommand::Fanout {
            orders,
            instances,
            seed,
            json,
        } => fanout_lab(orders, instances, seed, json, ctx),
        LabCommand::Dlq(args) => dlq_lab(&args, ctx),
        LabCommand::Ordering {
            orders,
            partitions,
            seed,
            json,
        } => ordering_lab(orders, partitions, seed, json, ctx),
        LabCommand::Retention {
            events,
            duplicate_rate,
            hours,
            seed,
            json,
        } => retention_lab(events, duplicate_rate, &hours, seed, json, ctx),
    }
}

fn fanout_lab(
    orders: u32,
    instances: u32,
    seed: Option<u64>,
    json: bool,
    ctx: &Context,
) -> Result<Outcome> {
    within("--orders", orders, 1, 1_000_000)?;
    within("--instances", instances, 1, 64)?;
    let store = ctx.open_store()?;
    let seed = seed.unwrap_or_else(crate::sim::random_seed);
    let result = fanout::run(seed, orders, &SERVICES, instances);
    let Some(run) = record(
        &store,
        "lab-fanout",
        seed,
        &json!({"orders": orders, "instances": instances}),
        &result,
        json,
    )?
    else {
        return Ok(Outcome::Success);
    };
    let paint = ctx.paint;
    let mut out = format!(
        "{}  seed {seed} · {orders} OrderPlaced events · 3 services\n\n",
        paint.bold("msgwork lab fanout")
    );
    let mut table = paint.table(&[
        "service",
        "one shared queue: orders seen",
        "missed",
        "topic, own subscription: orders seen",
        "split across its instances",
    ]);
    for (q, t) in result.queue.iter().zip(&result.topic) {
        table.add_row(vec![
            comfy_table::Cell::new(&q.service),
            paint.number(q.orders, crate::ui::Verdict::Plain),
            paint.number(
                q.missed,
                if q.missed == 0 {
                    crate::ui::Verdict::Good
                } else {
                    crate::ui::Verdict::Bad
                },
            ),
            paint.number(
                t.orders,
                if t.missed == 0 {
                    crate::ui::Verdict::Good
                } else {
                    crate::ui::Verdict::Bad
                },
            ),
            comfy_table::Cell::new(
                t.per_instance
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(" + "),
            ),
        ]);
    }
    let _ = writeln!(out, "{table}\n");
    let share =
        result.queue.iter().map(|s| s.orders).max().unwrap_or(0) as f64 / f64::from(orders) * 100.0;
    let _ = writeln!(out, "{}", paint.bold("What this shows"));
    let _ = writeln!(
        out,
        "  • On one queue the three services are competing consumers: each message goes to whichever \
         is free, so none sees more than {share:.0}% of the orders, and billing never charges the rest. \
         This is the 'a queue broadcasts' misconception, made visible."
    );
    let _ = writeln!(
        out,
        "  • With a topic, each service has its own subscription and every one of them sees all {orders} \
         orders. Inside a subscription, a service's {} instances share the work: competing consumers \
         again, now where they belong.",
        result.instances
    );
    let _ = writeln!(
        out,
        "  • Queue for work one worker should do; topic for a fact several services care about. SNS + SQS \
         builds the topic from a queue per subscriber; Kafka from one log with a consumer group per service."
    );
    let _ = writeln!(out, "{}", paint.dim(&format!("Replay: msgwork lab fanout --seed {seed} --orders {orders} --instances {instances}  ·  recorded as run {run}")));
    emit(&out)?;
    Ok(Outcome::Success)
}

/// `1s,5s,30s,5m` to milliseconds.
fn parse_backoff(list: &str) -> Result<Vec<u64>> {
    list.split(',')
        .map(|part| {
            let part = part.trim();
            let (number, unit) = part.split_at(
                part.find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(part.len()),
            );
            let n: u64 = number.parse().map_err(|_| {
                anyhow::anyhow!("--backoff: '{part}' is not a duration like 5s or 2m")
            })?;
            let factor = match unit {
                "ms" => 1,
                "s" | "" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                other => bail!("--backoff: unknown unit '{other}' in '{part}'; use ms, s, m or h"),
            };
            Ok(n * factor)
        })
        .collect()
}

/// A one-line chart of a series, at most 60 columns (each the peak of its stretch), eight levels.
fn sparkline(values: &[usize]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let columns: Vec<usize> = values
        .chunks(values.len().div_ceil(60).max(1))
        .map(|c| c.iter().copied().max().unwrap_or(0))
        .collect();
    let max = columns.iter().copied().max().unwrap_or(0).max(1);
    columns
        .iter()
        .map(|v| BARS[(v * 7).div_ceil(max).min(7)])
        .collect()
}

fn duration(ms: u64) -> String {
    match ms {
        0..=59_999 => format!("{:.1} s", ms as f64 / 1000.0),
        60_000..=3_599_999 => format!("{:.1} min", ms as f64 / 60_000.0),
        _ => format!("{:.1} h", ms as f64 / 3_600_000.0),
    }
}

fn dlq_lab(args: &DlqArgs, ctx: &Context) -> Result<Outcome> {
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
    let store = ctx.open_store()?;
    let mut options = dlq::DlqOptions::new(args.seed.unwrap_or_else(crate::sim::random_seed));
    options.messages = args.messages;
    options.max_attempts = args.max_attempts;
    options.backoff_ms = backoff;
    options.poison_rate = args.poison_rate;
    options.transient_rate = args.transient_rate;
    let r = dlq::run(&options);
    let Some(run) = record(&store, "lab-dlq", options.seed, &options, &r, args.json)? else {
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
    let retry: Vec<usize> = r.timeline.iter().map(|d| d.retry).collect();
    let dead: Vec<usize> = r.timeline.iter().map(|d| d.dead).collect();
    let _ = writeln!(
        out,
        "{} over {} of simulated time",
        paint.bold("Depth"),
        duration(r.finished_at_ms)
    );
    let _ = writeln!(
        out,
        "  retry queue  {}  (peak {})",
        sparkline(&retry),
        r.max_retry_depth
    );
    let _ = writeln!(
        out,
        "  dead letters {}  ({} at the end)\n",
        sparkline(&dead),
        r.dead_lettered
    );
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

fn retention_lab(
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

/// A table row: label, the figure, and whether zero is the good value.
type OrderingRow = (&'static str, fn(&ordering::OrderingRun) -> u64, bool);

fn ordering_lab(
    orders: u32,
    partitions: u32,
    seed: Option<u64>,
    json: bool,
    ctx: &Context,
) -> Result<Outcome> {
    within("--orders", orders, 1, 1_000_000)?;
    within("--partitions", partitions, 1, 256)?;
    let store = ctx.open_store()?;
    let seed = seed.unwrap_or_else(crate::sim::random_seed);
    let r = ordering::run(seed, orders, partitions);
    let Some(run) = record(
        &store,
        "lab-ordering",
        seed,
        &json!({"orders": orders, "partitions": partitions}),
        &r,
        json,
    )?
    else {
        return Ok(Outcome::Success);
    };
    let paint = ctx.paint;
    let mut out = format!(
        "{}  seed {seed} · {orders} orders × 4 events · {partitions} partitions, a worker each\n\n",
        paint.bold("msgwork lab ordering")
    );
    let mut table = paint.table(&["", "keyed by aggregate id", "not keyed"]);
    let rows: [OrderingRow; 4] = [
        ("events", |r| r.events, false),
        ("out-of-order arrivals", |r| r.violations, true),
        ("orders affected", |r| r.orders_affected, true),
        ("worker crashes (redelivered)", |r| r.crashes, false),
    ];
    for (label, get, judged) in rows {
        let cell = |run: &ordering::OrderingRun| {
            let n = get(run);
            let verdict = match (judged, n) {
                (false, _) => crate::ui::Verdict::Plain,
                (true, 0) => crate::ui::Verdict::Good,
                (true, _) => crate::ui::Verdict::Bad,
            };
            paint.number(n, verdict)
        };
        table.add_row(vec![
            comfy_table::Cell::new(label),
            cell(&r.keyed),
            cell(&r.unkeyed),
        ]);
    }
    let _ = writeln!(out, "{table}\n");
    let _ = writeln!(out, "{}", paint.bold("What this shows"));
    let _ = writeln!(
        out,
        "  • Keyed by aggregate id, all of an order's events share one partition, one relay and one worker, so \
         they arrive in the order they happened however the {partitions} workers interleave, and a crash only \
         repeats the event at the head, which the sequence number skips."
    );
    let _ = writeln!(
        out,
        "  • Not keyed, an order's events scatter across partitions and a faster worker overtakes a slower one: \
         {} events arrived before an earlier event of the same order ({} orders affected). Shipped before Paid.",
        r.unkeyed.violations, r.unkeyed.orders_affected
    );
    let _ = writeln!(
        out,
        "  • Keying buys order per aggregate, not overall, and that is all most consumers need; a sequence number \
         per aggregate lets a consumer detect anything that still slips."
    );
    let _ = writeln!(
        out,
        "{}",
        paint.dim(&format!(
            "Replay: msgwork lab ordering --seed {seed}  ·  recorded as run {run}"
        ))
    );
    emit(&out)?;
    Ok(Outcome::Success)
}
