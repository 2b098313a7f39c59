//! The order service: the naive dual write and the transactional outbox write.

use crate::sim::crash::mutant::Mutant;
use crate::sim::crash::observer::Detail;
use crate::sim::crash::runner::Poll;
use crate::sim::crash::schedule::CrashPoint;
use crate::sim::crash::world::{Actor, Db, Link, Outside, World};
use crate::sim::error::SimError;
use crate::sim::model::{Envelope, Order, Pipeline};
use crate::sim::storage::Storage;

const NAME: &str = "service";

/// The service holds nothing but its connection: the client knows which order comes next.
pub struct Service {
    link: Link,
}

impl Service {
    /// A service started after `incarnation` deaths.
    pub fn reborn(incarnation: u32) -> Self {
        Service {
            link: Link::reborn(Db::Service, incarnation),
        }
    }

    /// Handles the client's next order request.
    pub fn step_in(&mut self, world: &impl Outside) -> Result<Poll, SimError> {
        // The client moves on whatever happens: a request that died is not retried.
        let Some(n) = world.next_request() else {
            return Ok(Poll::Done);
        };
        world.order_handled();
        let order = Order::generate(world.config().seed, n);
        let conn = self.link.get(world, NAME)?;
        let written = match world.pipeline() {
            Pipeline::Naive => naive_write(world, conn, &order),
            Pipeline::Outbox => outbox_write(world, conn, &order),
        };
        match written {
            Ok(false) => {
                world.acknowledged(n);
                Ok(Poll::Ready)
            }
            Ok(true) => {
                self.link.crash();
                Ok(Poll::Crashed(world.now() + world.config().restart_ms))
            }
            // The broker did not acknowledge: the handler gives up on the request, and whatever
            // it had not committed rolls back with the connection.
            Err(SimError::Unacknowledged) => {
                self.link.reconnect();
                Ok(Poll::Ready)
            }
            Err(err) => Err(err),
        }
    }
}

impl Actor for Service {
    fn step(&mut self, world: &World<'_>) -> Result<Poll, SimError> {
        self.step_in(world)
    }

    fn name(&self) -> &str {
        NAME
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
        world.publish(NAME, event, Some(n))?;
    }
    if world.crash_mid_transaction(NAME, CrashPoint::ServiceBeforeCommit, n, conn)? {
        return Ok(true);
    }
    conn.commit()?;
    committed(world, order);
    if world.crash_here(NAME, CrashPoint::ServiceAfterCommit, n)? {
        return Ok(true);
    }
    if let Some(event) = late {
        world.publish(NAME, event, Some(n))?;
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
    if world.config().mutant == Mutant::OrderThenOutbox {
        conn.commit()?;
        conn.begin()?;
    }
    conn.insert_outbox(&event, now)?;
    if world.crash_mid_transaction(NAME, CrashPoint::ServiceBeforeCommit, n, conn)? {
        return Ok(true);
    }
    conn.commit()?;
    committed(world, order);
    world.crash_here(NAME, CrashPoint::ServiceAfterCommit, n)
}
