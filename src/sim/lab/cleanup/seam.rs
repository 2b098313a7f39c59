//! The seam between the cleanup experiment and a database: what the experiment asks of one.
//! `sqlite` answers with files, `postgres` with a server's schemas; the experiment, its checks and
//! its report are written once, against these traits.

use std::time::Duration;

use super::day::Day;
use super::report::PageReads;
use crate::sim::error::SimError;
use crate::sim::model::{Envelope, Order};
use crate::sim::storage::seam::OutboxRow;

/// A row to append while growing a table, its id chosen by the lab.
pub(super) struct NewRow {
    pub(super) id: i64,
    pub(super) event: Envelope,
    pub(super) created_at: i64,
    pub(super) sent_at: Option<i64>,
}

/// One connection to a lab database whose `outbox` the relay polls and the service writes.
pub(super) trait LabDb {
    /// Appends `rows` to `table` in one transaction; later writes continue after their ids.
    fn append(&mut self, table: &str, rows: &[NewRow]) -> Result<(), SimError>;
    /// Brings freshly grown tables to the state a running service's would be in.
    fn settle(&mut self) -> Result<(), SimError>;
    /// The relay's poll, with the relay's own query: the oldest unsent rows.
    fn poll(&mut self) -> Result<Vec<OutboxRow>, SimError>;
    /// The database's plan for the relay's poll, its lines joined by `; `.
    fn poll_plan(&mut self) -> Result<String, SimError>;
    /// The service's write with the crash lab's statements: the order row and its outbox row in
    /// one transaction.
    fn write(&mut self, order: &Order, event: &Envelope, at: i64) -> Result<(), SimError>;
    /// The relay catches up: every unsent row from `from_id` on is marked sent.
    fn mark_sent_from(&mut self, from_id: i64) -> Result<(), SimError>;
    /// The one number a `SELECT count(*) …` returns.
    fn count(&mut self, sql: &str) -> Result<u64, SimError>;
    /// The outbox's highest id.
    fn last_id(&mut self) -> Result<Option<i64>, SimError>;
    /// The pages one run of the relay's poll reads through index `index`, or through none, where
    /// this database can count them.
    fn poll_reads(&mut self, index: Option<&str>) -> Result<Option<PageReads>, SimError>;
    /// The size of index `name` in the database's pages.
    fn index_pages(&mut self, name: &str) -> Result<u64, SimError>;
    /// Swaps the schema's partial index for a plain index on `sent_at`.
    fn use_plain_index(&mut self) -> Result<(), SimError>;
    /// And back: the schema's own definition.
    fn use_partial_index(&mut self) -> Result<(), SimError>;
    /// A connection of its own for the cleaner.
    fn sweeper(&self) -> Result<Box<dyn Sweep>, SimError>;
    /// What only a database behind a server has: round trips, and VACUUM.
    fn server(&mut self) -> Option<&mut dyn Server>;
}

/// The cleaner's connection: deletes in id windows, each its own short transaction.
pub(super) trait Sweep: Send {
    /// The outbox's lowest id.
    fn oldest(&mut self) -> Result<Option<i64>, SimError>;
    /// Deletes the rows with ids in `(after, last]` that were sent before `cutoff`, in one
    /// transaction. Returns how many, and how long the transaction held its locks.
    fn delete_window(
        &mut self,
        after: i64,
        last: i64,
        cutoff: i64,
    ) -> Result<(u64, Duration), SimError>;
    /// The first row past `after`: its id and when it was written.
    fn next_row(&mut self, after: i64) -> Result<Option<(i64, i64)>, SimError>;
    /// Housekeeping after a batch, outside its transaction, and how long it took; `None` when the
    /// database has none to do.
    fn after_batch(&mut self) -> Result<Option<Duration>, SimError>;
}

/// A database of day tables behind one `outbox`, for the partition drop.
pub(super) trait DayTables: LabDb {
    /// Moves `old`'s unsent rows into `new`, in one transaction.
    fn carry_over(&mut self, old: &Day, new: &Day) -> Result<(), SimError>;
    /// Drops `old` whole, leaving `new` behind `outbox`, in one transaction.
    fn drop_day(&mut self, old: &Day, new: &Day) -> Result<(), SimError>;
    fn table_exists(&mut self, name: &str) -> Result<bool, SimError>;
}

/// PostgreSQL's own costs, which SQLite does not have.
pub(super) trait Server {
    /// A bare round trip: `SELECT 1`.
    fn ping(&mut self) -> Result<(), SimError>;
    /// VACUUM of the outbox, as autovacuum would run it after a mass delete.
    fn vacuum(&mut self) -> Result<(), SimError>;
    /// The outbox's size on disk, its indexes included.
    fn outbox_bytes(&mut self) -> Result<u64, SimError>;
}
