//! Drives the crash lab's actors: under the seeded runner, or in real time, each on an OS thread
//! (`--threads`) or, for the consumer of a process-mode run, on the parent's own thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

use super::runner::{Poll, Settled, run_seeded};
use super::world::{Actor, World};
use crate::sim::clock::SimClock;
use crate::sim::error::SimError;

/// Runs a crash-lab pipeline under the seeded scheduler until the service is done and `settled`.
pub fn run_deterministic(
    mut actors: Vec<Box<dyn Actor>>,
    world: &World<'_>,
    clock: &SimClock,
    seed: u64,
    settled: &Settled<'_>,
) -> Result<u64, SimError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let limit = 1_000_000 + 400 * u64::from(world.config.orders);
    run_seeded(
        &mut actors,
        &mut rng,
        clock,
        limit,
        |actor, _| actor.step(world),
        settled,
    )
}

/// Steps one actor on the calling thread until it is done or `stop` is set, sleeping through its
/// waits in real time. Returns the steps it took and whether it finished.
pub fn drive(
    actor: &mut dyn Actor,
    world: &World<'_>,
    stop: &AtomicBool,
) -> Result<(u64, bool), SimError> {
    let mut steps = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let poll = actor.step(world)?;
        steps += 1;
        match poll {
            Poll::Ready => {}
            Poll::Sleep(until) | Poll::Idle(until) | Poll::Crashed(until) => {
                let wait = until.saturating_sub(world.now()).max(1);
                std::thread::sleep(Duration::from_millis(wait));
            }
            Poll::Done => return Ok((steps, true)),
        }
    }
    Ok((steps, false))
}

/// Runs every actor on its own OS thread against the same database files, for true parallelism.
/// The first actor is the service: when it is done and the pipeline has drained, the rest stop.
pub fn run_threads(
    actors: Vec<Box<dyn Actor>>,
    world: &World<'_>,
    settled: &Settled<'_>,
    timeout: Duration,
) -> Result<u64, SimError> {
    let stop = AtomicBool::new(false);
    let service_done = AtomicBool::new(false);
    let started = Instant::now();
    std::thread::scope(|scope| {
        let handles: Vec<_> = actors
            .into_iter()
            .enumerate()
            .map(|(i, mut actor)| {
                let stop = &stop;
                let service_done = &service_done;
                scope.spawn(move || -> Result<u64, SimError> {
                    let result = drive(actor.as_mut(), world, stop);
                    match &result {
                        Ok((_, true)) if i == 0 => service_done.store(true, Ordering::Release),
                        Ok(_) => {}
                        Err(_) => stop.store(true, Ordering::Relaxed),
                    }
                    result.map(|(steps, _)| steps)
                })
            })
            .collect();
        let mut watch = Ok(());
        while !stop.load(Ordering::Relaxed) {
            if service_done.load(Ordering::Acquire) {
                match settled() {
                    Ok(true) => break,
                    Ok(false) => {}
                    Err(err) => {
                        watch = Err(err);
                        break;
                    }
                }
            }
            if started.elapsed() > timeout {
                watch = Err(SimError::Stuck { steps: 0 });
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        stop.store(true, Ordering::Relaxed);
        let mut total = 0;
        for handle in handles {
            total += handle
                .join()
                .map_err(|_| SimError::Internal("an actor thread panicked"))??;
        }
        watch.map(|()| total)
    })
}
