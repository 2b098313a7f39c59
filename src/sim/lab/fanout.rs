//! `lab fanout`: queue versus topic, with the workshop's first mistake made visible. Three
//! services on one queue compete for each message; a topic gives each service its own copy.
//! In process by default; with a broker, on real JetStream streams (a work-queue stream with one
//! consumer, then an interest stream with a durable consumer per service).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};
use serde::Serialize;

use crate::broker::run::{RunStreams, names as stream_names, run_tag};
use crate::broker::{BrokerError, BrokerUrl, Retention, Session, StreamSpec};
use crate::sim::broker::Broker;
use crate::sim::model::{Envelope, Order, Pipeline};

/// Bumped when a key of the `--json` output changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;

/// What one service saw.
#[derive(Clone, Debug, Serialize)]
pub struct Seen {
    pub service: String,
    /// Distinct orders that reached it.
    pub orders: u64,
    /// Orders it never heard of.
    pub missed: u64,
    /// Of its instances, how many orders each handled (a topic subscription may have several).
    pub per_instance: Vec<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Fanout {
    pub schema_version: u32,
    pub seed: u64,
    pub orders: u32,
    /// Services on one queue, competing for every message.
    pub queue: Vec<Seen>,
    /// One subscription per service, each with `instances` competing workers behind it.
    pub topic: Vec<Seen>,
    pub instances: u32,
    /// The real broker the run used, password hidden; null when in process.
    pub broker: Option<String>,
    /// The streams the run made on the broker (deleted at its end unless kept).
    pub streams: Vec<String>,
}

/// Runs both set-ups over the same orders. Who fetches next is drawn from the seed.
pub fn run(seed: u64, orders: u32, services: &[&str], instances: u32) -> Fanout {
    let events: Vec<Envelope> = (1..=orders)
        .map(|n| Envelope::order_placed(seed, Pipeline::Outbox, &Order::generate(seed, n), 0))
        .collect();
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed ^ 0xfa_0007);

    // One queue: every service's worker competes for each message.
    let queue = Broker::new();
    for e in &events {
        queue.publish(e.clone());
    }
    let mut counts = vec![0u64; services.len()];
    while let Some(d) = queue.fetch(1).into_iter().next() {
        counts[rng.random_range(0..services.len())] += 1;
        queue.ack(d.offset + 1);
    }
    let queue_seen = services
        .iter()
        .zip(&counts)
        .map(|(s, n)| Seen {
            service: (*s).to_string(),
            orders: *n,
            missed: u64::from(orders) - n,
            per_instance: vec![*n],
        })
        .collect();

    // A topic: the publisher's message is copied into one subscription per service, and each
    // service's instances compete within its own subscription.
    let subscriptions: Vec<Broker> = services.iter().map(|_| Broker::new()).collect();
    for e in &events {
        for sub in &subscriptions {
            sub.publish(e.clone());
        }
    }
    let topic_seen = services
        .iter()
        .zip(&subscriptions)
        .map(|(s, sub)| {
            let mut per_instance = vec![0u64; instances as usize];
            let mut distinct = std::collections::HashSet::new();
            while let Some(d) = sub.fetch(1).into_iter().next() {
                per_instance[rng.random_range(0..instances as usize)] += 1;
                distinct.insert(d.event.event_id.clone());
                sub.ack(d.offset + 1);
            }
            Seen {
                service: (*s).to_string(),
                orders: distinct.len() as u64,
                missed: u64::from(orders) - distinct.len() as u64,
                per_instance,
            }
        })
        .collect();
    Fanout {
        schema_version: SCHEMA_VERSION,
        seed,
        orders,
        queue: queue_seen,
        topic: topic_seen,
        instances,
        broker: None,
        streams: Vec::new(),
    }
}

/// How long a broker delivery may stay unacknowledged before JetStream sends it again.
const ACK_WAIT: Duration = Duration::from_secs(30);
/// How long a worker's fetch waits for messages before it looks again.
const FETCH_WAIT: Duration = Duration::from_millis(200);
/// How long the run waits without a single delivery before it calls the broker stalled.
const STALL_LIMIT: Duration = Duration::from_secs(20);

/// Runs both set-ups on the broker at `url`: the orders are published with an ack to a
/// work-queue stream whose one consumer the services share, and to an interest stream with a
/// durable consumer per service, its instances sharing that. Every worker is a thread with its
/// own connection, fetching and acknowledging as fast as the broker serves it, so who gets what
/// is the broker's doing, not the seed's.
pub fn run_on_broker(
    url: &BrokerUrl,
    seed: u64,
    orders: u32,
    services: &[&str],
    instances: u32,
    keep: bool,
) -> Result<Fanout, BrokerError> {
    let session = Session::connect(url)?;
    let tag = run_tag("fanout");
    let mut streams = RunStreams::new(&session, keep);
    let (queue_stream, queue_subject) = stream_names(&tag, "queue");
    let (topic_stream, topic_subject) = stream_names(&tag, "topic");
    streams.create(&StreamSpec {
        name: &queue_stream,
        subject: &queue_subject,
        retention: Retention::WorkQueue,
        duplicate_window: Duration::from_secs(120),
    })?;
    session.create_consumer(&queue_stream, "orders", ACK_WAIT)?;
    streams.create(&StreamSpec {
        name: &topic_stream,
        subject: &topic_subject,
        retention: Retention::Interest,
        duplicate_window: Duration::from_secs(120),
    })?;
    // An interest stream keeps a message only for the consumers that exist when it arrives.
    for service in services {
        session.create_consumer(&topic_stream, service, ACK_WAIT)?;
    }

    let events: Vec<(String, Vec<u8>)> = (1..=orders)
        .map(|n| {
            let e = Envelope::order_placed(seed, Pipeline::Outbox, &Order::generate(seed, n), 0);
            let payload = serde_json::to_vec(&e).unwrap_or_default();
            (e.event_id, payload)
        })
        .collect();
    for subject in [&queue_subject, &topic_subject] {
        session.publish_many(
            subject,
            events
                .iter()
                .map(|(id, payload)| (Some(id.as_str()), payload.as_slice())),
        )?;
    }

    let expected = u64::from(orders);
    let queue_workers = drain(url, &queue_stream, "orders", services.len(), expected)?;
    let queue = services
        .iter()
        .zip(&queue_workers)
        .map(|(service, seen)| Seen {
            service: (*service).to_string(),
            orders: seen.len() as u64,
            missed: expected - seen.len() as u64,
            per_instance: vec![seen.len() as u64],
        })
        .collect();
    let mut topic = Vec::new();
    for service in services {
        let workers = drain(url, &topic_stream, service, instances as usize, expected)?;
        let distinct: HashSet<&String> = workers.iter().flatten().collect();
        topic.push(Seen {
            service: (*service).to_string(),
            orders: distinct.len() as u64,
            missed: expected - distinct.len() as u64,
            per_instance: workers.iter().map(|w| w.len() as u64).collect(),
        });
    }
    let names = streams.names().to_vec();
    streams.finish()?;
    Ok(Fanout {
        schema_version: SCHEMA_VERSION,
        seed,
        orders,
        queue,
        topic,
        instances,
        broker: Some(url.to_string()),
        streams: names,
    })
}

/// `workers` threads, each with its own connection, compete for the durable consumer's
/// messages until `expected` have been acknowledged between them; each returns the event ids
/// it handled.
fn drain(
    url: &BrokerUrl,
    stream: &str,
    durable: &str,
    workers: usize,
    expected: u64,
) -> Result<Vec<HashSet<String>>, BrokerError> {
    let acked = AtomicU64::new(0);
    let last_progress = std::sync::Mutex::new(Instant::now());
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| -> Result<HashSet<String>, BrokerError> {
                    let session = Session::connect(url)?;
                    let mut seen = HashSet::new();
                    while acked.load(Ordering::SeqCst) < expected {
                        let batch = session.fetch(stream, durable, 10, FETCH_WAIT)?;
                        if batch.is_empty() {
                            let since = last_progress
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .elapsed();
                            if since > STALL_LIMIT {
                                return Err(BrokerError::Stalled {
                                    url: url.to_string(),
                                    missing: expected.saturating_sub(acked.load(Ordering::SeqCst)),
                                    waited_secs: STALL_LIMIT.as_secs(),
                                });
                            }
                            continue;
                        }
                        for delivery in batch {
                            session.ack(&delivery)?;
                            let id = delivery.msg_id.clone().unwrap_or_default();
                            if seen.insert(id) {
                                acked.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        *last_progress
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
                    }
                    Ok(seen)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_splits_the_orders_and_a_topic_copies_them() {
        for seed in 0..20 {
            let f = run(seed, 900, &["billing", "inventory", "email"], 2);
            let total: u64 = f.queue.iter().map(|s| s.orders).sum();
            assert_eq!(total, 900, "a queue delivers each message once");
            for s in &f.queue {
                assert!(
                    s.orders > 200 && s.orders < 400,
                    "seed {seed}: {} saw {}",
                    s.service,
                    s.orders
                );
            }
            for s in &f.topic {
                assert_eq!((s.orders, s.missed), (900, 0));
                assert_eq!(s.per_instance.iter().sum::<u64>(), 900);
                assert!(
                    s.per_instance.iter().all(|n| *n > 0),
                    "instances share a subscription"
                );
            }
        }
    }
}
