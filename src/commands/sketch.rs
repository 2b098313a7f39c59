//! `msgwork sketch check`: the learner's outbox design, checked item by item.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde_json::json;

use super::context::{Context, emit, emit_json};
use crate::Outcome;
use crate::cli::{SketchDialect, SketchPart};
use crate::sketch::{self, Status};

/// The run kind a schema review is recorded under, apart from a whole sketch's `sketch-check`, so
/// it never counts as evidence of a full design.
pub const SCHEMA_REVIEW_KIND: &str = "sketch-schema-review";

pub fn check(
    file: &Path,
    dialect: Option<SketchDialect>,
    only: Option<SketchPart>,
    as_json: bool,
    ctx: &Context,
) -> Result<Outcome> {
    let options = sketch::Options {
        dialect: dialect.map(|d| match d {
            SketchDialect::Postgres => sketch::Dialect::Postgres,
            SketchDialect::Mysql => sketch::Dialect::Mysql,
            SketchDialect::Sqlite => sketch::Dialect::Sqlite,
        }),
        schema_only: only == Some(SketchPart::Ddl),
    };
    let crate::userfile::Text { name, text: sql } = sketch::read(file)?;
    if sql.trim().is_empty() {
        anyhow::bail!(
            "{name} is empty; write the outbox DDL, the write transaction, the relay and the consumer's dedupe"
        );
    }
    let report = sketch::check_with(&sql, &options);
    let recorder = ctx.recorder()?;
    // The fingerprint lets evidence tell the learner's own sketch from a copy of a shipped one.
    let recorded = json!({"file": name, "fingerprint": crate::evidence::fingerprint::sql(&sql)});
    let kind = if options.schema_only {
        SCHEMA_REVIEW_KIND
    } else {
        "sketch-check"
    };
    let run = recorder.record(kind, None, &recorded, &report);
    if as_json {
        let mut v = serde_json::to_value(&report)?;
        v["schema_version"] = json!(1);
        emit_json(&v)?;
    } else {
        let paint = ctx.paint;
        let mut out = format!(
            "{} {name} ({}, {})\n\n",
            paint.bold(if options.schema_only {
                "Outbox schema review:"
            } else {
                "Outbox sketch:"
            }),
            report.dialect,
            report.dialect_reason
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
            } else if unjudged_only(&report, true) {
                paint.bad(
                    "Not a whole sketch: the file holds only the schema. Review it alone with \
                     --only ddl, or add the write transaction, the relay and the consumer.",
                )
            } else if unjudged_only(&report, false) {
                paint.bad(
                    "Not passed: the items marked not judged could not be judged here; each \
                     says why and what would let it be.",
                )
            } else if options.schema_only {
                paint.bad("Not yet: fix the schema items marked missing or wrong.")
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

/// Whether every required item that keeps the sketch from passing is one that could not be
/// judged, and with `schema_alone`, one the file does not hold because it is schema alone.
fn unjudged_only(report: &sketch::SketchReport, schema_alone: bool) -> bool {
    report
        .items
        .iter()
        .filter(|i| i.required && i.status != Status::Ok)
        .all(|i| {
            i.status == Status::NotJudged
                && (!schema_alone || i.facts.get("file").is_some_and(|f| f == "ddl-only"))
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
