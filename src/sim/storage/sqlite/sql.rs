//! The lab's SQLite schemas and every statement the service, relays and consumer run.
//!
//! # Claiming disjoint batches without `SKIP LOCKED`
//!
//! PostgreSQL relays run `SELECT … FOR UPDATE SKIP LOCKED` so that concurrent replicas each lock a
//! different set of unsent rows. SQLite has one writer at a time and no row locks, so a claim is
//! made durable in the row itself instead:
//!
//! ```sql
//! BEGIN IMMEDIATE;                          -- take the write lock up front
//! -- :now is read from the database's clock once the lock is held, never from the relay's
//! UPDATE outbox SET claimed_by = :me, lease_until = :now + :lease, claimed_at = :now
//!  WHERE id IN (SELECT id FROM outbox
//!                WHERE sent_at IS NULL AND (lease_until IS NULL OR lease_until <= :now)
//!                ORDER BY id LIMIT :batch)
//! RETURNING …;
//! COMMIT;
//! ```
//!
//! `BEGIN IMMEDIATE` serialises claimers: the second replica's subquery runs only after the first
//! one's claim has committed, so it sees those rows leased and skips them, exactly as `SKIP LOCKED`
//! skips locked rows. The lease replaces the lock's lifetime: a row lock dies with its transaction,
//! a lease dies with time, which is what lets a replica that crashed mid-pass give its rows back.
//! Marking rows sent is fenced by the claim token (`WHERE claimed_by = :token`, one token per relay
//! pass), so a replica whose lease expired and whose rows were re-claimed cannot mark the new
//! owner's rows; the worst it can do is
//! publish a duplicate, which the consumer's inbox absorbs. `AUTOINCREMENT` ids never reuse a value
//! and grow with each commit (one writer at a time), so `ORDER BY id` is commit order.
//!
//! A lease is only as good as the clock it is read by. Relays' clocks disagree by seconds, so the
//! claim takes a lease length, not an end, and `:now` comes from the database's clock: for an
//! embedded database, the clock the storage was opened with, which is the run's own and never an
//! actor's view of it.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use crate::sim::clock::Clock;
use crate::sim::model::{Envelope, Order};
use crate::sim::storage::seam::{Claim, OutboxRow};

/// How hard a connection flushes at commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Durability {
    /// WAL with `synchronous=NORMAL`: durable against process crashes, fsync at checkpoints.
    Normal,
    /// WAL with `synchronous=FULL`: an fsync at every commit, what a durable service runs.
    Full,
    /// No fsync at all: for throwaway lab databases where only process crashes are simulated.
    Off,
}

impl Durability {
    fn pragma(self) -> &'static str {
        match self {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
            Durability::Off => "OFF",
        }
    }
}

/// Page size for new lab databases.
pub const PAGE_SIZE: u32 = 1024;

/// Opens a component's own connection to a lab database.
pub fn open(path: &Path, durability: Durability) -> rusqlite::Result<Connection> {
    open_with_page_size(path, durability, PAGE_SIZE)
}

/// As [`open`], with another page size should the database be new: the cleanup lab weighs what
/// small pages save every commit against what they cost a delete.
pub fn open_with_page_size(
    path: &Path,
    durability: Durability,
    page_size: u32,
) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    // The outbox is a write-heavy table of small rows: a commit dirties about six pages and the
    // WAL writes each one whole, so 1 KiB pages move a quarter of the bytes of the 4 KiB default
    // (`msgwork bench`: 48k rather than 29k outbox writes/s). A service whose events carry
    // kilobytes of state would pick larger pages, or its payloads spill into overflow pages.
    // Only a new database takes it, and it must precede the switch to WAL.
    conn.pragma_update(None, "page_size", page_size)?;
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    conn.pragma_update(None, "synchronous", durability.pragma())?;
    // 32 MiB of page cache: the default 2 MiB spills pages mid-transaction once the outbox grows.
    conn.pragma_update(None, "cache_size", -32_768)?;
    // Checkpoint every 10,000 pages (20 MiB of WAL) rather than every 1,000: each checkpoint
    // fsyncs, and a relay pass rewrites a few hundred pages.
    conn.pragma_update(None, "wal_autocheckpoint", 10_000)?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

const ORDERS: &str = "
CREATE TABLE IF NOT EXISTS orders (
    id           INTEGER PRIMARY KEY,   -- the order number from the client's request
    customer_id  TEXT    NOT NULL,
    amount_cents INTEGER NOT NULL,
    placed_at    INTEGER NOT NULL
);";

/// The outbox table and its unsent-row index. `{table}` is `outbox`, or a daily partition's name.
const OUTBOX: &str = "
CREATE TABLE IF NOT EXISTS {table} (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: id order is commit order
    event_id       TEXT    NOT NULL UNIQUE,
    aggregate_type TEXT    NOT NULL,
    aggregate_id   TEXT    NOT NULL,
    event_type     TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    payload        TEXT    NOT NULL,
    occurred_at    TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    claimed_by     TEXT,                -- the relay pass that holds the lease
    lease_until    INTEGER,             -- when it runs out, on the database's clock
    claimed_at     INTEGER,             -- when it was taken, on the database's clock
    sent_at        INTEGER              -- NULL until a relay has published and marked it
);
-- The relay's poll walks only unsent rows, in id order, however large the table grows.
CREATE INDEX IF NOT EXISTS {table}_unsent ON {table} (id) WHERE sent_at IS NULL;";

const CHARGES: &str = "
CREATE TABLE IF NOT EXISTS charges (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id     TEXT    NOT NULL,
    amount_cents INTEGER NOT NULL,
    event_id     TEXT    NOT NULL,
    charged_at   INTEGER NOT NULL
);";

/// The idempotent consumer's memory: one row per event it has applied.
const INBOX: &str = "
CREATE TABLE IF NOT EXISTS inbox (
    event_id     TEXT    PRIMARY KEY,
    processed_at INTEGER NOT NULL
) WITHOUT ROWID;";

/// What partitioning adds to the outbox, for `lab ordering`: which partition each row goes to,
/// and its number within its aggregate. Added to an empty table, so the crash lab's outbox stays
/// as it is and pays for no index it does not use.
const PARTITIONED: &str = "
ALTER TABLE outbox ADD COLUMN partition INTEGER NOT NULL DEFAULT 0;  -- keyed: hash(aggregate_id) mod partitions
ALTER TABLE outbox ADD COLUMN sequence  INTEGER NOT NULL DEFAULT 0;  -- 1, 2, 3… within the aggregate
-- The aggregate's version: a second writer appending the same event number fails.
CREATE UNIQUE INDEX IF NOT EXISTS outbox_aggregate_sequence ON outbox (aggregate_id, sequence);
-- A partition's relay walks only its own unsent rows, in id order.
CREATE INDEX IF NOT EXISTS outbox_partition_unsent ON outbox (partition, id) WHERE sent_at IS NULL;";

/// How far a sequence-checking consumer has applied each aggregate.
const PROGRESS: &str = "
CREATE TABLE IF NOT EXISTS aggregate_progress (
    aggregate_id TEXT    PRIMARY KEY,
    sequence     INTEGER NOT NULL,  -- the last event applied
    state        TEXT    NOT NULL,  -- the type of that event: where the aggregate now stands
    updated_at   INTEGER NOT NULL
) WITHOUT ROWID;";

/// Gives an empty outbox its partition and sequence columns and the per-partition index.
pub fn partition_outbox(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(PARTITIONED)
}

/// Creates the sequence-checking consumer's table.
pub fn create_progress_schema(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(PROGRESS)
}

/// Creates the order service's tables; the outbox only when the pipeline has one.
pub fn create_service_schema(conn: &Connection, with_outbox: bool) -> rusqlite::Result<()> {
    conn.execute_batch(ORDERS)?;
    if with_outbox {
        create_outbox_table(conn, "outbox")?;
    }
    Ok(())
}

/// Creates an outbox table with the lab's shape under `table`, a name the caller controls (a
/// daily partition such as `outbox_2026_01_06`): the same columns, the same unsent-row index.
pub fn create_outbox_table(conn: &Connection, table: &str) -> rusqlite::Result<()> {
    conn.execute_batch(&OUTBOX.replace("{table}", table))
}

/// The claim log: a trigger writes one row for every claim of an outbox row, with the time the
/// claim was made and the claim it replaced. The checker reads it rather than what the relays say
/// they did.
const CLAIM_LOG: &str = "
CREATE TABLE IF NOT EXISTS claim_log (
    row_id           INTEGER NOT NULL,
    owner            TEXT    NOT NULL,
    claimed_at       INTEGER,  -- on the database's clock
    lease_until      INTEGER,
    prev_owner       TEXT,     -- the claim this one replaced, if any
    prev_lease_until INTEGER
);
CREATE TRIGGER IF NOT EXISTS outbox_claim_log AFTER UPDATE OF claimed_by ON outbox
WHEN NEW.claimed_by IS NOT NULL AND NEW.claimed_by IS NOT OLD.claimed_by
BEGIN
    INSERT INTO claim_log (row_id, owner, claimed_at, lease_until, prev_owner, prev_lease_until)
    VALUES (NEW.id, NEW.claimed_by, NEW.claimed_at, NEW.lease_until, OLD.claimed_by,
            OLD.lease_until);
END;";

/// Adds the claim log to an order database with an outbox.
pub fn create_claim_log(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(CLAIM_LOG)
}

/// Claims, from the claim log, that took a row while the lease they replaced still ran: made, by
/// the database's clock, before the lease it replaced ran out. No correct claim does that.
pub fn claims_over_live_leases(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row(
        "SELECT count(*) FROM claim_log
          WHERE prev_owner IS NOT NULL AND prev_lease_until > claimed_at",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as u64)
}

/// Creates the billing consumer's tables: the charges, and the inbox when the consumer dedupes
/// (the naive pipeline's consumer has none, so its database shows none).
pub fn create_billing_schema(conn: &Connection, with_inbox: bool) -> rusqlite::Result<()> {
    conn.execute_batch(CHARGES)?;
    if with_inbox {
        create_inbox(conn)?;
    }
    Ok(())
}

/// Creates the consumer's inbox alone: for `lab retention`, which sweeps it without billing.
pub fn create_inbox(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(INBOX)
}

/// Starts a write transaction, taking the write lock up front.
pub fn begin(conn: &Connection) -> rusqlite::Result<()> {
    conn.prepare_cached("BEGIN IMMEDIATE")?
        .execute([])
        .map(drop)
}

pub fn commit(conn: &Connection) -> rusqlite::Result<()> {
    conn.prepare_cached("COMMIT")?.execute([]).map(drop)
}

/// The service's order insert.
pub const INSERT_ORDER: &str =
    "INSERT INTO orders (id, customer_id, amount_cents, placed_at) VALUES (?1, ?2, ?3, ?4)";

/// Inserts the order row (inside the caller's transaction).
pub fn insert_order(conn: &Connection, order: &Order, now: u64) -> rusqlite::Result<()> {
    conn.prepare_cached(INSERT_ORDER)?.execute(params![
        order.number,
        order.customer_id,
        order.amount_cents,
        now as i64
    ])?;
    Ok(())
}

/// The service's outbox insert.
pub const INSERT_OUTBOX: &str = "INSERT INTO outbox (event_id, aggregate_type, aggregate_id, \
    event_type, version, payload, occurred_at, created_at) VALUES (?1, 'order', ?2, ?3, ?4, ?5, ?6, ?7)";

/// Inserts the outbox row for an event (inside the caller's transaction).
pub fn insert_outbox(conn: &Connection, event: &Envelope, now: u64) -> rusqlite::Result<()> {
    conn.prepare_cached(INSERT_OUTBOX)?.execute(params![
        event.event_id,
        event.aggregate_id,
        event.event_type,
        event.version,
        event.payload,
        event.occurred_at,
        now as i64
    ])?;
    Ok(())
}

/// Inserts the outbox row for an event of a partitioned stream: `sequence` is its number within
/// its aggregate (inside the caller's transaction).
pub fn insert_sequenced(
    conn: &Connection,
    event: &Envelope,
    partition: u32,
    sequence: u32,
    now: u64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO outbox (event_id, aggregate_type, aggregate_id, event_type, version, payload, occurred_at, created_at, partition, sequence)
         VALUES (?1, 'order', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        event.event_id,
        event.aggregate_id,
        event.event_type,
        event.version,
        event.payload,
        event.occurred_at,
        now as i64,
        partition,
        sequence
    ])?;
    Ok(())
}

/// An outbox row as the claims and reads return it.
pub fn outbox_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxRow> {
    Ok(OutboxRow {
        id: row.get(0)?,
        event: Envelope {
            event_id: row.get(1)?,
            aggregate_id: row.get(2)?,
            event_type: row.get(3)?,
            version: row.get(4)?,
            payload: row.get(5)?,
            occurred_at: row.get(6)?,
        },
    })
}

/// The end of a lease of `lease_ms` taken at `now`: one past the end of SQLite's integers ends
/// there, and never runs out.
fn lease_end(now: u64, lease_ms: u64) -> u64 {
    now.saturating_add(lease_ms).min(i64::MAX as u64)
}

/// A time as SQLite stores it.
fn stamp(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// Claims up to `limit` unsent rows whose lease has run out by the database's `clock`, for
/// `owner`, for `lease_ms` (the `SKIP LOCKED` equivalent described at the top of this module).
/// Returns them in id order.
pub fn claim_batch(
    conn: &Connection,
    clock: &dyn Clock,
    owner: &str,
    lease_ms: u64,
    limit: u32,
) -> rusqlite::Result<Claim> {
    claim_unleased(conn, clock, owner, limit, |now| {
        (now, lease_end(now, lease_ms))
    })
}

/// Claims as a relay that trusts its own clock does: a lease has run out when it ends by `now`,
/// and the new one ends at `lease_until`, both the caller's. The claim's time in the claim log is
/// still the database's. What `Mutant::LeaseFromOwnClock` runs; the pipeline never does.
pub fn claim_batch_by_own_clock(
    conn: &Connection,
    clock: &dyn Clock,
    owner: &str,
    now: u64,
    lease_until: u64,
    limit: u32,
) -> rusqlite::Result<Claim> {
    claim_unleased(conn, clock, owner, limit, |_| (now, lease_until))
}

/// Claims up to `limit` unsent rows whose lease has run out by the first time `times` gives, for
/// a lease until the second; `times` is handed the database's clock as it reads under the lock.
fn claim_unleased(
    conn: &Connection,
    clock: &dyn Clock,
    owner: &str,
    limit: u32,
    times: impl FnOnce(u64) -> (u64, u64),
) -> rusqlite::Result<Claim> {
    claim_with(conn, clock, &claim_sql(limit), |now| {
        let (expired_by, until) = times(now);
        (
            (owner, stamp(until), stamp(expired_by), stamp(now)),
            Some(until),
        )
    })
}

/// The claim of up to `limit` unleased rows. The limit is part of the text, not a parameter:
/// rusqlite clears a cached statement's parameters when it takes it back, and SQLite (built with
/// STAT4) compiles a statement again whenever a parameter that may change its plan, as a `LIMIT`
/// does, is bound anew. One text per batch size keeps one compiled statement per batch size.
pub fn claim_sql(limit: u32) -> String {
    format!(
        "UPDATE outbox SET claimed_by = ?1, lease_until = ?2, claimed_at = ?4
          WHERE id IN (SELECT id FROM outbox
                        WHERE sent_at IS NULL AND (lease_until IS NULL OR lease_until <= ?3)
                        ORDER BY id LIMIT {limit})
         RETURNING id, event_id, aggregate_id, event_type, version, payload, occurred_at"
    )
}

/// Runs a claiming `UPDATE … RETURNING` under `BEGIN IMMEDIATE` and commits it: the rows it
/// leased, in id order, and the lease's end. `bind` is handed the database's clock as it reads
/// once the write lock is held, and gives the statement's parameters and the lease's end. On an
/// error nothing is claimed.
fn claim_with<P: rusqlite::Params>(
    conn: &Connection,
    clock: &dyn Clock,
    sql: &str,
    bind: impl FnOnce(u64) -> (P, Option<u64>),
) -> rusqlite::Result<Claim> {
    begin(conn)?;
    let (params, lease_until) = bind(clock.now());
    let rows = conn.prepare_cached(sql).and_then(|mut stmt| {
        stmt.query_map(params, outbox_row)?
            .collect::<rusqlite::Result<Vec<_>>>()
    });
    match rows {
        Ok(mut rows) => {
            commit(conn)?;
            // RETURNING yields rows in no promised order.
            rows.sort_unstable_by_key(|r| r.id);
            Ok(Claim { rows, lease_until })
        }
        Err(err) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(err)
        }
    }
}

/// Claims the head of `partition`: up to `limit` of its unsent rows in id order, stopping before
/// the first row a live lease holds. A claim that skipped a held row, as [`claim_batch`] does,
/// would let this partition's next rows overtake the ones a dead relay still holds.
pub fn claim_partition(
    conn: &Connection,
    clock: &dyn Clock,
    partition: u32,
    owner: &str,
    lease_ms: u64,
    limit: u32,
) -> rusqlite::Result<Claim> {
    claim_with(conn, clock, &partition_claim_sql(partition, limit), |now| {
        let until = lease_end(now, lease_ms);
        ((owner, stamp(until), stamp(now)), Some(until))
    })
}

/// The claim of a partition's head, with the partition and the `limit` in the text: the
/// partition is the first column of the index the claim walks, so, bound, it too would have the
/// statement compiled again at every call (see [`claim_sql`]). A relay claims for one partition.
fn partition_claim_sql(partition: u32, limit: u32) -> String {
    format!(
        "UPDATE outbox SET claimed_by = ?1, lease_until = ?2, claimed_at = ?3
          WHERE id IN (SELECT id FROM outbox
                        WHERE partition = {partition} AND sent_at IS NULL
                          AND id < (SELECT coalesce(min(id), 9223372036854775807) FROM outbox
                                     WHERE partition = {partition} AND sent_at IS NULL
                                       AND lease_until > ?3)
                        ORDER BY id LIMIT {limit})
         RETURNING id, event_id, aggregate_id, event_type, version, payload, occurred_at"
    )
}

/// Reads up to `limit` outbox rows after `position`, in id order: a change feed's catch-up read.
/// Ids are never reused and SQLite commits one writer at a time, so a row below an id already
/// visible can never appear later: the last id read is a log position that skips nothing.
pub fn outbox_after(
    conn: &Connection,
    position: i64,
    limit: u32,
) -> rusqlite::Result<Vec<OutboxRow>> {
    conn.prepare_cached(&outbox_after_sql(limit))?
        .query_map([position], outbox_row)?
        .collect()
}

/// A change feed's read of `limit` rows, with the limit in the text (see [`claim_sql`]).
fn outbox_after_sql(limit: u32) -> String {
    format!(
        "SELECT id, event_id, aggregate_id, event_type, version, payload, occurred_at
           FROM outbox WHERE id > ?1 ORDER BY id LIMIT {limit}"
    )
}

/// The relay's poll: the oldest `limit` unsent rows, in commit order, with the limit in the text
/// (see [`claim_sql`]). It takes no parameters.
pub fn poll_unsent(limit: u32) -> String {
    format!(
        "SELECT id, event_id, aggregate_id, event_type, version, payload, occurred_at
           FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT {limit}"
    )
}

/// Reads up to `limit` unsent rows without claiming them: what a relay does before it learns why
/// claims exist (`--claim none`). Two replicas polling at once read the same rows.
pub fn select_unsent(conn: &Connection, limit: u32) -> rusqlite::Result<Vec<OutboxRow>> {
    conn.prepare_cached(&poll_unsent(limit))?
        .query_map([], outbox_row)?
        .collect()
}

/// Reads up to `limit` unsent rows whose lease has run out by the database's `clock`, without
/// claiming them.
pub fn select_unleased(
    conn: &Connection,
    clock: &dyn Clock,
    limit: u32,
) -> rusqlite::Result<Vec<OutboxRow>> {
    conn.prepare_cached(&unleased_sql(limit))?
        .query_map([stamp(clock.now())], outbox_row)?
        .collect()
}

/// The read of up to `limit` unleased rows, with the limit in the text (see [`claim_sql`]).
fn unleased_sql(limit: u32) -> String {
    format!(
        "SELECT id, event_id, aggregate_id, event_type, version, payload, occurred_at FROM outbox
          WHERE sent_at IS NULL AND (lease_until IS NULL OR lease_until <= ?1)
          ORDER BY id LIMIT {limit}"
    )
}

/// Marks the rows a claim pass published as sent, fenced by the pass's claim token: only rows the
/// pass still holds are marked, so a pass whose lease ran out cannot mark rows another pass has
/// since claimed. The ids are named one by one, not as a range: a batch has gaps, and a row in a
/// gap is none of this pass's business. Returns how many rows were marked.
pub fn mark_claimed_sent(
    conn: &Connection,
    token: &str,
    ids: &[i64],
    now: u64,
) -> rusqlite::Result<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    conn.prepare_cached(MARK_CLAIMED_SENT)?
        .execute(params![now as i64, id_list(ids), token])
}

/// The relay's fenced mark: `?1` the time, `?2` the ids as a JSON array, `?3` the claim token.
pub const MARK_CLAIMED_SENT: &str = "UPDATE outbox SET sent_at = ?1
  WHERE id IN (SELECT value FROM json_each(?2)) AND sent_at IS NULL AND claimed_by = ?3";

/// Ids as a JSON array, for `json_each`: one statement however many ids a batch has.
pub fn id_list(ids: &[i64]) -> String {
    let mut list = String::with_capacity(ids.len() * 8 + 2);
    list.push('[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            list.push(',');
        }
        list.push_str(&id.to_string());
    }
    list.push(']');
    list
}

/// Claims exactly the rows `ids` for `owner`, whoever held them: the second half of a relay that
/// selects and then claims, which is how two relays come to hold one row.
pub fn claim_ids(
    conn: &Connection,
    clock: &dyn Clock,
    owner: &str,
    ids: &[i64],
    lease_ms: u64,
) -> rusqlite::Result<Claim> {
    claim_with(
        conn,
        clock,
        "UPDATE outbox SET claimed_by = ?1, lease_until = ?2, claimed_at = ?4
          WHERE id IN (SELECT value FROM json_each(?3)) AND sent_at IS NULL
         RETURNING id, event_id, aggregate_id, event_type, version, payload, occurred_at",
        |now| {
            let until = lease_end(now, lease_ms);
            ((owner, stamp(until), id_list(ids), stamp(now)), Some(until))
        },
    )
}

/// Marks rows sent by id, with no fence: what a relay without claims does. A row another replica
/// marked first is skipped. Returns how many rows were marked.
pub fn mark_sent(conn: &Connection, ids: &[i64], now: u64) -> rusqlite::Result<usize> {
    begin(conn)?;
    let mut marked = 0;
    let result = (|| {
        let mut stmt = conn
            .prepare_cached("UPDATE outbox SET sent_at = ?1 WHERE id = ?2 AND sent_at IS NULL")?;
        for id in ids {
            marked += stmt.execute(params![now as i64, id])?;
        }
        commit(conn)
    })();
    if let Err(err) = result {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(err);
    }
    Ok(marked)
}

/// How many outbox rows are still waiting to be published.
pub fn unsent_count(conn: &Connection) -> rusqlite::Result<u64> {
    conn.prepare_cached("SELECT count(*) FROM outbox WHERE sent_at IS NULL")?
        .query_row([], |r| r.get::<_, i64>(0))
        .map(|n| n as u64)
}

/// Every committed order: its number and the amount it was placed for.
pub fn committed_orders(conn: &Connection) -> rusqlite::Result<Vec<(u32, i64)>> {
    conn.prepare("SELECT id, amount_cents FROM orders ORDER BY id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

/// Records `event_id` in the inbox; false when it was already there (a duplicate to skip).
pub fn inbox_record(conn: &Connection, event_id: &str, now: u64) -> rusqlite::Result<bool> {
    let inserted = conn
        .prepare_cached(INBOX_RECORD)?
        .execute(params![event_id, now as i64])?;
    Ok(inserted == 1)
}

/// The consumer's dedupe: one row changed when the event is new, none for a duplicate.
pub const INBOX_RECORD: &str = "INSERT INTO inbox (event_id, processed_at) VALUES (?1, ?2) \
    ON CONFLICT (event_id) DO NOTHING";

/// The consumer's side effect.
pub const INSERT_CHARGE: &str =
    "INSERT INTO charges (order_id, amount_cents, event_id, charged_at) VALUES (?1, ?2, ?3, ?4)";

/// Applies the side effect: one charge row.
pub fn insert_charge(
    conn: &Connection,
    order_id: &str,
    amount_cents: i64,
    event_id: &str,
    now: u64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(INSERT_CHARGE)?.execute(params![
        order_id,
        amount_cents,
        event_id,
        now as i64
    ])?;
    Ok(())
}

/// Charges by order and amount: `(order_id, amount_cents, how many charges)`.
pub fn charges(conn: &Connection) -> rusqlite::Result<Vec<(String, i64, u64)>> {
    conn.prepare(
        "SELECT order_id, amount_cents, count(*) FROM charges
          GROUP BY order_id, amount_cents ORDER BY order_id, amount_cents",
    )?
    .query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
    })?
    .collect()
}

/// Whether `event_id` is in the inbox already.
pub fn inbox_has(conn: &Connection, event_id: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT 1 FROM inbox WHERE event_id = ?1")?
        .query_row([event_id], |_| Ok(()))
        .optional()
        .map(|found| found.is_some())
}

/// The last sequence number applied for `aggregate_id`; 0 when none has been.
pub fn applied_sequence(conn: &Connection, aggregate_id: &str) -> rusqlite::Result<u32> {
    conn.prepare_cached("SELECT sequence FROM aggregate_progress WHERE aggregate_id = ?1")?
        .query_row([aggregate_id], |r| r.get(0))
        .optional()
        .map(Option::unwrap_or_default)
}

/// Records that `aggregate_id` now stands at `sequence`, in the state `event_type` left it.
pub fn apply_sequence(
    conn: &Connection,
    aggregate_id: &str,
    sequence: u32,
    event_type: &str,
    now: u64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO aggregate_progress (aggregate_id, sequence, state, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (aggregate_id) DO UPDATE
            SET sequence = excluded.sequence, state = excluded.state, updated_at = excluded.updated_at",
    )?
    .execute(params![aggregate_id, sequence, event_type, now as i64])
    .map(drop)
}

/// Whether an event id is already in the inbox (for checks outside a transaction).
pub fn inbox_contains(conn: &Connection, event_id: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT 1 FROM inbox WHERE event_id = ?1",
        [event_id],
        |_| Ok(()),
    )
    .optional()
    .map(|found| found.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::clock::SimClock;
    use crate::sim::model::{Envelope, Order, Pipeline};

    /// The database's clock, reading `ms`.
    fn at(ms: u64) -> SimClock {
        let clock = SimClock::default();
        clock.set(ms);
        clock
    }

    fn ids(claim: Claim) -> Vec<i64> {
        claim.rows.iter().map(|r| r.id).collect()
    }

    fn outbox_db(dir: &Path, orders: u32) -> Connection {
        let conn = open(&dir.join("orders.db"), Durability::Off).unwrap();
        create_service_schema(&conn, true).unwrap();
        create_claim_log(&conn).unwrap();
        for n in 1..=orders {
            let order = Order::generate(1, n);
            begin(&conn).unwrap();
            insert_order(&conn, &order, 0).unwrap();
            insert_outbox(
                &conn,
                &Envelope::order_placed(1, Pipeline::Outbox, &order, 0),
                0,
            )
            .unwrap();
            commit(&conn).unwrap();
        }
        conn
    }

    #[test]
    fn claims_are_disjoint_until_the_lease_expires() {
        let dir = tempfile::tempdir().unwrap();
        let a = outbox_db(dir.path(), 25);
        let b = open(&dir.path().join("orders.db"), Durability::Off).unwrap();
        let first = claim_batch(&a, &at(0), "a", 100, 10).unwrap();
        assert_eq!(first.lease_until, Some(100));
        let second = claim_batch(&b, &at(1), "b", 100, 10).unwrap();
        assert_eq!(ids(first), (1..=10).collect::<Vec<_>>());
        assert_eq!(ids(second), (11..=20).collect::<Vec<_>>());
        // A lease runs to the millisecond before its end.
        assert!(ids(claim_batch(&b, &at(99), "c", 100, 10).unwrap()) == [21, 22, 23, 24, 25]);
        // After a's lease expires, its rows are up for grabs again, oldest first.
        let third = claim_batch(&b, &at(100), "d", 100, 10).unwrap();
        assert_eq!(ids(third).first(), Some(&1));
        assert_eq!(claims_over_live_leases(&b).unwrap(), 0);
    }

    #[test]
    fn a_lease_past_the_end_of_time_never_expires() {
        let dir = tempfile::tempdir().unwrap();
        let conn = outbox_db(dir.path(), 3);
        let claim = claim_batch(&conn, &at(5), "a", u64::MAX, 3).unwrap();
        assert_eq!(
            (claim.rows.len(), claim.lease_until),
            (3, Some(i64::MAX as u64))
        );
        let late = at(i64::MAX as u64 - 1);
        assert!(
            claim_batch(&conn, &late, "b", 1_000, 3)
                .unwrap()
                .rows
                .is_empty()
        );
        assert!(select_unleased(&conn, &late, 3).unwrap().is_empty());
    }

    #[test]
    fn marking_is_fenced_by_the_owner() {
        let dir = tempfile::tempdir().unwrap();
        let conn = outbox_db(dir.path(), 3);
        let ids = ids(claim_batch(&conn, &at(0), "old", 10, 3).unwrap());
        claim_batch(&conn, &at(10), "new", 10, 3).unwrap();
        assert_eq!(mark_claimed_sent(&conn, "old", &ids, 11).unwrap(), 0);
        assert_eq!(unsent_count(&conn).unwrap(), 3);
        assert_eq!(mark_claimed_sent(&conn, "new", &ids, 12).unwrap(), 3);
        assert_eq!(unsent_count(&conn).unwrap(), 0);
    }

    #[test]
    fn the_relay_poll_uses_the_partial_index() {
        let dir = tempfile::tempdir().unwrap();
        let conn = outbox_db(dir.path(), 1);
        let plan: Vec<String> = conn
            .prepare(
                "EXPLAIN QUERY PLAN SELECT id FROM outbox WHERE sent_at IS NULL
                  AND (lease_until IS NULL OR lease_until <= 0) ORDER BY id LIMIT 10",
            )
            .unwrap()
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter().any(|p| p.contains("outbox_unsent")),
            "plan: {plan:?}"
        );
    }

    #[test]
    fn a_partition_claim_takes_only_the_head_of_its_partition() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("orders.db"), Durability::Off).unwrap();
        create_service_schema(&conn, true).unwrap();
        partition_outbox(&conn).unwrap();
        // Orders 1..=6, alternating between partitions 0 and 1: ids 1, 3, 5 in partition 0.
        for n in 1..=6 {
            let event = Envelope::order_placed(1, Pipeline::Outbox, &Order::generate(1, n), 0);
            insert_sequenced(&conn, &event, (n + 1) % 2, 1, 0).unwrap();
        }
        let dead = ids(claim_partition(&conn, &at(0), 0, "relay-0.0.1", 100, 1).unwrap());
        assert_eq!(dead, [1]);
        // A dead relay's lease holds id 1: a new claim must not publish 3 and 5 ahead of it.
        let held = claim_partition(&conn, &at(1), 0, "relay-0.1.1", 100, 10).unwrap();
        assert!(held.rows.is_empty());
        // Another partition is another relay's business, whatever partition 0 holds.
        assert_eq!(
            ids(claim_partition(&conn, &at(1), 1, "relay-1.0.1", 100, 10).unwrap()),
            [2, 4, 6]
        );
        conn.execute(
            "UPDATE outbox SET claimed_by = NULL, lease_until = NULL WHERE id = 1",
            [],
        )
        .unwrap();
        let head = ids(claim_partition(&conn, &at(2), 0, "relay-0.1.2", 100, 10).unwrap());
        assert_eq!(head, [1, 3, 5]);
        assert_eq!(
            mark_claimed_sent(&conn, "relay-0.1.2", &head, 3).unwrap(),
            3
        );
    }

    #[test]
    fn the_claim_log_judges_a_claim_by_the_database_clock_alone() {
        let dir = tempfile::tempdir().unwrap();
        let conn = outbox_db(dir.path(), 3);
        claim_batch(&conn, &at(10), "a", 100, 3).unwrap();
        // A relay whose clock runs 500 ms ahead thinks a's lease, which ends at 110, is over.
        let early = claim_batch_by_own_clock(&conn, &at(20), "b", 520, 620, 3).unwrap();
        assert_eq!(
            (ids(early), claims_over_live_leases(&conn).unwrap()),
            (vec![1, 2, 3], 3)
        );
        let logged: Vec<(i64, i64, i64)> = conn
            .prepare(
                "SELECT claimed_at, lease_until, prev_lease_until FROM claim_log WHERE owner = 'b'",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(logged, vec![(20, 620, 110); 3]);
        // One whose clock runs behind (620 when the database's reads 700) writes a lease already
        // over by the database's clock: a claim after it is on time, whatever that relay believed.
        let late = claim_batch_by_own_clock(&conn, &at(700), "c", 620, 650, 3).unwrap();
        assert_eq!(late.rows.len(), 3);
        claim_batch(&conn, &at(700), "d", 100, 3).unwrap();
        assert_eq!(claims_over_live_leases(&conn).unwrap(), 3);
        // Selecting, then claiming by id, takes rows whoever holds them: the log sees that too.
        assert_eq!(select_unleased(&conn, &at(750), 3).unwrap().len(), 0);
        let by_id = claim_ids(&conn, &at(750), "e", &[2], 100).unwrap();
        assert_eq!(
            (ids(by_id), claims_over_live_leases(&conn).unwrap()),
            (vec![2], 4)
        );
        assert_eq!(select_unleased(&conn, &at(800), 3).unwrap().len(), 2);
    }

    /// How many times SQLite has compiled `sql` again since `conn` first cached it.
    fn recompiled(conn: &Connection, sql: &str) -> i32 {
        conn.prepare_cached(sql)
            .unwrap()
            .get_status(rusqlite::StatementStatus::RePrepare)
    }

    #[test]
    fn statements_with_a_batch_size_are_compiled_once_per_size() {
        let dir = tempfile::tempdir().unwrap();
        let conn = outbox_db(dir.path(), 40);
        for round in 0..4u64 {
            let clock = at(round * 1_000);
            claim_batch(&conn, &clock, "a", 100, 3).unwrap();
            claim_batch_by_own_clock(&conn, &clock, "b", round, round + 5, 3).unwrap();
            select_unleased(&conn, &clock, 3).unwrap();
            select_unsent(&conn, 3).unwrap();
            outbox_after(&conn, round as i64, 3).unwrap();
        }
        for sql in [
            claim_sql(3),
            unleased_sql(3),
            poll_unsent(3),
            outbox_after_sql(3),
        ] {
            assert_eq!(recompiled(&conn, &sql), 0, "{sql}");
        }
        // Every size gets its own statement, with its own limit.
        assert_eq!(outbox_after(&conn, 0, 7).unwrap().len(), 7);
        assert_eq!(select_unsent(&conn, 2).unwrap().len(), 2);
    }

    #[test]
    fn a_partition_claim_is_compiled_once_per_size() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("orders.db"), Durability::Off).unwrap();
        create_service_schema(&conn, true).unwrap();
        partition_outbox(&conn).unwrap();
        for n in 1..=12 {
            let event = Envelope::order_placed(1, Pipeline::Outbox, &Order::generate(1, n), 0);
            insert_sequenced(&conn, &event, n % 2, n, 0).unwrap();
        }
        for round in 0..4u64 {
            let claim = claim_partition(&conn, &at(round * 10), (round % 2) as u32, "a", 5, 2);
            assert_eq!(claim.unwrap().rows.len(), 2);
        }
        assert_eq!(recompiled(&conn, &partition_claim_sql(0, 2)), 0);
        assert_eq!(recompiled(&conn, &partition_claim_sql(1, 2)), 0);
    }

    #[test]
    fn the_inbox_remembers_event_ids() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("billing.db"), Durability::Off).unwrap();
        create_billing_schema(&conn, true).unwrap();
        assert!(inbox_record(&conn, "e1", 0).unwrap());
        assert!(!inbox_record(&conn, "e1", 1).unwrap());
        assert!(inbox_contains(&conn, "e1").unwrap());
    }
}
