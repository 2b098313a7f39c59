//! `msgwork content check`: validate a content pack and say exactly what is wrong.

use std::path::Path;

use anyhow::Result;

use super::context::{Context, emit, emit_json};
use crate::Outcome;
use crate::cli::ContentCommand;
use crate::content::{self, Pack, PackError, Source};

pub fn run(command: &ContentCommand, ctx: &Context) -> Result<Outcome> {
    let ContentCommand::Check {
        dir,
        allow_override,
        json,
    } = command;
    let (name, result) = match dir {
        Some(dir) => (dir.display().to_string(), against_builtin(dir)),
        None => (
            "the built-in pack".to_string(),
            content::builtin().map(|pack| (pack, Vec::new())),
        ),
    };
    // Redefined built-in ids are problems unless --override says they are meant.
    let result = match result {
        Ok((_, overrides)) if !overrides.is_empty() && !allow_override => {
            Err(PackError::sorted(overrides))
        }
        other => other,
    };
    let paint = ctx.paint;
    match result {
        Ok((pack, overrides)) => {
            if *json {
                emit_json(&serde_json::json!({
                    "schema_version": 1,
                    "ok": true,
                    "problems": [],
                    "overrides": overrides,
                    "counts": counts(&pack),
                }))?;
            } else {
                let mut text = String::new();
                for o in &overrides {
                    text.push_str(&format!(
                        "{} {}:{}: {}\n",
                        paint.bold("override:"),
                        o.file,
                        o.line,
                        o.message
                    ));
                }
                text.push_str(&format!(
                    "{} {name}: {} scenarios, {} drill items, {} misconceptions, no problems{}.\n",
                    paint.good("ok"),
                    pack.scenarios.len(),
                    pack.items.len(),
                    pack.misconceptions.len(),
                    if overrides.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; {} built-in id(s) replaced on purpose (--override)",
                            overrides.len()
                        )
                    }
                ));
                emit(&text)?;
            }
            Ok(Outcome::Success)
        }
        Err(PackError { problems }) => {
            if let Some(not_a_pack) = problems
                .iter()
                .find(|p| p.kind == content::ProblemKind::NotAPack)
            {
                anyhow::bail!("{not_a_pack}");
            }
            if *json {
                emit_json(&serde_json::json!({
                    "schema_version": 1,
                    "ok": false,
                    "problems": problems,
                }))?;
            } else {
                let mut text = String::new();
                for p in &problems {
                    let place = if p.line > 0 {
                        format!("{}:{}:{}", p.file, p.line, p.column)
                    } else {
                        p.file.clone()
                    };
                    text.push_str(
                        &format!(
                            "{} {} [{}]\n    {}\n    fix: {}\n",
                            paint.bold(&place),
                            p.message,
                            serde_json::to_value(p.kind)?.as_str().unwrap_or(""),
                            "",
                            p.fix
                        )
                        .replace("\n    \n", "\n"),
                    );
                }
                let files: std::collections::BTreeSet<&str> =
                    problems.iter().map(|p| p.file.as_str()).collect();
                text.push_str(&format!(
                    "{} {} problem(s) in {} file(s) of {name}.\n",
                    paint.bad("failed:"),
                    problems.len(),
                    files.len()
                ));
                emit(&text)?;
            }
            Ok(Outcome::CheckFailed)
        }
    }
}

fn counts(pack: &Pack) -> serde_json::Value {
    serde_json::json!({
        "scenarios": pack.scenarios.len(),
        "items": pack.items.len(),
        "misconceptions": pack.misconceptions.len(),
    })
}

/// An instructor's pack, with the built-in ids it defines again; its own problems, and those
/// ids too when the pack has problems of its own, as the error.
fn against_builtin(dir: &Path) -> Result<(Pack, Vec<content::Problem>), PackError> {
    let content::PackFiles { files, problems } = content::read_dir(dir)?;
    let builtin = content::builtin().map_err(|err| PackError::sorted(err.problems))?;
    match checked(&files, problems) {
        Ok(pack) => {
            let overrides = content::overrides(&files, &pack, &builtin);
            Ok((pack, overrides))
        }
        Err(err) => Err(err),
    }
}

/// Loads an instructor's pack, with every problem in reading and checking it. A pack without a
/// misconception catalogue of its own may name the built-in misconceptions.
pub fn load_pack_dir(dir: &Path) -> Result<Pack, PackError> {
    let content::PackFiles { files, problems } = content::read_dir(dir)?;
    checked(&files, problems)
}

/// The pack in `files`, or every problem met reading (`problems`) and checking it.
fn checked(files: &[(String, String)], problems: Vec<content::Problem>) -> Result<Pack, PackError> {
    let mut sources: Vec<Source<'_>> = files
        .iter()
        .map(|(name, text)| Source {
            name: name.clone(),
            text,
        })
        .collect();
    let has_catalogue = files
        .iter()
        .any(|(_, text)| text.contains("[[misconception]]"));
    if !has_catalogue && let Some(catalogue) = content::builtin_source("drills/misconceptions.toml")
    {
        sources.push(catalogue);
    }
    match content::parse_pack(&sources) {
        Ok(pack) if problems.is_empty() => Ok(pack),
        Ok(_) => Err(PackError::sorted(problems)),
        Err(checked) => Err(PackError::sorted(
            problems.into_iter().chain(checked.problems).collect(),
        )),
    }
}
