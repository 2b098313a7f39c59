//! `lab ordering`: per-aggregate order with several partitions, through a real outbox.
//!
//! Each order emits a sequence (Placed, Paid, Shipped, Delivered). The service writes each event
//! in its own transaction into the outbox, with its number within its order and a partition:
//! keyed, a hash of the order, so all of an order's events share one; not keyed, a hash of the
//! event's own id, so they scatter. Each partition has one relay, which claims only the head of
//! its partition in id order and publishes it to the partition's queue, and one consumer worker,
//! which checks each event against the last sequence number its database holds for the order.
//! An event that arrives before an earlier one of its order has been applied arrived early; what
//! the worker does with it, and with one at or below the last applied, is the `Handling`:
//!
//! - `skip`: change events, applied when newer than the last applied and skipped otherwise. An
//!   early event is applied out of order, and the earlier one it overtook is then discarded as
//!   late and never applied: skipping by sequence number is safe only for redeliveries.
//! - `park`: change events, applied strictly in sequence. An early event is parked (published
//!   again to the tail of its queue) and retried until its predecessor has been applied.
//! - `newest`: full-state events, each carrying the order's whole state. The newest version
//!   wins; an older one arriving late is superseded, and dropping it loses nothing.
//!
//! Relays and workers crash by dropping their connection: a relay with rows claimed, or with them
//! published but not yet marked sent; a worker mid-transaction, or after its commit but before its
//! acknowledgement. Each brings redeliveries. Keyed, every order's events still arrive in order,
//! however the partitions interleave; scattered, a faster partition overtakes a slower one.
//!
//! One seeded scheduler interleaves every actor on one thread, each with its own connection, so
//! on SQLite the same seed replays the same run. On PostgreSQL a crashed relay's row locks go when
//! the server notices its connection has closed, a moment no seed decides. Until then the
//! restarted relay finds its partition's head held and tries again later, so a replay may
//! interleave, and count, a little differently. What holds does not change.

use std::path::Path;
use std::sync::Arc;

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::sim::broker::Broker;
use crate::sim::clock::{Clock, SimClock};
use crate::sim::crash::runner::{Poll, run_seeded};
use crate::sim::error::SimError;
use crate::sim::model::{Envelope, mix, order_ref, timestamp, uuid_text};
use crate::sim::progress::Progress;
use crate::sim::storage::sqlite::sql::Durability;
use crate::sim::storage::{Backend, Db, Storage};

/// Bumped when a key of the `--json` output changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 2;

const STEPS: [&str; 4] = ["OrderPlaced", "OrderPaid", "OrderShipped", "OrderDelivered"];

/// Orders in progress at once: an order's next event follows a few dozen others, as in a shop.
const IN_FLIGHT: usize = 32;
/// The most events the service writes in one turn, each in its own transaction.
const SERVICE_BURST: u32 = 48;
/// Rows a relay claims at a time.
const RELAY_BATCH: u32 = 64;
/// The most events a worker applies in one transaction.
const WORKER_BATCH: usize = 8;
/// The chance that a relay's pass, or a worker's batch, ends in a crash.
const CRASH_RATE: f64 = 0.03;
/// Scheduler ticks an idle relay or worker waits before it looks again.
const POLL: u64 = 8;
/// Ticks a crashed relay or worker stays down.
const RESTART: u64 = 20;
/// A relay's claim lease on SQLite, in ticks; a restarted relay gives its dead claims back first.
const LEASE: u64 = 1_000;

/// What the events carry and how the consumer treats one that arrives out of order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Handling {
    /// Change events; apply what is newer than the last applied, skip the rest.
    Skip,
    /// Change events; park an early one and retry it once its predecessor is applied.
    Park,
    /// Full-state events; the newest version wins and older ones are dropped.
    Newest,
}

impl Handling {
    pub fn name(self) -> &'static str {
        match self {
            Handling::Skip => "skip",
            Handling::Park => "park",
            Handling::Newest => "newest",
        }
    }
}

/// The lab's options, checked by the command.
#[derive(Clone, Debug)]
pub struct OrderingOptions {
    pub seed: u64,
    pub orders: u32,
    pub partitions: u32,
    pub handling: Handling,
    /// A PostgreSQL server to run on instead of SQLite files.
    pub db: Option<String>,
}

/// One run's outcome.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OrderingRun {
    pub keyed: bool,
    /// Events the service committed to the outbox.
    pub events: u64,
    /// Events that arrived, the first time, before an earlier event of the same order had been
    /// applied.
    pub violations: u64,
    /// Change events applied while an earlier event of their order was still missing (`skip`).
    pub applied_out_of_order: u64,
    /// Change events that arrived after a later one of their order had been applied, and were
    /// discarded without ever being applied (`skip`): their change is lost.
    pub late_discarded: u64,
    /// Early change events parked and retried, counting each retry (`park`).
    pub parked: u64,
    /// Full states older than the one applied, dropped harmlessly (`newest`).
    pub superseded: u64,
    /// Orders with an event applied out of order or discarded as late.
    pub orders_affected: u64,
    /// Deliveries of an event already applied: redeliveries, skipped.
    pub redeliveries_skipped: u64,
    /// Worker crashes, each bringing its batch again.
    pub crashes: u64,
    /// Relay crashes, with rows claimed or published but not yet marked sent.
    pub relay_crashes: u64,
    /// Committed events no worker ever received.
    pub lost: u64,
    /// Orders whose final state misses a change: for change events, any event never applied;
    /// for full-state events, a final state that is not the last one.
    pub orders_wrong_at_end: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct OrderingReport {
    pub schema_version: u32,
    /// `sqlite` or `postgres`: which database produced these figures.
    pub backend: &'static str,
    pub seed: u64,
    pub orders: u32,
    pub partitions: u32,
    pub handling: Handling,
    pub keyed: OrderingRun,
    pub unkeyed: OrderingRun,
}

/// Runs the orders keyed by aggregate id, then scattered, each through its own outbox. Progress
/// counts events received, `2 × 4 × orders` in all.
pub fn run(options: &OrderingOptions, progress: &dyn Progress) -> Result<OrderingReport, SimError> {
    let (_temp, dir) = crate::sim::storage::sqlite::files::lab_dir(None)?;
    Ok(OrderingReport {
        schema_version: SCHEMA_VERSION,
        backend: if options.db.is_some() {
            "postgres"
        } else {
            "sqlite"
        },
        seed: options.seed,
        orders: options.orders,
        partitions: options.partitions,
        handling: options.handling,
        keyed: run_one(options, &dir, true, progress)?,
        unkeyed: run_one(options, &dir, false, progress)?,
    })
}

/// The backend for one run: SQLite files in `dir`, or schemas on the server, dropped afterwards.
fn backend(options: &OrderingOptions, dir: &Path, tag: &str) -> Result<Backend, SimError> {
    match &options.db {
        Some(url) => {
            Ok(
                Backend::postgres(url, &format!("ordering{}", std::process::id()), tag, false)?
                    .lazy_commits(),
            )
        }
        // Only connections crash here, never the machine: no fsync needed.
        None => Ok(Backend::sqlite(dir, tag, Durability::Off)),
    }
}

/// One event the service will write.
struct Planned {
    order: u32,
    sequence: u32,
    partition: u32,
}

/// The order the service writes events in: each order's steps in sequence, interleaved with the
/// other orders in flight.
fn plan(
    rng: &mut ChaCha8Rng,
    seed: u64,
    orders: u32,
    partitions: u32,
    keyed: bool,
) -> Vec<Planned> {
    let total = orders as usize * STEPS.len();
    let mut planned = Vec::with_capacity(total);
    let mut open: Vec<(u32, u32)> = Vec::with_capacity(IN_FLIGHT);
    let mut next_order = 1;
    while planned.len() < total {
        while open.len() < IN_FLIGHT && next_order <= orders {
            open.push((next_order, 1));
            next_order += 1;
        }
        let i = rng.random_range(0..open.len());
        let (order, sequence) = open[i];
        let key = if keyed {
            mix(u64::from(order))
        } else {
            event_hash(seed, order, sequence)
        };
        planned.push(Planned {
            order,
            sequence,
            partition: (key % u64::from(partitions)) as u32,
        });
        if sequence as usize == STEPS.len() {
            open.swap_remove(i);
        } else {
            open[i].1 += 1;
        }
    }
    planned
}

/// The bits an event's id is made from.
fn event_hash(seed: u64, order: u32, sequence: u32) -> u64 {
    mix(seed ^ mix((u64::from(order) << 3) | u64::from(sequence)))
}

/// What a step event carries: the order, and the event's number within it; a full-state event
/// also carries the order's whole state after the step.
#[derive(Serialize, Deserialize)]
struct StepPayload {
    order_id: String,
    sequence: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state: Option<OrderState>,
}

/// An order's whole state, as a full-state event carries it.
#[derive(Serialize, Deserialize)]
struct OrderState {
    status: String,
    paid: bool,
    shipped: bool,
    delivered: bool,
}

impl OrderState {
    /// The state after `sequence` steps.
    fn after(sequence: u32) -> Self {
        OrderState {
            status: STEPS[sequence as usize - 1].to_string(),
            paid: sequence >= 2,
            shipped: sequence >= 3,
            delivered: sequence >= 4,
        }
    }
}

/// The event the service writes for `planned`, at `now`; the same for the same seed.
fn envelope(seed: u64, planned: &Planned, now: u64, handling: Handling) -> Envelope {
    let h = event_hash(seed, planned.order, planned.sequence);
    let payload = StepPayload {
        order_id: order_ref(planned.order),
        sequence: planned.sequence,
        state: (handling == Handling::Newest).then(|| OrderState::after(planned.sequence)),
    };
    Envelope {
        event_id: uuid_text(
            (u64::from(planned.order) << 32)
                | (u64::from(planned.sequence) << 16)
                | 0x7000
                | (h >> 52),
            0x8000_0000_0000_0000 | (h & 0x3fff_ffff_ffff_ffff),
        ),
        event_type: STEPS[planned.sequence as usize - 1].to_string(),
        aggregate_id: payload.order_id.clone(),
        occurred_at: timestamp(now),
        // The payload's schema version; the event's place in its order is `sequence`.
        version: 1,
        // A struct of a string and an integer always serialises.
        payload: serde_json::to_string(&payload).unwrap_or_default(),
    }
}

/// What every actor of one run steps against.
struct Lab<'a> {
    backend: &'a Backend,
    seed: u64,
    /// The scheduler's clock, in ticks: the time every row and lease is stamped with.
    clock: &'a SimClock,
    /// One queue per partition, with at-least-once delivery to its worker.
    queues: &'a [Broker],
    run: OrderingRun,
    /// Orders with a violation a worker committed.
    affected: std::collections::BTreeSet<u32>,
    /// Per order, a bit for each step some worker has received and committed.
    received: Vec<u8>,
    /// Per order, a bit for each step a worker has applied and committed.
    applied: Vec<u8>,
    handling: Handling,
    progress: &'a dyn Progress,
}

impl Lab<'_> {
    fn tick(&self) -> u64 {
        self.clock.now()
    }
}

/// An idle relay or worker looks again after [`POLL`] ticks.
fn idle(lab: &Lab<'_>) -> Poll {
    Poll::Idle(lab.tick() + POLL)
}

/// A crashed relay or worker is back after [`RESTART`] ticks.
fn crashed(lab: &Lab<'_>) -> Poll {
    Poll::Crashed(lab.tick() + RESTART)
}

/// The order service: writes its planned events one transaction each, a burst per turn.
struct Service {
    conn: Box<dyn Storage>,
    plan: Vec<Planned>,
    next: usize,
}

impl Service {
    fn step(&mut self, lab: &mut Lab<'_>, rng: &mut ChaCha8Rng) -> Result<Poll, SimError> {
        let burst = rng.random_range(1..=SERVICE_BURST);
        for _ in 0..burst {
            let Some(planned) = self.plan.get(self.next) else {
                break;
            };
            let event = envelope(lab.seed, planned, lab.tick(), lab.handling);
            self.conn.begin()?;
            self.conn
                .insert_sequenced(&event, planned.partition, planned.sequence, lab.tick())?;
            self.conn.commit()?;
            self.next += 1;
            lab.run.events += 1;
        }
        Ok(if self.next == self.plan.len() {
            Poll::Done
        } else {
            Poll::Ready
        })
    }
}

/// A partition's relay: claims the partition's head, publishes it to the partition's queue,
/// marks it sent.
struct Relay {
    partition: u32,
    conn: Option<Box<dyn Storage>>,
    incarnation: u32,
    passes: u64,
}

impl Relay {
    fn step(&mut self, lab: &mut Lab<'_>, rng: &mut ChaCha8Rng) -> Result<Poll, SimError> {
        let p = self.partition;
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => {
                let mut conn = lab.backend.connect(Db::Service)?;
                // A restarted relay knows its earlier incarnations' claims are dead: on SQLite it
                // takes their leases back; on PostgreSQL their locks die with their connections.
                conn.release_claims(&format!("relay-{p}."))?;
                self.conn.insert(conn)
            }
        };
        self.passes += 1;
        let token = format!("relay-{p}.{}.{}", self.incarnation, self.passes);
        let now = lab.tick();
        let rows = conn.claim_partition(p, &token, LEASE, RELAY_BATCH)?.rows;
        if rows.is_empty() {
            return Ok(idle(lab));
        }
        let crash = rng.random_bool(CRASH_RATE);
        let after_publish = rng.random_bool(0.5);
        if crash && !after_publish {
            return Ok(self.crash(lab));
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        lab.queues[p as usize].publish_all(rows.into_iter().map(|r| r.event));
        if crash {
            // Published, not marked: the next incarnation publishes the same rows again.
            return Ok(self.crash(lab));
        }
        conn.mark_claimed_sent(&token, &ids, now)?;
        Ok(Poll::Ready)
    }

    /// Dies, dropping the connection with its claim.
    fn crash(&mut self, lab: &mut Lab<'_>) -> Poll {
        self.conn = None;
        self.incarnation += 1;
        lab.run.relay_crashes += 1;
        crashed(lab)
    }
}

/// A partition's consumer worker: applies a batch from the partition's queue in one transaction,
/// checking each event's sequence number against the last one applied for its order.
struct Worker {
    partition: u32,
    conn: Option<Box<dyn Storage>>,
}

impl Worker {
    fn step(&mut self, lab: &mut Lab<'_>, rng: &mut ChaCha8Rng) -> Result<Poll, SimError> {
        let max = rng.random_range(1..=WORKER_BATCH);
        let queue = &lab.queues[self.partition as usize];
        let batch = queue.fetch(max);
        let Some(last) = batch.last() else {
            return Ok(idle(lab));
        };
        let next_offset = last.offset + 1;
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => self.conn.insert(lab.backend.connect(Db::Billing)?),
        };
        let crash = rng.random_bool(CRASH_RATE);
        let before_commit = rng.random_bool(0.5);
        let handling = lab.handling;
        let mut tally = Tally::default();
        let mut affected = Vec::new();
        let mut received = Vec::with_capacity(batch.len());
        // Steps applied in this transaction, by order: they count once it commits.
        let mut applied_now: Vec<(u32, u8)> = Vec::new();
        let mut parked = Vec::new();
        conn.begin()?;
        for delivery in &batch {
            let event = &delivery.event;
            let step: StepPayload =
                serde_json::from_str(&event.payload).map_err(|err| SimError::Payload {
                    event_id: event.event_id.clone(),
                    err,
                })?;
            if !(1..=STEPS.len() as u32).contains(&step.sequence) {
                return Err(SimError::Internal(
                    "a step event's sequence number is out of range",
                ));
            }
            let order = event.order_number().unwrap_or_default();
            let bit = 1u8 << (step.sequence - 1);
            let first_arrival = lab
                .received
                .get(order as usize)
                .is_some_and(|bits| bits & bit == 0)
                && !received.contains(&(order, step.sequence));
            received.push((order, step.sequence));
            let done_before = lab.applied.get(order as usize).copied().unwrap_or(0)
                | applied_now
                    .iter()
                    .filter(|(o, _)| *o == order)
                    .fold(0, |bits, (_, b)| bits | b);
            let applied = conn.applied_sequence(&event.aggregate_id)?;
            if step.sequence <= applied {
                if done_before & bit != 0 {
                    tally.redeliveries += 1;
                } else if handling == Handling::Newest {
                    // A newer whole state is already applied, and it includes this change.
                    tally.superseded += u64::from(first_arrival);
                } else {
                    // A change that was overtaken: discarded, never applied.
                    tally.late += u64::from(first_arrival);
                    affected.push(order);
                }
                continue;
            }
            if step.sequence != applied + 1 {
                tally.early += u64::from(first_arrival);
                match handling {
                    Handling::Park => {
                        tally.parked += 1;
                        parked.push(Envelope::clone(event));
                        continue;
                    }
                    Handling::Skip => {
                        tally.out_of_order += 1;
                        affected.push(order);
                    }
                    // A whole state may jump ahead: it holds every earlier change.
                    Handling::Newest => {}
                }
            }
            conn.apply_sequence(
                &event.aggregate_id,
                step.sequence,
                &event.event_type,
                lab.tick(),
            )?;
            applied_now.push((order, bit));
        }
        if crash && before_commit {
            // Dies mid-transaction: the database rolls it back, and the batch comes again.
            self.conn = None;
            lab.run.crashes += 1;
            return Ok(crashed(lab));
        }
        conn.commit()?;
        lab.run.violations += tally.early;
        lab.run.applied_out_of_order += tally.out_of_order;
        lab.run.late_discarded += tally.late;
        lab.run.parked += tally.parked;
        lab.run.superseded += tally.superseded;
        lab.run.redeliveries_skipped += tally.redeliveries;
        lab.affected.extend(affected);
        for (order, bit) in applied_now.iter().copied() {
            if let Some(bits) = lab.applied.get_mut(order as usize) {
                *bits |= bit;
            }
        }
        let mut first = 0;
        for (order, sequence) in received {
            if let Some(bits) = lab.received.get_mut(order as usize) {
                first += u64::from(*bits & (1 << (sequence - 1)) == 0);
                *bits |= 1 << (sequence - 1);
            }
        }
        lab.progress.advance(first);
        // Parked events go to the back of the queue before the batch is acknowledged, so a
        // crash in between brings the batch again rather than losing them.
        let only_parked = !parked.is_empty() && parked.len() == batch.len();
        queue.publish_all(parked);
        if crash {
            // Committed, not acknowledged: the batch comes again, every event a duplicate.
            self.conn = None;
            lab.run.crashes += 1;
            return Ok(crashed(lab));
        }
        queue.ack(next_offset);
        // A batch of nothing but early events waits for the other partitions to catch up.
        Ok(if only_parked { idle(lab) } else { Poll::Ready })
    }
}

/// What one worker batch saw, counted once it commits.
#[derive(Default)]
struct Tally {
    early: u64,
    out_of_order: u64,
    late: u64,
    parked: u64,
    superseded: u64,
    redeliveries: u64,
}

enum Actor {
    Service(Service),
    Relay(Relay),
    Worker(Worker),
}

impl Actor {
    fn step(&mut self, lab: &mut Lab<'_>, rng: &mut ChaCha8Rng) -> Result<Poll, SimError> {
        match self {
            Actor::Service(service) => service.step(lab, rng),
            Actor::Relay(relay) => relay.step(lab, rng),
            Actor::Worker(worker) => worker.step(lab, rng),
        }
    }
}

fn run_one(
    options: &OrderingOptions,
    dir: &Path,
    keyed: bool,
    progress: &dyn Progress,
) -> Result<OrderingRun, SimError> {
    let tag = if keyed { "keyed" } else { "unkeyed" };
    // The scheduler's clock, which the database times the relays' leases by too.
    let clock = Arc::new(SimClock::default());
    let backend = backend(options, dir, tag)?.timed_by(clock.clone());
    backend.create_partitioned()?;
    let mut checker = backend.connect(Db::Service)?;
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed ^ if keyed { 0x6b } else { 0x75 });
    let plan = plan(
        &mut rng,
        options.seed,
        options.orders,
        options.partitions,
        keyed,
    );
    let queues: Vec<Broker> = (0..options.partitions).map(|_| Broker::new()).collect();
    let mut lab = Lab {
        backend: &backend,
        seed: options.seed,
        clock: &clock,
        queues: &queues,
        run: OrderingRun {
            keyed,
            events: 0,
            violations: 0,
            applied_out_of_order: 0,
            late_discarded: 0,
            parked: 0,
            superseded: 0,
            orders_affected: 0,
            redeliveries_skipped: 0,
            crashes: 0,
            relay_crashes: 0,
            lost: 0,
            orders_wrong_at_end: 0,
        },
        affected: std::collections::BTreeSet::new(),
        received: vec![0; options.orders as usize + 1],
        applied: vec![0; options.orders as usize + 1],
        handling: options.handling,
        progress,
    };
    let mut actors = vec![Actor::Service(Service {
        conn: backend.connect(Db::Service)?,
        plan,
        next: 0,
    })];
    for partition in 0..options.partitions {
        actors.push(Actor::Relay(Relay {
            partition,
            conn: None,
            incarnation: 0,
            passes: 0,
        }));
        actors.push(Actor::Worker(Worker {
            partition,
            conn: None,
        }));
    }
    let limit = 100_000 + 100 * lab.received.len() as u64;
    // Drained once the service is done, the outbox has nothing unsent and every queue is
    // acknowledged. Unsent first, then the queues: with nothing unsent, every row was published
    // before the queues are read.
    let settled = || -> Result<bool, SimError> {
        Ok(checker.unsent_count()? == 0 && queues.iter().all(|q| q.backlog() == 0))
    };
    run_seeded(
        &mut actors,
        &mut rng,
        &clock,
        limit,
        |actor, rng| actor.step(&mut lab, rng),
        settled,
    )?;
    let mut run = lab.run;
    run.orders_affected = lab.affected.len() as u64;
    run.lost = lab
        .received
        .iter()
        .skip(1)
        .map(|bits| u64::from(STEPS.len() as u32 - bits.count_ones()))
        .sum();
    let last = 1u8 << (STEPS.len() - 1);
    let every = (1u8 << STEPS.len()) - 1;
    run.orders_wrong_at_end = lab.applied[1..]
        .iter()
        .filter(|&&bits| match options.handling {
            Handling::Newest => bits & last == 0,
            Handling::Skip | Handling::Park => bits != every,
        })
        .count() as u64;
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(seed: u64, orders: u32, partitions: u32) -> OrderingReport {
        handled(seed, orders, partitions, Handling::Skip)
    }

    fn handled(seed: u64, orders: u32, partitions: u32, handling: Handling) -> OrderingReport {
        let options = OrderingOptions {
            seed,
            orders,
            partitions,
            handling,
            db: None,
        };
        run(&options, &crate::sim::progress::NoProgress).unwrap()
    }

    #[test]
    fn keying_by_aggregate_keeps_every_order_in_sequence_and_scattering_does_not() {
        for seed in 0..12 {
            let r = sqlite(seed, 500, 4);
            assert_eq!(r.backend, "sqlite");
            for run in [&r.keyed, &r.unkeyed] {
                assert_eq!(run.events, 2000, "seed {seed}");
                assert_eq!(run.lost, 0, "seed {seed}: an event never arrived");
            }
            assert_eq!(r.keyed.violations, 0, "seed {seed}: keyed order broke");
            assert!(
                r.keyed.crashes > 0
                    && r.keyed.relay_crashes > 0
                    && r.keyed.redeliveries_skipped > 0,
                "seed {seed}: crashes and redeliveries happened: {:?}",
                r.keyed
            );
            assert!(
                r.unkeyed.violations > 0,
                "seed {seed}: unkeyed stayed in order by luck"
            );
        }
        // One partition is trivially ordered, keyed or not.
        assert_eq!(sqlite(1, 200, 1).unkeyed.violations, 0);
    }

    #[test]
    fn skipping_change_events_by_sequence_applies_some_out_of_order_and_never_applies_others() {
        for seed in 0..4 {
            let r = sqlite(seed, 400, 4);
            let (k, u) = (&r.keyed, &r.unkeyed);
            assert_eq!(
                (
                    k.applied_out_of_order,
                    k.late_discarded,
                    k.orders_wrong_at_end
                ),
                (0, 0, 0),
                "seed {seed}: {k:?}"
            );
            assert!(u.applied_out_of_order > 0, "seed {seed}: {u:?}");
            // Every overtaken change is discarded, never applied, though none was lost in transit.
            assert!(u.late_discarded > 0 && u.lost == 0, "seed {seed}: {u:?}");
            assert!(u.orders_wrong_at_end > 0, "seed {seed}: {u:?}");
            assert!(
                u.orders_wrong_at_end <= u.orders_affected,
                "seed {seed}: {u:?}"
            );
            assert_eq!((u.parked, u.superseded), (0, 0));
        }
    }

    #[test]
    fn parking_early_change_events_applies_every_one_in_order() {
        for seed in 0..4 {
            let r = handled(seed, 400, 4, Handling::Park);
            let u = &r.unkeyed;
            assert!(
                u.violations > 0,
                "seed {seed}: nothing arrived early: {u:?}"
            );
            assert!(u.parked >= u.violations, "seed {seed}: {u:?}");
            assert_eq!(
                (
                    u.applied_out_of_order,
                    u.late_discarded,
                    u.orders_wrong_at_end,
                    u.lost
                ),
                (0, 0, 0, 0),
                "seed {seed}: {u:?}"
            );
            assert_eq!(r.keyed.parked, 0, "seed {seed}: keyed never waits");
        }
    }

    #[test]
    fn full_state_events_let_the_newest_win_and_drop_older_ones_harmlessly() {
        for seed in 0..4 {
            let r = handled(seed, 400, 4, Handling::Newest);
            let u = &r.unkeyed;
            assert!(u.violations > 0 && u.superseded > 0, "seed {seed}: {u:?}");
            assert_eq!(
                (
                    u.applied_out_of_order,
                    u.late_discarded,
                    u.parked,
                    u.orders_wrong_at_end
                ),
                (0, 0, 0, 0),
                "seed {seed}: {u:?}"
            );
        }
        let payload = envelope(
            1,
            &Planned {
                order: 3,
                sequence: 3,
                partition: 0,
            },
            0,
            Handling::Newest,
        )
        .payload;
        assert!(payload.contains(r#""status":"OrderShipped""#), "{payload}");
        assert!(payload.contains(r#""paid":true"#), "{payload}");
    }

    #[test]
    fn the_same_seed_replays_the_same_run_on_sqlite() {
        let (a, b) = (sqlite(7, 150, 3), sqlite(7, 150, 3));
        assert_eq!((&a.keyed, &a.unkeyed), (&b.keyed, &b.unkeyed));
        assert_ne!(sqlite(8, 150, 3).unkeyed, a.unkeyed);
    }

    #[test]
    fn the_plan_writes_each_order_in_sequence_and_keys_it_to_one_partition() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let planned = plan(&mut rng, 1, 100, 4, true);
        let mut next = vec![1; 101];
        let mut partition = vec![None; 101];
        for p in &planned {
            assert_eq!(p.sequence, next[p.order as usize]);
            next[p.order as usize] += 1;
            assert_eq!(
                *partition[p.order as usize].get_or_insert(p.partition),
                p.partition
            );
        }
        assert!(next[1..].iter().all(|&n| n == 5));
    }
}
