//! One crash-lab run: a naive dual write and a transactional outbox, side by side under the same
//! seeded crash schedule, with relay replicas, an in-process broker and a billing consumer.

use std::path::Path;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::bell::Bell;
use super::consumer::Consumer;
use super::drive::{self, Life, Maker};
use super::observer::{Observer, TraceSink};
use super::options::{CrashMode, REAL_TIME_LIMIT, SimOptions};
use super::power::{self, Host, Power, Socket};
use super::process::fleet;
use super::relay::Relay;
use super::report::{self, ActorClock, Final, PipelineReport, Report, Timings, Verdict};
use super::schedule::{CrashPlan, Schedule, Trigger};
use super::service::Service;
use super::tally::Tally;
use super::world::{ClaimMode, Config, World};
use crate::sim::broker::Broker;
use crate::sim::clock::{EpochClock, SharedClock, SimClock, Skew, WallClock};
use crate::sim::error::SimError;
use crate::sim::model::Pipeline;
use crate::sim::progress::Progress;
use crate::sim::storage::backend::postgres_schemas;
use crate::sim::storage::postgres::scan as pg_scan;
use crate::sim::storage::sqlite::files::lab_dir;
use crate::sim::storage::sqlite::scan;
use crate::sim::storage::sqlite::sql::Durability;
use crate::sim::storage::{Backend, Db, Location, Storage, backend_name};

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
    let clocks = skews(options, &makers(Pipeline::Outbox, options))
        .into_iter()
        .map(|(actor, skew)| ActorClock {
            actor,
            offset_ms: skew.offset_ms,
            drift_ppm: skew.drift_ppm,
        })
        .collect();
    let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
    Ok(Report {
        schema_version: report::SCHEMA_VERSION,
        backend: backend_name(options.db.as_deref()),
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
        fault_rate: options.faults().crash,
        power_loss: options.power_loss,
        synchronous: options.db.is_none().then(|| options.durability()),
        schedule: schedule.crashes(),
        unplaced_crash_points: schedule.unplaced.clone(),
        clocks,
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

/// The actors of `pipeline`'s run, one maker each, in the order of their slots at the gate: the
/// service, the relay replicas (outbox only), billing, and its twin when faults bring one.
fn makers(pipeline: Pipeline, options: &SimOptions) -> Vec<Maker> {
    let relays = match pipeline {
        Pipeline::Outbox => options.relays,
        Pipeline::Naive => 0,
    };
    let mut makers: Vec<Maker> = vec![Box::new(|n| Box::new(Service::reborn(n)))];
    for i in 1..=relays {
        makers.push(Box::new(move |n| Box::new(Relay::reborn(i, n))));
    }
    makers.push(Box::new(|n| Box::new(Consumer::reborn(n))));
    if options.faults().twin_consumer {
        makers.push(Box::new(|n| Box::new(Consumer::twin(n))));
    }
    makers
}

/// Each actor's name and skew, by slot, drawn from the run's seed by name so that an actor's clock
/// is the same in both pipelines. None in process mode: its service and relays are children that
/// read the epoch clock they share with the parent as it is, since skewing a child's clock would
/// take the wire; the deterministic and `--threads` modes show what skew does.
fn skews(options: &SimOptions, makers: &[Maker]) -> Vec<(String, Skew)> {
    if options.crash_mode == CrashMode::Process {
        return Vec::new();
    }
    makers
        .iter()
        .map(|make| {
            // Building an actor opens nothing: this only asks its name.
            let name = make(0).name().to_string();
            let skew = Skew::of(options.seed, &name);
            (name, skew)
        })
        .collect()
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
    let sim_clock = Arc::new(SimClock::default());
    // The one clock every child process reads too.
    let epoch_clock = EpochClock::start();
    // The run's true clock, which the databases time leases by and every actor's is skewed from.
    let clock: SharedClock = if options.crash_mode == CrashMode::Process {
        Arc::new(epoch_clock)
    } else if options.threads {
        Arc::new(WallClock::start())
    } else {
        sim_clock.clone()
    };
    let backend = match &options.db {
        Some(url) => Backend::postgres(
            url,
            &postgres_tag(),
            pipeline.name(),
            options.keep_dir.is_some(),
        )?,
        // The power losses are the lab's own: what the disk keeps is decided by the model of
        // `synchronous` in `power`, and a real fsync, which no simulated loss can observe, would
        // only cost time (six times the run's, under FULL).
        None if options.power_loss => {
            Backend::sqlite(dir, pipeline.name(), Durability::Off).with_power_loss()
        }
        None => Backend::sqlite(dir, pipeline.name(), options.durability()),
    }
    .timed_by(SharedClock::clone(&clock));
    let with_relays = pipeline == Pipeline::Outbox;
    backend.create(with_relays)?;
    let relays = if with_relays { options.relays } else { 0 };
    let power = power_of(options, backend.location(), relays, config);
    // The checker's connection lives on the service's host too: a power loss there closes it,
    // and it opens again when next asked.
    let checker: Socket = match &power {
        Some(power) => power.plug(Host::Service, backend.connect(Db::Service)?),
        None => Arc::new(Mutex::new(Some(backend.connect(Db::Service)?))),
    };
    let read_orders = |read: &mut dyn FnMut(&mut dyn Storage) -> Result<u64, SimError>| {
        let mut conn = power::lock(&checker);
        if conn.is_none() {
            *conn = Some(backend.connect(Db::Service)?);
        }
        match conn.as_deref_mut() {
            Some(conn) => read(conn),
            None => Err(SimError::Internal("the checker's connection vanished")),
        }
    };

    let makers = makers(pipeline, options);
    let (_, skews): (Vec<String>, Vec<Skew>) = skews(options, &makers).into_iter().unzip();
    let trigger = Trigger::new(schedule, pipeline);
    let broker = Broker::remaking(options.seed, pipeline);
    let bell = Bell::default();
    let obs = Observer::new(
        (options.seed, pipeline, options.orders),
        &*clock,
        trace,
        progress,
    );
    let client = AtomicU32::new(1);
    let world = World {
        pipeline,
        config,
        clock: &clock,
        clocks: &skews,
        own: Skew::default(),
        broker: &broker,
        bell: &bell,
        trigger: &trigger,
        obs: &obs,
        location: backend.location(),
        client: &client,
        gate: None,
    };

    let settled = || -> Result<bool, SimError> {
        // Unsent first, then the backlog: an empty outbox means every row was published before
        // the backlog is read, so an empty backlog then means every publish was consumed.
        if with_relays && read_orders(&mut |conn| conn.unsent_count())? > 0 {
            return Ok(false);
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
        let consumer = Life::new(Box::new(|n| Box::new(Consumer::reborn(n))));
        let steps = fleet::run(&mut fleet, consumer, &settled, REAL_TIME_LIMIT)?;
        processes = Some(fleet.stats().clone());
        steps
    } else {
        let salt = match pipeline {
            Pipeline::Naive => 0x6e61,
            Pipeline::Outbox => 0x6f62,
        };
        let seed = options.seed ^ salt;
        if options.threads {
            drive::run_threads(
                makers,
                &world,
                seed,
                config.faults,
                &settled,
                REAL_TIME_LIMIT,
            )?
        } else {
            drive::run_interleaved(
                makers,
                &world,
                &sim_clock,
                seed,
                config.faults,
                &settled,
                power.clone(),
            )?
        }
    };

    let mut over_live_leases = None;
    if with_relays && options.claim == ClaimMode::Lease {
        // On SQLite the claim log holds a row per claim: read it through a small cache, as the
        // tally reads the rest, rather than fill the checker's.
        match backend.location() {
            Location::Sqlite { service, .. } => {
                over_live_leases = Some(scan::claims_over_live_leases(service)?);
            }
            Location::Postgres { .. } => {
                read_orders(&mut |conn| {
                    over_live_leases = conn.claims_over_live_leases()?;
                    Ok(0)
                })?;
            }
        }
    }
    // The outcome is read, not copied: the broker's log and the checker's connection are done.
    drop(broker);
    drop(checker);
    // Only the counts of distinct ids are left to report: their tables make room for the tally.
    let mut observed = obs.into_observed();
    observed.published.forget();
    observed.delivered.forget();
    let end = Final {
        tally: tally_of(&backend, options.orders)?,
        claims_over_live_leases: over_live_leases,
    };
    let mut report = PipelineReport::check(&observed, &end, with_relays, steps);
    if processes.is_some() {
        // The service's child processes do not report what they acknowledged.
        report.acknowledged_orders = None;
        report.acknowledged_lost = None;
    }
    report.processes = processes;
    report.power_losses = power.map(|p| p.losses()).unwrap_or_default();
    Ok(report)
}

/// The tag of this process's runs on PostgreSQL: the run's schemas are
/// `msgwork_<tag>_<pipeline>_orders` and `…_billing`.
pub fn postgres_tag() -> String {
    format!("sim{}", std::process::id())
}

/// The schemas a run of this process keeps on PostgreSQL under `--keep-db`, pipeline by
/// pipeline.
pub fn kept_schemas() -> Vec<String> {
    let run = postgres_tag();
    [Pipeline::Naive, Pipeline::Outbox]
        .into_iter()
        .flat_map(|pipeline| postgres_schemas(&run, pipeline.name()))
        .collect()
}

/// What the run's databases hold at its end, read a row at a time on SQLite and a few thousand
/// at a time on PostgreSQL. No connection of
/// the checker's holds billing's database during the run, where a power loss must find every one
/// of them closed: it is opened only now.
fn tally_of(backend: &Backend, orders: u32) -> Result<Tally, SimError> {
    let mut tally = Tally::new(orders);
    match backend.location() {
        Location::Sqlite {
            service, billing, ..
        } => {
            scan::each_order(service, &mut |order, amount| tally.committed(order, amount))?;
            scan::each_charge(billing, &mut |reference, amount| {
                tally.charged(reference, amount, 1)
            })?;
        }
        Location::Postgres {
            url,
            service,
            billing,
            ..
        } => {
            pg_scan::each_order(url, service, &mut |order, amount| {
                tally.committed(order, amount)
            })?;
            pg_scan::each_charge(url, billing, &mut |reference, amount, count| {
                tally.charged(reference, amount, count)
            })?;
        }
    }
    Ok(tally)
}

/// The machines' power for a `--power-loss` run on SQLite: the service and the relays on the
/// service's host, the consumer and its twin on the consumer's, in the scheduler's slot order.
fn power_of(
    options: &SimOptions,
    location: &Location,
    relays: u32,
    config: &Config,
) -> Option<Arc<Power>> {
    let Location::Sqlite {
        service, billing, ..
    } = location
    else {
        return None;
    };
    if !options.power_loss {
        return None;
    }
    let mut slots = vec![Host::Service; 1 + relays as usize];
    slots.push(Host::Consumer);
    if config.faults.twin_consumer {
        slots.push(Host::Consumer);
    }
    Some(Arc::new(Power::new(
        options.durability(),
        service,
        billing,
        slots,
    )))
}
