//! The checker's view of a run: what the consumer received, what relays claimed, where crashes
//! landed, and the step-by-step trace. It watches the system under test and never steers it.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::Serialize;

use crate::sim::clock::Clock;
use crate::sim::crash::fault::{Fault, FaultCounts};
use crate::sim::crash::power::PowerLoss;
use crate::sim::crash::schedule::CrashPoint;
use crate::sim::crash::seen::{IdSet, OrderSet};
use crate::sim::model::Pipeline;
use crate::sim::progress::Progress;

/// Where `--trace` lines go, shared by both runs so sequence numbers run on.
pub struct TraceSink {
    out: Mutex<Box<dyn Write + Send>>,
    seq: AtomicU64,
    error: Mutex<Option<std::io::Error>>,
}

impl TraceSink {
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        TraceSink {
            out: Mutex::new(out),
            seq: AtomicU64::new(0),
            error: Mutex::new(None),
        }
    }

    fn write(&self, line: &TraceLine<'_>) {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        let result = serde_json::to_writer(&mut *out, line)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"));
        if let Err(err) = result {
            self.error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_or_insert(err);
        }
    }

    /// Flushes the trace; reports the first write error, if any.
    pub fn finish(&self) -> std::io::Result<()> {
        if let Some(err) = self
            .error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            return Err(err);
        }
        self.out
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush()
    }
}

/// The optional details of one trace line.
#[derive(Default, Serialize)]
pub struct Detail<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub point: Option<CrashPoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<&'a [i64]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// The kind of fault injected, as `--list-crash-points` names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<&'a str>,
}

#[derive(Serialize)]
struct TraceLine<'a> {
    seq: u64,
    run: &'static str,
    t_ms: u64,
    actor: &'a str,
    step: &'a str,
    #[serde(flatten)]
    detail: Detail<'a>,
}

/// The component an actor is an instance of.
fn component(actor: &str) -> &'static str {
    if actor.starts_with("relay") {
        "relay"
    } else if actor.starts_with("billing") || actor == "consumer-host" {
        "consumer"
    } else {
        "service"
    }
}

/// What the checker saw during one pipeline's run: counts, and sets kept in a few bytes per
/// order, so that its memory stays small however long the run.
pub struct Observed {
    /// Every delivery to the consumer, counted.
    pub deliveries: u64,
    /// Distinct event ids delivered.
    pub delivered: IdSet,
    /// Every publish the broker accepted, counted.
    pub publishes: u64,
    /// Distinct event ids published.
    pub published: IdSet,
    pub crashes: BTreeMap<CrashPoint, u64>,
    pub passes: u64,
    /// Passes per relay: every replica took part.
    pub passes_by_relay: BTreeMap<String, u64>,
    pub rows_claimed: u64,
    /// Row claims made while another live pass held the same row.
    pub overlapping_claims: u64,
    /// Of those, claims made before the holder's lease ran out.
    pub unexpired_overlaps: u64,
    /// Faults injected anywhere, by kind.
    pub faults: FaultCounts,
    /// The same, by the component they struck: `service`, `relay` or `consumer`.
    pub faults_by_component: BTreeMap<&'static str, FaultCounts>,
    /// Rows a relay published but could not mark because its claim had been taken over.
    pub fenced: u64,
    pub dedupe_skips: u64,
    /// Orders the service told the client were placed.
    pub acknowledged: OrderSet,
    live: HashMap<i64, Vec<u64>>,
    pass_rows: HashMap<u64, Vec<i64>>,
    /// When each live pass's lease runs out.
    pass_lease: HashMap<u64, u64>,
    /// Which relay holds each live pass.
    pass_owner: HashMap<u64, String>,
}

pub struct Observer<'a> {
    pipeline: Pipeline,
    clock: &'a dyn Clock,
    state: Mutex<Observed>,
    trace: Option<&'a TraceSink>,
    progress: &'a dyn Progress,
}

impl Observed {
    /// Nothing seen yet of a run of `orders` orders of `pipeline` under `seed`.
    pub fn new(seed: u64, pipeline: Pipeline, orders: u32) -> Self {
        Observed {
            deliveries: 0,
            delivered: IdSet::new(seed, pipeline, orders),
            publishes: 0,
            published: IdSet::new(seed, pipeline, orders),
            crashes: BTreeMap::new(),
            passes: 0,
            passes_by_relay: BTreeMap::new(),
            rows_claimed: 0,
            overlapping_claims: 0,
            unexpired_overlaps: 0,
            faults: FaultCounts::default(),
            faults_by_component: BTreeMap::new(),
            fenced: 0,
            dedupe_skips: 0,
            acknowledged: OrderSet::default(),
            live: HashMap::new(),
            pass_rows: HashMap::new(),
            pass_lease: HashMap::new(),
            pass_owner: HashMap::new(),
        }
    }
}

impl<'a> Observer<'a> {
    /// Watches a run of `orders` orders of `pipeline` under `seed`.
    pub fn new(
        (seed, pipeline, orders): (u64, Pipeline, u32),
        clock: &'a dyn Clock,
        trace: Option<&'a TraceSink>,
        progress: &'a dyn Progress,
    ) -> Self {
        Observer {
            pipeline,
            clock,
            state: Mutex::new(Observed::new(seed, pipeline, orders)),
            trace,
            progress,
        }
    }

    fn state(&self) -> MutexGuard<'_, Observed> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn into_observed(self) -> Observed {
        self.state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes one trace line, when tracing.
    pub fn trace(&self, actor: &str, step: &str, detail: Detail<'_>) {
        if let Some(sink) = self.trace {
            sink.write(&TraceLine {
                seq: sink.seq.fetch_add(1, Ordering::Relaxed),
                run: self.pipeline.name(),
                t_ms: self.clock.now(),
                actor,
                step,
                detail,
            });
        }
    }

    pub fn order_handled(&self) {
        self.progress.advance(1);
    }

    /// The service told the client that `order` was placed.
    pub fn acknowledged(&self, order: u32) {
        self.state().acknowledged.insert(order);
    }

    /// A host lost power: counted as one fault of the component it runs, with how many committed
    /// transactions its disk lost.
    pub fn power_lost(&self, loss: &PowerLoss) {
        let actor = loss.host.name();
        {
            let mut state = self.state();
            state.faults.add(Fault::PowerLoss);
            state
                .faults_by_component
                .entry(component(actor))
                .or_default()
                .add(Fault::PowerLoss);
        }
        let kind = Fault::PowerLoss.to_string();
        self.trace(
            actor,
            "fault",
            Detail {
                fault: Some(&kind),
                count: Some(loss.commits_lost),
                ..Detail::default()
            },
        );
    }

    pub fn crashed(&self, actor: &str, point: CrashPoint, order: u32) {
        *self.state().crashes.entry(point).or_insert(0) += 1;
        self.trace(
            actor,
            "crash",
            Detail {
                order: Some(order),
                point: Some(point),
                ..Detail::default()
            },
        );
    }

    pub fn published(&self, actor: &str, event_id: &str, order: Option<u32>) {
        {
            let mut state = self.state();
            state.publishes += 1;
            state.published.insert(event_id);
        }
        self.trace(
            actor,
            "publish",
            Detail {
                order,
                event_id: Some(event_id),
                ..Detail::default()
            },
        );
    }

    /// The consumer received an event; returns true when it had received this id before.
    pub fn delivered(&self, actor: &str, event_id: &str, order: Option<u32>) -> bool {
        let duplicate = {
            let mut state = self.state();
            state.deliveries += 1;
            !state.delivered.insert(event_id)
        };
        self.trace(
            actor,
            if duplicate { "redeliver" } else { "deliver" },
            Detail {
                order,
                event_id: Some(event_id),
                ..Detail::default()
            },
        );
        duplicate
    }

    pub fn dedupe_skipped(&self, actor: &str, event_id: &str, order: Option<u32>) {
        self.state().dedupe_skips += 1;
        self.trace(
            actor,
            "dedupe-skip",
            Detail {
                order,
                event_id: Some(event_id),
                ..Detail::default()
            },
        );
    }

    /// A fault struck `actor`.
    pub fn fault(&self, actor: &str, fault: Fault) {
        {
            let mut state = self.state();
            state.faults.add(fault);
            state
                .faults_by_component
                .entry(component(actor))
                .or_default()
                .add(fault);
        }
        let kind = fault.to_string();
        self.trace(
            actor,
            "fault",
            Detail {
                fault: Some(&kind),
                ..Detail::default()
            },
        );
    }

    /// A relay pass began holding `rows` until `lease_until`; returns the pass id for
    /// [`Observer::pass_ended`].
    pub fn pass_started(&self, actor: &str, rows: &[i64], lease_until: u64) -> u64 {
        let now = self.clock.now();
        let pass = {
            let mut guard = self.state();
            let state = &mut *guard;
            state.passes += 1;
            let pass = state.passes;
            match state.passes_by_relay.get_mut(actor) {
                Some(n) => *n += 1,
                None => {
                    state.passes_by_relay.insert(actor.to_string(), 1);
                }
            }
            state.rows_claimed += rows.len() as u64;
            for row in rows {
                let holders = state.live.entry(*row).or_default();
                if !holders.is_empty() {
                    let unexpired = holders
                        .iter()
                        .any(|p| state.pass_lease.get(p).is_some_and(|until| *until > now));
                    state.overlapping_claims += 1;
                    state.unexpired_overlaps += u64::from(unexpired);
                }
                holders.push(pass);
            }
            state.pass_rows.insert(pass, rows.to_vec());
            state.pass_lease.insert(pass, lease_until);
            state.pass_owner.insert(pass, actor.to_string());
            pass
        };
        self.trace(
            actor,
            "claim",
            Detail {
                rows: Some(rows),
                pass: Some(pass),
                ..Detail::default()
            },
        );
        pass
    }

    /// `actor` died: whatever passes it held end with it. Its rows stay leased in the database
    /// until the lease runs out, but nobody is working on them any more.
    pub fn died(&self, actor: &str) {
        let passes: Vec<u64> = self
            .state()
            .pass_owner
            .iter()
            .filter(|(_, owner)| *owner == actor)
            .map(|(pass, _)| *pass)
            .collect();
        for pass in passes {
            self.pass_ended(pass);
        }
    }

    /// A relay pass ended: marked its rows, or died holding them.
    pub fn pass_ended(&self, pass: u64) {
        let mut state = self.state();
        let rows = state.pass_rows.remove(&pass).unwrap_or_default();
        state.pass_lease.remove(&pass);
        state.pass_owner.remove(&pass);
        for row in rows {
            if let Some(holders) = state.live.get_mut(&row) {
                holders.retain(|p| *p != pass);
                if holders.is_empty() {
                    state.live.remove(&row);
                }
            }
        }
    }

    pub fn marked(&self, actor: &str, pass: u64, marked: usize, fenced: usize) {
        self.state().fenced += fenced as u64;
        self.trace(
            actor,
            if fenced == 0 {
                "mark-sent"
            } else {
                "mark-fenced"
            },
            Detail {
                pass: Some(pass),
                count: Some(marked as u64),
                ..Detail::default()
            },
        );
    }
}
