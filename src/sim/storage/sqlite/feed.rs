//! The SQLite change feed: hooks on the service's connection announce committed outbox rows, and a
//! CDC relay reads the outbox forward from the position it saves beside the outbox.

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::Connection;

use super::sql::{self as db, Durability};
use crate::sim::error::{SimError, SqlContext};
use crate::sim::storage::seam::{ChangeFeed, FeedBatch};

pub const RELAY_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS relay_position (
    relay   TEXT PRIMARY KEY,
    last_id INTEGER NOT NULL  -- the last outbox id published: the log offset
);";

/// The CDC relay's saved position, in the outbox's database: the last outbox id it published.
pub fn saved_position(outbox: &Connection) -> rusqlite::Result<i64> {
    outbox.query_row(
        "SELECT coalesce(max(last_id), 0) FROM relay_position WHERE relay = 'cdc'",
        [],
        |r| r.get(0),
    )
}

/// The SQLite change feed: woken by the hooks' announcements, reading the outbox forward from
/// the position saved beside it.
///
/// The position lives in the outbox's own database, not in one of the relay's. A power loss
/// keeps a prefix of a database's log; the position is written after the rows it covers have
/// committed, so any prefix that holds a position holds those rows too, and the position can
/// never end up ahead of the outbox. Kept in a database of its own, it could survive while the
/// outbox lost its last rows: new rows would then take the lost ids (`AUTOINCREMENT` counts
/// only what survived), and the relay, reading from past them, would never publish them. The
/// price is that saving the position waits for the service's write lock, which a service holds
/// for one short transaction at a time.
pub struct SqliteFeed {
    outbox: Connection,
    position: i64,
    feed: Arc<Feed>,
}

impl SqliteFeed {
    pub fn open(orders: &Path, durability: Durability, feed: Arc<Feed>) -> Result<Self, SimError> {
        let outbox = db::open(orders, durability).sql("opening the outbox")?;
        // A (re)started relay knows only what is durable: its saved position.
        let position = saved_position(&outbox).sql("reading the relay's position")?;
        Ok(SqliteFeed {
            outbox,
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
        self.outbox
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
    use crate::sim::model::{Envelope, Order, Pipeline};
    use crate::sim::storage::sqlite::wal;

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
    fn a_power_loss_anywhere_never_leaves_the_position_ahead_of_the_outbox() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orders.db");
        {
            let conn = db::open(&path, Durability::Off).unwrap();
            db::create_service_schema(&conn, true).unwrap();
            conn.execute_batch(RELAY_SCHEMA).unwrap();
        }
        // Closed last, and holding checkpoints back: every commit of the run stays in the log.
        let holder = db::open(&path, Durability::Off).unwrap();
        crate::sim::storage::sqlite::wal::hold_checkpoints(&holder).unwrap();
        let writer = db::open(&path, Durability::Off).unwrap();
        let mut relay = SqliteFeed::open(&path, Durability::Off, Arc::default()).unwrap();
        for n in 1..=8 {
            begin_with_event(&writer, n);
            db::commit(&writer).unwrap();
            if n % 3 != 0 {
                let batch = relay.read(2).unwrap();
                relay.confirm(batch.position).unwrap();
            }
        }
        drop((relay, writer, holder));
        let main = std::fs::read(&path).unwrap();
        let log = std::fs::read(wal::wal_path(&path)).unwrap();
        let frame = 24 + db::PAGE_SIZE as usize;
        let mut positions = std::collections::BTreeSet::new();
        for at in (32..=log.len()).step_by(frame / 2) {
            let case = tempfile::tempdir().unwrap();
            let copy = case.path().join("orders.db");
            std::fs::write(&copy, &main).unwrap();
            std::fs::write(wal::wal_path(&copy), &log).unwrap();
            wal::cut(&copy, at as u64).unwrap();
            let conn = Connection::open(&copy).unwrap();
            let position = saved_position(&conn).unwrap();
            let last: i64 = conn
                .query_row("SELECT coalesce(max(id), 0) FROM outbox", [], |r| r.get(0))
                .unwrap();
            assert!(
                position <= last,
                "cut at {at}: position {position}, outbox up to {last}"
            );
            positions.insert(position);
        }
        assert!(
            positions.len() > 3,
            "the cuts kept too few positions: {positions:?}"
        );
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
