//! The CDC relay's change feed on PostgreSQL: a logical replication slot decoded with
//! `test_decoding`, woken by `LISTEN`/`NOTIFY`.
//!
//! The slot lives on the server and remembers the position the relay last confirmed. The relay
//! peeks at the changes past it, publishes the outbox inserts among them, and only then advances
//! the slot, so a relay that dies between the two sees the same changes again when it reconnects:
//! duplicates, which the consumer's inbox absorbs, and never a gap. A trigger on the outbox sends
//! a notification that PostgreSQL delivers only when the inserting transaction commits; it says
//! when to look, the slot says what is there.

use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;

use super::slot::drop_slot;
use super::store::PgConn;
use crate::sim::error::SimError;
use crate::sim::error::{PgContext, PgError};
use crate::sim::model::Envelope;
use crate::sim::storage::seam::OutboxRow;
use crate::sim::storage::seam::{ChangeFeed, FeedBatch};

pub struct PgFeed {
    conn: PgConn,
    slot: String,
    /// `<schema>.outbox`, the table whose inserts are events, as test_decoding names it.
    table: String,
}

impl PgFeed {
    /// Makes the slot (replacing one left by an earlier run of the same name) and the outbox's
    /// commit notification, in the connection's schema.
    pub fn create_slot(conn: &mut PgConn, slot: &str) -> Result<(), PgError> {
        let client = conn.client();
        drop_slot(client, slot).pg("dropping an old replication slot")?;
        client
            .execute(
                "SELECT pg_create_logical_replication_slot($1, 'test_decoding')",
                &[&slot],
            )
            .pg("creating the replication slot (msgwork doctor --db URL says why it cannot)")?;
        client
            .batch_execute(
                "CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN
                     PERFORM pg_notify(TG_TABLE_SCHEMA, '');
                     RETURN NULL;
                 END $$;
                 CREATE TRIGGER outbox_committed AFTER INSERT ON outbox
                     FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();",
            )
            .pg("creating the outbox's commit notification")
    }

    /// Connects a relay to the slot, listening for the outbox's commits.
    pub fn open(url: &str, schema: &str, slot: &str) -> Result<Self, PgError> {
        let mut conn = PgConn::open(url, schema)?;
        conn.client()
            .batch_execute(&format!("LISTEN \"{schema}\""))
            .pg("listening for outbox commits")?;
        Ok(PgFeed {
            conn,
            slot: slot.to_string(),
            table: format!("{schema}.outbox"),
        })
    }
}

impl ChangeFeed for PgFeed {
    fn wait(&mut self, timeout: Duration) -> Result<(), SimError> {
        let mut notifications = self.conn.client().notifications();
        let first = notifications
            .timeout_iter(timeout)
            .next()
            .pg("waiting for an outbox commit")?;
        if first.is_some() {
            // Several commits may have landed: one read covers them all.
            while notifications
                .iter()
                .next()
                .pg("reading notifications")?
                .is_some()
            {}
        }
        Ok(())
    }

    fn read(&mut self, max: u32) -> Result<FeedBatch, SimError> {
        let slot = self.slot.clone();
        let changes = self
            .conn
            .client()
            .query(
                "SELECT lsn::text, data FROM pg_logical_slot_peek_changes($1, NULL, $2,
                        'include-xids', '0', 'skip-empty-xacts', '1')",
                &[&slot, &(max as i32)],
            )
            .pg("reading the replication slot")?;
        let mut rows = Vec::new();
        let mut position = 0;
        for change in &changes {
            let lsn: String = change.get(0);
            let data: String = change.get(1);
            position = parse_lsn(&lsn).ok_or_else(|| {
                SimError::Invalid(format!("the server sent an LSN msgwork cannot read: {lsn}"))
            })?;
            if let Some(row) = outbox_insert(&self.table, &data) {
                rows.push(row.map_err(|why| {
                    SimError::Invalid(format!("cannot read a decoded outbox row ({why}): {data}"))
                })?);
            }
        }
        Ok(FeedBatch { rows, position })
    }

    fn confirm(&mut self, position: u64) -> Result<(), SimError> {
        let slot = self.slot.clone();
        let lsn = format_lsn(position);
        self.conn
            .client()
            .execute(
                "SELECT pg_replication_slot_advance($1, $2::text::pg_lsn)",
                &[&slot, &lsn],
            )
            .pg("confirming the slot's position")?;
        Ok(())
    }
}

/// `16/B374D848` to a number; LSNs compare as numbers.
pub fn parse_lsn(text: &str) -> Option<u64> {
    let (hi, lo) = text.split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

pub fn format_lsn(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xffff_ffff)
}

/// The outbox row in a test_decoding line, when the line is an insert into `table`:
/// `table s.outbox: INSERT: id[bigint]:7 event_id[uuid]:'…' payload[jsonb]:'{"a": 1}' …`.
fn outbox_insert(table: &str, line: &str) -> Option<Result<OutboxRow, String>> {
    let rest = line.strip_prefix("table ")?.strip_prefix(table)?;
    let columns = rest.strip_prefix(": INSERT: ")?;
    Some(parse_columns(columns).and_then(|columns| {
        let get = |name: &str| {
            columns
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, v)| v.clone())
                .ok_or_else(|| format!("no {name}"))
        };
        let number = |name: &str| -> Result<i64, String> {
            get(name)?
                .parse()
                .map_err(|_| format!("{name} is not a number"))
        };
        Ok(OutboxRow {
            id: number("id")?,
            event: Envelope {
                event_id: get("event_id")?,
                event_type: get("event_type")?,
                aggregate_id: get("aggregate_id")?,
                occurred_at: get("occurred_at")?,
                version: number("version")? as u32,
                payload: get("payload")?,
            },
        })
    }))
}

/// `name[type]:value` pairs; a value is `null`, a bare word, or quoted with `''` for a quote.
fn parse_columns(mut text: &str) -> Result<Vec<(String, Option<String>)>, String> {
    let mut columns = Vec::new();
    while !text.is_empty() {
        let open = text.find('[').ok_or("a column without a type")?;
        let name = text[..open].to_string();
        let close = text[open..].find("]:").ok_or("an unterminated type")? + open;
        text = &text[close + 2..];
        let value = if let Some(quoted) = text.strip_prefix('\'') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let end = loop {
                match chars.next() {
                    Some((i, '\'')) => {
                        if quoted[i + 1..].starts_with('\'') {
                            value.push('\'');
                            chars.next();
                        } else {
                            break i + 1;
                        }
                    }
                    Some((_, c)) => value.push(c),
                    None => return Err("an unterminated quote".into()),
                }
            };
            text = &quoted[end..];
            Some(value)
        } else {
            let end = text.find(' ').unwrap_or(text.len());
            let word = &text[..end];
            text = &text[end..];
            (word != "null").then(|| word.to_string())
        };
        columns.push((name, value));
        text = text.trim_start_matches(' ');
    }
    Ok(columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsns_round_trip_and_order_as_numbers() {
        for text in ["0/0", "0/198DE00", "16/B374D848"] {
            assert_eq!(format_lsn(parse_lsn(text).unwrap()), text);
        }
        assert!(parse_lsn("0/198DF50") > parse_lsn("0/198DE00"));
        assert!(parse_lsn("1/0") > parse_lsn("0/FFFFFFFF"));
        assert_eq!(parse_lsn("nonsense"), None);
    }

    #[test]
    fn an_outbox_insert_is_read_back_whole() {
        let line = "table s.outbox: INSERT: id[bigint]:7 event_id[uuid]:'0195f0c2-0000-7000-8000-000000000001' \
                    aggregate_type[text]:'order' aggregate_id[text]:'ord_000007' event_type[text]:'OrderPlaced' \
                    version[integer]:1 payload[jsonb]:'{\"note\": \"it''s here\", \"amount_cents\": 500}' \
                    occurred_at[text]:'2026-11-22T10:00:00.000Z' created_at[bigint]:5 claimed_by[text]:null \
                    lease_until[bigint]:null sent_at[bigint]:null";
        let row = outbox_insert("s.outbox", line).unwrap().unwrap();
        assert_eq!(row.id, 7);
        assert_eq!(row.event.aggregate_id, "ord_000007");
        assert_eq!(row.event.version, 1);
        assert_eq!(
            row.event.payload,
            "{\"note\": \"it's here\", \"amount_cents\": 500}"
        );
        assert_eq!(row.event.order_number(), Some(7));
    }

    #[test]
    fn other_tables_and_other_changes_are_not_events() {
        assert!(outbox_insert("s.outbox", "BEGIN").is_none());
        assert!(outbox_insert("s.outbox", "table s.orders: INSERT: id[integer]:1").is_none());
        assert!(outbox_insert("s.outbox", "table t.outbox: INSERT: id[bigint]:1").is_none());
        assert!(
            outbox_insert(
                "s.outbox",
                "table s.outbox: UPDATE: id[bigint]:1 sent_at[bigint]:5"
            )
            .is_none()
        );
        let broken = outbox_insert(
            "s.outbox",
            "table s.outbox: INSERT: id[bigint]:'unterminated",
        );
        assert!(broken.unwrap().is_err());
    }
}
