//! Where the labs keep their tables: embedded SQLite files, or a PostgreSQL server.
//!
//! The experiments, the crash schedules and the checker are written once, against [`Storage`]
//! (one component's connection) and [`ChangeFeed`] (a CDC relay's view of committed outbox rows).
//! [`Backend`] makes them for either database; only this layer knows which one it is.
//!
//! The two keep the same ideas in their own terms. A relay's claim on SQLite is a lease written
//! under `BEGIN IMMEDIATE` and committed at once, fenced by the pass's token when it marks rows
//! sent; on PostgreSQL it is a set of row locks taken with `FOR UPDATE SKIP LOCKED` and held by
//! the relay's open transaction until it marks them. The change feed on SQLite comes from the
//! hooks on the service's connection and a position the relay saves itself; on PostgreSQL from a
//! logical replication slot, which keeps the position on the server.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::db::{self, Durability, OutboxRow};
use super::model::{Envelope, Order};
use super::world::SqlContext;
use super::{SimError, remove_db};
use crate::pg::PgContext;
use crate::pg::feed::PgFeed;
use crate::pg::store::{LabSchemas, PgConn};

/// One component's connection to its part of the lab's data.
pub trait Storage: Send {
    /// Starts a write transaction.
    fn begin(&mut self) -> Result<(), SimError>;
    fn commit(&mut self) -> Result<(), SimError>;
    fn insert_order(&mut self, order: &Order, now: u64) -> Result<(), SimError>;
    fn insert_outbox(&mut self, event: &Envelope, now: u64) -> Result<(), SimError>;
    /// Claims up to `limit` unsent rows no live relay holds, for `owner`.
    fn claim_batch(
        &mut self,
        owner: &str,
        now: u64,
        lease_until: u64,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, SimError>;
    /// Marks the rows `owner` claimed as sent, and ends the claim. Returns how many were marked.
    fn mark_claimed_sent(&mut self, owner: &str, ids: &[i64], now: u64) -> Result<usize, SimError>;
    /// Gives back claims left by earlier incarnations of a relay whose owner tokens start with
    /// `prefix`: a restarted relay knows they are dead.
    fn release_claims(&mut self, prefix: &str) -> Result<(), SimError>;
    /// Reads unsent rows without claiming them.
    fn select_unsent(&mut self, limit: u32) -> Result<Vec<OutboxRow>, SimError>;
    /// Marks rows sent with no claim; a row already marked is skipped.
    fn mark_sent(&mut self, ids: &[i64], now: u64) -> Result<usize, SimError>;
    fn unsent_count(&mut self) -> Result<u64, SimError>;
    fn committed_orders(&mut self) -> Result<Vec<u32>, SimError>;
    /// Records an event id in the inbox; false when it was already there.
    fn inbox_record(&mut self, event_id: &str, now: u64) -> Result<bool, SimError>;
    fn insert_charge(
        &mut self,
        order_id: &str,
        amount_cents: i64,
        event_id: &str,
        now: u64,
    ) -> Result<(), SimError>;
    fn charges_per_order(&mut self) -> Result<Vec<(String, u64)>, SimError>;

    // A partitioned outbox (`lab ordering`), made by [`Backend::create_partitioned`].

    /// Inserts an event's outbox row with its partition and its number within its aggregate.
    fn insert_sequenced(
        &mut self,
        event: &Envelope,
        partition: u32,
        sequence: u32,
        now: u64,
    ) -> Result<(), SimError>;
    /// Claims the head of `partition` for `owner`: up to `limit` of its unsent rows in id order,
    /// stopping before the first row another claim holds, so that nothing overtakes it.
    fn claim_partition(
        &mut self,
        partition: u32,
        owner: &str,
        now: u64,
        lease_until: u64,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, SimError>;
    /// The last sequence number the consumer applied for `aggregate_id`; 0 when none.
    fn applied_sequence(&mut self, aggregate_id: &str) -> Result<u32, SimError>;
    /// Records that the consumer applied `aggregate_id` up to `sequence`, an `event_type`.
    fn apply_sequence(
        &mut self,
        aggregate_id: &str,
        sequence: u32,
        event_type: &str,
        now: u64,
    ) -> Result<(), SimError>;
}

/// Committed outbox rows a CDC relay has not yet confirmed, in commit order, with the position
/// to confirm once all of them are with the broker.
pub struct FeedBatch {
    pub rows: Vec<OutboxRow>,
    pub position: u64,
}

/// A CDC relay's view of the outbox: what has committed since the position it last confirmed.
/// The position is durable, so a relay that crashes and reconnects reads on from it.
pub trait ChangeFeed: Send {
    /// Waits until there may be something past the confirmed position, or `timeout` passes.
    fn wait(&mut self, timeout: Duration) -> Result<(), SimError>;
    /// Up to about `max` rows past the confirmed position; empty when there are none.
    fn read(&mut self, max: u32) -> Result<FeedBatch, SimError>;
    /// Records that everything up to `position` has been published.
    fn confirm(&mut self, position: u64) -> Result<(), SimError>;
}

/// One of a run's two databases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Db {
    /// The order service's: orders and, with an outbox, the outbox.
    Service,
    /// The billing consumer's: charges and the inbox.
    Billing,
}

/// Where a run's data lives, in a form a child process can be handed to open it again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Location {
    Sqlite {
        service: PathBuf,
        billing: PathBuf,
        /// The CDC relay's own database, where it saves its position.
        relay: PathBuf,
        durability: Durability,
    },
    Postgres {
        url: String,
        service: String,
        billing: String,
        /// The CDC relay's replication slot.
        slot: String,
        /// Whether a commit waits for its WAL to reach the disk.
        #[serde(default = "waits_for_flush")]
        synchronous_commit: bool,
    },
}

fn waits_for_flush() -> bool {
    true
}

impl Location {
    /// A new connection to `db`: a component (re)starting.
    pub fn connect(&self, db: Db) -> Result<Box<dyn Storage>, SimError> {
        match self {
            Location::Sqlite {
                service,
                billing,
                durability,
                ..
            } => {
                let path = match db {
                    Db::Service => service,
                    Db::Billing => billing,
                };
                let conn = db::open(path, *durability).sql("opening a connection")?;
                Ok(Box::new(Sqlite::Plain(conn)))
            }
            Location::Postgres {
                url,
                service,
                billing,
                synchronous_commit,
                ..
            } => {
                let schema = match db {
                    Db::Service => service,
                    Db::Billing => billing,
                };
                Ok(Box::new(PgConn::open_with(
                    url,
                    schema,
                    *synchronous_commit,
                )?))
            }
        }
    }
}

/// `postgres` for a run given a server's URL, `sqlite` otherwise: the name reports carry.
pub fn backend_name(db: Option<&str>) -> &'static str {
    if db.is_some() { "postgres" } else { "sqlite" }
}

/// The database a lab runs on: where its data lives, and the duty to clean up after it.
pub struct Backend {
    location: Location,
    /// The PostgreSQL schemas, dropped with the backend unless kept.
    _schemas: Option<LabSchemas>,
    /// Whether this run made a replication slot, which must be dropped whatever happens.
    /// Set once this run made a replication slot; dropping the slot is then its duty, on Ctrl-C
    /// as on any other way out.
    slot_made: Option<crate::pg::interrupt::Registered>,
    /// Wakes the CDC relay on SQLite; PostgreSQL wakes it with NOTIFY instead.
    feed: Arc<Feed>,
}

impl Backend {
    /// SQLite files `<tag>-orders.db` and `<tag>-billing.db` in `dir` (and `<tag>-relay.db` for
    /// a CDC relay's position).
    pub fn sqlite(dir: &Path, tag: &str, durability: Durability) -> Backend {
        Backend {
            location: Location::Sqlite {
                service: dir.join(format!("{tag}-orders.db")),
                billing: dir.join(format!("{tag}-billing.db")),
                relay: dir.join(format!("{tag}-relay.db")),
                durability,
            },
            _schemas: None,
            slot_made: None,
            feed: Arc::new(Feed::default()),
        }
    }

    /// Schemas `msgwork_<run>_<tag>_orders` and `…_billing` on the server at `url`, dropped with
    /// the backend unless `keep`.
    pub fn postgres(url: &str, run: &str, tag: &str, keep: bool) -> Result<Backend, SimError> {
        let prefix = format!("{run}_{tag}");
        let schemas = LabSchemas::create(url, &prefix, &["orders", "billing"], keep)?;
        let schema = |name| schemas.schema(name).unwrap_or_default().to_string();
        Ok(Backend {
            location: Location::Postgres {
                url: url.to_string(),
                service: schema("orders"),
                billing: schema("billing"),
                slot: format!("msgwork_{prefix}"),
                synchronous_commit: true,
            },
            _schemas: Some(schemas),
            slot_made: None,
            feed: Arc::new(Feed::default()),
        })
    }

    /// On PostgreSQL, commits that return before their WAL is flushed: for a lab that crashes its
    /// own connections but never the server, whose commits then cost a round trip rather than an
    /// fsync. Not for a CDC relay, which reads only flushed WAL. SQLite's durability is chosen in
    /// [`Backend::sqlite`].
    pub fn lazy_commits(mut self) -> Backend {
        if let Location::Postgres {
            synchronous_commit, ..
        } = &mut self.location
        {
            *synchronous_commit = false;
        }
        self
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Creates the lab's tables, empty; the outbox only when asked for.
    pub fn create(&self, with_outbox: bool) -> Result<(), SimError> {
        match &self.location {
            Location::Sqlite {
                service,
                billing,
                relay,
                durability,
            } => {
                for path in [service, billing, relay] {
                    remove_db(path)?;
                }
                let conn = db::open(service, *durability).sql("creating the order database")?;
                db::create_service_schema(&conn, with_outbox).sql("creating the order schema")?;
                let conn = db::open(billing, *durability).sql("creating the billing database")?;
                db::create_billing_schema(&conn).sql("creating the billing schema")?;
            }
            Location::Postgres {
                url,
                service,
                billing,
                ..
            } => {
                PgConn::open(url, service)?
                    .create_service_schema(with_outbox)
                    .pg("creating the order schema")?;
                PgConn::open(url, billing)?
                    .create_billing_schema()
                    .pg("creating the billing schema")?;
            }
        }
        Ok(())
    }

    /// Creates the ordering lab's tables, empty: the outbox with a partition and a sequence number
    /// on each row and an index on each partition's unsent rows, and the consumer's record of how
    /// far it has applied each aggregate. The crash lab's tables are the same without them.
    pub fn create_partitioned(&self) -> Result<(), SimError> {
        self.create(true)?;
        match &self.location {
            Location::Sqlite {
                service,
                billing,
                durability,
                ..
            } => {
                let conn = db::open(service, *durability).sql("opening the order database")?;
                db::partition_outbox(&conn).sql("partitioning the outbox")?;
                let conn = db::open(billing, *durability).sql("opening the billing database")?;
                db::create_progress_schema(&conn).sql("creating the consumer's progress table")?;
            }
            Location::Postgres {
                url,
                service,
                billing,
                ..
            } => {
                PgConn::open(url, service)?
                    .partition_outbox()
                    .pg("partitioning the outbox")?;
                PgConn::open(url, billing)?
                    .create_progress_schema()
                    .pg("creating the consumer's progress table")?;
            }
        }
        Ok(())
    }

    /// Prepares the change feed a CDC relay follows: the relay's position table on SQLite, a
    /// replication slot and the outbox's commit notification on PostgreSQL.
    pub fn create_feed(&mut self) -> Result<(), SimError> {
        match &self.location {
            Location::Sqlite {
                relay, durability, ..
            } => {
                let conn = db::open(relay, *durability).sql("creating the relay database")?;
                conn.execute_batch(RELAY_SCHEMA)
                    .sql("creating the relay's position table")?;
            }
            Location::Postgres {
                url, service, slot, ..
            } => {
                let mut conn = PgConn::open(url, service)?;
                self.slot_made = Some(crate::pg::interrupt::slot(url, slot));
                PgFeed::create_slot(&mut conn, slot)?;
            }
        }
        Ok(())
    }

    /// A new connection to `db`.
    pub fn connect(&self, db: Db) -> Result<Box<dyn Storage>, SimError> {
        self.location.connect(db)
    }

    /// A connection for a service whose commits a CDC relay follows. On SQLite it carries the
    /// feed's hooks; on PostgreSQL the server's log needs nothing from the writer.
    pub fn connect_followed(&self) -> Result<Box<dyn Storage>, SimError> {
        match &self.location {
            Location::Sqlite {
                service,
                durability,
                ..
            } => {
                let conn = db::open(service, *durability).sql("opening the service")?;
                let fed = FeedConnection::new(conn, Arc::clone(&self.feed))
                    .sql("installing the change feed")?;
                Ok(Box::new(Sqlite::Fed(fed)))
            }
            Location::Postgres { .. } => self.connect(Db::Service),
        }
    }

    /// A CDC relay's change feed, reading on from the durable position.
    pub fn change_feed(&self) -> Result<Box<dyn ChangeFeed>, SimError> {
        match &self.location {
            Location::Sqlite {
                service,
                relay,
                durability,
                ..
            } => Ok(Box::new(SqliteFeed::open(
                service,
                relay,
                *durability,
                Arc::clone(&self.feed),
            )?)),
            Location::Postgres {
                url, service, slot, ..
            } => Ok(Box::new(PgFeed::open(url, service, slot)?)),
        }
    }

    /// Wakes everything waiting on the feed for good: the run is over.
    pub fn close_feed(&self) {
        self.feed.close();
    }
}

impl Drop for Backend {
    /// Drops a PostgreSQL run's replication slot, kept tables or not: a slot nobody reads keeps
    /// the server's WAL forever.
    fn drop(&mut self) {
        if let Location::Postgres {
            url, service, slot, ..
        } = &self.location
            && self.slot_made.is_some()
            && let Ok(mut conn) = PgConn::open(url, service)
        {
            let _ = crate::pg::feed::drop_slot(conn.client(), slot);
        }
    }
}

const RELAY_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS relay_position (
    relay   TEXT PRIMARY KEY,
    last_id INTEGER NOT NULL  -- the last outbox id published: the log offset
);";

/// The CDC relay's saved position in its own database: the last outbox id it published.
pub fn saved_position(relay: &Connection) -> rusqlite::Result<i64> {
    relay.query_row(
        "SELECT coalesce(max(last_id), 0) FROM relay_position WHERE relay = 'cdc'",
        [],
        |r| r.get(0),
    )
}

/// A SQLite connection, with or without the change feed's hooks.
enum Sqlite {
    Plain(Connection),
    Fed(FeedConnection),
}

impl Sqlite {
    fn conn(&self) -> &Connection {
        match self {
            Sqlite::Plain(conn) => conn,
            Sqlite::Fed(conn) => conn,
        }
    }
}

impl Storage for Sqlite {
    fn begin(&mut self) -> Result<(), SimError> {
        db::begin(self.conn()).sql("BEGIN")
    }

    fn commit(&mut self) -> Result<(), SimError> {
        db::commit(self.conn()).sql("COMMIT")
    }

    fn insert_order(&mut self, order: &Order, now: u64) -> Result<(), SimError> {
        db::insert_order(self.conn(), order, now).sql("inserting the order")
    }

    fn insert_outbox(&mut self, event: &Envelope, now: u64) -> Result<(), SimError> {
        db::insert_outbox(self.conn(), event, now).sql("inserting the outbox row")
    }

    fn claim_batch(
        &mut self,
        owner: &str,
        now: u64,
        lease_until: u64,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, SimError> {
        db::claim_batch(self.conn(), owner, now, lease_until, limit).sql("claiming a batch")
    }

    fn mark_claimed_sent(&mut self, owner: &str, ids: &[i64], now: u64) -> Result<usize, SimError> {
        db::mark_claimed_sent(self.conn(), owner, ids, now).sql("marking rows sent")
    }

    fn release_claims(&mut self, prefix: &str) -> Result<(), SimError> {
        self.conn()
            .execute(
                "UPDATE outbox SET claimed_by = NULL, lease_until = NULL
                  WHERE sent_at IS NULL AND claimed_by LIKE ?1 || '%'",
                [prefix],
            )
            .map(drop)
            .sql("releasing a dead incarnation's claims")
    }

    fn select_unsent(&mut self, limit: u32) -> Result<Vec<OutboxRow>, SimError> {
        db::select_unsent(self.conn(), limit).sql("selecting unsent rows")
    }

    fn mark_sent(&mut self, ids: &[i64], now: u64) -> Result<usize, SimError> {
        db::mark_sent(self.conn(), ids, now).sql("marking rows sent")
    }

    fn unsent_count(&mut self) -> Result<u64, SimError> {
        db::unsent_count(self.conn()).sql("counting unsent rows")
    }

    fn committed_orders(&mut self) -> Result<Vec<u32>, SimError> {
        db::committed_orders(self.conn()).sql("reading committed orders")
    }

    fn inbox_record(&mut self, event_id: &str, now: u64) -> Result<bool, SimError> {
        db::inbox_record(self.conn(), event_id, now).sql("recording the event id")
    }

    fn insert_charge(
        &mut self,
        order_id: &str,
        amount_cents: i64,
        event_id: &str,
        now: u64,
    ) -> Result<(), SimError> {
        db::insert_charge(self.conn(), order_id, amount_cents, event_id, now)
            .sql("inserting the charge")
    }

    fn charges_per_order(&mut self) -> Result<Vec<(String, u64)>, SimError> {
        db::charges_per_order(self.conn()).sql("reading charges")
    }

    fn insert_sequenced(
        &mut self,
        event: &Envelope,
        partition: u32,
        sequence: u32,
        now: u64,
    ) -> Result<(), SimError> {
        db::insert_sequenced(self.conn(), event, partition, sequence, now)
            .sql("inserting the outbox row")
    }

    fn claim_partition(
        &mut self,
        partition: u32,
        owner: &str,
        now: u64,
        lease_until: u64,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, SimError> {
        db::claim_partition(self.conn(), partition, owner, now, lease_until, limit)
            .sql("claiming a partition's head")
    }

    fn applied_sequence(&mut self, aggregate_id: &str) -> Result<u32, SimError> {
        db::applied_sequence(self.conn(), aggregate_id).sql("reading the applied sequence")
    }

    fn apply_sequence(
        &mut self,
        aggregate_id: &str,
        sequence: u32,
        event_type: &str,
        now: u64,
    ) -> Result<(), SimError> {
        db::apply_sequence(self.conn(), aggregate_id, sequence, event_type, now)
            .sql("recording the applied sequence")
    }
}

/// The SQLite change feed: woken by the hooks' announcements, reading the outbox forward from
/// the position saved in the relay's own database.
struct SqliteFeed {
    outbox: Connection,
    state: Connection,
    position: i64,
    feed: Arc<Feed>,
}

impl SqliteFeed {
    fn open(
        orders: &Path,
        relay: &Path,
        durability: Durability,
        feed: Arc<Feed>,
    ) -> Result<Self, SimError> {
        let outbox = db::open(orders, durability).sql("opening the outbox")?;
        let state = db::open(relay, durability).sql("opening the relay's database")?;
        // A (re)started relay knows only what is durable: its saved position.
        let position = saved_position(&state).sql("reading the relay's position")?;
        Ok(SqliteFeed {
            outbox,
            state,
            position,
            feed,
        })
    }
}

impl ChangeFeed for SqliteFeed {
    fn wait(&mut self, timeout: Duration) -> Result<(), SimError> {
        self.feed.wait_beyond(self.position, timeout);
        Ok(())
    }

    fn read(&mut self, max: u32) -> Result<FeedBatch, SimError> {
        let rows = db::outbox_after(&self.outbox, self.position, max)
            .sql("reading the outbox from the position")?;
        let position = rows.last().map_or(self.position, |r| r.id) as u64;
        Ok(FeedBatch { rows, position })
    }

    fn confirm(&mut self, position: u64) -> Result<(), SimError> {
        self.state
            .prepare_cached(
                "INSERT INTO relay_position (relay, last_id) VALUES ('cdc', ?1)
                 ON CONFLICT (relay) DO UPDATE SET last_id = excluded.last_id",
            )
            .and_then(|mut s| s.execute([position as i64]))
            .sql("saving the relay's position")?;
        self.position = position as i64;
        Ok(())
    }
}

/// The change feed: the highest outbox id known to be committed, and a way to wait for more.
#[derive(Default)]
pub struct Feed {
    state: Mutex<FeedState>,
    changed: Condvar,
}

#[derive(Default)]
struct FeedState {
    committed: i64,
    closed: bool,
}

impl Feed {
    fn announce(&self, id: i64) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if id > state.committed {
            state.committed = id;
            self.changed.notify_all();
        }
    }

    /// Wakes every waiter for good: the run is over.
    pub fn close(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.closed = true;
        self.changed.notify_all();
    }

    /// The highest outbox id announced as committed.
    pub fn committed(&self) -> i64 {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .committed
    }

    /// Waits until an outbox id past `position` has committed, the feed closes, or `timeout`
    /// passes. It waits on a condition, not an edge, so a commit that lands between the caller's
    /// read and this call is never missed.
    pub fn wait_beyond(&self, position: i64, timeout: Duration) {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = self
            .changed
            .wait_timeout_while(state, timeout, |s| s.committed <= position && !s.closed)
            .unwrap_or_else(PoisonError::into_inner);
    }
}

/// Checkpoint the WAL at this many pages, as the connection's own autocheckpoint would have: a WAL
/// hook replaces SQLite's automatic checkpointing, so the hook has to do it.
const CHECKPOINT_PAGES: i32 = 10_000;

/// A connection that writes the outbox, with the change feed's hooks on it.
///
/// The hooks come off again before the connection closes. SQLite frees a connection's client data,
/// where the hook closures live, before it rolls back the transaction left open, and that rollback
/// calls the rollback hook: closing with both in place would call a freed closure. A crash
/// simulated by dropping the connection mid-transaction must close it cleanly.
pub struct FeedConnection(Connection);

impl FeedConnection {
    /// Installs the hooks. The pending id lives with them, so a connection that dies
    /// mid-transaction takes its uncommitted rows with it.
    pub fn new(mut conn: Connection, feed: Arc<Feed>) -> rusqlite::Result<Self> {
        use rusqlite::hooks::Action;
        let pending = Arc::new(AtomicI64::new(0));
        let inserted = Arc::clone(&pending);
        conn.update_hook(Some(
            move |action: Action, _db: &str, table: &str, rowid: i64| {
                if action == Action::SQLITE_INSERT && table == "outbox" {
                    inserted.fetch_max(rowid, Ordering::Relaxed);
                }
            },
        ))?;
        let rolled_back = Arc::clone(&pending);
        conn.rollback_hook(Some(move || rolled_back.store(0, Ordering::Relaxed)))?;
        conn.wal_hook(Some(
            move |wal: &mut rusqlite::hooks::Wal, pages: std::ffi::c_int| {
                let id = pending.swap(0, Ordering::Relaxed);
                if id > 0 {
                    feed.announce(id);
                }
                if pages >= CHECKPOINT_PAGES {
                    wal.checkpoint()?;
                }
                Ok(())
            },
        ))?;
        Ok(FeedConnection(conn))
    }
}

impl std::ops::Deref for FeedConnection {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.0
    }
}

impl Drop for FeedConnection {
    fn drop(&mut self) {
        let _ = self.0.rollback_hook(None::<fn()>);
        let _ = self
            .0
            .update_hook(None::<fn(rusqlite::hooks::Action, &str, &str, i64)>);
        let _ = self.0.wal_hook(
            None::<fn(&mut rusqlite::hooks::Wal, std::ffi::c_int) -> rusqlite::Result<()>>,
        );
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::sim::model::Pipeline;

    /// Opens a transaction holding order `n`'s outbox row.
    fn begin_with_event(conn: &Connection, n: u32) {
        let order = Order::generate(1, n);
        db::begin(conn).unwrap();
        db::insert_outbox(
            conn,
            &Envelope::order_placed(1, Pipeline::Outbox, &order, 0),
            0,
        )
        .unwrap();
    }

    #[test]
    fn the_feed_announces_only_committed_outbox_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orders.db");
        let conn = db::open(&path, Durability::Normal).unwrap();
        db::create_service_schema(&conn, true).unwrap();
        let feed = Arc::new(Feed::default());
        let conn = FeedConnection::new(conn, Arc::clone(&feed)).unwrap();
        let order = Order::generate(1, 1);
        let event = Envelope::order_placed(1, Pipeline::Outbox, &order, 0);

        db::begin(&conn).unwrap();
        db::insert_outbox(&conn, &event, 0).unwrap();
        conn.execute_batch("ROLLBACK").unwrap();
        assert_eq!(feed.committed(), 0, "a rolled-back insert is not announced");

        db::begin(&conn).unwrap();
        db::insert_order(&conn, &order, 0).unwrap();
        assert_eq!(feed.committed(), 0, "nothing is announced before COMMIT");
        db::insert_outbox(&conn, &event, 0).unwrap();
        db::commit(&conn).unwrap();
        let first = feed.committed();
        assert!(first > 0, "a committed outbox row is announced");

        // A write to another table commits without moving the feed.
        conn.execute("UPDATE orders SET amount_cents = 1", [])
            .unwrap();
        assert_eq!(feed.committed(), first);
    }

    #[test]
    fn a_connection_that_dies_mid_transaction_announces_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orders.db");
        let feed = Arc::new(Feed::default());
        {
            let conn = db::open(&path, Durability::Normal).unwrap();
            db::create_service_schema(&conn, true).unwrap();
            let conn = FeedConnection::new(conn, Arc::clone(&feed)).unwrap();
            begin_with_event(&conn, 1);
        }
        let conn = db::open(&path, Durability::Normal).unwrap();
        let conn = FeedConnection::new(conn, Arc::clone(&feed)).unwrap();
        begin_with_event(&conn, 2);
        db::commit(&conn).unwrap();
        let rows = db::outbox_after(&conn, 0, 10).unwrap();
        assert_eq!(rows.len(), 1, "the dead transaction's row was rolled back");
        assert_eq!(feed.committed(), rows[0].id);
    }

    #[test]
    fn waiting_returns_at_once_when_the_feed_is_already_past_the_position() {
        let feed = Feed::default();
        feed.announce(5);
        let started = Instant::now();
        feed.wait_beyond(4, Duration::from_secs(5));
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
