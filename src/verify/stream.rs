//! A verify run's events on a real NATS JetStream server: one stream and one durable pull
//! consumer per run, named after it. msgwork is the bridge: it publishes what the learner's
//! processes publish, with the event id as `Nats-Msg-Id`, and pulls what their consumer is given.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::broker::run::{RunStreams, names, run_tag};
use crate::broker::{BrokerError, Delivery, Retention, Session, StreamSpec};

/// How long a delivery may go unacknowledged before JetStream sends it again: short, so a
/// consumer killed before its ack sees the message again within the run.
pub const ACK_WAIT: Duration = Duration::from_secs(1);
/// The stream's dedupe window: a publish with an event id it stored this recently is confirmed
/// and not stored again. Short, so a resend after a lease runs out is stored as a new message.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(1);
/// The durable consumer the learner's consumer pulls from.
const DURABLE: &str = "consumer";

/// Tells apart the streams of runs made in the same instant by one process.
static MADE: AtomicU64 = AtomicU64::new(0);

/// One run's stream and consumer, made on [`Stream::open`] and deleted by the [`RunStreams`]
/// that made them.
pub struct Stream<'s> {
    session: &'s Session,
    name: String,
    subject: String,
}

/// What the stream said to one publish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stored {
    pub sequence: u64,
    /// The dedupe window recognised the event id: nothing new was stored.
    pub duplicate: bool,
}

impl<'s> Stream<'s> {
    /// Makes the stream and its durable consumer for the run of `seed`, registered with
    /// `streams` so that they are deleted at the end or on Ctrl-C.
    pub fn open(
        session: &'s Session,
        streams: &mut RunStreams<'s>,
        seed: u64,
    ) -> Result<Stream<'s>, BrokerError> {
        let made = MADE.fetch_add(1, Ordering::Relaxed);
        let (name, subject) = names(&run_tag("verify"), &format!("s{seed}n{made}"));
        streams.create(&StreamSpec {
            name: &name,
            subject: &subject,
            retention: Retention::Limits,
            duplicate_window: DUPLICATE_WINDOW,
        })?;
        session.create_consumer(&name, DURABLE, ACK_WAIT)?;
        Ok(Stream {
            session,
            name,
            subject,
        })
    }

    /// The stream's name on the server.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Publishes one event's JSON and waits for the stream's acknowledgement.
    pub fn publish(&self, event_id: &str, payload: &[u8]) -> Result<Stored, BrokerError> {
        let ack = self
            .session
            .publish(&self.subject, Some(event_id), payload)?;
        Ok(Stored {
            sequence: ack.sequence,
            duplicate: ack.duplicate,
        })
    }

    /// The next message for the consumer, if the server has one ready now; it does not wait.
    pub fn fetch(&self) -> Result<Option<Delivery>, BrokerError> {
        let mut got = self
            .session
            .fetch(&self.name, DURABLE, 1, Duration::from_millis(500))?;
        Ok(got.pop())
    }

    /// Acknowledges a delivery, once the server confirms it: it is never delivered again.
    pub fn ack(&self, delivery: &Delivery) -> Result<(), BrokerError> {
        self.session.ack(delivery)
    }

    /// Hands a delivery back for JetStream to deliver again at once. If the server does not hear
    /// it, the message comes back anyway once [`ACK_WAIT`] runs out.
    pub fn give_back(&self, delivery: &Delivery) {
        let _ = self.session.nak(delivery);
    }
}
