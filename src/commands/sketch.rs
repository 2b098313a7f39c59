//! `msgwork sketch check`: the learner's outbox design, checked item by item.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde_json::json;

use super::context::{Context, emit, emit_json};
use crate::Outcome;
use crate::sketch::{self, Status};

pub fn check(file: &Path, as_json: bool, ctx: &Context) -> Result<Outcome> {
    let crate::userfile::Text { name, text: sql } = sketch::read(file)?;
    if sql.trim().is_empty() {
        anyhow::bail!(
            "{name} is empty; write the outbox DDL, the write transaction, the relay and the consumer's dedupe"
        );
    }
    let report = sketch::check(&sql);
    let recorder = ctx.recorder()?;
    // The fingerprint lets evidence tell the learner's own sketch from a copy of a shipped one.
    let recorded = json!({"file": name, "fingerprint": crate::evidence::fingerprint::sql(&sql)});
    let run = recorder.record("sketch-check", None, &recorded, &report);
    if as_json {
        let mut v = serde_json::to_value(&report)?;
        v["schema_version"] = json!(1);
        emit_json(&v)?;
    } else {
        let paint = ctx.paint;
        let mut out = format!(
            "{} {name} ({})\n\n",
            paint.bold("Outbox sketch:"),
            report.dialect
        );
        for p in &report.parse_problems {
            let _ = writeln!(
                out,
                "  {} {name}:{}:{}: {}",
                paint.dim("could not parse"),
                p.line,
                p.column,
                p.message
            );
        }
        if !report.parse_problems.is_empty() {
            out.push('\n');
        }
        for item in &report.items {
            let mark = match item.status {
                Status::Ok => paint.good("ok     "),
                Status::Missing => paint.bad("missing"),
                Status::Wrong => paint.bad("wrong  "),
                Status::NotJudged => paint.dim("not judged"),
            };
            let _ = writeln!(out, "  {mark} {}: {}", paint.bold(item.id), item.message);
        }
        let _ = writeln!(
            out,
            "\n{}{}",
            if report.passed {
                paint.good("Passed.")
            } else {
                paint.bad("Not yet: fix the items marked missing or wrong.")
            },
            run.map(|run| paint.dim(&format!(" Recorded as run {run}.")))
                .unwrap_or_default()
        );
        emit(&out)?;
    }
    Ok(if report.passed {
        Outcome::Success
    } else {
        Outcome::CheckFailed
    })
}

/// The BookingService skeleton, compiled into the binary, to standard output or a new file.
pub fn template(output: Option<&std::path::Path>, ctx: &Context) -> Result<Outcome> {
    const PATH: &str = "fixtures/templates/booking-outbox.sql";
    let text = crate::evidence::samples::shipped_file(PATH)
        .ok_or_else(|| anyhow::anyhow!("this msgwork was built without its sketch template"))?;
    match output {
        Some(path) => {
            if path.symlink_metadata().is_ok() {
                anyhow::bail!(
                    "{} already exists, and msgwork never writes over a sketch: name a new file",
                    path.display()
                );
            }
            ctx.outputs(false)?
                .write_file(path, "the sketch template", text)?;
            eprintln!(
                "Wrote {}. Fill in each TODO, then: {}",
                path.display(),
                ctx.suggest(&format!(
                    "msgwork sketch check {}",
                    super::replay::shell_word(&path.to_string_lossy())
                ))
            );
        }
        None => emit(text)?,
    }
    Ok(Outcome::Success)
}
