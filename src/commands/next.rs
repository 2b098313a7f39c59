//! `msgwork next`: the one thing to do now and why, from the learner's own records, with the
//! command to run (keeping the data directory in use) and what comes after it.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use super::context::{Context, emit, emit_json};
use crate::Outcome;
use crate::evidence::{self, next::Step};

pub fn run(json: bool, ctx: &Context) -> Result<Outcome> {
    let store = ctx.open_store()?;
    let items = evidence::assess(&store)?;
    let cards = crate::drill::cards(&store.history()?);
    let now = crate::drill::now();
    let due = cards.values().filter(|c| c.due <= now).count();
    let mut plan = evidence::next::next(&items, due);
    let dir = explicit_data_dir(ctx);
    for step in plan.now.iter_mut().chain(plan.then.iter_mut()) {
        step.command = step
            .command
            .take()
            .map(|c| keep_data_dir(&c, dir.as_deref()));
    }
    if json {
        emit_json(&serde_json::json!({
            "schema_version": 1,
            "now": plan.now,
            "then": plan.then,
            "done": plan.done,
            "required": plan.required,
            "due_reviews": plan.due_reviews,
        }))?;
        return Ok(Outcome::Success);
    }
    let paint = ctx.paint;
    let mut out = String::new();
    match &plan.now {
        Some(step) => {
            let _ = writeln!(out, "{} {}", paint.bold("Next:"), step.title);
            let _ = writeln!(out, "{}", crate::ui::wrap(step.why, 96, "  "));
            if let Some(command) = &step.command {
                let _ = writeln!(out, "\n  {}", paint.good(command));
            }
        }
        None => {
            let _ = writeln!(
                out,
                "{} every item is proven. Hand `msgwork report` to your instructor.",
                paint.good("Done:")
            );
        }
    }
    if !plan.then.is_empty() {
        let _ = writeln!(out, "\n{}", paint.bold("After that:"));
        for step in &plan.then {
            let _ = writeln!(out, "  - {}{}", step.title, optional(step));
        }
    }
    let _ = writeln!(
        out,
        "\n{} of {} required items proven ({}){}.",
        plan.done,
        plan.required,
        keep_data_dir("msgwork evidence", dir.as_deref()),
        if plan.due_reviews > 0 {
            format!(
                "; {} due for review ({})",
                crate::ui::plural(plan.due_reviews as u64, "drill item", "drill items"),
                keep_data_dir("msgwork drill --due", dir.as_deref())
            )
        } else {
            String::new()
        }
    );
    emit(&out)?;
    Ok(Outcome::Success)
}

fn optional(step: &Step) -> &'static str {
    if step.required { "" } else { " (optional)" }
}

/// The data directory the learner named with `--data-dir`, which a suggested command must name
/// too; one set by `MSGWORK_HOME` stays in their environment and need not be repeated.
fn explicit_data_dir(ctx: &Context) -> Option<String> {
    let dir = ctx.data_dir.as_ref()?;
    let from_env = std::env::var_os("MSGWORK_HOME").is_some_and(|env| Path::new(&env) == dir);
    (!from_env).then(|| dir.to_string_lossy().into_owned())
}

/// `msgwork X …` as `msgwork --data-dir DIR X …` when a data directory must be kept.
pub(super) fn keep_data_dir(command: &str, dir: Option<&str>) -> String {
    match (dir, command.strip_prefix("msgwork ")) {
        (Some(dir), Some(rest)) => {
            format!(
                "msgwork --data-dir {} {rest}",
                super::replay::shell_word(dir)
            )
        }
        _ => command.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_data_dir_travels_with_the_command() {
        assert_eq!(
            keep_data_dir("msgwork simulate --crash", Some("/tmp/my data")),
            "msgwork --data-dir '/tmp/my data' simulate --crash"
        );
        assert_eq!(keep_data_dir("msgwork drill", None), "msgwork drill");
    }
}
