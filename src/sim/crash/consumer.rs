//! The billing consumer: turns `OrderPlaced` into a charge, with or without an inbox.

use std::collections::HashSet;

use crate::sim::broker::Delivery;
use crate::sim::crash::fault::Fault;
use crate::sim::crash::mutant::Mutant;
use crate::sim::crash::observer::Detail;
use crate::sim::crash::runner::Poll;
use crate::sim::crash::schedule::CrashPoint;
use crate::sim::crash::world::{Actor, Db, Link, World};
use crate::sim::error::SimError;
use crate::sim::model::{Envelope, Pipeline};
use crate::sim::storage::Storage;
use crate::sim::storage::seam::ChargeRow;

/// How long the second consumer instance rests after each batch: it races the first now and
/// then rather than on every message.
const TWIN_REST_MS: u64 = 40;

pub struct Consumer {
    name: &'static str,
    link: Link,
    twin: bool,
    /// What a consumer that dedupes in memory remembers; a restart forgets it.
    seen: HashSet<String>,
}

impl Consumer {
    /// The consumer after `incarnation` deaths.
    pub fn reborn(incarnation: u32) -> Self {
        Consumer {
            name: "billing",
            link: Link::reborn(Db::Billing, incarnation),
            twin: false,
            seen: HashSet::new(),
        }
    }

    /// A second instance of the consumer in the same group, after `incarnation` deaths.
    pub fn twin(incarnation: u32) -> Self {
        Consumer {
            name: "billing-2",
            twin: true,
            ..Consumer::reborn(incarnation)
        }
    }

    /// Whether the crash scheduled at `point` strikes one of `batch`'s orders; records it.
    fn crash_at(&mut self, world: &World<'_>, point: CrashPoint, batch: &[Delivery]) -> bool {
        let struck = batch.iter().find_map(|d| {
            d.event
                .order_number()
                .filter(|n| world.trigger.fires(point, *n))
        });
        if let Some(order) = struck {
            self.link.crash();
            world.obs.crashed(self.name, point, order);
        }
        struck.is_some()
    }

    /// Applies the batch in one transaction with its inbox rows, or as a mutant gets it wrong.
    /// Returns whether a crash struck.
    fn apply(
        &mut self,
        world: &World<'_>,
        batch: &[Delivery],
        next_offset: usize,
    ) -> Result<bool, SimError> {
        let now = world.now();
        let mutant = if world.pipeline == Pipeline::Outbox {
            world.config.mutant
        } else {
            Mutant::None
        };
        match mutant {
            Mutant::InboxCommitFirst => {
                for delivery in batch {
                    let event = &delivery.event;
                    let conn = self.link.get(world, self.name)?;
                    conn.begin()?;
                    let fresh = conn.inbox_record(&event.event_id, now)?;
                    conn.commit()?;
                    if fresh {
                        charge_alone(world, self.name, conn, event, now)?;
                    } else {
                        skipped(world, self.name, event);
                    }
                }
            }
            Mutant::InboxAfterCharge => {
                for delivery in batch {
                    let event = &delivery.event;
                    let conn = self.link.get(world, self.name)?;
                    if conn.inbox_has(&event.event_id)? {
                        skipped(world, self.name, event);
                        continue;
                    }
                    charge_alone(world, self.name, conn, event, now)?;
                    conn.begin()?;
                    conn.inbox_record(&event.event_id, now)?;
                    conn.commit()?;
                }
            }
            _ => {
                let conn = self.link.get(world, self.name)?;
                conn.begin()?;
                if world.pipeline == Pipeline::Outbox && mutant != Mutant::MemoryDedupe {
                    // The inbox and the charges of the whole batch in one call: one statement
                    // on PostgreSQL, in the transaction the crash points below sit around.
                    let events: Vec<&Envelope> = batch.iter().map(|d| &*d.event).collect();
                    let done = record_and_charge(conn, &events, now)?;
                    for (event, done) in events.into_iter().zip(done) {
                        if done {
                            applied(world, self.name, event);
                        } else {
                            skipped(world, self.name, event);
                        }
                    }
                } else {
                    for delivery in batch {
                        let event = &delivery.event;
                        if fresh(world, self.name, &mut self.seen, conn, event, now)? {
                            charge(conn, event, now)?;
                            applied(world, self.name, event);
                        }
                    }
                }
                if mutant == Mutant::AckBeforeCommit {
                    world.ack(next_offset)?;
                }
                if self.crash_at(world, CrashPoint::ConsumerBeforeCommit, batch) {
                    return Ok(true);
                }
                self.link.get(world, self.name)?.commit()?;
            }
        }
        Ok(self.crash_at(world, CrashPoint::ConsumerAfterCommit, batch))
    }
}

impl Actor for Consumer {
    fn step(&mut self, world: &World<'_>) -> Result<Poll, SimError> {
        let batch = world.fetch(self.name, world.config.consumer_batch as usize)?;
        let Some(next_offset) = batch.iter().map(|d| d.offset + 1).max() else {
            return Ok(Poll::Sleep(world.now() + world.config.poll_ms));
        };
        if self.twin {
            world.obs.fault(self.name, Fault::ConsumerRace);
        }
        for delivery in &batch {
            let event = &delivery.event;
            world
                .obs
                .delivered(self.name, &event.event_id, event.order_number());
        }
        if self.apply(world, &batch, next_offset)? {
            return Ok(Poll::Crashed(world.now() + world.config.restart_ms));
        }
        world.ack(next_offset)?;
        world.obs.trace(
            self.name,
            "ack",
            Detail {
                count: Some(batch.len() as u64),
                ..Detail::default()
            },
        );
        Ok(if self.twin {
            Poll::Sleep(world.now() + TWIN_REST_MS)
        } else {
            Poll::Ready
        })
    }

    fn name(&self) -> &str {
        self.name
    }
}

/// Whether `event` is new to the consumer `name`: recorded in the inbox, in the transaction the
/// charge is in, or (for a mutant) remembered in `seen`. Traces the skip of a duplicate.
fn fresh(
    world: &World<'_>,
    name: &str,
    seen: &mut HashSet<String>,
    conn: &mut dyn Storage,
    event: &Envelope,
    now: u64,
) -> Result<bool, SimError> {
    let fresh = match (world.pipeline, world.config.mutant) {
        (Pipeline::Naive, _) => true,
        (Pipeline::Outbox, Mutant::MemoryDedupe) => seen.insert(event.event_id.clone()),
        (Pipeline::Outbox, _) => conn.inbox_record(&event.event_id, now)?,
    };
    if !fresh {
        skipped(world, name, event);
    }
    Ok(fresh)
}

fn skipped(world: &World<'_>, name: &str, event: &Envelope) {
    world
        .obs
        .dedupe_skipped(name, &event.event_id, event.order_number());
}

/// Charges for `event` in a transaction of its own, as the mutants that split the inbox from the
/// charge do.
fn charge_alone(
    world: &World<'_>,
    name: &str,
    conn: &mut dyn Storage,
    event: &Envelope,
    now: u64,
) -> Result<(), SimError> {
    conn.begin()?;
    charge(conn, event, now)?;
    applied(world, name, event);
    conn.commit()
}

fn applied(world: &World<'_>, name: &str, event: &Envelope) {
    world.obs.trace(
        name,
        "apply",
        Detail {
            order: event.order_number(),
            event_id: Some(&event.event_id),
            ..Detail::default()
        },
    );
}

/// What billing reads of an `OrderPlaced` payload, borrowed from the event where it can be: the
/// consumer parses every event it applies, and copying fields it does not keep is most of that.
#[derive(serde::Deserialize)]
struct Billable<'a> {
    #[serde(borrow)]
    order_id: std::borrow::Cow<'a, str>,
    amount_cents: i64,
}

/// Reads what billing charges for `event` from its payload.
fn billable(event: &Envelope) -> Result<Billable<'_>, SimError> {
    serde_json::from_str(&event.payload).map_err(|err| SimError::Payload {
        event_id: event.event_id.clone(),
        err,
    })
}

/// The idempotent consumer's work on a batch, in the caller's transaction: every event's id
/// recorded in the inbox and the new ones charged, in one call to the database
/// ([`Storage::record_and_charge`]). Returns, event by event, whether it was applied. Every
/// payload is read first: a batch with one that cannot be read fails whole, before it reaches
/// the database.
pub(crate) fn record_and_charge(
    conn: &mut dyn Storage,
    events: &[&Envelope],
    now: u64,
) -> Result<Vec<bool>, SimError> {
    let billables = events
        .iter()
        .map(|e| billable(e))
        .collect::<Result<Vec<_>, _>>()?;
    let rows: Vec<ChargeRow<'_>> = events
        .iter()
        .zip(&billables)
        .map(|(event, b)| ChargeRow {
            event_id: &event.event_id,
            order_id: &b.order_id,
            amount_cents: b.amount_cents,
        })
        .collect();
    conn.record_and_charge(&rows, now)
}

/// Billing's side effect for one `OrderPlaced` event: a charge for the order's amount.
pub(crate) fn charge(conn: &mut dyn Storage, event: &Envelope, now: u64) -> Result<(), SimError> {
    let payload = billable(event)?;
    conn.insert_charge(
        &payload.order_id,
        payload.amount_cents,
        &event.event_id,
        now,
    )
}
