//! `msgwork next`: the one thing to do now and why, from the learner's own records, with the
//! command to run (keeping the data directory in use) and what comes after it.

use anyhow::Result;
use std::fmt::Write as _;

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
    // A drill stopped part-way comes first: its answers are kept and it carries on where it was.
    if store.unfinished_session()?.is_some() {
        let stopped = Step {
            id: "resume",
            title: "Continue the drill session you stopped",
            required: false,
            command: Some("msgwork drill --resume".to_string()),
            why: "Your answers so far are saved; the session carries on at the item where you stopped.",
        };
        if let Some(now) = plan.now.replace(stopped) {
            plan.then.insert(0, now);
            plan.then.truncate(2);
        }
    }
    for step in plan.now.iter_mut().chain(plan.then.iter_mut()) {
        step.command = step.command.take().map(|c| ctx.suggest(&c));
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
        ctx.suggest("msgwork evidence"),
        if plan.due_reviews > 0 {
            format!(
                "; {} due for review ({})",
                crate::ui::plural(plan.due_reviews as u64, "drill item", "drill items"),
                ctx.suggest("msgwork drill --due")
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
