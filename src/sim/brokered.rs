//! The crash lab's two pipelines on a real NATS JetStream broker, in real time: the relay
//! publishes with an ack and a `Nats-Msg-Id`, the consumer pulls from a durable consumer and
//! acknowledges after its transaction. Crashes are drawn from the seed: a relay that dies after
//! the broker stored its message but before it marked the row sends it again; a consumer that
//! dies after its commit but before its ack gets the message again after `AckWait`. The report
//! says which duplicates the broker's dedupe window absorbed and which the inbox did, and shows a
//! late duplicate, outside the window, that only the inbox stops.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};
use serde::Serialize;

use crate::broker::run::{RunStreams, names as stream_names, run_tag};
use crate::broker::{BrokerError, BrokerUrl, Retention, Session, StreamSpec};
use crate::sim::crash::mutant::Mutant;
use crate::sim::error::SimError;
use crate::sim::model::{Envelope, Order, OrderPlacedPayload, Pipeline, order_ref};
use crate::sim::storage::Db;
use crate::sim::storage::backend::Backend;
use crate::sim::storage::sqlite::sql::Durability;

/// Bumped when a key of the `--json` output changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;
/// How long the consumer's unacknowledged message waits before JetStream sends it again.
pub const ACK_WAIT: Duration = Duration::from_secs(1);
/// The stream's dedupe window: short, so that the late duplicate can fall outside it.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(1);
/// Rows a relay pass reads, and messages a fetch asks for.
const BATCH: u32 = 10;
/// How long the run waits without progress before it calls the broker stalled.
const STALL_LIMIT: Duration = Duration::from_secs(20);

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
    /// Where the pipelines' databases lived: `sqlite` or `postgres`.
    pub storage: &'static str,
    pub ack_wait_ms: u64,
    pub duplicate_window_ms: u64,
    pub naive: BrokeredPipeline,
    pub outbox: BrokeredPipeline,
    /// Whether the run's streams were deleted at its end.
    pub streams_deleted: bool,
}

/// Which orders crash where, drawn from the seed; each point strikes at least once.
struct Plan {
    publisher: HashSet<u32>,
    consumer: HashSet<u32>,
}

impl Plan {
    fn draw(seed: u64, pipeline: Pipeline, orders: u32, crash: bool, rate: f64) -> Plan {
        if !crash {
            return Plan {
                publisher: HashSet::new(),
                consumer: HashSet::new(),
            };
        }
        let salt: u64 = match pipeline {
            Pipeline::Naive => 0x6e_61_69_76,
            Pipeline::Outbox => 0x6f_75_74_62,
        };
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed ^ salt ^ 0xb0_7e);
        let mut pick = |set: &mut HashSet<u32>| {
            for n in 1..=orders {
                if rng.random_bool(rate.clamp(0.0, 1.0)) {
                    set.insert(n);
                }
            }
            set.insert(rng.random_range(1..=orders));
        };
        let (mut publisher, mut consumer) = (HashSet::new(), HashSet::new());
        pick(&mut publisher);
        pick(&mut consumer);
        Plan {
            publisher,
            consumer,
        }
    }
}

/// Runs the naive pipeline, then the outbox, each on a stream of its own.
pub fn run(url: &BrokerUrl, options: &BrokeredOptions) -> Result<BrokeredReport, BrokeredError> {
    let session = Session::connect(url)?;
    let tag = run_tag("sim");
    let keep = options.keep_dir.is_some();
    // A scratch directory the Ctrl-C handler removes too, unless the databases are kept.
    let (_scratch, dir) = crate::sim::storage::sqlite::files::lab_dir(options.keep_dir.as_deref())?;
    let dir: &Path = &dir;
    let mut streams = RunStreams::new(&session, keep);
    let naive = run_pipeline(
        url,
        &session,
        &mut streams,
        &tag,
        dir,
        Pipeline::Naive,
        options,
    )?;
    let outbox = run_pipeline(
        url,
        &session,
        &mut streams,
        &tag,
        dir,
        Pipeline::Outbox,
        options,
    )?;
    streams.finish()?;
    Ok(BrokeredReport {
        schema_version: SCHEMA_VERSION,
        seed: options.seed,
        orders: options.orders,
        broker: url.to_string(),
        dedupe: options.dedupe,
        storage: crate::sim::storage::backend::backend_name(options.db.as_deref()),
        ack_wait_ms: ACK_WAIT.as_millis() as u64,
        duplicate_window_ms: DUPLICATE_WINDOW.as_millis() as u64,
        naive,
        outbox,
        streams_deleted: !keep,
    })
}

/// What the actors count between them.
#[derive(Default)]
struct Counts {
    publishes: AtomicU64,
    publisher_crashes: AtomicU64,
    absorbed_by_broker: AtomicU64,
    /// Messages the stream stored: what the consumer must see through.
    stored: AtomicU64,
    consumer_crashes: AtomicU64,
    redelivered: AtomicU64,
    absorbed_by_inbox: AtomicU64,
    producers_done: AtomicBool,
    /// When something last moved, to tell a stalled broker from a slow one.
    progress: Mutex<Option<Instant>>,
}

impl Counts {
    fn moved(&self) {
        *self
            .progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
    }

    fn stalled(&self) -> bool {
        self.progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some_and(|at| at.elapsed() > STALL_LIMIT)
    }
}

fn run_pipeline(
    url: &BrokerUrl,
    session: &Session,
    streams: &mut RunStreams<'_>,
    tag: &str,
    dir: &Path,
    pipeline: Pipeline,
    options: &BrokeredOptions,
) -> Result<BrokeredPipeline, BrokeredError> {
    let name = match pipeline {
        Pipeline::Naive => "naive",
        Pipeline::Outbox => "outbox",
    };
    let (stream, subject) = stream_names(tag, name);
    streams.create(&StreamSpec {
        name: &stream,
        subject: &subject,
        retention: Retention::Limits,
        duplicate_window: DUPLICATE_WINDOW,
    })?;
    session.create_consumer(&stream, "billing", ACK_WAIT)?;
    let backend = match &options.db {
        // The lab crashes its own connections, never the server: commits need not wait for WAL.
        Some(db) => Backend::postgres(db, tag, name, options.keep_dir.is_some())?.lazy_commits(),
        None => Backend::sqlite(dir, &format!("broker-{name}"), Durability::Off),
    };
    // Both pipelines' consumers dedupe here: the broker's redeliveries are the lesson, and the
    // naive run's losses show through them.
    backend.create_with(pipeline == Pipeline::Outbox, true)?;
    let plan = Plan::draw(
        options.seed,
        pipeline,
        options.orders,
        options.crash,
        options.crash_rate,
    );
    let counts = Counts::default();
    counts.moved();
    let first_sent: Mutex<Option<(Envelope, Instant)>> = Mutex::new(None);
    let msg_id = |e: &Envelope| options.dedupe.then(|| e.event_id.clone());

    std::thread::scope(|scope| -> Result<(), BrokeredError> {
        let consumer =
            scope.spawn(|| consume(url, &backend, &stream, &plan, &counts, options.mutant));
        let produced = match pipeline {
            Pipeline::Naive => naive_service(
                url,
                &backend,
                &subject,
                options,
                &plan,
                &counts,
                &first_sent,
                &msg_id,
            ),
            Pipeline::Outbox => outbox_service(&backend, options).and_then(|()| {
                relay(
                    url,
                    &backend,
                    &subject,
                    &plan,
                    &counts,
                    &first_sent,
                    &msg_id,
                    options.mutant,
                )
            }),
        };
        counts.producers_done.store(true, Ordering::SeqCst);
        let consumed = consumer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        produced?;
        consumed
    })?;

    let late = match (
        pipeline,
        first_sent
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    ) {
        (Pipeline::Outbox, Some((event, at))) => Some(late_duplicate(
            url,
            &backend,
            &stream,
            &subject,
            &event,
            at,
            options.dedupe,
        )?),
        _ => None,
    };
    let (lost, phantom, double_applied, committed) = check(&backend)?;
    Ok(BrokeredPipeline {
        pipeline,
        orders_committed: committed,
        publishes: counts.publishes.load(Ordering::SeqCst),
        publisher_crashes: counts.publisher_crashes.load(Ordering::SeqCst),
        absorbed_by_broker: counts.absorbed_by_broker.load(Ordering::SeqCst),
        consumer_crashes: counts.consumer_crashes.load(Ordering::SeqCst),
        redelivered: counts.redelivered.load(Ordering::SeqCst),
        absorbed_by_inbox: counts.absorbed_by_inbox.load(Ordering::SeqCst),
        late_duplicate: late,
        lost,
        phantom,
        double_applied,
        stream,
    })
}

/// Records a publish's ack in the counts; the first one sent is kept for the late duplicate.
fn publish(
    session: &Session,
    subject: &str,
    event: &Envelope,
    msg_id: Option<String>,
    counts: &Counts,
    first_sent: &Mutex<Option<(Envelope, Instant)>>,
) -> Result<(), BrokeredError> {
    let payload = serde_json::to_vec(event).unwrap_or_default();
    let ack = session.publish(subject, msg_id.as_deref(), &payload)?;
    counts.publishes.fetch_add(1, Ordering::SeqCst);
    if ack.duplicate {
        counts.absorbed_by_broker.fetch_add(1, Ordering::SeqCst);
    } else {
        counts.stored.fetch_add(1, Ordering::SeqCst);
    }
    first_sent
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get_or_insert_with(|| (event.clone(), Instant::now()));
    counts.moved();
    Ok(())
}

/// The dual write: commit the order, then publish. A crash planned for the order strikes after
/// the commit and before the publish, and the event is never sent.
#[allow(clippy::too_many_arguments)]
fn naive_service(
    url: &BrokerUrl,
    backend: &Backend,
    subject: &str,
    options: &BrokeredOptions,
    plan: &Plan,
    counts: &Counts,
    first_sent: &Mutex<Option<(Envelope, Instant)>>,
    msg_id: &dyn Fn(&Envelope) -> Option<String>,
) -> Result<(), BrokeredError> {
    let session = Session::connect(url)?;
    let mut db = backend.connect(Db::Service)?;
    for n in 1..=options.orders {
        let order = Order::generate(options.seed, n);
        let event = Envelope::order_placed(options.seed, Pipeline::Naive, &order, u64::from(n));
        db.begin()?;
        db.insert_order(&order, u64::from(n))?;
        db.commit()?;
        if plan.publisher.contains(&n) {
            counts.publisher_crashes.fetch_add(1, Ordering::SeqCst);
            db = backend.connect(Db::Service)?;
            continue;
        }
        publish(
            &session,
            subject,
            &event,
            msg_id(&event),
            counts,
            first_sent,
        )?;
    }
    Ok(())
}

/// The outbox service: the order and its event in one transaction.
fn outbox_service(backend: &Backend, options: &BrokeredOptions) -> Result<(), BrokeredError> {
    let mut db = backend.connect(Db::Service)?;
    for n in 1..=options.orders {
        let order = Order::generate(options.seed, n);
        let event = Envelope::order_placed(options.seed, Pipeline::Outbox, &order, u64::from(n));
        db.begin()?;
        db.insert_order(&order, u64::from(n))?;
        db.insert_outbox(&event, u64::from(n))?;
        db.commit()?;
    }
    Ok(())
}

/// The relay: publishes unsent rows with an ack, then marks them sent. A crash planned for an
/// order strikes once, after the broker stored its message and before the row is marked: the
/// restarted relay reads the row again and sends it again. With [`Mutant::MarkBeforePublish`]
/// the rows are marked first, and the crash strikes before the publish: the event is lost.
#[allow(clippy::too_many_arguments)]
fn relay(
    url: &BrokerUrl,
    backend: &Backend,
    subject: &str,
    plan: &Plan,
    counts: &Counts,
    first_sent: &Mutex<Option<(Envelope, Instant)>>,
    msg_id: &dyn Fn(&Envelope) -> Option<String>,
    mutant: Mutant,
) -> Result<(), BrokeredError> {
    let session = Session::connect(url)?;
    let mut db = backend.connect(Db::Service)?;
    let mut crashed: HashSet<u32> = HashSet::new();
    let mark_first = mutant == Mutant::MarkBeforePublish;
    'passes: loop {
        let rows = db.select_unsent(BATCH)?;
        if rows.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        if mark_first {
            db.mark_sent(&ids, 0)?;
        }
        for row in &rows {
            let order = row.event.order_number().unwrap_or_default();
            if mark_first && plan.publisher.contains(&order) && crashed.insert(order) {
                counts.publisher_crashes.fetch_add(1, Ordering::SeqCst);
                db = backend.connect(Db::Service)?;
                continue 'passes;
            }
            publish(
                &session,
                subject,
                &row.event,
                msg_id(&row.event),
                counts,
                first_sent,
            )?;
            if plan.publisher.contains(&order) && crashed.insert(order) {
                counts.publisher_crashes.fetch_add(1, Ordering::SeqCst);
                db = backend.connect(Db::Service)?;
                continue 'passes;
            }
        }
        if !mark_first {
            db.mark_sent(&ids, 0)?;
        }
    }
}

/// The consumer: pulls, applies each event in a transaction with its inbox row, and acks after
/// the commit. A crash planned for an order strikes once, between the commit and the ack; with
/// [`Mutant::AckBeforeCommit`], between the ack and the transaction, which never happens; with
/// [`Mutant::MemoryDedupe`] the ids it saw die with it.
fn consume(
    url: &BrokerUrl,
    backend: &Backend,
    stream: &str,
    plan: &Plan,
    counts: &Counts,
    mutant: Mutant,
) -> Result<(), BrokeredError> {
    let session = Session::connect(url)?;
    let mut db = backend.connect(Db::Billing)?;
    let mut crashed: HashSet<u32> = HashSet::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut acked: HashSet<u64> = HashSet::new();
    loop {
        let done = counts.producers_done.load(Ordering::SeqCst);
        if done && acked.len() as u64 >= counts.stored.load(Ordering::SeqCst) {
            return Ok(());
        }
        if counts.stalled() {
            return Err(BrokerError::Stalled {
                url: url.to_string(),
                missing: counts
                    .stored
                    .load(Ordering::SeqCst)
                    .saturating_sub(acked.len() as u64),
                waited_secs: STALL_LIMIT.as_secs(),
            }
            .into());
        }
        for delivery in session.fetch(
            stream,
            "billing",
            BATCH as usize,
            Duration::from_millis(200),
        )? {
            if delivery.delivered > 1 {
                counts.redelivered.fetch_add(1, Ordering::SeqCst);
            }
            let event: Envelope =
                serde_json::from_slice(&delivery.payload).map_err(|err| SimError::Payload {
                    event_id: delivery.msg_id.clone().unwrap_or_default(),
                    err,
                })?;
            let payload: OrderPlacedPayload =
                serde_json::from_str(&event.payload).map_err(|err| SimError::Payload {
                    event_id: event.event_id.clone(),
                    err,
                })?;
            let order = event.order_number().unwrap_or_default();
            let crash = plan.consumer.contains(&order) && crashed.insert(order);
            if mutant == Mutant::AckBeforeCommit {
                session.ack(&delivery)?;
                acked.insert(delivery.stream_sequence);
                if crash {
                    counts.consumer_crashes.fetch_add(1, Ordering::SeqCst);
                    db = backend.connect(Db::Billing)?;
                    break;
                }
            }
            db.begin()?;
            let first = match mutant {
                Mutant::MemoryDedupe => seen.insert(event.event_id.clone()),
                _ => db.inbox_record(&event.event_id, 0)?,
            };
            if first {
                db.insert_charge(&payload.order_id, payload.amount_cents, &event.event_id, 0)?;
            } else {
                counts.absorbed_by_inbox.fetch_add(1, Ordering::SeqCst);
            }
            db.commit()?;
            if mutant == Mutant::AckBeforeCommit {
                counts.moved();
                continue;
            }
            if crash {
                counts.consumer_crashes.fetch_add(1, Ordering::SeqCst);
                db = backend.connect(Db::Billing)?;
                seen.clear();
                // Everything else in the batch dies unacknowledged too.
                break;
            }
            session.ack(&delivery)?;
            acked.insert(delivery.stream_sequence);
            counts.moved();
        }
    }
}

/// Sends the first event again once the window has passed, and has the consumer take it.
fn late_duplicate(
    url: &BrokerUrl,
    backend: &Backend,
    stream: &str,
    subject: &str,
    event: &Envelope,
    first: Instant,
    dedupe: bool,
) -> Result<LateDuplicate, BrokeredError> {
    let session = Session::connect(url)?;
    let wait = (DUPLICATE_WINDOW + Duration::from_millis(200)).saturating_sub(first.elapsed());
    std::thread::sleep(wait);
    let after_ms = first.elapsed().as_millis() as u64;
    let payload = serde_json::to_vec(event).unwrap_or_default();
    let id = dedupe.then_some(event.event_id.as_str());
    let ack = session.publish(subject, id, &payload)?;
    let mut db = backend.connect(Db::Billing)?;
    let deadline = Instant::now() + STALL_LIMIT;
    let mut stopped = false;
    let mut seen = false;
    while !seen && !ack.duplicate && Instant::now() < deadline {
        for delivery in session.fetch(stream, "billing", 1, Duration::from_millis(200))? {
            seen = true;
            db.begin()?;
            stopped = !db.inbox_record(&event.event_id, 0)?;
            db.commit()?;
            session.ack(&delivery)?;
        }
    }
    Ok(LateDuplicate {
        event_id: event.event_id.clone(),
        after_ms,
        stored_by_broker: !ack.duplicate,
        stopped_by_inbox: stopped,
    })
}

/// Compares what the service committed with what billing charged.
fn check(backend: &Backend) -> Result<(u64, u64, u64, u64), BrokeredError> {
    let committed: HashMap<String, i64> = backend
        .connect(Db::Service)?
        .committed_orders()?
        .into_iter()
        .map(|(n, amount)| (order_ref(n), amount))
        .collect();
    let charges = backend.connect(Db::Billing)?.charges()?;
    let charged: HashMap<&str, u64> = charges.iter().map(|(id, _, n)| (id.as_str(), *n)).collect();
    let lost = committed
        .keys()
        .filter(|id| !charged.contains_key(id.as_str()))
        .count() as u64;
    let phantom = charged
        .keys()
        .filter(|id| !committed.contains_key(**id))
        .count() as u64;
    let double = charged.values().filter(|n| **n > 1).count() as u64;
    Ok((lost, phantom, double, committed.len() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crash_plan_comes_from_the_seed_and_strikes_every_point() {
        let a = Plan::draw(7, Pipeline::Outbox, 50, true, 0.05);
        let b = Plan::draw(7, Pipeline::Outbox, 50, true, 0.05);
        assert_eq!((&a.publisher, &a.consumer), (&b.publisher, &b.consumer));
        assert!(!a.publisher.is_empty() && !a.consumer.is_empty());
        assert!(
            a.publisher
                .iter()
                .chain(&a.consumer)
                .all(|n| (1..=50).contains(n))
        );
        let calm = Plan::draw(7, Pipeline::Outbox, 50, false, 0.05);
        assert!(calm.publisher.is_empty() && calm.consumer.is_empty());
    }
}
