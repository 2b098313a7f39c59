//! `msgwork simulate --broker URL`: both pipelines on a real NATS JetStream server, in real time,
//! and a report of which duplicates the broker absorbed and which the inbox did.

use std::fmt::Write as _;

use anyhow::{Result, bail};

use crate::Outcome;
use crate::broker::BrokerUrl;
use crate::cli::{ClaimArg, CrashModeArg, DedupeArg, SimulateArgs};
use crate::commands::context::{Context, emit, emit_json};
use crate::sim::brokered::{self, BrokeredOptions, BrokeredPipeline, BrokeredReport};
use crate::ui::{Bar, Verdict, plural};

/// The most orders a real-time run takes: each is a round trip to the broker and two commits.
const MOST_ORDERS: u32 = 10_000;
/// The chance per order of an extra crash at each point, on top of one guaranteed each.
const DEFAULT_RATE: f64 = 0.01;

/// Checks what the broker run can honour; an option it would ignore is bad input.
fn options(url: &str, args: &SimulateArgs, ctx: &Context) -> Result<(BrokerUrl, BrokeredOptions)> {
    let url = BrokerUrl::parse(url)?;
    if !(1..=MOST_ORDERS).contains(&args.orders) {
        bail!(
            "--orders must be between 1 and {MOST_ORDERS} with --broker (got {})",
            args.orders
        );
    }
    let rate = args.crash_rate.unwrap_or(DEFAULT_RATE);
    if !(0.0..=1.0).contains(&rate) {
        bail!("--crash-rate must be between 0 and 1 (got {rate})");
    }
    if args.power_loss {
        bail!(
            "--power-loss does not apply with --broker: it cuts the lab's own SQLite files at a \
             power failure, and a broker keeps its messages in the server's storage, which msgwork \
             does not control. Drop --power-loss, or drop --broker to see a power loss in the lab."
        );
    }
    let unsupported = [
        (args.trace.is_some(), "--trace"),
        (!args.crash_at.is_empty(), "--crash-at"),
        (args.fault_rate.is_some(), "--fault-rate"),
        (args.explain.is_some(), "--explain"),
        (args.threads, "--threads"),
        (args.relays != 3, "--relays"),
        (args.claim != ClaimArg::Lease, "--claim"),
        (args.batch != 10, "--batch"),
        (args.lease.is_some(), "--lease"),
        (args.synchronous.is_some(), "--synchronous"),
    ];
    if let Some((_, flag)) = unsupported.iter().find(|(asked, _)| *asked) {
        bail!(
            "{flag} does not work with --broker yet: the broker run has one service, one relay and \
             one consumer, crashing at points drawn from the seed. Drop {flag}, or drop --broker to \
             use it in the lab."
        );
    }
    if let Some(dir) = &args.keep_db {
        ctx.outputs(args.force)?
            .check_dir(dir, "the lab's databases (--keep-db)")?;
    }
    Ok((
        url,
        BrokeredOptions {
            seed: args.seed.unwrap_or_else(crate::sim::model::random_seed),
            orders: args.orders,
            crash: args.crash,
            crash_rate: rate,
            processes: args.crash_mode == CrashModeArg::Process,
            actor_program: None,
            dedupe: args.broker_dedupe == DedupeArg::On,
            keep_dir: args.keep_db.clone(),
            db: args.db.clone(),
            mutant: crate::sim::crash::mutant::Mutant::None,
        },
    ))
}

pub(super) fn run(url: &str, args: &SimulateArgs, ctx: &Context) -> Result<Outcome> {
    let (url, options) = options(url, args, ctx)?;
    let recorder = ctx.recorder()?;
    let bar = Bar::new(2, "pipelines", !args.json);
    bar.message_owned(format!(
        "naive, then outbox, on {url} in real time (a consumer crash waits out AckWait)"
    ));
    let report = brokered::run(&url, &options);
    bar.finish();
    let report = report?;
    let run_id = recorder.record(
        "simulate-broker",
        Some(options.seed),
        &report.orders,
        &report,
    );
    if args.json {
        emit_json(&report)?;
    } else {
        emit(&render(&report, ctx, run_id))?;
    }
    Ok(outcome(args.check, &report.outbox))
}

/// Exit 1 when the learner asked for `--check` and the outbox lost, invented or doubled an event.
fn outcome(check: bool, outbox: &BrokeredPipeline) -> Outcome {
    if check && !outbox.holds() {
        Outcome::CheckFailed
    } else {
        Outcome::Success
    }
}

/// A row of the report: its label, its figure, and whether a figure above zero is a failure.
type Row = (&'static str, fn(&BrokeredPipeline) -> u64, bool);

fn render(r: &BrokeredReport, ctx: &Context, run_id: Option<i64>) -> String {
    let paint = ctx.paint;
    let mut out = format!(
        "{}  seed {} · {} orders · on {} and {} · crashes {} · dedupe window {}\n\n",
        paint.bold("msgwork simulate --broker"),
        r.seed,
        r.orders,
        r.broker,
        if r.storage == "postgres" {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        if r.crash_mode == "process" {
            "by SIGKILL to child processes"
        } else {
            "in process"
        },
        if r.dedupe {
            format!("{} ms", r.duplicate_window_ms)
        } else {
            "off (no Nats-Msg-Id)".to_string()
        }
    );
    let mut table = paint.table(&["", "naive", "outbox"]);
    let processes = r.crash_mode == "process";
    let process_rows: [Row; 3] = [
        (
            "service killed mid-transaction",
            |p| p.service_crashes,
            false,
        ),
        (
            "child processes started",
            |p| p.processes.map_or(0, |n| n.started),
            false,
        ),
        (
            "child processes killed by SIGKILL",
            |p| p.processes.map_or(0, |n| n.killed),
            false,
        ),
    ];
    let rows: [Row; 10] = [
        ("orders committed", |p| p.orders_committed, false),
        ("publishes acknowledged", |p| p.publishes, false),
        (
            "publisher killed before recording its ack",
            |p| p.publisher_crashes,
            false,
        ),
        (
            "resends the broker's window absorbed",
            |p| p.absorbed_by_broker,
            false,
        ),
        (
            "consumer killed after commit, before ack",
            |p| p.consumer_crashes,
            false,
        ),
        ("redelivered after AckWait", |p| p.redelivered, false),
        (
            "duplicates the inbox absorbed",
            |p| p.absorbed_by_inbox,
            false,
        ),
        ("lost", |p| p.lost, true),
        ("phantom", |p| p.phantom, true),
        ("applied twice", |p| p.double_applied, true),
    ];
    let shown = rows
        .into_iter()
        .chain(process_rows.into_iter().filter(|_| processes));
    for (label, get, judged) in shown {
        let cell = |p: &BrokeredPipeline| {
            let n = get(p);
            let verdict = match (judged, n) {
                (false, _) => Verdict::Plain,
                (true, 0) => Verdict::Good,
                (true, _) => Verdict::Bad,
            };
            paint.number(n, verdict)
        };
        table.add_row(vec![
            comfy_table::Cell::new(label),
            cell(&r.naive),
            cell(&r.outbox),
        ]);
    }
    let _ = writeln!(out, "{table}\n");
    let _ = writeln!(out, "{}", paint.bold("What this shows"));
    for line in explain(r) {
        let _ = writeln!(out, "  • {line}");
    }
    let streams = format!("{}, {}", r.naive.stream, r.outbox.stream);
    let fate = if r.streams_deleted { "deleted" } else { "kept" };
    let run = run_id
        .map(|id| format!(" · recorded as run {id}"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{}",
        paint.dim(&format!("Streams {streams}: {fate}{run}"))
    );
    out
}

/// The findings, each stated only when this run's figures bear it out.
fn explain(r: &BrokeredReport) -> Vec<String> {
    let mut lines = Vec::new();
    let (n, o) = (&r.naive, &r.outbox);
    if n.lost > 0 {
        lines.push(format!(
            "The naive service committed {} whose event it never published: the broker \
             cannot redeliver what it was never given, so billing lost {}.",
            plural(n.publisher_crashes, "order", "orders"),
            n.lost
        ));
    }
    if let (Some(np), Some(op)) = (n.processes, o.processes) {
        lines.push(format!(
            "The service, the relay and the consumer ran as {} child processes of msgwork, each \
             with its own connections; {} of them died by SIGKILL at their crash points, {} of \
             those mid-transaction in the service, which left no trace of their order.",
            np.started + op.started,
            np.killed + op.killed,
            n.service_crashes + o.service_crashes,
        ));
    }
    if o.publisher_crashes > 0 {
        let who = if r.dedupe {
            format!(
                "the stream's dedupe window recognised {} of the resends by Nats-Msg-Id and stored \
                 nothing",
                o.absorbed_by_broker
            )
        } else {
            "with dedupe off the stream stored every resend as a new message".to_string()
        };
        lines.push(format!(
            "A relay killed {} after the broker stored a message, before marking its row, sent it \
             again on restart: {who}.",
            plural(o.publisher_crashes, "time", "times")
        ));
    }
    if o.consumer_crashes > 0 {
        lines.push(format!(
            "The consumer was killed {} after its commit, before its ack; JetStream redelivered \
             {} once AckWait ({} ms) ran out, and the inbox absorbed {} in all.",
            plural(o.consumer_crashes, "time", "times"),
            plural(o.redelivered, "message", "messages"),
            r.ack_wait_ms,
            plural(o.absorbed_by_inbox, "duplicate", "duplicates"),
        ));
    }
    if let Some(late) = &o.late_duplicate {
        let stored = if late.stored_by_broker {
            "the broker stored it as new"
        } else {
            "the broker still recognised it"
        };
        let inbox = if late.stopped_by_inbox {
            "the inbox stopped it"
        } else {
            "the inbox did not see it"
        };
        lines.push(format!(
            "A late duplicate of {} sent {} ms after the first, outside the {} ms window: {stored}, \
             and {inbox}. The dedupe window shortens the trouble; only the idempotent consumer ends it.",
            late.event_id, late.after_ms, r.duplicate_window_ms
        ));
    }
    lines.push(if o.holds() {
        "The outbox lost nothing and applied nothing twice on a real broker.".to_string()
    } else {
        format!(
            "The outbox did not hold here (lost {}, phantom {}, applied twice {}): this is a bug \
             in msgwork, please report it with the seed.",
            o.lost, o.phantom, o.double_applied
        )
    });
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox() -> BrokeredPipeline {
        BrokeredPipeline {
            pipeline: crate::sim::model::Pipeline::Outbox,
            orders_committed: 10,
            publishes: 11,
            service_crashes: 0,
            publisher_crashes: 1,
            absorbed_by_broker: 1,
            consumer_crashes: 1,
            redelivered: 1,
            absorbed_by_inbox: 1,
            late_duplicate: None,
            lost: 0,
            phantom: 0,
            double_applied: 0,
            stream: "s".into(),
            processes: None,
        }
    }

    #[test]
    fn the_check_fails_on_each_way_the_outbox_can_break_and_only_when_asked_for() {
        assert_eq!(outcome(true, &outbox()), Outcome::Success);
        let broken: [fn(&mut BrokeredPipeline); 3] =
            [|p| p.lost = 1, |p| p.phantom = 1, |p| p.double_applied = 1];
        for breaks in broken {
            let mut p = outbox();
            breaks(&mut p);
            assert_eq!(outcome(true, &p), Outcome::CheckFailed, "{p:?}");
            assert_eq!(outcome(false, &p), Outcome::Success, "{p:?}");
        }
    }
}
