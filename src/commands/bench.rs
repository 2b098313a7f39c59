//! `msgwork bench`: the crash lab measured against its targets.

use anyhow::{Context as _, Result};

use super::context::{Context, emit, emit_json};
use crate::Outcome;
use crate::cli::BenchArgs;
use crate::sim::lab::bench::{self, Measurement, Sizes};
use crate::ui::{Bar, Verdict};

pub fn run(args: &BenchArgs, ctx: &Context) -> Result<Outcome> {
    let sizes = if args.quick {
        Sizes::QUICK
    } else {
        Sizes::FULL
    };
    // Where the labs themselves run, so the figures are that disk's.
    let (_scratch, dir) = crate::sim::storage::sqlite::files::lab_dir(None)?;
    if let Some(url) = &args.db {
        crate::sim::storage::postgres::connect::config(url)?;
    }
    let steps = if args.db.is_some() { 10 } else { 6 } + if args.baseline { 4 } else { 2 };
    let bar = Bar::new(steps, "measurements", !args.json);
    let measurements = bench::run(sizes, &dir, args.db.as_deref(), args.baseline, &|name| {
        bar.message_owned(name.to_string());
        crate::sim::progress::Progress::advance(&bar, 0);
    });
    bar.message_owned("drill start-up".to_string());
    let drill = drill_startup(&dir);
    bar.message_owned("verify of the Python reference solution".to_string());
    let verify = verify_python(&dir);
    bar.finish();
    let mut measurements = measurements?;
    measurements.extend(drill?);
    measurements.extend(verify?);
    if args.json {
        emit_json(&serde_json::json!({
            "schema_version": 1,
            "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
            "quick": args.quick,
            "measurements": measurements,
        }))?;
        return Ok(Outcome::Success);
    }
    let paint = ctx.paint;
    let mut table = paint.table(&["measurement", "figure", "target", ""]);
    for m in &measurements {
        let target = if m.target.is_finite() {
            format!(
                "{} {}",
                if m.lower_is_better { "≤" } else { "≥" },
                figure(m.target, m.unit)
            )
        } else {
            String::new()
        };
        let status = match (m.target.is_finite(), m.meets) {
            (false, _) => String::new(),
            (true, true) => paint.good("meets"),
            (true, false) => paint.bad("misses"),
        };
        let _ = Verdict::Plain;
        table.add_row(vec![
            m.description.clone(),
            figure(m.value, m.unit),
            target,
            status,
        ]);
    }
    let mut text = format!("{table}\n");
    if cfg!(debug_assertions) {
        text.push_str(
            "This is a debug build: the targets are for release (cargo run --release -- bench).\n",
        );
    }
    if args.quick {
        text.push_str(
            "Quick sizes: run without --quick for the figures the targets are stated for.\n",
        );
    }
    emit(&text)?;
    Ok(Outcome::Success)
}

/// How long until `msgwork drill` can show its first question: in-process (built-in pack parsed
/// and checked, progress store opened and migrated, session recorded, first item chosen), and as a
/// whole process (`msgwork drill --list`, which does the same loading and prints every item).
fn drill_startup(dir: &std::path::Path) -> Result<Vec<Measurement>> {
    let home = dir.join("drill-home");
    let mut in_process = Vec::new();
    for _ in 0..15 {
        let started = std::time::Instant::now();
        let pack = crate::content::builtin()?;
        let store = crate::store::Store::open(&home)?;
        let entries = crate::drill::entries(&pack);
        let plan: Vec<String> = entries.iter().map(|e| e.id().to_string()).collect();
        store.start_session("bench", &plan)?;
        std::hint::black_box(entries.first().map(|e| e.title()));
        in_process.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let exe = std::env::current_exe().context("cannot find the msgwork executable to time")?;
    let mut process = Vec::new();
    for _ in 0..10 {
        let started = std::time::Instant::now();
        let status = std::process::Command::new(&exe)
            .args(["--data-dir"])
            .arg(&home)
            .args(["drill", "--list", "--json"])
            .stdout(std::process::Stdio::null())
            .status()
            .context("cannot run msgwork drill --list")?;
        anyhow::ensure!(
            status.success(),
            "msgwork drill --list failed while being timed"
        );
        process.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Ok(vec![
        Measurement::new(
            "drill_first_question_ms",
            "drill start-up to its first question: pack parsed, store opened, session recorded"
                .to_string(),
            median(in_process),
            "ms",
            100.0,
            true,
        ),
        Measurement::new(
            "drill_process_ms",
            "whole process: msgwork drill --list (start, load, print every item, exit)".to_string(),
            median(process),
            "ms",
            100.0,
            true,
        ),
    ])
}

/// One `msgwork verify` of the Python kit's reference solution at 200 orders and 3 relays, the
/// size the target is stated for; nothing when `python3` is not on the PATH.
fn verify_python(dir: &std::path::Path) -> Result<Vec<Measurement>> {
    let python = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !python {
        return Ok(Vec::new());
    }
    let kit = crate::kit::find("python")?;
    let at = dir.join("verify-kit");
    crate::kit::write_files(kit.files(crate::kit::Variant::Solution), &at)?;
    let options = crate::verify::Options {
        command: kit
            .program_command(&at)
            .into_iter()
            .map(std::ffi::OsString::from)
            .collect(),
        orders: 200,
        relays: 3,
        timeout: std::time::Duration::from_secs(10),
        schedule: None,
        keep: None,
    };
    let started = std::time::Instant::now();
    let outcome = crate::verify::verify(&options, 1).map_err(|e| anyhow::anyhow!("{e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        outcome.verdict == crate::verify::report::Verdict::Held,
        "the Python reference solution did not hold while being timed"
    );
    Ok(vec![Measurement::new(
        "verify_python_solution_s",
        format!(
            "verify of the Python reference solution: 200 orders, 3 relays, {} kills",
            outcome.kills
        ),
        seconds,
        "s",
        5.0,
        true,
    )])
}

/// A figure with as many decimals as its size deserves, and its unit.
pub(crate) fn figure(value: f64, unit: &str) -> String {
    if value >= 1000.0 {
        format!("{:.0} {unit}", value)
    } else if value >= 10.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.2} {unit}")
    }
}
