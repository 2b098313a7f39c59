//! The billing consumer: turns `OrderPlaced` into a charge, with or without an inbox.

use crate::sim::crash::observer::Detail;
use crate::sim::crash::runner::Poll;
use crate::sim::crash::schedule::CrashPoint;
use crate::sim::crash::world::{Actor, Link, World};
use crate::sim::error::SimError;
use crate::sim::model::{Envelope, Pipeline};
use crate::sim::storage::Storage;

pub struct Consumer {
    link: Link,
}

impl Consumer {
    pub fn new() -> Self {
        Consumer {
            link: Link::billing(),
        }
    }
}

const NAME: &str = "billing";

impl Actor for Consumer {
    fn step(&mut self, world: &World<'_>) -> Result<Poll, SimError> {
        let batch = world.broker.fetch(world.config.consumer_batch as usize);
        let Some(last) = batch.last() else {
            return Ok(Poll::Sleep(world.now() + world.config.poll_ms));
        };
        let next_offset = last.offset + 1;
        // Only the outbox pipeline's consumer keeps an inbox; the naive one applies whatever arrives.
        let idempotent = world.pipeline == Pipeline::Outbox;
        let now = world.now();
        let conn = self.link.get(world, NAME)?;
        conn.begin()?;
        let mut struck = None;
        for delivery in &batch {
            let event = &delivery.event;
            let order = event.order_number();
            world.obs.delivered(NAME, &event.event_id, order);
            if idempotent && !conn.inbox_record(&event.event_id, now)? {
                world.obs.dedupe_skipped(NAME, &event.event_id, order);
            } else {
                charge(conn, event, now)?;
                world.obs.trace(
                    NAME,
                    "apply",
                    Detail {
                        order,
                        event_id: Some(&event.event_id),
                        ..Detail::default()
                    },
                );
            }
            if struck.is_none() {
                struck =
                    order.filter(|n| world.trigger.fires(CrashPoint::ConsumerBeforeCommit, *n));
            }
        }
        if let Some(order) = struck {
            return Ok(self.crash(world, CrashPoint::ConsumerBeforeCommit, order));
        }
        conn.commit()?;
        let struck = batch.iter().find_map(|d| {
            d.event
                .order_number()
                .filter(|n| world.trigger.fires(CrashPoint::ConsumerAfterCommit, *n))
        });
        if let Some(order) = struck {
            return Ok(self.crash(world, CrashPoint::ConsumerAfterCommit, order));
        }
        world.broker.ack(next_offset);
        world.obs.trace(
            NAME,
            "ack",
            Detail {
                count: Some(batch.len() as u64),
                ..Detail::default()
            },
        );
        Ok(Poll::Ready)
    }
}

impl Consumer {
    fn crash(&mut self, world: &World<'_>, point: CrashPoint, order: u32) -> Poll {
        self.link.crash();
        world.obs.crashed(NAME, point, order);
        Poll::Crashed(world.now() + world.config.restart_ms)
    }
}

/// What billing reads of an `OrderPlaced` payload, borrowed from the event where it can be: the
/// consumer parses every event it applies, and copying fields it does not keep is most of that.
#[derive(serde::Deserialize)]
struct Billable<'a> {
    #[serde(borrow)]
    order_id: std::borrow::Cow<'a, str>,
    amount_cents: i64,
}

/// Billing's side effect for one `OrderPlaced` event: a charge for the order's amount.
pub(crate) fn charge(conn: &mut dyn Storage, event: &Envelope, now: u64) -> Result<(), SimError> {
    let payload: Billable<'_> =
        serde_json::from_str(&event.payload).map_err(|err| SimError::Payload {
            event_id: event.event_id.clone(),
            err,
        })?;
    conn.insert_charge(
        &payload.order_id,
        payload.amount_cents,
        &event.event_id,
        now,
    )
}
