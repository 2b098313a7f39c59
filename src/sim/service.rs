//! The order service: the naive dual write and the transactional outbox write.

use super::SimError;
use super::db;
use super::model::{Envelope, Order, Pipeline};
use super::observer::Detail;
use super::schedule::CrashPoint;
use super::world::{Actor, Link, Poll, SqlContext, World};

pub struct Service {
    next: u32,
    link: Link,
}

impl Service {
    pub fn new() -> Self {
        Service {
            next: 1,
            link: Link::service(),
        }
    }
}

impl Actor for Service {
    fn step(&mut self, world: &World<'_>) -> Result<Poll, SimError> {
        if self.next > world.config.orders {
            return Ok(Poll::Done);
        }
        let order = Order::generate(world.config.seed, self.next);
        // The client moves on whatever happens: a request that died is not retried.
        self.next += 1;
        let conn = self.link.get(world, "service")?;
        let crash = match world.pipeline {
            Pipeline::Naive => naive_write(world, conn, &order)?,
            Pipeline::Outbox => outbox_write(world, conn, &order)?,
        };
        world.obs.order_handled();
        Ok(match crash {
            Some(point) => {
                self.link.crash();
                world.obs.crashed("service", point, order.number);
                Poll::Crashed(world.now() + world.config.restart_ms)
            }
            None => Poll::Ready,
        })
    }
}

fn committed(world: &World<'_>, order: &Order) {
    world.obs.trace(
        "service",
        "commit",
        Detail {
            order: Some(order.number),
            ..Detail::default()
        },
    );
}

fn publish(world: &World<'_>, event: Envelope, order: u32) {
    world.obs.published("service", &event.event_id, Some(order));
    world.broker.publish(event);
}

/// Commit the order and publish the event as two separate steps. Returns the crash that struck.
fn naive_write(
    world: &World<'_>,
    conn: &rusqlite::Connection,
    order: &Order,
) -> Result<Option<CrashPoint>, SimError> {
    let n = order.number;
    let event = Envelope::order_placed(world.config.seed, Pipeline::Naive, order, world.now());
    let publish_first = world.config.naive_order.publishes_first(n);
    db::begin(conn).sql("service BEGIN")?;
    db::insert_order(conn, order, world.now()).sql("inserting the order")?;
    let (early, late) = if publish_first {
        (Some(event), None)
    } else {
        (None, Some(event))
    };
    if let Some(event) = early {
        publish(world, event, n);
    }
    if world.trigger.fires(CrashPoint::ServiceBeforeCommit, n) {
        return Ok(Some(CrashPoint::ServiceBeforeCommit));
    }
    db::commit(conn).sql("service COMMIT")?;
    committed(world, order);
    if world.trigger.fires(CrashPoint::ServiceAfterCommit, n) {
        return Ok(Some(CrashPoint::ServiceAfterCommit));
    }
    if let Some(event) = late {
        publish(world, event, n);
    }
    Ok(None)
}

/// Write the order and its outbox row in one local transaction. Returns the crash that struck.
fn outbox_write(
    world: &World<'_>,
    conn: &rusqlite::Connection,
    order: &Order,
) -> Result<Option<CrashPoint>, SimError> {
    let n = order.number;
    let now = world.now();
    let event = Envelope::order_placed(world.config.seed, Pipeline::Outbox, order, now);
    db::begin(conn).sql("service BEGIN")?;
    db::insert_order(conn, order, now).sql("inserting the order")?;
    db::insert_outbox(conn, &event, now).sql("inserting the outbox row")?;
    if world.trigger.fires(CrashPoint::ServiceBeforeCommit, n) {
        return Ok(Some(CrashPoint::ServiceBeforeCommit));
    }
    db::commit(conn).sql("service COMMIT")?;
    committed(world, order);
    if world.trigger.fires(CrashPoint::ServiceAfterCommit, n) {
        return Ok(Some(CrashPoint::ServiceAfterCommit));
    }
    Ok(None)
}
