//! The checker: counts what went wrong, from what the learner's service and consumer committed
//! and the run's trace.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::verify::run::Ran;
use crate::verify::tables::Committed;

/// The counts the verdict rests on, each with the orders it concerns.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    pub committed: usize,
    pub charged: usize,
    pub lost: Vec<u32>,
    pub phantom: Vec<u32>,
    pub double_applied: Vec<u32>,
    pub mischarged: Vec<u32>,
    /// Charged orders whose event was never delivered to the consumer: a charge made some other
    /// way than by consuming the event.
    pub undelivered: Vec<u32>,
    /// Orders the service answered with `error`: the client placed them and was refused.
    pub refused: Vec<u32>,
    pub broken_promises: Vec<u32>,
    pub relay_overlap: usize,
    pub duplicates_absorbed: usize,
    pub republished: u32,
}

impl Counts {
    /// Whether every invariant held.
    pub fn held(&self) -> bool {
        self.lost.is_empty()
            && self.phantom.is_empty()
            && self.double_applied.is_empty()
            && self.mischarged.is_empty()
            && self.undelivered.is_empty()
            && self.refused.is_empty()
            && self.broken_promises.is_empty()
            && self.relay_overlap == 0
    }

    /// The lowest order that broke an invariant, if any.
    pub fn first_broken(&self) -> Option<u32> {
        [
            &self.lost,
            &self.phantom,
            &self.double_applied,
            &self.mischarged,
            &self.undelivered,
            &self.refused,
            &self.broken_promises,
        ]
        .into_iter()
        .flat_map(|v| v.first().copied())
        .min()
    }
}

/// Counts what went wrong, from the databases and the run's trace.
pub fn count(committed: &Committed, ran: &Ran) -> Counts {
    let mut counts = Counts {
        committed: committed.orders.len(),
        charged: committed.charges.len(),
        relay_overlap: ran.overlaps.len(),
        republished: ran.republished,
        ..Counts::default()
    };
    for (order, amount) in &committed.orders {
        match committed.charges.get(order) {
            None => counts.lost.push(*order),
            Some(charges) if charges.len() > 1 => counts.double_applied.push(*order),
            Some(charges) => {
                if amount.is_some() && charges[0].is_some() && charges[0] != *amount {
                    counts.mischarged.push(*order);
                }
            }
        }
    }
    for (order, charges) in &committed.charges {
        if !committed.orders.contains_key(order) {
            counts.phantom.push(*order);
            if charges.len() > 1 {
                counts.double_applied.push(*order);
            }
        }
    }
    counts.double_applied.sort_unstable();
    let delivered = ran.broker.delivered_orders();
    let refused: BTreeSet<u32> = ran
        .trace
        .entries
        .iter()
        .filter(|e| {
            e.node == "service" && matches!(e.what, crate::verify::trace::What::Error { .. })
        })
        .filter_map(|e| e.order)
        .collect();
    counts.refused = refused.into_iter().collect();
    counts.undelivered = committed
        .charges
        .keys()
        .filter(|o| !delivered.contains(o))
        .copied()
        .collect();
    counts.broken_promises = ran
        .promised
        .iter()
        .filter(|o| !committed.orders.contains_key(o))
        .copied()
        .collect();
    let double: BTreeSet<u32> = counts.double_applied.iter().copied().collect();
    let mut absorbed = BTreeSet::new();
    for (event_id, order, _) in ran.broker.redelivered() {
        if committed.charges.get(&order).is_some_and(|c| c.len() == 1) && !double.contains(&order) {
            absorbed.insert(event_id);
        }
    }
    counts.duplicates_absorbed = absorbed.len();
    counts
}
