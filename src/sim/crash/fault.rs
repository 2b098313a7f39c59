//! Faults injected anywhere, independent of the code under test: a crash before or after any
//! statement, commit, publish or acknowledgement, and the broker's own failures.
//!
//! The named crash points of [`super::schedule`] are places the pipeline's own code offers to
//! die at; these are not. They are drawn by the run, at every call an actor makes to its database
//! or the broker, so a new commit boundary or a misplaced acknowledgement gets crashed too.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A call an actor makes across its process boundary: to its database, or to the broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    Begin,
    Commit,
    InsertOrder,
    InsertOutbox,
    Claim,
    Mark,
    Release,
    Select,
    Inbox,
    Charge,
    Read,
    Publish,
    Fetch,
    Ack,
}

impl Op {
    pub const ALL: [Op; 14] = [
        Op::Begin,
        Op::Commit,
        Op::InsertOrder,
        Op::InsertOutbox,
        Op::Claim,
        Op::Mark,
        Op::Release,
        Op::Select,
        Op::Inbox,
        Op::Charge,
        Op::Read,
        Op::Publish,
        Op::Fetch,
        Op::Ack,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Op::Begin => "begin",
            Op::Commit => "commit",
            Op::InsertOrder => "insert-order",
            Op::InsertOutbox => "insert-outbox",
            Op::Claim => "claim",
            Op::Mark => "mark",
            Op::Release => "release",
            Op::Select => "select",
            Op::Inbox => "inbox",
            Op::Charge => "charge",
            Op::Read => "read",
            Op::Publish => "publish",
            Op::Fetch => "fetch",
            Op::Ack => "ack",
        }
    }
}

/// Whether a crash strikes before a call is made or after it has returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Before,
    After,
}

/// One injected fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// The actor dies just before, or just after, one of its calls.
    Crash { phase: Phase, op: Op },
    /// The broker restarted before the message was durable: it is gone and the publisher gets an
    /// error.
    PublishLost,
    /// The broker stored the message, but the publisher's wait for the acknowledgement timed out.
    PublishTimeout,
    /// The broker delivers a message it had already delivered and seen acknowledged.
    RedeliverAcked,
    /// The broker hands a batch out in another order than it was published.
    Reorder,
    /// A second consumer instance in the same group fetched messages the first has in hand.
    ConsumerRace,
    /// The actor stops mid-step for a long while (a GC pause, a stalled VM), then carries on
    /// as if nothing happened: a relay wakes to find its lease long gone.
    Pause,
    /// A machine loses power (`--power-loss` only): everything on it dies at once, and its
    /// database keeps only what had reached the disk.
    PowerLoss,
}

impl Fault {
    /// Every fault kind, for `--list-crash-points`: one line each.
    pub fn catalogue() -> Vec<(String, &'static str)> {
        let mut kinds = Vec::new();
        for op in Op::ALL {
            for phase in [Phase::Before, Phase::After] {
                kinds.push((Fault::Crash { phase, op }.to_string(), op_text(op)));
            }
        }
        for fault in [
            Fault::PublishLost,
            Fault::PublishTimeout,
            Fault::RedeliverAcked,
            Fault::Reorder,
            Fault::ConsumerRace,
            Fault::Pause,
            Fault::PowerLoss,
        ] {
            kinds.push((fault.to_string(), fault.describe()));
        }
        kinds
    }

    pub fn is_crash(self) -> bool {
        matches!(self, Fault::Crash { .. })
    }

    pub fn describe(self) -> &'static str {
        match self {
            Fault::Crash { op, .. } => op_text(op),
            Fault::PublishLost => {
                "The broker restarts before the message is durable: it is lost, and the publisher \
                 gets an error instead of an acknowledgement."
            }
            Fault::PublishTimeout => {
                "The broker stores the message, but the acknowledgement never reaches the \
                 publisher: it sees an error for a message that was sent."
            }
            Fault::RedeliverAcked => {
                "The broker delivers again a message the consumer already acknowledged, late and \
                 out of order."
            }
            Fault::Reorder => "The broker hands a batch to the consumer in a shuffled order.",
            Fault::ConsumerRace => {
                "A second consumer instance in the group fetches messages the first one is still \
                 working on."
            }
            Fault::Pause => {
                "A component stops in the middle of a step for up to three seconds, then carries \
                 on: a relay paused mid-pass outlives its lease, and another relay takes its rows."
            }
            Fault::PowerLoss => {
                "With --power-loss only: the service's host (service and relays) or the consumer's \
                 host loses power. Everything on it dies at once, and its database keeps what \
                 synchronous had synced plus a seeded part of the rest; the broker keeps what it \
                 acknowledged."
            }
        }
    }
}

/// What a crash around `op` interrupts, in a sentence.
fn op_text(op: Op) -> &'static str {
    match op {
        Op::Begin => "A component dies around BEGIN.",
        Op::Commit => "A component dies just before its COMMIT, or just after it returned.",
        Op::InsertOrder => "The order service dies around the order's INSERT.",
        Op::InsertOutbox => "The order service dies around the outbox row's INSERT.",
        Op::Claim => "A relay dies around its claim of a batch.",
        Op::Mark => "A relay dies around marking its batch sent.",
        Op::Release => "A relay dies around giving back a dead incarnation's claims.",
        Op::Select => "A relay dies around its read of unsent rows.",
        Op::Inbox => "The consumer dies around its inbox statement.",
        Op::Charge => "The consumer dies around the charge's INSERT.",
        Op::Read => "A component dies around a read.",
        Op::Publish => {
            "A publisher dies just before handing an event to the broker, or just after the \
             broker acknowledged it."
        }
        Op::Fetch => "The consumer dies just before, or just after, fetching from the broker.",
        Op::Ack => "The consumer dies just before, or just after, acknowledging to the broker.",
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Crash { phase, op } => {
                let phase = match phase {
                    Phase::Before => "before",
                    Phase::After => "after",
                };
                write!(f, "crash-{phase}-{}", op.name())
            }
            Fault::PublishLost => f.write_str("broker-publish-lost"),
            Fault::PublishTimeout => f.write_str("broker-publish-timeout"),
            Fault::RedeliverAcked => f.write_str("broker-redeliver-acked"),
            Fault::Reorder => f.write_str("broker-reorder"),
            Fault::ConsumerRace => f.write_str("consumer-race"),
            Fault::Pause => f.write_str("pause"),
            Fault::PowerLoss => f.write_str("power-loss"),
        }
    }
}

/// How often each kind of fault is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRates {
    /// Chance of a crash at each point before or after a call.
    pub crash: f64,
    /// Chance of each broker fault at each publish or fetch.
    pub broker: f64,
    /// Whether a second consumer instance joins the group.
    pub twin_consumer: bool,
    /// Chance, at each point before a call, that the actor pauses there (seeded runs only).
    #[serde(default)]
    pub pause: f64,
}

impl FaultRates {
    /// No fault anywhere: only the named crash points fire.
    pub const OFF: FaultRates = FaultRates {
        crash: 0.0,
        broker: 0.0,
        twin_consumer: false,
        pause: 0.0,
    };
}

impl Default for FaultRates {
    fn default() -> Self {
        FaultRates::OFF
    }
}

/// Faults that fired, by kind.
#[derive(Clone, Debug, Default)]
pub struct FaultCounts(BTreeMap<Fault, u64>);

impl FaultCounts {
    pub fn add(&mut self, fault: Fault) {
        *self.0.entry(fault).or_insert(0) += 1;
    }

    /// How many of them were crashes.
    pub fn crashes(&self) -> u64 {
        self.0
            .iter()
            .filter(|(fault, _)| fault.is_crash())
            .map(|(_, n)| n)
            .sum()
    }

    /// By name, as the report prints them.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.0.iter().map(|(f, n)| (f.to_string(), *n)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_kind_has_a_distinct_name_and_a_description() {
        let kinds = Fault::catalogue();
        let names: std::collections::BTreeSet<_> = kinds.iter().map(|(n, _)| n).collect();
        assert_eq!(names.len(), kinds.len());
        assert!(kinds.iter().all(|(_, text)| text.ends_with('.')));
        assert!(names.contains(&"crash-after-commit".to_string()));
    }
}
