//! What a run reports: every figure and check the `--json` output carries, the partition drop's
//! included, and the targets they are held to.

use serde::Serialize;

use crate::sim::lab::bench::Measurement;
use crate::sim::stats::Spread;

/// Bumped when a key of the `--json` output changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 2;

/// The pages one run of the relay's poll read: on SQLite as read calls from a cold connection,
/// on PostgreSQL as the buffers it asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PageReads {
    /// Pages of the index the poll went through; none without one.
    pub index: u64,
    /// Pages of the table: the rows returned, and without an index every row looked at.
    pub table: u64,
}

/// The poll and the write at one size with one index.
#[derive(Clone, Debug, Serialize)]
pub struct IndexRun {
    /// `plain` (an index on `sent_at`) or `partial` (on `id`, only where `sent_at IS NULL`).
    pub index: &'static str,
    pub index_name: &'static str,
    /// The index's size in database pages.
    pub index_pages: u64,
    /// The database's plan for the relay's poll.
    pub plan: String,
    /// What one poll read; absent where the pages could not be counted (SQLite off Linux).
    pub poll_reads: Option<PageReads>,
    pub poll_us: Spread,
    pub insert_us: Spread,
    /// Service writes (order row and outbox row, one transaction each) per second of write time.
    pub inserts_per_s: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct SizeRun {
    pub rows: u32,
    pub plain: IndexRun,
    pub partial: IndexRun,
    /// What the same poll read with no index to use: the table, in id order, until it had
    /// its rows (SQLite), or the whole table and a sort (PostgreSQL).
    pub no_index_reads: Option<PageReads>,
}

/// How the partial-index poll's cost moved from the smallest size to the largest.
#[derive(Clone, Debug, Serialize)]
pub struct PollRatio {
    pub from_rows: u32,
    pub to_rows: u32,
    pub plain: f64,
    pub partial: f64,
}

/// One line of a chart: `[x, y]` points.
#[derive(Clone, Debug, Serialize)]
pub struct Series {
    pub name: &'static str,
    pub points: Vec<[f64; 2]>,
}

/// Pages one poll reads against table size (poll time where pages were not counted), ready to
/// draw.
#[derive(Clone, Debug, Serialize)]
pub struct Chart {
    pub title: &'static str,
    pub x: &'static str,
    pub y: &'static str,
    pub series: Vec<Series>,
}

/// Batched deletes on their own: the older part of the old rows, before the windows below.
#[derive(Clone, Debug, Serialize)]
pub struct Deletes {
    /// Sent rows older than this (simulated time) are deleted; `cutoff_ms` is the same instant
    /// as the table's `sent_at` holds it.
    pub cutoff: String,
    pub cutoff_ms: i64,
    pub rows_deleted: u64,
    pub batches: u64,
    pub seconds: f64,
    pub rows_per_s: f64,
    /// How long each batch's transaction held its locks: on SQLite the write lock, what a
    /// waiting insert can be delayed by; on PostgreSQL the deleted rows' locks, which no insert
    /// waits for.
    pub batch_ms: Spread,
    /// Time spent folding the WAL back into the database, outside the write lock (SQLite).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_ms: Option<f64>,
    /// Old rows deleted after the windows, to finish the cleanup (not timed).
    pub rows_deleted_after_windows: u64,
    /// The VACUUM that makes the deleted rows' space reusable (PostgreSQL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vacuum: Option<Vacuum>,
}

/// PostgreSQL's deferred half of a delete. A deleted row stays in the table as a dead row version,
/// its index entries with it, until VACUUM removes them; the lab runs it once the cleanup is done.
#[derive(Clone, Debug, Serialize)]
pub struct Vacuum {
    pub ms: f64,
    /// The outbox with its indexes, before and after: VACUUM makes space reusable, it does not
    /// give it back.
    pub outbox_bytes_before: u64,
    pub outbox_bytes_after: u64,
    /// The relay's poll among the dead rows, and once they are gone.
    pub poll_us_before: Spread,
    pub poll_us_after: Spread,
}

/// The server a PostgreSQL run used.
#[derive(Clone, Debug, Serialize)]
pub struct ServerReport {
    /// The URL, any password hidden.
    pub url: String,
    pub version: String,
    /// The run's schemas, dropped at the end unless kept.
    pub schemas: Vec<String>,
    pub kept: bool,
    /// The server's own settings that move every figure: a server with fsync off commits
    /// without waiting for the disk.
    pub fsync: String,
    pub shared_buffers: String,
}

/// Service writes with and without a cleaner deleting old rows on another connection.
#[derive(Clone, Debug, Serialize)]
pub struct Alongside {
    pub windows_each: usize,
    pub window_ms: u64,
    pub inserts_per_s_alone: f64,
    pub inserts_per_s_with_cleanup: f64,
    pub slowdown_percent: f64,
    pub insert_us_alone: Spread,
    pub insert_us_with_cleanup: Spread,
    pub poll_us_alone: Spread,
    pub poll_us_with_cleanup: Spread,
    /// The pace the cleaner was held to, and what it deleted.
    pub cleaner_pace: f64,
    pub cleaner_pace_rows_per_s: f64,
    pub cleaner_rows_deleted: u64,
    /// What it deleted per second of the windows it ran in: above the pace when the service
    /// writes fewer rows a window than one batch holds.
    pub cleaner_rows_per_s: f64,
    pub cleaner_batch_ms: Spread,
    /// The cleaner ran out of old rows before the last window: the table was too small for a
    /// fair comparison.
    pub cleaner_ran_out: bool,
}

/// A day's partition dropped whole.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Partition {
    /// Yesterday's table, the one dropped, and today's.
    pub table: String,
    pub today: String,
    pub rows: u64,
    /// The poll through `outbox` over both days' tables, and a write routed to today's.
    pub plan: String,
    pub poll_us: Spread,
    pub insert_us: Spread,
    pub inserts_per_s: f64,
    /// Unsent rows moved to today's table before the drop, and how long that took. PostgreSQL
    /// files a row by its `created_at`, so there the move re-stamps it with today's start.
    pub unsent_moved: u64,
    pub move_ms: f64,
    /// The drop, one transaction: on SQLite the view re-pointed at today's table and yesterday's
    /// table dropped; on PostgreSQL `DROP TABLE` of yesterday's partition.
    pub drop_ms: f64,
    /// Deleting the same rows in batches instead, at the rate the deletes were measured at.
    pub delete_same_rows_ms: f64,
    /// And the VACUUM those deletes would leave behind, at the rate this run's took (PostgreSQL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vacuum_same_rows_ms: Option<f64>,
    pub poll_us_after_drop: Spread,
}

/// What the drop is checked against.
pub(super) struct PartitionChecks {
    /// The day's table is gone, its unsent rows live on in today's, and the poll sees the same rows.
    pub(super) exact: bool,
    pub(super) adds_up: bool,
}

/// The lab's claims, checked on every run.
#[derive(Clone, Debug, Serialize)]
pub struct Checks {
    /// At every size, both indexes polled the same rows, and every poll returned them.
    pub same_rows_both_indexes: bool,
    /// The partial-index plan searches `outbox_unsent`; the plain one `outbox_sent_at`.
    pub partial_index_used: bool,
    pub plain_plan_differs: bool,
    /// With the cleaner deleting around them, the polls returned the same rows.
    pub poll_unchanged_during_cleanup: bool,
    /// Deletes removed exactly the sent rows older than the cut-off: none left, none more.
    pub deleted_exactly_old_sent_rows: bool,
    /// Every unsent row, stuck ones included, is still there and still unsent.
    pub unsent_rows_kept: bool,
    /// The drop removed the day's rows and nothing else; the unsent ones live on in today's table.
    pub drop_removed_exactly_its_rows: bool,
    /// Rows written, deleted and left add up in both databases.
    pub rows_add_up: bool,
}

impl Checks {
    pub fn all(&self) -> bool {
        self.same_rows_both_indexes
            && self.partial_index_used
            && self.plain_plan_differs
            && self.poll_unchanged_during_cleanup
            && self.deleted_exactly_old_sent_rows
            && self.unsent_rows_kept
            && self.drop_removed_exactly_its_rows
            && self.rows_add_up
    }
}

/// The targets, each with its figure.
#[derive(Clone, Debug, Serialize)]
pub struct Targets {
    pub poll_flat: Measurement,
    pub poll_p50: Measurement,
    pub delete_rate: Measurement,
    pub delete_batch_p99: Measurement,
    pub partition_drop: Measurement,
    pub insert_slowdown: Measurement,
    pub all_met: bool,
}

impl Targets {
    pub fn list(&self) -> [&Measurement; 6] {
        [
            &self.poll_flat,
            &self.poll_p50,
            &self.delete_rate,
            &self.delete_batch_p99,
            &self.partition_drop,
            &self.insert_slowdown,
        ]
    }
}

/// What the figures were measured on: they are this machine's, at this load.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    pub cores: usize,
    /// The 1-minute load average when the run ended, where the system reports one.
    pub load_average: Option<f64>,
    /// Whether this is an optimised build: a debug build's figures are not the targets'.
    pub release_build: bool,
}

impl Machine {
    /// This machine, now.
    pub fn now() -> Machine {
        let load_average = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|text| text.split_whitespace().next()?.parse().ok());
        Machine {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            load_average,
            release_build: !cfg!(debug_assertions),
        }
    }

    /// The load average when other work held more than three quarters of the cores, so that
    /// figures taken at that moment are slower than the machine can do.
    pub fn busy_load(&self) -> Option<f64> {
        self.load_average
            .filter(|load| *load > self.cores as f64 * 0.75)
    }
}

/// Where the time went, in milliseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Timings {
    pub grow_ms: f64,
    pub measure_ms: f64,
    pub alongside_ms: f64,
    pub deletes_ms: f64,
    pub partition_ms: f64,
    pub total_ms: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct CleanupReport {
    pub schema_version: u32,
    /// `sqlite` or `postgres`: which database produced these figures.
    pub backend: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerReport>,
    pub seed: u64,
    pub rows: u32,
    pub sizes: Vec<u32>,
    pub delete_batch: u32,
    pub poll_batch: u32,
    /// Unsent rows in the table throughout: the backlog plus the stuck ones.
    pub unsent_rows: u32,
    pub stuck_ids: Vec<i64>,
    /// The database's page size in bytes: SQLite's chosen one, PostgreSQL's block size.
    pub page_size: u32,
    /// Whether a commit waits for its WAL to be flushed: SQLite's `synchronous`, or
    /// PostgreSQL's `synchronous_commit` on the lab's connections.
    pub synchronous: &'static str,
    /// SQLite's memory-mapped reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mmap_size: Option<i64>,
    /// A bare round trip to the server (`SELECT 1`): part of every figure on PostgreSQL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round_trip_us: Option<Spread>,
    pub machine: Machine,
    pub by_size: Vec<SizeRun>,
    pub poll_ratio: PollRatio,
    pub chart: Chart,
    pub alongside: Alongside,
    pub deletes: Deletes,
    pub partition: Partition,
    pub checks: Checks,
    pub targets: Targets,
    pub timings: Timings,
}
