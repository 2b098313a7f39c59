//! Recording a graded answer in the progress store, the moment it is graded.

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
    Ok(store.record_answer(
        session,
        &Answer {
            item_id: &graded.id,
            section: graded.section.name(),
            given,
            verdict: graded.verdict.name(),
            self_verdict: None,
            score: graded.score,
            max: graded.max,
            result: &serde_json::to_value(graded)?,
            at: now(),
        },
    )?)
}
