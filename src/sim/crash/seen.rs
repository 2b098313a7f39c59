//! Compact memories for the checker: which event ids it has seen and which orders were
//! acknowledged, in a few bytes per order rather than a string and a hash entry each, so that a
//! run of a million orders stays within tens of megabytes.

use std::collections::HashSet;

use crate::sim::model::{Pipeline, order_event_parts};

/// A set of event ids. The lab's own ids (one per order and moment, see
/// [`order_event_parts`]) take four bytes per order: the moment of the first id seen for each
/// order. Any other id, a second id for an order, or an order past the run's, is kept whole.
pub struct IdSet {
    seed: u64,
    pipeline: Pipeline,
    /// By order number: 0 when no id of the order was seen, else one more than the moment of
    /// the first one.
    first: Vec<u32>,
    /// One more than the highest order the dense table takes.
    room: usize,
    others: HashSet<String>,
    len: u64,
}

impl IdSet {
    /// An empty set for `pipeline`'s ids under `seed`, with room for orders 1 to `orders`.
    pub fn new(seed: u64, pipeline: Pipeline, orders: u32) -> Self {
        IdSet {
            seed,
            pipeline,
            first: Vec::new(),
            room: orders as usize + 1,
            others: HashSet::new(),
            len: 0,
        }
    }

    /// Adds `id`; true when it was not there before.
    pub fn insert(&mut self, id: &str) -> bool {
        let fresh = match self.compact(id) {
            Some((number, moment)) => {
                let at = number as usize;
                if self.first.is_empty() {
                    // All at once, so the table never holds twice the room it needs.
                    self.first = vec![0; self.room];
                }
                match self.first[at] {
                    0 => {
                        self.first[at] = moment;
                        true
                    }
                    seen if seen == moment => false,
                    _ => self.others.insert(id.to_string()),
                }
            }
            None => self.others.insert(id.to_string()),
        };
        self.len += u64::from(fresh);
        fresh
    }

    /// Frees the tables and keeps the count: for when no more ids will come.
    pub fn forget(&mut self) {
        self.first = Vec::new();
        self.others = HashSet::new();
    }

    /// How many distinct ids were added.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The order and stored moment of one of the lab's own ids, when it fits the dense table:
    /// its order within the room asked for, its moment below `u32::MAX`.
    fn compact(&self, id: &str) -> Option<(u32, u32)> {
        let (number, at_ms) = order_event_parts(self.seed, self.pipeline, id)?;
        let moment = u32::try_from(at_ms.checked_add(1)?).ok()?;
        ((number as usize) < self.room).then_some((number, moment))
    }
}

/// A set of order numbers, one bit each.
#[derive(Default)]
pub struct OrderSet {
    bits: Vec<u64>,
    len: u64,
}

impl OrderSet {
    /// Adds `order`; true when it was not there before.
    pub fn insert(&mut self, order: u32) -> bool {
        let (word, bit) = (order as usize / 64, order % 64);
        if word >= self.bits.len() {
            self.bits.resize(word + 1, 0);
        }
        let fresh = self.bits[word] & (1 << bit) == 0;
        self.bits[word] |= 1 << bit;
        self.len += u64::from(fresh);
        fresh
    }

    pub fn contains(&self, order: u32) -> bool {
        self.bits
            .get(order as usize / 64)
            .is_some_and(|word| word & (1 << (order % 64)) != 0)
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The orders in the set, smallest first.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.bits.iter().enumerate().flat_map(|(word, bits)| {
            (0..64)
                .filter(move |bit| bits & (1u64 << bit) != 0)
                .map(move |bit| (word * 64) as u32 + bit)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::model::{Envelope, Order};

    fn id(seed: u64, pipeline: Pipeline, order: u32, at_ms: u64) -> String {
        Envelope::order_placed(seed, pipeline, &Order::generate(seed, order), at_ms).event_id
    }

    #[test]
    fn every_kind_of_id_is_told_apart_exactly_as_a_set_of_strings_would() {
        let mut set = IdSet::new(3, Pipeline::Outbox, 10);
        let mut strings = HashSet::new();
        let ids = [
            id(3, Pipeline::Outbox, 1, 0),
            id(3, Pipeline::Outbox, 1, 0),
            // The same order at another moment: a second id for it.
            id(3, Pipeline::Outbox, 1, 5),
            id(3, Pipeline::Outbox, 1, 5),
            id(3, Pipeline::Outbox, 10, 7),
            // Past the room asked for, another seed, another pipeline, not an id at all.
            id(3, Pipeline::Outbox, 11, 7),
            id(4, Pipeline::Outbox, 2, 7),
            id(3, Pipeline::Naive, 2, 7),
            "e".to_string(),
            "e".to_string(),
            id(3, Pipeline::Outbox, 2, u64::from(u32::MAX) + 9),
            id(3, Pipeline::Outbox, 2, u64::from(u32::MAX) + 9),
            id(3, Pipeline::Outbox, 2, 0),
        ];
        for id in &ids {
            assert_eq!(set.insert(id), strings.insert(id.clone()), "{id}");
        }
        assert_eq!(set.len(), strings.len() as u64);
        assert!(
            set.others.len() < strings.len(),
            "the lab's ids are kept compact"
        );
        set.forget();
        assert_eq!(
            set.len(),
            strings.len() as u64,
            "forgetting keeps the count"
        );
    }

    #[test]
    fn an_order_set_counts_each_order_once_and_lists_them_in_order() {
        let mut set = OrderSet::default();
        for order in [70, 3, 64, 3, 0, 1_000_000] {
            set.insert(order);
        }
        assert_eq!(set.len(), 5);
        assert!(set.contains(64) && !set.contains(65) && !set.contains(2_000_000));
        assert_eq!(set.iter().collect::<Vec<_>>(), [0, 3, 64, 70, 1_000_000]);
    }
}
