//! What every actor steps against: the run's configuration, clock, broker, crash trigger and observer.

use serde::{Deserialize, Serialize};

use super::runner::Poll;
use crate::sim::broker::Broker;
use crate::sim::clock::Clock;
use crate::sim::crash::observer::{Detail, Observer};
use crate::sim::crash::schedule::{CrashPoint, NaiveOrder, Trigger};
use crate::sim::error::SimError;
use crate::sim::model::{Envelope, Pipeline};
use crate::sim::storage::{Location, Storage};

/// How relay replicas avoid publishing the same rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClaimMode {
    /// Claim a batch with a lease under BEGIN IMMEDIATE: SQLite's SKIP LOCKED.
    Lease,
    /// Just select unsent rows: replicas overlap and publish the same rows.
    None,
}

impl ClaimMode {
    pub fn name(self) -> &'static str {
        match self {
            ClaimMode::Lease => "lease",
            ClaimMode::None => "none",
        }
    }
}

/// The knobs a run's actors read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub seed: u64,
    pub orders: u32,
    pub naive_order: NaiveOrder,
    pub claim: ClaimMode,
    pub batch: u32,
    pub consumer_batch: u32,
    pub lease_ms: u64,
    pub poll_ms: u64,
    pub restart_ms: u64,
}

pub struct World<'a> {
    pub pipeline: Pipeline,
    pub config: &'a Config,
    pub clock: &'a dyn Clock,
    pub broker: &'a Broker,
    pub trigger: &'a Trigger<'a>,
    pub obs: &'a Observer<'a>,
    pub location: &'a Location,
}

impl World<'_> {
    pub fn now(&self) -> u64 {
        self.clock.now()
    }
}

pub use crate::sim::storage::Db;

/// Everything the order service and the relays reach beyond their own database connection: the
/// configuration and clock, the broker they publish to, the crash schedule they die by, and the
/// checker they report to. In one process that is the run's [`World`]; in a child process
/// (`--crash-mode process`) it is the pipe to the parent, which owns all of them.
///
/// Only the two calls that need an answer can fail; a failed one-way report surfaces when the
/// caller's step ends.
pub trait Outside {
    fn config(&self) -> &Config;
    fn pipeline(&self) -> Pipeline;
    fn now(&self) -> u64;
    /// Where the run's databases are, to open a connection to one.
    fn location(&self) -> &Location;
    /// True when the crash scheduled for `order` at `point` strikes here: it is recorded against
    /// `actor`, which must die at once. A child process never sees true: it is killed instead.
    fn crash_here(&self, actor: &str, point: CrashPoint, order: u32) -> Result<bool, SimError>;
    /// Hands an event to the broker, and tells the checker who published it.
    fn publish(&self, actor: &str, event: Envelope, order: Option<u32>);
    /// A relay pass began holding `rows`; returns the pass id for [`Outside::pass_ended`].
    fn pass_started(&self, actor: &str, rows: &[i64]) -> Result<u64, SimError>;
    fn pass_ended(&self, pass: u64);
    fn marked(&self, actor: &str, pass: u64, marked: usize, fenced: usize);
    fn trace(&self, actor: &str, step: &str, detail: Detail<'_>);
    fn order_handled(&self);
}

impl Outside for World<'_> {
    fn config(&self) -> &Config {
        self.config
    }

    fn pipeline(&self) -> Pipeline {
        self.pipeline
    }

    fn now(&self) -> u64 {
        self.clock.now()
    }

    fn location(&self) -> &Location {
        self.location
    }

    fn crash_here(&self, actor: &str, point: CrashPoint, order: u32) -> Result<bool, SimError> {
        let fires = self.trigger.fires(point, order);
        if fires {
            self.obs.crashed(actor, point, order);
        }
        Ok(fires)
    }

    fn publish(&self, actor: &str, event: Envelope, order: Option<u32>) {
        self.obs.published(actor, &event.event_id, order);
        self.broker.publish(event);
    }

    fn pass_started(&self, actor: &str, rows: &[i64]) -> Result<u64, SimError> {
        Ok(self.obs.pass_started(actor, rows))
    }

    fn pass_ended(&self, pass: u64) {
        self.obs.pass_ended(pass);
    }

    fn marked(&self, actor: &str, pass: u64, marked: usize, fenced: usize) {
        self.obs.marked(actor, pass, marked, fenced);
    }

    fn trace(&self, actor: &str, step: &str, detail: Detail<'_>) {
        self.obs.trace(actor, step, detail);
    }

    fn order_handled(&self) {
        self.obs.order_handled();
    }
}

/// A component of the pipeline, run one step at a time by a scheduler.
pub trait Actor: Send {
    fn step(&mut self, world: &World<'_>) -> Result<Poll, SimError>;
}

/// A component's own database connection, dropped on a crash and reopened on restart.
pub struct Link {
    db: Db,
    conn: Option<Box<dyn Storage>>,
    /// How many times the component has restarted; part of a relay's owner token.
    pub incarnation: u32,
}

impl Link {
    pub fn billing() -> Self {
        Link::reborn(Db::Billing, 0)
    }

    /// The link of a component that has already died `incarnation` times, in an earlier process.
    pub fn reborn(db: Db, incarnation: u32) -> Self {
        Link {
            db,
            conn: None,
            incarnation,
        }
    }

    /// The live connection, opened (a restart, after a crash) when there is none.
    pub fn get(
        &mut self,
        world: &impl Outside,
        actor: &str,
    ) -> Result<&mut (dyn Storage + 'static), SimError> {
        if self.conn.is_none() {
            let conn = world.location().connect(self.db)?;
            if self.incarnation > 0 {
                world.trace(actor, "restart", Default::default());
            }
            self.conn = Some(conn);
        }
        // Just filled above.
        self.conn
            .as_deref_mut()
            .ok_or(SimError::Internal("connection vanished"))
    }

    /// Dies: the connection is dropped without COMMIT, so the database rolls back whatever was
    /// open (and, on PostgreSQL, releases the row locks the transaction held).
    pub fn crash(&mut self) {
        self.conn = None;
        self.incarnation += 1;
    }
}
