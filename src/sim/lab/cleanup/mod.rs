//! `lab cleanup`: keeping the outbox small without slowing the service. The crash lab's outbox
//! table grows to a million sent rows; at each size the relay's unsent-row poll and the service's
//! write are timed with a plain index on `sent_at` and with the schema's partial index on unsent
//! rows. Then old sent rows are deleted in short batches, alone and while the service keeps
//! writing, and a day's partition table is dropped whole. Every figure comes from a real
//! database with the crash lab's schema and statements: SQLite files, with the crash lab's
//! connection settings plus memory-mapped reads, or a PostgreSQL server (`--db`), where a day is a
//! partition of a declaratively partitioned table.
//!
//! The experiment is written once, against the seam in `place`; `sqlite` and `postgres` implement
//! it in their own terms.
//!
//! The table always holds the same unsent rows in two places: a fresh backlog at the tail (the
//! relay a few hundred rows behind) and a few stuck rows deep among the old ones (publishes an
//! outage left behind). The stuck rows sit inside the range the cleanup deletes, so they show
//! that it only ever removes rows that were sent.

mod cleaner;
mod partition;
mod place;
mod postgres;
mod sqlite;

use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};
use serde::Serialize;

use crate::sim::error::SimError;
use crate::sim::lab::bench::Measurement;
use crate::sim::model::{Envelope, Order, Pipeline, timestamp};
use crate::sim::progress::Progress;
use crate::sim::stats::{Spread, round3};
use crate::sim::storage::sqlite::sql as db;
use cleaner::{Cleaner, PAUSED, PacedRun, RUNNING, STOP, run_paced, write_window};
pub use partition::{Partition, day_table};
use place::{LabDb, NewRow, Place, Server};

/// Bumped when a key of the `--json` output changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;
pub const DEFAULT_ROWS: u32 = 1_000_000;
/// Rows per delete transaction. Measured here, 2,000 deletes as many rows a second as 5,000 or
/// 10,000 do, while holding the write lock a third or a fifth as long.
pub const DEFAULT_BATCH: u32 = 2_000;
/// Sizes measured on the way to `--rows` when `--sizes` is not given.
pub const DEFAULT_SIZES: [u32; 2] = [10_000, 100_000];
pub const MIN_ROWS: u32 = 20_000;
pub const MAX_ROWS: u32 = 5_000_000;
pub const MIN_SIZE: u32 = 10_000;
/// How far apart two measured sizes must be: room for the rows each size's measurements write.
pub const MIN_STEP: u32 = 5_000;
pub const MIN_BATCH: u32 = 100;
pub const MAX_BATCH: u32 = 100_000;
/// The relay's batch: how many rows one poll asks for.
pub const POLL_BATCH: u32 = 100;
/// Fresh unsent rows at the tail of the table.
pub const BACKLOG: u32 = 250;
/// Old unsent rows among the ones the cleanup deletes.
pub const STUCK: u32 = 10;
/// The lab's connections map up to this much of the database into memory: a cleanup reads many
/// more pages than it writes, and a mapped page is read without a system call or a copy.
pub const MMAP_SIZE: i64 = 2_000_000_000;
/// The cleaner beside the service deletes this many rows for each row the service writes: in
/// step with it, so the table stops growing.
pub const CLEANER_PACE: f64 = 1.0;

/// Polls and service writes timed per size and index, in rounds that take turns so that a burst
/// of other work on the machine lands on a round, not on a whole measurement.
const ROUNDS: usize = 5;
const POLLS: usize = 120;
/// Untimed polls before each measurement: at least this many, for at least this long.
const WARM_UP: usize = 200;
const WARM_UP_TIME: Duration = Duration::from_millis(100);
const INSERTS: u32 = 1_000;
/// Rows per transaction while growing the table.
const GROW_CHUNK: i64 = 50_000;
const DAY_MS: i64 = 86_400_000;
/// The main table's rows are spread over eight days, and sent rows are kept for one.
const SPAN_DAYS: i64 = 8;
const KEEP_DAYS: i64 = 1;
/// A relay publishes a row this long after the service wrote it.
const SENT_AFTER_MS: i64 = 500;
/// Writes with and without the cleaner alternate in windows this long, this many of each.
const WINDOW: Duration = Duration::from_millis(200);
const WINDOW_PAIRS: usize = 8;
/// One poll every this many writes while the windows run.
const POLL_EVERY: u32 = 50;

const PLAIN_INDEX: &str = "outbox_sent_at";
const PARTIAL_INDEX: &str = "outbox_unsent";

/// A checked set of options.
#[derive(Clone, Debug, Serialize)]
pub struct CleanupOptions {
    pub seed: u64,
    /// Rows the outbox grows to; the cleanup and the partition drop run at this size.
    pub rows: u32,
    /// Every size measured, ascending, the last one `rows`.
    pub sizes: Vec<u32>,
    /// Rows per delete transaction.
    pub batch: u32,
    /// Page size of the lab's new SQLite databases: the crash lab's `db::PAGE_SIZE` unless asked.
    pub page_size: u32,
    /// Keep the lab's SQLite files here instead of a temporary directory; on PostgreSQL, keep
    /// the run's schemas.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_dir: Option<PathBuf>,
    /// A PostgreSQL server to run on instead of SQLite files. Never recorded: it may hold a
    /// password.
    #[serde(skip)]
    pub db: Option<String>,
}

impl CleanupOptions {
    pub fn new(seed: u64) -> Self {
        CleanupOptions {
            seed,
            rows: DEFAULT_ROWS,
            sizes: default_sizes(DEFAULT_ROWS),
            batch: DEFAULT_BATCH,
            page_size: db::PAGE_SIZE,
            keep_dir: None,
            db: None,
        }
    }

    /// The same checks the command line makes, for callers of the library.
    pub fn validate(&self) -> Result<(), SimError> {
        let invalid = |message: String| Err(SimError::Invalid(message));
        if !(MIN_ROWS..=MAX_ROWS).contains(&self.rows) {
            return invalid(format!(
                "--rows must be between {MIN_ROWS} and {MAX_ROWS} (got {})",
                self.rows
            ));
        }
        if !(MIN_BATCH..=MAX_BATCH).contains(&self.batch) {
            return invalid(format!(
                "--batch must be between {MIN_BATCH} and {MAX_BATCH} (got {})",
                self.batch
            ));
        }
        if !self.page_size.is_power_of_two() || !(512..=65_536).contains(&self.page_size) {
            return invalid(format!(
                "--page-size must be a power of two from 512 to 65536, like 4096 (got {})",
                self.page_size
            ));
        }
        if self.sizes.len() < 2 || self.sizes.last() != Some(&self.rows) {
            return invalid("the sizes must be at least one size below --rows, then --rows".into());
        }
        if self.sizes[0] < MIN_SIZE {
            return invalid(format!(
                "--sizes must each be at least {MIN_SIZE} rows (got {})",
                self.sizes[0]
            ));
        }
        for pair in self.sizes.windows(2) {
            if pair[1] < pair[0] + MIN_STEP {
                return invalid(format!(
                    "--sizes must rise by at least {MIN_STEP} rows from one size to the next, \
                     up to --rows (got {} then {})",
                    pair[0], pair[1]
                ));
            }
        }
        Ok(())
    }
}

/// The default sizes below `rows`, then `rows`.
pub fn default_sizes(rows: u32) -> Vec<u32> {
    DEFAULT_SIZES
        .into_iter()
        .filter(|s| *s + MIN_STEP <= rows)
        .chain(std::iter::once(rows))
        .collect()
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

/// Poll time against table size, ready to draw.
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
    fn now() -> Machine {
        let load_average = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|text| text.split_whitespace().next()?.parse().ok());
        Machine {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            load_average,
            release_build: !cfg!(debug_assertions),
        }
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

/// Rows the run writes while growing and timing its tables: the progress bar's length.
pub fn rows_to_write(options: &CleanupOptions) -> u64 {
    2 * u64::from(options.rows) + u64::from(BACKLOG + INSERTS)
}

fn ms(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1e6
}

fn us(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1e3
}

/// When each row was written: `rows` rows spread evenly over `span` ms from `start`, the row
/// with id `first` at `start` itself.
#[derive(Clone, Copy, Debug)]
struct Timeline {
    start: i64,
    first: i64,
    span: i64,
    rows: i64,
}

impl Timeline {
    fn at(&self, id: i64) -> i64 {
        self.start + (id - self.first) * self.span / self.rows
    }
}

/// `STUCK` distinct ids from `1..=within`, ascending, from the run's seeded generator.
fn pick_stuck(rng: &mut rand::rngs::ChaCha8Rng, within: i64) -> Vec<i64> {
    let mut stuck: Vec<i64> = Vec::new();
    while stuck.len() < STUCK as usize {
        let id = rng.random_range(1..=within);
        if !stuck.contains(&id) {
            stuck.push(id);
        }
    }
    stuck.sort_unstable();
    stuck
}

/// Appends rows `ids` to `table` in large transactions: row `id` written at `timeline.at(id)`
/// and sent `SENT_AFTER_MS` later, unless `unsent(id)`.
fn grow(
    db: &mut dyn LabDb,
    table: &str,
    ids: RangeInclusive<i64>,
    seed: u64,
    timeline: &Timeline,
    unsent: &dyn Fn(i64) -> bool,
    progress: &dyn Progress,
) -> Result<(), SimError> {
    let (mut from, last) = ids.into_inner();
    while from <= last {
        let to = (from + GROW_CHUNK - 1).min(last);
        let rows: Vec<NewRow> = (from..=to)
            .map(|id| {
                let at = timeline.at(id);
                let order = Order::generate(seed, id as u32);
                NewRow {
                    id,
                    event: Envelope::order_placed(seed, Pipeline::Outbox, &order, at as u64),
                    created_at: at,
                    sent_at: (!unsent(id)).then_some(at + SENT_AFTER_MS),
                }
            })
            .collect();
        db.append(table, &rows)?;
        progress.advance((to - from + 1) as u64);
        from = to + 1;
    }
    Ok(())
}

/// The order service: it writes order `next_id` next, at its time on `timeline`, through `db`,
/// where the relay polls and marks its rows sent.
struct Service<'c> {
    db: &'c mut dyn LabDb,
    seed: u64,
    timeline: Timeline,
    next_id: i64,
}

impl Service<'_> {
    /// The service's write: the order row and its outbox row in one transaction. Returns how
    /// long the transaction took.
    fn write(&mut self) -> Result<Duration, SimError> {
        let (id, at) = (self.next_id, self.timeline.at(self.next_id));
        let order = Order::generate(self.seed, id as u32);
        let event = Envelope::order_placed(self.seed, Pipeline::Outbox, &order, at as u64);
        let started = Instant::now();
        self.db.write(&order, &event, at)?;
        let took = started.elapsed();
        self.next_id += 1;
        Ok(took)
    }
}

/// The ids one poll returns.
fn poll_ids(db: &mut dyn LabDb) -> Result<Vec<i64>, SimError> {
    Ok(db.poll()?.iter().map(|r| r.id).collect())
}

/// Polls untimed until the caches are warm and the process has settled.
fn warm_up(db: &mut dyn LabDb) -> Result<(), SimError> {
    let started = Instant::now();
    let mut polls = 0;
    while polls < WARM_UP || started.elapsed() < WARM_UP_TIME {
        db.poll()?;
        polls += 1;
    }
    Ok(())
}

/// Times the relay's poll `POLLS` times into `times`. Returns the rows the first poll found, and
/// whether every poll found exactly those.
fn time_polls(db: &mut dyn LabDb, times: &mut Vec<f64>) -> Result<(Vec<i64>, bool), SimError> {
    let first = poll_ids(db)?;
    let mut steady = true;
    for _ in 0..POLLS {
        let started = Instant::now();
        let rows = db.poll()?;
        times.push(us(started.elapsed()));
        steady &= rows.len() == first.len() && rows.iter().zip(&first).all(|(r, id)| r.id == *id);
    }
    Ok((first, steady))
}

/// The poll timed in `ROUNDS` rounds after `WARM_UP` untimed polls, for a table nothing else
/// writes to. Returns the spread, the rows found, and whether every poll found the same rows.
fn measure_polls(db: &mut dyn LabDb) -> Result<(Spread, Vec<i64>, bool), SimError> {
    warm_up(db)?;
    let mut times = Vec::with_capacity(POLLS * ROUNDS);
    let (first, mut steady) = time_polls(db, &mut times)?;
    for _ in 1..ROUNDS {
        let (rows, same) = time_polls(db, &mut times)?;
        steady &= same && rows == first;
    }
    Ok((Spread::of(times), first, steady))
}

/// A bare round trip to the server, timed as the poll is: what every figure on a server includes.
fn measure_round_trip(server: &mut dyn Server) -> Result<Spread, SimError> {
    let started = Instant::now();
    let mut pings = 0;
    while pings < WARM_UP || started.elapsed() < WARM_UP_TIME {
        server.ping()?;
        pings += 1;
    }
    let mut times = Vec::with_capacity(POLLS * ROUNDS);
    for _ in 0..POLLS * ROUNDS {
        let started = Instant::now();
        server.ping()?;
        times.push(us(started.elapsed()));
    }
    Ok(Spread::of(times))
}

/// Times `count` of the service's writes into `times`; the relay then marks them sent.
fn time_writes(
    service: &mut Service<'_>,
    count: u32,
    times: &mut Vec<f64>,
    progress: &dyn Progress,
) -> Result<(), SimError> {
    let first = service.next_id;
    for _ in 0..count {
        times.push(us(service.write()?));
    }
    progress.advance(u64::from(count));
    if service.db.last_id()? != Some(service.next_id - 1) {
        return Err(SimError::Internal(
            "the outbox assigned an id the lab did not expect",
        ));
    }
    service.db.mark_sent_from(first)
}

/// What the poll and the service's write measured through one index.
struct Measured {
    poll_us: Spread,
    insert_us: Spread,
    /// Writes per second of write time.
    inserts_per_s: f64,
    /// The rows the poll found, and whether every poll found the same.
    polled: Vec<i64>,
    steady: bool,
}

/// The poll and the service's write, taking turns in `ROUNDS` rounds, through whatever index
/// the table has.
fn measure_both(service: &mut Service<'_>, progress: &dyn Progress) -> Result<Measured, SimError> {
    warm_up(service.db)?;
    let (mut polls, mut writes) = (Vec::new(), Vec::new());
    let mut polled: Option<Vec<i64>> = None;
    let mut steady = true;
    for _ in 0..ROUNDS {
        let (rows, same) = time_polls(service.db, &mut polls)?;
        steady &= same && polled.as_ref().is_none_or(|p| *p == rows);
        polled.get_or_insert(rows);
        time_writes(service, INSERTS / ROUNDS as u32, &mut writes, progress)?;
    }
    let inserts_per_s = writes.len() as f64 / (writes.iter().sum::<f64>() / 1e6);
    Ok(Measured {
        poll_us: Spread::of(polls),
        insert_us: Spread::of(writes),
        inserts_per_s: round3(inserts_per_s),
        polled: polled.unwrap_or_default(),
        steady,
    })
}

/// The poll and the writes with whichever index the table has now.
fn measure_index(
    service: &mut Service<'_>,
    index: &'static str,
    index_name: &'static str,
    progress: &dyn Progress,
) -> Result<(IndexRun, Vec<i64>, bool), SimError> {
    let m = measure_both(service, progress)?;
    let run = IndexRun {
        index,
        index_name,
        index_pages: service.db.index_pages(index_name)?,
        plan: service.db.poll_plan()?,
        poll_us: m.poll_us,
        insert_us: m.insert_us,
        inserts_per_s: m.inserts_per_s,
    };
    Ok((run, m.polled, m.steady))
}

/// PostgreSQL's deferred half of the deletes: VACUUM, with the poll and the table's size around it.
fn measure_vacuum(db: &mut dyn LabDb) -> Result<Option<Vacuum>, SimError> {
    if db.server().is_none() {
        return Ok(None);
    }
    let (poll_us_before, _, _) = measure_polls(db)?;
    let Some(server) = db.server() else {
        return Ok(None);
    };
    let outbox_bytes_before = server.outbox_bytes()?;
    let started = Instant::now();
    server.vacuum()?;
    let took = ms(started.elapsed());
    let outbox_bytes_after = server.outbox_bytes()?;
    let (poll_us_after, _, _) = measure_polls(db)?;
    Ok(Some(Vacuum {
        ms: round3(took),
        outbox_bytes_before,
        outbox_bytes_after,
        poll_us_before,
        poll_us_after,
    }))
}

/// Every figure from the windows of writes with and without the cleaner.
#[derive(Default)]
struct Windows {
    rate_alone: Vec<f64>,
    rate_with: Vec<f64>,
    writes_alone: Vec<f64>,
    writes_with: Vec<f64>,
    polls_alone: Vec<f64>,
    polls_with: Vec<f64>,
    steady: bool,
    written: u64,
    /// How long the windows with the cleaner running lasted.
    time_with: Duration,
}

/// Runs the lab, on SQLite files or on the PostgreSQL server `options.db` names. `progress`
/// hears of every row written, `phase` of each stage as it starts.
pub fn run(
    options: &CleanupOptions,
    progress: &dyn Progress,
    phase: &dyn Fn(&'static str),
) -> Result<CleanupReport, SimError> {
    options.validate()?;
    let started = Instant::now();
    let mut timings = Timings::default();
    // Dropped last, when every connection to it is closed: the files or the schemas go with it.
    let place = Place::open(options)?;
    let seed = options.seed;
    let batch = options.batch;
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed ^ 0x5717_c1ea);
    // The stuck rows: among the sent rows of the smallest size, so every size has them.
    let stuck = pick_stuck(
        &mut rng,
        i64::from(options.sizes[0] - 2 * INSERTS - BACKLOG),
    );

    let mut db = place.outbox()?;
    let round_trip_us = match db.server() {
        Some(server) => Some(measure_round_trip(server)?),
        None => None,
    };
    let timeline = Timeline {
        start: 0,
        first: 0,
        span: SPAN_DAYS * DAY_MS,
        rows: i64::from(options.rows),
    };
    let mut service = Service {
        db: &mut *db,
        seed,
        timeline,
        next_id: 1,
    };
    let mut backlog_from: Option<i64> = None;
    let mut by_size = Vec::new();
    let (mut same_rows, mut partial_used, mut plain_differs) = (true, true, true);

    for &size in &options.sizes {
        phase("growing the outbox");
        let grow_started = Instant::now();
        if let Some(from) = backlog_from {
            service.db.mark_sent_from(from)?;
        }
        // Sent rows, then the backlog; the timed writes below bring the table to `size`.
        let sent_until = i64::from(size - 2 * INSERTS - BACKLOG);
        grow(
            service.db,
            "outbox",
            service.next_id..=sent_until,
            seed,
            &timeline,
            &|id| stuck.binary_search(&id).is_ok(),
            progress,
        )?;
        let backlog_until = sent_until + i64::from(BACKLOG);
        grow(
            service.db,
            "outbox",
            sent_until + 1..=backlog_until,
            seed,
            &timeline,
            &|_| true,
            progress,
        )?;
        backlog_from = Some(sent_until + 1);
        service.next_id = backlog_until + 1;
        service.db.settle()?;
        timings.grow_ms += ms(grow_started.elapsed());

        phase("timing the poll and the write");
        let measure_started = Instant::now();
        let (partial, partial_ids, steady_partial) =
            measure_index(&mut service, "partial", PARTIAL_INDEX, progress)?;
        service.db.use_plain_index()?;
        let (plain, plain_ids, steady_plain) =
            measure_index(&mut service, "plain", PLAIN_INDEX, progress)?;
        service.db.use_partial_index()?;
        timings.measure_ms += ms(measure_started.elapsed());

        same_rows &= steady_partial
            && steady_plain
            && partial_ids == plain_ids
            && partial_ids.len() == POLL_BATCH as usize;
        partial_used &= partial.plan.contains(PARTIAL_INDEX);
        plain_differs &= plain.plan.contains(PLAIN_INDEX) && !plain.plan.contains(PARTIAL_INDEX);
        if service.db.count("SELECT count(*) FROM outbox")? != u64::from(size) {
            return Err(SimError::Internal(
                "the outbox does not hold the rows the lab wrote",
            ));
        }
        by_size.push(SizeRun {
            rows: size,
            plain,
            partial,
        });
    }

    // The cleanup, at the largest size: sent rows older than a day go.
    let cutoff = timeline.at(service.next_id - 1) - KEEP_DAYS * DAY_MS;
    let old_sent = service.db.count(&format!(
        "SELECT count(*) FROM outbox WHERE sent_at < {cutoff}"
    ))?;
    let rows_before = service.db.count("SELECT count(*) FROM outbox")?;
    let expected_poll = poll_ids(service.db)?;
    let mut cleaner = Cleaner::new(service.db.sweeper()?, cutoff, batch)?;
    let mut windows = Windows {
        steady: true,
        ..Windows::default()
    };

    // A first window, not counted, warms the caches and sets the cleaner's first pace.
    phase("writing, with and without the cleaner");
    let alongside_started = Instant::now();
    let warm = write_window(
        &mut service,
        WINDOW,
        POLL_EVERY,
        &expected_poll,
        &mut Vec::new(),
        &mut Vec::new(),
    )?;
    windows.written += warm.written;
    let pace = AtomicU64::new((CLEANER_PACE * warm.rate).to_bits());
    timings.alongside_ms += ms(alongside_started.elapsed());

    // The cleaner alone over the older rows first, leaving it plenty to delete beside the
    // service's writes. Ids are dense and in time order, so an id is where to stop.
    phase("deleting old sent rows in batches");
    let deletes_started = Instant::now();
    // Enough for twice the windows' pace, and for at least a batch in every window it runs in:
    // a batch starts each window whatever the pace, which matters where the service is slow.
    let paced_rows = CLEANER_PACE * warm.rate * (WINDOW * WINDOW_PAIRS as u32).as_secs_f64();
    let need = paced_rows.max(f64::from(batch) * WINDOW_PAIRS as f64) * 2.0;
    let reserve = (old_sent / 2).min(need as u64);
    let split = (old_sent - reserve) as i64;
    let (mut deleted, mut held_ms) = (0u64, Vec::new());
    while cleaner.cursor < split {
        let Some(b) = cleaner.step()? else {
            break;
        };
        deleted += b.rows;
        held_ms.push(ms(b.held));
    }
    let seconds = deletes_started.elapsed().as_secs_f64();
    let mut deletes = Deletes {
        cutoff: timestamp(cutoff as u64),
        cutoff_ms: cutoff,
        rows_deleted: deleted,
        batches: held_ms.len() as u64,
        seconds: round3(seconds),
        rows_per_s: round3(deleted as f64 / seconds),
        batch_ms: Spread::of(held_ms),
        checkpoint_ms: cleaner.checkpoint.map(|d| round3(ms(d))),
        rows_deleted_after_windows: 0,
        vacuum: None,
    };
    timings.deletes_ms = ms(deletes_started.elapsed());

    // Then windows of the service's writes, the cleaner paused and running in turn, each time
    // held to the pace the service wrote at in the window before.
    let alongside_started = Instant::now();
    let state = AtomicU8::new(PAUSED);
    let paced = std::thread::scope(|scope| -> Result<PacedRun, SimError> {
        let (state, pace) = (&state, &pace);
        let worker = scope.spawn(move || run_paced(cleaner, state, pace));
        let result = (|| -> Result<(), SimError> {
            for w in 0..2 * WINDOW_PAIRS {
                let on = w % 2 == 1;
                state.store(if on { RUNNING } else { PAUSED }, Ordering::Release);
                let (writes, polls) = if on {
                    (&mut windows.writes_with, &mut windows.polls_with)
                } else {
                    (&mut windows.writes_alone, &mut windows.polls_alone)
                };
                let window = write_window(
                    &mut service,
                    WINDOW,
                    POLL_EVERY,
                    &expected_poll,
                    writes,
                    polls,
                )?;
                windows.steady &= window.steady;
                windows.written += window.written;
                if on {
                    windows.time_with += window.took;
                    windows.rate_with.push(window.rate);
                    // A cleaner that ran out of old rows has nothing left to compare.
                    if worker.is_finished() {
                        break;
                    }
                } else {
                    windows.rate_alone.push(window.rate);
                    pace.store((CLEANER_PACE * window.rate).to_bits(), Ordering::Release);
                }
            }
            Ok(())
        })();
        state.store(STOP, Ordering::Release);
        let paced = worker
            .join()
            .map_err(|_| SimError::Internal("the cleaner thread panicked"))?;
        result.and(paced)
    })?;
    let mut cleaner = paced.cleaner;
    let rate_alone = Spread::of(windows.rate_alone.clone()).p50;
    let rate_with = Spread::of(windows.rate_with.clone()).p50;
    let alongside = Alongside {
        windows_each: WINDOW_PAIRS,
        window_ms: WINDOW.as_millis() as u64,
        inserts_per_s_alone: round3(rate_alone),
        inserts_per_s_with_cleanup: round3(rate_with),
        slowdown_percent: round3((1.0 - rate_with / rate_alone) * 100.0),
        insert_us_alone: Spread::of(windows.writes_alone),
        insert_us_with_cleanup: Spread::of(windows.writes_with),
        poll_us_alone: Spread::of(windows.polls_alone),
        poll_us_with_cleanup: Spread::of(windows.polls_with),
        cleaner_pace: CLEANER_PACE,
        cleaner_pace_rows_per_s: round3(CLEANER_PACE * rate_alone),
        cleaner_rows_deleted: paced.rows,
        cleaner_rows_per_s: round3(paced.rows as f64 / windows.time_with.as_secs_f64()),
        cleaner_batch_ms: Spread::of(paced.held_ms),
        cleaner_ran_out: paced.ran_out,
    };
    timings.alongside_ms += ms(alongside_started.elapsed());

    phase("finishing the cleanup");
    while let Some(b) = cleaner.step()? {
        deletes.rows_deleted_after_windows += b.rows;
    }
    drop(cleaner);
    let db = service.db;
    phase("vacuuming after the deletes");
    let vacuum_started = Instant::now();
    deletes.vacuum = measure_vacuum(db)?;
    timings.deletes_ms += ms(vacuum_started.elapsed());

    let rows_after = db.count("SELECT count(*) FROM outbox")?;
    let old_left = db.count(&format!(
        "SELECT count(*) FROM outbox WHERE sent_at < {cutoff}"
    ))?;
    let unsent_after = db.count("SELECT count(*) FROM outbox WHERE sent_at IS NULL")?;
    let mut stuck_left = 0;
    for id in &stuck {
        stuck_left += db.count(&format!(
            "SELECT count(*) FROM outbox WHERE id = {id} AND sent_at IS NULL"
        ))?;
    }
    let removed =
        deletes.rows_deleted + alongside.cleaner_rows_deleted + deletes.rows_deleted_after_windows;
    let main_adds_up = rows_before + windows.written == rows_after + removed;

    phase("building and dropping a day's partition");
    let partition_started = Instant::now();
    let (partition, partition_checks) = partition::run(&place, options, &mut rng, progress)?;
    timings.partition_ms = ms(partition_started.elapsed());
    let day_rows = (partition.rows - partition.unsent_moved) as f64;
    let partition = Partition {
        delete_same_rows_ms: round3(day_rows / deletes.rows_per_s * 1e3),
        vacuum_same_rows_ms: deletes
            .vacuum
            .as_ref()
            .map(|v| round3(v.ms * day_rows / removed as f64)),
        ..partition
    };

    let (small, large) = (&by_size[0], &by_size[by_size.len() - 1]);
    let poll_ratio = PollRatio {
        from_rows: small.rows,
        to_rows: large.rows,
        plain: round3(large.plain.poll_us.p50 / small.plain.poll_us.p50),
        partial: round3(large.partial.poll_us.p50 / small.partial.poll_us.p50),
    };
    let series = |name, pick: fn(&SizeRun) -> &IndexRun| Series {
        name,
        points: by_size
            .iter()
            .map(|s| [f64::from(s.rows), pick(s).poll_us.p50])
            .collect(),
    };
    let chart = Chart {
        title: "The relay's poll against table size",
        x: "rows in the outbox",
        y: "poll p50 (µs)",
        series: vec![
            series("partial index on unsent rows", |s| &s.partial),
            series("plain index on sent_at", |s| &s.plain),
        ],
    };
    let targets = targets(
        options,
        place.backend(),
        &poll_ratio,
        large,
        &deletes,
        &partition,
        &alongside,
    );
    let checks = Checks {
        same_rows_both_indexes: same_rows,
        partial_index_used: partial_used,
        plain_plan_differs: plain_differs,
        poll_unchanged_during_cleanup: windows.steady,
        deleted_exactly_old_sent_rows: old_left == 0 && removed == old_sent,
        unsent_rows_kept: unsent_after == u64::from(STUCK + BACKLOG)
            && stuck_left == u64::from(STUCK),
        drop_removed_exactly_its_rows: partition_checks.exact,
        rows_add_up: main_adds_up && partition_checks.adds_up,
    };
    timings.total_ms = ms(started.elapsed());
    for t in [
        &mut timings.grow_ms,
        &mut timings.measure_ms,
        &mut timings.alongside_ms,
        &mut timings.deletes_ms,
        &mut timings.partition_ms,
        &mut timings.total_ms,
    ] {
        *t = round3(*t);
    }
    let on_server = matches!(place, Place::Postgres { .. });
    Ok(CleanupReport {
        schema_version: SCHEMA_VERSION,
        backend: place.backend(),
        server: place.server_report(options.keep_dir.is_some()),
        seed,
        rows: options.rows,
        sizes: options.sizes.clone(),
        delete_batch: batch,
        poll_batch: POLL_BATCH,
        unsent_rows: STUCK + BACKLOG,
        stuck_ids: stuck,
        page_size: place.page_size(),
        synchronous: if on_server { "on" } else { "OFF" },
        mmap_size: (!on_server).then_some(MMAP_SIZE),
        round_trip_us,
        machine: Machine::now(),
        by_size,
        poll_ratio,
        chart,
        alongside,
        deletes,
        partition,
        checks,
        targets,
        timings,
    })
}

fn targets(
    options: &CleanupOptions,
    backend: &str,
    ratio: &PollRatio,
    large: &SizeRun,
    deletes: &Deletes,
    partition: &Partition,
    alongside: &Alongside,
) -> Targets {
    let mut targets = Targets {
        poll_flat: Measurement::new(
            "poll_flat",
            format!(
                "poll p50, {} rows ÷ {} rows (partial index)",
                ratio.to_rows, ratio.from_rows
            ),
            ratio.partial,
            "×",
            1.2,
            true,
        ),
        poll_p50: Measurement::new(
            "poll_p50",
            format!("poll p50 at {} rows (partial index)", large.rows),
            large.partial.poll_us.p50,
            "µs",
            100.0,
            true,
        ),
        delete_rate: Measurement::new(
            "delete_rate",
            format!("batched deletes, {} rows a batch", options.batch),
            deletes.rows_per_s,
            "rows/s",
            1_000_000.0,
            false,
        ),
        delete_batch_p99: Measurement::new(
            "delete_batch_p99",
            if backend == "postgres" {
                "row locks held per delete batch, p99".to_string()
            } else {
                "write lock held per delete batch, p99".to_string()
            },
            deletes.batch_ms.p99,
            "ms",
            10.0,
            true,
        ),
        partition_drop: Measurement::new(
            "partition_drop",
            format!("drop a {}-row day partition", partition.rows),
            partition.drop_ms,
            "ms",
            250.0,
            true,
        ),
        insert_slowdown: Measurement::new(
            "insert_slowdown",
            "writes/s lost with the cleaner alongside".to_string(),
            alongside.slowdown_percent,
            "%",
            10.0,
            true,
        ),
        all_met: false,
    };
    targets.all_met = targets.list().iter().all(|m| m.meets);
    targets
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::sqlite::SqliteLab;
    use super::*;
    use crate::sim::progress::NoProgress;

    /// A small outbox the lab's way, in a SQLite file: `rows` sent rows over eight days, `stuck`
    /// among them unsent, then a backlog of `BACKLOG` unsent rows.
    fn small_outbox(dir: &Path, rows: i64, stuck: &[i64]) -> (SqliteLab, Timeline) {
        let mut lab = SqliteLab::outbox(&dir.join("outbox.db"), db::PAGE_SIZE).unwrap();
        let timeline = Timeline {
            start: 0,
            first: 0,
            span: SPAN_DAYS * DAY_MS,
            rows: rows + i64::from(BACKLOG),
        };
        let unsent = |id: i64| stuck.contains(&id) || id > rows;
        let all = 1..=rows + i64::from(BACKLOG);
        grow(&mut lab, "outbox", all, 7, &timeline, &unsent, &NoProgress).unwrap();
        (lab, timeline)
    }

    fn unsent_ids(lab: &SqliteLab) -> Vec<i64> {
        lab.conn()
            .prepare("SELECT id FROM outbox WHERE sent_at IS NULL ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn options_are_checked_in_the_words_of_the_command_line() {
        assert!(CleanupOptions::new(1).validate().is_ok());
        assert_eq!(default_sizes(20_000), vec![10_000, 20_000]);
        assert_eq!(default_sizes(1_000_000), vec![10_000, 100_000, 1_000_000]);
        assert_eq!(default_sizes(100_000), vec![10_000, 100_000]);
        let problem = |change: fn(&mut CleanupOptions)| {
            let mut options = CleanupOptions::new(1);
            change(&mut options);
            options.validate().unwrap_err().to_string()
        };
        assert!(problem(|o| o.rows = 10).starts_with("--rows must be between"));
        assert!(problem(|o| o.batch = 0).starts_with("--batch must be between"));
        assert!(problem(|o| o.page_size = 3000).starts_with("--page-size must be a power of two"));
        assert!(problem(|o| o.page_size = 256).starts_with("--page-size"));
        assert!(problem(|o| o.sizes = vec![5_000, 1_000_000]).contains("at least 10000"));
        assert!(problem(|o| o.sizes = vec![10_000, 12_000, 1_000_000]).contains("rise by"));
        assert!(problem(|o| o.sizes = vec![10_000]).contains("one size below --rows"));
    }

    #[test]
    fn the_partial_index_serves_the_poll_and_a_plain_one_takes_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let (mut lab, _) = small_outbox(dir.path(), 3_000, &[17, 900]);
        let partial_plan = lab.poll_plan().unwrap();
        let partial_rows = poll_ids(&mut lab).unwrap();
        lab.use_plain_index().unwrap();
        let plain_plan = lab.poll_plan().unwrap();
        assert!(partial_plan.contains(PARTIAL_INDEX), "{partial_plan}");
        assert!(plain_plan.contains(PLAIN_INDEX), "{plain_plan}");
        assert!(!plain_plan.contains(PARTIAL_INDEX), "{plain_plan}");
        // The same rows, oldest first: the stuck ones, then the backlog's head.
        assert_eq!(poll_ids(&mut lab).unwrap(), partial_rows);
        assert_eq!(partial_rows.len(), POLL_BATCH as usize);
        assert_eq!(&partial_rows[..3], &[17, 900, 3_001]);
        lab.use_partial_index().unwrap();
        assert_eq!(lab.poll_plan().unwrap(), partial_plan);
        assert!(lab.index_pages(PARTIAL_INDEX).unwrap() < lab.index_pages("outbox").unwrap());
        assert!(
            lab.server().is_none(),
            "SQLite has no server to ping or vacuum"
        );
    }

    #[test]
    fn the_cleaner_deletes_exactly_the_old_sent_rows_across_gaps() {
        let dir = tempfile::tempdir().unwrap();
        let stuck = [5, 250, 251, 4_000];
        let (mut lab, timeline) = small_outbox(dir.path(), 6_000, &stuck);
        // A gap in the ids, as an earlier cleanup or a rolled-back insert leaves.
        lab.conn()
            .execute("DELETE FROM outbox WHERE id BETWEEN 1000 AND 2500", [])
            .unwrap();
        let cutoff = timeline.at(4_500);
        let mut count_where = |filter: &str| {
            lab.count(&format!("SELECT count(*) FROM outbox {filter}"))
                .unwrap()
        };
        let before = count_where("");
        let old = count_where(&format!("WHERE sent_at < {cutoff}"));
        let newer = count_where(&format!("WHERE sent_at >= {cutoff}"));
        let unsent_before = unsent_ids(&lab);
        let mut cleaner = Cleaner::new(lab.sweeper().unwrap(), cutoff, 300).unwrap();
        let (mut deleted, mut batches) = (0, 0);
        while let Some(b) = cleaner.step().unwrap() {
            deleted += b.rows;
            batches += 1;
            assert!(b.rows <= 300);
        }
        assert!(
            cleaner.step().unwrap().is_none(),
            "a finished cleaner stays finished"
        );
        assert!(
            cleaner.checkpoint.is_some(),
            "SQLite checkpoints after each batch"
        );
        let mut count_where = |filter: &str| {
            lab.count(&format!("SELECT count(*) FROM outbox {filter}"))
                .unwrap()
        };
        assert_eq!(deleted, old);
        assert_eq!(count_where(""), before - old);
        assert_eq!(count_where(&format!("WHERE sent_at < {cutoff}")), 0);
        assert_eq!(count_where(&format!("WHERE sent_at >= {cutoff}")), newer);
        assert_eq!(unsent_ids(&lab), unsent_before);
        // It stopped within a window of the cut-off, and jumped the gap rather than walking it.
        assert!(
            cleaner.cursor <= 4_500 + 300,
            "stopped at {}",
            cleaner.cursor
        );
        assert!(batches < 20, "{batches} batches");
    }

    #[test]
    fn dropping_a_day_moves_its_unsent_rows_first_and_removes_exactly_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(3);
        let small = CleanupOptions {
            rows: 12_000,
            keep_dir: Some(dir.path().to_path_buf()),
            ..CleanupOptions::new(3)
        };
        let place = Place::open(&small).unwrap();
        let (partition, checks) = partition::run(&place, &small, &mut rng, &NoProgress).unwrap();
        assert!(checks.exact && checks.adds_up);
        assert_eq!(partition.table, "outbox_2026_01_06");
        assert_eq!(partition.today, "outbox_2026_01_07");
        assert_eq!(partition.rows, 12_000);
        assert_eq!(partition.unsent_moved, u64::from(STUCK));
        assert!(
            partition.plan.contains("outbox_2026_01_06_unsent"),
            "{}",
            partition.plan
        );
        let conn = rusqlite::Connection::open(dir.path().join("cleanup-partitions.db")).unwrap();
        let unsent: i64 = conn
            .query_row(
                "SELECT count(*) FROM outbox_2026_01_07 WHERE sent_at IS NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(unsent, i64::from(STUCK + BACKLOG));
        assert!(
            conn.prepare("SELECT 1 FROM outbox_2026_01_06").is_err(),
            "the day's table is gone"
        );
    }

    #[test]
    fn day_tables_are_named_for_their_day() {
        assert_eq!(day_table(0), "outbox_2026_01_05");
        assert_eq!(day_table(15 * 3_600_000), "outbox_2026_01_06");
        assert_eq!(day_table(15 * 3_600_000 + DAY_MS - 1), "outbox_2026_01_06");
    }
}
