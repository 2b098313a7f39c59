//! The cleanup lab on a PostgreSQL server: the crash lab's PostgreSQL schema and statements, in a
//! schema of the run's own, grown with `COPY`. Day partitions are a declaratively partitioned
//! outbox (`PARTITION BY RANGE (created_at)`), a day dropped with `DROP TABLE`.
//!
//! The lab switches autovacuum off on its tables and runs `VACUUM` itself at fixed points: after
//! growing a table, as autovacuum would soon after a bulk load, and once the cleanup is done, timed,
//! since that is the half of a delete PostgreSQL defers. A background vacuum would otherwise land
//! on one measurement and not another, and its cost would hide in that figure.

use std::io::Write as _;
use std::time::{Duration, Instant};

use postgres::Statement;

use super::day::Day;
use super::options::{PARTIAL_INDEX, PLAIN_INDEX, POLL_BATCH, SENT_AFTER_MS};
use super::report::PageReads;
use super::seam::{DayTables, LabDb, NewRow, Server, Sweep};
use crate::sim::error::PgContext;
use crate::sim::error::SimError;
use crate::sim::model::{Envelope, Order};
use crate::sim::storage::postgres::store::{
    OutboxLayout, POLL_UNSENT, PgConn, UNSENT_INDEX, outbox_table,
};
use crate::sim::storage::seam::OutboxRow;

/// The columns `COPY` fills, in the order [`copy_line`] writes them.
const COPY_COLUMNS: &str = "(id, event_id, aggregate_type, aggregate_id, event_type, version, \
                            payload, occurred_at, created_at, sent_at)";

/// What the server says about itself, for the report.
#[derive(Clone, Debug)]
pub(super) struct About {
    pub(super) version: String,
    pub(super) block_size: u32,
    pub(super) fsync: String,
    pub(super) shared_buffers: String,
}

impl About {
    pub(super) fn ask(url: &str) -> Result<About, SimError> {
        let mut client = crate::sim::storage::postgres::connect::connect(url)?;
        let row = client
            .query_one(
                "SELECT current_setting('server_version'), current_setting('block_size')::int,
                        current_setting('fsync'), current_setting('shared_buffers')",
                &[],
            )
            .pg("reading the server's settings")?;
        Ok(About {
            version: row.get(0),
            block_size: row.get::<_, i32>(1) as u32,
            fsync: row.get(2),
            shared_buffers: row.get(3),
        })
    }
}

/// One schema of the lab on the server, and the connection the service and the relay share.
pub(super) struct PgLab {
    conn: PgConn,
    url: String,
    schema: String,
    ping: Statement,
}

impl PgLab {
    fn open(url: &str, schema: &str) -> Result<Self, SimError> {
        let mut conn = PgConn::open(url, schema)?;
        let ping = conn.client().prepare("SELECT 1").pg("preparing a ping")?;
        Ok(PgLab {
            conn,
            url: url.to_string(),
            schema: schema.to_string(),
            ping,
        })
    }

    /// Runs `sql`, one or more statements, outside any transaction.
    fn batch(&mut self, sql: &str, doing: &'static str) -> Result<(), SimError> {
        Ok(self.conn.client().batch_execute(sql).pg(doing)?)
    }

    /// The crash lab's PostgreSQL schema in `schema`, autovacuum off.
    pub(super) fn outbox(url: &str, schema: &str) -> Result<Self, SimError> {
        let mut lab = PgLab::open(url, schema)?;
        lab.conn
            .create_service_schema(true)
            .pg("creating the outbox schema")?;
        lab.conn
            .client()
            .batch_execute(
                "ALTER TABLE outbox SET (autovacuum_enabled = off);
                 ALTER TABLE orders SET (autovacuum_enabled = off);",
            )
            .pg("switching autovacuum off on the lab's tables")?;
        Ok(lab)
    }

    /// The orders table and a partitioned outbox in `schema` with a partition for each day, each
    /// with its own part of the partial index on unsent rows.
    pub(super) fn day_tables(
        url: &str,
        schema: &str,
        old: &Day,
        new: &Day,
    ) -> Result<Self, SimError> {
        let mut lab = PgLab::open(url, schema)?;
        lab.conn
            .create_service_schema(false)
            .pg("creating the orders table")?;
        let mut sql = format!(
            "{}\nALTER TABLE orders SET (autovacuum_enabled = off);",
            outbox_table(OutboxLayout::ByCreatedAt)
        );
        for day in [old, new] {
            let Day { table, start, end } = day;
            sql.push_str(&format!(
                "\nCREATE TABLE {table} PARTITION OF outbox FOR VALUES FROM ({start}) TO ({end})
                     WITH (autovacuum_enabled = off);
                 CREATE INDEX {table}_unsent ON {table} (id) WHERE sent_at IS NULL;"
            ));
        }
        // On the parent last: it adopts each day's index rather than building another.
        sql.push_str(&format!("\n{UNSENT_INDEX};"));
        lab.conn
            .client()
            .batch_execute(&sql)
            .pg("creating the day partitions")?;
        Ok(lab)
    }
}

/// `field` as `COPY`'s text format wants it: backslash, tab and line breaks escaped.
fn copy_field(out: &mut String, field: &str) {
    for c in field.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// One row of `COPY … FROM STDIN` in text format, the columns of [`COPY_COLUMNS`].
fn copy_line(out: &mut String, row: &NewRow) {
    let e = &row.event;
    out.push_str(&row.id.to_string());
    for field in [&e.event_id, "order", &e.aggregate_id, &e.event_type] {
        out.push('\t');
        copy_field(out, field);
    }
    out.push('\t');
    out.push_str(&e.version.to_string());
    for field in [&e.payload, &e.occurred_at] {
        out.push('\t');
        copy_field(out, field);
    }
    out.push('\t');
    out.push_str(&row.created_at.to_string());
    out.push('\t');
    match row.sent_at {
        Some(at) => out.push_str(&at.to_string()),
        None => out.push_str("\\N"),
    }
    out.push('\n');
}

impl LabDb for PgLab {
    /// `COPY` straight into `table`, then the id sequence moved past the rows, in one transaction.
    fn append(&mut self, table: &str, rows: &[NewRow]) -> Result<(), SimError> {
        let Some(last) = rows.last().map(|r| r.id) else {
            return Ok(());
        };
        let mut text = String::with_capacity(rows.len() * 256);
        for row in rows {
            copy_line(&mut text, row);
        }
        let client = self.conn.client();
        let mut tx = client.transaction().pg("BEGIN")?;
        let mut copy = tx
            .copy_in(&format!("COPY {table} {COPY_COLUMNS} FROM STDIN"))
            .pg("starting COPY")?;
        copy.write_all(text.as_bytes())
            .map_err(|_| SimError::Internal("the COPY stream to the server broke"))?;
        copy.finish().pg("growing the outbox with COPY")?;
        tx.execute(
            "SELECT setval(pg_get_serial_sequence('outbox', 'id'), $1)",
            &[&last],
        )
        .pg("moving the id sequence past the copied rows")?;
        Ok(tx.commit().pg("COMMIT")?)
    }

    /// What autovacuum would do soon after a bulk load: set the visibility map and hint bits, and
    /// give the planner statistics for the table as it now is.
    fn settle(&mut self) -> Result<(), SimError> {
        self.batch(
            "VACUUM (ANALYZE) outbox, orders",
            "vacuuming the grown tables",
        )
    }

    fn poll(&mut self) -> Result<Vec<OutboxRow>, SimError> {
        Ok(self.conn.select_unsent(POLL_BATCH).pg("polling")?)
    }

    fn poll_plan(&mut self) -> Result<String, SimError> {
        let lines = self
            .conn
            .client()
            .query(&format!("EXPLAIN {POLL_UNSENT}"), &[&i64::from(POLL_BATCH)])
            .pg("explaining the poll")?;
        Ok(lines
            .iter()
            .map(|r| r.get::<_, String>(0).trim().to_string())
            .collect::<Vec<_>>()
            .join("; "))
    }

    fn write(&mut self, order: &Order, event: &Envelope, at: i64) -> Result<(), SimError> {
        let conn = &mut self.conn;
        conn.begin().pg("BEGIN")?;
        conn.insert_order(order, at as u64)
            .pg("inserting an order")?;
        conn.insert_outbox(event, at as u64)
            .pg("inserting an outbox row")?;
        Ok(conn.commit().pg("COMMIT")?)
    }

    fn mark_sent_from(&mut self, from_id: i64) -> Result<(), SimError> {
        self.conn
            .client()
            .execute(
                "UPDATE outbox SET sent_at = created_at + $1 WHERE sent_at IS NULL AND id >= $2",
                &[&SENT_AFTER_MS, &from_id],
            )
            .pg("marking rows sent")?;
        Ok(())
    }

    fn count(&mut self, sql: &str) -> Result<u64, SimError> {
        let row = self.conn.client().query_one(sql, &[]).pg("counting rows")?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    fn last_id(&mut self) -> Result<Option<i64>, SimError> {
        let row = self
            .conn
            .client()
            .query_one("SELECT max(id) FROM outbox", &[])
            .pg("reading the last id")?;
        Ok(row.get(0))
    }

    /// Counted by the server: the blocks this transaction asked of the table and of the index,
    /// before and after the poll, which runs in this backend alone. With no index, index and
    /// bitmap scans are off for the poll.
    fn poll_reads(&mut self, index: Option<&str>) -> Result<Option<PageReads>, SimError> {
        let mut tx = self.conn.client().transaction().pg("BEGIN")?;
        // Table and index, the index named only when there is one.
        let sql = match index {
            Some(_) => {
                "SELECT pg_stat_get_xact_blocks_fetched('outbox'::regclass),
                        pg_stat_get_xact_blocks_fetched($1::text::regclass)"
            }
            None => "SELECT pg_stat_get_xact_blocks_fetched('outbox'::regclass), 0::bigint",
        };
        let name = index.unwrap_or_default();
        let fetched = |tx: &mut postgres::Transaction<'_>| -> Result<(i64, i64), SimError> {
            let params: &[&(dyn postgres::types::ToSql + Sync)] = match index {
                Some(_) => &[&name],
                None => &[],
            };
            let row = tx.query_one(sql, params).pg("counting the blocks read")?;
            Ok((row.get(0), row.get(1)))
        };
        // Parallel workers would read part of the table in backends of their own, uncounted.
        tx.batch_execute("SET LOCAL max_parallel_workers_per_gather = 0")
            .pg("keeping the poll in one backend")?;
        if index.is_none() {
            tx.batch_execute(
                "SET LOCAL enable_indexscan = off; SET LOCAL enable_indexonlyscan = off;
                 SET LOCAL enable_bitmapscan = off;",
            )
            .pg("turning index scans off")?;
        }
        let before = fetched(&mut tx)?;
        tx.query(POLL_UNSENT, &[&i64::from(POLL_BATCH)])
            .pg("polling")?;
        let after = fetched(&mut tx)?;
        tx.commit().pg("COMMIT")?;
        Ok(Some(PageReads {
            index: (after.1 - before.1).max(0) as u64,
            table: (after.0 - before.0).max(0) as u64,
        }))
    }

    fn index_pages(&mut self, name: &str) -> Result<u64, SimError> {
        let row = self
            .conn
            .client()
            .query_one(
                "SELECT pg_relation_size($1::text::regclass) / current_setting('block_size')::bigint",
                &[&name],
            )
            .pg("measuring an index")?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    fn use_plain_index(&mut self) -> Result<(), SimError> {
        self.batch(
            &format!("DROP INDEX {PARTIAL_INDEX}; CREATE INDEX {PLAIN_INDEX} ON outbox (sent_at);"),
            "building the plain index",
        )
    }

    fn use_partial_index(&mut self) -> Result<(), SimError> {
        self.batch(
            &format!("DROP INDEX {PLAIN_INDEX}; {UNSENT_INDEX};"),
            "building the partial index",
        )
    }

    fn sweeper(&self) -> Result<Box<dyn Sweep>, SimError> {
        Ok(Box::new(PgSweep::open(&self.url, &self.schema)?))
    }

    fn server(&mut self) -> Option<&mut dyn Server> {
        Some(self)
    }
}

impl Server for PgLab {
    fn ping(&mut self) -> Result<(), SimError> {
        self.conn
            .client()
            .query(&self.ping, &[])
            .pg("pinging the server")?;
        Ok(())
    }

    fn vacuum(&mut self) -> Result<(), SimError> {
        self.batch("VACUUM outbox", "vacuuming the outbox")
    }

    fn outbox_bytes(&mut self) -> Result<u64, SimError> {
        let row = self
            .conn
            .client()
            .query_one("SELECT pg_total_relation_size('outbox')", &[])
            .pg("measuring the outbox")?;
        Ok(row.get::<_, i64>(0) as u64)
    }
}

impl DayTables for PgLab {
    /// A row's partition follows its `created_at`: an `UPDATE` that re-stamps it with today's start
    /// moves it to today's partition, keeping its id, event id and `occurred_at`.
    fn carry_over(&mut self, old: &Day, new: &Day) -> Result<(), SimError> {
        self.conn
            .client()
            .execute(
                "UPDATE outbox SET created_at = $1
                  WHERE sent_at IS NULL AND created_at >= $2 AND created_at < $3",
                &[&new.start, &old.start, &old.end],
            )
            .pg("moving unsent rows to today's partition")?;
        Ok(())
    }

    /// `DROP TABLE` of the partition: its files are unlinked at commit, its rows never visited.
    fn drop_day(&mut self, old: &Day, _new: &Day) -> Result<(), SimError> {
        self.batch(
            &format!("DROP TABLE {}", old.table),
            "dropping the partition",
        )
    }

    fn table_exists(&mut self, name: &str) -> Result<bool, SimError> {
        let row = self
            .conn
            .client()
            .query_one("SELECT to_regclass($1::text) IS NOT NULL", &[&name])
            .pg("looking for a table")?;
        Ok(row.get(0))
    }
}

/// The cleaner's own connection: each window one `DELETE`, its own transaction.
struct PgSweep {
    conn: PgConn,
    oldest: Statement,
    delete: Statement,
    next: Statement,
}

impl PgSweep {
    fn open(url: &str, schema: &str) -> Result<Self, SimError> {
        let mut conn = PgConn::open(url, schema)?;
        let client = conn.client();
        let oldest = client
            .prepare("SELECT min(id) FROM outbox")
            .pg("preparing the cleaner")?;
        // `sent_at < cutoff` is never true of an unsent row: NULL compares as unknown.
        let delete = client
            .prepare("DELETE FROM outbox WHERE id > $1 AND id <= $2 AND sent_at < $3")
            .pg("preparing the cleaner")?;
        let next = client
            .prepare("SELECT id, created_at FROM outbox WHERE id > $1 ORDER BY id LIMIT 1")
            .pg("preparing the cleaner")?;
        Ok(PgSweep {
            conn,
            oldest,
            delete,
            next,
        })
    }
}

impl Sweep for PgSweep {
    fn oldest(&mut self) -> Result<Option<i64>, SimError> {
        let row = self
            .conn
            .client()
            .query_one(&self.oldest, &[])
            .pg("finding the oldest row")?;
        Ok(row.get(0))
    }

    /// The row locks it takes are held from the statement's start to its commit, one round trip.
    fn delete_window(
        &mut self,
        after: i64,
        last: i64,
        cutoff: i64,
    ) -> Result<(u64, Duration), SimError> {
        let started = Instant::now();
        let rows = self
            .conn
            .client()
            .execute(&self.delete, &[&after, &last, &cutoff])
            .pg("deleting a batch")?;
        Ok((rows, started.elapsed()))
    }

    fn next_row(&mut self, after: i64) -> Result<Option<(i64, i64)>, SimError> {
        let rows = self
            .conn
            .client()
            .query(&self.next, &[&after])
            .pg("finding the next window to clean")?;
        Ok(rows.first().map(|r| (r.get(0), r.get(1))))
    }

    fn after_batch(&mut self) -> Result<Option<Duration>, SimError> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_lines_escape_what_the_text_format_would_misread() {
        let row = |sent_at| NewRow {
            id: 7,
            event: Envelope {
                event_id: "0190-e".to_string(),
                event_type: "OrderPlaced".to_string(),
                aggregate_id: "ord\t1".to_string(),
                occurred_at: "2026-01-05T09:00:00.000Z".to_string(),
                version: 1,
                payload: "{\"note\":\"a\\\\b\\nc\"}\r".to_string(),
            },
            created_at: 500,
            sent_at,
        };
        let mut text = String::new();
        copy_line(&mut text, &row(None));
        copy_line(&mut text, &row(Some(1000)));
        let fields = "7\t0190-e\torder\tord\\t1\tOrderPlaced\t1\t{\"note\":\"a\\\\\\\\b\\\\nc\"}\\r\t\
                      2026-01-05T09:00:00.000Z\t500";
        assert_eq!(text, format!("{fields}\t\\N\n{fields}\t1000\n"));
        assert_eq!(
            text.lines().count(),
            2,
            "one line per row, whatever the fields hold"
        );
    }
}
