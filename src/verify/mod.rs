//! `msgwork verify`: the learner's own service, relays and consumer, run as processes that speak
//! JSON lines (docs/verify-protocol.md), killed on a seeded schedule and judged from what they
//! committed. Between them sits msgwork's own broker, or a real NATS JetStream stream.

pub mod broker;
pub mod check;
pub mod child;
pub mod error;
pub mod lanes;
pub mod program;
pub mod report;
pub mod run;
pub mod schedule;
pub mod shrink;
pub mod stream;
pub mod tables;
pub mod trace;
pub mod wire;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::broker::run::RunStreams;
use crate::broker::{BrokerUrl, Session};
use crate::sim::storage::sqlite::files;
use crate::verify::broker::Broker;
use crate::verify::error::VerifyError;
use crate::verify::report::Outcome;
use crate::verify::run::Setup;
use crate::verify::schedule::{Rates, Schedule};

/// What the learner asked for, for one seed.
#[derive(Clone, Debug)]
pub struct Options {
    pub command: Vec<OsString>,
    pub orders: u32,
    pub relays: u32,
    pub timeout: Duration,
    /// The strikes to replay instead of the seed's; the seed still decides holds and amounts.
    pub schedule: Option<std::collections::BTreeSet<schedule::Strike>>,
    /// Where to keep the databases, instead of a scratch directory removed afterwards; on a
    /// real broker, the runs' streams are kept too.
    pub keep: Option<PathBuf>,
    /// A NATS JetStream server to run the events through, instead of msgwork's own broker.
    pub broker: Option<BrokerUrl>,
}

/// Runs the learner's program once under `seed` and judges it.
pub fn verify(options: &Options, seed: u64) -> Result<Outcome, VerifyError> {
    let keep = options
        .keep
        .as_ref()
        .map(|dir| dir.join(format!("seed-{seed}")));
    if let Some(dir) = &keep {
        refuse_to_reuse(dir)?;
    }
    let (_scratch, dir) = files::lab_dir(keep.as_deref())
        .map_err(|e| VerifyError::Setup(format!("could not make the run's directory: {e}")))?;
    let schedule = match &options.schedule {
        Some(given) => Schedule::Given {
            seed,
            strikes: given.clone(),
        },
        None => Schedule::seeded(seed, Rates::default(), (options.orders / 4).clamp(1, 40)),
    };
    let setup = Setup {
        command: options.command.clone(),
        orders: options.orders,
        relays: options.relays,
        timeout: options.timeout,
        schedule,
        service_db: dir.join("service.db"),
        consumer_db: dir.join("consumer.db"),
    };
    let session = options.broker.as_ref().map(Session::connect).transpose()?;
    let mut streams = session
        .as_ref()
        .map(|s| RunStreams::new(s, options.keep.is_some()));
    let broker = match (&session, &mut streams) {
        (Some(session), Some(streams)) => Broker::on(stream::Stream::open(session, streams, seed)?),
        _ => Broker::default(),
    };
    let ran = run::run(&setup, broker)?;
    let committed = tables::read(&setup.service_db, &setup.consumer_db)?;
    let counts = check::count(&committed, &ran);
    let outcome = Outcome::new(seed, options.orders, options.relays, counts, &ran);
    drop(ran);
    if let Some(streams) = streams {
        streams.finish()?;
    }
    Ok(outcome)
}

/// Checks, before any run, that the broker answers and has JetStream, so that a wrong URL is
/// one clear error rather than one per seed.
pub fn check_broker(url: &BrokerUrl) -> Result<(), VerifyError> {
    Session::connect(url)?.account()?;
    Ok(())
}

/// Runs `seeds`, up to `jobs` at once, each in its own directory with its own processes; `done`
/// hears each seed as it finishes. Results come back in the order of `seeds`; after a seed the
/// program could not run in, the seeds not yet started are left out.
pub fn verify_seeds(
    options: &Options,
    seeds: &[u64],
    jobs: usize,
    done: &(dyn Fn(u64) + Sync),
) -> Vec<(u64, Result<Outcome, VerifyError>)> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<Result<Outcome, VerifyError>>>> =
        seeds.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, seeds.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&seed) = seeds.get(i) else {
                        return;
                    };
                    let result = verify(options, seed);
                    // A program that cannot run breaks every seed alike: stop taking new ones.
                    if result.is_err() {
                        next.store(seeds.len(), std::sync::atomic::Ordering::Relaxed);
                    }
                    *results[i]
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(result);
                    done(seed);
                }
            });
        }
    });
    seeds
        .iter()
        .zip(results)
        .filter_map(|(seed, r)| {
            let r = r
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            r.map(|r| (*seed, r))
        })
        .collect()
}

/// A kept run's databases are the learner's to read: a later run never writes over them.
fn refuse_to_reuse(dir: &Path) -> Result<(), VerifyError> {
    for name in ["service.db", "consumer.db"] {
        let path = dir.join(name);
        if path.exists() {
            return Err(VerifyError::Setup(format!(
                "{} is there from an earlier run; msgwork does not write over it. Give --keep-db \
                 a new directory, or move that one away",
                path.display()
            )));
        }
    }
    Ok(())
}
