//! An in-process broker with its own durable log and at-least-once delivery to one consumer group.
//!
//! The broker never crashes in this lab: what it accepted stays accepted when a service dies. The
//! consumer's position only moves when it acknowledges, so anything fetched but not acknowledged
//! before a crash is delivered again.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::model::Envelope;

#[derive(Default)]
pub struct Broker {
    log: Mutex<Log>,
}

#[derive(Default)]
struct Log {
    messages: Vec<Arc<Envelope>>,
    /// The consumer group's committed offset: the next message it has not acknowledged.
    cursor: usize,
}

/// A message handed to the consumer, with the offset to acknowledge.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub offset: usize,
    pub event: Arc<Envelope>,
}

impl Broker {
    pub fn new() -> Self {
        Self::default()
    }

    fn log(&self) -> MutexGuard<'_, Log> {
        // The log holds no invariant a panicking holder could break half-way.
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends an event to the durable log; returns its offset.
    pub fn publish(&self, event: Envelope) -> usize {
        let mut log = self.log();
        log.messages.push(Arc::new(event));
        log.messages.len() - 1
    }

    /// Up to `max` messages from the committed offset on. Until they are acknowledged, the same
    /// messages come back on the next fetch: that is the redelivery.
    pub fn fetch(&self, max: usize) -> Vec<Delivery> {
        let log = self.log();
        let end = (log.cursor + max).min(log.messages.len());
        (log.cursor..end)
            .map(|offset| Delivery {
                offset,
                event: Arc::clone(&log.messages[offset]),
            })
            .collect()
    }

    /// Commits the consumer's position: everything before `next_offset` is done.
    pub fn ack(&self, next_offset: usize) {
        let mut log = self.log();
        log.cursor = log.cursor.max(next_offset.min(log.messages.len()));
    }

    /// Messages not yet acknowledged.
    pub fn backlog(&self) -> usize {
        let log = self.log();
        log.messages.len() - log.cursor
    }

    /// Messages ever accepted.
    pub fn published(&self) -> usize {
        self.log().messages.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::model::{Order, Pipeline};

    fn event(n: u32) -> Envelope {
        Envelope::order_placed(0, Pipeline::Outbox, &Order::generate(0, n), 0)
    }

    #[test]
    fn unacknowledged_messages_are_delivered_again() {
        let broker = Broker::new();
        broker.publish(event(1));
        broker.publish(event(2));
        let first = broker.fetch(1);
        assert_eq!(first[0].offset, 0);
        // The consumer "crashes": no ack, the same message comes back.
        assert_eq!(broker.fetch(1)[0].event.event_id, first[0].event.event_id);
        broker.ack(1);
        assert_eq!(broker.fetch(5).len(), 1);
        assert_eq!(broker.backlog(), 1);
        broker.ack(2);
        assert_eq!(broker.backlog(), 0);
        assert_eq!(broker.published(), 2);
    }
}
