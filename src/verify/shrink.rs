//! Shrinking a failing run: replay it with only the strikes that fired, then drop strikes one at a
//! time and cut the orders down to the first broken one, keeping each step that still breaks the
//! same way, so the learner gets the smallest replay that shows their bug.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::verify::report::{Outcome, Verdict};
use crate::verify::schedule::Strike;
use crate::verify::{Options, verify};

/// How much shrinking may cost.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub runs: u32,
    pub time: Duration,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            runs: 40,
            time: Duration::from_secs(60),
        }
    }
}

/// The smallest failing replay found.
#[derive(Clone, Debug, Serialize)]
pub struct Shrunk {
    pub orders: u32,
    pub strikes: Vec<Strike>,
    /// How many runs shrinking took.
    pub tries: u32,
    pub outcome: Outcome,
}

impl Shrunk {
    /// The `--schedule` value that replays it.
    pub fn schedule(&self) -> String {
        self.strikes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// The kind of failure a run shows first: what shrinking keeps.
pub fn failure(outcome: &Outcome) -> Option<&'static str> {
    if outcome.verdict != Verdict::Broken {
        return None;
    }
    match &outcome.first_broken {
        Some(story) => Some(story.problem),
        None if outcome.counts.relay_overlap > 0 => Some("relay overlap"),
        None => None,
    }
}

/// The order a failure is about: the first broken one, or the first overlapping event's.
fn order_of(outcome: &Outcome) -> Option<u32> {
    outcome
        .first_broken
        .as_ref()
        .map(|s| s.order)
        .or_else(|| outcome.overlaps.first().map(|o| o.order))
}

/// Shrinks `failing`, a run of `options` under its seed. `progress` hears each try. Returns
/// `None` when even the replay of the strikes that fired does not break the same way (the
/// failure hung on timing) or the failure is not one shrinking keeps.
pub fn shrink(
    options: &Options,
    failing: &Outcome,
    budget: Budget,
    progress: &mut dyn FnMut(u32, &str),
) -> Option<Shrunk> {
    let want = failure(failing)?;
    let started = Instant::now();
    let mut tries = 0;
    let spent = |tries: u32| tries >= budget.runs || started.elapsed() > budget.time;
    let mut attempt =
        |orders: u32, strikes: &BTreeSet<Strike>, tries: &mut u32| -> Option<Outcome> {
            if spent(*tries) {
                return None;
            }
            *tries += 1;
            progress(
                *tries,
                &format!("{} strikes, {orders} orders", strikes.len()),
            );
            let mut replay = options.clone();
            replay.orders = orders;
            replay.schedule = Some(strikes.clone());
            replay.keep = None;
            let outcome = verify(&replay, failing.seed).ok()?;
            (failure(&outcome) == Some(want)).then_some(outcome)
        };
    let fired = |outcome: &Outcome| -> BTreeSet<Strike> { outcome.fired.iter().cloned().collect() };

    let all = fired(failing);
    let first = order_of(failing).unwrap_or(failing.orders);
    let (mut orders, mut outcome) = match attempt(first, &all, &mut tries) {
        Some(outcome) => (first, outcome),
        None if first < failing.orders => {
            (failing.orders, attempt(failing.orders, &all, &mut tries)?)
        }
        None => return None,
    };
    let mut strikes = fired(&outcome);
    loop {
        let mut changed = false;
        if let Some(fewer_orders) = order_of(&outcome).filter(|o| *o < orders)
            && let Some(next) = attempt(fewer_orders, &strikes, &mut tries)
        {
            (orders, strikes, outcome) = (fewer_orders, fired(&next), next);
            changed = true;
        }
        for strike in strikes.clone() {
            if spent(tries) {
                break;
            }
            let mut fewer = strikes.clone();
            fewer.remove(&strike);
            if let Some(next) = attempt(orders, &fewer, &mut tries) {
                (strikes, outcome) = (fired(&next), next);
                changed = true;
            }
        }
        if !changed || spent(tries) {
            break;
        }
    }
    Some(Shrunk {
        orders,
        strikes: strikes.into_iter().collect(),
        tries,
        outcome,
    })
}
