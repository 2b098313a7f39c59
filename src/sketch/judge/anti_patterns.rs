//! The anti-patterns item: publishing inside the write transaction, deleting outbox rows on the
//! relay path, and a sketch with no index at all.

use super::design::{Judge, item};
use crate::sketch::lex::{Kind, Tok};
use crate::sketch::limits::MAX_WRITE_GROUPS_SCANNED;
use crate::sketch::model::GroupKind;
use crate::sketch::report::{Item, Status};
use crate::sketch::statements::Head;
use crate::sketch::words::{defers_publish, mentions_publish, publish_call, unit_text};

impl<'m> Judge<'m> {
    fn retention_filter(&self, filter: &[Tok]) -> bool {
        let markers: Vec<String> = self
            .marker_cols()
            .iter()
            .map(|(c, _)| c.name.clone())
            .collect();
        let created = self.col(self.roles.created).map(|c| c.name.clone());
        filter.iter().any(|t| t.is_punct("<") || t.is_punct("<="))
            && filter.iter().any(|t| {
                t.kind == Kind::Param
                    || t.ident().is_some_and(|w| {
                        markers.contains(&w)
                            || Some(&w) == created.as_ref()
                            || [
                                "now",
                                "current_timestamp",
                                "current_date",
                                "interval",
                                "datetime",
                                "strftime",
                                "julianday",
                                "unixepoch",
                                "date",
                            ]
                            .contains(&w.as_str())
                    })
            })
    }

    pub(super) fn anti_patterns(&self) -> Item {
        let id = "anti-patterns";
        let ob = self.ob().to_string();
        let mut found = Vec::new();

        // Publishing inside the write transaction.
        for g in self.write_groups.iter().take(MAX_WRITE_GROUPS_SCANNED) {
            let Some(group) = self.m.groups.get(*g) else {
                continue;
            };
            if group.kind == GroupKind::Single {
                continue;
            }
            let comment = self.m.comments.iter().find(|c| {
                c.start >= group.start
                    && c.start <= group.end
                    && mentions_publish(&c.text)
                    && !defers_publish(&c.text)
            });
            let call = self.m.units.iter().find(|u| {
                u.group == *g
                    && (u.facts.calls.iter().any(|c| publish_call(c))
                        || (u.head == Head::Pseudo && mentions_publish(&unit_text(u))))
            });
            let at = match (comment.map(|c| c.start), call.map(|u| u.start)) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if let Some(at) = at {
                found.push(format!(
                    "line {} publishes inside the write transaction: the broker hears about \
                     the booking before it is committed, so if the transaction rolls back or \
                     the commit fails, consumers act on a booking that never existed. Leave \
                     publishing to the relay, after commit.",
                    self.line(at)
                ));
                break;
            }
        }

        // Deleting outbox rows on the relay path.
        if !ob.is_empty() {
            for u in &self.m.units {
                for d in u.facts.deletes.iter().filter(|d| d.table == ob) {
                    if self.write_groups.contains(&u.group)
                        && self.m.group(u).is_some_and(|g| g.kind != GroupKind::Single)
                    {
                        if self.cdc.is_none() {
                            found.push(format!(
                                "line {} deletes the outbox row in the transaction that wrote \
                                 it. Only a CDC connector reading the log would ever see that \
                                 row; a polling relay never will, so the event is never \
                                 published.",
                                self.line(u.start)
                            ));
                        }
                    } else if !self.retention_filter(&d.filter) && self.cdc.is_none() {
                        found.push(format!(
                            "line {} deletes outbox rows right after publishing instead of \
                             marking them. The table stays small, but you lose the record of \
                             what was sent and when (no replay, no audit, no lag metric), and \
                             each delete leaves dead rows on the hottest table; mark them sent \
                             and sweep old sent rows in batches.",
                            self.line(u.start)
                        ));
                    }
                }
            }
        }

        // No index at all.
        if self.m.indexes.is_empty() && self.cdc.is_none() {
            found.push(
                "the sketch creates no index at all, so every relay poll scans the whole outbox."
                    .to_string(),
            );
        }

        if found.is_empty() {
            let rest = if self.cdc.is_some() {
                "and with CDC there is no poll to index and no sent row to keep: the connector \
                 has already read the INSERT from the log"
            } else {
                "sent rows are marked rather than deleted on the spot, and the relay has an \
                 index to work with"
            };
            item(
                id,
                Status::Ok,
                true,
                format!(
                    "No anti-patterns: nothing is published inside the write transaction, {rest}."
                ),
            )
        } else {
            item(
                id,
                Status::Wrong,
                true,
                format!("Anti-patterns found: {}", found.join(" Also: ")),
            )
        }
    }
}
