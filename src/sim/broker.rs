//! An in-process broker with its own durable log and at-least-once delivery to one consumer group.
//!
//! The broker never crashes in this lab: what it accepted stays accepted when a service dies. The
//! consumer's position only moves when it acknowledges, so anything fetched but not acknowledged
//! before a crash is delivered again.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::model::Envelope;

#[derive(Default)]
pub struct Broker {
    log: Mutex<Log>,
    /// Signalled on every publish, for consumers that wait rather than poll.
    arrived: Condvar,
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
        self.arrived.notify_all();
        log.messages.len() - 1
    }

    /// Appends a batch of events under one lock.
    pub fn publish_all(&self, events: impl IntoIterator<Item = Envelope>) {
        let mut log = self.log();
        log.messages.extend(events.into_iter().map(Arc::new));
        self.arrived.notify_all();
    }

    /// Like [`Broker::fetch`], but waits up to `timeout` for something to arrive.
    pub fn fetch_wait(&self, max: usize, timeout: Duration) -> Vec<Delivery> {
        let deadline = Instant::now() + timeout;
        let mut log = self.log();
        while log.cursor == log.messages.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Vec::new();
            }
            log = self
                .arrived
                .wait_timeout(log, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        Self::deliveries(&log, max)
    }

    /// Up to `max` messages from the committed offset on. Until they are acknowledged, the same
    /// messages come back on the next fetch: that is the redelivery.
    pub fn fetch(&self, max: usize) -> Vec<Delivery> {
        Self::deliveries(&self.log(), max)
    }

    fn deliveries(log: &Log, max: usize) -> Vec<Delivery> {
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

    /// How many messages the consumer group has acknowledged: everything before its offset.
    pub fn acknowledged(&self) -> usize {
        self.log().cursor
    }

    /// The message at `offset`, acknowledged or not.
    pub fn get(&self, offset: usize) -> Option<Delivery> {
        self.log().messages.get(offset).map(|event| Delivery {
            offset,
            event: Arc::clone(event),
        })
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

    #[test]
    fn a_waiting_consumer_wakes_on_publish_and_times_out_on_silence() {
        let broker = Broker::new();
        assert!(broker.fetch_wait(1, Duration::from_millis(5)).is_empty());
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(20));
                broker.publish_all([event(1), event(2)]);
            });
            let got = broker.fetch_wait(10, Duration::from_secs(10));
            assert!(!got.is_empty());
        });
    }
}
