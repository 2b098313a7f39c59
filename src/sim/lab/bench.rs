//! Speed measurements of the lab, each against the target it must meet. The statements measured
//! are the lab's own (`db`), not tuned copies, so the figures describe what the lab runs.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::sim::broker::Broker;
use crate::sim::crash::SimOptions;
use crate::sim::error::SimError;
use crate::sim::error::SqlContext;
use crate::sim::model::{Envelope, Order, Pipeline};
use crate::sim::progress::NoProgress;
use crate::sim::storage::sqlite::sql::{self as db, Durability};
use crate::sim::storage::{Backend, Db, Storage};

/// One figure and the target it is held to.
#[derive(Clone, Debug, Serialize)]
pub struct Measurement {
    pub name: &'static str,
    pub description: String,
    pub value: f64,
    pub unit: &'static str,
    /// The target, in the same unit.
    pub target: f64,
    /// Whether smaller values are better (a time) or larger (a rate).
    pub lower_is_better: bool,
    pub meets: bool,
}

impl Measurement {
    pub fn new(
        name: &'static str,
        description: String,
        value: f64,
        unit: &'static str,
        target: f64,
        lower: bool,
    ) -> Self {
        let meets = if lower {
            value <= target
        } else {
            value >= target
        };
        Measurement {
            name,
            description,
            value,
            unit,
            target,
            lower_is_better: lower,
            meets,
        }
    }
}

/// How big the measured workloads are.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    pub lab_orders: u32,
    pub big_lab_orders: u32,
    pub full_sync_orders: u32,
    pub throughput_orders: u32,
    pub backlog_rows: u32,
    /// Sizes for the SQLite-against-PostgreSQL comparison (`bench --db`).
    pub compare_orders: u32,
    pub compare_rows: u32,
}

impl Sizes {
    /// The sizes the targets are stated for.
    pub const FULL: Sizes = Sizes {
        lab_orders: 1000,
        big_lab_orders: 10_000,
        full_sync_orders: 2000,
        throughput_orders: 50_000,
        backlog_rows: 100_000,
        compare_orders: 10_000,
        compare_rows: 50_000,
    };
    /// A quick look, for smoke tests.
    pub const QUICK: Sizes = Sizes {
        lab_orders: 1000,
        big_lab_orders: 2000,
        full_sync_orders: 200,
        throughput_orders: 5000,
        backlog_rows: 10_000,
        compare_orders: 1000,
        compare_rows: 5000,
    };
}

/// Runs every measurement; `step` is told the name of each before it starts.
pub fn run(
    sizes: Sizes,
    dir: &Path,
    db: Option<&str>,
    step: &dyn Fn(&str),
) -> Result<Vec<Measurement>, SimError> {
    let mut out = Vec::new();

    step("default lab run");
    let lab = |orders: u32| -> Result<Duration, SimError> {
        let mut options = SimOptions::new(1);
        options.orders = orders;
        let started = Instant::now();
        crate::sim::crash::run(&options, None, &NoProgress)?;
        Ok(started.elapsed())
    };
    let default = median(
        (0..3)
            .map(|_| lab(sizes.lab_orders))
            .collect::<Result<_, _>>()?,
    );
    out.push(Measurement::new(
        "lab_default_run",
        format!(
            "simulate --crash, {} orders, naive and outbox",
            sizes.lab_orders
        ),
        default.as_secs_f64() * 1e3,
        "ms",
        1000.0 * f64::from(sizes.lab_orders) / 1000.0,
        true,
    ));

    step("large lab run");
    let big = lab(sizes.big_lab_orders)?;
    out.push(Measurement::new(
        "lab_large_run",
        format!("simulate --crash, {} orders", sizes.big_lab_orders),
        big.as_secs_f64() * 1e3,
        "ms",
        5000.0 * f64::from(sizes.big_lab_orders) / 10_000.0,
        true,
    ));

    step("write path, synchronous=FULL");
    let (naive, outbox) = write_path_full(dir, sizes.full_sync_orders)?;
    out.push(Measurement::new(
        "write_naive_full_us",
        "naive write per order, median: INSERT, COMMIT (fsync), publish".to_string(),
        naive,
        "µs/order",
        f64::INFINITY,
        true,
    ));
    out.push(Measurement::new(
        "write_outbox_full_us",
        "outbox write per order, median: INSERT order + outbox row, COMMIT (fsync)".to_string(),
        outbox,
        "µs/order",
        f64::INFINITY,
        true,
    ));
    out.push(Measurement::new(
        "outbox_cost_ratio_full",
        "outbox ÷ naive median write cost, synchronous=FULL, interleaved in one run".to_string(),
        outbox / naive,
        "×",
        1.15,
        true,
    ));

    step("disk: fsync after one frame and after six");
    out.push(Measurement::new(
        "disk_fsync_ratio",
        "this disk: write 6 WAL-sized frames + fsync ÷ 1 frame + fsync (what the ratio above rests on)"
            .to_string(),
        fsync_probe(dir, 400)?,
        "×",
        f64::INFINITY,
        true,
    ));

    step("outbox write throughput, WAL + NORMAL");
    let sqlite = Backend::sqlite(dir, "bench-outbox-normal", Durability::Normal);
    let rate = median_of_3(|| outbox_throughput(&sqlite, sizes.throughput_orders))?;
    out.push(Measurement::new(
        "outbox_orders_per_s_normal",
        format!(
            "{} outbox writes, one order per transaction, WAL + synchronous=NORMAL (median of 3)",
            sizes.throughput_orders
        ),
        rate,
        "orders/s",
        30_000.0,
        false,
    ));

    step("backlog drain");
    let sqlite = Backend::sqlite(dir, "bench-backlog", Durability::Normal);
    let rate = median_of_3(|| drain(&sqlite, sizes.backlog_rows))?;
    out.push(Measurement::new(
        "backlog_drain_events_per_s",
        format!(
            "{} outbox rows: claim, publish, inbox dedupe + charge, mark sent (median of 3)",
            sizes.backlog_rows
        ),
        rate,
        "events/s",
        250_000.0,
        false,
    ));
    if let Some(url) = db {
        out.extend(compare(sizes, dir, url, step)?);
    }
    Ok(out)
}

/// The same two measurements on SQLite and on a PostgreSQL server, at the same sizes, in the same
/// run: what moving the outbox to a server costs the write path and the relay.
fn compare(
    sizes: Sizes,
    dir: &Path,
    url: &str,
    step: &dyn Fn(&str),
) -> Result<Vec<Measurement>, SimError> {
    let run = format!("bench{}", std::process::id());
    let sqlite = Backend::sqlite(dir, "bench-compare", Durability::Normal);
    let postgres = Backend::postgres(url, &run, "compare", false)?;
    let (writes, rows) = (sizes.compare_orders, sizes.compare_rows);
    let mut out = Vec::new();
    let rate = |name, description: String, value, unit| {
        // No target: these figures compare two databases, they do not pass or fail.
        Measurement::new(name, description, value, unit, f64::NEG_INFINITY, false)
    };
    for (name, backend) in [("sqlite", &sqlite), ("postgres", &postgres)] {
        step(&format!("{name}: outbox writes"));
        out.push(rate(
            if name == "sqlite" {
                "compare_outbox_writes_sqlite"
            } else {
                "compare_outbox_writes_postgres"
            },
            format!("{name}: {writes} outbox writes, one order per transaction (median of 3)"),
            median_of_3(|| outbox_throughput(backend, writes))?,
            "orders/s",
        ));
    }
    for (name, backend) in [("sqlite", &sqlite), ("postgres", &postgres)] {
        step(&format!("{name}: backlog drain"));
        out.push(rate(
            if name == "sqlite" {
                "compare_drain_sqlite"
            } else {
                "compare_drain_postgres"
            },
            format!(
                "{name}: {rows}-row backlog, claim, publish, inbox + charge, mark (median of 3)"
            ),
            median_of_3(|| drain(backend, rows))?,
            "events/s",
        ));
    }
    Ok(out)
}

/// The median of three runs of a rate measurement: one slow or lucky run does not decide.
fn median_of_3(mut measure: impl FnMut() -> Result<f64, SimError>) -> Result<f64, SimError> {
    let mut runs = [measure()?, measure()?, measure()?];
    runs.sort_by(f64::total_cmp);
    Ok(runs[1])
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort_unstable();
    runs[runs.len() / 2]
}

fn fresh(
    dir: &Path,
    name: &str,
    durability: Durability,
    outbox: bool,
) -> Result<rusqlite::Connection, SimError> {
    let path = dir.join(name);
    crate::sim::storage::sqlite::files::remove_db(&path)?;
    let conn = db::open(&path, durability).sql("opening a bench database")?;
    db::create_service_schema(&conn, outbox).sql("creating the bench schema")?;
    Ok(conn)
}

fn naive_write(conn: &rusqlite::Connection, broker: &Broker, n: u32) -> Result<(), SimError> {
    let order = Order::generate(7, n);
    let event = Envelope::order_placed(7, Pipeline::Naive, &order, 0);
    db::begin(conn).sql("BEGIN")?;
    db::insert_order(conn, &order, 0).sql("inserting an order")?;
    db::commit(conn).sql("COMMIT")?;
    broker.publish(event);
    Ok(())
}

fn outbox_write(conn: &rusqlite::Connection, n: u32) -> Result<(), SimError> {
    let order = Order::generate(7, n);
    let event = Envelope::order_placed(7, Pipeline::Outbox, &order, 0);
    db::begin(conn).sql("BEGIN")?;
    db::insert_order(conn, &order, 0).sql("inserting an order")?;
    db::insert_outbox(conn, &event, 0).sql("inserting an outbox row")?;
    db::commit(conn).sql("COMMIT")
}

/// Per-order cost of each write path with an fsync at every commit. The two paths alternate order
/// by order (which goes first alternates too), so both see the same disk at the same moments, and
/// each is summarised by its median: a few stalled fsyncs on a shared disk do not decide.
fn write_path_full(dir: &Path, orders: u32) -> Result<(f64, f64), SimError> {
    let naive = fresh(dir, "bench-naive-full.db", Durability::Full, false)?;
    let outbox = fresh(dir, "bench-outbox-full.db", Durability::Full, true)?;
    // A service that has been running reuses a WAL file that has already grown; a fresh one
    // allocates blocks on every commit, which is start-up cost, not the write path's.
    let wal_bytes = 6 * (u64::from(db::PAGE_SIZE) + 24) * u64::from(orders) * 2;
    warm_wal(&naive, wal_bytes)?;
    warm_wal(&outbox, wal_bytes)?;
    let broker = Broker::new();
    let mut naive_us = Vec::with_capacity(orders as usize);
    let mut outbox_us = Vec::with_capacity(orders as usize);
    let time = |write: &mut dyn FnMut() -> Result<(), SimError>| -> Result<f64, SimError> {
        let started = Instant::now();
        write()?;
        Ok(started.elapsed().as_secs_f64() * 1e6)
    };
    for n in 1..=orders {
        let mut write_naive = || naive_write(&naive, &broker, n);
        let mut write_outbox = || outbox_write(&outbox, n);
        if n % 2 == 0 {
            naive_us.push(time(&mut write_naive)?);
            outbox_us.push(time(&mut write_outbox)?);
        } else {
            outbox_us.push(time(&mut write_outbox)?);
            naive_us.push(time(&mut write_naive)?);
        }
    }
    Ok((median_f64(naive_us), median_f64(outbox_us)))
}

/// Grows the connection's WAL file to at least `bytes` and checkpoints it, so later commits
/// overwrite the WAL in place, as they do in a service that has been running for a while.
fn warm_wal(conn: &rusqlite::Connection, bytes: u64) -> Result<(), SimError> {
    let rows = bytes / 512 + 1;
    conn.execute_batch("CREATE TABLE warmup (filler BLOB); BEGIN IMMEDIATE;")
        .sql("creating the warm-up table")?;
    conn.prepare_cached(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
         INSERT INTO warmup (filler) SELECT zeroblob(400) FROM n",
    )
    .and_then(|mut stmt| stmt.execute([rows as i64]))
    .sql("growing the WAL")?;
    conn.execute_batch(
        "COMMIT; PRAGMA wal_checkpoint(PASSIVE); DROP TABLE warmup; PRAGMA wal_checkpoint(PASSIVE);",
    )
    .sql("checkpointing the warm-up")
}

/// How this disk prices an fsync by what it flushes: rewriting six page-sized frames then fsync,
/// against one frame then fsync, alternating, medians. The outbox commit writes about six WAL
/// frames (order, outbox row, two index entries, the AUTOINCREMENT counter) and the naive one
/// writes one, so where fsync is a fixed cost this is near 1 and so is the outbox's overhead.
fn fsync_probe(dir: &Path, rounds: usize) -> Result<f64, SimError> {
    use std::os::unix::fs::FileExt;
    let io = |cause| SimError::Dir {
        path: dir.to_path_buf(),
        cause,
    };
    let frame = vec![0x5au8; db::PAGE_SIZE as usize + 24];
    let path = dir.join("bench-fsync-probe");
    let file = std::fs::File::create(&path).map_err(io)?;
    file.write_all_at(&frame.repeat(6), 0).map_err(io)?;
    file.sync_all().map_err(io)?;
    let (mut one, mut six) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        for frames in if round % 2 == 0 { [1, 6] } else { [6, 1] } {
            let started = Instant::now();
            for f in 0..frames {
                file.write_all_at(&frame, (f * frame.len()) as u64)
                    .map_err(io)?;
            }
            file.sync_all().map_err(io)?;
            let us = started.elapsed().as_secs_f64() * 1e6;
            if frames == 1 {
                one.push(us)
            } else {
                six.push(us)
            }
        }
    }
    drop(file);
    let _ = std::fs::remove_file(&path);
    Ok(median_f64(six) / median_f64(one))
}

/// The median, the upper one of an even count; 0 for none.
fn median_f64(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// Outbox writes per second, one order and its outbox row per transaction, through the lab's
/// storage layer.
fn outbox_throughput(backend: &Backend, orders: u32) -> Result<f64, SimError> {
    backend.create(true)?;
    let mut conn = backend.connect(Db::Service)?;
    let started = Instant::now();
    for n in 1..=orders {
        let order = Order::generate(7, n);
        conn.begin()?;
        conn.insert_order(&order, 0)?;
        conn.insert_outbox(&Envelope::order_placed(7, Pipeline::Outbox, &order, 0), 0)?;
        conn.commit()?;
    }
    Ok(f64::from(orders) / started.elapsed().as_secs_f64())
}

/// Fills the outbox with a backlog, then drains it end to end with the relay's and consumer's
/// own statements, the relay and the consumer each on its own thread and connection as they
/// would run in production (they share nothing but the broker); returns events per second.
fn drain(backend: &Backend, rows: u32) -> Result<f64, SimError> {
    backend.create(true)?;
    let mut conn = backend.connect(Db::Service)?;
    conn.begin()?;
    for n in 1..=rows {
        let order = Order::generate(9, n);
        conn.insert_outbox(&Envelope::order_placed(9, Pipeline::Outbox, &order, 0), 0)?;
    }
    conn.commit()?;
    let mut billing = backend.connect(Db::Billing)?;
    let broker = Broker::new();
    let batch = 1000;

    let started = Instant::now();
    let relay_failed = std::sync::atomic::AtomicBool::new(false);
    let (relay, applied) = std::thread::scope(|scope| {
        let (broker, relay_failed) = (&broker, &relay_failed);
        // A connection belongs to one thread: the relay takes it and hands it back when done.
        let relay = scope.spawn(move || {
            let result = relay_drain(conn.as_mut(), broker, batch);
            if result.is_err() {
                relay_failed.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            result.map(|()| conn)
        });
        let mut applied = 0u64;
        let consumed = (|| -> Result<(), SimError> {
            while applied < u64::from(rows)
                && !relay_failed.load(std::sync::atomic::Ordering::Relaxed)
            {
                let deliveries = broker.fetch_wait(batch as usize, Duration::from_millis(50));
                let Some(last) = deliveries.last() else {
                    continue;
                };
                billing.begin()?;
                for d in &deliveries {
                    if billing.inbox_record(&d.event.event_id, 1)? {
                        crate::sim::crash::consumer::charge(billing.as_mut(), &d.event, 1)?;
                        applied += 1;
                    }
                }
                billing.commit()?;
                broker.ack(last.offset + 1);
            }
            Ok(())
        })();
        let relay = relay
            .join()
            .map_err(|_| SimError::Internal("the relay thread panicked"));
        let conn = relay.and_then(|r| r);
        (conn.and_then(|conn| consumed.map(|()| conn)), applied)
    });
    let mut conn = relay?;
    let elapsed = started.elapsed().as_secs_f64();
    if applied != u64::from(rows) || conn.unsent_count()? != 0 {
        return Err(SimError::Internal(
            "the backlog drain did not apply every event exactly once",
        ));
    }
    Ok(f64::from(rows) / elapsed)
}

/// The relay's side of the drain: claim a batch, publish it, mark it sent, until nothing is left.
fn relay_drain(conn: &mut dyn Storage, broker: &Broker, batch: u32) -> Result<(), SimError> {
    for pass in 0.. {
        let token = format!("bench.0.{pass}");
        let claimed = conn.claim_batch(&token, 1_000_000, batch)?.rows;
        if claimed.is_empty() {
            break;
        }
        let ids: Vec<i64> = claimed.iter().map(|r| r.id).collect();
        broker.publish_all(claimed.into_iter().map(|row| row.event));
        conn.mark_claimed_sent(&token, &ids, 2)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_upper_one_as_before() {
        for n in 1..=9 {
            let values: Vec<f64> = (0..n).map(f64::from).rev().collect();
            assert_eq!(median_f64(values), f64::from(n / 2), "{n} values");
        }
    }
}
