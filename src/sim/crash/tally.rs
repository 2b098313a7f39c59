//! What the databases hold at the end of a run, order by order, read a row at a time: each
//! committed order's amount and the charges billing made for it, in a few bytes per order.

use std::collections::BTreeMap;

use crate::sim::model::parse_order_ref;

/// One order's line of the tally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Line {
    committed: bool,
    /// The committed amount.
    amount: i64,
    /// Charges of the committed amount.
    right: u64,
    /// Charges of any other amount, or for an order that was never committed.
    wrong: u64,
}

const EMPTY: Line = Line {
    committed: false,
    amount: 0,
    right: 0,
    wrong: 0,
};

/// The same line in eight bytes, as the dense table keeps it for the run's orders.
#[derive(Clone, Copy)]
struct Small {
    /// The committed amount, or [`NONE`] when none was.
    amount: i32,
    right: u16,
    wrong: u16,
}

/// Marks an order with no committed row in the dense table.
const NONE: i32 = i32::MIN;

const SMALL_EMPTY: Small = Small {
    amount: NONE,
    right: 0,
    wrong: 0,
};

impl Small {
    fn line(self) -> Line {
        Line {
            committed: self.amount != NONE,
            amount: i64::from(self.amount),
            right: u64::from(self.right),
            wrong: u64::from(self.wrong),
        }
    }
}

/// The end state of a run, fed committed orders first and then charges. The run's orders take
/// eight bytes each; an order past them, an amount or a count too large for that, moves to a
/// line of its own.
pub struct Tally {
    /// By order number, for orders 0 to the run's last; filled when the first row arrives.
    dense: Vec<Small>,
    room: usize,
    /// Lines that do not fit the dense table; their dense entry is left empty.
    far: BTreeMap<u32, Line>,
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
            committed: 0,
            applied: 0,
            unreadable: 0,
        }
    }

    /// The dense entry of `order`, when it has one and no line of its own.
    fn small(&mut self, order: u32) -> Option<&mut Small> {
        let at = order as usize;
        if at >= self.room || self.far.contains_key(&order) {
            return None;
        }
        if self.dense.is_empty() {
            // All at once, so the table never holds twice the room it needs.
            self.dense = vec![SMALL_EMPTY; self.room];
        }
        self.dense.get_mut(at)
    }

    /// `order`'s line of its own, moved out of the dense table if it was there.
    fn far(&mut self, order: u32) -> &mut Line {
        let moved = self
            .dense
            .get_mut(order as usize)
            .map(|small| std::mem::replace(small, SMALL_EMPTY).line())
            .unwrap_or(EMPTY);
        self.far.entry(order).or_insert(moved)
    }

    /// A committed order's row. Every one comes before the first charge.
    pub fn committed(&mut self, order: u32, amount: i64) {
        self.committed += 1;
        match (self.small(order), i32::try_from(amount)) {
            (Some(small), Ok(fits)) if fits != NONE => small.amount = fits,
            _ => {
                let line = self.far(order);
                line.committed = true;
                line.amount = amount;
            }
        }
    }

    /// `count` charges of `amount` for the order `reference` names.
    pub fn charged(&mut self, reference: &str, amount: i64, count: u64) {
        self.applied += count;
        let Some(order) = parse_order_ref(reference) else {
            self.unreadable += count;
            return;
        };
        if let Some(small) = self.small(order) {
            let right = small.amount != NONE && i64::from(small.amount) == amount;
            let tally = if right {
                &mut small.right
            } else {
                &mut small.wrong
            };
            if let Some(sum) = u16::try_from(count)
                .ok()
                .and_then(|count| tally.checked_add(count))
            {
                *tally = sum;
                return;
            }
        }
        let line = self.far(order);
        if line.committed && line.amount == amount {
            line.right += count;
        } else {
            line.wrong += count;
        }
    }

    /// Whether `order` has a committed row.
    pub fn is_committed(&self, order: u32) -> bool {
        match self.far.get(&order) {
            Some(line) => line.committed,
            None => self
                .dense
                .get(order as usize)
                .is_some_and(|small| small.amount != NONE),
        }
    }

    /// Judges every order: an order is safe when billing charged it exactly once, for its amount.
    pub fn outcome(&self) -> Outcome {
        let mut outcome = Outcome {
            committed: self.committed,
            unreadable: self.unreadable,
            applied: self.applied,
            ..Outcome::default()
        };
        let dense = self.dense.iter().enumerate().map(|(at, small)| {
            let order = at as u32;
            (order, self.far.get(&order).copied().unwrap_or(small.line()))
        });
        let beyond = self
            .far
            .range(self.dense.len() as u32..)
            .map(|(order, line)| (*order, *line));
        // Lines of their own below the table's end were read in their place above.
        let beyond = beyond.filter(|(order, _)| *order as usize >= self.dense.len());
        for (order, line) in dense.chain(beyond) {
            let charges = line.right + line.wrong;
            if !line.committed {
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
            (5, i64::MIN),
            (6, 900),
            (8, i64::from(i32::MIN)),
            (9, i64::from(u32::MAX)),
            (40, 100),
        ];
        let charges = [
            // 1 charged once, 2 lost, 3 twice, 4 once wrongly and once rightly.
            (order_ref(1), 500, 1),
            (order_ref(3), 700, 2),
            (order_ref(4), 1, 1),
            (order_ref(4), 800, 1),
            // 5 committed with the marker amount, charged it; 6 only ever charged wrongly.
            (order_ref(5), i64::MIN, 1),
            (order_ref(6), i64::MIN, 1),
            // Phantoms within the run's orders, past them, past one past; a wrong reference.
            (order_ref(7), 10, 1),
            (order_ref(8), i64::from(i32::MIN), 1),
            (order_ref(9), i64::from(u32::MAX), 70_000),
            (order_ref(1), 500, 65_535),
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
