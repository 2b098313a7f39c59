//! The cleaner: deletes old sent rows in short batches on its own connection, alone or beside the
//! service's writes, and the windows that compare the service's writes with and without it.

use std::path::Path;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, params};

use super::{POLL_BATCH, Service, lab_connection, mark_sent_from, us};
use crate::sim::SimError;
use crate::sim::db;
use crate::sim::world::SqlContext;

/// Deletes sent rows older than a cut-off, a window of `batch` ids at a time, each window in its
/// own short write transaction so that a waiting write waits for one batch at most.
pub(super) struct Cleaner {
    conn: Connection,
    cutoff: i64,
    batch: u32,
    /// Every row up to here has been cleaned.
    pub(super) cursor: i64,
    done: bool,
    /// Time spent folding the WAL back into the database, outside the write lock.
    pub(super) checkpoint: Duration,
}

/// One batch: rows deleted, and how long the write lock was held.
pub(super) struct Batch {
    pub(super) rows: u64,
    pub(super) held: Duration,
}

impl Cleaner {
    pub(super) fn open(
        path: &Path,
        page_size: u32,
        cutoff: i64,
        batch: u32,
    ) -> Result<Self, SimError> {
        let conn = lab_connection(path, page_size)?;
        // The cleaner checkpoints the WAL it writes itself, after each batch and outside the
        // write lock, instead of leaving that to whichever commit crosses the threshold.
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .sql("configuring the cleaner")?;
        // Start at the oldest row: nothing is below it.
        let oldest: Option<i64> = conn
            .query_row("SELECT min(id) FROM outbox", [], |r| r.get(0))
            .sql("finding the oldest row")?;
        Ok(Cleaner {
            conn,
            cutoff,
            batch,
            cursor: oldest.map_or(0, |id| id - 1),
            done: oldest.is_none(),
            checkpoint: Duration::ZERO,
        })
    }

    /// Cleans the next window; `None` once every window up to the cut-off is clean.
    pub(super) fn step(&mut self) -> Result<Option<Batch>, SimError> {
        if self.done {
            return Ok(None);
        }
        let last = self.cursor + i64::from(self.batch);
        db::begin(&self.conn).sql("the cleaner's BEGIN")?;
        let started = Instant::now();
        // `sent_at < cutoff` is never true of an unsent row: NULL compares as unknown.
        let deleted = self
            .conn
            .prepare_cached("DELETE FROM outbox WHERE id > ?1 AND id <= ?2 AND sent_at < ?3")
            .and_then(|mut s| s.execute(params![self.cursor, last, self.cutoff]))
            .sql("deleting a batch");
        let rows = match deleted {
            Ok(rows) => rows,
            Err(err) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                return Err(err);
            }
        };
        db::commit(&self.conn).sql("the cleaner's COMMIT")?;
        let held = started.elapsed();
        // The next window starts at the first row past this one (skipping any gap in the ids).
        // Ids are commit order: once that row was written after the cut-off, so was every later one.
        let next: Option<(i64, i64)> = self
            .conn
            .prepare_cached("SELECT id, created_at FROM outbox WHERE id > ?1 ORDER BY id LIMIT 1")
            .and_then(|mut s| {
                s.query_row([last], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .sql("finding the next window to clean")?;
        match next {
            Some((id, created_at)) if created_at < self.cutoff => self.cursor = id - 1,
            _ => {
                self.cursor = last;
                self.done = true;
            }
        }
        let started = Instant::now();
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .sql("checkpointing after a batch")?;
        self.checkpoint += started.elapsed();
        Ok(Some(Batch {
            rows: rows as u64,
            held,
        }))
    }
}

pub(super) const PAUSED: u8 = 0;
pub(super) const RUNNING: u8 = 1;
pub(super) const STOP: u8 = 2;

/// What the cleaner did while it ran beside the service.
pub(super) struct PacedRun {
    pub(super) cleaner: Cleaner,
    pub(super) rows: u64,
    pub(super) held_ms: Vec<f64>,
    pub(super) ran_out: bool,
}

/// Runs the cleaner whenever `state` says so, never faster than `pace` (an `f64`'s bits) rows a
/// second, and hands it back when told to stop.
pub(super) fn run_paced(
    mut cleaner: Cleaner,
    state: &AtomicU8,
    pace: &AtomicU64,
) -> Result<PacedRun, SimError> {
    let (mut rows, mut held_ms, mut ran_out) = (0, Vec::new(), false);
    loop {
        match state.load(Ordering::Acquire) {
            STOP => break,
            PAUSED => {
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
            _ => {}
        }
        let started = Instant::now();
        let Some(batch) = cleaner.step()? else {
            ran_out = true;
            break;
        };
        rows += batch.rows;
        held_ms.push(batch.held.as_nanos() as f64 / 1e6);
        let rate = f64::from_bits(pace.load(Ordering::Acquire)).max(1.0);
        let next = started + Duration::from_secs_f64(batch.rows.max(1) as f64 / rate);
        while state.load(Ordering::Acquire) == RUNNING {
            let now = Instant::now();
            if now >= next {
                break;
            }
            std::thread::sleep((next - now).min(Duration::from_millis(2)));
        }
    }
    Ok(PacedRun {
        cleaner,
        rows,
        held_ms,
        ran_out,
    })
}

/// One window of the service's writes, with a poll every `poll_every` writes.
pub(super) struct Window {
    /// Writes per second of write time.
    pub(super) rate: f64,
    pub(super) written: u64,
    /// Every poll found the rows expected.
    pub(super) steady: bool,
}

/// Writes as the service does for `length`, polling every `poll_every` writes, timing both into
/// `writes` and `polls`; the relay then marks the window's rows sent.
pub(super) fn write_window(
    service: &mut Service<'_>,
    length: Duration,
    poll_every: u32,
    expected: &[i64],
    writes: &mut Vec<f64>,
    polls: &mut Vec<f64>,
) -> Result<Window, SimError> {
    let first = service.next_id;
    let (mut busy, mut n, mut steady) = (Duration::ZERO, 0u32, true);
    let started = Instant::now();
    while started.elapsed() < length {
        let took = service.write()?;
        busy += took;
        writes.push(us(took));
        n += 1;
        if n.is_multiple_of(poll_every) {
            let polled = Instant::now();
            let rows = db::select_unsent(service.conn, POLL_BATCH).sql("polling")?;
            polls.push(us(polled.elapsed()));
            steady &= rows.len() == expected.len()
                && rows.iter().zip(expected).all(|(r, id)| r.id == *id);
        }
    }
    mark_sent_from(service.conn, &service.table, first)?;
    Ok(Window {
        rate: f64::from(n) / busy.as_secs_f64(),
        written: u64::from(n),
        steady,
    })
}
