//! Spaced repetition with SM-2, derived from the answer history rather than stored beside it:
//! right is Good, partial is Hard, wrong is Again.

use std::collections::BTreeMap;

use crate::grade::Verdict;
use crate::store::Past;

const DAY: i64 = 86_400;

/// Where an item stands for review.
#[derive(Clone, Debug, PartialEq)]
pub struct Card {
    /// Correct-enough answers in a row.
    pub reps: u32,
    pub ease: f64,
    pub interval_days: f64,
    pub lapses: u32,
    pub last_verdict: Verdict,
    pub last_at: i64,
    /// When it is next due, unix seconds.
    pub due: i64,
}

/// SM-2's quality for a verdict.
fn quality(verdict: Verdict) -> f64 {
    match verdict {
        Verdict::Correct => 4.0,
        Verdict::Partial => 3.0,
        Verdict::Incorrect => 1.0,
    }
}

/// Replays an item's answers (verdict, unix seconds), oldest first, into its review card.
pub fn replay(history: impl IntoIterator<Item = (Verdict, i64)>) -> Option<Card> {
    let mut card: Option<Card> = None;
    for (verdict, at) in history {
        let mut c = card.unwrap_or(Card {
            reps: 0,
            ease: 2.5,
            interval_days: 0.0,
            lapses: 0,
            last_verdict: verdict,
            last_at: at,
            due: at,
        });
        let q = quality(verdict);
        if q >= 3.0 {
            c.interval_days = match c.reps {
                0 => 1.0,
                1 => 6.0,
                _ => (c.interval_days * c.ease).round(),
            };
            c.reps += 1;
        } else {
            c.reps = 0;
            c.lapses += 1;
            c.interval_days = 1.0;
        }
        c.ease = (c.ease + 0.1 - (5.0 - q) * (0.08 + (5.0 - q) * 0.02)).max(1.3);
        c.last_verdict = verdict;
        c.last_at = at;
        c.due = at + (c.interval_days * DAY as f64) as i64;
        card = Some(c);
    }
    card
}

/// The verdict that counts for review: the learner's own when they overruled the grader.
pub fn effective(past: &Past) -> Verdict {
    match past.self_verdict.as_deref().unwrap_or(&past.verdict) {
        "correct" => Verdict::Correct,
        "partial" => Verdict::Partial,
        _ => Verdict::Incorrect,
    }
}

/// Each answered item's review card, by id.
pub fn cards(history: &[Past]) -> BTreeMap<String, Card> {
    let mut by_item: BTreeMap<String, Vec<(Verdict, i64)>> = Default::default();
    for past in history {
        by_item
            .entry(past.item_id.clone())
            .or_default()
            .push((effective(past), past.at));
    }
    by_item
        .into_iter()
        .filter_map(|(id, answers)| replay(answers).map(|card| (id, card)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_answers_space_out_and_a_wrong_one_starts_over() {
        let t0 = 1_700_000_000;
        let c = replay([(Verdict::Correct, t0)]).unwrap();
        assert_eq!((c.reps, c.due), (1, t0 + DAY));
        let c = replay([(Verdict::Correct, t0), (Verdict::Correct, t0 + DAY)]).unwrap();
        assert_eq!(c.due, t0 + DAY + 6 * DAY);
        let c = replay([
            (Verdict::Correct, t0),
            (Verdict::Correct, t0 + DAY),
            (Verdict::Correct, t0 + 7 * DAY),
        ])
        .unwrap();
        assert!(c.interval_days > 6.0);
        let c = replay([(Verdict::Correct, t0), (Verdict::Incorrect, t0 + DAY)]).unwrap();
        assert_eq!((c.reps, c.lapses, c.due), (0, 1, t0 + 2 * DAY));
        assert!(c.ease < 2.5);
        assert!(replay([]).is_none());
    }
}
