//! `msgwork simulate`: the outbox crash lab.

use std::fmt::Write as _;
use std::fs::File;
use std::io::BufWriter;

use anyhow::{Context as _, Result};
use serde::Serialize;

use super::context::{Context, emit, emit_json};
use crate::Outcome;
use crate::cli::SimulateArgs;
use crate::sim::crash::observer::TraceSink;
use crate::sim::crash::options::DEFAULT_CRASH_RATE;
use crate::sim::crash::report::{PipelineReport, Report};
use crate::sim::crash::schedule::{CrashPlan, CrashPoint, per_point};
use crate::sim::crash::{self as sim, ClaimMode, CrashMode, SimOptions};
use crate::ui::{Bar, Paint, Verdict};

pub fn run(args: &SimulateArgs, ctx: &Context) -> Result<Outcome> {
    if args.list_crash_points {
        return list_crash_points(args.json, ctx.paint);
    }
    let options = options(args);
    options.validate()?;
    let trace = match &args.trace {
        Some(path) => {
            let file = File::create(path).with_context(|| {
                format!(
                    "cannot write the trace file {}; choose a path in a writable directory",
                    path.display()
                )
            })?;
            Some(TraceSink::new(Box::new(BufWriter::new(file))))
        }
        None => None,
    };
    let store = ctx.open_store()?;

    let bar = Bar::new(2 * u64::from(options.orders), "orders", !args.json);
    bar.message("naive, then outbox");
    let report = sim::run(&options, trace.as_ref(), &bar);
    bar.finish();
    let report = report?;
    if let (Some(sink), Some(path)) = (&trace, &args.trace) {
        sink.finish()
            .with_context(|| format!("writing the trace file {} failed", path.display()))?;
    }
    let run_id = store.record(
        "simulate",
        Some(options.seed),
        &Recorded::from(args, &options),
        &report,
    )?;

    if args.json {
        emit_json(&report)?;
    } else {
        emit(&render(&report, args, ctx.paint, run_id, store.path()))?;
    }
    Ok(if args.check && !report.verdict.outbox_holds {
        Outcome::CheckFailed
    } else {
        Outcome::Success
    })
}

/// Raw arguments to checked options (the numbers are range-checked by [`SimOptions::validate`]).
fn options(args: &SimulateArgs) -> SimOptions {
    let seed = args.seed.unwrap_or_else(crate::sim::model::random_seed);
    let mut options = SimOptions::new(seed);
    let rate = args.crash_rate;
    options.crash = if !args.crash_at.is_empty() {
        CrashPlan::Exact {
            at: args.crash_at.clone(),
            rate: rate.unwrap_or(0.0),
        }
    } else if args.crash || rate.is_some() {
        CrashPlan::Default {
            rate: rate.unwrap_or(DEFAULT_CRASH_RATE),
        }
    } else {
        CrashPlan::None
    };
    options.orders = args.orders;
    options.relays = args.relays;
    options.claim = args.claim.into();
    options.threads = args.threads;
    options.crash_mode = args.crash_mode.into();
    options.naive_order = args.naive_order.into();
    options.batch = args.batch;
    options.lease_ms = args.lease;
    options.keep_dir = args.keep_db.clone();
    options.db = args.db.clone();
    options
}

/// What the progress store keeps of the request, beside the report.
#[derive(Serialize)]
struct Recorded {
    crash: bool,
    crash_at: Vec<String>,
    crash_rate: f64,
    orders: u32,
    relays: u32,
    claim: ClaimMode,
    threads: bool,
    crash_mode: CrashMode,
    batch: u32,
    lease_ms: Option<u64>,
}

impl Recorded {
    fn from(args: &SimulateArgs, options: &SimOptions) -> Self {
        Recorded {
            crash: !matches!(options.crash, CrashPlan::None),
            crash_at: args
                .crash_at
                .iter()
                .map(|c| match c.order {
                    Some(order) => format!("{}:{order}", c.point),
                    None => c.point.to_string(),
                })
                .collect(),
            crash_rate: options.crash_rate(),
            orders: options.orders,
            relays: options.relays,
            claim: options.claim,
            threads: options.threads,
            crash_mode: options.crash_mode,
            batch: options.batch,
            lease_ms: options.lease_ms,
        }
    }
}

fn list_crash_points(json: bool, paint: Paint) -> Result<Outcome> {
    #[derive(Serialize)]
    struct Point {
        name: &'static str,
        component: &'static str,
        pipelines: Vec<&'static str>,
        description: &'static str,
    }
    let points: Vec<Point> = CrashPoint::ALL
        .into_iter()
        .map(|p| Point {
            name: p.name(),
            component: p.component().name(),
            pipelines: [
                crate::sim::model::Pipeline::Naive,
                crate::sim::model::Pipeline::Outbox,
            ]
            .into_iter()
            .filter(|pipeline| p.applies_to(*pipeline))
            .map(|pipeline| pipeline.name())
            .collect(),
            description: p.describe(),
        })
        .collect();
    if json {
        emit_json(&serde_json::json!({ "schema_version": 1, "crash_points": points }))?;
        return Ok(Outcome::Success);
    }
    let mut table = paint.table(&["crash point", "runs in", "what happens"]);
    for p in &points {
        table.add_row(vec![
            paint.bold(p.name),
            p.pipelines.join(", "),
            p.description.to_string(),
        ]);
    }
    emit(&format!(
        "{table}\n\nThe default schedule (--crash) hits every point at least {} times for 1000 orders; \
         replay one with --crash-at POINT[:ORDER].\n",
        per_point(1000)
    ))?;
    Ok(Outcome::Success)
}

/// A table row: label, the figure, and whether zero is the good value.
type Row = (&'static str, fn(&PipelineReport) -> u64, bool);

fn render(
    report: &Report,
    args: &SimulateArgs,
    paint: Paint,
    run_id: i64,
    store: &std::path::Path,
) -> String {
    let (naive, outbox) = (&report.naive, &report.outbox);
    let mut out = String::new();
    let crashes = if report.crash {
        format!("{} crashes scheduled", report.schedule.len())
    } else {
        "no crashes".to_string()
    };
    let _ = writeln!(
        out,
        "{}  {} · seed {} · {} orders · {} relays ({} claims) · {} · {}\n",
        paint.bold("msgwork crash lab"),
        database(report),
        report.seed,
        report.orders,
        report.relays,
        match (report.backend, report.claim) {
            ("postgres", ClaimMode::Lease) => "SKIP LOCKED",
            (_, claim) => claim.name(),
        },
        crashes,
        report.mode,
    );

    let mut table = paint.table(&["", "naive dual write", "outbox + inbox"]);
    let zero_is_good = |n: u64| if n == 0 { Verdict::Good } else { Verdict::Bad };
    let rows: [Row; 9] = [
        ("orders committed", |r| r.committed_orders, false),
        ("events published", |r| r.events_published, false),
        ("events delivered (distinct)", |r| r.events_delivered, false),
        ("lost events", |r| r.lost_events, true),
        ("phantom events", |r| r.phantom_events, true),
        ("duplicate deliveries", |r| r.duplicate_deliveries, false),
        ("side effects applied", |r| r.side_effects_applied, false),
        ("double-applied", |r| r.double_applied, true),
        ("crashes injected", |r| r.crashes, false),
    ];
    for (label, get, judged) in rows {
        let cell = |r: &PipelineReport| {
            let n = get(r);
            paint.number(
                n,
                if judged {
                    zero_is_good(n)
                } else {
                    Verdict::Plain
                },
            )
        };
        table.add_row(vec![
            comfy_table::Cell::new(label),
            cell(naive),
            cell(outbox),
        ]);
    }
    let overlaps = outbox.overlapping_claims.unwrap_or(0);
    let overlap_verdict = match report.claim {
        ClaimMode::Lease => zero_is_good(overlaps),
        ClaimMode::None => Verdict::Plain,
    };
    table.add_row(vec![
        comfy_table::Cell::new("overlapping claims"),
        comfy_table::Cell::new("–").set_alignment(comfy_table::CellAlignment::Right),
        paint.number(overlaps, overlap_verdict),
    ]);
    let _ = writeln!(out, "{table}\n");

    let _ = writeln!(out, "{}", paint.bold("What this run shows"));
    for sentence in explain(report) {
        let _ = writeln!(out, "  • {sentence}");
    }
    let _ = writeln!(out);

    if report.verdict.outbox_holds {
        let _ = writeln!(
            out,
            "{} the outbox lost nothing, invented nothing and charged nothing twice{}.",
            paint.good("Verdict:"),
            if report.claim == ClaimMode::Lease {
                ", and no two relays held the same row"
            } else {
                ""
            }
        );
    } else {
        let _ = writeln!(
            out,
            "{} the outbox run broke: {}.",
            paint.bad("Verdict:"),
            report.verdict.outbox_problems.join(", ")
        );
    }
    if !report.unplaced_crash_points.is_empty() {
        let _ = writeln!(
            out,
            "{} with {} orders, {} scheduled crash(es) did not fit; use more --orders.",
            paint.bad("Note:"),
            report.orders,
            report.unplaced_crash_points.len()
        );
    }
    let replay = replay_command(report, args);
    let _ = writeln!(out, "{} {replay}", paint.dim("Replay:"));
    if args.trace.is_none() {
        let _ = writeln!(
            out,
            "{} {replay} --trace steps.jsonl",
            paint.dim("Every step:")
        );
    }
    let _ = writeln!(
        out,
        "{}",
        paint.dim(&format!("Recorded as run {run_id} in {}", store.display()))
    );
    out
}

/// The database, as the report's sentences name it.
fn database(report: &Report) -> &'static str {
    match report.backend {
        "postgres" => "PostgreSQL",
        _ => "SQLite",
    }
}

/// The command that replays this run exactly.
fn replay_command(report: &Report, args: &SimulateArgs) -> String {
    let mut cmd = String::from("msgwork simulate");
    if args.crash_at.is_empty() && report.crash {
        cmd.push_str(" --crash");
    }
    for crash in &args.crash_at {
        let _ = write!(cmd, " --crash-at {}", crash.point);
        if let Some(order) = crash.order {
            let _ = write!(cmd, ":{order}");
        }
    }
    let _ = write!(cmd, " --seed {}", report.seed);
    if let Some(url) = &args.db {
        let _ = write!(
            cmd,
            " --db {}",
            crate::sim::storage::postgres::connect::redact(url)
        );
    }
    if report.orders != 1000 {
        let _ = write!(cmd, " --orders {}", report.orders);
    }
    if report.relays != 3 {
        let _ = write!(cmd, " --relays {}", report.relays);
    }
    if report.claim != ClaimMode::Lease {
        cmd.push_str(" --claim none");
    }
    if let Some(rate) = args.crash_rate {
        let _ = write!(cmd, " --crash-rate {rate}");
    }
    if args.threads {
        cmd.push_str(" --threads");
    }
    if CrashMode::from(args.crash_mode) == CrashMode::Process {
        cmd.push_str(" --crash-mode process");
    }
    cmd
}

fn orders_list(orders: &[u32]) -> String {
    let shown: Vec<String> = orders.iter().take(6).map(|n| format!("#{n}")).collect();
    let more = orders.len().saturating_sub(6);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The plain sentences under the table: what the numbers prove, for this run's numbers.
fn explain(report: &Report) -> Vec<String> {
    let (naive, outbox) = (&report.naive, &report.outbox);
    let mut lines = Vec::new();
    if !report.crash || naive.crashes + outbox.crashes == 0 {
        lines.push(
            "Nothing crashed, so both pipelines delivered every event: the dual write only fails when \
             a process dies at the wrong moment. Run with --crash to make it die."
                .to_string(),
        );
    }
    let processes = [&naive.processes, &outbox.processes];
    if processes.iter().any(|p| p.is_some()) {
        let (spawned, killed) = processes
            .iter()
            .filter_map(|p| p.as_ref())
            .fold((0, 0), |(s, k), p| (s + p.spawned, k + p.killed));
        lines.push(format!(
            "The crashes were real: the order service and the relays ran as child processes of \
             msgwork, and {killed} of the {spawned} started were killed with SIGKILL at a crash \
             point; each new process found only what {} had committed. The billing consumer \
             ran inside msgwork and crashed in-process.",
            database(report)
        ));
    }
    if naive.lost_events > 0 {
        lines.push(format!(
            "The dual-write gap: the naive service committed {} but never published {}: it died between \
             COMMIT and publish, and nothing remembered the event ({}).",
            plural(naive.committed_orders, "order", "orders"),
            plural(naive.lost_events, "event", "events"),
            orders_list(&naive.lost_orders)
        ));
    }
    if naive.phantom_events > 0 {
        lines.push(format!(
            "The other half of the gap: the handler that publishes first sent {} for orders whose \
             transaction then rolled back: phantoms billing charged for ({}).",
            plural(naive.phantom_events, "event", "events"),
            orders_list(&naive.phantom_orders)
        ));
    }
    if report.crash && outbox.lost_events == 0 && outbox.phantom_events == 0 {
        lines.push(format!(
            "One local transaction closes it: the outbox service wrote each order and its OrderPlaced \
             row in the same {} transaction, so each of its {} crashes kept both or neither: \
             0 lost, 0 phantom.",
            database(report),
            outbox.crashes_by_point.get(&CrashPoint::ServiceBeforeCommit).unwrap_or(&0)
                + outbox.crashes_by_point.get(&CrashPoint::ServiceAfterCommit).unwrap_or(&0)
        ));
    }
    if outbox.duplicate_deliveries > 0 {
        lines.push(format!(
            "Delivery is still at-least-once: {} went out again (a relay died after publishing, before \
             marking the row sent) and billing saw {}.",
            plural(outbox.events_republished, "event", "events"),
            plural(outbox.duplicate_deliveries, "duplicate delivery", "duplicate deliveries"),
        ));
    }
    if outbox.dedupe_skips > 0 || naive.double_applied > 0 {
        lines.push(format!(
            "The consumer dedupes: billing records each event_id in its inbox in the same transaction \
             as the charge, skipped {} and double-charged {}. The naive consumer has no inbox and \
             charged {} twice.",
            plural(outbox.dedupe_skips, "duplicate", "duplicates"),
            plural(outbox.double_applied, "order", "orders"),
            plural(naive.double_applied_orders.len() as u64, "order", "orders"),
        ));
    }
    let overlaps = outbox.overlapping_claims.unwrap_or(0);
    let passes = outbox.relay.as_ref().map_or(0, |r| r.passes);
    match report.claim {
        ClaimMode::Lease => lines.push(format!(
            "Replicas claim disjoint batches: {} relays made {} with {} overlapping claims, because {}. \
             Try --claim none to see what the claim prevents.",
            report.relays,
            plural(passes, "pass", "passes"),
            overlaps,
            if report.backend == "postgres" {
                "each claim is a SELECT … FOR UPDATE SKIP LOCKED in the relay's own transaction: \
                 a row another relay has locked is skipped, not waited for, and a relay that dies \
                 releases its locks with its transaction"
            } else {
                "each claim is one UPDATE … RETURNING under BEGIN IMMEDIATE that leases the rows"
            }
        )),
        ClaimMode::None => lines.push(format!(
            "Without claims, replicas read the same unsent rows: {} across {}, each a duplicate publish, \
             and the inbox still kept double charges at {}.",
            plural(overlaps, "overlapping claim", "overlapping claims"),
            plural(passes, "pass", "passes"),
            outbox.double_applied
        )),
    }
    lines
}
