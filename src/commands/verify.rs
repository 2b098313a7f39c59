//! `msgwork verify -- COMMAND`: runs the learner's own pipeline under kills over one or more seeds,
//! and shows the verdict, the step their code has reached, and the story of the first order
//! that went wrong, with the command that replays it.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::time::Duration;

use std::io::IsTerminal as _;

use anyhow::{Result, anyhow, bail};
use serde::Serialize;

use super::context::{Context, emit, emit_json};
use super::replay::shell_word;
use crate::Outcome;
use crate::broker::BrokerUrl;
use crate::cli::VerifyArgs;
use crate::ui::sequence;
use crate::ui::{Bar, Paint, Verdict as Tone};
use crate::verify::lanes;
use crate::verify::report::{self, Outcome as RunOutcome, Verdict};
use crate::verify::schedule::parse_schedule;
use crate::verify::shrink::{self, Budget, Shrunk};
use crate::verify::{self, Options};

const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct ShrunkJson<'a> {
    orders: u32,
    schedule: &'a [crate::verify::schedule::Strike],
    tries: u32,
    replay: String,
    outcome: &'a RunOutcome,
}

#[derive(Serialize)]
struct Json<'a> {
    schema_version: u32,
    command: Vec<String>,
    /// The first seed; the runs are seed, seed + 1, and so on.
    seed: u64,
    verdict: Verdict,
    seeds_run: usize,
    seeds_held: usize,
    /// The NATS server the events went through, password hidden; absent for msgwork's own broker.
    #[serde(skip_serializing_if = "Option::is_none")]
    broker: Option<String>,
    /// The replay command of the first seed that did not hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    replay: Option<String>,
    /// The smallest replay of that seed's failure that shrinking found.
    #[serde(skip_serializing_if = "Option::is_none")]
    shrunk: Option<ShrunkJson<'a>>,
    runs: &'a [RunOutcome],
}

/// What a recorded verify run was asked to do, and the program it judged.
#[derive(Serialize)]
struct Recorded {
    command: Vec<String>,
    orders: u32,
    relays: u32,
    seeds: u32,
    schedule: Option<String>,
    sources: Vec<verify::program::SourceFile>,
}

/// What a recorded verify run found, seed by seed.
#[derive(Serialize)]
struct Results {
    verdict: Verdict,
    seeds_run: usize,
    seeds_held: usize,
    replay: Option<String>,
    runs: Vec<report::Summary>,
}

pub fn run(args: &VerifyArgs, ctx: &Context) -> Result<Outcome> {
    if args.watch {
        if args.json {
            bail!("--watch shows each run as it comes and cannot be combined with --json");
        }
        return watch(args, ctx);
    }
    once(args, ctx, args.force)
}

/// Runs again whenever the program's files change, like a test watcher: a failure or a broken
/// protocol is shown, and the watch goes on until Ctrl-C.
fn watch(args: &VerifyArgs, ctx: &Context) -> Result<Outcome> {
    let mut force = args.force;
    loop {
        let seen = stamp(&args.command);
        if std::io::stdout().is_terminal() {
            emit("\x1b[2J\x1b[H")?;
        }
        if let Err(err) = once(args, ctx, force) {
            eprintln!("error: {err:#}");
        }
        // The diagram is this watch's own file from now on.
        force = true;
        eprintln!(
            "{}",
            ctx.paint.dim(&format!(
                "Watching {} for changes; press Ctrl-C to stop.",
                crate::ui::plural(seen.len() as u64, "file", "files")
            ))
        );
        while stamp(&args.command) == seen {
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

/// What the watch compares: the size and modification time of each file of the program (the
/// files the command names and the sources beside them), read without opening any.
fn stamp(command: &[OsString]) -> Vec<(std::path::PathBuf, u64, Option<std::time::SystemTime>)> {
    verify::program::paths(command)
        .into_iter()
        .map(|path| {
            let meta = std::fs::metadata(&path).ok();
            let len = meta.as_ref().map_or(0, |m| m.len());
            let when = meta.and_then(|m| m.modified().ok());
            (path, len, when)
        })
        .collect()
}

fn once(args: &VerifyArgs, ctx: &Context, force: bool) -> Result<Outcome> {
    let schedule = match &args.schedule {
        Some(text) => Some(parse_schedule(text).map_err(|e| anyhow!("--schedule: {e}"))?),
        None => None,
    };
    let broker = args.broker.as_deref().map(BrokerUrl::parse).transpose()?;
    if let Some(url) = &broker {
        verify::check_broker(url).map_err(|e| anyhow!("{e}"))?;
    }
    let options = Options {
        command: args.command.clone(),
        orders: args.orders,
        relays: args.relays,
        timeout: Duration::from_secs(args.timeout),
        schedule,
        keep: args.keep_db.clone(),
        broker,
    };
    if let Some(path) = &args.plot {
        crate::ui::plot::check_svg_path(path)?;
        ctx.outputs(force)?
            .check_file(path, "the sequence diagram (--plot)")?;
    }
    let recorder = ctx.recorder()?;
    let bar = Bar::new(u64::from(args.seeds), "seeds", !args.json);
    let seeds: Vec<u64> = (0..args.seeds)
        .map(|n| args.seed.saturating_add(u64::from(n)))
        .collect();
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
        |j| j as usize,
    );
    let mut runs = Vec::new();
    let results = verify::verify_seeds(&options, &seeds, jobs, &|seed| {
        bar.message_owned(format!("seed {seed} done"));
    });
    for (seed, result) in results {
        match result {
            Ok(outcome) => runs.push(outcome),
            Err(e) => {
                bar.finish();
                return Err(anyhow!("{e}").context(format!("seed {seed}")));
            }
        }
    }
    bar.finish();
    let held = runs.iter().filter(|r| r.verdict == Verdict::Held).count();
    let first_bad = runs.iter().find(|r| r.verdict != Verdict::Held);
    let replay = first_bad.map(|r| replay(args, r.seed));
    let verdict = first_bad.map_or(Verdict::Held, |r| r.verdict);
    let shrunk = match first_bad {
        Some(bad) if !args.no_shrink && shrink::failure(bad).is_some() => {
            let bar = Bar::new(u64::from(Budget::default().runs), "tries", !args.json);
            bar.message("shrinking the failing run");
            let found = shrink::shrink(&options, bad, Budget::default(), &mut |_, what| {
                bar.message_owned(format!("shrinking: {what}"));
            });
            bar.finish();
            found
        }
        _ => None,
    };
    let story = shrunk
        .as_ref()
        .and_then(|s| s.outcome.first_broken.as_ref())
        .or_else(|| first_bad.and_then(|r| r.first_broken.as_ref()));
    if let (Some(path), Some(story)) = (&args.plot, story) {
        let svg = sequence::svg(&lanes::of(story.order, &story.timeline))?;
        crate::ui::plot::write_svg(path, &svg)?;
    }
    let run_id = recorder.record(
        "verify",
        Some(args.seed),
        &Recorded {
            command: args
                .command
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            orders: args.orders,
            relays: args.relays,
            seeds: args.seeds,
            schedule: args.schedule.clone(),
            sources: verify::program::sources(&args.command),
        },
        &Results {
            verdict,
            seeds_run: runs.len(),
            seeds_held: held,
            replay: replay.clone(),
            runs: runs.iter().map(RunOutcome::summary).collect(),
        },
    );
    if args.json {
        emit_json(&Json {
            schema_version: SCHEMA_VERSION,
            seed: args.seed,
            command: args
                .command
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            verdict,
            seeds_run: runs.len(),
            seeds_held: held,
            broker: options.broker.as_ref().map(ToString::to_string),
            shrunk: shrunk.as_ref().map(|s| ShrunkJson {
                orders: s.orders,
                schedule: &s.strikes,
                tries: s.tries,
                replay: shrunk_replay(args, s),
                outcome: &s.outcome,
            }),
            replay,
            runs: &runs,
        })?;
    } else {
        let mut text = human(args, &runs, shrunk.as_ref(), ctx.paint);
        if let Some(dir) = &args.keep_db {
            // The seed worth looking at: the first that broke, or else the first run.
            let seed = first_bad.or(runs.first()).map(|r| r.seed);
            if let Some(seed) = seed {
                text.push_str(&crate::ui::kept_databases(
                    &dir.join(format!("seed-{seed}")),
                    (
                        "consumer.db",
                        "SELECT order_id, count(*) AS charges FROM charges GROUP BY order_id \
                         HAVING charges > 1",
                        "the orders your consumer charged more than once",
                    ),
                ));
                if runs.len() > 1 {
                    let _ = writeln!(
                        text,
                        "Each seed's databases are in {}.",
                        dir.join("seed-N").display()
                    );
                }
                let kept: Vec<&str> = runs
                    .iter()
                    .filter_map(|r| r.on_stream.as_ref().map(|on| on.stream.as_str()))
                    .collect();
                if !kept.is_empty() {
                    let _ = writeln!(
                        text,
                        "The streams are kept on the broker too: {}. Delete them when done \
                         (nats stream rm NAME).",
                        kept.join(", ")
                    );
                }
            }
        }
        if let Some(id) = run_id {
            let _ = writeln!(text, "{}", ctx.paint.dim(&format!("Recorded as run {id}.")));
        }
        emit(&text)?;
    }
    Ok(if verdict == Verdict::Held {
        Outcome::Success
    } else {
        Outcome::CheckFailed
    })
}

fn human(args: &VerifyArgs, runs: &[RunOutcome], shrunk: Option<&Shrunk>, paint: Paint) -> String {
    let mut out = String::new();
    let program = shell_words_joined(&args.command);
    let held = runs.iter().filter(|r| r.verdict == Verdict::Held).count();
    let shown = runs
        .iter()
        .find(|r| r.verdict != Verdict::Held)
        .unwrap_or(&runs[runs.len() - 1]);
    let _ = writeln!(
        out,
        "{} {program}: {} orders, {} relays{}",
        paint.bold("msgwork verify"),
        args.orders,
        args.relays,
        broker_shown(args)
            .map(|url| format!(", on {url}"))
            .unwrap_or_default()
    );
    if runs.len() > 1 {
        let line = format!("held on {held} of {} seeds", runs.len());
        let _ = writeln!(
            out,
            "{}",
            if held == runs.len() {
                paint.good(&line)
            } else {
                paint.bad(&line)
            }
        );
        if held < runs.len() {
            let failed: Vec<String> = runs
                .iter()
                .filter(|r| r.verdict != Verdict::Held)
                .map(|r| r.seed.to_string())
                .take(20)
                .collect();
            let _ = writeln!(out, "seeds that did not hold: {}", failed.join(", "));
        }
        let _ = writeln!(out, "\nseed {}:", shown.seed);
    }
    out.push_str(&one(shown, paint));
    if shown.verdict != Verdict::Held {
        let _ = writeln!(out, "\nReplay this run:\n  {}", replay(args, shown.seed));
    }
    if let Some(s) = shrunk {
        let kills = s.strikes.iter().filter(|s| s.point.kills()).count() as u64;
        let faults = s.strikes.len() as u64 - kills;
        let mut what = vec![crate::ui::plural(u64::from(s.orders), "order", "orders")];
        if kills > 0 {
            what.push(crate::ui::plural(kills, "kill", "kills"));
        }
        if faults > 0 {
            what.push(crate::ui::plural(faults, "broker fault", "broker faults"));
        }
        let _ = writeln!(
            out,
            "\n{} {} break it the same way (found in {} tries):\n  {}",
            paint.bold("Smallest replay found:"),
            what.join(", "),
            s.tries,
            shrunk_replay(args, s)
        );
        if let Some(story) = &s.outcome.first_broken {
            out.push_str(&story_text(story, paint));
        }
    } else if shown.verdict != Verdict::Held {
        if let Some(story) = &shown.first_broken {
            out.push_str(&story_text(story, paint));
        }
    } else if runs.len() == 1 {
        let _ = writeln!(
            out,
            "\nOne seed proves little: try `--seeds 50`{}.",
            if args.orders < 200 {
                " with more orders"
            } else {
                ""
            }
        );
    }
    out
}

fn one(run: &RunOutcome, paint: Paint) -> String {
    let mut out = String::new();
    let c = &run.counts;
    let verdict = match run.verdict {
        Verdict::Held => paint.good("held: nothing lost, nothing applied twice"),
        Verdict::Broken => paint.bad("broken"),
        Verdict::Unsettled => paint.bad("did not settle"),
    };
    let _ = writeln!(
        out,
        "{verdict}  ({} kills, {} processes started, {:.1} s)",
        run.kills,
        run.processes_started,
        run.elapsed_ms as f64 / 1000.0
    );
    let mut table = paint.table(&["count", "orders", "means"]);
    let bad = |n: usize| if n == 0 { Tone::Good } else { Tone::Bad };
    for (name, n, means) in [
        ("committed", c.committed, "orders in your `orders` table"),
        ("lost", c.lost.len(), "committed, never charged"),
        ("phantom", c.phantom.len(), "charged, never committed"),
        (
            "double-applied",
            c.double_applied.len(),
            "charged more than once",
        ),
        (
            "mischarged",
            c.mischarged.len(),
            "charged once, with another amount",
        ),
        (
            "broken promises",
            c.broken_promises.len(),
            "answered order_placed, not committed",
        ),
        (
            "relay overlap",
            c.relay_overlap,
            "one event published by two live relays",
        ),
    ] {
        let tone = if name == "committed" {
            Tone::Plain
        } else {
            bad(n)
        };
        table.add_row(vec![
            comfy_table::Cell::new(name),
            paint.number(n as u64, tone),
            comfy_table::Cell::new(means),
        ]);
    }
    table.add_row(vec![
        comfy_table::Cell::new("duplicates absorbed"),
        paint.number(c.duplicates_absorbed as u64, Tone::Plain),
        comfy_table::Cell::new("delivered again, charged once"),
    ]);
    let _ = writeln!(out, "{table}");
    if let Some(reason) = &run.unsettled {
        let _ = writeln!(out, "The pipeline never went quiet: {reason}.");
    }
    if let Some(on) = &run.on_stream {
        let _ = writeln!(
            out,
            "On stream {}: its dedupe window absorbed {} and JetStream redelivered {}.",
            on.stream,
            crate::ui::plural(u64::from(on.absorbed_by_window), "publish", "publishes"),
            crate::ui::plural(u64::from(on.redelivered), "delivery", "deliveries"),
        );
    }
    let _ = writeln!(out, "\nThe lab's steps, as this run shows them:");
    for step in &run.steps {
        let mark = if step.done {
            paint.good("done")
        } else {
            paint.bad("not yet")
        };
        let _ = writeln!(out, "  {}. {mark}  {}", step.number, step.name);
        let _ = writeln!(out, "     {}", paint.dim(&step.evidence));
    }
    if let Some(step) = run.step_to_work_on() {
        let _ = writeln!(out, "Work on step {} next.", step.number);
    }
    if !run.errors.is_empty() {
        let _ = writeln!(out, "\nYour processes answered `error`:");
        for (node, text) in run.errors.iter().take(5) {
            let _ = writeln!(out, "  {node}: {text}");
        }
    }
    out
}

/// The life of the first order that went wrong, as a timeline.
fn story_text(story: &report::Story, paint: Paint) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{} order {} ({})",
        paint.bold("The first order that went wrong:"),
        story.order,
        story.problem
    );
    let _ = writeln!(out, "{}", crate::ui::wrap(&story.explanation, 96, "  "));
    let _ = writeln!(out, "Its life:");
    out.push_str(&sequence::terminal(
        &lanes::of(story.order, &story.timeline),
        paint,
    ));
    out
}

/// The command that replays a shrunk failure.
fn shrunk_replay(args: &VerifyArgs, s: &Shrunk) -> String {
    let mut line = format!(
        "msgwork verify --seed {} --orders {}",
        s.outcome.seed, s.orders
    );
    if args.relays != 3 {
        let _ = write!(line, " --relays {}", args.relays);
    }
    line.push_str(&broker_flag(args));
    let _ = write!(
        line,
        " --schedule {} -- {}",
        shell_word(&s.schedule()),
        shell_words_joined(&args.command)
    );
    line
}

/// The command that runs this seed again.
fn replay(args: &VerifyArgs, seed: u64) -> String {
    let mut line = format!("msgwork verify --seed {seed}");
    if args.orders != 200 {
        let _ = write!(line, " --orders {}", args.orders);
    }
    if args.relays != 3 {
        let _ = write!(line, " --relays {}", args.relays);
    }
    line.push_str(&broker_flag(args));
    if let Some(schedule) = &args.schedule {
        let _ = write!(line, " --schedule {}", shell_word(schedule));
    }
    let _ = write!(line, " -- {}", shell_words_joined(&args.command));
    line
}

/// The broker the run used, password hidden.
fn broker_shown(args: &VerifyArgs) -> Option<String> {
    let url = BrokerUrl::parse(args.broker.as_deref()?).ok()?;
    Some(url.to_string())
}

/// ` --broker URL` for a replay on the same server, password hidden; empty without one.
fn broker_flag(args: &VerifyArgs) -> String {
    broker_shown(args)
        .map(|url| format!(" --broker {}", shell_word(&url)))
        .unwrap_or_default()
}

/// The command's words, each quoted as the shell needs.
fn shell_words_joined(words: &[OsString]) -> String {
    words
        .iter()
        .map(|w| shell_word(&w.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}
