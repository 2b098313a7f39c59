//! `msgwork bench`: the crash lab measured against its targets.

use anyhow::{Context as _, Result};

use super::{Context, emit, emit_json};
use crate::Outcome;
use crate::cli::BenchArgs;
use crate::sim::bench::{self, Sizes};
use crate::ui::{Bar, Verdict};

pub fn run(args: &BenchArgs, ctx: &Context) -> Result<Outcome> {
    let sizes = if args.quick {
        Sizes::QUICK
    } else {
        Sizes::FULL
    };
    let dir = tempfile::Builder::new()
        .prefix("msgwork-bench-")
        .tempdir()
        .context("cannot create a temporary directory for the benchmark databases")?;
    let bar = Bar::new(5, "measurements", !args.json);
    let measurements = bench::run(sizes, dir.path(), &|name| {
        bar.message_owned(name.to_string());
        crate::sim::observer::Progress::advance(&bar, 0);
    });
    bar.finish();
    let measurements = measurements?;
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

fn figure(value: f64, unit: &str) -> String {
    if value >= 1000.0 {
        format!("{:.0} {unit}", value)
    } else if value >= 10.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.2} {unit}")
    }
}
