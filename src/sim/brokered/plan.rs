//! Which orders crash where in a broker run, drawn from the seed: the same seed gives the same
//! crashes, and each crash point strikes at least once.

use std::collections::HashSet;

use rand::{RngExt, SeedableRng};

use crate::sim::model::Pipeline;

/// Which orders crash where, drawn from the seed; each point strikes at least once.
pub struct Plan {
    /// After the broker stored the publish, before the row is marked sent (the naive service:
    /// after its commit, before it publishes).
    pub publisher: HashSet<u32>,
    /// After the consumer's commit, before its ack.
    pub consumer: HashSet<u32>,
    /// The order service mid-transaction, before its commit: drawn only when the actors run as
    /// processes, so the in-process run's crashes stay what they were.
    pub service: HashSet<u32>,
}

impl Plan {
    pub fn draw(
        seed: u64,
        pipeline: Pipeline,
        orders: u32,
        crash: bool,
        rate: f64,
        processes: bool,
    ) -> Plan {
        if !crash {
            return Plan {
                publisher: HashSet::new(),
                consumer: HashSet::new(),
                service: HashSet::new(),
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
        let mut service = HashSet::new();
        pick(&mut publisher);
        pick(&mut consumer);
        if processes {
            pick(&mut service);
            // An order that dies with the service is never published nor consumed: it would
            // take the crash points planned for it with it. The service spares those orders,
            // and strikes one of the others if its own draw was all among them.
            let spared: Vec<u32> = (1..=orders)
                .filter(|n| !publisher.contains(n) && !consumer.contains(n))
                .collect();
            service.retain(|n| spared.contains(n));
            if service.is_empty() && !spared.is_empty() {
                service.insert(spared[rng.random_range(0..spared.len())]);
            }
        }
        Plan {
            publisher,
            consumer,
            service,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crash_plan_comes_from_the_seed_and_strikes_every_point() {
        let a = Plan::draw(7, Pipeline::Outbox, 50, true, 0.05, true);
        let b = Plan::draw(7, Pipeline::Outbox, 50, true, 0.05, true);
        assert_eq!(
            (&a.publisher, &a.consumer, &a.service),
            (&b.publisher, &b.consumer, &b.service)
        );
        assert!(!a.publisher.is_empty() && !a.consumer.is_empty() && !a.service.is_empty());
        assert!(
            a.publisher
                .iter()
                .chain(&a.consumer)
                .chain(&a.service)
                .all(|n| (1..=50).contains(n))
        );
        let calm = Plan::draw(7, Pipeline::Outbox, 50, false, 0.05, true);
        assert!(calm.publisher.is_empty() && calm.consumer.is_empty() && calm.service.is_empty());
    }

    #[test]
    fn the_service_spares_the_orders_other_crashes_need_and_still_strikes() {
        for seed in 0..200 {
            let plan = Plan::draw(seed, Pipeline::Outbox, 5, true, 0.3, true);
            assert!(plan.service.is_disjoint(&plan.publisher), "seed {seed}");
            assert!(plan.service.is_disjoint(&plan.consumer), "seed {seed}");
            let spare =
                (1..=5).any(|n| !plan.publisher.contains(&n) && !plan.consumer.contains(&n));
            assert_eq!(!plan.service.is_empty(), spare, "seed {seed}");
        }
        let one = Plan::draw(3, Pipeline::Outbox, 1, true, 0.0, true);
        assert!(one.service.is_empty() && one.consumer.contains(&1));
    }

    #[test]
    fn the_process_mode_adds_service_crashes_without_moving_the_others() {
        let threads = Plan::draw(9, Pipeline::Naive, 80, true, 0.05, false);
        let processes = Plan::draw(9, Pipeline::Naive, 80, true, 0.05, true);
        assert!(threads.service.is_empty());
        assert!(processes.service.is_disjoint(&processes.publisher));
        assert!(processes.service.is_disjoint(&processes.consumer));
        assert_eq!(threads.publisher, processes.publisher);
        assert_eq!(threads.consumer, processes.consumer);
    }
}
