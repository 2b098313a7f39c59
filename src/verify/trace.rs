//! What happened in a verify run, in order: every order, publish, delivery, ack and kill, so the
//! report can tell the life of the first order that went wrong.

use serde::Serialize;

/// One thing that happened, at `ms` after the run started.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    pub ms: u64,
    /// `service`, `relay-2`, `consumer`, or `broker`/`client` for msgwork's own parts.
    pub node: String,
    /// The node's incarnation at the time.
    pub incarnation: u32,
    /// The order it concerns, if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<u32>,
    pub what: What,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum What {
    Started,
    OrderSent,
    OrderPlaced,
    /// The process answered `error`.
    Error {
        text: String,
    },
    Publish {
        event_id: String,
    },
    /// The broker stored the publish.
    Stored {
        event_id: String,
        message: usize,
    },
    /// The stream's dedupe window knew the event id and stored nothing new.
    Deduped {
        event_id: String,
    },
    PublishOk {
        event_id: String,
    },
    PublishFailed {
        event_id: String,
        stored: bool,
    },
    Deliver {
        event_id: String,
        delivery: u32,
    },
    Acked {
        event_id: String,
    },
    /// The consumer's ack was read but the broker never recorded it: the process died first.
    AckLost {
        event_id: String,
    },
    Redeliver {
        event_id: String,
    },
    Killed {
        strike: String,
        doing: String,
    },
}

#[derive(Debug, Default)]
pub struct Trace {
    pub entries: Vec<Entry>,
}

impl Trace {
    pub fn push(&mut self, ms: u64, node: &str, incarnation: u32, order: Option<u32>, what: What) {
        self.entries.push(Entry {
            ms,
            node: node.to_string(),
            incarnation,
            order,
            what,
        });
    }

    /// The entries about `order`, and the kills of processes while they were busy with it.
    pub fn of_order(&self, order: u32) -> Vec<&Entry> {
        self.entries
            .iter()
            .filter(|e| e.order == Some(order))
            .collect()
    }
}
