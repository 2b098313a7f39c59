//! An order's life as a sequence diagram: one lane per party (client, service, relays, broker,
//! consumer), and each trace entry as a message between lanes, a kill, or a note on one lane.

use crate::verify::trace::{Entry, What};

/// How a step is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A request: a solid arrow.
    Request,
    /// An answer: a dashed arrow.
    Reply,
    /// Something that happened on one lane.
    Note,
    /// A SIGKILL.
    Kill,
}

/// One row of the diagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub ms: u64,
    pub from: usize,
    /// Equal to `from` for a note or a kill.
    pub to: usize,
    pub kind: Kind,
    pub label: String,
}

/// The lanes, left to right, and the steps, top to bottom.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lanes {
    pub title: String,
    pub lanes: Vec<String>,
    pub steps: Vec<Step>,
}

/// Where a party's lane goes: the client first, then the service and its relays, the broker
/// and the consumer, as the order travels.
fn rank(name: &str) -> (u32, u32) {
    match name {
        "client" => (0, 0),
        "service" => (1, 0),
        "broker" => (3, 0),
        "consumer" => (4, 0),
        relay => (2, relay.trim_start_matches("relay-").parse().unwrap_or(0)),
    }
}

/// The diagram of `timeline`, the life of `order`.
pub fn of(order: u32, timeline: &[Entry]) -> Lanes {
    let mut names: Vec<&str> = vec!["client", "broker"];
    for entry in timeline {
        if !names.contains(&entry.node.as_str()) {
            names.push(&entry.node);
        }
    }
    names.sort_by_key(|n| rank(n));
    let lane = |name: &str| names.iter().position(|n| *n == name).unwrap_or(0);
    let who = |entry: &Entry| {
        if entry.incarnation > 0 {
            format!("{}#{}", entry.node, entry.incarnation)
        } else {
            entry.node.clone()
        }
    };
    let mut steps = Vec::new();
    for entry in timeline {
        let node = lane(&entry.node);
        let (client, broker) = (lane("client"), lane("broker"));
        let (from, to, kind, label) = match &entry.what {
            What::Started => (node, node, Kind::Note, format!("{} started", who(entry))),
            What::OrderSent => (client, node, Kind::Request, format!("place_order {order}")),
            What::OrderPlaced => (node, client, Kind::Reply, "order_placed".into()),
            What::Error { text } => {
                let to = if entry.node == "service" {
                    client
                } else {
                    broker
                };
                (
                    node,
                    to,
                    Kind::Reply,
                    format!("error: {}", crate::verify::wire::clip(text, 40)),
                )
            }
            What::Publish { event_id } => {
                (node, broker, Kind::Request, format!("publish {event_id}"))
            }
            What::Stored { event_id, .. } => {
                (broker, broker, Kind::Note, format!("stored {event_id}"))
            }
            What::Deduped { event_id } => (
                broker,
                broker,
                Kind::Note,
                format!("{event_id} already stored"),
            ),
            What::PublishOk { .. } => (broker, node, Kind::Reply, "publish_ok".into()),
            What::PublishFailed { stored, .. } => (
                broker,
                node,
                Kind::Reply,
                format!(
                    "publish_failed ({})",
                    if *stored { "stored anyway" } else { "lost" }
                ),
            ),
            What::Deliver { event_id, delivery } => (
                broker,
                node,
                Kind::Request,
                format!("deliver {event_id} #{delivery}"),
            ),
            What::Acked { .. } => (node, broker, Kind::Reply, "ack".into()),
            What::AckLost { .. } => (node, broker, Kind::Reply, "ack (never recorded)".into()),
            What::Redeliver { event_id } => (
                broker,
                broker,
                Kind::Note,
                format!("will deliver {event_id} again"),
            ),
            What::Killed { strike, .. } => (
                node,
                node,
                Kind::Kill,
                format!("{} killed [{strike}]", who(entry)),
            ),
        };
        steps.push(Step {
            ms: entry.ms,
            from,
            to,
            kind,
            label,
        });
    }
    Lanes {
        title: format!("The life of order {order}"),
        lanes: names.into_iter().map(str::to_string).collect(),
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(node: &str, what: What) -> Entry {
        Entry {
            ms: 1,
            node: node.into(),
            incarnation: 0,
            order: Some(3),
            what,
        }
    }

    #[test]
    fn lanes_follow_the_order_and_steps_point_the_right_way() {
        let timeline = [
            entry("service", What::OrderSent),
            entry(
                "relay-2",
                What::Publish {
                    event_id: "e".into(),
                },
            ),
            entry(
                "broker",
                What::Stored {
                    event_id: "e".into(),
                    message: 0,
                },
            ),
            entry(
                "relay-2",
                What::Killed {
                    strike: "relay-2:published:1".into(),
                    doing: String::new(),
                },
            ),
            entry(
                "consumer",
                What::Deliver {
                    event_id: "e".into(),
                    delivery: 1,
                },
            ),
            entry(
                "consumer",
                What::Acked {
                    event_id: "e".into(),
                },
            ),
        ];
        let lanes = of(3, &timeline);
        assert_eq!(
            lanes.lanes,
            ["client", "service", "relay-2", "broker", "consumer"]
        );
        let s = &lanes.steps;
        assert_eq!((s[0].from, s[0].to, s[0].kind), (0, 1, Kind::Request));
        assert_eq!((s[1].from, s[1].to), (2, 3));
        assert_eq!((s[2].from, s[2].to, s[2].kind), (3, 3, Kind::Note));
        assert_eq!(s[3].kind, Kind::Kill);
        assert_eq!((s[4].from, s[4].to), (3, 4));
        assert_eq!((s[5].from, s[5].to, s[5].kind), (4, 3, Kind::Reply));
    }
}
