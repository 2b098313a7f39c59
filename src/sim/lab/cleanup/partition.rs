//! Daily partitions: one outbox table per day behind one `outbox` (a view over day tables on
//! SQLite, a declaratively partitioned table on PostgreSQL), so the relay's poll and the service's
//! insert run unchanged. Reaping a day is a drop, not a delete; its unsent rows move to today's
//! table first.

use std::time::Instant;

use super::day::Day;
use super::measure::{Service, Timeline, grow, measure_both, measure_polls, ms, pick_stuck};
use super::options::{BACKLOG, CleanupOptions, DAY_MS, INSERTS, STUCK};
use super::place::Place;
use super::report::{Partition, PartitionChecks};
use super::seam::LabDb;
use crate::sim::error::SimError;
use crate::sim::progress::Progress;
use crate::sim::stats::round3;

/// Yesterday's partition holds `rows` rows, a few of them stuck unsent; today's holds the backlog.
pub(super) fn run(
    place: &Place,
    options: &CleanupOptions,
    rng: &mut rand::rngs::ChaCha8Rng,
    progress: &dyn Progress,
) -> Result<(Partition, PartitionChecks), SimError> {
    let (seed, rows) = (options.seed, options.rows);
    // The lab's clock starts at 09:00 on its first day; yesterday is the next whole day.
    let yesterday = Timeline {
        start: 15 * 3_600_000,
        first: 1,
        span: DAY_MS,
        rows: i64::from(rows),
    };
    let today = Timeline {
        start: yesterday.start + DAY_MS,
        first: i64::from(rows),
        span: 1000,
        rows: 1,
    };
    let (old, new) = (Day::starting(yesterday.start), Day::starting(today.start));
    let mut days = place.day_tables(&old, &new)?;
    let stuck = pick_stuck(rng, i64::from(rows));
    let rows = i64::from(rows);
    grow(
        &mut *days,
        &old.table,
        1..=rows,
        seed,
        &yesterday,
        &|id| stuck.binary_search(&id).is_ok(),
        progress,
    )?;
    let backlog = i64::from(BACKLOG);
    grow(
        &mut *days,
        &new.table,
        rows + 1..=rows + backlog,
        seed,
        &today,
        &|_| true,
        progress,
    )?;
    days.settle()?;

    let plan = days.poll_plan()?;
    let mut service = Service {
        db: &mut *days,
        seed,
        timeline: today,
        next_id: rows + backlog + 1,
    };
    let measured = measure_both(&mut service, progress)?;

    let count_in = |days: &mut dyn LabDb, table: &str, filter: &str| {
        days.count(&format!("SELECT count(*) FROM {table} {filter}"))
    };
    let old_rows = count_in(&mut *days, &old.table, "")?;
    let new_rows = count_in(&mut *days, &new.table, "")?;
    let unsent_before = count_in(&mut *days, "outbox", "WHERE sent_at IS NULL")?;

    // Dropping the day as it stands would lose its unsent rows: they move to today's table first.
    let started = Instant::now();
    days.carry_over(&old, &new)?;
    let move_ms = ms(started.elapsed());
    let moved = count_in(&mut *days, &new.table, "")? - new_rows;

    let started = Instant::now();
    days.drop_day(&old, &new)?;
    let drop_ms = ms(started.elapsed());

    let gone = !days.table_exists(&old.table)?;
    let left = count_in(&mut *days, "outbox", "")?;
    let unsent_after = count_in(&mut *days, "outbox", "WHERE sent_at IS NULL")?;
    let (poll_us_after_drop, polled_after, steady_after) = measure_polls(&mut *days)?;
    let checks = PartitionChecks {
        exact: gone
            && moved == u64::from(STUCK)
            && unsent_after == unsent_before
            && measured.steady
            && steady_after
            && measured.polled == polled_after,
        adds_up: old_rows == rows as u64
            && new_rows == u64::from(BACKLOG + INSERTS)
            && left == new_rows + moved,
    };
    Ok((
        Partition {
            table: old.table,
            today: new.table,
            rows: old_rows,
            plan,
            poll_us: measured.poll_us,
            insert_us: measured.insert_us,
            inserts_per_s: measured.inserts_per_s,
            unsent_moved: moved,
            move_ms: round3(move_ms),
            drop_ms: round3(drop_ms),
            delete_same_rows_ms: 0.0,
            vacuum_same_rows_ms: None,
            poll_us_after_drop,
        },
        checks,
    ))
}
