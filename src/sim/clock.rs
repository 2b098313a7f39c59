//! Time for the lab: a simulated clock the scheduler moves, or the wall clock for `--threads` and
//! `--crash-mode process`; and each actor's own view of it, off by a seeded offset and drift.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

/// Milliseconds since the run started.
pub trait Clock: Sync {
    fn now(&self) -> u64;
}

/// The run's one true clock, shared: what the databases time leases by, and what every actor's
/// own clock is skewed from.
pub type SharedClock = Arc<dyn Clock + Send + Sync>;

/// The widest offset an actor's clock is drawn with, either way, in milliseconds: twice the
/// default lease, so that a relay trusting its own clock takes rows whose lease still runs.
pub const MAX_OFFSET_MS: i64 = 2_000;

/// The widest drift an actor's clock is drawn with, either way, in parts per million: 1 %.
/// Exaggerated on purpose so that it shows within one run: real quartz drifts about 50 ppm, though
/// a badly kept virtual machine can do far worse.
pub const MAX_DRIFT_PPM: i64 = 10_000;

/// How far one actor's clock is off the run's: it reads `offset_ms` ahead (behind when negative)
/// at the start, and gains `drift_ppm` millionths of every millisecond after. An actor times with
/// it everything it times itself: its stamps, its waits, its pauses. Never the database's leases.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skew {
    pub offset_ms: i64,
    pub drift_ppm: i64,
}

impl Skew {
    /// The skew of the actor named `actor` in the run seeded with `seed`: drawn from a generator
    /// of its own, so that it is the same in both pipelines of a run whatever else is drawn.
    pub fn of(seed: u64, actor: &str) -> Skew {
        // FNV-1a: a name's hash that no compiler or platform changes.
        let name = actor.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ name ^ 0x636c_6f63_6b73);
        Skew {
            offset_ms: rng.random_range(-MAX_OFFSET_MS..=MAX_OFFSET_MS),
            drift_ppm: rng.random_range(-MAX_DRIFT_PPM..=MAX_DRIFT_PPM),
        }
    }

    /// What the actor's clock reads when the run's reads `true_ms`. A clock behind the run's start
    /// reads 0 until it catches up.
    pub fn read(self, true_ms: u64) -> u64 {
        let t = i128::from(true_ms);
        let own = t + i128::from(self.offset_ms) + t * i128::from(self.drift_ppm) / 1_000_000;
        own.clamp(0, i128::from(u64::MAX)) as u64
    }

    /// How long a wait of `own_ms` on the actor's clock lasts on the run's: a fast clock's waits
    /// end early. Never shorter than a millisecond for a wait that is not zero.
    pub fn true_span(self, own_ms: u64) -> u64 {
        if own_ms == 0 {
            return 0;
        }
        let rate = 1_000_000 + i128::from(self.drift_ppm.clamp(-MAX_DRIFT_PPM, MAX_DRIFT_PPM));
        let span = (i128::from(own_ms) * 1_000_000 + rate - 1) / rate;
        span.clamp(1, i128::from(u64::MAX)) as u64
    }

    /// When, on the run's clock, a wait until `own_until` on the actor's clock ends, asked when
    /// the run's clock reads `true_now`.
    pub fn deadline(self, true_now: u64, own_until: u64) -> u64 {
        true_now.saturating_add(self.true_span(own_until.saturating_sub(self.read(true_now))))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skew_reads_ahead_or_behind_and_gains_with_its_drift() {
        let ahead = Skew {
            offset_ms: 1_600,
            drift_ppm: 10_000,
        };
        assert_eq!(ahead.read(0), 1_600);
        assert_eq!(ahead.read(10_000), 11_700);
        let behind = Skew {
            offset_ms: -2_000,
            drift_ppm: -10_000,
        };
        assert_eq!(behind.read(500), 0, "a clock behind the start reads 0");
        assert_eq!(behind.read(10_000), 7_900);
        assert_eq!(Skew::default().read(1_234), 1_234);
        assert_eq!(Skew::default().read(u64::MAX), u64::MAX);
    }

    #[test]
    fn a_wait_on_a_fast_clock_ends_early_and_never_takes_no_time() {
        let fast = Skew {
            offset_ms: 0,
            drift_ppm: 10_000,
        };
        assert_eq!(fast.true_span(1_010), 1_000);
        assert_eq!(fast.true_span(1), 1);
        assert_eq!(fast.true_span(0), 0);
        let slow = Skew {
            offset_ms: 0,
            drift_ppm: -10_000,
        };
        assert_eq!(slow.true_span(990), 1_000);
        assert_eq!(Skew::default().true_span(u64::MAX), u64::MAX);
    }

    #[test]
    fn a_deadline_on_an_actors_clock_lands_where_its_clock_reaches_it() {
        let ahead = Skew {
            offset_ms: 1_600,
            drift_ppm: 0,
        };
        // At 100 the actor's clock reads 1,700: a wait until 1,750 ends at 150.
        assert_eq!(ahead.deadline(100, 1_750), 150);
        // A deadline its clock has passed is due at once.
        assert_eq!(ahead.deadline(100, 50), 100);
        let behind = Skew {
            offset_ms: -2_000,
            drift_ppm: 0,
        };
        // A clock stuck at 0 before the start still waits as long as it asked.
        assert_eq!(behind.deadline(100, 50), 150);
        assert_eq!(Skew::default().deadline(100, 250), 250);
    }

    #[test]
    fn skews_are_drawn_per_actor_within_bounds_and_replay_with_the_seed() {
        let names = ["service", "relay-1", "relay-2", "relay-3", "billing"];
        let drawn: Vec<Skew> = names.iter().map(|n| Skew::of(7, n)).collect();
        assert_eq!(
            drawn,
            names.iter().map(|n| Skew::of(7, n)).collect::<Vec<_>>()
        );
        assert_ne!(Skew::of(7, "relay-1"), Skew::of(7, "relay-2"));
        assert_ne!(Skew::of(7, "relay-1"), Skew::of(8, "relay-1"));
        for seed in 0..200 {
            let skew = Skew::of(seed, "relay-1");
            assert!(skew.offset_ms.abs() <= MAX_OFFSET_MS, "{skew:?}");
            assert!(skew.drift_ppm.abs() <= MAX_DRIFT_PPM, "{skew:?}");
        }
    }
}
