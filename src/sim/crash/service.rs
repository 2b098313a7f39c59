//! The order service: the naive dual write and the transactional outbox write.

use crate::sim::crash::observer::Detail;
use crate::sim::crash::runner::Poll;
use crate::sim::crash::schedule::CrashPoint;
use crate::sim::crash::world::{Actor, Db, Link, Outside, World};
use crate::sim::error::SimError;
use crate::sim::model::{Envelope, Order, Pipeline};
use crate::sim::storage::Storage;

const NAME: &str = "service";

pub struct Service {
    next: u32,
    link: Link,
}

impl Service {
    pub fn new() -> Self {
        Service::resume(1, 0)
    }

    /// A service process started after `incarnation` deaths, taking requests from order `next` on.
    pub fn resume(next: u32, incarnation: u32) -> Self {
        Service {
            next,
            link: Link::reborn(Db::Service, incarnation),
        }
    }

    /// Handles the next order request.
    pub fn step_in(&mut self, world: &impl Outside) -> Result<Poll, SimError> {
        if self.next > world.config().orders {
            return Ok(Poll::Done);
        }
        let order = Order::generate(world.config().seed, self.next);
        // The client moves on whatever happens: a request that died is not retried.
        self.next += 1;
        let conn = self.link.get(world, NAME)?;
        let crash = match world.pipeline() {
            Pipeline::Naive => naive_write(world, conn, &order)?,
            Pipeline::Outbox => outbox_write(world, conn, &order)?,
        };
        world.order_handled();
        Ok(if crash {
            self.link.crash();
            Poll::Crashed(world.now() + world.config().restart_ms)
        } else {
            Poll::Ready
        })
    }
}

impl Actor for Service {
    fn step(&mut self, world: &World<'_>) -> Result<Poll, SimError> {
        self.step_in(world)
    }
}

fn committed(world: &impl Outside, order: &Order) {
    world.trace(
        NAME,
        "commit",
        Detail {
            order: Some(order.number),
            ..Detail::default()
        },
    );
}

/// Commit the order and publish the event as two separate steps. Returns whether a crash struck.
fn naive_write(
    world: &impl Outside,
    conn: &mut dyn Storage,
    order: &Order,
) -> Result<bool, SimError> {
    let n = order.number;
    let event = Envelope::order_placed(world.config().seed, Pipeline::Naive, order, world.now());
    let publish_first = world.config().naive_order.publishes_first(n);
    conn.begin()?;
    conn.insert_order(order, world.now())?;
    let (early, late) = if publish_first {
        (Some(event), None)
    } else {
        (None, Some(event))
    };
    if let Some(event) = early {
        world.publish(NAME, event, Some(n));
    }
    if world.crash_here(NAME, CrashPoint::ServiceBeforeCommit, n)? {
        return Ok(true);
    }
    conn.commit()?;
    committed(world, order);
    if world.crash_here(NAME, CrashPoint::ServiceAfterCommit, n)? {
        return Ok(true);
    }
    if let Some(event) = late {
        world.publish(NAME, event, Some(n));
    }
    Ok(false)
}

/// Write the order and its outbox row in one local transaction. Returns whether a crash struck.
fn outbox_write(
    world: &impl Outside,
    conn: &mut dyn Storage,
    order: &Order,
) -> Result<bool, SimError> {
    let n = order.number;
    let now = world.now();
    let event = Envelope::order_placed(world.config().seed, Pipeline::Outbox, order, now);
    conn.begin()?;
    conn.insert_order(order, now)?;
    conn.insert_outbox(&event, now)?;
    if world.crash_here(NAME, CrashPoint::ServiceBeforeCommit, n)? {
        return Ok(true);
    }
    conn.commit()?;
    committed(world, order);
    world.crash_here(NAME, CrashPoint::ServiceAfterCommit, n)
}
