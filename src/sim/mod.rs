//! The outbox crash lab: a naive dual write and a transactional outbox, run side by side under the
//! same seeded crash schedule, with relay replicas, an in-process broker and a billing consumer.

pub mod bench;
pub mod broker;
pub mod cleanup;
pub mod clock;
pub mod db;
pub mod dlq;
pub mod fanout;
pub mod model;
pub mod observer;
pub mod ordering;
pub mod report;
pub mod retention;
pub mod schedule;

mod consumer;
mod relay;
mod runner;
mod service;
mod world;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;

use broker::Broker;
use clock::{Clock, SimClock, WallClock};
use db::Durability;
use model::Pipeline;
use observer::{Observer, Progress, TraceSink};
use report::{Final, PipelineReport, Report, Timings, Verdict};
use schedule::{CrashPlan, NaiveOrder, Schedule, Trigger};
use world::{Actor, Config, SqlContext, World};

/// How relay replicas avoid publishing the same rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ClaimMode {
    /// Claim a batch with a lease under BEGIN IMMEDIATE: SQLite's SKIP LOCKED.
    #[value(alias = "skip-locked")]
    Lease,
    /// Just select unsent rows: replicas overlap and publish the same rows.
    None,
}

impl ClaimMode {
    pub fn name(self) -> &'static str {
        match self {
            ClaimMode::Lease => "lease",
            ClaimMode::None => "none",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{0}")]
    Invalid(String),
    #[error("the lab's database failed while {doing}: {cause}")]
    Sql {
        doing: &'static str,
        cause: rusqlite::Error,
    },
    #[error("cannot prepare the lab's database directory {}: {cause}", path.display())]
    Dir {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("event {event_id} carries a payload billing cannot read: {err}")]
    Payload {
        event_id: String,
        err: serde_json::Error,
    },
    #[error(
        "the run did not settle after {steps} steps; this is a bug in msgwork, please report it with the seed"
    )]
    Stuck { steps: u64 },
    #[error("internal error: {0}")]
    Internal(&'static str),
}

/// A checked set of options for one experiment.
#[derive(Clone, Debug)]
pub struct SimOptions {
    pub seed: u64,
    pub orders: u32,
    pub relays: u32,
    pub crash: CrashPlan,
    pub claim: ClaimMode,
    /// Run the actors on OS threads with the wall clock instead of the seeded scheduler.
    pub threads: bool,
    pub naive_order: NaiveOrder,
    pub batch: u32,
    pub consumer_batch: u32,
    /// Relay lease; `None` picks a default that suits the mode.
    pub lease_ms: Option<u64>,
    pub durability: Durability,
    /// Keep the lab's SQLite files here instead of a temporary directory.
    pub keep_dir: Option<PathBuf>,
}

/// A seed for a run the user did not seed: small enough to retype when replaying it.
pub fn random_seed() -> u64 {
    u64::from(rand::random::<u32>())
}

/// The default crash rate: random extra crashes per order, on top of the guaranteed ones.
pub const DEFAULT_CRASH_RATE: f64 = 0.005;
pub const MAX_ORDERS: u32 = 5_000_000;
pub const MAX_RELAYS: u32 = 64;

impl SimOptions {
    /// The lab's defaults, with crashes on.
    pub fn new(seed: u64) -> Self {
        SimOptions {
            seed,
            orders: 1000,
            relays: 3,
            crash: CrashPlan::Default {
                rate: DEFAULT_CRASH_RATE,
            },
            claim: ClaimMode::Lease,
            threads: false,
            naive_order: NaiveOrder::Alternate,
            batch: 10,
            consumer_batch: 1,
            lease_ms: None,
            durability: Durability::Off,
            keep_dir: None,
        }
    }

    /// Every problem with the options, in the words of the command line.
    pub fn validate(&self) -> Result<(), SimError> {
        let mut problems = Vec::new();
        if !(1..=MAX_ORDERS).contains(&self.orders) {
            problems.push(format!(
                "--orders must be between 1 and {MAX_ORDERS} (got {})",
                self.orders
            ));
        }
        if !(1..=MAX_RELAYS).contains(&self.relays) {
            problems.push(format!(
                "--relays must be between 1 and {MAX_RELAYS} (got {})",
                self.relays
            ));
        }
        if !(1..=10_000).contains(&self.batch) {
            problems.push(format!(
                "--batch must be between 1 and 10000 (got {})",
                self.batch
            ));
        }
        if self.consumer_batch == 0 {
            problems.push("the consumer batch must be at least 1".to_string());
        }
        if self.lease_ms == Some(0) {
            problems.push("--lease must be at least 1 ms".to_string());
        }
        let rate = match &self.crash {
            CrashPlan::None => 0.0,
            CrashPlan::Default { rate } => *rate,
            CrashPlan::Exact { at, rate } => {
                for crash in at {
                    if let Some(order) = crash.order.filter(|n| *n > self.orders) {
                        problems.push(format!(
                            "--crash-at {}:{order} names an order past --orders {}",
                            crash.point, self.orders
                        ));
                    }
                }
                *rate
            }
        };
        if !(0.0..=1.0).contains(&rate) {
            problems.push(format!("--crash-rate must be between 0 and 1 (got {rate})"));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SimError::Invalid(problems.join("; ")))
        }
    }

    fn config(&self) -> Config {
        // Simulated milliseconds are scheduler ticks; real ones pass slowly, so keep waits short.
        let (lease, poll, restart) = if self.threads {
            (1000, 2, 5)
        } else {
            (1000, 50, 100)
        };
        Config {
            seed: self.seed,
            orders: self.orders,
            naive_order: self.naive_order,
            claim: self.claim,
            batch: self.batch,
            consumer_batch: self.consumer_batch,
            lease_ms: self.lease_ms.unwrap_or(lease),
            poll_ms: poll,
            restart_ms: restart,
            durability: self.durability,
        }
    }

    pub fn crash_rate(&self) -> f64 {
        match &self.crash {
            CrashPlan::None => 0.0,
            CrashPlan::Default { rate } | CrashPlan::Exact { rate, .. } => *rate,
        }
    }
}

/// Runs both pipelines under the same crash schedule and checks what each proves.
pub fn run(
    options: &SimOptions,
    trace: Option<&TraceSink>,
    progress: &dyn Progress,
) -> Result<Report, SimError> {
    options.validate()?;
    let schedule = Schedule::build(
        &options.crash,
        options.orders,
        options.naive_order,
        options.seed,
    );
    let (_temp, dir) = lab_dir(options.keep_dir.as_deref())?;
    let dir = dir.as_path();
    let config = options.config();
    let started = Instant::now();
    let run = |pipeline| run_pipeline(pipeline, options, &config, &schedule, dir, trace, progress);
    let naive = run(Pipeline::Naive)?;
    let naive_ms = started.elapsed();
    let outbox = run(Pipeline::Outbox)?;
    let total = started.elapsed();
    let verdict = Verdict::judge(&naive, &outbox, options.claim);
    let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
    Ok(Report {
        schema_version: report::SCHEMA_VERSION,
        seed: options.seed,
        orders: options.orders,
        relays: options.relays,
        mode: if options.threads {
            "threads"
        } else {
            "deterministic"
        },
        claim: options.claim,
        naive_order: options.naive_order,
        batch: options.batch,
        lease_ms: config.lease_ms,
        crash: !matches!(options.crash, CrashPlan::None),
        crash_rate: options.crash_rate(),
        schedule: schedule.crashes(),
        unplaced_crash_points: schedule.unplaced.clone(),
        naive,
        outbox,
        verdict,
        timings: Timings {
            naive_ms: ms(naive_ms),
            outbox_ms: ms(total - naive_ms),
            total_ms: ms(total),
        },
    })
}

/// Where a lab keeps its SQLite files: `keep` when the user asked for it (created if need be),
/// otherwise a temporary directory that lives as long as the returned guard.
pub(crate) fn lab_dir(
    keep: Option<&Path>,
) -> Result<(Option<tempfile::TempDir>, PathBuf), SimError> {
    match keep {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|cause| SimError::Dir {
                path: dir.to_path_buf(),
                cause,
            })?;
            Ok((None, dir.to_path_buf()))
        }
        None => {
            let temp = tempfile::Builder::new()
                .prefix("msgwork-lab-")
                .tempdir()
                .map_err(|cause| SimError::Dir {
                    path: std::env::temp_dir(),
                    cause,
                })?;
            let path = temp.path().to_path_buf();
            Ok((Some(temp), path))
        }
    }
}

/// Removes a database and its WAL companions from an earlier run kept in the same directory.
pub(crate) fn remove_db(path: &Path) -> Result<(), SimError> {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(cause) => {
                return Err(SimError::Dir {
                    path: PathBuf::from(file),
                    cause,
                });
            }
        }
    }
    Ok(())
}

fn run_pipeline(
    pipeline: Pipeline,
    options: &SimOptions,
    config: &Config,
    schedule: &Schedule,
    dir: &Path,
    trace: Option<&TraceSink>,
    progress: &dyn Progress,
) -> Result<PipelineReport, SimError> {
    let service_db = dir.join(format!("{}-orders.db", pipeline.name()));
    let billing_db = dir.join(format!("{}-billing.db", pipeline.name()));
    remove_db(&service_db)?;
    remove_db(&billing_db)?;
    let with_relays = pipeline == Pipeline::Outbox;
    let checker = db::open(&service_db, config.durability).sql("creating the order database")?;
    db::create_service_schema(&checker, with_relays).sql("creating the order schema")?;
    let billing = db::open(&billing_db, config.durability).sql("creating the billing database")?;
    db::create_billing_schema(&billing).sql("creating the billing schema")?;

    let sim_clock = SimClock::default();
    let wall_clock;
    let clock: &dyn Clock = if options.threads {
        wall_clock = WallClock::start();
        &wall_clock
    } else {
        &sim_clock
    };
    let trigger = Trigger::new(schedule, pipeline);
    let broker = Broker::new();
    let obs = Observer::new(pipeline, clock, trace, progress);
    let world = World {
        pipeline,
        config,
        clock,
        broker: &broker,
        trigger: &trigger,
        obs: &obs,
        service_db: &service_db,
        billing_db: &billing_db,
    };
    let mut actors: Vec<Box<dyn Actor>> = vec![Box::new(service::Service::new())];
    if with_relays {
        for i in 1..=options.relays {
            actors.push(Box::new(relay::Relay::new(i)));
        }
    }
    actors.push(Box::new(consumer::Consumer::new()));

    let checker = Mutex::new(checker);
    let settled = || -> Result<bool, SimError> {
        // Unsent first, then the backlog: an empty outbox means every row was published before
        // the backlog is read, so an empty backlog then means every publish was consumed.
        if with_relays {
            let conn = checker.lock().unwrap_or_else(PoisonError::into_inner);
            if db::unsent_count(&conn).sql("counting unsent rows")? > 0 {
                return Ok(false);
            }
        }
        Ok(broker.backlog() == 0)
    };
    let steps = if options.threads {
        runner::run_threads(actors, &world, &settled, Duration::from_secs(600))?
    } else {
        let salt = match pipeline {
            Pipeline::Naive => 0x6e61,
            Pipeline::Outbox => 0x6f62,
        };
        runner::run_deterministic(actors, &world, &sim_clock, options.seed ^ salt, &settled)?
    };

    let checker = checker.into_inner().unwrap_or_else(PoisonError::into_inner);
    let end = Final {
        committed: db::committed_orders(&checker).sql("reading committed orders")?,
        charges: db::charges_per_order(&billing).sql("reading charges")?,
    };
    Ok(PipelineReport::check(
        &obs.into_observed(),
        &end,
        with_relays,
        steps,
    ))
}
