//! The checker: what each run proves, computed from the databases and what the observer saw.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::sim::crash::observer::Observed;
use crate::sim::crash::power::PowerLoss;
use crate::sim::crash::schedule::{CrashPoint, NaiveOrder, ScheduledCrash};
use crate::sim::crash::tally::Tally;
use crate::sim::crash::world::ClaimMode;
use crate::sim::storage::sqlite::sql::Durability;

/// Bumped when a key of the `--json` report changes meaning or disappears. Version 2 judges lost,
/// phantom and double-applied from the charges billing committed, not from deliveries. Version 3
/// adds power loss: `power_loss` and `synchronous`, and for each pipeline the power losses that
/// fired and the orders acknowledged to the client that are gone from the orders table.
pub const SCHEMA_VERSION: u32 = 3;

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
    /// Committed orders billing never charged for their amount: the event that should have told
    /// it was lost somewhere between the service's commit and billing's.
    pub lost_events: u64,
    /// Orders billing charged that were never committed: an event for something that did not happen.
    pub phantom_events: u64,
    /// Deliveries of an event id the consumer had already received.
    pub duplicate_deliveries: u64,
    /// Charges in the billing database.
    pub side_effects_applied: u64,
    /// Charges beyond the first for the same order.
    pub double_applied: u64,
    /// Committed orders charged an amount other than their own.
    pub mischarged: u64,
    /// Crashes that actually struck this pipeline: at the named points and anywhere else.
    pub crashes: u64,
    pub crashes_by_point: BTreeMap<CrashPoint, u64>,
    /// Every fault injected anywhere (crashes before or after a statement, publish or ack, and
    /// the broker's own failures), by kind.
    pub faults: BTreeMap<String, u64>,
    /// The same faults, by the component they struck: `service`, `relay`, `consumer`.
    pub faults_by_component: BTreeMap<String, BTreeMap<String, u64>>,
    /// Duplicates the consumer's inbox recognised and skipped.
    pub dedupe_skips: u64,
    /// Row claims made while another live relay pass held the same row (outbox only). After a
    /// lease ran out this is a cost (a duplicate publish the inbox absorbs), not a violation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overlapping_claims: Option<u64>,
    /// Of those, claims of a row whose holder's lease had not yet run out: two owners at once,
    /// which no correct claim allows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unexpired_overlaps: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay: Option<RelayStats>,
    pub lost_orders: Vec<u32>,
    pub phantom_orders: Vec<u32>,
    pub mischarged_orders: Vec<u32>,
    pub double_applied_orders: Vec<u32>,
    /// Orders the service told the client were placed; none where the service runs as a child
    /// process, which does not report it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledged_orders: Option<u64>,
    /// Of those, orders not in the orders table at the end: the client holds an acknowledgement
    /// for an order the service no longer has. Only a power loss does that.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledged_lost: Option<u64>,
    pub acknowledged_lost_orders: Vec<u32>,
    /// Every power loss that struck this pipeline, in order (`--power-loss` only).
    pub power_losses: Vec<PowerLoss>,
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

/// What the databases hold at the end of a run: the only ground the verdict stands on.
pub struct Final {
    /// Every order the service committed and every charge billing committed.
    pub tally: Tally,
    /// Claims the database's claim log shows taking a row under a running lease, where it
    /// keeps one (SQLite); elsewhere the observer's count stands.
    pub claims_over_live_leases: Option<u64>,
}

impl PipelineReport {
    /// Judges a run from what the databases hold: an order is safe when billing charged it
    /// exactly once, for its amount. What the observer saw only explains how it came to be.
    pub fn check(observed: &Observed, end: &Final, with_relays: bool, steps: u64) -> Self {
        let outcome = end.tally.outcome();
        let vanished: Vec<u32> = observed
            .acknowledged
            .iter()
            .filter(|order| !end.tally.is_committed(*order))
            .collect();
        PipelineReport {
            committed_orders: outcome.committed,
            events_published: observed.publishes,
            events_republished: observed.publishes - observed.published.len(),
            events_delivered: observed.delivered.len(),
            lost_events: outcome.lost.len() as u64,
            phantom_events: outcome.phantom.len() as u64 + outcome.unreadable,
            duplicate_deliveries: observed.deliveries - observed.delivered.len(),
            side_effects_applied: outcome.applied,
            double_applied: outcome.double_applied,
            mischarged: outcome.mischarged.len() as u64,
            crashes: observed.crashes.values().sum::<u64>() + observed.faults.crashes(),
            crashes_by_point: observed.crashes.clone(),
            faults: observed.faults.counts(),
            faults_by_component: observed
                .faults_by_component
                .iter()
                .map(|(c, f)| (c.to_string(), f.counts()))
                .collect(),
            dedupe_skips: observed.dedupe_skips,
            overlapping_claims: with_relays.then_some(observed.overlapping_claims),
            unexpired_overlaps: with_relays.then_some(
                end.claims_over_live_leases
                    .unwrap_or(observed.unexpired_overlaps),
            ),
            relay: with_relays.then_some(RelayStats {
                passes: observed.passes,
                passes_by_relay: observed.passes_by_relay.clone(),
                rows_claimed: observed.rows_claimed,
                fenced_marks: observed.fenced,
            }),
            lost_orders: outcome.lost,
            phantom_orders: outcome.phantom,
            mischarged_orders: outcome.mischarged,
            double_applied_orders: outcome.double_applied_orders,
            acknowledged_orders: Some(observed.acknowledged.len()),
            acknowledged_lost: Some(vanished.len() as u64),
            acknowledged_lost_orders: vanished,
            power_losses: Vec::new(),
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
    /// Zero lost, zero phantom, zero double-applied, zero mischarged, no acknowledged order gone
    /// (and, when claiming, no row claimed from a relay whose lease was still running).
    pub outbox_holds: bool,
    /// Each broken invariant of the outbox run, in words.
    pub outbox_problems: Vec<String>,
}

/// How far one actor's clock was off the run's: the databases timed the leases by the run's.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActorClock {
    pub actor: String,
    /// How far ahead (behind when negative) it read at the start, in milliseconds.
    pub offset_ms: i64,
    /// How many millionths of every millisecond it gained (lost when negative).
    pub drift_ppm: i64,
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
    /// Chance of a fault at each call, beyond the named points; 0 when they are off.
    pub fault_rate: f64,
    /// Whether machines lost power (`--power-loss`).
    pub power_loss: bool,
    /// SQLite's `synchronous` for every database of the run; none on PostgreSQL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synchronous: Option<Durability>,
    pub schedule: Vec<ScheduledCrash>,
    pub unplaced_crash_points: Vec<CrashPoint>,
    /// Each actor's clock, as the seed drew it; empty when every actor reads the run's clock as
    /// it is (`--crash-mode process`).
    pub clocks: Vec<ActorClock>,
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
        if outbox.mischarged > 0 {
            problems.push(format!(
                "{} orders charged the wrong amount",
                outbox.mischarged
            ));
        }
        let vanished = outbox.acknowledged_lost.unwrap_or(0);
        if vanished > 0 {
            problems.push(format!(
                "{vanished} orders acknowledged to the client are gone from the orders table"
            ));
        }
        let unexpired = outbox.unexpired_overlaps.unwrap_or(0);
        if claim == ClaimMode::Lease && unexpired > 0 {
            problems.push(format!(
                "{unexpired} rows claimed while another relay's lease on them was still running"
            ));
        }
        Verdict {
            naive_broken: naive.lost_events + naive.phantom_events > 0,
            outbox_holds: problems.is_empty(),
            outbox_problems: problems,
        }
    }
}
