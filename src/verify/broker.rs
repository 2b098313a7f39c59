//! The broker a verify run plays: it stores every publish it confirms as a message of its own (no
//! dedupe window), delivers messages to the consumer one at a time, and delivers again whatever was
//! not acknowledged, and now and then what was. On a real JetStream stream it keeps the same
//! record while the server stores, dedupes and redelivers.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::broker::{BrokerError, Delivery};
use crate::verify::stream::Stream;
use crate::verify::wire::Event;

/// One stored message: an event as one publish carried it.
#[derive(Debug)]
pub struct Message {
    pub event: Event,
    pub acked: bool,
}

/// How long the consumer waits before asking the server again when it had nothing ready.
const POLL_GAP: Duration = Duration::from_millis(5);

/// Where messages wait for the consumer.
enum Queue<'s> {
    /// msgwork's own queue: waiting messages oldest first, and the one the consumer holds.
    Local {
        pending: VecDeque<usize>,
        in_flight: Option<usize>,
    },
    Stream(Box<Remote<'s>>),
}

/// A JetStream stream and what msgwork knows of it.
struct Remote<'s> {
    stream: Stream<'s>,
    /// Message numbers by stream sequence.
    by_sequence: HashMap<u64, usize>,
    /// Stream sequences stored and not yet acknowledged on the server.
    unacked: BTreeSet<u64>,
    in_flight: Option<(usize, Delivery)>,
    /// When to ask the server for a message next.
    next_poll: Instant,
    /// Publishes the dedupe window recognised, and deliveries the server made more than once.
    deduped: u32,
    redelivered: u32,
}

/// What the broker did with one publish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stored {
    /// The message that holds the event.
    pub message: usize,
    /// The stream's dedupe window knew the event id: nothing new was stored.
    pub duplicate: bool,
}

/// What a run on a real stream shows of the server's own doing.
#[derive(Clone, Debug, serde::Serialize)]
pub struct OnStream {
    pub stream: String,
    /// Publishes the stream's dedupe window recognised by `Nats-Msg-Id` and did not store.
    pub absorbed_by_window: u32,
    /// Deliveries JetStream made again: after its ack wait, or when handed back.
    pub redelivered: u32,
}

pub struct Broker<'s> {
    messages: Vec<Message>,
    queue: Queue<'s>,
    /// Deliveries so far, by event id, over every copy of the event: its order and how many.
    deliveries: BTreeMap<String, (u32, u32)>,
    /// Orders some stored message is about.
    orders: BTreeSet<u32>,
    /// The size of every stored event, as JSON.
    bytes: usize,
}

impl std::fmt::Debug for Broker<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("messages", &self.messages.len())
            .field("on_stream", &self.on_stream())
            .finish()
    }
}

impl Default for Broker<'_> {
    fn default() -> Self {
        Broker::with(Queue::Local {
            pending: VecDeque::new(),
            in_flight: None,
        })
    }
}

impl<'s> Broker<'s> {
    fn with(queue: Queue<'s>) -> Self {
        Broker {
            messages: Vec::new(),
            queue,
            deliveries: BTreeMap::new(),
            orders: BTreeSet::new(),
            bytes: 0,
        }
    }

    /// A broker whose messages live on a JetStream stream.
    pub fn on(stream: Stream<'s>) -> Self {
        Broker::with(Queue::Stream(Box::new(Remote {
            stream,
            by_sequence: HashMap::new(),
            unacked: BTreeSet::new(),
            in_flight: None,
            next_poll: Instant::now(),
            deduped: 0,
            redelivered: 0,
        })))
    }

    fn record(&mut self, event: Event) -> usize {
        self.bytes += serde_json::to_string(&event.body).map_or(0, |text| text.len());
        self.orders.insert(event.order_id);
        self.messages.push(Message {
            event,
            acked: false,
        });
        self.messages.len() - 1
    }

    /// Stores `event` and queues it for delivery. On a stream, the event is published with its
    /// id as `Nats-Msg-Id`, and the stream may call it a duplicate and store nothing.
    pub fn store(&mut self, event: Event) -> Result<Stored, BrokerError> {
        let remote = match &mut self.queue {
            Queue::Local { pending, .. } => {
                pending.push_back(self.messages.len());
                let message = self.record(event);
                return Ok(Stored {
                    message,
                    duplicate: false,
                });
            }
            Queue::Stream(remote) => remote,
        };
        let payload = serde_json::to_vec(&event.body).unwrap_or_default();
        let ack = remote.stream.publish(&event.event_id, &payload)?;
        if let Some(&message) = remote.by_sequence.get(&ack.sequence) {
            remote.deduped += u32::from(ack.duplicate);
            return Ok(Stored {
                message,
                duplicate: true,
            });
        }
        if !ack.duplicate {
            remote.unacked.insert(ack.sequence);
        }
        remote.by_sequence.insert(ack.sequence, self.messages.len());
        remote.next_poll = Instant::now();
        Ok(Stored {
            message: self.record(event),
            duplicate: false,
        })
    }

    /// Takes the next message to deliver: the oldest, or with `skip` > 0 one of the few behind it,
    /// as a broker that does not keep order does; a stream delivers in its own order. Returns it
    /// with its delivery count.
    pub fn next(&mut self, skip: usize) -> Result<Option<(usize, &Event, u32)>, BrokerError> {
        let index = match &mut self.queue {
            Queue::Local { pending, in_flight } => {
                if in_flight.is_some() || pending.is_empty() {
                    return Ok(None);
                }
                let at = skip.min(pending.len() - 1);
                let Some(index) = pending.remove(at) else {
                    return Ok(None);
                };
                *in_flight = Some(index);
                index
            }
            Queue::Stream(remote) => {
                let now = Instant::now();
                if remote.in_flight.is_some() || remote.unacked.is_empty() || now < remote.next_poll
                {
                    return Ok(None);
                }
                let Some(delivery) = remote.stream.fetch()? else {
                    remote.next_poll = now + POLL_GAP;
                    return Ok(None);
                };
                remote.redelivered += u32::from(delivery.delivered > 1);
                let Some(&index) = remote.by_sequence.get(&delivery.stream_sequence) else {
                    // Not a message msgwork published: nothing to deliver, and nothing to keep.
                    remote.stream.ack(&delivery)?;
                    return Ok(None);
                };
                remote.in_flight = Some((index, delivery));
                index
            }
        };
        let event = &self.messages[index].event;
        let (_, count) = self
            .deliveries
            .entry(event.event_id.clone())
            .or_insert((event.order_id, 0));
        *count += 1;
        Ok(Some((index, event, *count)))
    }

    /// The consumer acknowledged the message in flight. With `again`, the broker delivers it once
    /// more later all the same: after what is queued now, or on a stream at once.
    pub fn ack(&mut self, again: bool) -> Result<Option<usize>, BrokerError> {
        let index = match &mut self.queue {
            Queue::Local { pending, in_flight } => {
                let Some(index) = in_flight.take() else {
                    return Ok(None);
                };
                if again {
                    pending.push_back(index);
                }
                index
            }
            Queue::Stream(remote) => {
                let Some((index, delivery)) = remote.in_flight.take() else {
                    return Ok(None);
                };
                if again {
                    remote.stream.give_back(&delivery);
                } else {
                    remote.stream.ack(&delivery)?;
                    remote.unacked.remove(&delivery.stream_sequence);
                }
                index
            }
        };
        self.messages[index].acked = true;
        Ok(Some(index))
    }

    /// The consumer will not acknowledge the message in flight. When it `refused` (answered
    /// `error`) the message comes back at once; when it died, msgwork's queue gives it back at
    /// the front, and a stream delivers it again once its ack wait runs out.
    pub fn give_back(&mut self, refused: bool) {
        match &mut self.queue {
            Queue::Local { pending, in_flight } => {
                if let Some(index) = in_flight.take() {
                    pending.push_front(index);
                }
            }
            Queue::Stream(remote) => {
                if let Some((_, delivery)) = remote.in_flight.take()
                    && refused
                {
                    remote.stream.give_back(&delivery);
                }
            }
        }
    }

    /// Nothing waits for delivery and nothing is in flight.
    pub fn is_idle(&self) -> bool {
        self.waiting() == 0
    }

    pub fn waiting(&self) -> usize {
        match &self.queue {
            Queue::Local { pending, in_flight } => pending.len() + usize::from(in_flight.is_some()),
            Queue::Stream(remote) => remote.unacked.len(),
        }
    }

    /// When a stream should next be asked for a message, if the consumer waits for one.
    pub fn next_poll(&self) -> Option<Instant> {
        match &self.queue {
            Queue::Stream(remote) if remote.in_flight.is_none() && !remote.unacked.is_empty() => {
                Some(remote.next_poll)
            }
            _ => None,
        }
    }

    /// What the stream did, on a real one.
    pub fn on_stream(&self) -> Option<OnStream> {
        match &self.queue {
            Queue::Local { .. } => None,
            Queue::Stream(remote) => Some(OnStream {
                stream: remote.stream.name().to_string(),
                absorbed_by_window: remote.deduped,
                redelivered: remote.redelivered,
            }),
        }
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
        let index = match &self.queue {
            Queue::Local { in_flight, .. } => *in_flight,
            Queue::Stream(remote) => remote.in_flight.as_ref().map(|(index, _)| *index),
        };
        index.map(|index| &self.messages[index].event)
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
        b.store(event("a", 1)).unwrap();
        b.store(event("b", 2)).unwrap();
        let (_, e, n) = b.next(0).unwrap().unwrap();
        assert_eq!((e.event_id.as_str(), n), ("a", 1));
        assert!(b.next(0).unwrap().is_none(), "one delivery at a time");
        b.give_back(false);
        let (_, e, n) = b.next(0).unwrap().unwrap();
        assert_eq!((e.event_id.as_str(), n), ("a", 2));
        b.ack(true).unwrap().unwrap();
        let (_, e, _) = b.next(0).unwrap().unwrap();
        assert_eq!(e.event_id, "b");
        b.ack(false).unwrap();
        let (_, e, n) = b.next(5).unwrap().unwrap();
        assert_eq!((e.event_id.as_str(), n), ("a", 3));
        b.ack(false).unwrap();
        assert!(b.is_idle());
        assert_eq!(b.redelivered().collect::<Vec<_>>(), vec![("a", 1, 3)]);
        assert!(b.has_order(2) && !b.has_order(3));
        assert_eq!(b.acked_orders(), BTreeSet::from([1, 2]));
    }
}
