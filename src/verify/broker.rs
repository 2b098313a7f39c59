//! The broker a verify run plays: it stores every publish it confirms as a message of its own (no
//! dedupe window), delivers messages to the consumer one at a time, and delivers again whatever was
//! not acknowledged, and now and then what was.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::verify::wire::Event;

/// One stored message: an event as one publish carried it.
#[derive(Debug)]
pub struct Message {
    pub event: Event,
    pub acked: bool,
}

#[derive(Debug, Default)]
pub struct Broker {
    messages: Vec<Message>,
    /// Messages waiting for delivery, oldest first.
    pending: VecDeque<usize>,
    /// The message the consumer holds now, if any.
    in_flight: Option<usize>,
    /// Deliveries so far, by event id, over every copy of the event: its order and how many.
    deliveries: BTreeMap<String, (u32, u32)>,
    /// Orders some stored message is about.
    orders: BTreeSet<u32>,
    /// The size of every stored event, as JSON.
    bytes: usize,
}

impl Broker {
    /// Stores `event` and queues it for delivery; returns its message number.
    pub fn store(&mut self, event: Event) -> usize {
        self.bytes += serde_json::to_string(&event.body).map_or(0, |text| text.len());
        self.orders.insert(event.order_id);
        self.messages.push(Message {
            event,
            acked: false,
        });
        let index = self.messages.len() - 1;
        self.pending.push_back(index);
        index
    }

    /// Takes the next message to deliver: the oldest, or with `skip` > 0 one of the few behind it,
    /// as a broker that does not keep order does. Returns it with its delivery count.
    pub fn next(&mut self, skip: usize) -> Option<(usize, &Event, u32)> {
        if self.in_flight.is_some() || self.pending.is_empty() {
            return None;
        }
        let at = skip.min(self.pending.len() - 1);
        let index = self.pending.remove(at)?;
        self.in_flight = Some(index);
        let event = &self.messages[index].event;
        let (_, count) = self
            .deliveries
            .entry(event.event_id.clone())
            .or_insert((event.order_id, 0));
        *count += 1;
        Some((index, event, *count))
    }

    /// The consumer acknowledged the message in flight.
    pub fn ack(&mut self) -> Option<usize> {
        let index = self.in_flight.take()?;
        self.messages[index].acked = true;
        Some(index)
    }

    /// The consumer will not acknowledge the message in flight (it died, or answered `error`): it
    /// goes back to the front of the queue.
    pub fn give_back(&mut self) {
        if let Some(index) = self.in_flight.take() {
            self.pending.push_front(index);
        }
    }

    /// Delivers an acknowledged message once more, after what is queued now.
    pub fn redeliver(&mut self, index: usize) {
        if index < self.messages.len() {
            self.pending.push_back(index);
        }
    }

    /// Nothing waits for delivery and nothing is in flight.
    pub fn is_idle(&self) -> bool {
        self.pending.is_empty() && self.in_flight.is_none()
    }

    pub fn waiting(&self) -> usize {
        self.pending.len() + usize::from(self.in_flight.is_some())
    }

    pub fn message(&self, index: usize) -> &Message {
        &self.messages[index]
    }

    /// How many bytes of events the broker holds.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn stored(&self) -> usize {
        self.messages.len()
    }

    /// The event the consumer holds now, delivered and not yet acknowledged.
    pub fn in_flight(&self) -> Option<&Event> {
        self.in_flight.map(|index| &self.messages[index].event)
    }

    /// Event ids delivered more than once: the id, its order and how many times.
    pub fn redelivered(&self) -> impl Iterator<Item = (&str, u32, u32)> {
        self.deliveries
            .iter()
            .filter(|(_, (_, n))| *n > 1)
            .map(|(id, (order, n))| (id.as_str(), *order, *n))
    }

    /// Orders an event of which reached the consumer at least once.
    pub fn delivered_orders(&self) -> BTreeSet<u32> {
        self.deliveries.values().map(|(order, _)| *order).collect()
    }

    /// Orders an event of which the consumer acknowledged.
    pub fn acked_orders(&self) -> BTreeSet<u32> {
        self.messages
            .iter()
            .filter(|m| m.acked)
            .map(|m| m.event.order_id)
            .collect()
    }

    /// Whether any message of `order_id` was ever stored.
    pub fn has_order(&self, order_id: u32) -> bool {
        self.orders.contains(&order_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, order: u32) -> Event {
        Event {
            event_id: id.into(),
            order_id: order,
            body: Default::default(),
        }
    }

    #[test]
    fn unacknowledged_messages_come_back_first() {
        let mut b = Broker::default();
        b.store(event("a", 1));
        b.store(event("b", 2));
        let (_, e, n) = b.next(0).unwrap();
        assert_eq!((e.event_id.as_str(), n), ("a", 1));
        assert!(b.next(0).is_none(), "one delivery at a time");
        b.give_back();
        let (_, e, n) = b.next(0).unwrap();
        assert_eq!((e.event_id.as_str(), n), ("a", 2));
        let acked = b.ack().unwrap();
        b.redeliver(acked);
        let (_, e, _) = b.next(0).unwrap();
        assert_eq!(e.event_id, "b");
        b.ack();
        let (_, e, n) = b.next(5).unwrap();
        assert_eq!((e.event_id.as_str(), n), ("a", 3));
        b.ack();
        assert!(b.is_idle());
        assert_eq!(b.redelivered().collect::<Vec<_>>(), vec![("a", 1, 3)]);
        assert!(b.has_order(2) && !b.has_order(3));
        assert_eq!(b.acked_orders(), BTreeSet::from([1, 2]));
    }
}
