//! Daily partitions: one outbox table per day, a view over them standing in for PostgreSQL's
//! partitioned parent, so the relay's poll and the service's insert run unchanged. Reaping a day
//! is a drop, not a delete; its unsent rows move to today's table first.

use std::path::Path;
use std::time::Instant;

use rusqlite::Connection;

use super::{
    BACKLOG, CleanupOptions, DAY_MS, INSERTS, STUCK, Service, Timeline, count, grow,
    lab_connection, measure_both, measure_polls, ms, pick_stuck, poll_plan, round3,
};
use crate::sim::model::timestamp;
use crate::sim::observer::Progress;
use crate::sim::stats::Spread;
use crate::sim::world::SqlContext;
use crate::sim::{SimError, db, remove_db};

/// A day's partition dropped whole.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Partition {
    /// Yesterday's table, the one dropped, and today's.
    pub table: String,
    pub today: String,
    pub rows: u64,
    /// The poll through the view over both days' tables, and a write routed to today's.
    pub plan: String,
    pub poll_us: Spread,
    pub insert_us: Spread,
    pub inserts_per_s: f64,
    /// Unsent rows moved to today's table before the drop, and how long that took.
    pub unsent_moved: u64,
    pub move_ms: f64,
    /// The drop: the view re-pointed at today's table, yesterday's table dropped, one transaction.
    pub drop_ms: f64,
    /// Deleting the same rows in batches instead, at the rate the deletes were measured at.
    pub delete_same_rows_ms: f64,
    pub poll_us_after_drop: Spread,
}

/// What the drop is checked against.
pub(super) struct PartitionChecks {
    /// The day's table is gone, its unsent rows live on in today's, and the poll sees the same rows.
    pub(super) exact: bool,
    pub(super) adds_up: bool,
}

/// The table name of the day partition that holds simulated time `at_ms`: `outbox_2026_01_06`.
pub fn day_table(at_ms: i64) -> String {
    format!("outbox_{}", timestamp(at_ms as u64)[..10].replace('-', "_"))
}

/// Yesterday's partition holds `rows` rows, a few of them stuck unsent; today's holds the backlog.
pub(super) fn run(
    dir: &Path,
    options: &CleanupOptions,
    rng: &mut rand::rngs::ChaCha8Rng,
    progress: &dyn Progress,
) -> Result<(Partition, PartitionChecks), SimError> {
    let (seed, rows) = (options.seed, options.rows);
    let path = dir.join("cleanup-partitions.db");
    remove_db(&path)?;
    let conn = lab_connection(&path, options.page_size)?;
    db::create_service_schema(&conn, false).sql("creating the orders table")?;
    // The lab's clock starts at 09:00 on its first day; yesterday is the next whole day.
    let yesterday = Timeline {
        start: 15 * 3_600_000,
        first: 1,
        span: DAY_MS,
        rows: i64::from(rows),
    };
    let today = Timeline {
        start: yesterday.start + DAY_MS,
        first: i64::from(rows),
        span: 1000,
        rows: 1,
    };
    let (old, new) = (day_table(yesterday.start), day_table(today.start));
    for table in [&old, &new] {
        db::create_outbox_table(&conn, table).sql("creating a day partition")?;
    }
    let stuck = pick_stuck(rng, i64::from(rows));
    let rows = i64::from(rows);
    grow(
        &conn,
        &old,
        1..=rows,
        seed,
        &yesterday,
        &|id| stuck.binary_search(&id).is_ok(),
        progress,
    )?;
    let backlog = i64::from(BACKLOG);
    grow(
        &conn,
        &new,
        rows + 1..=rows + backlog,
        seed,
        &today,
        &|_| true,
        progress,
    )?;
    route(&conn, &[&old, &new], &new)?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .sql("checkpointing the partitions")?;

    let plan = poll_plan(&conn)?;
    let mut service = Service {
        conn: &conn,
        seed,
        timeline: today,
        next_id: rows + backlog + 1,
        table: new.clone(),
    };
    let measured = measure_both(&mut service, progress)?;

    let count_in = |table: &str, filter: &str| {
        count(&conn, &format!("SELECT count(*) FROM {table} {filter}"), [])
    };
    let old_rows = count_in(&old, "")?;
    let new_rows = count_in(&new, "")?;
    let unsent_before = count_in("outbox", "WHERE sent_at IS NULL")?;

    // Dropping the day as it stands would lose its unsent rows: they move to today's table first.
    let started = Instant::now();
    conn.execute_batch(&format!(
        "BEGIN IMMEDIATE;
         INSERT INTO {new} SELECT * FROM {old} WHERE sent_at IS NULL;
         DELETE FROM {old} WHERE sent_at IS NULL;
         COMMIT;"
    ))
    .sql("moving unsent rows to today's partition")?;
    let move_ms = ms(started.elapsed());
    let moved = count_in(&new, "")? - new_rows;

    let started = Instant::now();
    db::begin(&conn).sql("BEGIN")?;
    conn.execute_batch(&format!("DROP VIEW outbox; DROP TABLE {old};"))
        .sql("dropping the partition")?;
    route(&conn, &[&new], &new)?;
    db::commit(&conn).sql("COMMIT")?;
    let drop_ms = ms(started.elapsed());

    let gone = count(
        &conn,
        "SELECT count(*) FROM sqlite_schema WHERE tbl_name = ?1",
        [&old],
    )? == 0;
    let left = count_in("outbox", "")?;
    let unsent_after = count_in("outbox", "WHERE sent_at IS NULL")?;
    let (poll_us_after_drop, polled_after, steady_after) = measure_polls(&conn)?;
    let checks = PartitionChecks {
        exact: gone
            && moved == u64::from(STUCK)
            && unsent_after == unsent_before
            && measured.steady
            && steady_after
            && measured.polled == polled_after,
        adds_up: old_rows == rows as u64
            && new_rows == u64::from(BACKLOG + INSERTS)
            && left == new_rows + moved,
    };
    Ok((
        Partition {
            table: old,
            today: new,
            rows: old_rows,
            plan,
            poll_us: measured.poll_us,
            insert_us: measured.insert_us,
            inserts_per_s: measured.inserts_per_s,
            unsent_moved: moved,
            move_ms: round3(move_ms),
            drop_ms: round3(drop_ms),
            delete_same_rows_ms: 0.0,
            poll_us_after_drop,
        },
        checks,
    ))
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
