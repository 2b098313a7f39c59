//! `msgwork lab cdc`: change data capture against polling.

use std::fmt::Write as _;

use anyhow::{Result, bail};
use comfy_table::{Cell, CellAlignment};

use super::shared::{
    Request, check_outputs, duration_word, list_word, parse_duration_ms, record_charted, within,
};
use crate::Outcome;
use crate::cli::CdcArgs;
use crate::commands::context::{Context, emit};
use crate::commands::recording::RunNote;
use crate::commands::replay::Replay;
use crate::sim::lab::cdc::{self, CdcOptions};
use crate::sim::storage::postgres::connect::redact;
use crate::ui::plot::{Distribution, Figure};
use crate::ui::plural;
use crate::ui::{Bar, Verdict};

/// Commit-to-applied latency, CDC against polling, a panel per rate.
fn latencies(lab: &cdc::CdcLab) -> Figure {
    let mut figure = Figure::new(&format!(
        "lab cdc, seed {}: commit to applied, CDC against polling every {} ms ({})",
        lab.seed, lab.interval_ms, lab.backend
    ));
    for r in &lab.runs {
        figure = figure.panel(
            Distribution::new(&format!("At {} orders/s", r.rate), "commit → applied (ms)")
                .sample("CDC", r.cdc.samples_ms.iter().copied())
                .sample("polling", r.polling.samples_ms.iter().copied()),
        );
    }
    figure
}

/// Milliseconds as a bare figure: to the microsecond below ten, coarser above.
fn figure(x: f64) -> String {
    match x {
        x if x < 10.0 => format!("{x:.3}"),
        x if x < 1000.0 => format!("{x:.1}"),
        x => format!("{x:.0}"),
    }
}

/// Milliseconds, to the microsecond below ten and coarser above.
fn ms(x: f64) -> String {
    match x {
        x if x < 10.0 => format!("{x:.3} ms"),
        x if x < 1000.0 => format!("{x:.1} ms"),
        x => format!("{:.2} s", x / 1000.0),
    }
}

fn rates(list: &str) -> Result<Vec<u32>> {
    let rates: Vec<u32> = list
        .split(',')
        .map(|r| {
            r.trim()
                .parse::<u32>()
                .ok()
                .filter(|r| (1..=50_000).contains(r))
        })
        .collect::<Option<_>>()
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--rate takes orders per second between 1 and 50000, like 1000,10000 (got '{list}')"
            )
        })?;
    Ok(rates)
}

/// Raw arguments to checked options; every problem is one line naming its option.
fn options(args: &CdcArgs) -> Result<CdcOptions> {
    let rates = rates(&args.rate)?;
    within("--seconds", args.seconds, 0.05, 600.0)?;
    let interval_ms = parse_duration_ms("--interval", &args.interval)?;
    within("--interval", interval_ms, 1, 60_000)?;
    within("--crashes", args.crashes, 0, 100)?;
    within("--batch", args.batch, 1, 100_000)?;
    let mut options = CdcOptions::new(args.seed.unwrap_or_else(crate::sim::model::random_seed));
    options.rates = rates;
    options.seconds = args.seconds;
    options.interval_ms = interval_ms;
    options.crashes = args.crashes;
    options.batch = args.batch;
    options.keep_dir = args.keep_db.clone();
    if let Some(url) = &args.db {
        crate::sim::storage::postgres::connect::config(url)?;
        options.db = Some(url.clone());
    }
    let offered: u64 = options
        .rates
        .iter()
        .map(|&r| u64::from(options.orders_at(r)))
        .sum();
    if offered > 2_000_000 {
        bail!(
            "--rate × --seconds asks for {offered} orders; keep it under 2,000,000 (fewer seconds or a lower rate)"
        );
    }
    Ok(options)
}

/// The command that replays the run: the seed, the server, and every option that differs from
/// the lab's default. The latencies are this machine's at this moment and will differ; what the
/// run was asked to do, and what it lost, will not.
fn replay(o: &CdcOptions) -> Replay {
    let defaults = CdcOptions::new(o.seed);
    let mut replay = Replay::new(&["lab", "cdc"]);
    replay.option("--seed", o.seed);
    if let Some(url) = &o.db {
        replay.db(url);
    }
    if o.rates != defaults.rates {
        replay.option("--rate", list_word(&o.rates));
    }
    if o.seconds != defaults.seconds {
        replay.option("--seconds", o.seconds);
    }
    if o.interval_ms != defaults.interval_ms {
        replay.option("--interval", duration_word(o.interval_ms));
    }
    if o.crashes != defaults.crashes {
        replay.option("--crashes", o.crashes);
    }
    if o.batch != defaults.batch {
        replay.option("--batch", o.batch);
    }
    replay
}

pub(super) fn cdc_lab(args: &CdcArgs, ctx: &Context) -> Result<Outcome> {
    let options = options(args)?;
    let keep = options.keep_dir.as_deref().filter(|_| options.db.is_none());
    check_outputs(ctx, args.plot.as_deref(), keep, args.force)?;
    let offered: u64 = options
        .rates
        .iter()
        .map(|&r| u64::from(options.orders_at(r)))
        .sum();
    let replay = replay(&options);
    let recorder = ctx.recorder()?;
    let bar = Bar::new(2 * offered, "orders", !args.json);
    bar.message("CDC, then polling, at each rate");
    let lab = cdc::run(&options, &bar);
    bar.finish();
    let lab = lab?;
    let outcome = checked(args.check, &lab);
    let chart = latencies(&lab);
    if let Some(path) = &args.plot {
        chart.save(path)?;
    }
    let request = Request {
        seed: options.seed,
        options: &options,
        replay: &replay,
    };
    let kept = crate::ui::kept_note(
        keep,
        args.json,
        (
            "cdc-billing.db",
            "SELECT order_id, count(*) AS charges FROM charges GROUP BY order_id HAVING charges > 1",
            "any order billing charged twice (none, when the inbox did its work)",
        ),
    );
    let Some(run) = record_charted(
        &recorder,
        "lab-cdc",
        &request,
        &lab,
        args.plot.as_deref(),
        args.json,
    )?
    else {
        return Ok(outcome);
    };
    let mut out = render(
        &lab,
        &options,
        &replay,
        &chart.terminal(ctx.paint),
        run,
        ctx,
    );
    if let Some(path) = &args.plot {
        out.push_str(&format!("Chart written to {}\n", path.display()));
    }
    out.push_str(&kept);
    emit(&out)?;
    Ok(outcome)
}

/// What `--check` asks, as its help says: exit 1 if either relay lost or double-applied an event.
fn checked(check: bool, lab: &cdc::CdcLab) -> Outcome {
    if check && (lab.lost > 0 || lab.double_applied > 0) {
        Outcome::CheckFailed
    } else {
        Outcome::Success
    }
}

fn render(
    lab: &cdc::CdcLab,
    options: &CdcOptions,
    replay: &Replay,
    picture: &str,
    run: RunNote,
    ctx: &Context,
) -> String {
    let paint = ctx.paint;
    let list = |v: &[u32]| {
        v.iter()
            .map(|r| format!("{r}/s"))
            .collect::<Vec<_>>()
            .join(" and ")
    };
    let mut out = format!(
        "{}  {} · seed {} · {} s of orders at {} · polling every {} ms · {} relay and {} service crashes per run\n\n",
        paint.bold("msgwork lab cdc"),
        match &options.db {
            Some(url) => format!("PostgreSQL {}", redact(url)),
            None => "SQLite".to_string(),
        },
        lab.seed,
        lab.seconds,
        list(&options.rates),
        lab.interval_ms,
        lab.crashes,
        lab.crashes
    );
    let mut table = paint.table(&[
        "rate",
        "relay",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "lost",
        "twice",
        "redelivered",
    ]);
    let zero = |n: u64| if n == 0 { Verdict::Good } else { Verdict::Bad };
    for r in &lab.runs {
        for (label, relay) in [("CDC", &r.cdc), ("polling", &r.polling)] {
            let l = &relay.latency_ms;
            let figure = |x: f64| Cell::new(figure(x)).set_alignment(CellAlignment::Right);
            table.add_row(vec![
                Cell::new(format!("{}/s", r.rate)),
                Cell::new(label),
                figure(l.p50),
                figure(l.p95),
                figure(l.p99),
                figure(l.max),
                paint.number(relay.lost, zero(relay.lost)),
                paint.number(relay.double_applied, zero(relay.double_applied)),
                paint.number(relay.redelivered, Verdict::Plain),
            ]);
        }
    }
    let committed: Vec<String> = lab
        .runs
        .iter()
        .map(|r| format!("{} orders committed at {}/s", r.cdc.committed, r.rate))
        .collect();
    let _ = writeln!(
        out,
        "{}  {}\n{table}\n",
        paint.bold("Commit → applied by billing"),
        paint.dim(&format!(
            "({}; each relay saw the same ones)",
            committed.join(", ")
        ))
    );
    let _ = writeln!(out, "{picture}");
    let mut targets = paint.table(&["target", "measured", ""]);
    for t in &lab.targets {
        let measured = if t.id == "zero-lost" {
            format!("{} wrong", t.measured)
        } else {
            ms(t.measured)
        };
        let mark = if t.met {
            paint.good_cell("✓ met")
        } else {
            paint.bad_cell("✗ missed")
        };
        targets.add_row(vec![Cell::new(&t.goal), Cell::new(measured), mark]);
    }
    let _ = writeln!(out, "{targets}\n");

    let _ = writeln!(out, "{}", paint.bold("What this shows"));
    for sentence in explain(lab) {
        let _ = writeln!(out, "  • {sentence}");
    }
    let _ = writeln!(out, "{}", paint.dim(&format!("Replay: {replay}{run}")));
    out
}

/// The findings, each stated only when this run's figures bear it out.
fn explain(lab: &cdc::CdcLab) -> Vec<String> {
    let mut lines = Vec::new();
    let interval = lab.interval_ms as f64;
    if let Some(r) = lab.runs.first() {
        let (polling, cdc) = (r.polling.latency_ms.p50, r.cdc.latency_ms.p50);
        let faster = if r.p50_ratio > 1.0 {
            format!("{}× slower", ratio(r.p50_ratio))
        } else {
            "CDC was not faster here".to_string()
        };
        let share = polling / interval * 100.0;
        let half = if (40.0..=65.0).contains(&share) {
            format!(
                "so the median sits near half the interval whatever the machine does: {share:.0}% \
                 of {} ms here",
                lab.interval_ms
            )
        } else {
            format!(
                "so the median should sit near half the interval, but here it was {share:.0}% of \
                 the {} ms interval, outside the 40–65% the lab expects (see the targets)",
                lab.interval_ms
            )
        };
        lines.push(format!(
            "At {}/s the polling relay's median is {} against CDC's {}: {faster}. A row committed \
             just after a poll waits almost a whole interval, one committed just before waits \
             nothing, {half}.",
            r.rate,
            ms(polling),
            ms(cdc),
        ));
    }
    let sum = |f: fn(&cdc::RelayRun) -> u64| -> u64 {
        lab.runs.iter().map(|r| f(&r.cdc) + f(&r.polling)).sum()
    };
    let redelivered = sum(|r| r.redelivered);
    let phantom = sum(|r| r.phantom);
    let relay_crashes = sum(|r| u64::from(r.relay_crashes));
    let service_crashes = sum(|r| u64::from(r.service_crashes));
    let how = if lab.backend == "postgres" {
        "The CDC relay reads PostgreSQL's own log through a logical replication slot \
         (test_decoding), woken by a NOTIFY that the server delivers only on commit, and advances \
         the slot only after publishing. The slot keeps the position on the server"
    } else {
        "The CDC relay is woken by SQLite's WAL hook, which fires only once a commit is in the log, \
         and reads forward from the last outbox id it saved"
    };
    let rolled_back = match (phantom, service_crashes) {
        (0, 0) => String::new(),
        (0, n) => format!(
            " The {} rolled their orders back, and none of them reached the feed.",
            plural(n, "service crash", "service crashes")
        ),
        (n, _) => format!(
            " Yet {} reached billing for orders that were rolled back: this is a bug in msgwork, \
             please report it with the replay command below.",
            plural(n, "event", "events")
        ),
    };
    let restarts = match (relay_crashes, redelivered) {
        (0, _) => " No relay crashed this run.".to_string(),
        (n, 0) => format!(
            " After each of the {} a relay restarted from its confirmed position, with nothing \
             unconfirmed to publish again.",
            plural(n, "relay crash", "relay crashes")
        ),
        (n, again) => format!(
            " After each of the {} a relay restarted from its confirmed position and published \
             again what it had not confirmed: {} that billing's inbox was there to skip.",
            plural(n, "relay crash", "relay crashes"),
            plural(again, "redelivery", "redeliveries")
        ),
    };
    lines.push(format!("{how}.{rolled_back}{restarts}"));
    lines.push(if lab.lost == 0 && lab.double_applied == 0 {
        format!(
            "Nothing was lost or applied twice by either relay{}: CDC changes how soon an event \
             leaves, not whether it does.",
            if relay_crashes + service_crashes > 0 {
                ", crashes included"
            } else {
                ""
            }
        )
    } else {
        format!(
            "{} lost and {} applied twice: this is a bug in msgwork, please report it with the \
             replay command below.",
            plural(lab.lost, "event was", "events were"),
            plural(lab.double_applied, "event", "events")
        )
    });
    lines.push(if lab.backend == "postgres" {
        "Why not always CDC? A slot holds the server's log until the relay confirms it, so a relay \
         that stays down fills the disk; the slot needs watching and a connector to run. Polling \
         every few hundred milliseconds is simpler, and fast enough for most consumers."
            .to_string()
    } else {
        "Why not always CDC? The hooks see only connections that install them, and only rowid \
         tables without REPLACE deletes; a real database's log (PostgreSQL's logical decoding, \
         MySQL's binlog) has no such gaps but needs a slot to manage and a connector to run. \
         Polling every few hundred milliseconds is simpler, and fast enough for most consumers."
            .to_string()
    });
    lines
}

fn ratio(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::super::shared::testing::assert_replays;
    use super::*;
    use crate::cli::LabCommand;

    #[test]
    fn check_fails_on_a_lost_or_double_applied_event_and_only_when_asked() {
        let mut options = CdcOptions::new(3);
        options.rates = vec![200];
        options.seconds = 0.1;
        options.interval_ms = 20;
        let lab = cdc::run(&options, &crate::sim::progress::NoProgress).unwrap();
        assert_eq!((lab.lost, lab.double_applied), (0, 0));
        assert_eq!(checked(true, &lab), Outcome::Success);
        for (lost, twice) in [(1, 0), (0, 1)] {
            let broken = cdc::CdcLab {
                lost,
                double_applied: twice,
                ..lab.clone()
            };
            assert_eq!(checked(true, &broken), Outcome::CheckFailed);
            assert_eq!(checked(false, &broken), Outcome::Success);
        }
    }

    #[test]
    fn the_replay_gives_back_every_option_that_changes_the_result() {
        assert_replays(
            "cdc",
            &[
                &["--seed", "3"],
                &[
                    "--seed",
                    "3",
                    "--rate",
                    "300",
                    "--seconds",
                    "0.25",
                    "--interval",
                    "50ms",
                ],
                &[
                    "--seed",
                    "3",
                    "--crashes",
                    "0",
                    "--batch",
                    "7",
                    "--interval",
                    "2s",
                    "--db",
                    "postgres://u@h/db",
                ],
            ],
            |lab| match lab {
                LabCommand::Cdc(args) => options(&args).unwrap(),
                other => panic!("{other:?}"),
            },
            replay,
        );
    }
}
