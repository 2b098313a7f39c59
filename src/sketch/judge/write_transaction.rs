//! The write-transaction item: are the booking and its outbox row written by one local
//! transaction (one statement, BEGIN ... COMMIT, a routine body, or a trigger). The answer is the
//! shared `WriteScope`, which the outbox-table and sandbox-run items read too.

use std::collections::BTreeSet;

use super::design::{Judge, item};
use super::shared::WriteScope;
use crate::sketch::model::{GroupKind, Unit};
use crate::sketch::report::{Item, Status};

impl<'m> Judge<'m> {
    /// Settles where the booking and its outbox row are written, relative to each other.
    pub(super) fn find_write_scope(&self) -> WriteScope {
        let ob = self.ob();
        let units = &self.m.units;
        let outbox_ins: Vec<usize> = (0..units.len())
            .filter(|&i| {
                !ob.is_empty()
                    && units
                        .get(i)
                        .is_some_and(|u| u.facts.inserts.iter().any(|n| n == ob))
            })
            .collect();
        let booking_ins: Vec<usize> = (0..units.len())
            .filter(|&i| {
                units
                    .get(i)
                    .is_some_and(|u| u.facts.inserts.iter().any(|n| self.business.contains(n)))
            })
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
        let unit = |i: usize| units.get(i);
        let outbox_groups: BTreeSet<usize> = outbox_ins
            .iter()
            .filter_map(|&i| unit(i).map(|u| u.group))
            .collect();
        let Some(&first_booking) = booking_ins.first() else {
            return WriteScope::NoBookingWrite;
        };
        if outbox_ins.is_empty() && trigger.is_none() {
            return WriteScope::NoOutboxWrite {
                booking: unit(first_booking).map_or(0, |u| u.start),
            };
        }
        for &b in &booking_ins {
            let Some(bu) = unit(b) else { continue };
            if bu.facts.inserts.iter().any(|n| n == ob) {
                return WriteScope::OneStatement { at: bu.start };
            }
            if !outbox_groups.contains(&bu.group) {
                continue;
            }
            let Some(o) = outbox_ins
                .iter()
                .filter_map(|&i| unit(i))
                .find(|o| o.group == bu.group)
            else {
                continue;
            };
            match self.m.group(bu) {
                Some(g) if g.kind == GroupKind::Routine => {
                    return WriteScope::Routine {
                        booking: bu.start,
                        outbox: o.start,
                        name: bu.routine.clone().unwrap_or_else(|| "?".to_string()),
                    };
                }
                Some(g) if g.kind != GroupKind::Single => {
                    return WriteScope::OneTransaction {
                        booking: bu.start,
                        outbox: o.start,
                        group_start: g.start,
                    };
                }
                _ => {}
            }
        }
        if let Some(t) = trigger {
            return WriteScope::Trigger {
                table: t.table.clone(),
            };
        }
        let o = outbox_ins.first().copied().unwrap_or(first_booking);
        WriteScope::Separate {
            booking: unit(first_booking).map_or(0, |u| u.start),
            outbox: unit(o).map_or(0, |u| u.start),
            booking_in: unit(first_booking).map_or_else(String::new, |u| self.describe_group(u)),
            outbox_in: unit(o).map_or_else(String::new, |u| self.describe_group(u)),
        }
    }

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
        if let Some(absent) = self.not_in_file(id, "the write transaction") {
            return absent;
        }
        let why = "both rows commit or neither does, so there is no moment where the booking \
                   exists without its event (or the event without its booking)";
        let (status, message) = match &self.write_scope {
            WriteScope::NoBookingWrite => (
                Status::Missing,
                "No INSERT into bookings: write create_booking as SQL, the booking INSERT and \
                 the outbox INSERT between BEGIN and COMMIT (or in one function), so it can be \
                 checked."
                    .to_string(),
            ),
            WriteScope::NoOutboxWrite { booking } => (
                Status::Missing,
                format!(
                    "The booking is inserted at line {} but no outbox row is written. The event \
                     has to be written by the same transaction, or it is lost whenever the \
                     process dies after the commit.",
                    self.line(*booking)
                ),
            ),
            WriteScope::OneStatement { at } => (
                Status::Ok,
                format!(
                    "One statement at line {} inserts the booking and the outbox row together. \
                     A single statement is atomic: {why}.",
                    self.line(*at)
                ),
            ),
            WriteScope::OneTransaction {
                booking,
                outbox,
                group_start,
            } => (
                Status::Ok,
                format!(
                    "The booking INSERT (line {}) and the outbox INSERT (line {}): both sit \
                     between the BEGIN at line {} and its COMMIT. One local transaction means \
                     {why}.",
                    self.line(*booking),
                    self.line(*outbox),
                    self.line(*group_start)
                ),
            ),
            WriteScope::Routine {
                booking,
                outbox,
                name,
            } => (
                Status::Ok,
                format!(
                    "The booking INSERT (line {}) and the outbox INSERT (line {}): both run \
                     inside routine `{name}`, which is one transaction. One local transaction \
                     means {why}.",
                    self.line(*booking),
                    self.line(*outbox)
                ),
            ),
            WriteScope::Trigger { table } => (
                Status::Ok,
                format!(
                    "A trigger on `{table}` writes the outbox row, so it runs inside whatever \
                     transaction inserts the booking: {why}."
                ),
            ),
            WriteScope::Separate {
                booking,
                outbox,
                booking_in,
                outbox_in,
            } => (
                Status::Wrong,
                format!(
                    "The booking INSERT (line {}) runs {booking_in}, and the outbox INSERT (line \
                     {}) runs {outbox_in}. Two commits reopen the dual-write gap the outbox \
                     exists to close: a crash between them leaves a booking whose event is never \
                     published. Put both INSERTs in one transaction.",
                    self.line(*booking),
                    self.line(*outbox)
                ),
            ),
        };
        item(id, status, true, message)
    }
}
