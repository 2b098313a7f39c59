//! What a broker run takes and what it reports: its options, its errors, and each pipeline's
//! figures, in-process or with its actors as child processes.

use std::time::Duration;

use serde::Serialize;

use crate::broker::BrokerError;
use crate::sim::crash::mutant::Mutant;
use crate::sim::error::SimError;
use crate::sim::model::Pipeline;

/// Bumped when a key of the `--json` output changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;
/// How long the consumer's unacknowledged message waits before JetStream sends it again.
pub const ACK_WAIT: Duration = Duration::from_secs(1);
/// The stream's dedupe window: short, so that the late duplicate can fall outside it.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(1);
/// Rows a relay pass reads, and messages a fetch asks for.
pub const BATCH: u32 = 10;
/// How long the run waits without progress before it calls the broker stalled.
pub const STALL_LIMIT: Duration = Duration::from_secs(20);

/// What went wrong: the lab's databases, or the broker.
#[derive(Debug, thiserror::Error)]
pub enum BrokeredError {
    #[error(transparent)]
    Sim(#[from] SimError),
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

/// A run's settings.
#[derive(Clone, Debug)]
pub struct BrokeredOptions {
    pub seed: u64,
    pub orders: u32,
    /// Whether crashes strike: each crash point at least once, plus `crash_rate` per order.
    pub crash: bool,
    /// Chance per order of a crash at each of the pipeline's crash points.
    pub crash_rate: f64,
    /// Whether the relay sends a `Nats-Msg-Id` for the stream to dedupe by.
    pub dedupe: bool,
    /// Keep the databases here and the streams on the broker; deleted otherwise.
    pub keep_dir: Option<std::path::PathBuf>,
    /// A PostgreSQL server for the databases, instead of SQLite files; its schemas are kept
    /// with `keep_dir` like the files.
    pub db: Option<String>,
    /// Whether the order service, the relay and the consumer run as child processes of msgwork
    /// that die by SIGKILL at their crash points, instead of threads that reconnect.
    pub processes: bool,
    /// The msgwork binary the children are started from; the running one when `None`, which is
    /// what the command line always says.
    pub actor_program: Option<std::path::PathBuf>,
    /// A deliberate bug, for the tests that prove `--check` fails on a broken outbox; only
    /// those in [`BROKER_MUTANTS`] exist here, and the command line always says none.
    pub mutant: Mutant,
}

/// The bugs the broker run can carry: a relay that marks its rows sent before it publishes
/// them (loses events), a consumer that acks before its commit (loses events), and one that
/// remembers event ids in memory (applies redeliveries twice after a crash).
pub const BROKER_MUTANTS: [Mutant; 3] = [
    Mutant::MarkBeforePublish,
    Mutant::AckBeforeCommit,
    Mutant::MemoryDedupe,
];

/// A publish the stream stored again after the window: only the inbox stops it.
#[derive(Clone, Debug, Serialize)]
pub struct LateDuplicate {
    pub event_id: String,
    /// How long after the first publish it was sent, in milliseconds.
    pub after_ms: u64,
    /// The broker stored it as a new message (its window had passed, or dedupe was off).
    pub stored_by_broker: bool,
    /// The consumer's inbox recognised it and applied nothing.
    pub stopped_by_inbox: bool,
}

/// One pipeline's run on the broker.
#[derive(Clone, Debug, Serialize)]
pub struct BrokeredPipeline {
    pub pipeline: Pipeline,
    pub orders_committed: u64,
    /// Publishes the broker acknowledged, first sends and resends alike.
    pub publishes: u64,
    /// Order services killed mid-transaction, before their commit (process mode only).
    pub service_crashes: u64,
    /// Relays (or the naive service) killed between a publish and recording it.
    pub publisher_crashes: u64,
    /// Resends the stream recognised by `Nats-Msg-Id` and did not store again.
    pub absorbed_by_broker: u64,
    /// Consumers killed after their commit, before their ack.
    pub consumer_crashes: u64,
    /// Deliveries JetStream made again after `AckWait` ran out.
    pub redelivered: u64,
    /// Deliveries whose event id the inbox already held: applied nothing.
    pub absorbed_by_inbox: u64,
    pub late_duplicate: Option<LateDuplicate>,
    /// Committed orders billing never charged.
    pub lost: u64,
    /// Charges for orders the service never committed.
    pub phantom: u64,
    /// Orders charged more than once.
    pub double_applied: u64,
    /// The stream made for this pipeline.
    pub stream: String,
    /// The child processes started and killed, when the actors ran as processes.
    pub processes: Option<Processes>,
}

/// How many child processes one pipeline started, and how many the run killed with SIGKILL.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Processes {
    pub started: u64,
    pub killed: u64,
}

impl BrokeredPipeline {
    /// Nothing lost, nothing phantom, nothing applied twice.
    pub fn holds(&self) -> bool {
        self.lost == 0 && self.phantom == 0 && self.double_applied == 0
    }
}

/// Both pipelines' runs.
#[derive(Clone, Debug, Serialize)]
pub struct BrokeredReport {
    pub schema_version: u32,
    pub seed: u64,
    pub orders: u32,
    /// The broker, password hidden.
    pub broker: String,
    pub dedupe: bool,
    /// How the actors crashed: `in-process` (threads that reconnect) or `process` (SIGKILL).
    pub crash_mode: &'static str,
    /// Where the pipelines' databases lived: `sqlite` or `postgres`.
    pub storage: &'static str,
    pub ack_wait_ms: u64,
    pub duplicate_window_ms: u64,
    pub naive: BrokeredPipeline,
    pub outbox: BrokeredPipeline,
    /// Whether the run's streams were deleted at its end.
    pub streams_deleted: bool,
}
