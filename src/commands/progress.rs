//! `msgwork progress`: mastery per section, each answered item's FSRS stability and when it
//! returns, and a chart of mastery over time (in the terminal, and as SVG with `--plot`).

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::context::{Context, emit, emit_json};
use crate::Outcome;
use crate::content::{self, Section};
use crate::drill::{self, review::Card, review::DayMastery};
use crate::grade::Verdict;
use crate::ui::plot::{self, LineChart};

const DAY: i64 = 86_400;

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
    /// Days until the chance of recall falls to 90 %.
    stability_days: f64,
    /// FSRS difficulty, 1 to 10.
    difficulty: f64,
    /// The chance of recalling it now, 0 to 1.
    recall_now: f64,
    due_at: i64,
    /// The UTC date it returns, YYYY-MM-DD.
    due_date: String,
    /// Whole days until it returns, rounded up; 0 when it is due.
    due_in_days: i64,
    due: bool,
}

/// One day of the mastery chart, as `--json` gives it.
#[derive(Serialize)]
struct MasteryPoint {
    date: String,
    #[serde(flatten)]
    day: DayMastery,
}

/// The UTC date of a unix time, YYYY-MM-DD.
fn date(unix_seconds: i64) -> String {
    crate::sim::model::rfc3339_utc(unix_seconds)[..10].to_string()
}

/// A figure to three decimals: FSRS computes in single precision, and more digits are noise.
fn thousandths(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// Whole days from `now` until `due`, rounded up: 0 when it is due.
fn days_until(due: i64, now: i64) -> i64 {
    ((due - now).max(0) as u64).div_ceil(DAY as u64) as i64
}

/// When an item returns, in words: "due now", or its date and "in N days".
fn returns(item: &ItemProgress) -> String {
    if item.due {
        return "due now".to_string();
    }
    let days = crate::ui::plural(item.due_in_days as u64, "day", "days");
    format!("{} (in {days})", item.due_date)
}

pub fn run(json: bool, plot_file: Option<&Path>, force: bool, ctx: &Context) -> Result<Outcome> {
    if let Some(path) = plot_file {
        plot::check_svg_path(path)?;
        ctx.outputs(force)?.check_file(path, "the chart")?;
    }
    let pack = content::builtin()?;
    let store = ctx.open_store()?;
    let history = store.history()?;
    let cards = drill::cards(&history);
    let now = drill::now();
    let mastery = drill::review::mastery_over_time(&history, now);
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
                stability_days: thousandths(c.stability),
                difficulty: thousandths(c.difficulty),
                recall_now: thousandths(c.recall_at(now)),
                due_at: c.due,
                due_date: date(c.due),
                due_in_days: days_until(c.due, now),
                due: c.due <= now,
            })
        })
        .collect();
    let chart = chart(&mastery, now);
    if let Some(path) = plot_file {
        chart.save(path)?;
    }
    if json {
        let mastery: Vec<MasteryPoint> = mastery
            .into_iter()
            .map(|day| MasteryPoint {
                date: date(day.at),
                day: DayMastery {
                    expected_recall: thousandths(day.expected_recall),
                    ..day
                },
            })
            .collect();
        emit_json(&serde_json::json!({
            "schema_version": 1,
            "sections": sections,
            "items": items,
            "mastery": mastery,
            "plot": plot_file.map(|p| p.display().to_string()),
        }))?;
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
    if !items.is_empty() {
        let mut table = paint.table(&["item", "last answer", "stability", "recall now", "returns"]);
        for i in &items {
            table.add_row(vec![
                i.id.clone(),
                i.last_verdict.name().to_string(),
                stability_text(i.stability_days),
                format!("{:.0}%", i.recall_now * 100.0),
                returns(i),
            ]);
        }
        // A chart of one day is a dot: it starts to say something on the second day.
        let days: std::collections::BTreeSet<i64> = mastery
            .iter()
            .map(|d| (d.at - now).div_euclid(DAY))
            .collect();
        let drawn = if days.len() >= 2 {
            chart.terminal(paint)
        } else {
            "The mastery chart starts once you have answered on two different days.\n".to_string()
        };
        text.push_str(&format!(
            "\n{table}\nStability: days until your chance of recall falls to 90 %, when the item returns.\n\n{drawn}"
        ));
        if let Some(path) = plot_file {
            text.push_str(&format!("Chart written to {}\n", path.display()));
        }
        text.push('\n');
    }
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

/// A stability as people read it: days, or hours while it is under a day.
fn stability_text(days: f64) -> String {
    let hours = days * 24.0;
    if days >= 1.0 {
        format!("{days:.1} d")
    } else if hours >= 1.0 {
        format!("{hours:.0} h")
    } else {
        "under 1 h".to_string()
    }
}

/// Mastery by day, against days before today: items whose latest answer was right, and how many
/// FSRS expected the learner to recall.
fn chart(mastery: &[DayMastery], now: i64) -> LineChart {
    let x = |d: &DayMastery| ((d.at - now) as f64 / DAY as f64).round();
    LineChart::new("Mastery over time", "days before today", "items")
        .series(
            "mastered (last answer right)",
            mastery.iter().map(|d| (x(d), d.mastered as f64)),
        )
        .series(
            "expected recall (FSRS)",
            mastery.iter().map(|d| (x(d), d.expected_recall)),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_until_rounds_up_and_never_goes_negative() {
        assert_eq!(days_until(100, 100), 0);
        assert_eq!(days_until(50, 100), 0);
        assert_eq!(days_until(101, 100), 1);
        assert_eq!(days_until(100 + DAY, 100), 1);
        assert_eq!(days_until(100 + DAY + 1, 100), 2);
        assert_eq!(date(1_800_000_000), "2027-01-15");
    }

    #[test]
    fn stability_under_a_day_reads_in_hours() {
        assert_eq!(stability_text(3.25), "3.2 d");
        assert_eq!(stability_text(1.0), "1.0 d");
        assert_eq!(stability_text(0.5), "12 h");
        assert_eq!(stability_text(0.01), "under 1 h");
    }
}
