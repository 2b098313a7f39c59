//! Time for the lab: a simulated clock the scheduler moves, or the wall clock for `--threads`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Milliseconds since the run started.
pub trait Clock: Sync {
    fn now(&self) -> u64;
}

/// Simulated time: moves only when the deterministic scheduler says so.
#[derive(Default)]
pub struct SimClock(AtomicU64);

impl SimClock {
    pub fn set(&self, ms: u64) {
        self.0.store(ms, Ordering::Relaxed);
    }
}

impl Clock for SimClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Real elapsed time, for runs on OS threads.
pub struct WallClock(Instant);

impl WallClock {
    pub fn start() -> Self {
        WallClock(Instant::now())
    }
}

impl Clock for WallClock {
    fn now(&self) -> u64 {
        self.0.elapsed().as_millis() as u64
    }
}
