//! An in-process broker with its own durable log and at-least-once delivery to one consumer group.
//!
//! The broker never crashes in this lab: what it accepted stays accepted when a service dies. The
//! consumer's position only moves when it acknowledges, so anything fetched but not acknowledged
//! before a crash is delivered again.
//!
//! Acknowledged messages stay in the log, since a broker fault may hand one out again. The lab's
//! own `OrderPlaced` events are kept as their order and moment, eight bytes each, and made again
//! when fetched, byte for byte as they were published, so that the log of a million orders, and a
//! backlog of hundreds of thousands when the consumer falls behind, fit in a few megabytes. A
//! relay on PostgreSQL publishes the payload as `jsonb` prints it, with a space after each colon
//! and comma; a flag in the packed entry remakes it in that form.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::model::{Envelope, Order, Pipeline, order_event_parts};

#[derive(Default)]
pub struct Broker {
    log: Mutex<Log>,
    /// Signalled on every publish, for consumers that wait rather than poll.
    arrived: Condvar,
    /// The seed and pipeline whose events an acknowledged message may be remade from.
    remake: Option<(u64, Pipeline)>,
}

#[derive(Default)]
struct Log {
    /// Every message, by offset, packed by [`Broker::pack`].
    messages: Vec<u64>,
    /// Messages that cannot be remade, by the index a packed entry names.
    kept: Vec<Arc<Envelope>>,
    /// The consumer group's committed offset: the next message it has not acknowledged.
    cursor: usize,
}

/// Marks a packed entry that names an index into [`Log::kept`] rather than an order.
const KEPT: u64 = 1 << 63;

/// Marks a packed entry whose payload was published as PostgreSQL's `jsonb` prints it.
const SPACED: u64 = 1 << 62;

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

    /// A broker that keeps acknowledged `OrderPlaced` events of `pipeline` under `seed` as their
    /// order and moment, and makes them again when one is asked for.
    pub fn remaking(seed: u64, pipeline: Pipeline) -> Self {
        Broker {
            remake: Some((seed, pipeline)),
            ..Self::default()
        }
    }

    /// A message, packed: its order and moment when remaking it gives the same event, else its
    /// index in `kept`.
    fn pack(&self, kept: &mut Vec<Arc<Envelope>>, event: Envelope) -> u64 {
        if let Some((seed, pipeline)) = self.remake
            && let Some((order, at_ms)) = order_event_parts(seed, pipeline, &event.event_id)
            && u64::from(order) < SPACED >> 32
            && let Ok(at) = u32::try_from(at_ms)
        {
            let packed = u64::from(order) << 32 | u64::from(at);
            let remade = Self::remade(seed, pipeline, order, at_ms);
            if remade == event {
                return packed;
            }
            if spaced(remade) == event {
                return packed | SPACED;
            }
        }
        kept.push(Arc::new(event));
        KEPT | (kept.len() - 1) as u64
    }

    fn unpack(&self, log: &Log, offset: usize) -> Option<Delivery> {
        let packed = *log.messages.get(offset)?;
        let event = if packed & KEPT != 0 {
            Arc::clone(log.kept.get((packed & !KEPT) as usize)?)
        } else {
            let (seed, pipeline) = self.remake?;
            let (order, at_ms) = (((packed & !SPACED) >> 32) as u32, packed & 0xffff_ffff);
            let remade = Self::remade(seed, pipeline, order, at_ms);
            Arc::new(if packed & SPACED != 0 {
                spaced(remade)
            } else {
                remade
            })
        };
        Some(Delivery { offset, event })
    }

    fn remade(seed: u64, pipeline: Pipeline, order: u32, at_ms: u64) -> Envelope {
        Envelope::order_placed(seed, pipeline, &Order::generate(seed, order), at_ms)
    }

    fn log(&self) -> MutexGuard<'_, Log> {
        // The log holds no invariant a panicking holder could break half-way.
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends an event to the durable log; returns its offset.
    pub fn publish(&self, event: Envelope) -> usize {
        let mut guard = self.log();
        let log = &mut *guard;
        let packed = self.pack(&mut log.kept, event);
        log.messages.push(packed);
        self.arrived.notify_all();
        log.messages.len() - 1
    }

    /// Appends a batch of events under one lock.
    pub fn publish_all(&self, events: impl IntoIterator<Item = Envelope>) {
        let mut guard = self.log();
        let log = &mut *guard;
        for event in events {
            let packed = self.pack(&mut log.kept, event);
            log.messages.push(packed);
        }
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
        self.deliveries(&log, max)
    }

    /// Up to `max` messages from the committed offset on. Until they are acknowledged, the same
    /// messages come back on the next fetch: that is the redelivery.
    pub fn fetch(&self, max: usize) -> Vec<Delivery> {
        self.deliveries(&self.log(), max)
    }

    fn deliveries(&self, log: &Log, max: usize) -> Vec<Delivery> {
        let end = log.cursor.saturating_add(max).min(log.messages.len());
        (log.cursor..end)
            .filter_map(|offset| self.unpack(log, offset))
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
        self.unpack(&self.log(), offset)
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

    /// Messages the log holds whole, because they could not be remade from their order and
    /// moment: what its memory grows with beyond eight bytes a message.
    pub fn held_whole(&self) -> usize {
        self.log().kept.len()
    }
}

/// `event` with its payload printed as PostgreSQL prints a `jsonb` value: a space after each
/// colon and each comma. (Its keys, sorted shortest first, are already in that order.)
fn spaced(mut event: Envelope) -> Envelope {
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&event.payload) {
        let mut out = Vec::with_capacity(event.payload.len() + 8);
        let mut writer = serde_json::Serializer::with_formatter(&mut out, Spaced);
        if serde::Serialize::serialize(&value, &mut writer).is_ok()
            && let Ok(text) = String::from_utf8(out)
        {
            event.payload = text;
        }
    }
    event
}

/// JSON with `jsonb`'s separators.
struct Spaced;

impl serde_json::ser::Formatter for Spaced {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        comma(writer, first)
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        comma(writer, first)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b": ")
    }
}

/// `jsonb`'s separator before every element but the first.
fn comma<W: ?Sized + std::io::Write>(writer: &mut W, first: bool) -> std::io::Result<()> {
    if first {
        Ok(())
    } else {
        writer.write_all(b", ")
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
    fn messages_come_back_whole_whether_remade_or_kept() {
        let broker = Broker::remaking(0, Pipeline::Outbox);
        let mut odd = event(3);
        odd.payload.push(' ');
        let other_seed = Envelope::order_placed(9, Pipeline::Outbox, &Order::generate(9, 4), 7);
        let far = Envelope::order_placed(
            0,
            Pipeline::Outbox,
            &Order::generate(0, 5),
            u64::from(u32::MAX) + 1,
        );
        // As a relay on PostgreSQL reads it back: remade, not kept.
        let from_jsonb = spaced(event(7));
        assert!(from_jsonb.payload.contains("\": ") && from_jsonb.payload.contains(", \""));
        let sent = [
            event(1),
            event(2),
            odd,
            other_seed,
            far,
            event(6),
            from_jsonb,
        ];
        for e in &sent {
            broker.publish(e.clone());
        }
        broker.ack(2);
        broker.ack(1);
        broker.ack(5);
        assert_eq!(broker.acknowledged(), 5);
        assert_eq!(broker.backlog(), 2);
        assert_eq!(*broker.fetch(9)[0].event, sent[5]);
        for (offset, e) in sent.iter().enumerate() {
            let got = broker.get(offset).unwrap();
            assert_eq!((got.offset, &*got.event), (offset, e));
        }
        assert!(broker.get(sent.len()).is_none());
        assert_eq!(
            broker.held_whole(),
            3,
            "only what cannot be remade is kept whole"
        );
        broker.ack(100);
        assert_eq!((broker.backlog(), broker.published()), (0, 7));
        assert_eq!(broker.fetch(3).len(), 0);
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
