//! `msgwork bench`: the crash lab measured against its targets.

mod memory;

use anyhow::{Context as _, Result};

use super::context::{Context, emit, emit_json};
use crate::Outcome;
use crate::broker::BrokerUrl;
use crate::cli::BenchArgs;
use crate::sim::lab::bench::{self, Measurement, Sizes};
use crate::sim::lab::cleanup::Machine;
use crate::ui::{Bar, Paint};

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
    let broker = args.broker.as_deref().map(BrokerUrl::parse).transpose()?;
    let steps = if args.db.is_some() { 10 } else { 6 }
        + if args.baseline { 4 } else { 2 }
        + if broker.is_some() { 4 } else { 0 }
        + if args.baseline && args.db.is_some() {
            1
        } else {
            0
        };
    let bar = Bar::new(steps, "measurements", !args.json);
    let measurements = bench::run(sizes, &dir, args.db.as_deref(), args.baseline, &|name| {
        bar.message_owned(name.to_string());
        crate::sim::progress::Progress::advance(&bar, 0);
    });
    let on_broker = broker.as_ref().map(|url| {
        let messages = if args.quick { 2_000 } else { 20_000 };
        crate::sim::lab::bench_broker::run(url, messages, &|name| {
            bar.message_owned(name.to_string());
            crate::sim::progress::Progress::advance(&bar, 0);
        })
    });
    let on_postgres = match (&args.db, args.baseline) {
        (Some(url), true) => {
            bar.message_owned("PostgreSQL drain beside a minimal loop".to_string());
            crate::sim::progress::Progress::advance(&bar, 0);
            Some(crate::sim::lab::bench_pg::run(url, sizes.compare_rows))
        }
        _ => None,
    };
    bar.message_owned("drill start-up".to_string());
    let drill = drill_startup(&dir);
    bar.message_owned("drill --answers, 38 items against 1".to_string());
    let answers = drill_answers_batch(&dir);
    bar.message_owned("verify of the Python reference solution".to_string());
    let verify = verify_python(&dir);
    bar.message_owned("simulate's peak memory and time per order".to_string());
    let memory = memory::figures(&dir, args.quick);
    bar.finish();
    let machine = Machine::now();
    let mut measurements = measurements?;
    measurements.extend(drill?);
    measurements.extend(answers?);
    measurements.extend(verify?);
    measurements.extend(memory?);
    if let Some(figures) = on_postgres {
        measurements.extend(figures?);
    }
    if let Some(figures) = on_broker {
        measurements.extend(figures?);
    }
    if args.json {
        emit_json(&serde_json::json!({
            "schema_version": 1,
            "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
            "quick": args.quick,
            "machine": machine,
            "measurements": measurements,
        }))?;
        return Ok(Outcome::Success);
    }
    let text = render(&measurements, &machine, args.quick, ctx.paint);
    emit(&text)?;
    Ok(Outcome::Success)
}

/// The measurements as a table against their targets, with what makes the figures less than
/// the machine's best: a debug build, the quick sizes, other work on the cores.
fn render(measurements: &[Measurement], machine: &Machine, quick: bool, paint: Paint) -> String {
    let mut table = paint.table(&["measurement", "figure", "target", ""]);
    for m in measurements {
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
            (false, _) => comfy_table::Cell::new(""),
            (true, true) => paint.good_cell("meets"),
            (true, false) => paint.bad_cell("misses"),
        };
        table.add_row(vec![
            comfy_table::Cell::new(&m.description),
            comfy_table::Cell::new(figure(m.value, m.unit)),
            comfy_table::Cell::new(target),
            status,
        ]);
    }
    let mut text = format!("{table}\n");
    if !machine.release_build {
        text.push_str(
            "This is a debug build: the targets are for release (cargo run --release -- bench).\n",
        );
    }
    if quick {
        text.push_str(
            "Quick sizes: run without --quick for the figures the targets are stated for.\n",
        );
    }
    if let Some(note) = crate::ui::busy_note(machine) {
        text.push_str(&note);
        text.push('\n');
    }
    text
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

/// Items in the large answers file: the size of the workshop's answer sheet, which made about
/// 160 fsyncs when each answer was its own transaction.
const BATCH_ITEMS: usize = 38;

/// `msgwork drill --answers FILE` as a whole process, with 38 items (model answers of the built-in
/// pack) and with 1, alternating on one data directory that grows as a learner's does: the
/// larger file must cost at most 1.5 times the smaller, which holds only if recording a file is
/// one commit rather than one per answer.
fn drill_answers_batch(dir: &std::path::Path) -> Result<Vec<Measurement>> {
    let home = dir.join("answers-home");
    let pack = crate::content::builtin()?;
    let write = |name: &str, count: usize| -> Result<(std::path::PathBuf, usize)> {
        let mut sheet = serde_json::Map::new();
        let items = pack.items.iter().take(count);
        let written = items.clone().count();
        for item in items {
            let section = sheet
                .entry(item.section.name())
                .or_insert_with(|| serde_json::json!({}));
            section[item.id.as_str()] = serde_json::Value::String(item.model_answer.clone());
        }
        let path = dir.join(name);
        std::fs::write(&path, serde_json::Value::Object(sheet).to_string())
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok((path, written))
    };
    let (large, items) = write("answers-38.json", BATCH_ITEMS)?;
    let (small, _) = write("answers-1.json", 1)?;
    let exe = std::env::current_exe().context("cannot find the msgwork executable to time")?;
    let time = |file: &std::path::Path| -> Result<f64> {
        let started = std::time::Instant::now();
        let status = std::process::Command::new(&exe)
            .arg("--data-dir")
            .arg(&home)
            .args(["drill", "--json", "--answers"])
            .arg(file)
            .stdout(std::process::Stdio::null())
            .status()
            .context("cannot run msgwork drill --answers")?;
        anyhow::ensure!(
            status.success(),
            "msgwork drill --answers failed while being timed"
        );
        Ok(started.elapsed().as_secs_f64() * 1e3)
    };
    // One of each first, so the store exists and the files are in the page cache.
    time(&small)?;
    time(&large)?;
    let (mut one, mut many) = (Vec::new(), Vec::new());
    for _ in 0..9 {
        one.push(time(&small)?);
        many.push(time(&large)?);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (one, many) = (median(one), median(many));
    let figure = |name, description: String, value| {
        // No target: the ratio below is what is held to one.
        Measurement::new(name, description, value, "ms", f64::NEG_INFINITY, false)
    };
    Ok(vec![
        figure(
            "drill_answers_1_ms",
            "whole process: msgwork drill --answers with 1 item (median of 9)".to_string(),
            one,
        ),
        figure(
            "drill_answers_38_ms",
            format!("whole process: msgwork drill --answers with {items} items (median of 9)"),
            many,
        ),
        Measurement::new(
            "drill_answers_38_to_1_ratio",
            format!("drill --answers: {items} items against 1, recorded in one transaction"),
            many / one,
            "×",
            1.5,
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
        broker: None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::ColorChoice;

    fn measurements() -> Vec<Measurement> {
        vec![
            Measurement::new("a", "fast one".to_string(), 3.0, "ms", 10.0, true),
            Measurement::new("b", "slow one".to_string(), 30.0, "ms", 10.0, true),
        ]
    }

    #[test]
    fn a_busy_machine_is_said_and_a_quiet_one_is_not() {
        let busy = Machine {
            cores: 2,
            load_average: Some(6.5),
            release_build: true,
        };
        let text = render(
            &measurements(),
            &busy,
            false,
            Paint::new(ColorChoice::Never),
        );
        assert!(
            text.contains("The machine was busy (load 6.5 on 2 cores)"),
            "{text}"
        );
        let quiet = Machine {
            load_average: Some(0.4),
            ..busy.clone()
        };
        let text = render(
            &measurements(),
            &quiet,
            false,
            Paint::new(ColorChoice::Never),
        );
        assert!(!text.contains("busy"), "{text}");
        let unknown = Machine {
            load_average: None,
            ..busy
        };
        let text = render(
            &measurements(),
            &unknown,
            false,
            Paint::new(ColorChoice::Never),
        );
        assert!(!text.contains("busy"), "{text}");
    }

    #[test]
    fn coloured_verdicts_keep_the_table_s_columns_even() {
        let machine = Machine {
            cores: 2,
            load_average: None,
            release_build: true,
        };
        let text = render(
            &measurements(),
            &machine,
            false,
            Paint::new(ColorChoice::Always),
        );
        assert!(text.contains('\x1b'), "colour was not on: {text}");
        let plain = crate::ui::strip_ansi(&text);
        let widths: Vec<usize> = plain
            .lines()
            .filter(|l| l.starts_with(['┌', '│', '╞', '└']))
            .map(|l| l.chars().count())
            .collect();
        assert!(
            widths.len() > 3 && widths.iter().all(|w| *w == widths[0]),
            "{plain}"
        );
    }
}
