//! `lab fanout`: queue versus topic, with the workshop's first mistake made visible. Three
//! services on one queue compete for each message; a topic gives each service its own copy.

use rand::{RngExt, SeedableRng};
use serde::Serialize;

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
    }
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
