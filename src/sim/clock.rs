//! Time for the lab: a simulated clock the scheduler moves, or the wall clock for `--threads` and
//! `--crash-mode process`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// Milliseconds since the run started.
pub trait Clock: Sync {
    fn now(&self) -> u64;
}

/// The run's one true clock, shared: what the databases time leases by.
pub type SharedClock = Arc<dyn Clock + Send + Sync>;

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

/// Real elapsed time that several processes agree on: milliseconds since a shared instant, named
/// in microseconds since the Unix epoch so it crosses a pipe exactly. Relays in different
/// processes compare each other's leases, so they must read one clock.
#[derive(Clone, Copy, Debug)]
pub struct EpochClock {
    epoch: SystemTime,
    epoch_us: u64,
}

impl EpochClock {
    /// A clock starting now.
    pub fn start() -> Self {
        let since_unix = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        EpochClock::from_unix_us(since_unix.as_micros() as u64)
    }

    /// The clock another process started at `epoch_us` microseconds after the Unix epoch.
    pub fn from_unix_us(epoch_us: u64) -> Self {
        EpochClock {
            epoch: SystemTime::UNIX_EPOCH + Duration::from_micros(epoch_us),
            epoch_us,
        }
    }

    pub fn unix_us(&self) -> u64 {
        self.epoch_us
    }
}

impl Clock for EpochClock {
    fn now(&self) -> u64 {
        SystemTime::now()
            .duration_since(self.epoch)
            .unwrap_or_default()
            .as_millis() as u64
    }
}
