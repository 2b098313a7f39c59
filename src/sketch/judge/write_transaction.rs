//! The write-transaction item: are the booking and its outbox row written by one local
//! transaction (one statement, BEGIN ... COMMIT, a routine body, or a trigger).

use std::collections::BTreeSet;

use super::design::{Judge, item};
use crate::sketch::model::{GroupKind, Unit};
use crate::sketch::report::{Item, Status};

impl<'m> Judge<'m> {
    fn describe_group(&self, u: &Unit) -> String {
        match self.m.group(u).map(|g| g.kind) {
            Some(GroupKind::Explicit(_)) => format!(
                "in the transaction that begins at line {}",
                self.m.group(u).map_or(0, |g| self.line(g.start))
            ),
            Some(GroupKind::Routine) => {
                format!("in routine `{}`", u.routine.as_deref().unwrap_or("?"))
            }
            _ => "on its own, committed by itself".to_string(),
        }
    }

    pub(super) fn write_transaction(&self) -> Item {
        let id = "write-transaction";
        let ob = self.ob();
        let units = &self.m.units;
        let outbox_ins: Vec<&Unit> = units
            .iter()
            .filter(|u| !ob.is_empty() && u.facts.inserts.iter().any(|n| n == ob))
            .collect();
        let booking_ins: Vec<&Unit> = units
            .iter()
            .filter(|u| u.facts.inserts.iter().any(|n| self.business.contains(n)))
            .collect();
        let trigger = self.m.triggers.iter().find(|t| {
            self.business.contains(&t.table)
                && (t.inserts.iter().any(|n| n == ob)
                    || t.function.as_ref().is_some_and(|f| {
                        units.iter().any(|u| {
                            u.routine.as_deref() == Some(f.as_str())
                                && u.facts.inserts.iter().any(|n| n == ob)
                        })
                    }))
        });
        let outbox_groups: BTreeSet<usize> = outbox_ins.iter().map(|u| u.group).collect();
        let Some(first_booking) = booking_ins.first() else {
            return item(
                id,
                Status::Missing,
                true,
                "No INSERT into bookings: write create_booking as SQL, the booking INSERT and \
                 the outbox INSERT between BEGIN and COMMIT (or in one function), so it can be \
                 checked."
                    .to_string(),
            );
        };
        if outbox_ins.is_empty() && trigger.is_none() {
            return item(
                id,
                Status::Missing,
                true,
                format!(
                    "The booking is inserted at line {} but no outbox row is written. The event \
                     has to be written by the same transaction, or it is lost whenever the \
                     process dies after the commit.",
                    self.line(first_booking.start)
                ),
            );
        }
        let why = "both rows commit or neither does, so there is no moment where the booking \
                   exists without its event (or the event without its booking)";
        for b in &booking_ins {
            if b.facts.inserts.iter().any(|n| n == ob) {
                return item(
                    id,
                    Status::Ok,
                    true,
                    format!(
                        "One statement at line {} inserts the booking and the outbox row \
                         together; a single statement is atomic, so {why}.",
                        self.line(b.start)
                    ),
                );
            }
            if outbox_groups.contains(&b.group)
                && let Some(o) = outbox_ins.iter().find(|o| o.group == b.group)
            {
                let shared = match self.m.group(b).map(|g| g.kind) {
                    Some(GroupKind::Single) => None,
                    Some(GroupKind::Routine) => Some(format!(
                        "both run inside routine `{}`, which is one transaction",
                        b.routine.as_deref().unwrap_or("?")
                    )),
                    _ => Some(format!(
                        "both sit between the BEGIN at line {} and its COMMIT",
                        self.m.group(b).map_or(0, |g| self.line(g.start))
                    )),
                };
                if let Some(shared) = shared {
                    return item(
                        id,
                        Status::Ok,
                        true,
                        format!(
                            "The booking INSERT (line {}) and the outbox INSERT (line {}): \
                             {shared}. One local transaction means {why}.",
                            self.line(b.start),
                            self.line(o.start)
                        ),
                    );
                }
            }
        }
        if let Some(t) = trigger {
            return item(
                id,
                Status::Ok,
                true,
                format!(
                    "A trigger on `{}` writes the outbox row, so it runs inside whatever \
                     transaction inserts the booking: {why}.",
                    t.table
                ),
            );
        }
        let o = outbox_ins.first().copied().unwrap_or(first_booking);
        item(
            id,
            Status::Wrong,
            true,
            format!(
                "The booking INSERT (line {}) runs {}, and the outbox INSERT (line {}) runs {}. \
                 Two commits reopen the dual-write gap the outbox exists to close: a crash \
                 between them leaves a booking whose event is never published. Put both \
                 INSERTs in one transaction.",
                self.line(first_booking.start),
                self.describe_group(first_booking),
                self.line(o.start),
                self.describe_group(o)
            ),
        )
    }
}
