//! The relay-claim item: does the relay claim pending rows oldest first so that several relays
//! never publish the same row in one pass (SKIP LOCKED in PostgreSQL, UPDATE ... RETURNING under
//! BEGIN IMMEDIATE in SQLite), or is a CDC connector the relay.

use super::design::{ClaimKind, Judge, item};
use crate::sketch::model::{Flavor, GroupKind};
use crate::sketch::report::{Item, Status};
use crate::sketch::roles::{created_like, is_int_type};
use crate::sketch::statements::{BeginMode, Head};
use crate::sketch::words::words;

impl<'m> Judge<'m> {
    fn creation_order(&self, order: &[String]) -> Result<String, String> {
        let t = self.outbox;
        let created = self.col(self.roles.created).map(|c| c.name.clone());
        let event_id = self.col(self.roles.event_id);
        for o in order {
            let col = t.and_then(|t| t.find(o));
            if Some(o) == created.as_ref() || created_like(o) {
                return Ok(o.clone());
            }
            if let Some(c) = col {
                let random_uuid = c.ty.contains("uuid")
                    && !c.default.as_deref().is_some_and(|d| d.contains("v7"));
                if random_uuid {
                    return Err(format!(
                        "it orders by `{o}`, a UUID: random ids say nothing about creation order"
                    ));
                }
                if c.identity
                    || is_int_type(&c.ty) && (c.pk || event_id.is_some_and(|e| e.name == c.name))
                {
                    return Ok(o.clone());
                }
            }
            if matches!(
                o.as_str(),
                "id" | "seq" | "sequence" | "position" | "outbox_id" | "global_position"
            ) && col.is_none_or(|c| !c.ty.contains("uuid"))
            {
                return Ok(o.clone());
            }
        }
        Err(if order.is_empty() {
            "it has no ORDER BY, so rows come back in whatever order the planner likes and a \
             later event for a booking can be published before an earlier one"
                .to_string()
        } else {
            format!(
                "it orders by {}, not by creation, so a later event for a booking can be \
                 published before an earlier one",
                order.join(", ")
            )
        })
    }

    fn comment_hint_before(&self, off: usize, words_any: &[&str]) -> bool {
        let line = self.line(off);
        self.m.comments.iter().any(|c| {
            let l = self.line(c.start);
            l + 8 >= line
                && c.start < off
                && words(&c.text)
                    .iter()
                    .any(|w| words_any.contains(&w.as_str()))
        })
    }

    pub(super) fn relay_claim(&self) -> Item {
        let id = "relay-claim";
        let cdc_in_sql = self.cdc.as_ref().filter(|_| !self.cdc_assumed);
        if cdc_in_sql.is_none()
            && self.schema_review
            && let Some(absent) = self.not_in_file(id, "the relay")
        {
            return absent;
        }
        let Some(claim) = self.claim else {
            if let Some(e) = cdc_in_sql {
                return item(
                    id,
                    Status::Ok,
                    true,
                    format!(
                        "No polling claim, which fits the design: a CDC connector ({e}) is the \
                         relay. It reads committed inserts from the log in commit order and \
                         tracks its own offset, so there are no rows to claim."
                    ),
                );
            }
            if let Some(absent) = self.not_in_file(id, "the relay") {
                return absent;
            }
            if self.cdc_assumed {
                return item(
                    id,
                    Status::NotJudged,
                    true,
                    format!(
                        "A CDC relay is assumed: nothing in the file polls `{}` and it has no \
                         sent marker, so only a connector reading the database log could relay \
                         it. Nothing here sets one up, so it cannot be judged. Show it (CREATE \
                         PUBLICATION ... FOR TABLE {}, or a logical replication slot), or give \
                         the table a sent marker and write the polling relay.",
                        self.ob(),
                        self.ob()
                    ),
                );
            }
            return item(
                id,
                Status::Missing,
                true,
                "No relay query over the outbox. Show the poll: select unsent rows oldest \
                 first with FOR UPDATE SKIP LOCKED (PostgreSQL), or claim them with UPDATE ... \
                 RETURNING under BEGIN IMMEDIATE (SQLite)."
                    .to_string(),
            );
        };
        let Some(u) = self.m.units.get(claim.unit) else {
            return item(
                id,
                Status::Missing,
                true,
                "No relay query found.".to_string(),
            );
        };
        let line = self.line(u.start);
        let order = self.creation_order(&u.facts.order_by);
        let group = self.m.group(u).map(|g| g.kind);
        match claim.kind {
            ClaimKind::SkipLocked => {
                if self.m.flavor == Flavor::Sqlite {
                    return item(
                        id,
                        Status::Wrong,
                        true,
                        format!(
                            "The claim at line {line} uses FOR UPDATE SKIP LOCKED, which SQLite \
                             does not have (it has no row locks). In SQLite, claim with one \
                             UPDATE ... RETURNING under BEGIN IMMEDIATE."
                        ),
                    );
                }
                if let Err(why) = order {
                    return item(
                        id,
                        Status::Wrong,
                        true,
                        format!(
                            "The claim at line {line} uses FOR UPDATE SKIP LOCKED, good, but \
                             {why}. ORDER BY the creation column (or a sequence id)."
                        ),
                    );
                }
                let outside = u.head != Head::Update
                    && !u.facts.updates.iter().any(|x| x.table == self.ob())
                    && group == Some(GroupKind::Single)
                    && !self.comment_hint_before(u.start, &["begin", "transaction", "tx"]);
                if outside {
                    return item(
                        id,
                        Status::Wrong,
                        true,
                        format!(
                            "The claim at line {line} uses FOR UPDATE SKIP LOCKED but runs \
                             outside a transaction, so its row locks are released the moment \
                             the SELECT ends and another relay can claim the same rows. Wrap \
                             select, publish and update in BEGIN ... COMMIT."
                        ),
                    );
                }
                item(
                    id,
                    Status::Ok,
                    true,
                    format!(
                        "The relay at line {line} claims oldest-first with FOR UPDATE SKIP \
                         LOCKED: each replica locks a disjoint batch and skips rows another \
                         replica holds, so several relays share the work without publishing \
                         the same row twice in one pass.{}",
                        if u.facts.limit {
                            ""
                        } else {
                            " Add a LIMIT so one pass takes a bounded batch."
                        }
                    ),
                )
            }
            ClaimKind::UpdateReturning => {
                if self.m.flavor == Flavor::Mysql {
                    return item(
                        id,
                        Status::Wrong,
                        true,
                        format!(
                            "The claim at line {line} is an UPDATE ... RETURNING, which MySQL \
                             does not have. In MySQL 8, claim with SELECT ... FOR UPDATE SKIP \
                             LOCKED inside the relay's transaction."
                        ),
                    );
                }
                if self.m.flavor == Flavor::Postgres {
                    return item(
                        id,
                        Status::Wrong,
                        true,
                        format!(
                            "The claim at line {line} is an UPDATE ... RETURNING without SKIP \
                             LOCKED. In PostgreSQL concurrent relays then queue on each other's \
                             row locks. Claim with UPDATE ... WHERE id IN (SELECT ... FOR \
                             UPDATE SKIP LOCKED) RETURNING, or select with SKIP LOCKED."
                        ),
                    );
                }
                if let Err(why) = order {
                    return item(
                        id,
                        Status::Wrong,
                        true,
                        format!("The claim at line {line} is an UPDATE ... RETURNING, but {why}."),
                    );
                }
                let note = match group {
                    Some(GroupKind::Explicit(BeginMode::Immediate | BeginMode::Exclusive)) => {
                        "under BEGIN IMMEDIATE, which takes SQLite's write lock up front: a \
                         second worker waits (busy_timeout) instead of claiming the same rows"
                    }
                    Some(GroupKind::Explicit(BeginMode::Deferred)) => {
                        "inside a deferred BEGIN; it works because the UPDATE is the first \
                         statement, but BEGIN IMMEDIATE makes the write lock explicit and \
                         avoids SQLITE_BUSY if a read ever comes first"
                    }
                    _ => {
                        "as one statement, which SQLite runs under its single write lock; BEGIN \
                         IMMEDIATE around it would make that explicit"
                    }
                };
                item(
                    id,
                    Status::Ok,
                    true,
                    format!(
                        "SQLite has no SKIP LOCKED, and the relay at line {line} does the \
                         right thing instead: it claims a batch oldest-first with one UPDATE ... \
                         RETURNING {note}."
                    ),
                )
            }
            ClaimKind::LockNoSkip => item(
                id,
                Status::Wrong,
                true,
                format!(
                    "The relay at line {line} locks rows with FOR UPDATE but without SKIP \
                     LOCKED: a second relay blocks on the first one's batch until it commits, \
                     so replicas take turns instead of sharing work. Add SKIP LOCKED."
                ),
            ),
            ClaimKind::Plain => item(
                id,
                Status::Wrong,
                true,
                format!(
                    "The relay at line {line} reads unsent rows without claiming them. With two \
                     relays running, both read the same rows and both publish them. Use \
                     SELECT ... FOR UPDATE SKIP LOCKED inside the relay's transaction \
                     (PostgreSQL), or UPDATE ... RETURNING under BEGIN IMMEDIATE (SQLite)."
                ),
            ),
        }
    }
}
