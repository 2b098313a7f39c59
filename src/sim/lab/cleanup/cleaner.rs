//! The cleaner: deletes old sent rows in short batches on its own connection, alone or beside the
//! service's writes, and the windows that compare the service's writes with and without it.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::measure::{Service, us};
use super::seam::Sweep;
use crate::sim::error::SimError;

/// Deletes sent rows older than a cut-off, a window of `batch` ids at a time, each window in its
/// own short write transaction so that a waiting write waits for one batch at most.
pub(super) struct Cleaner {
    sweep: Box<dyn Sweep>,
    cutoff: i64,
    batch: u32,
    /// Every row up to here has been cleaned.
    pub(super) cursor: i64,
    done: bool,
    /// Time spent on housekeeping after the batches, outside their transactions (SQLite folding
    /// its WAL back into the database); `None` where the database has none.
    pub(super) checkpoint: Option<Duration>,
}

/// One batch: rows deleted, and how long its transaction held its locks.
pub(super) struct Batch {
    pub(super) rows: u64,
    pub(super) held: Duration,
}

impl Cleaner {
    pub(super) fn new(
        mut sweep: Box<dyn Sweep>,
        cutoff: i64,
        batch: u32,
    ) -> Result<Self, SimError> {
        // Start at the oldest row: nothing is below it.
        let oldest = sweep.oldest()?;
        Ok(Cleaner {
            sweep,
            cutoff,
            batch,
            cursor: oldest.map_or(0, |id| id - 1),
            done: oldest.is_none(),
            checkpoint: None,
        })
    }

    /// Cleans the next window; `None` once every window up to the cut-off is clean.
    pub(super) fn step(&mut self) -> Result<Option<Batch>, SimError> {
        if self.done {
            return Ok(None);
        }
        let last = self.cursor + i64::from(self.batch);
        let (rows, held) = self.sweep.delete_window(self.cursor, last, self.cutoff)?;
        // The next window starts at the first row past this one (skipping any gap in the ids).
        // The lab writes ids in time order: once that row was written after the cut-off, so was
        // every later one.
        match self.sweep.next_row(last)? {
            Some((id, created_at)) if created_at < self.cutoff => self.cursor = id - 1,
            _ => {
                self.cursor = last;
                self.done = true;
            }
        }
        if let Some(took) = self.sweep.after_batch()? {
            *self.checkpoint.get_or_insert(Duration::ZERO) += took;
        }
        Ok(Some(Batch { rows, held }))
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
    /// How long the window lasted, the relay's catching up included.
    pub(super) took: Duration,
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
            let rows = service.db.poll()?;
            polls.push(us(polled.elapsed()));
            steady &= rows.len() == expected.len()
                && rows.iter().zip(expected).all(|(r, id)| r.id == *id);
        }
    }
    service.db.mark_sent_from(first)?;
    Ok(Window {
        rate: f64::from(n) / busy.as_secs_f64(),
        written: u64::from(n),
        took: started.elapsed(),
        steady,
    })
}
