//! The checker: what each run proves, computed from the databases and what the observer saw.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::sim::crash::observer::Observed;
use crate::sim::crash::schedule::{CrashPoint, NaiveOrder, ScheduledCrash};
use crate::sim::crash::world::ClaimMode;

/// Bumped when a key of the `--json` report changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;

/// One pipeline's results.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PipelineReport {
    /// Orders whose row is in the service database at the end.
    pub committed_orders: u64,
    /// Publishes the broker accepted, duplicates included.
    pub events_published: u64,
    /// Publishes of an event id the broker already had: the relay's at-least-once at work.
    pub events_republished: u64,
    /// Distinct event ids the consumer received.
    pub events_delivered: u64,
    /// Committed orders for which no event ever reached the consumer.
    pub lost_events: u64,
    /// Distinct events delivered for orders that were never committed.
    pub phantom_events: u64,
    /// Deliveries of an event id the consumer had already received.
    pub duplicate_deliveries: u64,
    /// Charges in the billing database.
    pub side_effects_applied: u64,
    /// Charges beyond the first for the same order.
    pub double_applied: u64,
    /// Crashes that actually struck this pipeline.
    pub crashes: u64,
    pub crashes_by_point: BTreeMap<CrashPoint, u64>,
    /// Duplicates the consumer's inbox recognised and skipped.
    pub dedupe_skips: u64,
    /// Row claims made while another live relay pass held the same row (outbox only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overlapping_claims: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay: Option<RelayStats>,
    pub lost_orders: Vec<u32>,
    pub phantom_orders: Vec<u32>,
    pub double_applied_orders: Vec<u32>,
    /// Scheduler steps (deterministic runs replay the same count).
    pub steps: u64,
    /// The child processes the service and relays ran in (`--crash-mode process` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processes: Option<ProcessStats>,
}

/// What happened to the child processes of one pipeline's run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ProcessStats {
    /// Child processes started: one per actor, then one per restart.
    pub spawned: u64,
    /// Children killed with SIGKILL at a crash point.
    pub killed: u64,
    pub killed_by_point: BTreeMap<CrashPoint, u64>,
    /// Every child's process id, to check that none outlived the run.
    pub pids: Vec<u32>,
}

/// The claim log, summarised.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RelayStats {
    pub passes: u64,
    /// Passes per relay replica.
    pub passes_by_relay: BTreeMap<String, u64>,
    pub rows_claimed: u64,
    /// Published rows a relay could not mark because its lease had been taken over.
    pub fenced_marks: u64,
}

/// What the databases hold at the end of a run.
pub struct Final {
    pub committed: Vec<u32>,
    /// `(order reference, charges)` per charged order.
    pub charges: Vec<(String, u64)>,
}

impl PipelineReport {
    pub fn check(observed: &Observed, end: &Final, with_relays: bool, steps: u64) -> Self {
        let committed: BTreeSet<u32> = end.committed.iter().copied().collect();
        let covered: BTreeSet<u32> = observed.delivered.values().flatten().copied().collect();
        let lost_orders: Vec<u32> = committed.difference(&covered).copied().collect();
        let mut phantom_orders: Vec<u32> = observed
            .delivered
            .values()
            .flatten()
            .filter(|n| !committed.contains(n))
            .copied()
            .collect();
        phantom_orders.sort_unstable();
        let phantom_events = observed
            .delivered
            .values()
            .filter(|n| n.is_none_or(|n| !committed.contains(&n)))
            .count() as u64;
        let mut double_applied = 0;
        let mut double_applied_orders = Vec::new();
        for (reference, charges) in &end.charges {
            if *charges > 1 {
                double_applied += charges - 1;
                if let Some(n) = crate::sim::model::parse_order_ref(reference) {
                    double_applied_orders.push(n);
                }
            }
        }
        PipelineReport {
            committed_orders: committed.len() as u64,
            events_published: observed.published.values().map(|n| u64::from(*n)).sum(),
            events_republished: observed.published.values().map(|n| u64::from(*n) - 1).sum(),
            events_delivered: observed.delivered.len() as u64,
            lost_events: lost_orders.len() as u64,
            phantom_events,
            duplicate_deliveries: observed.deliveries - observed.delivered.len() as u64,
            side_effects_applied: end.charges.iter().map(|(_, n)| n).sum(),
            double_applied,
            crashes: observed.crashes.values().sum(),
            crashes_by_point: observed.crashes.clone(),
            dedupe_skips: observed.dedupe_skips,
            overlapping_claims: with_relays.then_some(observed.overlapping_claims),
            relay: with_relays.then_some(RelayStats {
                passes: observed.passes,
                passes_by_relay: observed.passes_by_relay.clone(),
                rows_claimed: observed.rows_claimed,
                fenced_marks: observed.fenced,
            }),
            lost_orders,
            phantom_orders,
            double_applied_orders,
            steps,
            processes: None,
        }
    }
}

/// Wall-clock figures: the only part of a report that differs between two runs of one seed.
#[derive(Clone, Debug, Serialize)]
pub struct Timings {
    pub naive_ms: f64,
    pub outbox_ms: f64,
    pub total_ms: f64,
}

/// What the run proves, in booleans a script can test.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    /// The naive dual write lost or invented at least one event.
    pub naive_broken: bool,
    /// Zero lost, zero phantom, zero double-applied (and zero overlapping claims when claiming).
    pub outbox_holds: bool,
    /// Each broken invariant of the outbox run, in words.
    pub outbox_problems: Vec<String>,
}

/// The whole `simulate` report, as `--json` prints it.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub schema_version: u32,
    /// `sqlite` or `postgres`: which database the run used.
    pub backend: &'static str,
    pub seed: u64,
    pub orders: u32,
    pub relays: u32,
    pub mode: &'static str,
    pub claim: ClaimMode,
    pub naive_order: NaiveOrder,
    pub batch: u32,
    pub lease_ms: u64,
    pub crash: bool,
    pub crash_rate: f64,
    pub schedule: Vec<ScheduledCrash>,
    pub unplaced_crash_points: Vec<CrashPoint>,
    pub naive: PipelineReport,
    pub outbox: PipelineReport,
    pub verdict: Verdict,
    pub timings: Timings,
}

impl Report {
    /// What `simulate --check` refuses: every broken invariant of the outbox run and, whatever
    /// `--claim` says, any overlapping claim. Under `--claim none` replicas overlap by design and
    /// the verdict says so, but a check still fails: two relays held the same row.
    pub fn check_problems(&self) -> Vec<String> {
        let mut problems = self.verdict.outbox_problems.clone();
        let overlaps = self.outbox.overlapping_claims.unwrap_or(0);
        if self.claim == ClaimMode::None && overlaps > 0 {
            problems.push(format!(
                "{overlaps} overlapping relay claims (--claim none lets replicas overlap)"
            ));
        }
        problems
    }
}

impl Verdict {
    pub fn judge(naive: &PipelineReport, outbox: &PipelineReport, claim: ClaimMode) -> Self {
        let mut problems = Vec::new();
        if outbox.lost_events > 0 {
            problems.push(format!("{} events lost", outbox.lost_events));
        }
        if outbox.phantom_events > 0 {
            problems.push(format!("{} phantom events", outbox.phantom_events));
        }
        if outbox.double_applied > 0 {
            problems.push(format!("{} charges applied twice", outbox.double_applied));
        }
        let overlaps = outbox.overlapping_claims.unwrap_or(0);
        if claim == ClaimMode::Lease && overlaps > 0 {
            problems.push(format!("{overlaps} overlapping relay claims"));
        }
        Verdict {
            naive_broken: naive.lost_events + naive.phantom_events > 0,
            outbox_holds: problems.is_empty(),
            outbox_problems: problems,
        }
    }
}
