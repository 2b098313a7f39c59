//! Column roles: what a column is for (event id, payload, event type, aggregate, creation time,
//! sent marker), read first from how the sketch uses it (the relay's WHERE, the mark's SET) and
//! from its constraints, then from its name and type, so a table is recognised by its shape
//! whatever it is called.

use super::facts::{Facts, UpdateFact};
use super::schema::{Column, Table};

pub(super) fn event_id_rank(n: &str) -> Option<u8> {
    match n {
        "event_id" | "eventid" | "message_id" | "messageid" | "msg_id" | "event_uuid"
        | "message_uuid" | "event_key" | "event_guid" => Some(0),
        "outbox_id" | "publication_id" | "uuid" | "guid" => Some(1),
        "id" => Some(2),
        _ => None,
    }
}

fn payload_named(n: &str) -> bool {
    if n.contains("metadata") || n.contains("header") || n.ends_with("_type") || n.ends_with("_id")
    {
        return false;
    }
    n.contains("payload")
        || matches!(
            n,
            "data"
                | "body"
                | "event_data"
                | "message_body"
                | "event_body"
                | "serialized_event"
                | "content"
                | "message"
                | "event"
                | "event_json"
                | "message_data"
                | "json"
                | "document"
        )
}

fn type_holds_document(ty: &str) -> bool {
    ty.is_empty()
        || [
            "json", "text", "char", "clob", "blob", "bytea", "binary", "string", "variant",
        ]
        .iter()
        .any(|k| ty.contains(k))
}

fn type_like(n: &str) -> bool {
    if ["aggregate", "content", "entity", "media", "mime"]
        .iter()
        .any(|k| n.contains(k))
    {
        return false;
    }
    matches!(n, "type" | "kind")
        || ((n.contains("type") || n.contains("kind") || n.ends_with("name"))
            && (n.contains("event") || n.contains("message") || n.contains("msg")))
        || n == "event_class"
}

fn topic_like(n: &str) -> bool {
    matches!(
        n,
        "topic" | "routing_key" | "destination" | "channel" | "subject" | "exchange" | "stream"
    )
}

fn agg_id_like(n: &str) -> bool {
    (n.contains("aggregate") && (n.contains("id") || n.contains("key")))
        || matches!(
            n,
            "entity_id"
                | "stream_id"
                | "booking_id"
                | "reservation_id"
                | "partition_key"
                | "message_key"
                | "root_id"
                | "entity_key"
                | "source_id"
                | "subject_id"
        )
}

fn agg_type_like(n: &str) -> bool {
    (n.contains("aggregate") && (n.contains("type") || n.contains("name")))
        || matches!(n, "entity_type" | "stream_type" | "source_type")
}

pub(super) fn created_like(n: &str) -> bool {
    matches!(
        n,
        "created_at"
            | "createdat"
            | "created"
            | "created_on"
            | "created_time"
            | "creation_time"
            | "create_time"
            | "occurred_at"
            | "occurredat"
            | "occurred_on"
            | "inserted_at"
            | "recorded_at"
            | "enqueued_at"
            | "queued_at"
            | "event_time"
            | "event_timestamp"
            | "timestamp"
            | "ts"
            | "publication_date"
            | "added_at"
            | "logged_at"
            | "written_at"
    )
}

fn is_time_type(ty: &str) -> bool {
    ty.contains("time") || ty.contains("date")
}

pub(super) fn is_bool_type(ty: &str) -> bool {
    ty.contains("bool") || ty == "bit"
}

pub(super) fn is_int_type(ty: &str) -> bool {
    ty.contains("int") || ty.contains("serial") || ty.contains("number")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Marker {
    Timestamp,
    Flag,
    Status,
}

const SENT_STEMS: &[&str] = &[
    "publish", "sent", "dispatch", "relay", "deliver", "process", "complet", "emit", "forward",
    "ship", "ack", "done", "handled", "finaliz",
];

/// Claims, leases, delays and retry bookkeeping: columns a relay filters on and sets that are
/// never the sent marker.
fn bookkeeping(n: &str) -> bool {
    [
        "claim", "lock", "lease", "start", "attempt", "retry", "next", "until", "expir", "after",
        "before", "delay", "schedul", "visible", "owner", "worker",
    ]
    .iter()
    .any(|k| n.contains(k))
}

fn marker_kind(c: &Column) -> Option<Marker> {
    let n = c.name.as_str();
    if bookkeeping(n) {
        return None;
    }
    if matches!(n, "status" | "state") || n.ends_with("_status") || n.ends_with("_state") {
        return Some(Marker::Status);
    }
    let stem = n
        .split('_')
        .any(|p| SENT_STEMS.iter().any(|s| p.starts_with(s)));
    if !stem || created_like(n) {
        return None;
    }
    let timeish_name = ["_at", "_on", "_date", "_time", "_ts", "at"]
        .iter()
        .any(|s| n.ends_with(s));
    if is_time_type(&c.ty) || (timeish_name && !is_bool_type(&c.ty)) {
        return Some(Marker::Timestamp);
    }
    if is_bool_type(&c.ty) || is_int_type(&c.ty) || n.starts_with("is_") || n.starts_with("has_") {
        return Some(Marker::Flag);
    }
    None
}

#[derive(Clone, Debug, Default)]
pub(super) struct Roles {
    pub(super) event_id: Option<usize>,
    pub(super) payload: Option<usize>,
    pub(super) payload_bad: Option<usize>,
    pub(super) etype: Option<usize>,
    pub(super) topic: Option<usize>,
    pub(super) agg_id: Option<usize>,
    pub(super) agg_type: Option<usize>,
    pub(super) created: Option<usize>,
    pub(super) markers: Vec<(usize, Marker)>,
    /// A timestamp named like a sent marker but NOT NULL with no default: the writer fills it
    /// in with the row, so it is the message's own time (MassTransit's `SentTime`), not a marker.
    pub(super) stamped_at_insert: Option<usize>,
}

/// How the sketch's statements use one table's columns: what the relay filters on as "not yet
/// done" (`col IS NULL`, `col = false`) and what an UPDATE sets.
#[derive(Clone, Debug, Default)]
pub(super) struct Usage {
    pub(super) pending_filters: Vec<String>,
    pub(super) sets: Vec<String>,
}

impl Usage {
    /// Reads the WHERE words and the UPDATE assignments on `table` of every statement that reads
    /// or updates it.
    pub(super) fn of<'f>(table: &str, facts: impl Iterator<Item = &'f Facts>) -> Usage {
        let mut u = Usage::default();
        for f in facts {
            let updates: Vec<&UpdateFact> = f.updates.iter().filter(|x| x.table == table).collect();
            if updates.is_empty() && !f.reads.iter().any(|r| r == table) {
                continue;
            }
            for w in f.filter_words.windows(3) {
                let [col, op, value] = w else { continue };
                let pending = (op == "is" && value == "null")
                    || (op == "=" && matches!(value.as_str(), "false" | "0" | "pending" | "new"));
                if pending && !u.pending_filters.contains(col) {
                    u.pending_filters.push(col.clone());
                }
            }
            for (c, _) in updates.iter().flat_map(|x| x.sets.iter()) {
                if !u.sets.contains(c) {
                    u.sets.push(c.clone());
                }
            }
        }
        u
    }

    fn is_empty(&self) -> bool {
        self.pending_filters.is_empty() && self.sets.is_empty()
    }
}

/// The marker a column used as one is, by its type: a time, a flag or a state.
fn marker_by_type(c: &Column) -> Option<Marker> {
    if is_time_type(&c.ty) {
        Some(Marker::Timestamp)
    } else if is_bool_type(&c.ty) || is_int_type(&c.ty) {
        Some(Marker::Flag)
    } else if ["text", "char", "enum", "state", "status"]
        .iter()
        .any(|k| c.ty.contains(k))
    {
        Some(Marker::Status)
    } else {
        None
    }
}

/// The roles of `t` once the sketch's own statements are read: a column the relay filters on as
/// pending, or an UPDATE sets, is the sent marker whatever it is called, and a column named like
/// one that the relay neither filters on nor sets is not, when the relay does use another.
pub(super) fn roles_in_use(t: &Table, usage: &Usage) -> Roles {
    let mut r = roles(t);
    if usage.is_empty() {
        return r;
    }
    let used: Vec<(usize, Marker)> = t
        .columns
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            usage.pending_filters.contains(&c.name)
                && !bookkeeping(&c.name)
                && Some(*i) != r.created
                && Some(*i) != r.event_id
        })
        .filter_map(|(i, c)| {
            let named = r.markers.iter().find(|(m, _)| *m == i).map(|(_, k)| *k);
            named.or_else(|| marker_by_type(c)).map(|k| (i, k))
        })
        .collect();
    let set = |i: &usize| {
        t.columns
            .get(*i)
            .is_some_and(|c| usage.sets.contains(&c.name))
    };
    if !used.is_empty() {
        r.markers = used;
    } else if r.markers.iter().any(|(i, _)| set(i)) {
        r.markers.retain(|(i, _)| set(i));
    }
    // A column the writer fills in is still the marker if the relay sets it later.
    if let Some(i) = r.stamped_at_insert
        && t.columns
            .get(i)
            .is_some_and(|c| usage.sets.contains(&c.name))
    {
        r.markers.push((i, Marker::Timestamp));
        if r.created == Some(i) {
            r.created = None;
        }
        r.stamped_at_insert = None;
    }
    r
}

pub(super) fn roles(t: &Table) -> Roles {
    let mut r = Roles::default();
    let mut best_id: Option<(u8, usize)> = None;
    let mut best_payload: Option<(u8, usize)> = None;
    for (i, c) in t.columns.iter().enumerate() {
        let n = c.name.as_str();
        if let Some(rank) = event_id_rank(n)
            && best_id.is_none_or(|(b, _)| rank < b)
        {
            best_id = Some((rank, i));
        }
        let named = payload_named(n);
        let rank = if named && type_holds_document(&c.ty) {
            Some(0)
        } else if !named && c.ty.contains("json") && !n.contains("header") && !n.contains("meta") {
            Some(1)
        } else {
            None
        };
        match rank {
            Some(rank) if best_payload.is_none_or(|(b, _)| rank < b) => {
                best_payload = Some((rank, i));
            }
            None if named && r.payload_bad.is_none() => r.payload_bad = Some(i),
            _ => {}
        }
        if r.etype.is_none() && type_like(n) {
            r.etype = Some(i);
        }
        if r.topic.is_none() && topic_like(n) {
            r.topic = Some(i);
        }
        if r.agg_id.is_none() && agg_id_like(n) {
            r.agg_id = Some(i);
        }
        if r.agg_type.is_none() && agg_type_like(n) {
            r.agg_type = Some(i);
        }
        if r.created.is_none() && created_like(n) {
            r.created = Some(i);
        }
        match marker_kind(c) {
            Some(Marker::Timestamp) if c.not_null && c.default.is_none() => {
                r.stamped_at_insert.get_or_insert(i);
            }
            Some(m) => r.markers.push((i, m)),
            None => {}
        }
    }
    if r.created.is_none() {
        r.created = r.stamped_at_insert;
    }
    // With no column named like an event id, the single-column key is the event id.
    if best_id.is_none() {
        let key = match t.pk.as_slice() {
            [only] => t.columns.iter().position(|c| c.name == *only),
            _ => t.columns.iter().position(|c| c.pk),
        };
        best_id = key.map(|i| (3, i));
    }
    r.event_id = best_id.map(|(_, i)| i);
    r.payload = best_payload.map(|(_, i)| i);
    r
}

pub(super) fn inbox_named(n: &str) -> bool {
    [
        "inbox",
        "processed",
        "dedup",
        "consumed",
        "idempot",
        "handled",
        "seen",
        "received",
    ]
    .iter()
    .any(|k| n.contains(k))
}

pub(super) fn consumer_like(n: &str) -> bool {
    [
        "consumer",
        "handler",
        "subscriber",
        "service",
        "listener",
        "group",
        "subscription",
        "processor",
    ]
    .iter()
    .any(|k| n.contains(k))
}
