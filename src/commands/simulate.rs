//! `msgwork simulate`: the outbox crash lab.

mod broker;
mod explain;
mod narrative;
mod power;

use std::fmt::Write as _;
use std::io::BufWriter;

use anyhow::{Context as _, Result};
use serde::Serialize;

use super::context::{Context, emit, emit_json};
use super::replay::{Replay, WithReplay};
use crate::Outcome;
use crate::cli::{CrashModeArg, NaiveOrderArg, SimulateArgs, SynchronousArg, value_word};
use crate::sim::crash::fault::Fault;
use crate::sim::crash::observer::TraceSink;
use crate::sim::crash::options::{DEFAULT_CRASH_RATE, DEFAULT_FAULT_RATE};
use crate::sim::crash::report::{PipelineReport, Report};
use crate::sim::crash::schedule::{CrashAt, CrashPlan, CrashPoint, per_point};
use crate::sim::crash::{self as sim, ClaimMode, CrashMode, SimOptions};
use crate::ui::{Bar, Paint, Verdict};
use narrative::{database, explain};

/// What `--trace` and `--keep-db` write, as their refusals name them.
const TRACE: &str = "the trace file";
const KEPT: &str = "the lab's databases (--keep-db)";

pub fn run(args: &SimulateArgs, ctx: &Context) -> Result<Outcome> {
    if args.list_crash_points {
        return list_crash_points(args.json, ctx.paint);
    }
    if let Some(url) = &args.broker {
        return broker::run(url, args, ctx);
    }
    let options = options(args);
    options.validate()?;
    let replay = replay(&options);
    let outputs = ctx.outputs(args.force)?;
    if let Some(path) = &args.trace {
        outputs.check_file(path, TRACE)?;
    }
    if let (Some(dir), None) = (&args.keep_db, &options.db) {
        outputs.check_dir(dir, KEPT)?;
    }
    let recorder = ctx.recorder()?;
    if let Some(order) = args.explain
        && !(1..=options.orders).contains(&order)
    {
        anyhow::bail!(
            "--explain {order}: this run's orders are #1 to #{}; name one of them",
            options.orders
        );
    }
    let file: Option<Box<dyn std::io::Write + Send>> = match &args.trace {
        Some(path) => Some(Box::new(BufWriter::new(outputs.create_file(path, TRACE)?))),
        None => None,
    };
    // --explain reads the order's lines of the run's own trace, kept in memory (and every line
    // is still written to --trace).
    let (trace, captured) = if let Some(order) = args.explain {
        let (writer, kept) = explain::Captured::new(file, order);
        (Some(TraceSink::new(Box::new(writer))), Some(kept))
    } else {
        (file.map(TraceSink::new), None)
    };

    // The run's connections share one ceiling, so that their page caches do not each fill as
    // the databases grow: this process runs nothing else.
    crate::sim::storage::sqlite::heap::limit(crate::sim::storage::sqlite::heap::LAB_HEAP_BYTES)?;
    let bar = Bar::new(2 * u64::from(options.orders), "orders", !args.json);
    bar.message("naive, then outbox");
    let report = sim::run(&options, trace.as_ref(), &bar);
    bar.finish();
    let report = report?;
    if let (Some(sink), Some(path)) = (&trace, &args.trace) {
        sink.finish()
            .with_context(|| format!("writing the trace file {} failed", path.display()))?;
    }
    let run_id = recorder.record(
        "simulate",
        Some(options.seed),
        &Recorded::from(&options, &replay),
        &report,
    );

    let kept = match (&args.keep_db, &options.db) {
        (Some(dir), None) => Some(crate::ui::kept_databases(
            dir,
            (
                "naive-billing.db",
                "SELECT order_id, count(*) AS charges FROM charges GROUP BY order_id HAVING charges > 1",
                "the orders the naive pipeline charged more than once",
            ),
        )),
        (Some(_), Some(_)) => {
            let schemas = crate::sim::crash::run::kept_schemas();
            let naive_billing = schemas
                .iter()
                .find(|s| s.ends_with("_naive_billing"))
                .cloned()
                .unwrap_or_default();
            Some(format!(
                "Schemas kept on the server: {}.\nTry, to see the orders the naive pipeline \
                 charged more than once:\n  psql \"$MSGWORK_DB\" -c \"SELECT order_id, count(*) \
                 AS charges FROM {naive_billing}.charges GROUP BY order_id HAVING count(*) > 1\"\n",
                schemas.join(", ")
            ))
        }
        _ => None,
    };
    if let (Some(order), Some(captured)) = (args.explain, &captured) {
        let text = String::from_utf8_lossy(
            &captured
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
        .into_owned();
        let lives = explain::lives(&text, order);
        if args.json {
            emit_json(&serde_json::json!({
                "schema_version": 1,
                "order": order,
                "seed": options.seed,
                "lives": lives,
                "replay": replay.to_string(),
            }))?;
        } else {
            emit(&format!(
                "{}{} {replay} --explain {order}\n",
                explain::render(order, &lives),
                ctx.paint.dim("Replay:")
            ))?;
        }
    } else if args.json {
        emit_json(&WithReplay {
            result: &report,
            replay: &replay,
        })?;
        if let Some(kept) = &kept {
            eprint!("{kept}");
        }
    } else {
        let mut text = render(
            &report,
            args,
            &replay,
            ctx.paint,
            run_id.zip(recorder.path()),
        );
        text.push_str(kept.as_deref().unwrap_or_default());
        emit(&text)?;
    }
    Ok(if args.check && !report.check_problems().is_empty() {
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
    options.fault_rate = args.fault_rate;
    options.keep_dir = args.keep_db.clone();
    options.db = args.db.clone();
    options.power_loss = args.power_loss;
    options.synchronous = args.synchronous.map(Into::into);
    options
}

/// What the progress store keeps of the request, beside the report.
#[derive(Serialize)]
struct Recorded<'a> {
    crash: bool,
    crash_at: Vec<String>,
    crash_rate: f64,
    fault_rate: Option<f64>,
    orders: u32,
    relays: u32,
    claim: ClaimMode,
    threads: bool,
    crash_mode: CrashMode,
    batch: u32,
    lease_ms: Option<u64>,
    power_loss: bool,
    synchronous: Option<crate::sim::storage::sqlite::sql::Durability>,
    replay: &'a Replay,
}

impl<'a> Recorded<'a> {
    fn from(options: &SimOptions, replay: &'a Replay) -> Self {
        let crash_at = match &options.crash {
            CrashPlan::Exact { at, .. } => at.iter().map(crash_at_word).collect(),
            _ => Vec::new(),
        };
        Recorded {
            crash: !matches!(options.crash, CrashPlan::None),
            crash_at,
            crash_rate: options.crash_rate(),
            fault_rate: options.fault_rate,
            orders: options.orders,
            relays: options.relays,
            claim: options.claim,
            threads: options.threads,
            crash_mode: options.crash_mode,
            batch: options.batch,
            lease_ms: options.lease_ms,
            power_loss: options.power_loss,
            synchronous: options.synchronous,
            replay,
        }
    }
}

/// `POINT` or `POINT:ORDER`, as `--crash-at` takes it.
fn crash_at_word(crash: &CrashAt) -> String {
    match crash.order {
        Some(order) => format!("{}:{order}", crash.point),
        None => crash.point.to_string(),
    }
}

/// The command that replays this run: the crash plan, the seed, and every other option that
/// changes the result and differs from the lab's default. Not `--trace`, `--keep-db`, `--check`
/// or `--json`, which change what is shown or kept, not what happens.
fn replay(options: &SimOptions) -> Replay {
    let defaults = SimOptions::new(options.seed);
    let mut replay = Replay::new(&["simulate"]);
    match &options.crash {
        CrashPlan::None => {}
        CrashPlan::Default { rate } => {
            replay.flag("--crash");
            if *rate != DEFAULT_CRASH_RATE {
                replay.option("--crash-rate", rate);
            }
        }
        CrashPlan::Exact { at, rate } => {
            for crash in at {
                replay.option("--crash-at", crash_at_word(crash));
            }
            if *rate != 0.0 {
                replay.option("--crash-rate", rate);
            }
        }
    }
    replay.option("--seed", options.seed);
    if let Some(url) = &options.db {
        replay.db(url);
    }
    if options.orders != defaults.orders {
        replay.option("--orders", options.orders);
    }
    if options.relays != defaults.relays {
        replay.option("--relays", options.relays);
    }
    if options.claim != defaults.claim {
        replay.option("--claim", options.claim.name());
    }
    if options.naive_order != defaults.naive_order {
        replay.option(
            "--naive-order",
            value_word(&NaiveOrderArg::from(options.naive_order)),
        );
    }
    if options.batch != defaults.batch {
        replay.option("--batch", options.batch);
    }
    if let Some(lease) = options.lease_ms {
        replay.option("--lease", lease);
    }
    if let Some(rate) = options.fault_rate {
        replay.option("--fault-rate", rate);
    }
    if options.threads {
        replay.flag("--threads");
    }
    if options.power_loss {
        replay.flag("--power-loss");
    }
    if let Some(synchronous) = options.synchronous {
        replay.option(
            "--synchronous",
            value_word(&SynchronousArg::from(synchronous)),
        );
    }
    if options.crash_mode != defaults.crash_mode {
        replay.option(
            "--crash-mode",
            value_word(&CrashModeArg::from(options.crash_mode)),
        );
    }
    replay
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
    let faults: Vec<serde_json::Value> = Fault::catalogue()
        .into_iter()
        .map(|(name, description)| serde_json::json!({ "name": name, "description": description }))
        .collect();
    if json {
        emit_json(&serde_json::json!({
            "schema_version": 1,
            "crash_points": points,
            "faults": faults,
        }))?;
        return Ok(Outcome::Success);
    }
    let mut table = paint.table(&["crash point", "runs in", "what happens"]);
    for p in &points {
        table.add_row(vec![
            paint.bold_cell(p.name),
            comfy_table::Cell::new(p.pipelines.join(", ")),
            comfy_table::Cell::new(p.description),
        ]);
    }
    let mut kinds = paint.table(&["fault anywhere", "what happens"]);
    let catalogue = Fault::catalogue();
    let mut rows = catalogue.iter().peekable();
    while let Some((name, description)) = rows.next() {
        // A crash before a call and one after it share a sentence: one row for the pair.
        let pair = name.strip_prefix("crash-before-").filter(|op| {
            rows.peek()
                .is_some_and(|(next, _)| *next == format!("crash-after-{op}"))
        });
        let shown = match pair {
            Some(op) => {
                rows.next();
                format!("crash-{{before,after}}-{op}")
            }
            None => name.clone(),
        };
        kinds.add_row(vec![
            paint.bold_cell(&shown),
            comfy_table::Cell::new(description),
        ]);
    }
    emit(&format!(
        "{table}\n\nThe default schedule (--crash) hits every point at least {} times for 1000 orders; \
         replay one with --crash-at POINT[:ORDER].\n\n{kinds}\n\nBeyond the named points, --crash \
         draws faults anywhere: at every call an actor makes to its database or the broker, with \
         the chance --fault-rate (default {}; 0 turns them off, and the second consumer instance \
         with them). They run in the deterministic and --threads modes; --crash-mode process keeps \
         to the named points. power-loss strikes only with --power-loss, between two steps of the \
         deterministic mode, at most {} times a run.\n",
        per_point(1000),
        DEFAULT_FAULT_RATE,
        crate::sim::crash::power::MAX_POWER_LOSSES,
    ))?;
    Ok(Outcome::Success)
}

/// Faults the broker injected into a run, crashes aside.
fn broker_faults(run: &PipelineReport) -> u64 {
    run.faults
        .iter()
        .filter(|(kind, _)| !kind.starts_with("crash-"))
        .map(|(_, n)| n)
        .sum()
}

/// A table row: label, the figure, and whether zero is the good value.
type Row = (&'static str, fn(&PipelineReport) -> u64, bool);

fn render(
    report: &Report,
    args: &SimulateArgs,
    replay: &Replay,
    paint: Paint,
    recorded: Option<(i64, &std::path::Path)>,
) -> String {
    let (naive, outbox) = (&report.naive, &report.outbox);
    let mut out = String::new();
    let mut crashes = if report.crash {
        format!("{} crashes scheduled", report.schedule.len())
    } else {
        "no crashes".to_string()
    };
    if let Some(durability) = report.synchronous.filter(|_| report.power_loss) {
        crashes.push_str(&format!(
            " · power loss, synchronous={}",
            value_word(&SynchronousArg::from(durability)).to_uppercase()
        ));
    }
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
    let rows: [Row; 11] = [
        ("orders committed", |r| r.committed_orders, false),
        ("events published", |r| r.events_published, false),
        ("events delivered (distinct)", |r| r.events_delivered, false),
        ("lost events", |r| r.lost_events, true),
        ("phantom events", |r| r.phantom_events, true),
        ("duplicate deliveries", |r| r.duplicate_deliveries, false),
        ("side effects applied", |r| r.side_effects_applied, false),
        ("double-applied", |r| r.double_applied, true),
        ("wrong amount charged", |r| r.mischarged, true),
        ("crashes injected", |r| r.crashes, false),
        ("broker faults injected", broker_faults, false),
    ];
    let power_rows: [Row; 3] = [
        ("power losses", |r| r.power_losses.len() as u64, false),
        ("commits the disk lost", power::commits_lost, false),
        (
            "acknowledged, then gone",
            |r| r.acknowledged_lost.unwrap_or(0),
            true,
        ),
    ];
    let shown = if report.power_loss {
        &power_rows[..]
    } else {
        &[]
    };
    for &(label, get, judged) in rows.iter().chain(shown) {
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
    // After a lease ran out an overlap is a cost; while it still ran, a broken claim.
    let overlap_verdict = match report.claim {
        ClaimMode::Lease if outbox.unexpired_overlaps.unwrap_or(0) > 0 => Verdict::Bad,
        ClaimMode::Lease if overlaps == 0 => Verdict::Good,
        _ => Verdict::Plain,
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
            match (report.claim, outbox.overlapping_claims.unwrap_or(0)) {
                (ClaimMode::Lease, 0) => ", and no two relays held the same row",
                // Zombie relays did overlap; what the claim promises is narrower.
                (ClaimMode::Lease, _) => {
                    ", and no relay took a row while another's lease on it still ran"
                }
                _ => "",
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
    let problems = report.check_problems();
    if args.check && !problems.is_empty() {
        let _ = writeln!(
            out,
            "{} {}.",
            paint.bad("Check failed:"),
            problems.join(", ")
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
    let real_time = if report.mode == "deterministic" {
        ""
    } else {
        "  ·  in real time, so a replay's counts vary while its invariants hold"
    };
    let _ = writeln!(
        out,
        "{} {replay}{}",
        paint.dim("Replay:"),
        paint.dim(real_time)
    );
    if args.trace.is_none() {
        let _ = writeln!(
            out,
            "{} {replay} --trace steps.jsonl",
            paint.dim("Every step:")
        );
    }
    if let Some((run, store)) = recorded {
        let _ = writeln!(
            out,
            "{}",
            paint.dim(&format!("Recorded as run {run} in {}", store.display()))
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::cli::{Cli, Command};

    /// The checked options for a command line, ignoring any `MSGWORK_DB` the environment holds.
    fn parse(argv: &[&str]) -> SimOptions {
        let cli = Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
        let Some(Command::Simulate(mut args)) = cli.command else {
            panic!("{argv:?} is not simulate");
        };
        if !argv.contains(&"--db") {
            args.db = None;
        }
        options(&args)
    }

    #[test]
    fn the_defaults_replay_as_the_bare_command() {
        let bare = parse(&["msgwork", "simulate", "--seed", "7"]);
        assert_eq!(replay(&bare).to_string(), "msgwork simulate --seed 7");
        let crash = parse(&["msgwork", "simulate", "--crash", "--seed", "7"]);
        assert_eq!(
            replay(&crash).to_string(),
            "msgwork simulate --crash --seed 7"
        );
    }

    #[test]
    fn every_option_that_changes_the_result_survives_the_replay() {
        let lines: [&[&str]; 8] = [
            &["--crash", "--seed", "7", "--lease", "1", "--batch", "3"],
            &[
                "--crash",
                "--seed",
                "7",
                "--naive-order",
                "publish-first",
                "--claim",
                "none",
            ],
            &[
                "--seed",
                "1",
                "--crash-rate",
                "0.02",
                "--orders",
                "50",
                "--relays",
                "5",
            ],
            &[
                "--seed",
                "2",
                "--crash-at",
                "consumer-after-commit",
                "--crash-at",
                "relay-after-publish:9",
            ],
            &[
                "--seed",
                "3",
                "--crash-at",
                "service-after-commit:4",
                "--crash-rate",
                "0.1",
            ],
            &[
                "--crash",
                "--seed",
                "4",
                "--threads",
                "--naive-order",
                "commit-first",
            ],
            &[
                "--crash",
                "--seed",
                "5",
                "--crash-mode",
                "process",
                "--db",
                "postgres://u@h/db",
            ],
            &[
                "--crash",
                "--seed",
                "6",
                "--power-loss",
                "--synchronous",
                "normal",
            ],
        ];
        for line in lines {
            let argv: Vec<&str> = ["msgwork", "simulate"]
                .iter()
                .chain(line)
                .copied()
                .collect();
            let asked = parse(&argv);
            let replay = replay(&asked);
            let words: Vec<&str> = replay.argv().iter().map(String::as_str).collect();
            let replayed = parse(&words);
            assert_eq!(
                format!("{replayed:?}"),
                format!("{asked:?}"),
                "{line:?} replayed as {replay}"
            );
        }
    }

    #[test]
    fn the_replay_never_carries_a_password() {
        let asked = parse(&[
            "msgwork",
            "simulate",
            "--seed",
            "1",
            "--db",
            "postgres://msgwork:hunter2@db:5432/lab",
        ]);
        let replay = replay(&asked).to_string();
        assert!(!replay.contains("hunter2"), "{replay}");
        assert!(
            replay.contains("--db 'postgres://msgwork:***@db:5432/lab'"),
            "{replay}"
        );
    }
}
