//! The lines between a broker run and its child processes, one JSON object per line: the parent
//! writes a child its instructions, the child reports what it published, applied and acknowledged,
//! and says when it reaches a crash point, where the parent kills it instead of answering.

use serde::{Deserialize, Serialize};

use crate::sim::crash::mutant::Mutant;
use crate::sim::model::{Envelope, Pipeline};
use crate::sim::storage::Location;

/// Which actor a child plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Service,
    Relay,
    Consumer,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Service => "service",
            Role::Relay => "relay",
            Role::Consumer => "consumer",
        }
    }
}

/// Where a child can die.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Point {
    /// The service inside its transaction, before the commit: nothing of the order survives.
    ServiceMidTransaction,
    /// The naive service after its commit, before its publish: the event is never sent.
    ServiceAfterCommit,
    /// The relay after the broker stored the publish, before the row is marked sent.
    RelayAfterPublish,
    /// The relay that marks rows first, after the mark and before the publish.
    RelayBeforePublish,
    /// The consumer after its commit, before its ack.
    ConsumerAfterCommit,
    /// The consumer that acks first, after the ack and before its transaction.
    ConsumerAfterAck,
}

impl Point {
    pub fn role(self) -> Role {
        match self {
            Point::ServiceMidTransaction | Point::ServiceAfterCommit => Role::Service,
            Point::RelayAfterPublish | Point::RelayBeforePublish => Role::Relay,
            Point::ConsumerAfterCommit | Point::ConsumerAfterAck => Role::Consumer,
        }
    }
}

/// One crash still to strike: at `point`, on order `order`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Crash {
    pub point: Point,
    pub order: u32,
}

/// The deliberate bug a child carries, as the wire spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bug {
    None,
    MarkBeforePublish,
    AckBeforeCommit,
    MemoryDedupe,
}

impl From<Mutant> for Bug {
    fn from(mutant: Mutant) -> Bug {
        match mutant {
            Mutant::MarkBeforePublish => Bug::MarkBeforePublish,
            Mutant::AckBeforeCommit => Bug::AckBeforeCommit,
            Mutant::MemoryDedupe => Bug::MemoryDedupe,
            _ => Bug::None,
        }
    }
}

/// A child's instructions, its first line of input.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub role: Role,
    pub pipeline: Pipeline,
    pub seed: u64,
    pub orders: u32,
    /// The first order a service places: the one after the order its last incarnation died on.
    pub next: u32,
    pub location: Location,
    /// The broker's URL with its credentials: the pipe is private to the two processes.
    pub broker: String,
    pub stream: String,
    pub subject: String,
    pub dedupe: bool,
    pub bug: Bug,
    /// The crashes still to strike this actor.
    pub crashes: Vec<Crash>,
}

/// A child's report.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Up {
    /// The broker acknowledged this event; `duplicate` when its window recognised it.
    Published { event: Envelope, duplicate: bool },
    /// The child stands at a crash point and waits: the parent kills it or says live.
    Crash(Crash),
    /// The consumer committed a delivery: a redelivery or not, applied or absorbed by the inbox.
    Applied { redelivered: bool, absorbed: bool },
    /// The consumer acknowledged the message at this stream sequence.
    Acked { sequence: u64 },
    /// The service placed its last order.
    Done,
    /// The child's input closed and it stopped.
    Stopped,
}

/// The parent's answer at a crash point that is not to strike.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Down {
    Live,
}
