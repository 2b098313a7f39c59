//! The service's writes held back until its commit, so an order and its outbox row reach the
//! server in one round trip instead of four (`BEGIN`, two `INSERT`s, `COMMIT`).
//!
//! Nothing another transaction can see changes: until its commit a transaction's rows are its
//! own, so sending them at the commit, as one statement that is its own transaction, commits the
//! same rows at the same moment. What moves is where an insert's error surfaces: at the commit.
//!
//! Only a short run of inserts is held. Anything else the transaction does (a read, a third
//! insert, a claim) first sends what is held, after a `BEGIN`, and the transaction carries on
//! on the server as it always did. So does a crash: a component about to die mid-transaction
//! sends what it holds first (`Storage::open_on_server`), so the transaction dies open on the
//! server, and the server rolls it back.

use postgres::types::ToSql;

use crate::sim::model::{Envelope, Order};

pub const INSERT_ORDER: &str =
    "INSERT INTO orders (id, customer_id, amount_cents, placed_at) VALUES ($1, $2, $3, $4)";

pub const INSERT_OUTBOX: &str = "INSERT INTO outbox (event_id, aggregate_type, aggregate_id, event_type, version, payload, occurred_at, created_at)
             VALUES ($1::text::uuid, 'order', $2, $3, $4, $5::text::jsonb, $6, $7)";

/// The outbox write as one statement: a data-modifying `WITH` runs both inserts in one
/// statement, so both commit or neither does.
const INSERT_ORDER_AND_OUTBOX: &str = "
WITH placed AS (
    INSERT INTO orders (id, customer_id, amount_cents, placed_at) VALUES ($1, $2, $3, $4)
)
INSERT INTO outbox (event_id, aggregate_type, aggregate_id, event_type, version, payload, occurred_at, created_at)
VALUES ($5::text::uuid, 'order', $6, $7, $8, $9::text::jsonb, $10, $11)";

/// The most inserts held: the outbox write's two.
pub const MOST_HELD: usize = 2;

/// An insert not yet sent, its values as the tables store them.
pub enum Held {
    Order {
        id: i32,
        customer_id: String,
        amount_cents: i64,
        placed_at: i64,
    },
    Outbox {
        event_id: String,
        aggregate_id: String,
        event_type: String,
        version: i32,
        payload: String,
        occurred_at: String,
        created_at: i64,
    },
}

impl Held {
    pub fn order(order: &Order, now: u64) -> Held {
        Held::Order {
            id: order.number as i32,
            customer_id: order.customer_id.clone(),
            amount_cents: order.amount_cents,
            placed_at: now as i64,
        }
    }

    pub fn outbox(event: &Envelope, now: u64) -> Held {
        Held::Outbox {
            event_id: event.event_id.clone(),
            aggregate_id: event.aggregate_id.clone(),
            event_type: event.event_type.clone(),
            version: event.version as i32,
            payload: event.payload.clone(),
            occurred_at: event.occurred_at.clone(),
            created_at: now as i64,
        }
    }

    /// The insert's parameters, in its statement's order.
    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        match self {
            Held::Order {
                id,
                customer_id,
                amount_cents,
                placed_at,
            } => vec![id, customer_id, amount_cents, placed_at],
            Held::Outbox {
                event_id,
                aggregate_id,
                event_type,
                version,
                payload,
                occurred_at,
                created_at,
            } => vec![
                event_id,
                aggregate_id,
                event_type,
                version,
                payload,
                occurred_at,
                created_at,
            ],
        }
    }

    /// The statement that sends this insert on its own, and its parameters.
    pub fn alone(&self) -> (&'static str, Vec<&(dyn ToSql + Sync)>) {
        let sql = match self {
            Held::Order { .. } => INSERT_ORDER,
            Held::Outbox { .. } => INSERT_OUTBOX,
        };
        (sql, self.params())
    }
}

/// The held inserts as one statement that is its own transaction, and its parameters; `None`
/// when they have no such form, and go after a `BEGIN`, one by one, before a `COMMIT`.
pub fn as_one(held: &[Held]) -> Option<(&'static str, Vec<&(dyn ToSql + Sync)>)> {
    match held {
        [one] => Some(one.alone()),
        [order @ Held::Order { .. }, outbox @ Held::Outbox { .. }] => {
            let mut params = order.params();
            params.extend(outbox.params());
            Some((INSERT_ORDER_AND_OUTBOX, params))
        }
        _ => None,
    }
}
