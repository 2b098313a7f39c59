//! A verify run's outcome: the verdict and its counts, which step of the lab the learner's code
//! has reached, and for a failure the story of the first order that went wrong, told from the
//! trace.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::verify::check::Counts;
use crate::verify::run::Ran;
use crate::verify::schedule::Strike;
use crate::verify::trace::{Entry, What};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every invariant held.
    Held,
    /// An invariant broke.
    Broken,
    /// The pipeline never went quiet, so nothing could be judged finally.
    Unsettled,
}

/// One step of the lab and whether this run shows it done.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub number: u32,
    pub name: &'static str,
    pub done: bool,
    pub evidence: String,
}

/// The life of the first order that broke an invariant.
#[derive(Clone, Debug, Serialize)]
pub struct Story {
    pub order: u32,
    pub problem: &'static str,
    pub explanation: String,
    pub timeline: Vec<Entry>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub seed: u64,
    pub orders: u32,
    pub relays: u32,
    pub verdict: Verdict,
    pub counts: Counts,
    pub steps: Vec<Step>,
    pub kills: usize,
    /// How often each kind of strike fired.
    pub strikes: BTreeMap<&'static str, u32>,
    /// Every strike that fired, in order: with `--schedule`, the run replays them.
    pub fired: Vec<Strike>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsettled: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_broken: Option<Story>,
    /// Events two live relays both published, the first ten.
    pub overlaps: Vec<crate::verify::run::Overlap>,
    /// `error` answers the processes gave: node and text, the first few.
    pub errors: Vec<(String, String)>,
    pub processes_started: u32,
    pub elapsed_ms: u64,
    /// On a real broker (`--broker`): its stream, and what the server itself absorbed and redelivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_stream: Option<crate::verify::broker::OnStream>,
}

/// What a recorded run keeps of one seed: enough for evidence, without the trace.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct Summary {
    pub seed: u64,
    pub verdict: Verdict,
    pub lost: usize,
    pub phantom: usize,
    pub double_applied: usize,
    pub mischarged: usize,
    #[serde(default)]
    pub undelivered: usize,
    #[serde(default)]
    pub refused: usize,
    pub broken_promises: usize,
    pub relay_overlap: usize,
    pub duplicates_absorbed: usize,
    pub kills: usize,
    pub steps_done: Vec<u32>,
}

impl Outcome {
    pub fn summary(&self) -> Summary {
        let c = &self.counts;
        Summary {
            seed: self.seed,
            verdict: self.verdict,
            lost: c.lost.len(),
            phantom: c.phantom.len(),
            double_applied: c.double_applied.len(),
            mischarged: c.mischarged.len(),
            undelivered: c.undelivered.len(),
            refused: c.refused.len(),
            broken_promises: c.broken_promises.len(),
            relay_overlap: c.relay_overlap,
            duplicates_absorbed: c.duplicates_absorbed,
            kills: self.kills,
            steps_done: self
                .steps
                .iter()
                .filter(|s| s.done)
                .map(|s| s.number)
                .collect(),
        }
    }

    pub fn new(seed: u64, orders: u32, relays: u32, counts: Counts, ran: &Ran) -> Outcome {
        let verdict = if !counts.held() {
            Verdict::Broken
        } else if ran.unsettled.is_some() {
            Verdict::Unsettled
        } else {
            Verdict::Held
        };
        let mut strikes = BTreeMap::new();
        for s in &ran.fired {
            *strikes.entry(s.point.name()).or_insert(0) += 1;
        }
        let first_broken = counts
            .first_broken()
            .map(|order| story(order, &counts, ran));
        Outcome {
            seed,
            orders,
            relays,
            verdict,
            steps: steps(&counts, ran),
            kills: ran.fired.iter().filter(|s| s.point.kills()).count(),
            strikes,
            fired: ran.fired.clone(),
            unsettled: ran.unsettled.as_ref().map(|u| u.reason.clone()),
            first_broken,
            overlaps: ran.overlaps.iter().take(10).cloned().collect(),
            errors: ran.errors.clone(),
            processes_started: ran.started,
            elapsed_ms: ran.elapsed.as_millis() as u64,
            on_stream: ran.broker.on_stream(),
            counts,
        }
    }

    /// The step the learner is on: the first one not done, if any.
    pub fn step_to_work_on(&self) -> Option<&Step> {
        self.steps.iter().find(|s| !s.done)
    }
}

fn steps(counts: &Counts, ran: &Ran) -> Vec<Step> {
    let acked = ran.broker.acked_orders();
    let lost_before_broker: Vec<u32> = counts
        .lost
        .iter()
        .copied()
        .filter(|o| !ran.broker.has_order(*o))
        .collect();
    let lost_at_consumer: Vec<u32> = counts
        .lost
        .iter()
        .copied()
        .filter(|o| acked.contains(o))
        .collect();
    let outbox = !ran.service_published && ran.relays_published;
    vec![
        Step {
            number: 1,
            name: "the outbox row commits with the order, and a relay publishes it",
            done: outbox && lost_before_broker.is_empty() && counts.phantom.is_empty(),
            evidence: if ran.service_published {
                "your service publishes events itself, after its commit: a kill in between loses the event".into()
            } else if !ran.relays_published {
                "no relay published anything".into()
            } else if let Some(o) = lost_before_broker.first() {
                format!("order {o} committed, but its event never reached the broker")
            } else {
                "only relays published, and every committed order's event reached the broker".into()
            },
        },
        Step {
            number: 2,
            name: "relays claim disjoint batches",
            done: outbox && counts.relay_overlap == 0,
            evidence: match ran.overlaps.first() {
                Some(o) => format!(
                    "{} and {} both published {} (order {}), and neither was killed in between",
                    o.first, o.second, o.event_id, o.order
                ),
                None if outbox => "no event was published by two live relays".into(),
                None => "needs step 1 first".into(),
            },
        },
        Step {
            number: 3,
            name: "a row is marked sent only after the broker confirmed it",
            done: outbox && lost_before_broker.is_empty() && ran.unsettled.is_none(),
            evidence: if let Some(u) = &ran.unsettled {
                u.reason.clone()
            } else if !outbox {
                "needs step 1 first".into()
            } else if let Some(o) = lost_before_broker.first() {
                format!(
                    "order {o}'s event was never confirmed by the broker, and no relay sent it again"
                )
            } else {
                "every committed order's event was confirmed, and the relays went quiet".into()
            },
        },
        Step {
            number: 4,
            name: "the consumer dedupes on the event id in the charge's transaction",
            done: counts.double_applied.is_empty() && lost_at_consumer.is_empty(),
            evidence: if let Some(o) = counts.double_applied.first() {
                format!("order {o} was charged more than once")
            } else if let Some(o) = lost_at_consumer.first() {
                format!("the consumer acked order {o}'s event, but no charge for it committed")
            } else if counts.duplicates_absorbed > 0 {
                format!(
                    "{} duplicate deliveries, each charged once",
                    counts.duplicates_absorbed
                )
            } else {
                "nothing was charged twice".into()
            },
        },
    ]
}

fn story(order: u32, counts: &Counts, ran: &Ran) -> Story {
    let timeline: Vec<Entry> = ran.trace.of_order(order).into_iter().cloned().collect();
    let kills: Vec<(&str, &str)> = timeline
        .iter()
        .filter_map(|e| match &e.what {
            What::Killed { strike, .. } => Some((e.node.as_str(), strike.as_str())),
            _ => None,
        })
        .collect();
    let kill_words = |node: &str| -> Option<String> {
        kills.iter().find(|(n, _)| *n == node).map(|(_, s)| {
            let point = s
                .parse::<Strike>()
                .map(|s| s.point.describe())
                .unwrap_or("killed");
            format!("{point} ({s})")
        })
    };
    let published_by: Vec<&str> = timeline
        .iter()
        .filter_map(|e| matches!(e.what, What::Publish { .. }).then_some(e.node.as_str()))
        .collect();
    let deliveries = timeline
        .iter()
        .filter(|e| matches!(e.what, What::Deliver { .. }))
        .count();
    let ids: std::collections::BTreeSet<&str> = timeline
        .iter()
        .filter_map(|e| match &e.what {
            What::Stored { event_id, .. } => Some(event_id.as_str()),
            _ => None,
        })
        .collect();
    let (problem, explanation) = if counts.lost.contains(&order) {
        let text = if !ran.broker.has_order(order) {
            let publisher = published_by.first().copied().unwrap_or("service");
            let lost_publish = timeline
                .iter()
                .any(|e| matches!(&e.what, What::PublishFailed { stored: false, .. }));
            match (kill_words(publisher), published_by.is_empty()) {
                (_, true) if ran.relays_published || !ran.service_published => format!(
                    "Order {order} is in `orders`, but no event for it was ever published{}. \
                     Is its outbox row written in the same transaction as the order, and does \
                     a relay pick every unsent row up?",
                    kill_words("service")
                        .map(|k| format!("; the service was {k}"))
                        .unwrap_or_default()
                ),
                (Some(k), _) => format!(
                    "{publisher} committed order {order} and was {k}. The broker never stored its \
                     event, and nothing sent it again: {}",
                    if publisher == "service" {
                        "a service that commits and then publishes has nowhere to remember the \
                         event. Write it to an outbox in the same transaction"
                    } else {
                        "was the row marked sent before the broker confirmed it?"
                    }
                ),
                (None, _) if lost_publish => format!(
                    "The broker lost the publish of order {order}'s event and answered \
                     publish_failed, and nothing sent it again: keep the event until a publish \
                     of it is confirmed"
                ),
                (None, _) => format!(
                    "Order {order} committed, but the broker never stored its event: it was \
                     published only in ways that never got a publish_ok"
                ),
            }
        } else if ran.broker.acked_orders().contains(&order) {
            format!(
                "The consumer acked order {order}'s event ({deliveries} deliveries){}, but \
                 `charges` has no row for it. Ack only after the charge commits, and record the \
                 event as seen in the same transaction as the charge, never before it",
                kill_words("consumer")
                    .map(|k| format!("; it was {k}"))
                    .unwrap_or_default()
            )
        } else {
            format!("Order {order}'s event reached the broker, but the consumer never charged it")
        };
        ("lost", text)
    } else if counts.phantom.contains(&order) {
        (
            "phantom",
            format!(
                "`charges` has order {order}, but `orders` does not: an event left for an order \
                 that never committed. Publish only what committed: the outbox row commits with \
                 the order, or not at all"
            ),
        )
    } else if counts.double_applied.contains(&order) {
        let text = if ids.len() > 1 {
            format!(
                "Order {order} was published under {} different event ids ({}), so no dedupe \
                 on the id could tell they were one event. A republished event keeps its id",
                ids.len(),
                ids.iter().copied().collect::<Vec<_>>().join(", ")
            )
        } else {
            format!(
                "Order {order}'s event was delivered {deliveries} times and charged more than \
                 once{}. The consumer must remember the event id in the same transaction as the \
                 charge, and skip an event it has seen",
                kill_words("consumer")
                    .map(|k| format!("; the consumer was {k}"))
                    .unwrap_or_default()
            )
        };
        ("double-applied", text)
    } else if counts.refused.contains(&order) {
        let text = timeline
            .iter()
            .find_map(|e| match &e.what {
                What::Error { text } if e.node == "service" => Some(text.clone()),
                _ => None,
            })
            .unwrap_or_default();
        (
            "refused",
            format!(
                "The service answered `error` for order {order} ({text}): every order the client \
                 places must be committed and answered order_placed"
            ),
        )
    } else if counts.undelivered.contains(&order) {
        (
            "charged without delivery",
            format!(
                "`charges` has order {order}, but its event was never delivered to your consumer: \
                 a charge must come from consuming the event, not from reading another service's \
                 data"
            ),
        )
    } else if counts.mischarged.contains(&order) {
        (
            "mischarged",
            format!("Order {order} was charged once, but not its own amount"),
        )
    } else {
        (
            "broken promise",
            format!(
                "The service answered order_placed for order {order}, but `orders` has no row \
                 for it. Answer only after the order commits"
            ),
        )
    };
    let mut explanation = explanation;
    if !explanation.ends_with(['.', '?']) {
        explanation.push('.');
    }
    Story {
        order,
        problem,
        explanation,
        timeline,
    }
}
