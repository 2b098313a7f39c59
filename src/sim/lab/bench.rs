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
use crate::sim::storage::{Backend, Db, Location, Storage};

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
    /// The same as `meets`, under the name the speed targets are reported by.
    pub met: bool,
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
            met: meets,
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
    /// Claims timed for each form of the claim statement.
    pub claims: u32,
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
        claims: 2000,
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
        claims: 300,
    };
}

/// Runs every measurement; `step` is told the name of each before it starts. With `baseline`,
/// the write path and the drain are measured beside a minimal loop running the same statements.
pub fn run(
    sizes: Sizes,
    dir: &Path,
    db: Option<&str>,
    baseline: bool,
    step: &dyn Fn(&str),
) -> Result<Vec<Measurement>, SimError> {
    let mut out = Vec::new();

    step("claim: batch size in the text, against a bound LIMIT");
    out.extend(claim_cost(dir, sizes.claims)?);

    step("real-time modes against the deterministic run");
    out.extend(real_time(sizes.lab_orders)?);

    if baseline {
        step("outbox writes beside a minimal loop");
        out.extend(writes_against_baseline(dir, sizes.throughput_orders)?);
        step("backlog drain beside a minimal loop");
        out.extend(drain_against_baseline(dir, sizes.backlog_rows)?);
    }

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
pub(super) fn drain(backend: &Backend, rows: u32) -> Result<f64, SimError> {
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
                let events: Vec<&Envelope> = deliveries.iter().map(|d| &*d.event).collect();
                billing.begin()?;
                let done =
                    crate::sim::crash::consumer::record_and_charge(billing.as_mut(), &events, 1)?;
                billing.commit()?;
                applied += done.into_iter().filter(|d| *d).count() as u64;
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

/// The claim as it was written before its batch size moved into the text: the same statement
/// with the `LIMIT` bound, which SQLite compiles again at every call.
const CLAIM_WITH_BOUND_LIMIT: &str =
    "UPDATE outbox SET claimed_by = ?1, lease_until = ?2, claimed_at = ?5
  WHERE id IN (SELECT id FROM outbox
                WHERE sent_at IS NULL AND (lease_until IS NULL OR lease_until <= ?3)
                ORDER BY id LIMIT ?4)
 RETURNING id, event_id, aggregate_id, event_type, version, payload, occurred_at";

/// What one claim of ten rows costs with the batch size in the statement's text (the lab's) and
/// with it bound (as before), alternating claim by claim, medians in µs.
fn claim_cost(dir: &Path, claims: u32) -> Result<Vec<Measurement>, SimError> {
    const BATCH: u32 = 10;
    let conn = fresh(dir, "bench-claim.db", Durability::Off, true)?;
    db::begin(&conn).sql("BEGIN")?;
    for n in 1..=claims * BATCH * 2 {
        let order = Order::generate(3, n);
        db::insert_outbox(
            &conn,
            &Envelope::order_placed(3, Pipeline::Outbox, &order, 0),
            0,
        )
        .sql("filling the outbox")?;
    }
    db::commit(&conn).sql("COMMIT")?;
    let clock = crate::sim::clock::SimClock::default();
    let (mut text, mut bound) = (Vec::new(), Vec::new());
    for n in 0..claims {
        let started = Instant::now();
        let claimed = db::claim_batch(&conn, &clock, "text", 1_000_000, BATCH)
            .sql("claiming with the limit in the text")?;
        text.push(started.elapsed().as_secs_f64() * 1e6);
        let started = Instant::now();
        db::begin(&conn).sql("BEGIN")?;
        let rows = conn
            .prepare_cached(CLAIM_WITH_BOUND_LIMIT)
            .and_then(|mut stmt| {
                stmt.query_map(
                    rusqlite::params!["bound", 1_000_000, 0, BATCH, 0],
                    db::outbox_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map(|rows| rows.len())
            .sql("claiming with the limit bound")?;
        db::commit(&conn).sql("COMMIT")?;
        bound.push(started.elapsed().as_secs_f64() * 1e6);
        if claimed.rows.len() != BATCH as usize || rows != BATCH as usize {
            return Err(SimError::Internal("a timed claim found the outbox empty"));
        }
        // Untimed: the claimed rows leave the unsent index, as a relay's mark takes them out,
        // so every claim walks the same short head of the outbox.
        conn.execute(
            "UPDATE outbox SET sent_at = ?1 WHERE sent_at IS NULL AND claimed_by IS NOT NULL",
            [i64::from(n)],
        )
        .sql("marking the claimed rows sent")?;
    }
    let (text, bound) = (median_f64(text), median_f64(bound));
    Ok(vec![
        Measurement::new(
            "claim_us",
            format!("claim of {BATCH} rows, batch size in the statement's text (median)"),
            text,
            "µs",
            f64::INFINITY,
            true,
        ),
        Measurement::new(
            "claim_bound_limit_us",
            "the same claim with its LIMIT bound, compiled again at each call (median)".to_string(),
            bound,
            "µs",
            f64::INFINITY,
            true,
        ),
        Measurement::new(
            "claim_text_vs_bound_ratio",
            "claim cost, limit in the text ÷ limit bound, alternating in one run".to_string(),
            text / bound,
            "×",
            0.9,
            true,
        ),
    ])
}

/// CPU time this process and its reaped children have used so far, in seconds, from
/// `/proc/self/stat` (user and system, own and children's); none where there is no such file.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name, in parentheses, may hold spaces: the fields start after its last `)`.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime, stime, cutime, cstime: fields 14 to 17, counted in USER_HZ, which Linux fixes at 100.
    let ticks = fields
        .get(11..15)?
        .iter()
        .map(|f| f.parse::<u64>().ok())
        .sum::<Option<u64>>()?;
    Some(ticks as f64 / 100.0)
}

/// One crash-lab run with crashes at `orders`: its wall time and CPU time (this process and the
/// children it ran), in ms.
fn timed_lab(orders: u32, mode: &str) -> Result<(f64, f64), SimError> {
    let mut options = SimOptions::new(1);
    options.orders = orders;
    match mode {
        "threads" => options.threads = true,
        "process" => options.crash_mode = crate::sim::crash::CrashMode::Process,
        _ => {}
    }
    let cpu = cpu_seconds();
    let started = Instant::now();
    let report = crate::sim::crash::run(&options, None, &NoProgress)?;
    let wall = started.elapsed().as_secs_f64() * 1e3;
    let cpu = cpu
        .zip(cpu_seconds())
        .map_or(f64::NAN, |(a, b)| (b - a) * 1e3);
    if !report.verdict.outbox_holds {
        return Err(SimError::Internal(
            "the outbox did not hold while being timed",
        ));
    }
    Ok((wall, cpu))
}

/// The real-time modes (`--threads`, `--crash-mode process`) at `orders` with crashes, against
/// the deterministic run of the same options: wall time as a ratio, CPU time as it is. Each mode
/// runs three times, the three modes interleaved, medians.
fn real_time(orders: u32) -> Result<Vec<Measurement>, SimError> {
    let modes: &[&str] = if cfg!(unix) {
        &["deterministic", "threads", "process"]
    } else {
        &["deterministic", "threads"]
    };
    let mut runs: Vec<(Vec<f64>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); modes.len()];
    for _ in 0..3 {
        for (mode, (wall, cpu)) in modes.iter().zip(runs.iter_mut()) {
            let (w, c) = timed_lab(orders, mode)?;
            wall.push(w);
            cpu.push(c);
        }
    }
    let medians: Vec<(f64, f64)> = runs
        .into_iter()
        .map(|(wall, cpu)| (median_f64(wall), median_f64(cpu)))
        .collect();
    let deterministic = medians[0];
    let mut out = Vec::new();
    for (mode, (wall, cpu)) in modes.iter().zip(&medians).skip(1) {
        let (ratio_name, cpu_name, flag) = match *mode {
            "threads" => ("threads_vs_deterministic", "threads_cpu_ms", "--threads"),
            _ => (
                "process_vs_deterministic",
                "process_cpu_ms",
                "--crash-mode process",
            ),
        };
        out.push(Measurement::new(
            ratio_name,
            format!("simulate --crash {flag}, {orders} orders: wall time ÷ the deterministic run"),
            wall / deterministic.0,
            "×",
            3.0,
            true,
        ));
        out.push(Measurement::new(
            cpu_name,
            format!(
                "the same: CPU time, user + system, children included (deterministic {:.0} ms)",
                deterministic.1
            ),
            *cpu,
            "ms",
            f64::INFINITY,
            true,
        ));
    }
    Ok(out)
}

/// Outbox writes through the lab's storage layer beside the same statements in a minimal loop
/// (one connection, statements prepared once, nothing else), alternating, medians of three.
fn writes_against_baseline(dir: &Path, orders: u32) -> Result<Vec<Measurement>, SimError> {
    let sqlite = Backend::sqlite(dir, "bench-writes-lab", Durability::Normal);
    let (mut lab, mut base) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        base.push(baseline_writes(dir, orders)?);
        lab.push(outbox_throughput(&sqlite, orders)?);
    }
    let (lab, base) = (median_f64(lab), median_f64(base));
    Ok(against_baseline(
        "writes",
        "outbox writes, one order per transaction",
        lab,
        base,
        "orders/s",
        0.9,
    ))
}

/// The backlog drain through the lab's statements and storage layer beside a minimal two-thread
/// pipeline running the same statements, alternating, medians of three.
fn drain_against_baseline(dir: &Path, rows: u32) -> Result<Vec<Measurement>, SimError> {
    let sqlite = Backend::sqlite(dir, "bench-drain-lab", Durability::Normal);
    let (mut lab, mut base) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        base.push(baseline_drain(dir, rows)?);
        lab.push(drain(&sqlite, rows)?);
    }
    let (lab, base) = (median_f64(lab), median_f64(base));
    Ok(against_baseline(
        "drain",
        "backlog drain",
        lab,
        base,
        "events/s",
        0.85,
    ))
}

/// A figure measured through msgwork, the minimal loop's, and their ratio held to `target`.
fn against_baseline(
    what: &'static str,
    description: &str,
    lab: f64,
    base: f64,
    unit: &'static str,
    target: f64,
) -> Vec<Measurement> {
    let (lab_name, base_name, ratio_name) = match what {
        "writes" => (
            "baseline_writes_lab",
            "baseline_writes_minimal",
            "baseline_writes_ratio",
        ),
        _ => (
            "baseline_drain_lab",
            "baseline_drain_minimal",
            "baseline_drain_ratio",
        ),
    };
    vec![
        Measurement::new(
            lab_name,
            format!("{description}: msgwork's path (median of 3)"),
            lab,
            unit,
            f64::NEG_INFINITY,
            false,
        ),
        Measurement::new(
            base_name,
            format!("{description}: the same SQL in a minimal loop (median of 3)"),
            base,
            unit,
            f64::NEG_INFINITY,
            false,
        ),
        Measurement::new(
            ratio_name,
            format!("{description}: msgwork ÷ minimal loop, in one run"),
            lab / base,
            "×",
            target,
            false,
        ),
    ]
}

/// The minimal write loop: the service's two inserts and the commit, statements prepared once.
fn baseline_writes(dir: &Path, orders: u32) -> Result<f64, SimError> {
    let backend = Backend::sqlite(dir, "bench-writes-minimal", Durability::Normal);
    backend.create(true)?;
    let Location::Sqlite { service, .. } = backend.location() else {
        return Err(SimError::Internal("a SQLite backend without its files"));
    };
    let conn = db::open(service, Durability::Normal).sql("opening the minimal loop's database")?;
    let run = || -> rusqlite::Result<f64> {
        let mut begin = conn.prepare("BEGIN IMMEDIATE")?;
        let mut commit = conn.prepare("COMMIT")?;
        let mut order_insert = conn.prepare(db::INSERT_ORDER)?;
        let mut outbox_insert = conn.prepare(db::INSERT_OUTBOX)?;
        let started = Instant::now();
        for n in 1..=orders {
            let order = Order::generate(7, n);
            let e = Envelope::order_placed(7, Pipeline::Outbox, &order, 0);
            begin.execute([])?;
            order_insert.execute(rusqlite::params![
                order.number,
                order.customer_id,
                order.amount_cents,
                0
            ])?;
            outbox_insert.execute(rusqlite::params![
                e.event_id,
                e.aggregate_id,
                e.event_type,
                e.version,
                e.payload,
                e.occurred_at,
                0
            ])?;
            commit.execute([])?;
        }
        Ok(f64::from(orders) / started.elapsed().as_secs_f64())
    };
    run().sql("running the minimal write loop")
}

/// What the consumer reads from a payload.
#[derive(serde::Deserialize)]
struct Billable<'a> {
    #[serde(borrow)]
    order_id: std::borrow::Cow<'a, str>,
    amount_cents: i64,
}

/// The minimal drain: one thread claims, hands each batch over a channel and marks it; another
/// records each event in the inbox and charges it, a transaction per batch. The same statements
/// as the lab's, prepared once, and nothing between them.
fn baseline_drain(dir: &Path, rows: u32) -> Result<f64, SimError> {
    let backend = Backend::sqlite(dir, "bench-drain-minimal", Durability::Normal);
    backend.create(true)?;
    let Location::Sqlite {
        service, billing, ..
    } = backend.location()
    else {
        return Err(SimError::Internal("a SQLite backend without its files"));
    };
    let outbox = db::open(service, Durability::Normal).sql("opening the minimal drain's outbox")?;
    db::begin(&outbox).sql("BEGIN")?;
    for n in 1..=rows {
        let order = Order::generate(9, n);
        db::insert_outbox(
            &outbox,
            &Envelope::order_placed(9, Pipeline::Outbox, &order, 0),
            0,
        )
        .sql("filling the outbox")?;
    }
    db::commit(&outbox).sql("COMMIT")?;
    let inbox = db::open(billing, Durability::Normal).sql("opening the minimal drain's inbox")?;
    const BATCH: u32 = 1000;
    // Unbounded, as the broker is: the relay never waits for the consumer.
    let (send, receive) = std::sync::mpsc::channel::<Vec<Envelope>>();
    let started = Instant::now();
    let (relayed, applied) = std::thread::scope(|scope| {
        let relay = scope.spawn(move || -> rusqlite::Result<()> {
            let claim_sql = db::claim_sql(BATCH);
            let mut begin = outbox.prepare("BEGIN IMMEDIATE")?;
            let mut commit = outbox.prepare("COMMIT")?;
            let mut claim = outbox.prepare(&claim_sql)?;
            let mut mark = outbox.prepare(db::MARK_CLAIMED_SENT)?;
            for pass in 0u64.. {
                let token = format!("base.0.{pass}");
                begin.execute([])?;
                let mut batch: Vec<(i64, Envelope)> = claim
                    .query_map(rusqlite::params![token, 1_000_000, 0, 0], db::outbox_row)?
                    .map(|r| r.map(|r| (r.id, r.event)))
                    .collect::<rusqlite::Result<_>>()?;
                commit.execute([])?;
                if batch.is_empty() {
                    break;
                }
                batch.sort_unstable_by_key(|(id, _)| *id);
                let ids: Vec<i64> = batch.iter().map(|(id, _)| *id).collect();
                if send
                    .send(batch.into_iter().map(|(_, e)| e).collect())
                    .is_err()
                {
                    break;
                }
                mark.execute(rusqlite::params![2, db::id_list(&ids), token])?;
            }
            Ok(())
        });
        let mut applied = 0u64;
        let consumed = (|| -> Result<(), SimError> {
            let run = |events: Vec<Envelope>, applied: &mut u64| -> rusqlite::Result<()> {
                let mut begin = inbox.prepare_cached("BEGIN IMMEDIATE")?;
                let mut commit = inbox.prepare_cached("COMMIT")?;
                let mut record = inbox.prepare_cached(db::INBOX_RECORD)?;
                let mut charge = inbox.prepare_cached(db::INSERT_CHARGE)?;
                begin.execute([])?;
                for e in &events {
                    if record.execute(rusqlite::params![e.event_id, 1])? == 1 {
                        let b: Billable<'_> = serde_json::from_str(&e.payload).map_err(|err| {
                            rusqlite::Error::ToSqlConversionFailure(Box::new(err))
                        })?;
                        charge.execute(rusqlite::params![
                            b.order_id,
                            b.amount_cents,
                            e.event_id,
                            1
                        ])?;
                        *applied += 1;
                    }
                }
                commit.execute([])?;
                Ok(())
            };
            for events in receive.iter() {
                run(events, &mut applied).sql("applying in the minimal drain")?;
            }
            Ok(())
        })();
        let relayed = relay
            .join()
            .map_err(|_| SimError::Internal("the minimal relay thread panicked"))
            .and_then(|r| r.sql("relaying in the minimal drain"));
        (relayed.and(consumed), applied)
    });
    relayed?;
    let elapsed = started.elapsed().as_secs_f64();
    if applied != u64::from(rows) {
        return Err(SimError::Internal(
            "the minimal drain did not apply every event once",
        ));
    }
    Ok(f64::from(rows) / elapsed)
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
