//! The seam between the cleanup experiment and a database: what the experiment asks of one, and
//! where the lab's two databases live. `sqlite` answers with files, `postgres` with a server's
//! schemas; the experiment, its checks and its report are written once, against these traits.

use std::path::PathBuf;
use std::time::Duration;

use super::partition::Day;
use super::{CleanupOptions, postgres, sqlite};
use crate::sim::error::SimError;
use crate::sim::model::{Envelope, Order};
use crate::sim::storage::postgres::store::LabSchemas;
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

/// Where the lab's databases live, and the duty to clean up after them.
pub(super) enum Place {
    Sqlite {
        dir: PathBuf,
        page_size: u32,
        /// The temporary directory, removed with the place unless the files are kept.
        _temp: Option<tempfile::TempDir>,
    },
    Postgres {
        url: String,
        /// The schemas, dropped with the place unless kept.
        schemas: LabSchemas,
        /// Reported as the server described itself.
        about: postgres::About,
    },
}

/// Names of the lab's two schemas on a server: `msgwork_<tag>_outbox` and `…_days`.
const SCHEMAS: [&str; 2] = ["outbox", "days"];

impl Place {
    /// SQLite files in a directory, or fresh schemas on the server `options.db` names.
    pub(super) fn open(options: &CleanupOptions) -> Result<Place, SimError> {
        match &options.db {
            Some(url) => {
                let tag = format!("cleanup{}", std::process::id());
                let schemas = LabSchemas::create(url, &tag, &SCHEMAS, options.keep_dir.is_some())?;
                let about = postgres::About::ask(url)?;
                Ok(Place::Postgres {
                    url: url.clone(),
                    schemas,
                    about,
                })
            }
            None => {
                let (temp, dir) =
                    crate::sim::storage::sqlite::files::lab_dir(options.keep_dir.as_deref())?;
                Ok(Place::Sqlite {
                    dir,
                    page_size: options.page_size,
                    _temp: temp,
                })
            }
        }
    }

    /// `sqlite` or `postgres`, for the report.
    pub(super) fn backend(&self) -> &'static str {
        match self {
            Place::Sqlite { .. } => "sqlite",
            Place::Postgres { .. } => "postgres",
        }
    }

    /// A fresh outbox with the crash lab's schema: the orders table, the outbox and its partial
    /// index on unsent rows.
    pub(super) fn outbox(&self) -> Result<Box<dyn LabDb>, SimError> {
        match self {
            Place::Sqlite { dir, page_size, .. } => Ok(Box::new(sqlite::SqliteLab::outbox(
                &dir.join("cleanup-outbox.db"),
                *page_size,
            )?)),
            Place::Postgres { url, schemas, .. } => Ok(Box::new(postgres::PgLab::outbox(
                url,
                schemas.schema(SCHEMAS[0]).unwrap_or_default(),
            )?)),
        }
    }

    /// A fresh database with two empty day tables, `old` and `new`, behind `outbox`.
    pub(super) fn day_tables(&self, old: &Day, new: &Day) -> Result<Box<dyn DayTables>, SimError> {
        match self {
            Place::Sqlite { dir, page_size, .. } => Ok(Box::new(sqlite::SqliteLab::day_tables(
                &dir.join("cleanup-partitions.db"),
                *page_size,
                old,
                new,
            )?)),
            Place::Postgres { url, schemas, .. } => Ok(Box::new(postgres::PgLab::day_tables(
                url,
                schemas.schema(SCHEMAS[1]).unwrap_or_default(),
                old,
                new,
            )?)),
        }
    }

    /// The database's page size in bytes.
    pub(super) fn page_size(&self) -> u32 {
        match self {
            Place::Sqlite { page_size, .. } => *page_size,
            Place::Postgres { about, .. } => about.block_size,
        }
    }

    /// What the report says about the server, for a run on one.
    pub(super) fn server_report(&self, keep: bool) -> Option<super::ServerReport> {
        match self {
            Place::Sqlite { .. } => None,
            Place::Postgres {
                url,
                schemas,
                about,
            } => Some(super::ServerReport {
                url: crate::sim::storage::postgres::connect::redact(url),
                version: about.version.clone(),
                schemas: SCHEMAS
                    .iter()
                    .filter_map(|name| schemas.schema(name).map(str::to_string))
                    .collect(),
                kept: keep,
                fsync: about.fsync.clone(),
                shared_buffers: about.shared_buffers.clone(),
            }),
        }
    }
}
