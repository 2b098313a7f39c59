//! `msgwork progress`: mastery per section and what spaced repetition says is due.

use anyhow::Result;
use serde::Serialize;

use super::context::{Context, emit, emit_json};
use crate::Outcome;
use crate::content::{self, Section};
use crate::drill::{self, review::Card};
use crate::grade::Verdict;

#[derive(Serialize)]
struct SectionProgress {
    section: Section,
    items: usize,
    answered: usize,
    /// Items whose latest answer (or the learner's own verdict on it) is correct.
    mastered: usize,
    due: usize,
}

#[derive(Serialize)]
struct ItemProgress {
    id: String,
    section: Section,
    last_verdict: Verdict,
    streak: u32,
    due_at: i64,
    due: bool,
}

pub fn run(json: bool, ctx: &Context) -> Result<Outcome> {
    let pack = content::builtin()?;
    let store = ctx.open_store()?;
    let cards = drill::cards(&store.history()?);
    let now = drill::now();
    let entries = drill::entries(&pack);
    let mut sections = Vec::new();
    for section in Section::ALL {
        let ids: Vec<&str> = entries
            .iter()
            .filter(|e| e.section() == section)
            .map(|e| e.id())
            .collect();
        let of = |pick: &dyn Fn(&Card) -> bool| {
            ids.iter()
                .filter(|id| cards.get(**id).is_some_and(pick))
                .count()
        };
        sections.push(SectionProgress {
            section,
            items: ids.len(),
            answered: of(&|_| true),
            mastered: of(&|c| c.last_verdict == Verdict::Correct),
            due: of(&|c| c.due <= now),
        });
    }
    let items: Vec<ItemProgress> = entries
        .iter()
        .filter_map(|e| {
            let c = cards.get(e.id())?;
            Some(ItemProgress {
                id: e.id().to_string(),
                section: e.section(),
                last_verdict: c.last_verdict,
                streak: c.reps,
                due_at: c.due,
                due: c.due <= now,
            })
        })
        .collect();
    if json {
        emit_json(&serde_json::json!({"schema_version": 1, "sections": sections, "items": items}))?;
        return Ok(Outcome::Success);
    }
    let paint = ctx.paint;
    let mut table = paint.table(&["section", "items", "answered", "mastered", "due now"]);
    for s in &sections {
        table.add_row(vec![
            s.section.name().to_string(),
            s.items.to_string(),
            s.answered.to_string(),
            format!(
                "{} ({:.0}%)",
                s.mastered,
                s.mastered as f64 / s.items.max(1) as f64 * 100.0
            ),
            s.due.to_string(),
        ]);
    }
    let mut text = format!("{table}\n");
    let due: Vec<&str> = items
        .iter()
        .filter(|i| i.due)
        .map(|i| i.id.as_str())
        .collect();
    if items.is_empty() {
        text.push_str("No drill answered yet: start with `msgwork drill`.\n");
    } else if due.is_empty() {
        if let Some(next) = items.iter().min_by_key(|i| i.due_at) {
            text.push_str(&format!(
                "Nothing is due now; {} comes back in {}.\n",
                next.id,
                super::drill::humanize(next.due_at - now)
            ));
        }
    } else {
        text.push_str(&format!(
            "{} {}\n{} msgwork drill --due\n",
            paint.bold("Due for review:"),
            due.join(", "),
            paint.dim("Play them with:")
        ));
    }
    emit(&text)?;
    Ok(Outcome::Success)
}
