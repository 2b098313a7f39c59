//! The cleanup lab on SQLite files: the crash lab's schema, statements and connection settings,
//! plus memory-mapped reads. Day partitions are tables of their own behind a view standing in for
//! PostgreSQL's partitioned parent, so the relay's poll and the service's insert run unchanged.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, params};

use super::day::Day;
use super::options::{MMAP_SIZE, PARTIAL_INDEX, PLAIN_INDEX, POLL_BATCH, SENT_AFTER_MS};
use super::reads::pages_read;
use super::report::PageReads;
use super::seam::{DayTables, LabDb, NewRow, Server, Sweep};
use crate::sim::error::SimError;
use crate::sim::error::SqlContext;
use crate::sim::model::{Envelope, Order};
use crate::sim::storage::seam::OutboxRow;
use crate::sim::storage::sqlite::files::remove_db;
use crate::sim::storage::sqlite::sql::{self as db, Durability};

/// A connection to a lab database: the crash lab's settings, plus memory-mapped reads.
fn lab_connection(path: &Path, page_size: u32) -> Result<Connection, SimError> {
    let conn = db::open_with_page_size(path, Durability::Off, page_size)
        .sql("opening a cleanup lab database")?;
    conn.pragma_update(None, "mmap_size", MMAP_SIZE)
        .sql("mapping the database into memory")?;
    Ok(conn)
}

/// One SQLite file of the lab, and the connection the service and the relay share.
pub(super) struct SqliteLab {
    conn: Connection,
    path: PathBuf,
    page_size: u32,
    /// Where the relay marks rows sent: the outbox, or today's table behind the view.
    table: String,
}

impl SqliteLab {
    /// A new file at `path` with the crash lab's service schema.
    pub(super) fn outbox(path: &Path, page_size: u32) -> Result<Self, SimError> {
        remove_db(path)?;
        let conn = lab_connection(path, page_size)?;
        db::create_service_schema(&conn, true).sql("creating the outbox schema")?;
        Ok(SqliteLab {
            conn,
            path: path.to_path_buf(),
            page_size,
            table: "outbox".to_string(),
        })
    }

    /// A new file at `path` with the orders table and a table per day, `outbox` a view over them.
    pub(super) fn day_tables(
        path: &Path,
        page_size: u32,
        old: &Day,
        new: &Day,
    ) -> Result<Self, SimError> {
        remove_db(path)?;
        let conn = lab_connection(path, page_size)?;
        db::create_service_schema(&conn, false).sql("creating the orders table")?;
        for day in [old, new] {
            db::create_outbox_table(&conn, &day.table).sql("creating a day partition")?;
        }
        route(&conn, &[&old.table, &new.table], &new.table)?;
        Ok(SqliteLab {
            conn,
            path: path.to_path_buf(),
            page_size,
            table: new.table.clone(),
        })
    }

    #[cfg(test)]
    pub(super) fn conn(&self) -> &Connection {
        &self.conn
    }
}

impl LabDb for SqliteLab {
    /// One prepared statement, executed row by row in one transaction.
    fn append(&mut self, table: &str, rows: &[NewRow]) -> Result<(), SimError> {
        let conn = &self.conn;
        let mut insert = conn
            .prepare_cached(&format!(
                "INSERT INTO {table} (id, event_id, aggregate_type, aggregate_id, event_type,
                                      version, payload, occurred_at, created_at, sent_at)
                 VALUES (?1, ?2, 'order', ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            ))
            .sql("preparing the bulk insert")?;
        db::begin(conn).sql("BEGIN")?;
        for row in rows {
            let e = &row.event;
            insert
                .execute(params![
                    row.id,
                    e.event_id,
                    e.aggregate_id,
                    e.event_type,
                    e.version,
                    e.payload,
                    e.occurred_at,
                    row.created_at,
                    row.sent_at
                ])
                .sql("growing the outbox")?;
        }
        db::commit(conn).sql("COMMIT")
    }

    /// A service's database is checkpointed as it goes; a table just grown would otherwise be
    /// read through the WAL, at one size and not at another.
    fn settle(&mut self) -> Result<(), SimError> {
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .sql("checkpointing the grown table")
    }

    fn poll(&mut self) -> Result<Vec<OutboxRow>, SimError> {
        db::select_unsent(&self.conn, POLL_BATCH).sql("polling")
    }

    fn poll_plan(&mut self) -> Result<String, SimError> {
        let steps = self
            .conn
            .prepare(&format!(
                "EXPLAIN QUERY PLAN {}",
                db::poll_unsent(POLL_BATCH)
            ))
            .and_then(|mut stmt| {
                stmt.query_map([], |r| r.get::<_, String>(3))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .sql("explaining the poll")?;
        Ok(steps.join("; "))
    }

    fn write(&mut self, order: &Order, event: &Envelope, at: i64) -> Result<(), SimError> {
        let conn = &self.conn;
        db::begin(conn).sql("BEGIN")?;
        db::insert_order(conn, order, at as u64).sql("inserting an order")?;
        db::insert_outbox(conn, event, at as u64).sql("inserting an outbox row")?;
        db::commit(conn).sql("COMMIT")
    }

    fn mark_sent_from(&mut self, from_id: i64) -> Result<(), SimError> {
        self.conn
            .execute(
                &format!(
                    "UPDATE {} SET sent_at = created_at + ?1 WHERE sent_at IS NULL AND id >= ?2",
                    self.table
                ),
                params![SENT_AFTER_MS, from_id],
            )
            .sql("marking rows sent")?;
        Ok(())
    }

    fn count(&mut self, sql: &str) -> Result<u64, SimError> {
        self.conn
            .query_row(sql, [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .sql("counting rows")
    }

    fn last_id(&mut self) -> Result<Option<i64>, SimError> {
        self.conn
            .query_row(&format!("SELECT max(id) FROM {}", self.table), [], |r| {
                r.get(0)
            })
            .sql("reading the last id")
    }

    /// The index's share is counted from the poll's index half on its own, the ids alone, which
    /// the index holds; the table's is what the whole poll read besides.
    fn poll_reads(&mut self, index: Option<&str>) -> Result<Option<PageReads>, SimError> {
        let poll = db::poll_unsent(POLL_BATCH);
        let Some(index) = index else {
            let unindexed = poll.replacen("FROM outbox", "FROM outbox NOT INDEXED", 1);
            let table = pages_read(&self.path, &unindexed)?;
            return Ok(table.map(|table| PageReads { index: 0, table }));
        };
        let ids = format!(
            "SELECT id FROM outbox INDEXED BY {index} WHERE sent_at IS NULL ORDER BY id \
             LIMIT {POLL_BATCH}"
        );
        let whole = poll.replacen("FROM outbox", &format!("FROM outbox INDEXED BY {index}"), 1);
        let (Some(index), Some(whole)) = (
            pages_read(&self.path, &ids)?,
            pages_read(&self.path, &whole)?,
        ) else {
            return Ok(None);
        };
        Ok(Some(PageReads {
            index,
            table: whole.saturating_sub(index),
        }))
    }

    fn index_pages(&mut self, name: &str) -> Result<u64, SimError> {
        self.conn
            .query_row("SELECT count(*) FROM dbstat WHERE name = ?1", [name], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as u64)
            .sql("measuring an index")
    }

    fn use_plain_index(&mut self) -> Result<(), SimError> {
        self.conn
            .execute_batch(&format!(
                "DROP INDEX {PARTIAL_INDEX}; CREATE INDEX {PLAIN_INDEX} ON outbox (sent_at);"
            ))
            .sql("building the plain index")
    }

    fn use_partial_index(&mut self) -> Result<(), SimError> {
        self.conn
            .execute_batch(&format!("DROP INDEX {PLAIN_INDEX};"))
            .sql("dropping the plain index")?;
        // Creating the table again only adds what is missing: the partial index.
        db::create_outbox_table(&self.conn, "outbox").sql("building the partial index")
    }

    fn sweeper(&self) -> Result<Box<dyn Sweep>, SimError> {
        Ok(Box::new(SqliteSweep::open(&self.path, self.page_size)?))
    }

    fn server(&mut self) -> Option<&mut dyn Server> {
        None
    }
}

impl DayTables for SqliteLab {
    /// Dropping the day as it stands would lose its unsent rows: they are copied to today's
    /// table and deleted from the day's.
    fn carry_over(&mut self, old: &Day, new: &Day) -> Result<(), SimError> {
        let (old, new) = (&old.table, &new.table);
        self.conn
            .execute_batch(&format!(
                "BEGIN IMMEDIATE;
                 INSERT INTO {new} SELECT * FROM {old} WHERE sent_at IS NULL;
                 DELETE FROM {old} WHERE sent_at IS NULL;
                 COMMIT;"
            ))
            .sql("moving unsent rows to today's partition")
    }

    /// The view re-pointed at today's table and yesterday's table dropped, in one transaction.
    fn drop_day(&mut self, old: &Day, new: &Day) -> Result<(), SimError> {
        let conn = &self.conn;
        db::begin(conn).sql("BEGIN")?;
        conn.execute_batch(&format!("DROP VIEW outbox; DROP TABLE {};", old.table))
            .sql("dropping the partition")?;
        route(conn, &[&new.table], &new.table)?;
        db::commit(conn).sql("COMMIT")
    }

    fn table_exists(&mut self, name: &str) -> Result<bool, SimError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE tbl_name = ?1",
                [name],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .sql("looking for a table")
    }
}

/// The view `outbox` over `tables`, with a trigger that sends the service's inserts to `today`.
/// Each day's table keeps the id sequence running: its rows' ids are above the day before's.
fn route(conn: &Connection, tables: &[&String], today: &str) -> Result<(), SimError> {
    let union = tables
        .iter()
        .map(|t| format!("SELECT * FROM {t}"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    conn.execute_batch(&format!(
        "CREATE VIEW outbox AS {union};
         CREATE TRIGGER outbox_route INSTEAD OF INSERT ON outbox BEGIN
             INSERT INTO {today} (event_id, aggregate_type, aggregate_id, event_type, version,
                                  payload, occurred_at, created_at, claimed_by, lease_until, sent_at)
             VALUES (NEW.event_id, NEW.aggregate_type, NEW.aggregate_id, NEW.event_type, NEW.version,
                     NEW.payload, NEW.occurred_at, NEW.created_at, NEW.claimed_by, NEW.lease_until,
                     NEW.sent_at);
         END;"
    ))
    .sql("routing the outbox view to the day partitions")
}

/// The cleaner's own connection. It checkpoints the WAL it writes itself, after each batch and
/// outside the write lock, instead of leaving that to whichever commit crosses the threshold.
pub(super) struct SqliteSweep {
    conn: Connection,
}

impl SqliteSweep {
    pub(super) fn open(path: &Path, page_size: u32) -> Result<Self, SimError> {
        let conn = lab_connection(path, page_size)?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .sql("configuring the cleaner")?;
        Ok(SqliteSweep { conn })
    }
}

impl Sweep for SqliteSweep {
    fn oldest(&mut self) -> Result<Option<i64>, SimError> {
        self.conn
            .query_row("SELECT min(id) FROM outbox", [], |r| r.get(0))
            .sql("finding the oldest row")
    }

    /// `BEGIN IMMEDIATE` takes the write lock; it is held from there to the commit.
    fn delete_window(
        &mut self,
        after: i64,
        last: i64,
        cutoff: i64,
    ) -> Result<(u64, Duration), SimError> {
        db::begin(&self.conn).sql("the cleaner's BEGIN")?;
        let started = Instant::now();
        // `sent_at < cutoff` is never true of an unsent row: NULL compares as unknown.
        let deleted = self
            .conn
            .prepare_cached("DELETE FROM outbox WHERE id > ?1 AND id <= ?2 AND sent_at < ?3")
            .and_then(|mut s| s.execute(params![after, last, cutoff]))
            .sql("deleting a batch");
        let rows = match deleted {
            Ok(rows) => rows,
            Err(err) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                return Err(err);
            }
        };
        db::commit(&self.conn).sql("the cleaner's COMMIT")?;
        Ok((rows as u64, started.elapsed()))
    }

    fn next_row(&mut self, after: i64) -> Result<Option<(i64, i64)>, SimError> {
        self.conn
            .prepare_cached("SELECT id, created_at FROM outbox WHERE id > ?1 ORDER BY id LIMIT 1")
            .and_then(|mut s| {
                s.query_row([after], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .sql("finding the next window to clean")
    }

    fn after_batch(&mut self) -> Result<Option<Duration>, SimError> {
        let started = Instant::now();
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .sql("checkpointing after a batch")?;
        Ok(Some(started.elapsed()))
    }
}
