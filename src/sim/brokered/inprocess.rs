//! The broker run's actors as threads of this process: a crash drops the actor's connections
//! and it carries on with new ones, as a restarted process would, without leaving this one.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::counts::Counts;
use super::plan::Plan;
use super::report::{BATCH, BrokeredError, BrokeredOptions, STALL_LIMIT};
use crate::broker::{BrokerError, BrokerUrl, Delivery, Session};
use crate::sim::crash::mutant::Mutant;
use crate::sim::error::SimError;
use crate::sim::model::{Envelope, Order, OrderPlacedPayload, Pipeline};
use crate::sim::storage::Db;
use crate::sim::storage::backend::Backend;

/// The `Nats-Msg-Id` the stream dedupes by, when dedupe is on: the event's own id.
pub fn msg_id(event: &Envelope, dedupe: bool) -> Option<&str> {
    dedupe.then_some(event.event_id.as_str())
}

/// A delivery as billing reads it: the event, and the order its payload bills.
pub fn billable(delivery: &Delivery) -> Result<(Envelope, OrderPlacedPayload), SimError> {
    let event: Envelope =
        serde_json::from_slice(&delivery.payload).map_err(|err| SimError::Payload {
            event_id: delivery.msg_id.clone().unwrap_or_default(),
            err,
        })?;
    let payload = serde_json::from_str(&event.payload).map_err(|err| SimError::Payload {
        event_id: event.event_id.clone(),
        err,
    })?;
    Ok((event, payload))
}

/// Runs the pipeline's producers on this thread and its consumer beside them, until the consumer
/// has acknowledged everything the stream stored.
#[allow(clippy::too_many_arguments)]
pub fn drive(
    url: &BrokerUrl,
    backend: &Backend,
    stream: &str,
    subject: &str,
    pipeline: Pipeline,
    options: &BrokeredOptions,
    plan: &Plan,
    counts: &Counts,
) -> Result<(), BrokeredError> {
    std::thread::scope(|scope| -> Result<(), BrokeredError> {
        let consumer = scope.spawn(|| consume(url, backend, stream, plan, counts, options.mutant));
        let produced = match pipeline {
            Pipeline::Naive => naive_service(url, backend, subject, options, plan, counts),
            Pipeline::Outbox => outbox_service(backend, options).and_then(|()| {
                relay(
                    url,
                    backend,
                    subject,
                    plan,
                    counts,
                    options.dedupe,
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
    })
}

/// Publishes with an ack and counts it.
fn publish(
    session: &Session,
    subject: &str,
    event: &Envelope,
    dedupe: bool,
    counts: &Counts,
) -> Result<(), BrokeredError> {
    let payload = serde_json::to_vec(event).unwrap_or_default();
    let ack = session.publish(subject, msg_id(event, dedupe), &payload)?;
    counts.published(event, ack.duplicate);
    Ok(())
}

/// The dual write: commit the order, then publish. A crash planned for the order strikes after
/// the commit and before the publish, and the event is never sent.
fn naive_service(
    url: &BrokerUrl,
    backend: &Backend,
    subject: &str,
    options: &BrokeredOptions,
    plan: &Plan,
    counts: &Counts,
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
        publish(&session, subject, &event, options.dedupe, counts)?;
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
fn relay(
    url: &BrokerUrl,
    backend: &Backend,
    subject: &str,
    plan: &Plan,
    counts: &Counts,
    dedupe: bool,
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
            publish(&session, subject, &row.event, dedupe, counts)?;
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
            let (event, payload) = billable(&delivery)?;
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
