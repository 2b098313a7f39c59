//! Drives the crash lab's actors: interleaved by the seeded scheduler down to single statements,
//! or in real time, each on an OS thread (`--threads`) or, for the consumer of a process-mode run,
//! on the parent's own thread. Whatever drives it, a crashed actor is rebuilt from scratch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::fault::FaultRates;
use super::gate::{Gate, Ticks};
use super::power::Power;
use super::runner::{Poll, Settled};
use super::world::{Actor, World};
use crate::sim::clock::SimClock;
use crate::sim::error::SimError;

/// The longest the watcher of a threaded run waits between looks at whether the run has settled.
const SETTLE_WAIT: Duration = Duration::from_millis(50);

/// Builds an actor for its `incarnation`: 0 at the start, one more after each crash.
pub type Maker = Box<dyn Fn(u32) -> Box<dyn Actor> + Send + Sync>;

/// One actor's lives. A crash is a restart: the actor is dropped with everything it held in
/// memory, its connection rolls back, and a new one is built from its constructor; only the
/// incarnation number carries over.
pub struct Life {
    make: Maker,
    actor: Box<dyn Actor>,
    incarnation: u32,
}

impl Life {
    pub fn new(make: Maker) -> Self {
        let actor = make(0);
        Life {
            make,
            actor,
            incarnation: 0,
        }
    }

    /// One step; a crash, scheduled or injected, ends in a rebirth and a wait for the restart.
    pub fn step(&mut self, world: &World<'_>) -> Result<Poll, SimError> {
        let stepped = self.actor.step(world);
        if let Some((gate, slot)) = &world.gate {
            for fault in gate.take_noted(*slot) {
                world.obs.fault(self.actor.name(), fault);
            }
        }
        let poll = match stepped {
            Err(SimError::Crashed) => {
                if let Some((gate, slot)) = &world.gate
                    && let Some(fault) = gate.reborn(*slot)
                {
                    world.obs.fault(self.actor.name(), fault);
                }
                Poll::Crashed(world.now() + world.config.restart_ms)
            }
            other => other?,
        };
        if let Poll::Crashed(_) = poll {
            world.obs.died(self.actor.name());
            self.incarnation += 1;
            // Building an actor opens nothing, so the old one, and its connection with it, is
            // gone before its successor touches the database.
            self.actor = (self.make)(self.incarnation);
        }
        Ok(poll)
    }
}

/// Runs a crash-lab pipeline under the seeded scheduler until the service is done and `settled`.
/// Each actor has its own thread, but only the one holding the turn moves. With `power`, its
/// machines lose power now and then between steps.
pub fn run_interleaved(
    makers: Vec<Maker>,
    world: &World<'_>,
    clock: &Arc<SimClock>,
    seed: u64,
    rates: FaultRates,
    settled: &Settled<'_>,
    power: Option<Arc<Power>>,
) -> Result<u64, SimError> {
    // Every actor polls while the others work: more relays, more steps for the same orders.
    let actors = makers.len().max(5) as u64;
    let limit = (1_000_000 + 600 * u64::from(world.config.orders)) * actors / 5;
    // On PostgreSQL a statement can wait for a row lock held by an actor waiting for its turn.
    let watchdog = world.location.is_postgres();
    let gate = Arc::new(
        Gate::seeded(
            makers.len(),
            seed,
            rates,
            limit,
            Arc::clone(clock),
            watchdog,
        )
        .with_power(power),
    );
    clock.set(0);
    let lost_power = |loss: &_| world.obs.power_lost(loss);
    let ticks = Ticks {
        settled,
        lost_power: &lost_power,
    };
    std::thread::scope(|scope| {
        for (slot, make) in makers.into_iter().enumerate() {
            let world = world.at(&gate, slot);
            let gate = &gate;
            let ticks = &ticks;
            scope.spawn(move || {
                let mut life = Life::new(make);
                while gate.wait_turn(slot) {
                    match life.step(&world) {
                        Ok(poll) => gate.step_ended(slot, poll, ticks),
                        Err(SimError::Stopped) => break,
                        Err(err) => {
                            gate.fail(err);
                            break;
                        }
                    }
                }
            });
        }
        gate.wait_end()
    })
}

/// Steps one actor on the calling thread until it is done or `stop` is set, sleeping through its
/// waits in real time. Returns the steps it took and whether it finished.
pub fn drive(
    life: &mut Life,
    world: &World<'_>,
    stop: &AtomicBool,
) -> Result<(u64, bool), SimError> {
    let mut steps = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let seen = world.bell.rung();
        let poll = match life.step(world) {
            Err(SimError::Stopped) => break,
            other => other?,
        };
        steps += 1;
        match poll {
            Poll::Ready => world.bell.ring(),
            // Nothing to do: look again once another actor has done something, or at the
            // deadline, whichever comes first.
            Poll::Sleep(until) | Poll::Idle(until) => {
                let wait = until.saturating_sub(world.now()).max(1);
                world.bell.wait(seen, Duration::from_millis(wait));
            }
            // A restart takes its time whatever the others do.
            Poll::Crashed(until) => {
                let wait = until.saturating_sub(world.now()).max(1);
                std::thread::sleep(Duration::from_millis(wait));
            }
            Poll::Done => {
                world.bell.ring();
                return Ok((steps, true));
            }
        }
    }
    Ok((steps, false))
}

/// Runs every actor on its own OS thread against the same database files, for true parallelism.
/// The first actor is the service: when it is done and the pipeline has drained, the rest stop.
pub fn run_threads(
    makers: Vec<Maker>,
    world: &World<'_>,
    seed: u64,
    rates: FaultRates,
    settled: &Settled<'_>,
    timeout: Duration,
) -> Result<u64, SimError> {
    let gate = Arc::new(Gate::free(makers.len(), seed, rates));
    let stop = AtomicBool::new(false);
    let service_done = AtomicBool::new(false);
    let started = Instant::now();
    std::thread::scope(|scope| {
        let handles: Vec<_> = makers
            .into_iter()
            .enumerate()
            .map(|(i, make)| {
                let stop = &stop;
                let service_done = &service_done;
                let world = world.at(&gate, i);
                scope.spawn(move || -> Result<u64, SimError> {
                    let mut life = Life::new(make);
                    let result = drive(&mut life, &world, stop);
                    match &result {
                        Ok((_, true)) if i == 0 => {
                            service_done.store(true, Ordering::Release);
                            world.bell.ring();
                        }
                        Ok(_) => {}
                        Err(_) => {
                            stop.store(true, Ordering::Relaxed);
                            world.bell.ring();
                        }
                    }
                    result.map(|(steps, _)| steps)
                })
            })
            .collect();
        let mut watch = Ok(());
        while !stop.load(Ordering::Relaxed) {
            let seen = world.bell.rung();
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
            // The run can only have settled once some actor has done something since the last
            // look; a millisecond between looks keeps a busy run from being asked at every step.
            std::thread::sleep(Duration::from_millis(1));
            world.bell.wait(seen, SETTLE_WAIT);
        }
        stop.store(true, Ordering::Relaxed);
        gate.stop();
        world.bell.ring();
        let mut total = 0;
        for handle in handles {
            total += handle
                .join()
                .map_err(|_| SimError::Internal("an actor thread panicked"))??;
        }
        watch.map(|()| total)
    })
}
