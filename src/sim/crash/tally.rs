//! What the databases hold at the end of a run, order by order, read a row at a time: each
//! committed order's amount and the charges billing made for it, in a few bytes per order.

use std::collections::{BTreeMap, BTreeSet};

use crate::sim::model::parse_order_ref;

/// Marks an order with no committed row in the dense table.
const NONE: i64 = i64::MIN;

/// One order's line of the tally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Line {
    /// The committed amount, or [`NONE`].
    amount: i64,
    /// Charges of the committed amount.
    right: u32,
    /// Charges of any other amount, or for an order that was never committed.
    wrong: u32,
}

const EMPTY: Line = Line {
    amount: NONE,
    right: 0,
    wrong: 0,
};

/// The end state of a run, fed committed orders first and then charges.
pub struct Tally {
    /// By order number, for orders 0 to the run's last; filled when the first row arrives.
    dense: Vec<Line>,
    room: usize,
    /// Orders past the run's last.
    far: BTreeMap<u32, Line>,
    /// Orders committed with the amount that marks none in the tables.
    committed_as_none: BTreeSet<u32>,
    committed: u64,
    applied: u64,
    /// Charges whose order reference names no order at all.
    unreadable: u64,
}

/// The durable outcome, order by order: what billing did about each committed order, and what
/// it charged for orders that never were.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    pub committed: u64,
    pub lost: Vec<u32>,
    pub phantom: Vec<u32>,
    /// Orders with a charge of an amount other than the order's.
    pub mischarged: Vec<u32>,
    pub double_applied: u64,
    pub double_applied_orders: Vec<u32>,
    /// Charges whose order reference names no order at all.
    pub unreadable: u64,
    pub applied: u64,
}

impl Tally {
    /// An empty tally for a run of orders 1 to `orders`.
    pub fn new(orders: u32) -> Self {
        Tally {
            dense: Vec::new(),
            room: orders as usize + 1,
            far: BTreeMap::new(),
            committed_as_none: BTreeSet::new(),
            committed: 0,
            applied: 0,
            unreadable: 0,
        }
    }

    fn line(&mut self, order: u32) -> &mut Line {
        let at = order as usize;
        if at < self.room {
            if self.dense.is_empty() {
                // All at once, so the table never holds twice the room it needs.
                self.dense = vec![EMPTY; self.room];
            }
            &mut self.dense[at]
        } else {
            self.far.entry(order).or_insert(EMPTY)
        }
    }

    /// A committed order's row. Every one comes before the first charge.
    pub fn committed(&mut self, order: u32, amount: i64) {
        self.committed += 1;
        if amount == NONE {
            self.committed_as_none.insert(order);
        } else {
            self.committed_as_none.remove(&order);
        }
        self.line(order).amount = amount;
    }

    /// `count` charges of `amount` for the order `reference` names.
    pub fn charged(&mut self, reference: &str, amount: i64, count: u64) {
        self.applied += count;
        let Some(order) = parse_order_ref(reference) else {
            self.unreadable += count;
            return;
        };
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        let committed = self.is_committed(order);
        let line = self.line(order);
        if committed && line.amount == amount {
            line.right = line.right.saturating_add(count);
        } else {
            line.wrong = line.wrong.saturating_add(count);
        }
    }

    /// Whether `order` has a committed row.
    pub fn is_committed(&self, order: u32) -> bool {
        let line = if (order as usize) < self.room {
            self.dense.get(order as usize)
        } else {
            self.far.get(&order)
        };
        line.is_some_and(|line| line.amount != NONE) || self.committed_as_none.contains(&order)
    }

    /// Judges every order: an order is safe when billing charged it exactly once, for its amount.
    pub fn outcome(&self) -> Outcome {
        let mut outcome = Outcome {
            committed: self.committed,
            unreadable: self.unreadable,
            applied: self.applied,
            ..Outcome::default()
        };
        let dense = self
            .dense
            .iter()
            .enumerate()
            .map(|(at, line)| (at as u32, *line));
        // Every far order is past every dense one: in order number order, one after the other.
        let far = self.far.iter().map(|(order, line)| (*order, *line));
        for (order, line) in dense.chain(far) {
            let committed = line.amount != NONE || self.committed_as_none.contains(&order);
            let charges = u64::from(line.right) + u64::from(line.wrong);
            if !committed {
                if charges > 0 {
                    outcome.phantom.push(order);
                }
                continue;
            }
            if line.right == 0 {
                outcome.lost.push(order);
            }
            if line.wrong > 0 {
                outcome.mischarged.push(order);
            }
            if charges > 1 {
                outcome.double_applied += charges - 1;
                outcome.double_applied_orders.push(order);
            }
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::model::order_ref;

    /// The judgement the checker made before it streamed: every row in memory at once.
    fn in_memory(committed: &[(u32, i64)], charges: &[(String, i64, u64)]) -> Outcome {
        let amounts: BTreeMap<u32, i64> = committed.iter().copied().collect();
        let mut charged: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
        let mut outcome = Outcome {
            committed: committed.len() as u64,
            ..Outcome::default()
        };
        for (reference, amount, count) in charges {
            outcome.applied += count;
            let Some(order) = parse_order_ref(reference) else {
                outcome.unreadable += count;
                continue;
            };
            let entry = charged.entry(order).or_default();
            if amounts.get(&order) == Some(amount) {
                entry.0 += count;
            } else {
                entry.1 += count;
            }
        }
        for (&order, &(right, wrong)) in &charged {
            if !amounts.contains_key(&order) {
                outcome.phantom.push(order);
                continue;
            }
            if wrong > 0 {
                outcome.mischarged.push(order);
            }
            if right + wrong > 1 {
                outcome.double_applied += right + wrong - 1;
                outcome.double_applied_orders.push(order);
            }
        }
        outcome.lost = amounts
            .keys()
            .filter(|order| charged.get(order).is_none_or(|(right, _)| *right == 0))
            .copied()
            .collect();
        outcome
    }

    fn streamed(orders: u32, committed: &[(u32, i64)], charges: &[(String, i64, u64)]) -> Tally {
        let mut tally = Tally::new(orders);
        for (order, amount) in committed {
            tally.committed(*order, *amount);
        }
        for (reference, amount, count) in charges {
            tally.charged(reference, *amount, *count);
        }
        tally
    }

    #[test]
    fn every_kind_of_outcome_matches_the_judgement_made_in_memory() {
        let committed = [
            (1, 500),
            (2, 600),
            (3, 700),
            (4, 800),
            (5, NONE),
            (6, 900),
            (40, 100),
        ];
        let charges = [
            // 1 charged once, 2 lost, 3 twice, 4 once wrongly and once rightly.
            (order_ref(1), 500, 1),
            (order_ref(3), 700, 2),
            (order_ref(4), 1, 1),
            (order_ref(4), 800, 1),
            // 5 committed with the marker amount, charged it; 6 only ever charged wrongly.
            (order_ref(5), NONE, 1),
            (order_ref(6), NONE, 1),
            // Phantoms within the run's orders, past them, past one past; a wrong reference.
            (order_ref(7), 10, 1),
            (order_ref(12), 10, 3),
            (order_ref(40), 100, 1),
            ("ord_00009".to_string(), 10, 1),
            ("nonsense".to_string(), 10, 2),
        ];
        for orders in [6, 10, 40, 100] {
            let tally = streamed(orders, &committed, &charges);
            assert_eq!(tally.outcome(), in_memory(&committed, &charges), "{orders}");
            for order in [1, 2, 5, 6, 7, 12, 40, 41] {
                assert_eq!(
                    tally.is_committed(order),
                    committed.iter().any(|(n, _)| *n == order),
                    "{orders}: {order}"
                );
            }
        }
    }

    #[test]
    fn an_empty_run_judges_nothing() {
        assert_eq!(Tally::new(1_000_000).outcome(), Outcome::default());
    }
}
