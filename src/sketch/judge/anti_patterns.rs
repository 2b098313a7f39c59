//! The anti-patterns item: publishing inside the write transaction, deleting outbox rows on the
//! relay path (placed against the publish by the shared settles), and a sketch with no index.

use super::design::{Judge, item};
use super::shared::{IndexFit, Settle, SettleKind, SettleOrder};
use crate::sketch::limits::MAX_WRITE_GROUPS_SCANNED;
use crate::sketch::model::GroupKind;
use crate::sketch::report::{Item, Status};
use crate::sketch::statements::Head;
use crate::sketch::words::{defers_publish, mentions_publish, publish_call};

impl<'m> Judge<'m> {
    pub(super) fn anti_patterns(&self) -> Item {
        let id = "anti-patterns";
        let ob = self.ob().to_string();
        let mut found = Vec::new();
        // What was found, by kind, for the report's facts.
        let mut kinds: Vec<String> = Vec::new();

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
                    && (u.facts.calls.iter().any(|c| publish_call(&c.name))
                        || (u.head == Head::Pseudo && mentions_publish(&u.text())))
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
                kinds.push("publish-in-write".to_string());
                break;
            }
        }

        // Deleting the outbox row in the transaction that wrote it.
        if !ob.is_empty() && self.cdc.is_none() {
            let in_write = self.m.units.iter().find(|u| {
                u.facts.deletes.iter().any(|d| d.table == ob)
                    && self.write_groups.contains(&u.group)
                    && self.m.group(u).is_some_and(|g| g.kind != GroupKind::Single)
            });
            if let Some(u) = in_write {
                found.push(format!(
                    "line {} deletes the outbox row in the transaction that wrote it. Only a \
                     CDC connector reading the log would ever see that row; a polling relay \
                     never will, so the event is never published.",
                    self.line(u.start)
                ));
                kinds.push("delete-in-write".to_string());
            }
        }

        // Deleting outbox rows on the relay path, wherever the relay's order puts it.
        if self.cdc.is_none() {
            let lose = "mark them sent and sweep old sent rows in batches";
            // One sentence per order, at the first place it happens.
            let deletes: Vec<&Settle> = self
                .settles
                .iter()
                .filter(|s| s.kind == SettleKind::Delete)
                .collect();
            let mut said: Vec<String> = Vec::new();
            for s in &deletes {
                let label = s.label();
                if said.contains(&label) {
                    continue;
                }
                let more = deletes.iter().filter(|d| d.label() == label).count() - 1;
                kinds.push(label.clone());
                said.push(label);
                let line = if more > 0 {
                    format!("{} (and {more} more places)", self.line(s.at))
                } else {
                    self.line(s.at).to_string()
                };
                found.push(match s.order {
                    SettleOrder::AfterPublish(_) => format!(
                        "line {line} deletes outbox rows right after publishing instead of \
                         marking them. That is as safe for delivery as marking (a crash before \
                         the delete publishes the row again, as a crash before a mark would), \
                         but you lose the record of what was sent and when: no replay, no \
                         audit, no lag metric. Keeping rows costs storage and a sweep, not \
                         fewer dead rows (on PostgreSQL the marking UPDATE leaves one too); \
                         {lose}."
                    ),
                    SettleOrder::BeforePublish { .. } => format!(
                        "line {line} deletes outbox rows before they are published, so the row \
                         is gone while the broker still has nothing; see mark-after-publish for \
                         how that loses events. Publish first, then {lose}."
                    ),
                    SettleOrder::Unstated => format!(
                        "line {line} deletes outbox rows on the relay path instead of marking \
                         them, and the sketch never says where the publish comes; deleting \
                         loses the record of what was sent and when; {lose}."
                    ),
                });
            }
        }

        // A relay that polls with no index to serve it. The primary key is an index too; the
        // relay-index item says whether it serves the poll.
        if self.claim.is_some() && self.cdc.is_none() && matches!(self.index_fit, IndexFit::Missing)
        {
            found.push(
                "the relay polls the outbox but no index serves that poll, so every poll scans \
                 the whole outbox."
                    .to_string(),
            );
            kinds.push("no-relay-index".to_string());
        }

        let kinds = if kinds.is_empty() {
            "none".to_string()
        } else {
            kinds.join(", ")
        };
        let mut it = self.anti_patterns_item(id, &found);
        it.facts.insert("anti-patterns", kinds);
        it
    }

    fn anti_patterns_item(&self, id: &'static str, found: &[String]) -> Item {
        if found.is_empty() {
            let rest = if self.cdc.is_some() {
                "and with CDC there is no poll to index and no sent row to keep: the connector \
                 has already read the INSERT from the log"
                    .to_string()
            } else {
                let settled = if self.settles.iter().any(|s| s.is_mark()) {
                    "sent rows are marked rather than deleted on the spot"
                } else {
                    "no outbox row is deleted on the relay path"
                };
                let index = if self.index_fit.serves_relay() {
                    ", and the relay has an index to work with"
                } else {
                    ""
                };
                format!("{settled}{index}")
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
