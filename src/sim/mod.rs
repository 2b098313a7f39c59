//! The outbox crash lab: a naive dual write and a transactional outbox, run side by side under the
//! same seeded crash schedule, with relay replicas, an in-process broker and a billing consumer.

pub mod bench;
pub mod broker;
pub mod cdc;
pub mod child;
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
pub mod stats;
pub mod storage;
pub mod wire;

mod consumer;
mod fleet;
mod relay;
mod runner;
mod service;
mod world;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;

use broker::Broker;
use clock::{Clock, EpochClock, SimClock, WallClock};
use db::Durability;
use model::Pipeline;
use observer::{Observer, Progress, TraceSink};
use report::{Final, PipelineReport, Report, Timings, Verdict};
use schedule::{CrashPlan, NaiveOrder, Schedule, Trigger};
use storage::{Backend, Db};
use world::{Actor, Config, World};

/// How relay replicas avoid publishing the same rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum)]
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

/// Where the service and the relays crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum CrashMode {
    /// In this process: the crashing actor drops its SQLite connection mid-transaction.
    InProcess,
    /// As child processes of msgwork, killed with SIGKILL at their crash points (Unix only).
    Process,
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
    #[error(transparent)]
    Postgres(#[from] crate::pg::PgError),
    #[error("internal error: {0}")]
    Internal(&'static str),
    /// A child process of `--crash-mode process` misbehaved, as the parent saw it.
    #[error("{actor}, a child process of the lab, {problem}")]
    Child { actor: String, problem: String },
    /// What a child process saw go wrong on its pipe to the parent.
    #[error("the pipe to the parent process failed: {0}")]
    Pipe(wire::WireError),
    /// A child process's parent closed the pipe: the run is over, one way or another.
    #[error("the parent process closed the pipe")]
    ParentGone,
}

impl From<wire::WireError> for SimError {
    fn from(err: wire::WireError) -> Self {
        SimError::Pipe(err)
    }
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
    /// Run the service and relays as child processes killed at their crash points (wall clock).
    pub crash_mode: CrashMode,
    pub naive_order: NaiveOrder,
    pub batch: u32,
    pub consumer_batch: u32,
    /// Relay lease; `None` picks a default that suits the mode.
    pub lease_ms: Option<u64>,
    pub durability: Durability,
    /// A PostgreSQL server to run on instead of SQLite files.
    pub db: Option<String>,
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
/// How long a real-time run may take to drain before it is called stuck.
const REAL_TIME_LIMIT: Duration = Duration::from_secs(600);

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
            crash_mode: CrashMode::InProcess,
            naive_order: NaiveOrder::Alternate,
            batch: 10,
            consumer_batch: 1,
            lease_ms: None,
            durability: Durability::Off,
            db: None,
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
        if self.crash_mode == CrashMode::Process {
            if !cfg!(unix) {
                problems.push(
                    "--crash-mode process needs a Unix system, where a crash is a SIGKILL; use \
                     --crash-mode in-process"
                        .to_string(),
                );
            }
            if self.threads {
                problems.push(
                    "--threads and --crash-mode process cannot be combined: in process mode the \
                     service and relays run as child processes, already in real time"
                        .to_string(),
                );
            }
            if matches!(self.crash, CrashPlan::None) {
                problems.push(
                    "--crash-mode process kills processes at crash points, and none are \
                     scheduled: add --crash, --crash-at or --crash-rate"
                        .to_string(),
                );
            }
        }
        if let Some(Err(err)) = self.db.as_deref().map(crate::pg::config) {
            problems.push(err.to_string());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SimError::Invalid(problems.join("; ")))
        }
    }

    /// Whether the run goes by the wall clock rather than the seeded scheduler.
    fn real_time(&self) -> bool {
        self.threads || self.crash_mode == CrashMode::Process
    }

    fn config(&self) -> Config {
        // Simulated milliseconds are scheduler ticks; real ones pass slowly, so keep waits short.
        let (lease, poll, restart) = if self.real_time() {
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
        backend: storage::backend_name(options.db.as_deref()),
        seed: options.seed,
        orders: options.orders,
        relays: options.relays,
        mode: if options.crash_mode == CrashMode::Process {
            "process"
        } else if options.threads {
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
    let backend = match &options.db {
        Some(url) => Backend::postgres(
            url,
            &format!("sim{}", std::process::id()),
            pipeline.name(),
            options.keep_dir.is_some(),
        )?,
        None => Backend::sqlite(dir, pipeline.name(), options.durability),
    };
    let with_relays = pipeline == Pipeline::Outbox;
    backend.create(with_relays)?;
    let checker = backend.connect(Db::Service)?;
    let mut billing = backend.connect(Db::Billing)?;

    let sim_clock = SimClock::default();
    let wall_clock;
    // The one clock every child process reads too.
    let epoch_clock = EpochClock::start();
    let clock: &dyn Clock = if options.crash_mode == CrashMode::Process {
        &epoch_clock
    } else if options.threads {
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
        location: backend.location(),
    };
    let relays = if with_relays { options.relays } else { 0 };

    let checker = Mutex::new(checker);
    let settled = || -> Result<bool, SimError> {
        // Unsent first, then the backlog: an empty outbox means every row was published before
        // the backlog is read, so an empty backlog then means every publish was consumed.
        if with_relays {
            let mut conn = checker.lock().unwrap_or_else(PoisonError::into_inner);
            if conn.unsent_count()? > 0 {
                return Ok(false);
            }
        }
        Ok(broker.backlog() == 0)
    };
    let mut processes = None;
    let steps = if options.crash_mode == CrashMode::Process {
        let launcher = fleet::Launcher::this_binary()?;
        let mut fleet = fleet::Fleet::new(
            &world,
            &launcher,
            schedule,
            relays,
            epoch_clock.unix_us(),
            trace.is_some(),
        );
        let consumer = Box::new(consumer::Consumer::new());
        let steps = fleet::run(&mut fleet, consumer, &settled, REAL_TIME_LIMIT)?;
        processes = Some(fleet.stats().clone());
        steps
    } else {
        let mut actors: Vec<Box<dyn Actor>> = vec![Box::new(service::Service::new())];
        actors.extend((1..=relays).map(|i| Box::new(relay::Relay::new(i)) as Box<dyn Actor>));
        actors.push(Box::new(consumer::Consumer::new()));
        if options.threads {
            runner::run_threads(actors, &world, &settled, REAL_TIME_LIMIT)?
        } else {
            let salt = match pipeline {
                Pipeline::Naive => 0x6e61,
                Pipeline::Outbox => 0x6f62,
            };
            runner::run_deterministic(actors, &world, &sim_clock, options.seed ^ salt, &settled)?
        }
    };

    let mut checker = checker.into_inner().unwrap_or_else(PoisonError::into_inner);
    let end = Final {
        committed: checker.committed_orders()?,
        charges: billing.charges_per_order()?,
    };
    let mut report = PipelineReport::check(&obs.into_observed(), &end, with_relays, steps);
    report.processes = processes;
    Ok(report)
}
