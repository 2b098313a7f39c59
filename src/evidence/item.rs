//! One evidence item: what to show, whether it is shown, which recorded runs prove it, and which
//! recorded attempts were refused and why.

use serde::Serialize;

/// One thing to show, and whether it is shown.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    pub id: &'static str,
    pub source: &'static str,
    pub required: bool,
    pub title: &'static str,
    pub done: bool,
    /// What proves it: which recorded run, session or answer, and when.
    pub proof: Option<String>,
    /// The recorded runs the proof cites (ids in the progress store), newest last; empty for an
    /// item proven by drill answers, or not proven at all.
    pub runs: Vec<i64>,
    /// Recorded attempts that do not count, each with the reason and what to do instead.
    pub refused: Vec<Refusal>,
    /// For a missing item, the exact command to run next.
    pub next: Option<String>,
}

/// A recorded attempt that evidence does not count as the learner's work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub run: i64,
    /// The file that was checked, as it was named on the command line.
    pub file: String,
    pub reason: String,
    pub instead: String,
}

impl Evidence {
    pub(super) fn new(
        id: &'static str,
        source: &'static str,
        required: bool,
        title: &'static str,
    ) -> Evidence {
        Evidence {
            id,
            source,
            required,
            title,
            done: false,
            proof: None,
            runs: Vec::new(),
            refused: Vec::new(),
            next: None,
        }
    }
}

/// Whether every required item is shown.
pub fn complete(items: &[Evidence]) -> bool {
    items.iter().filter(|i| i.required).all(|i| i.done)
}

/// The run that proves an item, as `assess` chose it: the newest one it cites. `report` cites
/// this run, so the two commands never disagree.
pub fn proving_run(items: &[Evidence], id: &str) -> Option<i64> {
    items
        .iter()
        .find(|i| i.id == id)
        .and_then(|i| i.runs.last().copied())
}

/// The first 16 characters of a recorded timestamp: date, hours and minutes.
pub(super) fn when(recorded_at: &str) -> &str {
    recorded_at.get(..16).unwrap_or(recorded_at)
}
