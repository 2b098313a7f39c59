//! What every actor steps against: the run's configuration, clock, broker, crash trigger and observer.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use serde::{Deserialize, Serialize};

use super::bell::Bell;
use super::fault::{Fault, FaultRates, Op, Phase};
use super::gate::Gate;
use super::guarded::Guarded;
use super::mutant::Mutant;
use super::runner::Poll;
use crate::sim::broker::{Broker, Delivery};
use crate::sim::clock::{SharedClock, Skew};
use crate::sim::crash::observer::{Detail, Observer};
use crate::sim::crash::schedule::{CrashPoint, NaiveOrder, Trigger};
use crate::sim::error::SimError;
use crate::sim::model::{Envelope, Pipeline};
use crate::sim::storage::{Location, Storage};

/// How relay replicas avoid publishing the same rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClaimMode {
    /// Claim a batch with a lease under BEGIN IMMEDIATE, SQLite's stand-in for SKIP LOCKED: unlike
    /// a row lock, a lease runs out on a timer, so a slow live relay can lose its rows to another.
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
    /// Faults drawn anywhere, beyond the named crash points.
    #[serde(default)]
    pub faults: FaultRates,
    /// A deliberate bug, for the suite that proves the checker catches it.
    #[serde(skip)]
    pub mutant: Mutant,
    /// Whether a relay gives back, at once, the claims nobody will work on: its dead
    /// incarnations' when it restarts, a pass's it abandoned. A run in real time would otherwise
    /// wait out their leases; a simulated run waits for nothing real, and keeps the leases'
    /// course for the report.
    #[serde(default)]
    pub release_dead_claims: bool,
}

/// One actor's view of the run. Every actor gets its own, naming its slot at the gate and
/// reading its own clock.
#[derive(Clone)]
pub struct World<'a> {
    pub pipeline: Pipeline,
    pub config: &'a Config,
    /// The run's true clock, which the databases time leases by.
    pub clock: &'a SharedClock,
    /// Every actor's skew, by its slot at the gate; empty for clocks that all read true.
    pub clocks: &'a [Skew],
    /// This actor's skew: how far the clock it reads is off the run's.
    pub own: Skew,
    pub broker: &'a Broker,
    /// Rung when an actor has done some work, for idle actors running in real time.
    pub bell: &'a Bell,
    pub trigger: &'a Trigger<'a>,
    pub obs: &'a Observer<'a>,
    pub location: &'a Location,
    /// The client placing orders: the number of the next request it sends.
    pub client: &'a AtomicU32,
    /// Where this actor's calls pass, and its slot there; none for a process-mode parent.
    pub gate: Option<(Arc<Gate>, usize)>,
}

impl<'a> World<'a> {
    /// The time on this actor's own clock: what it stamps rows with and times its waits by. The
    /// waits it asks for are deadlines on this clock, which the gate turns into the run's time.
    pub fn now(&self) -> u64 {
        self.own.read(self.clock.now())
    }

    /// The same world, for the actor in `slot` at `gate`, on the actor's own clock, which the
    /// gate learns too.
    pub fn at(&self, gate: &Arc<Gate>, slot: usize) -> World<'a> {
        let own = self.clocks.get(slot).copied().unwrap_or_default();
        gate.set_skew(slot, own);
        World {
            gate: Some((Arc::clone(gate), slot)),
            own,
            ..self.clone()
        }
    }

    /// A point before or after a call to the broker: where a crash may strike.
    fn point(&self, op: Op, phase: Phase) -> Result<(), SimError> {
        match &self.gate {
            Some((gate, slot)) => gate.point(*slot, op, phase),
            None => Ok(()),
        }
    }

    /// Draws a broker fault with the run's broker rate.
    fn broker_fault(&self) -> bool {
        match &self.gate {
            Some((gate, slot)) => gate.draw(*slot, gate.rates().broker),
            None => false,
        }
    }

    fn fault(&self, actor: &str, fault: Fault) {
        self.obs.fault(actor, fault);
    }

    /// Fetches up to `max` messages for the consumer `actor`: the broker may hand them out of
    /// order, or slip in one it had already seen acknowledged.
    pub fn fetch(&self, actor: &str, max: usize) -> Result<Vec<Delivery>, SimError> {
        self.point(Op::Fetch, Phase::Before)?;
        let mut batch = self.broker.fetch(max);
        if !batch.is_empty()
            && self.broker_fault()
            && let Some(old) = self.redelivery()
        {
            let at = self.pick(batch.len() + 1);
            batch.insert(at, old);
            self.fault(actor, Fault::RedeliverAcked);
        }
        if batch.len() > 1 && self.broker_fault() {
            for i in (1..batch.len()).rev() {
                let j = self.pick(i + 1);
                batch.swap(i, j);
            }
            self.fault(actor, Fault::Reorder);
        }
        self.point(Op::Fetch, Phase::After)?;
        Ok(batch)
    }

    /// A message the consumer already acknowledged, drawn from the run's generator.
    fn redelivery(&self) -> Option<Delivery> {
        let acked = self.broker.acknowledged();
        (acked > 0)
            .then(|| self.pick(acked))
            .and_then(|at| self.broker.get(at))
    }

    fn pick(&self, n: usize) -> usize {
        match &self.gate {
            Some((gate, slot)) => gate.pick(*slot, n),
            None => 0,
        }
    }

    /// Acknowledges everything before `next_offset`.
    pub fn ack(&self, next_offset: usize) -> Result<(), SimError> {
        self.point(Op::Ack, Phase::Before)?;
        self.broker.ack(next_offset);
        self.point(Op::Ack, Phase::After)
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
    /// The time on the actor's own clock.
    fn now(&self) -> u64;
    /// Where the run's databases are, to open a connection to one.
    fn location(&self) -> &Location;
    /// The clock the databases time leases by: the run's, not the actor's.
    fn db_clock(&self) -> &SharedClock;
    /// The next order the client sends, or none once it has sent them all. The client lives
    /// outside the service: a service that crashes forgets nothing the client knows.
    fn next_request(&self) -> Option<u32>;
    /// Wraps a fresh connection so that every statement is a point where faults strike.
    fn guard(&self, conn: Box<dyn Storage>) -> Result<Box<dyn Storage>, SimError> {
        Ok(conn)
    }
    /// True when the crash scheduled for `order` at `point` strikes here: it is recorded against
    /// `actor`, which must die at once. A child process never sees true: it is killed instead.
    fn crash_here(&self, actor: &str, point: CrashPoint, order: u32) -> Result<bool, SimError>;
    /// Whether a crash is scheduled for `order` at `point` and has not struck yet: what
    /// [`Outside::crash_here`] asks, without striking.
    fn crash_due(&self, point: CrashPoint, order: u32) -> bool;
    /// As [`Outside::crash_here`], at a point where `conn` has a transaction open: when the crash
    /// strikes, the transaction reaches the database first, so it dies open there.
    fn crash_mid_transaction(
        &self,
        actor: &str,
        point: CrashPoint,
        order: u32,
        conn: &mut dyn Storage,
    ) -> Result<bool, SimError> {
        if self.crash_due(point, order) {
            conn.open_on_server()?;
        }
        self.crash_here(actor, point, order)
    }
    /// Hands an event to the broker, and tells the checker who published it. Fails with
    /// [`SimError::Unacknowledged`] when the broker did not acknowledge it.
    fn publish(&self, actor: &str, event: Envelope, order: Option<u32>) -> Result<(), SimError>;
    /// A relay pass began holding `rows` until `lease_until`, on the database's clock (`u64::MAX`
    /// for row locks, which last until the pass ends); returns the pass id for
    /// [`Outside::pass_ended`].
    fn pass_started(&self, actor: &str, rows: &[i64], lease_until: u64) -> Result<u64, SimError>;
    fn pass_ended(&self, pass: u64);
    fn marked(&self, actor: &str, pass: u64, marked: usize, fenced: usize);
    fn trace(&self, actor: &str, step: &str, detail: Detail<'_>);
    fn order_handled(&self);
    /// The service answered the client: `order` is placed. A power loss may yet take it.
    fn acknowledged(&self, _order: u32) {}
}

impl Outside for World<'_> {
    fn config(&self) -> &Config {
        self.config
    }

    fn pipeline(&self) -> Pipeline {
        self.pipeline
    }

    fn now(&self) -> u64 {
        World::now(self)
    }

    fn location(&self) -> &Location {
        self.location
    }

    fn db_clock(&self) -> &SharedClock {
        self.clock
    }

    fn next_request(&self) -> Option<u32> {
        let next = self.client.fetch_add(1, Ordering::Relaxed);
        (next <= self.config.orders).then_some(next)
    }

    fn guard(&self, conn: Box<dyn Storage>) -> Result<Box<dyn Storage>, SimError> {
        match &self.gate {
            Some((gate, slot)) => Ok(Box::new(Guarded::new(conn, Arc::clone(gate), *slot)?)),
            None => Ok(conn),
        }
    }

    fn crash_here(&self, actor: &str, point: CrashPoint, order: u32) -> Result<bool, SimError> {
        let fires = self.trigger.fires(point, order);
        if fires {
            self.obs.crashed(actor, point, order);
        }
        Ok(fires)
    }

    fn crash_due(&self, point: CrashPoint, order: u32) -> bool {
        self.trigger.due(point, order)
    }

    fn publish(&self, actor: &str, event: Envelope, order: Option<u32>) -> Result<(), SimError> {
        self.point(Op::Publish, Phase::Before)?;
        if self.broker_fault() {
            self.fault(actor, Fault::PublishLost);
            return Err(SimError::Unacknowledged);
        }
        self.obs.published(actor, &event.event_id, order);
        self.broker.publish(event);
        self.bell.ring();
        if self.broker_fault() {
            self.fault(actor, Fault::PublishTimeout);
            return Err(SimError::Unacknowledged);
        }
        self.point(Op::Publish, Phase::After)
    }

    fn pass_started(&self, actor: &str, rows: &[i64], lease_until: u64) -> Result<u64, SimError> {
        Ok(self.obs.pass_started(actor, rows, lease_until))
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

    fn acknowledged(&self, order: u32) {
        self.obs.acknowledged(order);
    }
}

/// A component of the pipeline, run one step at a time by a scheduler.
pub trait Actor: Send {
    fn step(&mut self, world: &World<'_>) -> Result<Poll, SimError>;
    /// The name the trace and the report give it.
    fn name(&self) -> &str;
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
            let conn = world.guard(world.location().connect(self.db, world.db_clock())?)?;
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

    /// Drops the connection after an error, rolling back whatever was open, and opens a new one
    /// at the next call: what a component does when a call it depends on failed.
    pub fn reconnect(&mut self) {
        self.conn = None;
    }
}
