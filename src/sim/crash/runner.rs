//! Runs a pipeline's actors to completion: interleaved by a seeded scheduler, or on OS threads.
//!
//! The deterministic scheduler is the heart of replay. At each tick it picks one ready actor with
//! the seeded RNG and runs one step, a real SQLite transaction on that actor's own connection, then
//! moves simulated time on by a millisecond. When every actor sleeps, time jumps to the earliest
//! wake-up. Same seed, same choices, same transactions, same report.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};

use crate::sim::clock::SimClock;
use crate::sim::crash::world::{Actor, Poll, World};
use crate::sim::error::SimError;

/// Whether the pipeline has drained: nothing unsent, nothing unacknowledged.
pub type Settled<'a> = dyn Fn() -> Result<bool, SimError> + Sync + 'a;

struct Slot {
    actor: Box<dyn Actor>,
    wake: u64,
    done: bool,
}

/// Interleaves the actors under the seeded scheduler until the service is done and `settled`.
pub fn run_deterministic(
    actors: Vec<Box<dyn Actor>>,
    world: &World<'_>,
    clock: &SimClock,
    seed: u64,
    settled: &Settled<'_>,
) -> Result<u64, SimError> {
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    let mut slots: Vec<Slot> = actors
        .into_iter()
        .map(|actor| Slot {
            actor,
            wake: 0,
            done: false,
        })
        .collect();
    let limit = 1_000_000 + 400 * u64::from(world.config.orders);
    let mut now = 0u64;
    let mut steps = 0u64;
    let mut ready = Vec::with_capacity(slots.len());
    loop {
        ready.clear();
        ready.extend((0..slots.len()).filter(|&i| !slots[i].done && slots[i].wake <= now));
        if ready.is_empty() {
            // Only the service ever finishes; the rest poll until the pipeline has drained.
            if slots[0].done && settled()? {
                return Ok(steps);
            }
            match slots.iter().filter(|s| !s.done).map(|s| s.wake).min() {
                Some(wake) => now = wake,
                None => return Ok(steps),
            }
            clock.set(now);
            continue;
        }
        let slot = &mut slots[ready[rng.random_range(0..ready.len())]];
        match slot.actor.step(world)? {
            Poll::Ready => slot.wake = now + 1,
            Poll::Sleep(until) | Poll::Crashed(until) => slot.wake = until.max(now + 1),
            Poll::Done => slot.done = true,
        }
        steps += 1;
        if steps > limit {
            return Err(SimError::Stuck { steps });
        }
        now += 1;
        clock.set(now);
    }
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
            Poll::Sleep(until) | Poll::Crashed(until) => {
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
