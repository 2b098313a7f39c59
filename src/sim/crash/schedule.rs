//! Crash points and the seeded crash schedule that both runs replay.
//!
//! A schedule assigns at most one crash to an order: "the consumer dies between applying and
//! acknowledging order 17's event". Both pipelines replay the same schedule; a point that does not
//! exist in a pipeline (the naive run has no relay) simply never fires there.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};

use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::sim::model::Pipeline;

/// The component a crash point belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Component {
    Service,
    Relay,
    Consumer,
}

impl Component {
    pub fn name(self) -> &'static str {
        match self {
            Component::Service => "order service",
            Component::Relay => "relay",
            Component::Consumer => "billing consumer",
        }
    }
}

/// A place where a component can die.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrashPoint {
    ServiceBeforeCommit,
    ServiceAfterCommit,
    RelayAfterClaim,
    RelayAfterPublish,
    ConsumerBeforeCommit,
    ConsumerAfterCommit,
}

impl CrashPoint {
    pub const ALL: [CrashPoint; 6] = [
        CrashPoint::ServiceBeforeCommit,
        CrashPoint::ServiceAfterCommit,
        CrashPoint::RelayAfterClaim,
        CrashPoint::RelayAfterPublish,
        CrashPoint::ConsumerBeforeCommit,
        CrashPoint::ConsumerAfterCommit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CrashPoint::ServiceBeforeCommit => "service-before-commit",
            CrashPoint::ServiceAfterCommit => "service-after-commit",
            CrashPoint::RelayAfterClaim => "relay-after-claim",
            CrashPoint::RelayAfterPublish => "relay-after-publish",
            CrashPoint::ConsumerBeforeCommit => "consumer-before-commit",
            CrashPoint::ConsumerAfterCommit => "consumer-after-commit",
        }
    }

    pub fn component(self) -> Component {
        match self {
            CrashPoint::ServiceBeforeCommit | CrashPoint::ServiceAfterCommit => Component::Service,
            CrashPoint::RelayAfterClaim | CrashPoint::RelayAfterPublish => Component::Relay,
            CrashPoint::ConsumerBeforeCommit | CrashPoint::ConsumerAfterCommit => {
                Component::Consumer
            }
        }
    }

    /// Whether the pipeline has this point at all.
    pub fn applies_to(self, pipeline: Pipeline) -> bool {
        pipeline == Pipeline::Outbox || self.component() != Component::Relay
    }

    /// What happens at this point, in a sentence.
    pub fn describe(self) -> &'static str {
        match self {
            CrashPoint::ServiceBeforeCommit => {
                "The order service dies with its transaction open, just before COMMIT: the order is \
                 rolled back. A naive handler that publishes first has already sent the event: a phantom."
            }
            CrashPoint::ServiceAfterCommit => {
                "The order service dies right after COMMIT. A naive handler that commits first never \
                 publishes: the event is lost. The outbox row was committed with the order, so nothing is."
            }
            CrashPoint::RelayAfterClaim => {
                "A relay replica dies after claiming a batch, before publishing it: the rows stay leased \
                 until the lease expires, then another replica claims them."
            }
            CrashPoint::RelayAfterPublish => {
                "A relay replica dies after the broker accepted an event but before marking its row sent: \
                 the row is claimed and published again, a duplicate the consumer must absorb."
            }
            CrashPoint::ConsumerBeforeCommit => {
                "The billing consumer dies inside its transaction: charge and inbox entry roll back \
                 together and the unacknowledged message is redelivered."
            }
            CrashPoint::ConsumerAfterCommit => {
                "The billing consumer dies after committing the charge, before acknowledging: the broker \
                 redelivers. An inbox skips it; a consumer without one charges twice."
            }
        }
    }
}

impl fmt::Display for CrashPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CrashPoint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CrashPoint::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown crash point '{s}'; run `msgwork simulate --list-crash-points` to see them \
                     ({})",
                    CrashPoint::ALL.map(CrashPoint::name).join(", ")
                )
            })
    }
}

/// `--crash-at POINT[:ORDER]`: one precise crash to replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrashAt {
    pub point: CrashPoint,
    pub order: Option<u32>,
}

impl FromStr for CrashAt {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (point, order) = match s.split_once(':') {
            Some((point, order)) => {
                let order = order.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    format!("'{order}' is not an order number (1 or more) in '{s}'; write POINT or POINT:ORDER")
                })?;
                (point, Some(order))
            }
            None => (s, None),
        };
        Ok(CrashAt {
            point: point.parse()?,
            order,
        })
    }
}

/// Which way round the naive handler does its dual write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NaiveOrder {
    /// Commit the order, then publish: a crash in between loses the event.
    CommitFirst,
    /// Publish, then commit: a crash in between leaves a phantom event.
    PublishFirst,
    /// Odd orders commit first, even orders publish first: both halves of the bug in one run.
    Alternate,
}

impl NaiveOrder {
    pub fn publishes_first(self, order: u32) -> bool {
        match self {
            NaiveOrder::CommitFirst => false,
            NaiveOrder::PublishFirst => true,
            NaiveOrder::Alternate => order.is_multiple_of(2),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            NaiveOrder::CommitFirst => "commit-first",
            NaiveOrder::PublishFirst => "publish-first",
            NaiveOrder::Alternate => "alternate",
        }
    }
}

/// How the crash schedule is drawn.
#[derive(Clone, Debug, PartialEq)]
pub enum CrashPlan {
    /// No crashes at all: the naive pipeline looks fine, which is the trap.
    None,
    /// Every crash point several times, plus random extras at `rate` per order.
    Default { rate: f64 },
    /// Exactly these crashes (an order drawn from the seed where none is given), plus extras at `rate`.
    Exact { at: Vec<CrashAt>, rate: f64 },
}

/// One crash in the schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledCrash {
    pub order: u32,
    pub point: CrashPoint,
}

/// The crashes to inject, at most one per order, drawn from the seed.
#[derive(Clone, Debug, Default)]
pub struct Schedule {
    by_order: Vec<Option<CrashPoint>>,
    /// Points the default plan could not place because there were too few orders.
    pub unplaced: Vec<CrashPoint>,
}

/// How many times the default plan places each point: enough that a verdict never rests on one crash.
pub fn per_point(orders: u32) -> u32 {
    (orders / 250).clamp(1, 8)
}

impl Schedule {
    pub fn build(plan: &CrashPlan, orders: u32, naive: NaiveOrder, seed: u64) -> Schedule {
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_c4a5_11ed);
        let mut schedule = Schedule {
            by_order: vec![None; orders as usize + 1],
            unplaced: Vec::new(),
        };
        let mut free: Vec<u32> = (1..=orders).collect();
        free.shuffle(&mut rng);
        let rate = match plan {
            CrashPlan::None => return schedule,
            CrashPlan::Default { rate } => {
                for point in CrashPoint::ALL {
                    for i in 0..per_point(orders) {
                        // Service crashes alternate between the two naive handlers so both the lost
                        // event and the phantom are guaranteed to show.
                        let want_publish_first = i % 2 == 1;
                        let fits = |n: &u32| {
                            point.component() != Component::Service
                                || naive == NaiveOrder::CommitFirst
                                || naive == NaiveOrder::PublishFirst
                                || naive.publishes_first(*n) == want_publish_first
                        };
                        match free.iter().position(fits) {
                            Some(at) => {
                                let order = free.swap_remove(at);
                                schedule.by_order[order as usize] = Some(point);
                            }
                            None => schedule.unplaced.push(point),
                        }
                    }
                }
                *rate
            }
            CrashPlan::Exact { at, rate } => {
                for crash in at {
                    let order = match crash.order {
                        Some(order) => {
                            free.retain(|n| *n != order);
                            Some(order)
                        }
                        None => free.pop(),
                    };
                    match order {
                        Some(order) if order <= orders => {
                            schedule.by_order[order as usize] = Some(crash.point)
                        }
                        _ => schedule.unplaced.push(crash.point),
                    }
                }
                *rate
            }
        };
        if rate > 0.0 {
            free.sort_unstable();
            for order in free {
                if rng.random_bool(rate) {
                    let point = CrashPoint::ALL[rng.random_range(0..CrashPoint::ALL.len())];
                    schedule.by_order[order as usize] = Some(point);
                }
            }
        }
        schedule
    }

    /// The crash planned for `order`, if any.
    pub fn at(&self, order: u32) -> Option<CrashPoint> {
        self.by_order.get(order as usize).copied().flatten()
    }

    /// Every scheduled crash, by order.
    pub fn crashes(&self) -> Vec<ScheduledCrash> {
        self.by_order
            .iter()
            .enumerate()
            .filter_map(|(order, point)| {
                point.map(|point| ScheduledCrash {
                    order: order as u32,
                    point,
                })
            })
            .collect()
    }

    /// How many crashes are planned at each point.
    pub fn counts(&self) -> BTreeMap<CrashPoint, u32> {
        let mut counts = BTreeMap::new();
        for crash in self.crashes() {
            *counts.entry(crash.point).or_insert(0) += 1;
        }
        counts
    }

    pub fn len(&self) -> usize {
        self.by_order.iter().flatten().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One run's view of the schedule: each crash fires once, the first time its point is reached.
pub struct Trigger<'a> {
    schedule: &'a Schedule,
    pipeline: Pipeline,
    fired: Vec<AtomicBool>,
}

impl<'a> Trigger<'a> {
    pub fn new(schedule: &'a Schedule, pipeline: Pipeline) -> Self {
        let fired = (0..schedule.by_order.len())
            .map(|_| AtomicBool::new(false))
            .collect();
        Trigger {
            schedule,
            pipeline,
            fired,
        }
    }

    /// True exactly once: when `point` is reached for an order scheduled to crash there.
    /// Whether [`Trigger::fires`] would say yes, without firing.
    pub fn due(&self, point: CrashPoint, order: u32) -> bool {
        point.applies_to(self.pipeline)
            && self.schedule.at(order) == Some(point)
            && !self.fired[order as usize].load(Ordering::Relaxed)
    }

    pub fn fires(&self, point: CrashPoint, order: u32) -> bool {
        point.applies_to(self.pipeline)
            && self.schedule.at(order) == Some(point)
            && !self.fired[order as usize].swap(true, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_plan_places_every_point_and_is_a_function_of_the_seed() {
        for seed in 0..50 {
            let plan = CrashPlan::Default { rate: 0.01 };
            let a = Schedule::build(&plan, 1000, NaiveOrder::Alternate, seed);
            let b = Schedule::build(&plan, 1000, NaiveOrder::Alternate, seed);
            assert_eq!(a.crashes(), b.crashes());
            assert!(a.unplaced.is_empty());
            let counts = a.counts();
            for point in CrashPoint::ALL {
                assert!(counts[&point] >= per_point(1000), "{point} under-placed");
            }
            // Both naive handlers get a service crash of each kind.
            for point in [
                CrashPoint::ServiceBeforeCommit,
                CrashPoint::ServiceAfterCommit,
            ] {
                let parities: std::collections::HashSet<bool> = a
                    .crashes()
                    .iter()
                    .filter(|c| c.point == point)
                    .map(|c| NaiveOrder::Alternate.publishes_first(c.order))
                    .collect();
                assert_eq!(parities.len(), 2, "{point} on one handler only");
            }
        }
    }

    #[test]
    fn too_few_orders_leaves_points_unplaced_instead_of_failing() {
        let s = Schedule::build(
            &CrashPlan::Default { rate: 0.0 },
            3,
            NaiveOrder::CommitFirst,
            1,
        );
        assert_eq!(s.len(), 3);
        assert_eq!(s.unplaced.len(), 3);
    }

    #[test]
    fn exact_crashes_land_where_asked() {
        let at = vec![
            "relay-after-publish:5".parse().unwrap(),
            "consumer-after-commit".parse().unwrap(),
        ];
        let s = Schedule::build(
            &CrashPlan::Exact { at, rate: 0.0 },
            10,
            NaiveOrder::CommitFirst,
            9,
        );
        assert_eq!(s.at(5), Some(CrashPoint::RelayAfterPublish));
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn crash_at_rejects_nonsense_with_a_hint() {
        assert!(
            "relay-after-lunch"
                .parse::<CrashAt>()
                .unwrap_err()
                .contains("--list-crash-points")
        );
        assert!(
            "relay-after-claim:0"
                .parse::<CrashAt>()
                .unwrap_err()
                .contains("order number")
        );
        assert!("relay-after-claim:x".parse::<CrashAt>().is_err());
    }

    #[test]
    fn a_crash_fires_once_and_only_in_pipelines_that_have_the_point() {
        let at = vec!["relay-after-claim:2".parse().unwrap()];
        let s = Schedule::build(
            &CrashPlan::Exact { at, rate: 0.0 },
            4,
            NaiveOrder::CommitFirst,
            0,
        );
        let naive = Trigger::new(&s, Pipeline::Naive);
        assert!(!naive.fires(CrashPoint::RelayAfterClaim, 2));
        let outbox = Trigger::new(&s, Pipeline::Outbox);
        assert!(!outbox.fires(CrashPoint::RelayAfterPublish, 2));
        assert!(outbox.fires(CrashPoint::RelayAfterClaim, 2));
        assert!(!outbox.fires(CrashPoint::RelayAfterClaim, 2));
    }
}
