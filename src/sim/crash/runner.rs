//! The one scheduler every deterministic experiment runs through: actors interleaved one step at a
//! time by a seeded RNG, on simulated time.
//!
//! The seeded scheduler is the heart of replay. At each tick it picks one ready actor with the
//! seeded RNG and runs one step, a real database transaction on that actor's own connection, then
//! moves simulated time on by a millisecond. When every actor sleeps, time jumps to the earliest
//! wake-up. Same seed, same choices, same transactions, same report. The crash lab and `lab
//! ordering` both run on it: a lab adds actors and checks, not a new run loop.

use rand::RngExt;
use rand::rngs::ChaCha8Rng;

use crate::sim::clock::SimClock;
use crate::sim::error::SimError;

/// What an actor wants after a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Poll {
    /// It did some work and can go again at once.
    Ready,
    /// Nothing to do before this time.
    Sleep(u64),
    /// It looked and found nothing to do; it looks again at this time. A wait like
    /// [`Poll::Sleep`], which also tells the scheduler that the run may have drained.
    Idle(u64),
    /// It died; it restarts from what is durable at this time.
    Crashed(u64),
    /// It has nothing left to do in this run.
    Done,
}

/// Whether the pipeline has drained: nothing unsent, nothing unacknowledged.
pub type Settled<'a> = dyn Fn() -> Result<bool, SimError> + Sync + 'a;

/// Interleaves `actors` under the seeded scheduler, one step of one ready actor a tick, chosen with
/// `rng`, until the first actor is done and `settled` says the rest have drained. `settled` is
/// asked when no actor is ready, or when every actor in a row has found nothing to do. `step`
/// gets the same `rng`, so an actor's own random choices replay with the schedule. More than
/// `limit` steps is a stuck run. Returns the steps taken.
pub fn run_seeded<A>(
    actors: &mut [A],
    rng: &mut ChaCha8Rng,
    clock: &SimClock,
    limit: u64,
    mut step: impl FnMut(&mut A, &mut ChaCha8Rng) -> Result<Poll, SimError>,
    mut settled: impl FnMut() -> Result<bool, SimError>,
) -> Result<u64, SimError> {
    let mut wake = vec![0u64; actors.len()];
    let mut done = vec![false; actors.len()];
    let mut now = 0u64;
    clock.set(now);
    let mut steps = 0u64;
    let mut ready = Vec::with_capacity(actors.len());
    // Steps in a row that found nothing to do: once every actor has had one, it is time to look.
    let mut idle = 0;
    loop {
        ready.clear();
        ready.extend((0..actors.len()).filter(|&i| !done[i] && wake[i] <= now));
        if (ready.is_empty() || idle >= actors.len()) && done.first() == Some(&true) && settled()? {
            return Ok(steps);
        }
        if idle >= actors.len() {
            idle = 0;
        }
        if ready.is_empty() {
            match (0..actors.len())
                .filter(|&i| !done[i])
                .map(|i| wake[i])
                .min()
            {
                Some(next) => now = next,
                None => return Ok(steps),
            }
            clock.set(now);
            continue;
        }
        let i = ready[rng.random_range(0..ready.len())];
        let poll = step(&mut actors[i], rng)?;
        idle = if matches!(poll, Poll::Idle(_)) {
            idle + 1
        } else {
            0
        };
        match poll {
            Poll::Ready => wake[i] = now + 1,
            Poll::Sleep(until) | Poll::Idle(until) | Poll::Crashed(until) => {
                wake[i] = until.max(now + 1)
            }
            Poll::Done => done[i] = true,
        }
        steps += 1;
        if steps > limit {
            return Err(SimError::Stuck { steps });
        }
        now += 1;
        clock.set(now);
    }
}
