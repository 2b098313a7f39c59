//! The lab's settings: the limits the command line checks, the constants every stage measures
//! with, and the checked options a run starts from.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::sim::error::SimError;
use crate::sim::storage::sqlite::sql as db;

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
pub(super) const ROUNDS: usize = 5;
pub(super) const POLLS: usize = 120;
/// Untimed polls before each measurement: at least this many, for at least this long.
pub(super) const WARM_UP: usize = 200;
pub(super) const WARM_UP_TIME: Duration = Duration::from_millis(100);
pub(super) const INSERTS: u32 = 1_000;
/// Rows per transaction while growing the table.
pub(super) const GROW_CHUNK: i64 = 50_000;
pub(super) const DAY_MS: i64 = 86_400_000;
/// The main table's rows are spread over eight days, and sent rows are kept for one.
pub(super) const SPAN_DAYS: i64 = 8;
pub(super) const KEEP_DAYS: i64 = 1;
/// A relay publishes a row this long after the service wrote it.
pub(super) const SENT_AFTER_MS: i64 = 500;
/// Writes with and without the cleaner alternate in windows this long, this many of each.
pub(super) const WINDOW: Duration = Duration::from_millis(200);
pub(super) const WINDOW_PAIRS: usize = 8;
/// One poll every this many writes while the windows run.
pub(super) const POLL_EVERY: u32 = 50;

pub(super) const PLAIN_INDEX: &str = "outbox_sent_at";
pub(super) const PARTIAL_INDEX: &str = "outbox_unsent";

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

/// Rows the run writes while growing and timing its tables: the progress bar's length.
pub fn rows_to_write(options: &CleanupOptions) -> u64 {
    2 * u64::from(options.rows) + u64::from(BACKLOG + INSERTS)
}
