//! Recording graded answers in the progress store: one the moment it is graded, or a whole
//! answers file in one transaction.

use anyhow::Result;

use super::clock::now;
use crate::grade::item::Graded;
use crate::store::{Answer, Store};

/// Records one graded answer in `session`, stamped now, and returns its id so the learner's own
/// verdict can be set on it later.
pub fn record(
    store: &Store,
    session: i64,
    graded: &Graded,
    given: &serde_json::Value,
) -> Result<i64> {
    let result = serde_json::to_value(graded)?;
    Ok(store.record_answer(session, &answer(graded, given, &result, now()))?)
}

/// Records graded answers in `session`, each with what was given, all stamped now and in one
/// transaction: an answers file costs one commit, not one per answer.
pub fn record_all(
    store: &Store,
    session: i64,
    graded: &[(&Graded, serde_json::Value)],
) -> Result<Vec<i64>> {
    let at = now();
    let results = graded
        .iter()
        .map(|(g, _)| serde_json::to_value(g))
        .collect::<Result<Vec<_>, _>>()?;
    let answers: Vec<Answer<'_>> = graded
        .iter()
        .zip(&results)
        .map(|((graded, given), result)| answer(graded, given, result, at))
        .collect();
    Ok(store.record_answers(session, &answers)?)
}

/// The store's row for one graded answer, with no verdict of the learner's yet.
fn answer<'a>(
    graded: &'a Graded,
    given: &'a serde_json::Value,
    result: &'a serde_json::Value,
    at: i64,
) -> Answer<'a> {
    Answer {
        item_id: &graded.id,
        section: graded.section.name(),
        given,
        verdict: graded.verdict.name(),
        self_verdict: None,
        score: graded.score,
        max: graded.max,
        result,
        at,
    }
}
