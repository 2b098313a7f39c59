//! Outbox sketch checker: judges a learner's outbox design item by item and runs what it can.
//!
//! A sketch is SQL for PostgreSQL or SQLite mixed with comments and pseudocode. It is split into
//! statements on semicolons outside quotes, dollar quotes and comments. Each statement is parsed
//! with sqlparser, PostgreSQL first and then SQLite; one that neither reads is reported with its
//! line and column and then cut at line starts that look like SQL, so the SQL around a line of
//! pseudocode still counts. Table shapes come from the parse tree where there is one and from
//! tokens where there is not. What statements do (insert into, update, claim, delete) is read
//! from tokens, so parsed SQL and half-SQL are judged alike.
//!
//! The DDL and the write transaction then run in an in-memory SQLite database. Its authorizer
//! refuses ATTACH, DETACH, `load_extension`, virtual tables and all but a few pragmas; it may
//! attach no database, keeps temporary data in memory and cannot grow past 64 MiB; and its
//! progress handler stops it after two million VM steps (a sketch needs a few thousand) or half
//! a second, whichever comes first. SQLite only ever sees statements rebuilt from the checker's
//! own tokens, one at a time, so it cannot read a statement differently from the checker.

use std::collections::BTreeSet;

mod facts;
mod lex;
mod limits;
mod lines;
mod model;
mod report;
mod roles;
mod sandbox;
mod schema;
mod statements;
mod words;

use lex::{Kind, Tok, word_at};
use limits::*;
use model::{Flavor, GroupKind, Model, Unit};
pub use report::{Item, ParseProblem, SketchReport, Status};
use roles::{
    Marker, Roles, consumer_like, created_like, event_id_rank, inbox_named, is_bool_type,
    is_int_type, roles,
};
use sandbox::run_sandbox;
use schema::{Column, Index, Table, index_label};
use statements::{BeginMode, Head};
use words::{CDC_PHRASES, defers_publish, mentions_publish, publish_call, unit_text, words};

/// Checks an outbox sketch. Never panics; any input gets a report.
pub fn check(sql: &str) -> SketchReport {
    let (src, clipped) = clip(sql);
    let model = Model::build(src);
    let mut parse_problems = model.problems.clone();
    if clipped {
        let (line, column) = model.lines.pos(src, src.len());
        parse_problems.push(ParseProblem {
            line,
            column,
            message: format!(
                "the sketch is longer than {} KiB; only the first {} KiB were read",
                MAX_SOURCE_BYTES / 1024,
                MAX_SOURCE_BYTES / 1024
            ),
        });
    }
    let judge = Judge::new(&model);
    let mut items = judge.items();
    items.push(judge.sandbox_item());
    let passed = items.iter().all(|i| !i.required || i.status == Status::Ok);
    SketchReport {
        dialect: model.flavor.name(),
        items,
        passed,
        parse_problems,
    }
}

// ---------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------

fn clip(sql: &str) -> (&str, bool) {
    if sql.len() <= MAX_SOURCE_BYTES {
        return (sql, false);
    }
    let mut end = MAX_SOURCE_BYTES;
    while end > 0 && !sql.is_char_boundary(end) {
        end -= 1;
    }
    (sql.get(..end).unwrap_or(""), true)
}

// ---------------------------------------------------------------------------------------------
// Judging
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum ClaimKind {
    Plain,
    LockNoSkip,
    UpdateReturning,
    SkipLocked,
}

#[derive(Clone, Copy, Debug)]
struct Claim {
    unit: usize,
    kind: ClaimKind,
}

struct Judge<'m> {
    m: &'m Model,
    outbox: Option<&'m Table>,
    outbox_shaped: bool,
    outbox_name: Option<String>,
    roles: Roles,
    inbox: Option<&'m Table>,
    business: BTreeSet<String>,
    cdc: Option<String>,
    claim: Option<Claim>,
    write_groups: BTreeSet<usize>,
}

fn item(id: &'static str, status: Status, required: bool, message: String) -> Item {
    Item {
        id,
        status,
        required,
        message,
    }
}

impl<'m> Judge<'m> {
    fn new(m: &'m Model) -> Judge<'m> {
        let shape_score = |t: &Table| -> Option<u8> {
            let r = roles(t);
            if r.event_id.is_none()
                || r.payload.is_none()
                || (r.etype.is_none() && r.topic.is_none())
            {
                return None;
            }
            Some(if t.name.contains("outbox") {
                3
            } else if ["event", "message", "publication", "outgoing"]
                .iter()
                .any(|k| t.name.contains(k))
            {
                2
            } else if t.name.contains("booking") {
                0
            } else {
                1
            })
        };
        let candidates = || m.tables.iter().filter(|t| !inbox_named(&t.name));
        let mut outbox: Option<&Table> = None;
        let mut best = 0u8;
        for t in candidates() {
            if let Some(s) = shape_score(t)
                && (outbox.is_none() || s > best)
            {
                outbox = Some(t);
                best = s;
            }
        }
        let outbox_shaped = outbox.is_some();
        if outbox.is_none() {
            outbox = candidates().find(|t| t.name.contains("outbox"));
        }
        let outbox_name = outbox.map(|t| t.name.clone()).or_else(|| {
            m.units
                .iter()
                .flat_map(|u| u.facts.inserts.iter())
                .find(|n| n.contains("outbox"))
                .cloned()
        });
        let outbox_roles = outbox.map(roles).unwrap_or_default();

        let ob = outbox_name.clone().unwrap_or_default();
        let inbox = m
            .tables
            .iter()
            .find(|t| t.name != ob && inbox_named(&t.name))
            .or_else(|| {
                m.tables.iter().find(|t| {
                    t.name != ob
                        && !t.name.contains("booking")
                        && t.columns.iter().any(|c| event_id_rank(&c.name) == Some(0))
                        && t.columns.iter().any(|c| {
                            c.name.contains("process")
                                || c.name.contains("received")
                                || consumer_like(&c.name)
                        })
                        && roles(t).payload.is_none()
                })
            });
        let inbox_name = inbox.map(|t| t.name.clone()).unwrap_or_default();

        let mut business: BTreeSet<String> = m
            .tables
            .iter()
            .map(|t| t.name.clone())
            .chain(m.units.iter().flat_map(|u| u.facts.inserts.iter().cloned()))
            .filter(|n| {
                *n != ob && *n != inbox_name && (n.contains("booking") || n.contains("reservation"))
            })
            .collect();
        if business.is_empty() {
            business = m
                .units
                .iter()
                .flat_map(|u| u.facts.inserts.iter().cloned())
                .filter(|n| *n != ob && *n != inbox_name && !inbox_named(n))
                .collect();
        }

        let write_groups: BTreeSet<usize> = m
            .units
            .iter()
            .filter(|u| {
                u.facts
                    .inserts
                    .iter()
                    .any(|n| *n == ob || business.contains(n))
            })
            .map(|u| u.group)
            .collect();

        let mut judge = Judge {
            m,
            outbox,
            outbox_shaped,
            outbox_name,
            roles: outbox_roles,
            inbox,
            business,
            cdc: None,
            claim: None,
            write_groups,
        };
        judge.claim = judge.find_claim();
        judge.cdc = judge.cdc_evidence().filter(|_| judge.claim.is_none());
        judge
    }

    fn ob(&self) -> &str {
        self.outbox_name.as_deref().unwrap_or("")
    }

    fn col(&self, i: Option<usize>) -> Option<&'m Column> {
        self.outbox.and_then(|t| t.col(i))
    }

    fn marker_cols(&self) -> Vec<(&'m Column, Marker)> {
        self.outbox
            .map(|t| {
                self.roles
                    .markers
                    .iter()
                    .filter_map(|(i, m)| t.columns.get(*i).map(|c| (c, *m)))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn line(&self, off: usize) -> usize {
        self.m.line(off)
    }

    fn touches_outbox(&self, u: &Unit) -> (bool, bool) {
        let ob = self.ob();
        if ob.is_empty() {
            return (false, false);
        }
        (
            u.facts.reads.iter().any(|r| r == ob),
            u.facts.updates.iter().any(|x| x.table == ob),
        )
    }

    fn find_claim(&self) -> Option<Claim> {
        let markers: Vec<String> = self
            .marker_cols()
            .iter()
            .map(|(c, _)| c.name.clone())
            .collect();
        let mut best: Option<Claim> = None;
        for (i, u) in self.m.units.iter().enumerate() {
            let (reads, updates) = self.touches_outbox(u);
            if !reads && !updates {
                continue;
            }
            let f = &u.facts;
            let aggregate = f
                .calls
                .iter()
                .any(|c| matches!(c.as_str(), "count" | "max" | "min" | "avg" | "sum"));
            let kind = if f.skip_locked {
                ClaimKind::SkipLocked
            } else if updates && f.returning {
                ClaimKind::UpdateReturning
            } else if f.for_update && reads {
                ClaimKind::LockNoSkip
            } else if reads
                && !aggregate
                && matches!(
                    u.head,
                    Head::Select | Head::With | Head::Pseudo | Head::Other
                )
                && (f.limit
                    || !f.order_by.is_empty()
                    || f.filter_words.iter().any(|w| markers.contains(w)))
            {
                ClaimKind::Plain
            } else {
                continue;
            };
            if best.is_none_or(|b| kind > b.kind) {
                best = Some(Claim { unit: i, kind });
            }
        }
        best
    }

    fn cdc_evidence(&self) -> Option<String> {
        for c in &self.m.comments {
            let lower = c.text.to_lowercase();
            if let Some(p) = CDC_PHRASES.iter().find(|p| lower.contains(*p)) {
                return Some(format!("\"{p}\" on line {}", self.line(c.start)));
            }
            if words(&lower).iter().any(|w| w == "cdc") {
                return Some(format!("\"CDC\" on line {}", self.line(c.start)));
            }
        }
        for u in &self.m.units {
            let publication = matches!(word_at(&u.toks, 0), "create" | "alter")
                && word_at(&u.toks, 1) == "publication";
            let replica = u.head == Head::AlterTable
                && u.toks.windows(2).any(|w| {
                    w.first().is_some_and(|a| a.is_word("replica"))
                        && w.get(1).is_some_and(|b| b.is_word("identity"))
                });
            if publication || replica {
                return Some(format!(
                    "the {} at line {}",
                    if publication {
                        "publication"
                    } else {
                        "REPLICA IDENTITY setting"
                    },
                    self.line(u.start)
                ));
            }
        }
        None
    }

    fn items(&self) -> Vec<Item> {
        vec![
            self.outbox_table(),
            self.event_id_unique(),
            self.aggregate(),
            self.event_type(),
            self.payload(),
            self.created_at(),
            self.pending_marker(),
            self.relay_index(),
            self.write_transaction(),
            self.relay_claim(),
            self.mark_after_publish(),
            self.inbox_item(),
            self.anti_patterns(),
        ]
    }

    fn no_outbox(&self, id: &'static str, what: &str) -> Item {
        item(
            id,
            Status::Missing,
            true,
            format!("There is no outbox table to look for {what} in."),
        )
    }

    // -- outbox-table ---------------------------------------------------------------------

    fn outbox_table(&self) -> Item {
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
                item(
                    id,
                    Status::Ok,
                    true,
                    format!(
                        "`{}` (line {}) is the outbox: `{}` identifies each event, `{}` carries \
                         it and `{}` says what it is.{by_shape} Because this row is written by \
                         the same local transaction as the booking, the intent to publish is \
                         exactly as durable as the booking itself.",
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

    fn key_sets(&self, t: &Table) -> Vec<Vec<String>> {
        let mut keys: Vec<Vec<String>> = Vec::new();
        if !t.pk.is_empty() {
            keys.push(t.pk.clone());
        }
        keys.extend(t.uniques.iter().cloned());
        keys.extend(
            t.columns
                .iter()
                .filter(|c| c.pk || c.unique)
                .map(|c| vec![c.name.clone()]),
        );
        keys.extend(
            self.m
                .indexes
                .iter()
                .filter(|i| i.unique && i.table == t.name && i.predicate.is_none())
                .map(|i| i.columns.clone()),
        );
        keys
    }

    fn event_id_unique(&self) -> Item {
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
            return item(
                id,
                Status::Ok,
                true,
                format!(
                    "`{}` is {how}: a retried write cannot leave two rows for one event, so \
                     consumers can trust it as their dedupe key.",
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

    fn aggregate(&self) -> Item {
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
                         message key so all events of one booking land on one partition and \
                         stay in order.",
                        a.name
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

    fn event_type(&self) -> Item {
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

    fn payload(&self) -> Item {
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

    fn created_at(&self) -> Item {
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

    fn pending_marker(&self) -> Item {
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
        item(
            id,
            Status::Missing,
            true,
            format!(
                "`{}` has no way to tell pending rows from sent ones (a nullable published_at, \
                 a published flag or a status). A polling relay needs it to find work and to \
                 record what the broker has acked.",
                t.name
            ),
        )
    }

    // -- relay-index ----------------------------------------------------------------------

    fn relay_index(&self) -> Item {
        let id = "relay-index";
        let required = self.cdc.is_none();
        let Some(t) = self.outbox else {
            return item(
                id,
                Status::Missing,
                required,
                "There is no outbox table to index.".to_string(),
            );
        };
        let markers = self.marker_cols();
        let marker_names: Vec<&str> = markers.iter().map(|(c, _)| c.name.as_str()).collect();
        let created = self.col(self.roles.created).map(|c| c.name.as_str());
        let event_id = self.col(self.roles.event_id).map(|c| c.name.as_str());
        let order_names: Vec<String> = self
            .claim
            .and_then(|c| self.m.units.get(c.unit))
            .map(|u| u.facts.order_by.clone())
            .unwrap_or_default();
        let mine: Vec<&Index> = self
            .m
            .indexes
            .iter()
            .filter(|i| i.table == t.name)
            .collect();
        let mut partial_sent = None;
        let mut leading = None;
        for ix in &mine {
            let first = ix.columns.first().map(String::as_str).unwrap_or("");
            if let Some(p) = &ix.predicate {
                let pw = words(p);
                let on_marker = marker_names.iter().any(|m| pw.iter().any(|w| w == m));
                let has = |w: &str| pw.iter().any(|x| x == w);
                let unsent = (has("null") && !has("not"))
                    || (has("not") && !has("null"))
                    || [
                        "false", "pending", "new", "unsent", "queued", "ready", "failed",
                    ]
                    .iter()
                    .any(|w| has(w))
                    || p.contains("<>")
                    || p.contains("!=");
                if on_marker && unsent {
                    return item(
                        id,
                        Status::Ok,
                        required,
                        format!(
                            "{} (line {}) is a partial index on unsent rows ({}). Nicely done: \
                             it holds only the backlog, so the relay's poll stays fast however \
                             many sent rows pile up, and it shrinks as rows are marked.",
                            index_label(ix),
                            self.line(ix.start),
                            p
                        ),
                    );
                }
                if on_marker && partial_sent.is_none() {
                    partial_sent = Some(*ix);
                }
            }
            let useful_first = marker_names.contains(&first)
                || Some(first) == created
                || order_names
                    .iter()
                    .any(|o| o == first && Some(first) != event_id)
                || created_like(first);
            if useful_first && !(ix.unique && Some(first) == event_id) && leading.is_none() {
                leading = Some(*ix);
            }
        }
        if let Some(ix) = leading {
            return item(
                id,
                Status::Ok,
                required,
                format!(
                    "{} (line {}) on ({}) lets the relay find pending rows in order without \
                     scanning the table. A partial index (WHERE <sent marker> IS NULL) would be \
                     smaller still: it would hold only the backlog.",
                    index_label(ix),
                    self.line(ix.start),
                    ix.columns.join(", ")
                ),
            );
        }
        if let Some(ix) = partial_sent {
            return item(
                id,
                Status::Wrong,
                required,
                format!(
                    "{} (line {}) is partial on rows that are already sent ({}); the relay \
                     asks for the opposite. Flip the predicate to the unsent rows.",
                    index_label(ix),
                    self.line(ix.start),
                    ix.predicate.as_deref().unwrap_or("")
                ),
            );
        }
        if !mine.is_empty() {
            let list: Vec<String> = mine
                .iter()
                .map(|i| format!("({})", i.columns.join(", ")))
                .collect();
            return item(
                id,
                Status::Wrong,
                required,
                format!(
                    "The outbox's indexes {} do not match the relay's query, which filters on \
                     the sent marker and orders by creation. Add one on the creation column, \
                     ideally partial on unsent rows.",
                    list.join(", ")
                ),
            );
        }
        if let Some(e) = &self.cdc {
            return item(
                id,
                Status::Ok,
                false,
                format!(
                    "No relay index, and none is needed: with CDC ({e}) nothing polls the \
                     table; the connector reads the log."
                ),
            );
        }
        item(
            id,
            Status::Missing,
            true,
            format!(
                "No index on `{}` serves the relay's query. Every poll then scans the whole \
                 table, which grows with every booking; the relay gets slower exactly when it \
                 falls behind. Index the creation column, ideally partial WHERE the sent \
                 marker IS NULL.",
                t.name
            ),
        )
    }

    // -- write-transaction ----------------------------------------------------------------

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

    fn write_transaction(&self) -> Item {
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

    // -- relay-claim ----------------------------------------------------------------------

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

    fn relay_claim(&self) -> Item {
        let id = "relay-claim";
        let Some(claim) = self.claim else {
            if let Some(e) = &self.cdc {
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

    // -- mark-after-publish ---------------------------------------------------------------

    fn is_mark(&self, col: &str, value: &[Tok]) -> bool {
        let Some((_, kind)) = self.marker_cols().into_iter().find(|(c, _)| c.name == col) else {
            return false;
        };
        let first = value.first();
        let param = first.is_some_and(|t| t.kind == Kind::Param);
        match kind {
            Marker::Timestamp => {
                let only_null = value.len() == 1 && first.is_some_and(|t| t.is_word("null"));
                !value.is_empty() && !only_null
            }
            Marker::Flag => {
                param
                    || first.is_some_and(|t| {
                        t.is_word("true")
                            || (t.kind == Kind::Num && t.text == "1")
                            || (t.kind == Kind::Str
                                && matches!(t.text.as_str(), "t" | "true" | "1"))
                    })
            }
            Marker::Status => {
                param
                    || first.is_some_and(|t| {
                        t.kind == Kind::Str
                            && [
                                "published",
                                "sent",
                                "done",
                                "delivered",
                                "dispatched",
                                "processed",
                                "completed",
                                "complete",
                                "acked",
                                "success",
                                "succeeded",
                                "relayed",
                            ]
                            .contains(&t.text.to_lowercase().as_str())
                    })
            }
        }
    }

    fn publish_mentions(&self) -> Vec<usize> {
        let in_write = |off: usize| {
            self.write_groups.iter().any(|g| {
                self.m
                    .groups
                    .get(*g)
                    .is_some_and(|g| g.kind != GroupKind::Single && g.start <= off && off <= g.end)
            })
        };
        let mut at: Vec<usize> = self
            .m
            .comments
            .iter()
            .filter(|c| mentions_publish(&c.text) && !in_write(c.start))
            .map(|c| c.start)
            .collect();
        at.extend(
            self.m
                .units
                .iter()
                .filter(|u| !self.write_groups.contains(&u.group))
                .filter(|u| {
                    u.facts.calls.iter().any(|c| publish_call(c))
                        || (u.head == Head::Pseudo && mentions_publish(&unit_text(u)))
                })
                .map(|u| u.start),
        );
        at.sort_unstable();
        at
    }

    fn failure_handling(&self, from: usize) -> Option<String> {
        let t = self.outbox?;
        if let Some(c) = t.columns.iter().find(|c| {
            [
                "attempt",
                "retry",
                "retries",
                "error",
                "fail",
                "next_attempt",
            ]
            .iter()
            .any(|k| c.name.contains(k))
        }) {
            return Some(format!("`{}` records failed attempts", c.name));
        }
        if let Some(u) = self
            .m
            .units
            .iter()
            .find(|u| u.start > from && u.head == Head::Rollback)
        {
            return Some(format!(
                "the ROLLBACK at line {} leaves the rows unsent",
                self.line(u.start)
            ));
        }
        self.m
            .comments
            .iter()
            .filter(|c| c.start > from)
            .find(|c| {
                words(&c.text).iter().any(|w| {
                    [
                        "fail", "fails", "failure", "failed", "error", "retry", "retried",
                        "backoff", "nack", "timeout",
                    ]
                    .contains(&w.as_str())
                })
            })
            .map(|c| {
                format!(
                    "line {} says what happens when publishing fails",
                    self.line(c.start)
                )
            })
    }

    fn mark_after_publish(&self) -> Item {
        let id = "mark-after-publish";
        const AT_LEAST_ONCE: &str = "Marking only after the broker acks is what makes delivery \
            at-least-once: if the relay dies between the publish and the UPDATE, the row is \
            still unsent and goes out again on the next pass, so nothing is lost and consumers \
            dedupe the repeat by event id; marking first would make it at-most-once.";
        let ob = self.ob();
        let marks: Vec<(usize, &Unit)> = self
            .m
            .units
            .iter()
            .enumerate()
            .filter(|(_, u)| {
                u.facts
                    .updates
                    .iter()
                    .any(|x| x.table == ob && x.sets.iter().any(|(c, v)| self.is_mark(c, v)))
            })
            .collect();
        let claim_unit = self.claim.map(|c| c.unit);
        if let Some((_, u)) = marks
            .iter()
            .find(|(i, u)| Some(*i) == claim_unit && u.facts.returning)
        {
            return item(
                id,
                Status::Wrong,
                true,
                format!(
                    "The claim at line {} marks rows as sent while claiming them, before \
                     anything is published. A crash after that statement loses those events: \
                     that is at-most-once. Claim with a lease or lock, and set the sent marker \
                     in a separate UPDATE after the broker acks. {AT_LEAST_ONCE}",
                    self.line(u.start)
                ),
            );
        }
        let Some((_, mark)) = marks.iter().find(|(i, _)| Some(*i) != claim_unit).copied() else {
            if self.cdc.is_some() && self.marker_cols().is_empty() {
                return item(
                    id,
                    Status::Ok,
                    true,
                    "No UPDATE marks rows, and with CDC none is needed: the connector commits its \
                     log offset only after the broker acks, so a crash replays from the last \
                     committed offset. That is the same at-least-once guarantee a polling relay \
                     gets by marking after publishing, and consumers dedupe the replay by event \
                     id."
                    .to_string(),
                );
            }
            let deletes = self
                .m
                .units
                .iter()
                .any(|u| u.facts.deletes.iter().any(|d| d.table == ob));
            let what = if deletes {
                "The relay deletes each row after publishing instead of marking it sent, so \
                 nothing records what the broker already has."
            } else {
                "No UPDATE sets the sent marker after publishing, so the relay cannot tell what \
                 the broker already has."
            };
            return item(id, Status::Missing, true, format!("{what} {AT_LEAST_ONCE}"));
        };
        let col = mark
            .facts
            .updates
            .iter()
            .flat_map(|x| x.sets.iter())
            .find(|(c, v)| self.is_mark(c, v))
            .map(|(c, _)| c.clone())
            .unwrap_or_default();
        let mentions = self.publish_mentions();
        let claim_start = claim_unit
            .and_then(|i| self.m.units.get(i))
            .map_or(0, |u| u.start);
        let between = mentions.iter().any(|&p| p > claim_start && p < mark.start);
        let after = mentions
            .iter()
            .find(|&&p| p > mark.start && p > claim_start);
        // The publish that follows the mark: inside the mark's transaction, or, for a mark that
        // commits on its own, before the next statement.
        let window_end = match self.m.group(mark) {
            Some(g) if g.kind != GroupKind::Single => g.end,
            _ => self
                .m
                .units
                .iter()
                .find(|u| !u.in_body && u.start > mark.end)
                .map_or(usize::MAX, |u| u.start),
        };
        if !between && let Some(&p) = after.filter(|&&p| p <= window_end) {
            return item(
                id,
                Status::Wrong,
                true,
                format!(
                    "The UPDATE at line {} sets `{col}` before the publish at line {}. If the \
                     relay dies in between, the row says sent but the broker never got it: the \
                     event is lost. {AT_LEAST_ONCE}",
                    self.line(mark.start),
                    self.line(p)
                ),
            );
        }
        let failure = match self.failure_handling(claim_start) {
            Some(f) => format!(" Publish failures are handled: {f}."),
            None => " Say what happens when a publish fails: leave the row unsent (skip the \
                     UPDATE or roll back), count the attempt and back off."
                .to_string(),
        };
        item(
            id,
            Status::Ok,
            true,
            format!(
                "The UPDATE at line {} sets `{col}` after the publish. {AT_LEAST_ONCE}{failure}",
                self.line(mark.start)
            ),
        )
    }

    // -- inbox ----------------------------------------------------------------------------

    fn inbox_item(&self) -> Item {
        let id = "inbox";
        let Some(t) = self.inbox else {
            let redis = self.m.comments.iter().any(|c| {
                let w = words(&c.text);
                w.iter().any(|x| x == "redis" || x == "setnx" || x == "nx")
            });
            let extra = if redis {
                " A cache key with a TTL is described in comments, but a cache can forget an id \
                 and cannot commit together with the consumer's own write; show it as a table."
            } else {
                ""
            };
            return item(
                id,
                Status::Missing,
                true,
                format!(
                    "No dedupe store for the consumer (a processed_events or inbox table keyed \
                     by event id). Delivery is at-least-once, so BillingService will see some \
                     events twice; it needs to record each event id in the same transaction as \
                     its side effect and skip ids it has seen.{extra}"
                ),
            );
        };
        let mut id_cols: Vec<&Column> = t
            .columns
            .iter()
            .filter(|c| event_id_rank(&c.name).is_some())
            .collect();
        id_cols.sort_by_key(|c| event_id_rank(&c.name));
        let Some(c) = id_cols.first() else {
            return item(
                id,
                Status::Wrong,
                true,
                format!(
                    "`{}` (line {}) has no event id column, so it cannot tell a redelivery from \
                     a new event. Key it by the event id the outbox carries.",
                    t.name,
                    self.line(t.start)
                ),
            );
        };
        let keys = self.key_sets(t);
        let good = keys
            .iter()
            .find(|k| k.contains(&c.name) && k.iter().all(|x| *x == c.name || consumer_like(x)));
        let Some(key) = good else {
            let wide = keys.iter().find(|k| k.contains(&c.name));
            let why = match wide {
                Some(k) => format!(
                    "its key ({}) includes more than the event id and the consumer, so the same \
                     event can be recorded twice",
                    k.join(", ")
                ),
                None => format!("`{}` is neither PRIMARY KEY nor UNIQUE", c.name),
            };
            return item(
                id,
                Status::Wrong,
                true,
                format!(
                    "`{}` (line {}) is the dedupe store, but {why}. A duplicate delivery must \
                     hit a unique key so the second insert fails or does nothing.",
                    t.name,
                    self.line(t.start)
                ),
            );
        };
        let per_consumer = if key.len() > 1 { " per consumer" } else { "" };
        let conflict = self.m.units.iter().any(|u| {
            u.facts.inserts.contains(&t.name)
                && u.toks
                    .iter()
                    .any(|x| x.is_word("conflict") || x.is_word("ignore"))
        });
        let retention = self
            .m
            .units
            .iter()
            .any(|u| u.facts.deletes.iter().any(|d| d.table == t.name))
            || self.m.comments.iter().any(|c| {
                words(&c.text).iter().any(|w| {
                    [
                        "ttl",
                        "retention",
                        "retain",
                        "expire",
                        "expiry",
                        "prune",
                        "sweep",
                    ]
                    .contains(&w.as_str())
                })
            });
        let mut msg = format!(
            "`{}` (line {}) is keyed by `{}`{per_consumer}: the consumer records each event id \
             in the same transaction as its side effect, and a redelivered event hits the key \
             and is skipped.",
            t.name,
            self.line(t.start),
            c.name
        );
        if conflict {
            msg.push_str(
                " The ON CONFLICT / OR IGNORE insert makes the check and the record one step.",
            );
        }
        if retention {
            msg.push_str(
                " Retention is covered; keep it longer than the longest redelivery window.",
            );
        } else {
            msg.push_str(
                " Decide how long ids are kept: longer than the longest redelivery window, \
                 short enough that the table stays small.",
            );
        }
        item(id, Status::Ok, true, msg)
    }

    // -- anti-patterns --------------------------------------------------------------------

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

    fn anti_patterns(&self) -> Item {
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

    // -- sandbox-run ----------------------------------------------------------------------

    fn sandbox_item(&self) -> Item {
        let id = "sandbox-run";
        let run = run_sandbox(self.m, &self.write_groups);
        if let Some(e) = &run.setup_error {
            return item(
                id,
                Status::Missing,
                false,
                format!("The sandbox could not be set up, so nothing was run: {e}."),
            );
        }
        let skipped = if run.skipped.is_empty() {
            String::new()
        } else {
            let shown: Vec<&str> = run.skipped.iter().take(6).map(String::as_str).collect();
            let more = run.skipped.len().saturating_sub(shown.len());
            format!(
                " Skipped (not failures): {}{}.",
                shown.join("; "),
                if more > 0 {
                    format!("; and {more} more")
                } else {
                    String::new()
                }
            )
        };
        let mut problems = Vec::new();
        if !run.refused.is_empty() {
            problems.push(format!(
                "refused {}: a sketch has no business reaching outside its own database",
                run.refused.join(", ")
            ));
        }
        if let Some(s) = &run.stopped {
            problems.push(s.clone());
        }
        problems.extend(run.failures.iter().cloned());
        if !problems.is_empty() {
            return item(
                id,
                Status::Wrong,
                false,
                format!(
                    "In the in-memory SQLite sandbox: {}.{skipped}",
                    problems.join("; ")
                ),
            );
        }
        if run.ddl == 0 {
            return item(
                id,
                Status::Missing,
                false,
                format!("No DDL could run in the sandbox, so nothing was tried.{skipped}"),
            );
        }
        let write = if run.write_total == 0 {
            "There was no write transaction to run.".to_string()
        } else if run.write_skipped > 0 {
            format!(
                "Of the write transaction, {} of {} statements ran; the rest use syntax the \
                 sandbox cannot emulate, so check those against PostgreSQL itself.",
                run.write, run.write_total
            )
        } else {
            format!(
                "The write transaction ran too ({} statement{}), so the booking and its \
                 outbox row insert cleanly against your own tables.",
                run.write,
                if run.write == 1 { "" } else { "s" }
            )
        };
        let mapped = match self.m.flavor {
            Flavor::Postgres => {
                " with PostgreSQL types and functions mapped (uuid, jsonb, timestamptz, \
                 bigserial, now(), gen_random_uuid())"
            }
            Flavor::Sqlite => "",
        };
        item(
            id,
            Status::Ok,
            false,
            format!(
                "Ran {} statements in a throwaway in-memory SQLite database{mapped}: all {} DDL \
                 statements executed. {write}{skipped}",
                run.ran, run.ddl
            ),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    const GOOD: &str = include_str!("../../fixtures/sketches/good.sql");
    const GOOD_SQLITE: &str = include_str!("../../fixtures/sketches/good-sqlite.sql");
    const NO_SKIP_LOCKED: &str = include_str!("../../fixtures/sketches/no-skip-locked.sql");
    const NO_INDEX: &str = include_str!("../../fixtures/sketches/no-index.sql");
    const PUBLISH_IN_TX: &str = include_str!("../../fixtures/sketches/publish-in-transaction.sql");
    const DELETE_AFTER: &str = include_str!("../../fixtures/sketches/delete-after-publish.sql");
    const NO_INBOX: &str = include_str!("../../fixtures/sketches/no-inbox.sql");
    const NO_UNIQUE: &str = include_str!("../../fixtures/sketches/no-unique-event-id.sql");
    const SEPARATE: &str = include_str!("../../fixtures/sketches/separate-transactions.sql");
    const ATTACK: &str = include_str!("../../fixtures/sketches/attack.sql");
    const CDC: &str = include_str!("../../fixtures/sketches/cdc-no-marker.sql");

    fn get<'r>(r: &'r SketchReport, id: &str) -> &'r Item {
        match r.items.iter().find(|i| i.id == id) {
            Some(i) => i,
            None => panic!("no item {id} in {r:#?}"),
        }
    }

    fn assert_all_ok(name: &str, r: &SketchReport) {
        for i in &r.items {
            assert_eq!(
                i.status,
                Status::Ok,
                "{name}: {} is not ok: {}",
                i.id,
                i.message
            );
        }
        assert!(r.passed, "{name} should pass: {r:#?}");
    }

    fn assert_fails(sql: &str, id: &str, status: Status) -> SketchReport {
        let r = check(sql);
        let i = get(&r, id);
        assert_eq!(i.status, status, "{id}: {}", i.message);
        assert!(i.required, "{id} should be required");
        assert!(!r.passed, "a sketch with {id} {status:?} must not pass");
        r
    }

    #[test]
    fn items_come_in_the_documented_order() {
        let r = check(GOOD);
        let ids: Vec<&str> = r.items.iter().map(|i| i.id).collect();
        assert_eq!(
            ids,
            [
                "outbox-table",
                "event-id-unique",
                "aggregate",
                "event-type",
                "payload",
                "created-at",
                "pending-marker",
                "relay-index",
                "write-transaction",
                "relay-claim",
                "mark-after-publish",
                "inbox",
                "anti-patterns",
                "sandbox-run",
            ]
        );
        assert!(!get(&r, "sandbox-run").required);
    }

    #[test]
    fn good_postgres_sketch_passes_every_item() {
        let r = check(GOOD);
        assert_eq!(r.dialect, "postgresql");
        assert_all_ok("good.sql", &r);
        assert!(r.parse_problems.is_empty(), "{:#?}", r.parse_problems);
        assert!(get(&r, "relay-index").message.contains("partial index"));
        assert!(
            get(&r, "mark-after-publish")
                .message
                .contains("at-least-once")
        );
    }

    #[test]
    fn good_sqlite_sketch_passes_every_item() {
        let r = check(GOOD_SQLITE);
        assert_eq!(r.dialect, "sqlite");
        assert_all_ok("good-sqlite.sql", &r);
        assert!(r.parse_problems.is_empty(), "{:#?}", r.parse_problems);
        assert!(
            get(&r, "relay-claim")
                .message
                .contains("UPDATE ... RETURNING")
        );
    }

    #[test]
    fn missing_skip_locked_is_wrong() {
        let r = assert_fails(NO_SKIP_LOCKED, "relay-claim", Status::Wrong);
        assert!(get(&r, "relay-claim").message.contains("both publish"));
    }

    #[test]
    fn missing_index_fails_relay_index_and_anti_patterns() {
        let r = assert_fails(NO_INDEX, "relay-index", Status::Missing);
        assert_eq!(get(&r, "anti-patterns").status, Status::Wrong);
        assert!(get(&r, "anti-patterns").message.contains("no index"));
    }

    #[test]
    fn publishing_inside_the_write_transaction_is_flagged() {
        let r = assert_fails(PUBLISH_IN_TX, "anti-patterns", Status::Wrong);
        assert!(
            get(&r, "anti-patterns")
                .message
                .contains("inside the write transaction")
        );
        assert_eq!(get(&r, "write-transaction").status, Status::Ok);
    }

    #[test]
    fn deleting_after_publish_is_flagged() {
        let r = assert_fails(DELETE_AFTER, "anti-patterns", Status::Wrong);
        assert!(
            get(&r, "anti-patterns")
                .message
                .contains("deletes outbox rows right after")
        );
        assert_eq!(get(&r, "mark-after-publish").status, Status::Missing);
    }

    #[test]
    fn missing_inbox_is_missing() {
        assert_fails(NO_INBOX, "inbox", Status::Missing);
    }

    #[test]
    fn event_id_without_unique_is_wrong() {
        let r = assert_fails(NO_UNIQUE, "event-id-unique", Status::Wrong);
        assert!(get(&r, "event-id-unique").message.contains("event_id"));
    }

    #[test]
    fn inserts_in_separate_transactions_are_wrong() {
        let r = assert_fails(SEPARATE, "write-transaction", Status::Wrong);
        assert!(get(&r, "write-transaction").message.contains("dual-write"));
    }

    #[test]
    fn cdc_design_without_marker_is_accepted() {
        let r = check(CDC);
        let marker = get(&r, "pending-marker");
        assert_eq!(marker.status, Status::Ok, "{}", marker.message);
        assert!(marker.message.contains("CDC"));
        assert!(!get(&r, "relay-index").required);
        assert_all_ok("cdc-no-marker.sql", &r);
    }

    #[test]
    fn attack_is_refused_and_touches_no_file() {
        // The fixture attaches '/tmp/x'. Whatever is there (a file some earlier run left is
        // removed; a directory is left alone) must be exactly as it was afterwards.
        let target = std::path::Path::new("/tmp/x");
        if target.is_file() {
            assert!(
                std::fs::remove_file(target).is_ok(),
                "could not remove /tmp/x first"
            );
        }
        let state = || {
            std::fs::symlink_metadata(target)
                .ok()
                .map(|m| (m.is_dir(), m.len(), m.modified().ok()))
        };
        let before = state();
        let r = check(ATTACK);
        assert_eq!(state(), before, "ATTACH touched /tmp/x");
        let sandbox = get(&r, "sandbox-run");
        assert_eq!(sandbox.status, Status::Wrong, "{}", sandbox.message);
        assert!(
            sandbox.message.contains("ATTACH of '/tmp/x'"),
            "{}",
            sandbox.message
        );
        assert!(
            sandbox.message.contains("load_extension()"),
            "{}",
            sandbox.message
        );

        // The same, straight through the sandbox.
        let m =
            Model::build("ATTACH DATABASE '/tmp/x' AS x; SELECT load_extension('x'); DETACH x;");
        let run = run_sandbox(&m, &BTreeSet::new());
        assert_eq!(run.refused.len(), 3, "{run:?}");
        assert_eq!(run.ran, 0);
        assert_eq!(state(), before, "ATTACH touched /tmp/x");
    }

    #[test]
    fn vacuum_into_never_reaches_sqlite() {
        let path = std::env::temp_dir().join("msgwork-sketch-vacuum-into.db");
        let _ = std::fs::remove_file(&path);
        let sql = format!(
            "CREATE TABLE t (id int);\nVACUUM INTO '{}';",
            path.display()
        );
        let r = check(&sql);
        assert!(!path.exists());
        assert!(get(&r, "sandbox-run").message.contains("maintenance"));
    }

    #[test]
    fn runaway_statements_are_stopped() {
        let sql = "CREATE TABLE t (x integer);\n\
                   INSERT INTO t VALUES (1), (2), (3), (4), (5), (6), (7), (8), (9), (10);\n\
                   INSERT INTO t SELECT a.x FROM t a, t b, t c, t d, t e, t f, t g, t h;";
        let started = Instant::now();
        let m = Model::build(sql);
        let write: BTreeSet<usize> = m.units.iter().map(|u| u.group).collect();
        let run = run_sandbox(&m, &write);
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(run.stopped.is_some(), "{run:?}");
    }

    #[test]
    fn recursive_queries_never_run() {
        let m = Model::build(
            "CREATE TABLE t (x blob);\nINSERT INTO t WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL \
             SELECT n + 1 FROM c) SELECT zeroblob(16000) FROM c ORDER BY 1;",
        );
        let write: BTreeSet<usize> = m.units.iter().map(|u| u.group).collect();
        let run = run_sandbox(&m, &write);
        assert!(run.stopped.is_none(), "{run:?}");
        assert!(
            run.skipped.iter().any(|s| s.contains("recursive")),
            "{run:?}"
        );
    }

    #[test]
    fn sandbox_catches_a_write_transaction_that_cannot_insert() {
        let sql = GOOD.replace(
            "INSERT INTO outbox (event_id, aggregate_type, aggregate_id, event_type, payload)\nVALUES (gen_random_uuid(),\n        'booking',\n",
            "INSERT INTO outbox (event_id, aggregate_id, event_type, payload)\nVALUES (gen_random_uuid(),\n",
        );
        assert_ne!(sql, GOOD, "the fixture changed; update this test");
        let r = check(&sql);
        let sandbox = get(&r, "sandbox-run");
        assert_eq!(sandbox.status, Status::Wrong, "{}", sandbox.message);
        assert!(
            sandbox
                .message
                .contains("NOT NULL constraint failed: outbox.aggregate_type")
        );
        assert!(r.passed, "the sandbox is reported, not required");
    }

    #[test]
    fn marking_before_publishing_is_wrong() {
        let sql = GOOD
            .replace(
                "UPDATE outbox\n   SET published_at = now()\n WHERE id = $1;\n",
                "",
            )
            .replace(
                "-- for each row, in order:",
                "UPDATE outbox SET published_at = now() WHERE id = $1;\n-- for each row, in order:",
            );
        let r = assert_fails(&sql, "mark-after-publish", Status::Wrong);
        assert!(
            get(&r, "mark-after-publish")
                .message
                .contains("before the publish")
        );
    }

    #[test]
    fn ordering_by_a_random_uuid_is_not_creation_order() {
        let sql = GOOD.replace("ORDER BY created_at, id", "ORDER BY event_id");
        let r = assert_fails(&sql, "relay-claim", Status::Wrong);
        assert!(get(&r, "relay-claim").message.contains("UUID"));
    }

    #[test]
    fn status_marker_trigger_write_and_schema_names_pass() {
        let sql = "CREATE SCHEMA app;\n\
            CREATE TABLE app.bookings (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, guest text NOT NULL);\n\
            CREATE TABLE app.message (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), aggregate_id bigint NOT NULL,\n\
              type text NOT NULL, data text NOT NULL, status text NOT NULL DEFAULT 'pending',\n\
              occurred_at timestamp with time zone NOT NULL DEFAULT now());\n\
            CREATE INDEX message_pending ON app.message (occurred_at) WHERE status = 'pending';\n\
            CREATE FUNCTION app.booking_outbox() RETURNS trigger LANGUAGE plpgsql AS $$\n\
            BEGIN INSERT INTO app.message (aggregate_id, type, data) VALUES (NEW.id, 'BookingCreated', '{}'); RETURN NEW; END $$;\n\
            CREATE TRIGGER outbox_row AFTER INSERT ON app.bookings FOR EACH ROW EXECUTE FUNCTION app.booking_outbox();\n\
            INSERT INTO app.bookings (guest) VALUES ('ana');\n\
            WITH batch AS (SELECT id FROM app.message WHERE status = 'pending' ORDER BY occurred_at LIMIT 50 FOR NO KEY UPDATE SKIP LOCKED)\n\
            UPDATE app.message m SET status = 'sending' FROM batch WHERE m.id = batch.id RETURNING m.id, m.data;\n\
            -- publish each to the broker; on ack:\n\
            UPDATE app.message SET status = 'sent' WHERE id = $1;\n\
            CREATE TABLE app.inbox (message_id uuid, consumer text, PRIMARY KEY (message_id, consumer));\n";
        let r = check(sql);
        assert_all_ok("inline sketch", &r);
        assert!(r.parse_problems.is_empty(), "{:#?}", r.parse_problems);
        assert!(get(&r, "write-transaction").message.contains("trigger"));
        assert!(
            get(&r, "outbox-table")
                .message
                .contains("recognised by its columns")
        );
    }

    #[test]
    fn parse_errors_carry_line_and_column() {
        let sql = "-- outbox\n\nCREATE TABLE outbox (\n    id uuid PRIMARY KEY,\n    event_type text NOT NULL,\n    payload jsonb NOT NULL,\n  );\n";
        let r = check(sql);
        let p = match r.parse_problems.first() {
            Some(p) => p,
            None => panic!("no parse problem in {r:#?}"),
        };
        assert_eq!((p.line, p.column), (7, 3), "{p:?}");
        assert!(p.message.contains("found: )"), "{}", p.message);
        // The table is still judged from its tokens.
        assert_eq!(get(&r, "outbox-table").status, Status::Ok);
        assert_eq!(get(&r, "event-id-unique").status, Status::Ok);
    }

    #[test]
    fn pseudocode_between_statements_is_reported_and_skipped() {
        let sql = "BEGIN;\nINSERT INTO bookings (id) VALUES (1);\nINSERT INTO outbox (event_id) VALUES (2);\nCOMMIT;\n\
                   loop every 500ms:\n  rows = fetch\nSELECT id FROM outbox WHERE published_at IS NULL ORDER BY created_at LIMIT 10 FOR UPDATE SKIP LOCKED;\n";
        let r = check(sql);
        let p = r.parse_problems.first();
        assert!(
            p.is_some_and(|p| p.line == 5 && p.column == 1),
            "{:#?}",
            r.parse_problems
        );
        let m = Model::build(sql);
        assert!(
            m.units
                .iter()
                .any(|u| u.facts.skip_locked && u.ast.is_some())
        );
        assert_eq!(get(&r, "write-transaction").status, Status::Ok);
    }

    #[test]
    fn a_function_body_counts_as_one_transaction() {
        let sql = "CREATE FUNCTION create_booking(p_guest uuid) RETURNS uuid LANGUAGE plpgsql AS $$\n\
                   DECLARE v_id uuid := gen_random_uuid();\nBEGIN\n\
                   INSERT INTO bookings (id, guest_id) VALUES (v_id, p_guest);\n\
                   INSERT INTO outbox (event_id, event_type, payload) VALUES (gen_random_uuid(), 'BookingCreated', '{}');\n\
                   RETURN v_id;\nEND;\n$$;";
        let r = check(sql);
        let w = get(&r, "write-transaction");
        assert_eq!(w.status, Status::Ok, "{}", w.message);
        assert!(w.message.contains("create_booking"));
    }

    #[test]
    fn report_serializes_with_lowercase_statuses() {
        let r = check(NO_INBOX);
        let json = match serde_json::to_value(&r) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        };
        let statuses: Vec<&str> = json["items"]
            .as_array()
            .map(|a| a.iter().filter_map(|i| i["status"].as_str()).collect())
            .unwrap_or_default();
        assert!(statuses.contains(&"missing") && statuses.contains(&"ok"));
    }

    /// A small deterministic generator, so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
        }
    }

    #[test]
    fn random_garbage_never_panics() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let pieces = [
            "CREATE",
            "TABLE",
            "outbox",
            "(",
            ")",
            ",",
            ";",
            "'",
            "\"",
            "$$",
            "$q$",
            "--",
            "/*",
            "*/",
            "\n",
            " ",
            "BEGIN",
            "COMMIT",
            "END",
            "INSERT INTO",
            "UPDATE",
            "SET",
            "=",
            "SELECT",
            "FROM",
            "WHERE",
            "FOR UPDATE SKIP LOCKED",
            "$1",
            "?",
            ":x",
            "::jsonb",
            "TRIGGER",
            "ATOMIC",
            "CASE",
            "é",
            "🙂",
            "\0",
            "\\",
            "e'",
            "ATTACH",
            "VACUUM",
            "generated always as identity",
            "interval",
            "now()",
            "x.y.",
            "[",
            "]",
            "#",
            "//",
        ];
        for round in 0..400 {
            let mut s = String::new();
            if round % 4 == 0 {
                let bytes: Vec<u8> = (0..rng.below(400))
                    .map(|_| (rng.next() & 0xff) as u8)
                    .collect();
                s = String::from_utf8_lossy(&bytes).into_owned();
            } else {
                for _ in 0..rng.below(120) {
                    s.push_str(pieces[rng.below(pieces.len())]);
                    if rng.below(3) == 0 {
                        s.push(' ');
                    }
                }
            }
            let r = check(&s);
            assert_eq!(r.items.len(), 14);
            // Mutations of a real sketch.
            let cut = rng.below(GOOD.len());
            let mut mutated = String::new();
            mutated.push_str(GOOD.get(..cut).unwrap_or(""));
            mutated.push_str(pieces[rng.below(pieces.len())]);
            mutated.push_str(GOOD.get(cut..).unwrap_or(""));
            let _ = check(&mutated);
        }
    }

    #[test]
    fn huge_inputs_never_panic_and_stay_bounded() {
        let started = Instant::now();
        let nested = format!("SELECT {}1{};", "(".repeat(50_000), ")".repeat(50_000));
        let r = check(&nested);
        assert!(!r.parse_problems.is_empty());
        let many = "INSERT INTO outbox (event_id) VALUES (1);\n".repeat(30_000);
        let _ = check(&many);
        let unterminated = format!("SELECT '{}", "x".repeat(2_000_000));
        let r = check(&unterminated);
        assert!(r.parse_problems.iter().any(|p| p.message.contains("KiB")));
        let pseudo = "for each row publish it\n".repeat(40_000);
        let _ = check(&pseudo);
        let _ = check(&";".repeat(1_000_000));
        assert!(started.elapsed() < Duration::from_secs(60));
    }

    #[test]
    fn checking_good_sql_is_fast() {
        let _ = check(GOOD);
        let started = Instant::now();
        let r = check(GOOD);
        let took = started.elapsed();
        assert!(r.passed);
        assert!(took < Duration::from_millis(500), "took {took:?}");
    }
}
