//! Spaced review with FSRS (the `fsrs` crate, default parameters), derived from the answer
//! history rather than stored beside it: each item's memory state is replayed from its answers,
//! starting from the state converted from SM-2 for items answered before FSRS.

use std::collections::BTreeMap;

use fsrs::{FSRS, MemoryState};

use crate::grade::Verdict;
use crate::store::{History, Past, Seed};

const DAY: i64 = 86_400;

/// The chance of recall an item is brought back at: FSRS's usual target.
pub const DESIRED_RETENTION: f32 = 0.9;

/// The longest an item stays away, in days: FSRS's own ceiling on stability.
const MAX_INTERVAL_DAYS: f32 = 36_500.0;

/// The FSRS rating of a grader's outcome, the one place grades become ratings: correct is Good,
/// partial is Hard, incorrect is Again. Easy is never given, since a grader cannot tell an
/// effortless right answer from a laboured one.
pub fn rating(verdict: Verdict) -> Rating {
    match verdict {
        Verdict::Correct => Rating::Good,
        Verdict::Partial => Rating::Hard,
        Verdict::Incorrect => Rating::Again,
    }
}

/// FSRS's four answer buttons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rating {
    Again,
    Hard,
    Good,
    Easy,
}

impl Rating {
    /// The memory state and interval FSRS gives this rating.
    fn pick(self, next: fsrs::NextStates) -> fsrs::ItemState {
        match self {
            Rating::Again => next.again,
            Rating::Hard => next.hard,
            Rating::Good => next.good,
            Rating::Easy => next.easy,
        }
    }
}

/// Where an item stands for review.
#[derive(Clone, Debug, PartialEq)]
pub struct Card {
    /// Days until the chance of recall falls to 90 %.
    pub stability: f64,
    /// FSRS difficulty, 1 (easy) to 10 (hard).
    pub difficulty: f64,
    /// Correct-enough answers in a row.
    pub reps: u32,
    /// Wrong answers so far.
    pub lapses: u32,
    pub last_verdict: Verdict,
    pub last_at: i64,
    /// When it is next due, unix seconds.
    pub due: i64,
}

impl Card {
    /// The chance, 0 to 1, that the item is recalled at `at` (unix seconds), by FSRS's
    /// forgetting curve.
    pub fn recall_at(&self, at: i64) -> f64 {
        recall(self.stability, self.difficulty, at - self.last_at)
    }
}

/// The chance of recall `elapsed` seconds after a review that left this memory state.
fn recall(stability: f64, difficulty: f64, elapsed: i64) -> f64 {
    let state = MemoryState {
        stability: stability as f32,
        difficulty: difficulty as f32,
    };
    let days = elapsed.max(0) as f32 / DAY as f32;
    f64::from(fsrs::current_retrievability(
        state,
        days,
        fsrs::FSRS6_DEFAULT_DECAY,
    ))
}

/// The verdict that counts for review: the learner's own when they overruled the grader.
pub fn effective(past: &Past) -> Verdict {
    match past.self_verdict.as_deref().unwrap_or(&past.verdict) {
        "correct" => Verdict::Correct,
        "partial" => Verdict::Partial,
        _ => Verdict::Incorrect,
    }
}

/// One answer replayed: the verdict, and the memory state after it (`None` for answers SM-2
/// scheduled before the item's seed).
#[derive(Clone, Debug)]
struct Step {
    at: i64,
    verdict: Verdict,
    memory: Option<MemoryState>,
    due: i64,
}

/// When an item reviewed at `at` is due, `interval` days later: whole days, at least one.
fn due_after(at: i64, interval: f32) -> i64 {
    let days = if interval.is_finite() {
        interval.round().clamp(1.0, MAX_INTERVAL_DAYS)
    } else {
        1.0
    };
    at.saturating_add(days as i64 * DAY)
}

/// A seed usable as a memory state: one damaged by hand is ignored, and the item's answers are
/// then replayed from the first.
fn seed_state(seed: &Seed) -> Option<MemoryState> {
    let usable = |v: f64, lo: f64, hi: f64| v.is_finite() && (lo..=hi).contains(&v);
    (usable(seed.stability, 0.001, f64::from(MAX_INTERVAL_DAYS))
        && usable(seed.difficulty, 1.0, 10.0))
    .then_some(MemoryState {
        stability: seed.stability as f32,
        difficulty: seed.difficulty as f32,
    })
}

/// Replays one item's answers, oldest first, through FSRS, starting from its seed if it has one.
fn replay(fsrs: &FSRS, answers: &[&Past], seed: Option<&Seed>) -> Vec<Step> {
    let seed = seed.and_then(|s| seed_state(s).map(|state| (s, state)));
    let mut steps = Vec::with_capacity(answers.len());
    // The state of the last review and when it was.
    let mut last: Option<(MemoryState, i64)> = None;
    for past in answers {
        let verdict = effective(past);
        if let Some((seed, state)) = seed
            && past.id <= seed.last_answer
        {
            let is_last = past.id == seed.last_answer;
            steps.push(Step {
                at: past.at,
                verdict,
                memory: is_last.then_some(state),
                due: past.at,
            });
            continue;
        }
        if last.is_none()
            && let Some((seed, state)) = seed
        {
            last = Some((state, seed.reviewed_at));
        }
        let elapsed = last.map_or(0, |(_, at)| (past.at - at).max(0) / DAY);
        let days = u32::try_from(elapsed).unwrap_or(u32::MAX);
        let next = fsrs
            .next_states(last.map(|(s, _)| s), DESIRED_RETENTION, days)
            .or_else(|_| fsrs.next_states(None, DESIRED_RETENTION, 0));
        let Ok(next) = next else {
            continue;
        };
        let item = rating(verdict).pick(next);
        last = Some((item.memory, past.at));
        steps.push(Step {
            at: past.at,
            verdict,
            memory: Some(item.memory),
            due: due_after(past.at, item.interval),
        });
    }
    // Only SM-2's answers: the item returns when its seed's stability says.
    if let (Some((seed, state)), None) = (seed, last)
        && let Some(step) = steps.last_mut()
    {
        step.memory = Some(state);
        step.at = seed.reviewed_at;
        step.due = due_after(
            seed.reviewed_at,
            fsrs.next_interval(Some(state.stability), DESIRED_RETENTION, 3),
        );
    }
    steps
}

/// The card an item's replayed answers leave.
fn card(steps: &[Step]) -> Option<Card> {
    let last = steps.last()?;
    let memory = last.memory?;
    let mut reps = 0;
    let mut lapses = 0;
    for step in steps {
        if step.verdict == Verdict::Incorrect {
            lapses += 1;
            reps = 0;
        } else {
            reps += 1;
        }
    }
    Some(Card {
        stability: f64::from(memory.stability),
        difficulty: f64::from(memory.difficulty),
        reps,
        lapses,
        last_verdict: last.verdict,
        last_at: last.at,
        due: last.due,
    })
}

/// Each answered item's answers, oldest first, replayed through FSRS.
fn replay_all(history: &History) -> BTreeMap<String, Vec<Step>> {
    let mut by_item: BTreeMap<&str, Vec<&Past>> = BTreeMap::new();
    for past in &history.answers {
        by_item.entry(&past.item_id).or_default().push(past);
    }
    let fsrs = FSRS::default();
    by_item
        .into_iter()
        .map(|(id, answers)| {
            let steps = replay(&fsrs, &answers, history.seeds.get(id));
            (id.to_string(), steps)
        })
        .collect()
}

/// Each answered item's review card, by id.
pub fn cards(history: &History) -> BTreeMap<String, Card> {
    replay_all(history)
        .into_iter()
        .filter_map(|(id, steps)| card(&steps).map(|card| (id, card)))
        .collect()
}

/// Where the learner stood at the end of one day.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DayMastery {
    /// The end of the day (or now, for today), unix seconds.
    pub at: i64,
    /// Items whose latest answer by then was correct.
    pub mastered: usize,
    /// How many items FSRS expected the learner to recall then: the sum of each answered item's
    /// chance of recall. Items answered only under SM-2 count from their conversion.
    pub expected_recall: f64,
}

/// The most days a mastery timeline holds: a longer history is sampled every few days.
const MAX_DAYS: i64 = 366;

/// Mastery at the end of each UTC day from the first answer to `now`.
pub fn mastery_over_time(history: &History, now: i64) -> Vec<DayMastery> {
    let Some(first) = history.answers.iter().map(|p| p.at).min() else {
        return Vec::new();
    };
    let items = replay_all(history);
    let (first_day, today) = (first.div_euclid(DAY), now.div_euclid(DAY));
    let span = (today - first_day).max(0);
    let stride = (span / MAX_DAYS) + 1;
    let mut days: Vec<i64> = (0..=span / stride)
        .map(|i| today - (span / stride - i) * stride)
        .collect();
    days.retain(|d| *d >= first_day);
    days.into_iter()
        .map(|day| {
            let at = ((day + 1) * DAY - 1).min(now);
            let mut point = DayMastery {
                at,
                mastered: 0,
                expected_recall: 0.0,
            };
            for steps in items.values() {
                // Answers are in the order they were recorded; a clock set back may put a
                // later one earlier, and it then counts from when it says it was given.
                let mut by_then = steps.iter().filter(|s| s.at <= at);
                let Some(last) = by_then.clone().next_back() else {
                    continue;
                };
                point.mastered += usize::from(last.verdict == Verdict::Correct);
                if let Some(s) = by_then.rfind(|s| s.memory.is_some())
                    && let Some(m) = s.memory
                {
                    point.expected_recall +=
                        recall(f64::from(m.stability), f64::from(m.difficulty), at - s.at);
                }
            }
            point
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000;

    fn past(id: i64, item: &str, verdict: &str, at: i64) -> Past {
        Past {
            id,
            item_id: item.to_string(),
            section: "retrieval".to_string(),
            verdict: verdict.to_string(),
            self_verdict: None,
            at,
        }
    }

    fn history(answers: Vec<Past>) -> History {
        History {
            answers,
            seeds: BTreeMap::new(),
        }
    }

    fn seed(stability: f64, last_answer: i64, reviewed_at: i64) -> Seed {
        Seed {
            stability,
            difficulty: 5.0,
            last_answer,
            reviewed_at,
            sm2_ease: 2.5,
            sm2_interval_days: stability,
        }
    }

    #[test]
    fn every_verdict_has_its_rating() {
        assert_eq!(rating(Verdict::Correct), Rating::Good);
        assert_eq!(rating(Verdict::Partial), Rating::Hard);
        assert_eq!(rating(Verdict::Incorrect), Rating::Again);
    }

    #[test]
    fn right_answers_space_out_and_a_wrong_one_brings_the_item_back_soon() {
        let mut answers = Vec::new();
        let mut at = T0;
        let mut gaps = Vec::new();
        for id in 1..=4 {
            answers.push(past(id, "R1", "correct", at));
            let c = cards(&history(answers.clone()))["R1"].clone();
            gaps.push(c.due - at);
            assert_eq!((c.reps, c.last_at), (id as u32, at));
            at = c.due;
        }
        assert!(gaps.windows(2).all(|w| w[1] > w[0]), "{gaps:?}");
        let right = cards(&history(answers.clone()))["R1"].clone();
        answers.push(past(5, "R1", "incorrect", at));
        let wrong = cards(&history(answers))["R1"].clone();
        assert!(wrong.stability < right.stability, "{wrong:?}");
        assert_eq!((wrong.reps, wrong.lapses), (0, 1));
        assert!(wrong.due - at < right.due - right.last_at, "{wrong:?}");
        assert!(wrong.due > at, "due at least a day later");
    }

    #[test]
    fn partial_lies_between_wrong_and_right() {
        let due = |verdict| cards(&history(vec![past(1, "R1", verdict, T0)]))["R1"].stability;
        assert!(due("incorrect") < due("partial") && due("partial") < due("correct"));
    }

    #[test]
    fn the_learners_own_verdict_counts() {
        let mut answer = past(1, "R1", "incorrect", T0);
        answer.self_verdict = Some("correct".to_string());
        let c = &cards(&history(vec![answer]))["R1"];
        assert_eq!(c.last_verdict, Verdict::Correct);
    }

    #[test]
    fn a_seeded_item_returns_when_its_seed_says_and_later_answers_build_on_it() {
        let mut h = history(vec![
            past(1, "R1", "correct", T0),
            past(2, "R1", "correct", T0 + DAY),
        ]);
        h.seeds.insert("R1".to_string(), seed(20.0, 2, T0 + DAY));
        let c = cards(&h)["R1"].clone();
        assert_eq!(c.due, T0 + DAY + 20 * DAY);
        assert_eq!((c.stability, c.reps), (20.0, 2));
        h.answers.push(past(3, "R1", "correct", c.due));
        let after = cards(&h)["R1"].clone();
        assert!(after.stability > 20.0, "{after:?}");
        // Without the seed the same answers give a far shorter memory.
        h.seeds.clear();
        assert!(cards(&h)["R1"].stability < after.stability);
    }

    #[test]
    fn a_store_from_before_fsrs_keeps_its_schedule_after_the_move() {
        use crate::store::{Store, tests::answer_days};
        let dir = tempfile::tempdir().unwrap();
        let old = Store::at_schema(dir.path(), 2);
        answer_days(&old, "R1", &["correct", "correct"], T0);
        answer_days(&old, "R2", &["incorrect"], T0);
        drop(old);
        let store = Store::open(dir.path()).unwrap();
        let cards = cards(&store.history().unwrap());
        let due: Vec<(&str, i64)> = cards.iter().map(|(id, c)| (id.as_str(), c.due)).collect();
        // As SM-2 had them: R1 six days after its second answer, R2 a day after its first.
        assert_eq!(due, [("R1", T0 + 7 * DAY), ("R2", T0 + DAY)]);
    }

    #[test]
    fn a_damaged_seed_is_ignored_and_the_answers_replayed() {
        let answers = vec![past(1, "R1", "correct", T0)];
        let plain = cards(&history(answers.clone()))["R1"].clone();
        for bad in [f64::NAN, -1.0, f64::INFINITY, 1e12] {
            let mut h = history(answers.clone());
            h.seeds.insert("R1".to_string(), seed(bad, 1, T0));
            assert_eq!(cards(&h)["R1"], plain, "{bad}");
        }
    }

    #[test]
    fn the_recall_chance_falls_with_time_and_is_90_percent_when_due() {
        let c = cards(&history(vec![past(1, "R1", "correct", T0)]))["R1"].clone();
        assert!((c.recall_at(T0) - 1.0).abs() < 1e-6);
        let at_stability = c.recall_at(T0 + (c.stability * DAY as f64) as i64);
        assert!((at_stability - 0.9).abs() < 0.01, "{at_stability}");
        assert!(c.recall_at(T0 + 100 * DAY) < at_stability);
    }

    #[test]
    fn mastery_counts_each_day_and_forgets_between_answers() {
        let h = history(vec![
            past(1, "R1", "correct", T0),
            past(2, "R2", "incorrect", T0 + 1),
            past(3, "R2", "correct", T0 + 3 * DAY),
        ]);
        let days = mastery_over_time(&h, T0 + 5 * DAY);
        assert_eq!(days.len(), 6);
        let mastered: Vec<usize> = days.iter().map(|d| d.mastered).collect();
        assert_eq!(mastered, [1, 1, 1, 2, 2, 2]);
        assert!(days[1].expected_recall < days[0].expected_recall);
        assert!(days[3].expected_recall > days[2].expected_recall);
        assert!(days.iter().all(|d| d.expected_recall <= 2.0));
        assert_eq!(days.last().unwrap().at, T0 + 5 * DAY);
        assert!(mastery_over_time(&history(vec![]), T0).is_empty());
    }

    #[test]
    fn a_long_history_is_sampled_to_a_bounded_number_of_days() {
        let h = history(vec![past(1, "R1", "correct", T0)]);
        let days = mastery_over_time(&h, T0 + 10 * 365 * DAY);
        assert!(days.len() <= MAX_DAYS as usize + 1, "{}", days.len());
        assert!(days.windows(2).all(|w| w[0].at < w[1].at));
        // A clock behind the first answer gives the first day only, never a panic.
        assert!(mastery_over_time(&h, T0 - 30 * DAY).len() <= 1);
    }
}
