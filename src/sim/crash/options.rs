//! The crash lab's options: what the command line asked for, checked before a run starts.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::fault::FaultRates;
use super::mutant::Mutant;
use super::schedule::{CrashPlan, NaiveOrder};
use super::world::{ClaimMode, Config};
use crate::sim::error::SimError;
use crate::sim::storage::sqlite::sql::Durability;

/// Where the service and the relays crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrashMode {
    /// In this process: the crashing actor drops its SQLite connection mid-transaction.
    InProcess,
    /// As child processes of msgwork, killed with SIGKILL at their crash points (Unix only).
    Process,
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
    /// SQLite's `synchronous` pragma (`--synchronous`); `None` keeps the lab's `OFF`.
    pub synchronous: Option<Durability>,
    /// Machines lose power now and then, and their databases keep only what was synced.
    pub power_loss: bool,
    /// A PostgreSQL server to run on instead of SQLite files.
    pub db: Option<String>,
    /// Keep the lab's SQLite files here instead of a temporary directory.
    pub keep_dir: Option<PathBuf>,
    /// Chance of a fault at each call an actor makes, beyond the named crash points; `None`
    /// picks [`DEFAULT_FAULT_RATE`] under the default crash plan and none otherwise.
    pub fault_rate: Option<f64>,
    /// A deliberate bug, for the suite that proves the checker catches it.
    pub mutant: Mutant,
}

/// The default chance of a fault at each call: a crash before or after it, and for a publish or
/// a fetch, a broker failure. About thirty crashes anywhere in a run of a thousand orders.
pub const DEFAULT_FAULT_RATE: f64 = 0.002;

/// The default crash rate: random extra crashes per order, on top of the guaranteed ones.
pub const DEFAULT_CRASH_RATE: f64 = 0.005;
/// The most orders a run takes. The checker keeps a few bytes per order (about 30 at the end of
/// a run), so a run of the most stays under 64 MB; it takes minutes, and any more would take
/// hours without showing anything a million does not.
pub const MAX_ORDERS: u32 = 1_000_000;
/// The most relay replicas: past this, replicas polling an empty outbox crowd out the work.
pub const MAX_RELAYS: u32 = 32;
/// The most rows a relay claims per pass.
pub const MAX_BATCH: u32 = 10_000;
/// The longest lease, in simulated milliseconds: every idle replica polls through it, so a
/// longer one only slows the run down without showing anything new.
pub const MAX_LEASE_MS: u64 = 60_000;
/// The longest lease when the run goes by the wall clock (`--threads`, `--crash-mode process`):
/// rows a crashed relay claimed wait this long for real before another replica may take them.
pub const MAX_REAL_TIME_LEASE_MS: u64 = 10_000;
/// How long a real-time run may take to drain before it is called stuck.
pub(super) const REAL_TIME_LIMIT: Duration = Duration::from_secs(600);

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
            synchronous: None,
            power_loss: false,
            db: None,
            keep_dir: None,
            fault_rate: None,
            mutant: Mutant::None,
        }
    }

    /// The faults drawn anywhere. A process-mode run keeps to the named points: its service and
    /// relays live in other processes, beyond the gate.
    pub fn faults(&self) -> FaultRates {
        if self.crash_mode == CrashMode::Process {
            return FaultRates::OFF;
        }
        // `--crash-at` replays precise crashes: faults anywhere join them only when asked for.
        let rate = self.fault_rate.unwrap_or(match self.crash {
            CrashPlan::Default { .. } => DEFAULT_FAULT_RATE,
            CrashPlan::None | CrashPlan::Exact { .. } => 0.0,
        });
        if rate <= 0.0 {
            return FaultRates::OFF;
        }
        FaultRates {
            crash: rate,
            broker: rate * 2.0,
            twin_consumer: true,
            pause: rate / 4.0,
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
        if !(1..=MAX_BATCH).contains(&self.batch) {
            problems.push(format!(
                "--batch must be between 1 and {MAX_BATCH} (got {})",
                self.batch
            ));
        }
        if self.consumer_batch == 0 {
            problems.push("the consumer batch must be at least 1".to_string());
        }
        if let Some(lease) = self.lease_ms {
            if self.real_time() && !(1..=MAX_REAL_TIME_LEASE_MS).contains(&lease) {
                problems.push(format!(
                    "--lease must be between 1 and {MAX_REAL_TIME_LEASE_MS} ms with --threads or \
                     --crash-mode process, which wait it out in real time (got {lease})"
                ));
            } else if !(1..=MAX_LEASE_MS).contains(&lease) {
                problems.push(format!(
                    "--lease must be between 1 and {MAX_LEASE_MS} ms (got {lease})"
                ));
            }
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
        if let Some(rate) = self.fault_rate
            && !(0.0..=0.1).contains(&rate)
        {
            problems.push(format!(
                "--fault-rate must be between 0 and 0.1 (got {rate})"
            ));
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
        if self.power_loss {
            if self.db.is_some() {
                problems.push(
                    "--power-loss needs SQLite: it cuts a database's write-ahead log where the \
                     disk stopped, and a PostgreSQL server is not the lab's to unplug; drop --db \
                     (or unset MSGWORK_DB)"
                        .to_string(),
                );
            }
            if self.real_time() {
                problems.push(
                    "--power-loss needs the seeded scheduler, which stops every component of a \
                     machine at once and replays the same losses for a seed; drop --threads and \
                     --crash-mode process"
                        .to_string(),
                );
            }
        }
        if self.synchronous.is_some() && self.db.is_some() {
            problems.push(
                "--synchronous sets SQLite's pragma, and this run is on PostgreSQL (--db or \
                 MSGWORK_DB); drop one of them"
                    .to_string(),
            );
        }
        if let Some(Err(err)) = self
            .db
            .as_deref()
            .map(crate::sim::storage::postgres::connect::config)
        {
            problems.push(err.to_string());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SimError::Invalid(problems.join("; ")))
        }
    }

    /// SQLite's `synchronous` for the run's databases: `OFF` unless asked, since only a power
    /// loss can tell the difference.
    pub fn durability(&self) -> Durability {
        self.synchronous.unwrap_or(Durability::Off)
    }

    /// Whether the run goes by the wall clock rather than the seeded scheduler.
    pub(super) fn real_time(&self) -> bool {
        self.threads || self.crash_mode == CrashMode::Process
    }

    pub(super) fn config(&self) -> Config {
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
            faults: self.faults(),
            mutant: self.mutant,
            release_dead_claims: self.real_time(),
        }
    }

    pub fn crash_rate(&self) -> f64 {
        match &self.crash {
            CrashPlan::None => 0.0,
            CrashPlan::Default { rate } | CrashPlan::Exact { rate, .. } => *rate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One way to spoil the default options.
    type Change = dyn Fn(&mut SimOptions);

    fn problems(change: impl FnOnce(&mut SimOptions)) -> String {
        let mut options = SimOptions::new(1);
        change(&mut options);
        match options.validate() {
            Ok(()) => String::new(),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn every_number_out_of_range_is_named_with_its_value_and_range() {
        let cases: [(&Change, &str); 9] = [
            (
                &|o| o.orders = 0,
                "--orders must be between 1 and 1000000 (got 0)",
            ),
            (
                &|o| o.orders = 5_000_000,
                "--orders must be between 1 and 1000000 (got 5000000)",
            ),
            (
                &|o| o.relays = 0,
                "--relays must be between 1 and 32 (got 0)",
            ),
            (
                &|o| o.relays = 33,
                "--relays must be between 1 and 32 (got 33)",
            ),
            (
                &|o| o.batch = 10_001,
                "--batch must be between 1 and 10000 (got 10001)",
            ),
            (
                &|o| o.lease_ms = Some(0),
                "--lease must be between 1 and 60000 ms (got 0)",
            ),
            (
                &|o| o.lease_ms = Some(u64::MAX),
                "--lease must be between 1 and 60000 ms (got 18446744073709551615)",
            ),
            (
                &|o| {
                    o.threads = true;
                    o.lease_ms = Some(86_400_000);
                },
                "--lease must be between 1 and 10000 ms with --threads",
            ),
            (
                &|o| o.crash = CrashPlan::Default { rate: f64::NAN },
                "--crash-rate must be between 0 and 1 (got NaN)",
            ),
        ];
        for (change, wanted) in cases {
            let said = problems(change);
            assert!(said.contains(wanted), "wanted '{wanted}', got '{said}'");
        }
    }

    #[test]
    fn the_longest_leases_allowed_are_accepted() {
        assert_eq!(problems(|o| o.lease_ms = Some(MAX_LEASE_MS)), "");
        assert_eq!(
            problems(|o| {
                o.threads = true;
                o.lease_ms = Some(MAX_REAL_TIME_LEASE_MS);
            }),
            ""
        );
        assert_eq!(
            problems(|o| {
                o.orders = MAX_ORDERS;
                o.relays = MAX_RELAYS;
                o.batch = MAX_BATCH;
            }),
            ""
        );
    }

    #[test]
    fn power_loss_refuses_what_it_cannot_model_and_says_why() {
        let cases: [(&Change, &str); 4] = [
            (
                &|o| {
                    o.power_loss = true;
                    o.db = Some("postgres://u@h/db".into());
                },
                "--power-loss needs SQLite",
            ),
            (
                &|o| {
                    o.power_loss = true;
                    o.threads = true;
                },
                "--power-loss needs the seeded scheduler",
            ),
            (
                &|o| {
                    o.power_loss = true;
                    o.crash_mode = CrashMode::Process;
                },
                "--power-loss needs the seeded scheduler",
            ),
            (
                &|o| {
                    o.synchronous = Some(Durability::Full);
                    o.db = Some("postgres://u@h/db".into());
                },
                "--synchronous sets SQLite's pragma",
            ),
        ];
        for (change, wanted) in cases {
            let said = problems(change);
            assert!(said.contains(wanted), "wanted '{wanted}', got '{said}'");
        }
        for synchronous in [None, Some(Durability::Normal), Some(Durability::Full)] {
            assert_eq!(
                problems(|o| {
                    o.power_loss = true;
                    o.synchronous = synchronous;
                }),
                ""
            );
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let said = problems(|o| {
            o.orders = 0;
            o.relays = 0;
            o.lease_ms = Some(0);
        });
        for option in ["--orders", "--relays", "--lease"] {
            assert!(said.contains(option), "{said}");
        }
    }
}
