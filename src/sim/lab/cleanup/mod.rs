//! `lab cleanup`: keeping the outbox small without slowing the service. The crash lab's outbox
//! table grows to a million sent rows; at each size the relay's unsent-row poll and the service's
//! write are timed with a plain index on `sent_at` and with the schema's partial index on unsent
//! rows, and the pages one poll reads are counted through each index and through none. Then old sent rows are deleted in short batches, alone and while the service keeps
//! writing, and a day's partition table is dropped whole. Every figure comes from a real
//! database with the crash lab's schema and statements: SQLite files, with the crash lab's
//! connection settings plus memory-mapped reads, or a PostgreSQL server (`--db`), where a day is a
//! partition of a declaratively partitioned table.
//!
//! The experiment is written once, against the traits in `seam`; `sqlite` and `postgres` implement
//! it in their own terms.
//!
//! The table always holds the same unsent rows in two places: a fresh backlog at the tail (the
//! relay a few hundred rows behind) and a few stuck rows deep among the old ones (publishes an
//! outage left behind). The stuck rows sit inside the range the cleanup deletes, so they show
//! that it only ever removes rows that were sent.
//!
//! Arrows point one way: `options`, `day`, `report` and `reads` at the bottom; the `seam` the
//! backends implement; `place` choosing one; `measure` and `cleaner` timing through the seam;
//! `partition` and `run` on top.

mod cleaner;
mod day;
mod measure;
mod options;
mod partition;
mod place;
mod postgres;
mod reads;
mod report;
mod run;
mod seam;
mod sqlite;

pub use day::day_table;
pub use options::{
    BACKLOG, CLEANER_PACE, CleanupOptions, DEFAULT_BATCH, DEFAULT_ROWS, DEFAULT_SIZES, MAX_BATCH,
    MAX_ROWS, MIN_BATCH, MIN_ROWS, MIN_SIZE, MIN_STEP, MMAP_SIZE, POLL_BATCH, STUCK, default_sizes,
    rows_to_write,
};
pub use report::{
    Alongside, Chart, Checks, CleanupReport, Deletes, IndexRun, Machine, PageReads, Partition,
    PollRatio, SCHEMA_VERSION, Series, ServerReport, SizeRun, Targets, Timings, Vacuum,
};
pub use run::run;

#[cfg(test)]
mod tests;
