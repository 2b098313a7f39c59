//! Review history as the scheduler reads it, and the one-time move from SM-2 to FSRS: stores
//! written before schema 3 were scheduled by SM-2, whose state is frozen here as an FSRS starting
//! point ("seed") per item, so a learner's schedule carries over instead of starting again.

use std::collections::BTreeMap;

use rusqlite::{Transaction, params};

/// The recall probability SM-2's intervals are taken to aim at when converted to FSRS, as Anki
/// does when a collection moves from SM-2 to FSRS.
const SM2_RETENTION: f32 = 0.9;

/// One past graded answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Past {
    /// The answer's id: answers are ordered by it.
    pub id: i64,
    pub item_id: String,
    pub section: String,
    pub verdict: String,
    pub self_verdict: Option<String>,
    pub at: i64,
}

/// An item's FSRS memory state as converted from SM-2 when the store moved to FSRS. Answers
/// recorded after `last_answer` are applied on top of it; earlier ones are already in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Seed {
    /// Days until recall falls to 90 %.
    pub stability: f64,
    /// FSRS difficulty, 1 (easy) to 10 (hard).
    pub difficulty: f64,
    /// The id of the last answer SM-2 scheduled: later answers are FSRS's.
    pub last_answer: i64,
    /// When that answer was given, unix seconds.
    pub reviewed_at: i64,
    /// SM-2's ease factor and interval at the move, kept for the record.
    pub sm2_ease: f64,
    pub sm2_interval_days: f64,
}

/// Every graded answer, oldest first, with the SM-2 seeds of items answered before the move to
/// FSRS: everything the review scheduler needs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub answers: Vec<Past>,
    pub seeds: BTreeMap<String, Seed>,
}

/// The table of seeds: schema 3.
pub(super) const SEEDS_TABLE: &str = "
-- FSRS starting points converted once from the SM-2 schedule of answers recorded before FSRS.
CREATE TABLE review_seeds (
    item_id           TEXT    PRIMARY KEY,
    stability         REAL    NOT NULL,      -- days
    difficulty        REAL    NOT NULL,      -- 1 to 10
    last_answer       INTEGER NOT NULL,      -- drill_answers.id of the last answer SM-2 scheduled
    reviewed_at       INTEGER NOT NULL,      -- unix seconds of that answer
    sm2_ease          REAL    NOT NULL,
    sm2_interval_days REAL    NOT NULL
) WITHOUT ROWID;
";

/// Replays every item's recorded answers through the SM-2 schedule the store used before
/// schema 3, converts each item's ease and interval to an FSRS memory state, and keeps it as
/// that item's seed. Reads answers, never changes them. Returns how many items were seeded; an
/// item whose state cannot be converted gets no seed and FSRS replays its answers from the first.
pub(super) fn seed_from_sm2(tx: &Transaction<'_>) -> rusqlite::Result<usize> {
    let mut by_item: BTreeMap<String, Sm2> = BTreeMap::new();
    {
        let mut stmt = tx.prepare(
            "SELECT id, item_id, verdict, self_verdict, answered_at FROM drill_answers ORDER BY id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            let item: String = row.get(1)?;
            let verdict: String = row.get(2)?;
            let own: Option<String> = row.get(3)?;
            let at: i64 = row.get(4)?;
            by_item.entry(item).or_insert_with(Sm2::new).answer(
                own.as_deref().unwrap_or(&verdict),
                id,
                at,
            );
        }
    }
    let fsrs = fsrs::FSRS::default();
    let mut insert = tx.prepare(
        "INSERT INTO review_seeds
             (item_id, stability, difficulty, last_answer, reviewed_at, sm2_ease, sm2_interval_days)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut seeded = 0;
    for (item, sm2) in by_item {
        let Ok(state) =
            fsrs.memory_state_from_sm2(sm2.ease as f32, sm2.interval_days as f32, SM2_RETENTION)
        else {
            continue;
        };
        insert.execute(params![
            item,
            f64::from(state.stability),
            f64::from(state.difficulty),
            sm2.last_answer,
            sm2.last_at,
            sm2.ease,
            sm2.interval_days,
        ])?;
        seeded += 1;
    }
    Ok(seeded)
}

/// The seeds kept at the move to FSRS, by item id.
pub(super) fn seeds(conn: &rusqlite::Connection) -> rusqlite::Result<BTreeMap<String, Seed>> {
    let mut stmt = conn.prepare(
        "SELECT item_id, stability, difficulty, last_answer, reviewed_at, sm2_ease, sm2_interval_days
           FROM review_seeds",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            Seed {
                stability: r.get(1)?,
                difficulty: r.get(2)?,
                last_answer: r.get(3)?,
                reviewed_at: r.get(4)?,
                sm2_ease: r.get(5)?,
                sm2_interval_days: r.get(6)?,
            },
        ))
    })?;
    rows.collect()
}

/// One item's SM-2 state exactly as the scheduler before schema 3 derived it: right is quality
/// 4, partial 3, anything else 1 (the learner's own verdict when they overruled the grader).
#[derive(Debug, Clone, PartialEq)]
struct Sm2 {
    reps: u32,
    ease: f64,
    interval_days: f64,
    last_answer: i64,
    last_at: i64,
}

impl Sm2 {
    fn new() -> Self {
        Sm2 {
            reps: 0,
            ease: 2.5,
            interval_days: 0.0,
            last_answer: 0,
            last_at: 0,
        }
    }

    fn answer(&mut self, verdict: &str, id: i64, at: i64) {
        let q = match verdict {
            "correct" => 4.0,
            "partial" => 3.0,
            _ => 1.0,
        };
        if q >= 3.0 {
            self.interval_days = match self.reps {
                0 => 1.0,
                1 => 6.0,
                _ => (self.interval_days * self.ease).round(),
            };
            self.reps += 1;
        } else {
            self.reps = 0;
            self.interval_days = 1.0;
        }
        self.ease = (self.ease + 0.1 - (5.0 - q) * (0.08 + (5.0 - q) * 0.02)).max(1.3);
        self.last_answer = id;
        self.last_at = at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sm2_spaces_right_answers_and_starts_over_after_a_wrong_one() {
        let mut s = Sm2::new();
        s.answer("correct", 1, 0);
        assert_eq!(s.interval_days, 1.0);
        s.answer("correct", 2, 0);
        assert_eq!(s.interval_days, 6.0);
        s.answer("partial", 3, 0);
        assert!(s.interval_days > 6.0, "{s:?}");
        let ease = s.ease;
        s.answer("incorrect", 4, 0);
        assert_eq!((s.reps, s.interval_days, s.last_answer), (0, 1.0, 4));
        assert!(s.ease < ease && s.ease >= 1.3, "{s:?}");
    }

    #[test]
    fn a_longer_sm2_interval_becomes_a_higher_fsrs_stability() {
        let fsrs = fsrs::FSRS::default();
        let short = fsrs.memory_state_from_sm2(2.5, 1.0, SM2_RETENTION).unwrap();
        let long = fsrs
            .memory_state_from_sm2(2.5, 15.0, SM2_RETENTION)
            .unwrap();
        assert!(long.stability > short.stability);
        // At 90 % the stability is the interval itself.
        assert!((long.stability - 15.0).abs() < 0.01, "{long:?}");
    }
}
