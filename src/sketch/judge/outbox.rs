//! The outbox table and its columns, items outbox-table to pending-marker: is there a table that
//! can carry a whole event, with a unique event id, an aggregate, a type, a payload, a creation
//! time and a way to tell pending rows from sent ones.

use super::design::{ClaimKind, Judge, item};
use crate::sketch::lex::Kind;
use crate::sketch::model::Flavor;
use crate::sketch::report::{Item, Status};
use crate::sketch::roles::{Marker, is_bool_type};
use crate::sketch::schema::{Column, Table};

impl<'m> Judge<'m> {
    // -- outbox-table ---------------------------------------------------------------------

    pub(super) fn outbox_table(&self) -> Item {
        let id = "outbox-table";
        match self.outbox {
            Some(t) if self.outbox_shaped => {
                let name = |i: Option<usize>| t.col(i).map_or("?", |c| c.name.as_str());
                let kind_col = if self.roles.etype.is_some() {
                    self.roles.etype
                } else {
                    self.roles.topic
                };
                let by_shape = if t.name.contains("outbox") {
                    String::new()
                } else {
                    format!(
                        " It is recognised by its columns; the name `{}` is fine.",
                        t.name
                    )
                };
                let durable = if self.write_scope.atomic() {
                    " Because this row is written by the same local transaction as the booking, \
                     the intent to publish is exactly as durable as the booking itself."
                } else {
                    " The row makes the intent to publish as durable as the booking only once \
                     the booking's own transaction writes it; write-transaction says what is \
                     missing."
                };
                item(
                    id,
                    Status::Ok,
                    true,
                    format!(
                        "`{}` (line {}) is the outbox: `{}` identifies each event, `{}` carries \
                         it and `{}` says what it is.{by_shape}{durable}",
                        t.name,
                        self.line(t.start),
                        name(self.roles.event_id),
                        name(self.roles.payload),
                        name(kind_col),
                    ),
                )
            }
            Some(t) => {
                let mut lacks = Vec::new();
                if self.roles.event_id.is_none() {
                    lacks.push("an event id column (event_id or id)");
                }
                if self.roles.payload.is_none() {
                    lacks.push("a payload column (payload/data/body as JSON, JSONB or TEXT)");
                }
                if self.roles.etype.is_none() && self.roles.topic.is_none() {
                    lacks.push("an event type column");
                }
                item(
                    id,
                    Status::Wrong,
                    true,
                    format!(
                        "`{}` (line {}) is named like an outbox but lacks {}. Without those the \
                         relay has nothing it can publish on its own: the row must carry the \
                         whole event, not just point at the booking.",
                        t.name,
                        self.line(t.start),
                        lacks.join(", ")
                    ),
                )
            }
            None if self.dynamic_ddl.is_some() => self.no_outbox(id, "whether one is an outbox"),
            None => match &self.outbox_name {
                Some(n) => item(
                    id,
                    Status::Missing,
                    true,
                    format!(
                        "The sketch inserts into `{n}` but never creates it. Add its CREATE \
                         TABLE so the event's columns (id, type, payload, timestamps) can be \
                         checked."
                    ),
                ),
                None => item(
                    id,
                    Status::Missing,
                    true,
                    "No table is shaped like an outbox: one with an event id, a payload column \
                     (payload, data or body, as JSON, JSONB or TEXT) and an event type. Without \
                     it the booking and its event are written to two systems and a crash \
                     between the two loses the event."
                        .to_string(),
                ),
            },
        }
    }

    // -- event-id-unique ------------------------------------------------------------------

    pub(super) fn event_id_unique(&self) -> Item {
        let id = "event-id-unique";
        let Some(t) = self.outbox else {
            return self.no_outbox(id, "an event id");
        };
        let Some(c) = self.col(self.roles.event_id) else {
            return item(
                id,
                Status::Missing,
                true,
                format!(
                    "`{}` has no event id column. Consumers dedupe on a stable event id; \
                     without one a redelivered event looks new.",
                    t.name
                ),
            );
        };
        let keys = self.key_sets(t);
        if keys.iter().any(|k| k.len() == 1 && k.contains(&c.name)) {
            let how = if c.pk || t.pk == [c.name.clone()] {
                "the primary key"
            } else {
                "UNIQUE"
            };
            let retry = if self.random_event_id(t, c) {
                format!(
                    " It does not stop a retried request from writing a second event: an id \
                     drawn at random (as here) is new on every try. If a client may retry, \
                     derive `{}` from the request's idempotency key so the retry hits the key.",
                    c.name
                )
            } else {
                String::new()
            };
            return item(
                id,
                Status::Ok,
                true,
                format!(
                    "`{}` is {how}: no two rows can share an id, so consumers can trust it as \
                     their dedupe key.{retry}",
                    c.name
                ),
            );
        }
        let other_pk = t
            .columns
            .iter()
            .find(|x| x.pk && x.name != c.name)
            .map(|x| {
                format!(
                    " (`{}` is the primary key, but that is not what consumers see)",
                    x.name
                )
            })
            .unwrap_or_default();
        let composite = if keys.iter().any(|k| k.contains(&c.name)) {
            " It is only unique together with other columns, which still lets the same id \
             appear twice."
        } else {
            ""
        };
        item(
            id,
            Status::Wrong,
            true,
            format!(
                "`{}` is neither PRIMARY KEY nor UNIQUE{other_pk}.{composite} Consumers dedupe \
                 on this id, so two rows sharing it means one real event gets dropped as a \
                 \"duplicate\". Make it UNIQUE (or the primary key).",
                c.name
            ),
        )
    }

    // -- aggregate ------------------------------------------------------------------------

    pub(super) fn aggregate(&self) -> Item {
        let id = "aggregate";
        let Some(t) = self.outbox else {
            return self.no_outbox(id, "aggregate columns");
        };
        match self.col(self.roles.agg_id) {
            Some(a) => {
                let kind = match self.col(self.roles.agg_type) {
                    Some(k) => format!(
                        " and `{}` says which kind of entity it is, so one outbox can serve \
                         several aggregates",
                        k.name
                    ),
                    None => " (an aggregate_type column would let one outbox serve several \
                             kinds of entity)"
                        .to_string(),
                };
                item(
                    id,
                    Status::Ok,
                    true,
                    format!(
                        "`{}` names the booking the event belongs to{kind}. Use it as the \
                         message key so all events of one booking land on one partition.{}",
                        a.name,
                        self.key_order_caveat()
                    ),
                )
            }
            None => item(
                id,
                Status::Missing,
                true,
                format!(
                    "`{}` has no aggregate id (aggregate_id, or booking_id). Without it the \
                     relay cannot key messages by booking, so events for one booking can be \
                     spread over partitions and consumed out of order.",
                    t.name
                ),
            ),
        }
    }

    // -- event-type -----------------------------------------------------------------------

    pub(super) fn event_type(&self) -> Item {
        let id = "event-type";
        let Some(t) = self.outbox else {
            return self.no_outbox(id, "an event type");
        };
        match (self.col(self.roles.etype), self.col(self.roles.topic)) {
            (Some(c), _) => item(
                id,
                Status::Ok,
                true,
                format!(
                    "`{}` names the event (BookingCreated). Consumers route and deserialize on \
                     it, and it lets one outbox carry many kinds of event.",
                    c.name
                ),
            ),
            (None, Some(topic)) => item(
                id,
                Status::Missing,
                true,
                format!(
                    "`{}` says where the message goes, not what it is. Add an event_type column \
                     so consumers can tell BookingCreated from BookingCancelled on one topic.",
                    topic.name
                ),
            ),
            (None, None) => item(
                id,
                Status::Missing,
                true,
                format!(
                    "`{}` has no event type column. Consumers need it to know how to read the \
                     payload and whether they care about the event at all.",
                    t.name
                ),
            ),
        }
    }

    // -- payload --------------------------------------------------------------------------

    pub(super) fn payload(&self) -> Item {
        let id = "payload";
        let Some(t) = self.outbox else {
            return self.no_outbox(id, "a payload");
        };
        let Some(c) = self.col(self.roles.payload) else {
            if let Some(bad) = self.col(self.roles.payload_bad) {
                return item(
                    id,
                    Status::Wrong,
                    true,
                    format!(
                        "`{}` is `{}`, which cannot hold an event body. Use JSONB (PostgreSQL) or \
                         TEXT holding JSON (SQLite).",
                        bad.name, bad.ty
                    ),
                );
            }
            return item(
                id,
                Status::Missing,
                true,
                format!(
                    "`{}` has no payload column. The relay publishes from the outbox alone, so \
                     the row has to carry the event body.",
                    t.name
                ),
            );
        };
        if let Some((line, err)) = self.bad_json_literal() {
            return item(
                id,
                Status::Wrong,
                true,
                format!(
                    "`{}` is the payload column, but the JSON written into it at line {line} is \
                     not valid ({err}). PostgreSQL would reject it on the JSONB cast; a \
                     consumer would choke on it.",
                    c.name
                ),
            );
        }
        let why = if c.ty.contains("jsonb") {
            "JSONB makes the database reject malformed events at write time".to_string()
        } else if c.ty.contains("json") {
            "JSON is checked on write; JSONB would also let you index and query it".to_string()
        } else if self.m.flavor == Flavor::Mysql && !c.ty.is_empty() {
            format!(
                "`{}` works; MySQL's JSON type would reject malformed events at write time",
                c.ty
            )
        } else if self.m.flavor == Flavor::Postgres && !c.ty.is_empty() {
            format!(
                "`{}` works; JSONB would reject malformed events at write time",
                c.ty
            )
        } else {
            "JSON stored as TEXT is the SQLite way; a CHECK (json_valid(...)) keeps it honest"
                .to_string()
        };
        let null = if c.not_null {
            ""
        } else {
            " Consider NOT NULL: an event without a body is useless to consumers."
        };
        item(
            id,
            Status::Ok,
            true,
            format!(
                "`{}` ({}) carries the event body; {why}.{null}",
                c.name,
                if c.ty.is_empty() { "untyped" } else { &c.ty }
            ),
        )
    }

    fn bad_json_literal(&self) -> Option<(usize, String)> {
        let ob = self.ob();
        self.m
            .units
            .iter()
            .filter(|u| u.facts.inserts.iter().any(|n| n == ob))
            .flat_map(|u| u.toks.iter())
            .filter(|t| t.kind == Kind::Str)
            .find_map(|t| {
                let s = t.text.trim();
                let looks = (s.starts_with('{') && s.ends_with('}'))
                    || (s.starts_with('[') && s.ends_with(']'));
                if !looks {
                    return None;
                }
                serde_json::from_str::<serde_json::Value>(s)
                    .err()
                    .map(|e| (self.line(t.start), e.to_string()))
            })
    }

    // -- created-at -----------------------------------------------------------------------

    pub(super) fn created_at(&self) -> Item {
        let id = "created-at";
        let Some(t) = self.outbox else {
            return self.no_outbox(id, "a creation timestamp");
        };
        let Some(c) = self.col(self.roles.created) else {
            return item(
                id,
                Status::Missing,
                true,
                format!(
                    "`{}` has no creation timestamp (created_at or occurred_at). The relay \
                     needs it to publish oldest first, and the age of the oldest unsent row \
                     is the number to alert on.",
                    t.name
                ),
            );
        };
        if is_bool_type(&c.ty) || c.ty.contains("json") {
            return item(
                id,
                Status::Wrong,
                true,
                format!(
                    "`{}` is `{}`, which cannot hold a point in time. Use TIMESTAMPTZ \
                     (PostgreSQL) or TEXT/INTEGER time (SQLite).",
                    c.name, c.ty
                ),
            );
        }
        let default = if c.default.is_some() {
            " It defaults to the insert time, so no writer can forget it."
        } else {
            " Give it a DEFAULT (now() or CURRENT_TIMESTAMP) so no writer can forget it."
        };
        item(
            id,
            Status::Ok,
            true,
            format!(
                "`{}` records when the event was written: the relay orders by it and the lag \
                 of the oldest unsent row is measured from it.{default}",
                c.name
            ),
        )
    }

    // -- pending-marker -------------------------------------------------------------------

    pub(super) fn pending_marker(&self) -> Item {
        let id = "pending-marker";
        let Some(t) = self.outbox else {
            return self.no_outbox(id, "a sent marker");
        };
        let markers = self.marker_cols();
        if let Some((c, _)) = markers.iter().find(|(_, m)| *m == Marker::Timestamp) {
            if c.not_null {
                return item(
                    id,
                    Status::Wrong,
                    true,
                    format!(
                        "`{}` is NOT NULL, so a row can never say \"not sent yet\"{}. Make it \
                         nullable: NULL means pending, a timestamp means the broker acked.",
                        c.name,
                        if c.default.is_some() {
                            ", and with its default every row is born already sent"
                        } else {
                            ""
                        }
                    ),
                );
            }
            return item(
                id,
                Status::Ok,
                true,
                format!(
                    "`{}` is a nullable timestamp: NULL means pending, a value means sent and \
                     records when. The relay's query and its index can both key on `{} IS \
                     NULL`.",
                    c.name, c.name
                ),
            );
        }
        if let Some((c, _)) = markers.iter().find(|(_, m)| *m == Marker::Flag) {
            return item(
                id,
                Status::Ok,
                true,
                format!(
                    "`{}` flags sent rows. It works; a nullable sent timestamp would also \
                     record when each event went out, which helps when you chase lag.",
                    c.name
                ),
            );
        }
        if let Some((c, _)) = markers.iter().find(|(_, m)| *m == Marker::Status) {
            return item(
                id,
                Status::Ok,
                true,
                format!(
                    "`{}` tracks each row's state (pending, sent, failed). Keep the set of \
                     values closed with a CHECK and have the relay's index key on the pending \
                     state.",
                    c.name
                ),
            );
        }
        if let Some(e) = &self.cdc {
            return item(
                id,
                Status::Ok,
                true,
                format!(
                    "No sent marker, and none is needed: the sketch relies on a CDC relay \
                     ({e}). The connector reads inserts from the database log and keeps its own \
                     position there, so rows need no flag and can even be deleted right after \
                     they are written."
                ),
            );
        }
        let stamped = self
            .col(self.roles.stamped_at_insert)
            .map(|c| {
                format!(
                    " `{}` is filled in with every row and nothing here sets it later, so it is \
                     the message's own time, not a sent marker.",
                    c.name
                )
            })
            .unwrap_or_default();
        item(
            id,
            Status::Missing,
            true,
            format!(
                "`{}` has no way to tell pending rows from sent ones (a nullable published_at, \
                 a published flag or a status). A polling relay needs it to find work and to \
                 record what the broker has acked.{stamped}",
                t.name
            ),
        )
    }
}

/// Calls that draw a fresh random value each time they run: an event id made by one of them is
/// new on every retry of the write.
const RANDOM_ID_CALLS: &[&str] = &[
    "gen_random_uuid",
    "uuid_generate_v4",
    "uuidv4",
    "randomblob",
    "random",
];

impl Judge<'_> {
    /// Whether the event id is drawn at random: by the column's default, or by the write
    /// transaction's INSERT into the outbox.
    fn random_event_id(&self, t: &Table, c: &Column) -> bool {
        let random = |text: &str| {
            let text = text.to_ascii_lowercase();
            RANDOM_ID_CALLS
                .iter()
                .any(|f| text.contains(&format!("{f}(")) || text.contains(&format!("{f} (")))
        };
        c.default.as_deref().is_some_and(random)
            || self.m.units.iter().any(|u| {
                self.write_groups.contains(&u.group)
                    && u.facts.inserts.contains(&t.name)
                    && random(&u.text())
            })
    }

    /// What the message key does not buy when several relays claim with SKIP LOCKED: one relay
    /// can publish a booking's second event while another still holds its first.
    fn key_order_caveat(&self) -> &'static str {
        match self.claim.map(|c| c.kind) {
            Some(ClaimKind::SkipLocked) => {
                " The key keeps them in order on the broker only if they reach it in order: with \
                 several SKIP LOCKED relays, one can publish a booking's second event while \
                 another still holds its first. Give each relay its own range of keys, or have \
                 consumers check a per-booking sequence number."
            }
            _ => {
                " A booking's events then stay in order on the broker as long as they are \
                 published in the order they were written."
            }
        }
    }
}
