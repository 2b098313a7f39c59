//! The run: grows the outbox through each size and times the poll and the write, cleans it alone
//! and beside the service, drops a day's partition, and gathers the report and its targets.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::SeedableRng;

use super::cleaner::{Cleaner, PAUSED, PacedRun, RUNNING, STOP, run_paced, write_window};
use super::measure::{
    Service, Timeline, grow, measure_index, measure_round_trip, measure_vacuum, ms, pick_stuck,
    poll_ids,
};
use super::options::{
    BACKLOG, CLEANER_PACE, CleanupOptions, DAY_MS, INSERTS, KEEP_DAYS, MMAP_SIZE, PARTIAL_INDEX,
    PLAIN_INDEX, POLL_BATCH, POLL_EVERY, SPAN_DAYS, STUCK, WINDOW, WINDOW_PAIRS,
};
use super::partition;
use super::place::Place;
use super::report::{
    Alongside, Chart, Checks, CleanupReport, Deletes, IndexRun, Machine, Partition, PollRatio,
    SCHEMA_VERSION, Series, SizeRun, Targets, Timings,
};
use crate::sim::error::SimError;
use crate::sim::lab::bench::Measurement;
use crate::sim::model::timestamp;
use crate::sim::progress::Progress;
use crate::sim::stats::{Spread, round3};

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

/// What the lesson is about, drawn against table size: the index pages one poll reads through
/// each index, the table pages it reads through none, and each index's own size. Where pages
/// could not be counted, the poll's time instead.
fn chart(by_size: &[SizeRun]) -> Chart {
    let line = |name, y: &dyn Fn(&SizeRun) -> Option<f64>| {
        let points: Option<Vec<[f64; 2]>> = by_size
            .iter()
            .map(|s| y(s).map(|y| [f64::from(s.rows), y]))
            .collect();
        points.map(|points| Series { name, points })
    };
    let index_read = |pick: fn(&SizeRun) -> &IndexRun| {
        move |s: &SizeRun| pick(s).poll_reads.map(|r| r.index as f64)
    };
    let counted = [
        line(
            "poll through the partial index",
            &index_read(|s| &s.partial),
        ),
        line("poll through the plain index", &index_read(|s| &s.plain)),
        line("poll with no index (table pages)", &|s| {
            s.no_index_reads.map(|r| r.table as f64)
        }),
        line("the plain index, whole", &|s| {
            Some(s.plain.index_pages as f64)
        }),
        line("the partial index, whole", &|s| {
            Some(s.partial.index_pages as f64)
        }),
    ];
    if let [
        Some(partial),
        Some(plain),
        Some(none),
        Some(plain_size),
        Some(partial_size),
    ] = counted
    {
        // Lines that fall on each other are drawn once, named for both.
        let reads = if partial.points == plain.points {
            vec![Series {
                name: "poll through either index (the same pages)",
                points: partial.points,
            }]
        } else {
            vec![partial, plain]
        };
        return Chart {
            title: "Index pages one poll reads, against table size",
            x: "rows in the outbox",
            y: "pages",
            series: [reads, vec![none, plain_size, partial_size]].concat(),
        };
    }
    let timed = |name, pick: fn(&SizeRun) -> &IndexRun| Series {
        name,
        points: by_size
            .iter()
            .map(|s| [f64::from(s.rows), pick(s).poll_us.p50])
            .collect(),
    };
    Chart {
        title: "The relay's poll against table size",
        x: "rows in the outbox",
        y: "poll p50 (µs)",
        series: vec![
            timed("partial index on unsent rows", |s| &s.partial),
            timed("plain index on sent_at", |s| &s.plain),
        ],
    }
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
        let no_index_reads = service.db.poll_reads(None)?;
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
            no_index_reads,
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
    let chart = chart(&by_size);
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
