//! The measuring instruments: the lab's timeline of rows, growing a table, the service's write,
//! and the timed polls and writes every stage's figures come from.

use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use rand::RngExt;

use super::options::{
    GROW_CHUNK, INSERTS, POLLS, ROUNDS, SENT_AFTER_MS, STUCK, WARM_UP, WARM_UP_TIME,
};
use super::report::{IndexRun, Vacuum};
use super::seam::{LabDb, NewRow, Server};
use crate::sim::error::SimError;
use crate::sim::model::{Envelope, Order, Pipeline};
use crate::sim::progress::Progress;
use crate::sim::stats::{Spread, round3};

pub(super) fn ms(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1e6
}

pub(super) fn us(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1e3
}

/// When each row was written: `rows` rows spread evenly over `span` ms from `start`, the row
/// with id `first` at `start` itself.
#[derive(Clone, Copy, Debug)]
pub(super) struct Timeline {
    pub(super) start: i64,
    pub(super) first: i64,
    pub(super) span: i64,
    pub(super) rows: i64,
}

impl Timeline {
    pub(super) fn at(&self, id: i64) -> i64 {
        self.start + (id - self.first) * self.span / self.rows
    }
}

/// `STUCK` distinct ids from `1..=within`, ascending, from the run's seeded generator.
pub(super) fn pick_stuck(rng: &mut rand::rngs::ChaCha8Rng, within: i64) -> Vec<i64> {
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
pub(super) fn grow(
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
pub(super) struct Service<'c> {
    pub(super) db: &'c mut dyn LabDb,
    pub(super) seed: u64,
    pub(super) timeline: Timeline,
    pub(super) next_id: i64,
}

impl Service<'_> {
    /// The service's write: the order row and its outbox row in one transaction. Returns how
    /// long the transaction took.
    pub(super) fn write(&mut self) -> Result<Duration, SimError> {
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
pub(super) fn poll_ids(db: &mut dyn LabDb) -> Result<Vec<i64>, SimError> {
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
pub(super) fn measure_polls(db: &mut dyn LabDb) -> Result<(Spread, Vec<i64>, bool), SimError> {
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
pub(super) fn measure_round_trip(server: &mut dyn Server) -> Result<Spread, SimError> {
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
pub(super) struct Measured {
    pub(super) poll_us: Spread,
    pub(super) insert_us: Spread,
    /// Writes per second of write time.
    pub(super) inserts_per_s: f64,
    /// The rows the poll found, and whether every poll found the same.
    pub(super) polled: Vec<i64>,
    pub(super) steady: bool,
}

/// The poll and the service's write, taking turns in `ROUNDS` rounds, through whatever index
/// the table has.
pub(super) fn measure_both(
    service: &mut Service<'_>,
    progress: &dyn Progress,
) -> Result<Measured, SimError> {
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
pub(super) fn measure_index(
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
        poll_reads: service.db.poll_reads(Some(index_name))?,
        poll_us: m.poll_us,
        insert_us: m.insert_us,
        inserts_per_s: m.inserts_per_s,
    };
    Ok((run, m.polled, m.steady))
}

/// PostgreSQL's deferred half of the deletes: VACUUM, with the poll and the table's size around it.
pub(super) fn measure_vacuum(db: &mut dyn LabDb) -> Result<Option<Vacuum>, SimError> {
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
