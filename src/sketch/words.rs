//! What comments and pseudocode say: talk of publishing to a broker and of publishing later or
//! elsewhere, read as words so prose counts as much as SQL.

pub(super) fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

const PUBLISH_WORDS: &[&str] = &[
    "publish",
    "publishes",
    "publishing",
    "produce",
    "produces",
    "producer",
    "kafka",
    "rabbitmq",
    "rabbit",
    "amqp",
    "broker",
    "sns",
    "sqs",
    "nats",
    "pubsub",
    "kinesis",
    "eventbridge",
    "emit",
    "emits",
    "webhook",
];

fn publish_word(w: &str) -> bool {
    PUBLISH_WORDS.contains(&w) || w.split('_').any(|p| PUBLISH_WORDS.contains(&p))
}

/// Text that talks about sending to the broker.
pub(super) fn mentions_publish(text: &str) -> bool {
    let ws = words(text);
    ws.iter().any(|w| publish_word(w))
        || (ws.iter().any(|w| w == "send" || w == "sends")
            && ws.iter().any(|w| {
                ["event", "message", "bookingcreated", "notification"].contains(&w.as_str())
            }))
}

/// Text that says publishing happens elsewhere or later ("no publish here: the relay does it").
pub(super) fn defers_publish(text: &str) -> bool {
    let ws = words(text);
    ws.iter().any(|w| {
        [
            "not",
            "never",
            "no",
            "don",
            "dont",
            "nothing",
            "instead",
            "later",
            "relay",
            "after",
            "outbox",
            "async",
            "afterwards",
            "will",
            "eventually",
            "via",
        ]
        .contains(&w.as_str())
    })
}

pub(super) fn publish_call(name: &str) -> bool {
    if name.contains("notify") || name.starts_with("json") {
        return false;
    }
    name.split('.').any(publish_word)
        || name.ends_with(".send") && name.split('.').any(|p| p.contains("produc") || p == "bus")
}
