//! The storage seam: what one lab component may do with its database ([`Storage`]) and what a CDC
//! relay reads ([`ChangeFeed`]), written once for SQLite and PostgreSQL alike.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::sim::error::SimError;
use crate::sim::model::{Envelope, Order};

/// An outbox row a relay is about to publish.
#[derive(Clone, Debug)]
pub struct OutboxRow {
    pub id: i64,
    pub event: Envelope,
}

/// The rows a claim took, and when the database says the claim runs out.
#[derive(Clone, Debug, Default)]
pub struct Claim {
    pub rows: Vec<OutboxRow>,
    /// When the lease the database wrote runs out, on its clock; `None` when the claim is a set
    /// of row locks, which last until the claim's transaction ends.
    pub lease_until: Option<u64>,
}

/// What billing charges for one event, read from its payload before the batch goes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChargeRow<'a> {
    pub event_id: &'a str,
    pub order_id: &'a str,
    pub amount_cents: i64,
}

/// One component's connection to its part of the lab's data.
///
/// Claims are timed by the database: a claimer says how long a lease should last, never when it
/// ends, and the database reads its own clock both to set the lease and to tell whether another
/// has run out. An actor's clock may be off by seconds; the database's is the one all agree on.
pub trait Storage: Send {
    /// Makes a statement that finds the database locked fail at once rather than wait: under the
    /// seeded scheduler the holder of the lock cannot move while this connection waits.
    fn no_wait(&mut self) -> Result<(), SimError> {
        Ok(())
    }
    /// Starts a write transaction.
    fn begin(&mut self) -> Result<(), SimError>;
    /// Makes sure the open transaction has reached the database, with everything written in it
    /// so far: a connection may hold its first inserts until the commit (PostgreSQL's service
    /// connection does), and a component about to die mid-transaction calls this first, so the
    /// database, not the client, is what rolls the transaction back.
    fn open_on_server(&mut self) -> Result<(), SimError> {
        Ok(())
    }
    fn commit(&mut self) -> Result<(), SimError>;
    fn insert_order(&mut self, order: &Order, now: u64) -> Result<(), SimError>;
    fn insert_outbox(&mut self, event: &Envelope, now: u64) -> Result<(), SimError>;
    /// Claims up to `limit` unsent rows no live relay holds, for `owner`, for `lease_ms` on the
    /// database's clock.
    fn claim_batch(&mut self, owner: &str, lease_ms: u64, limit: u32) -> Result<Claim, SimError>;
    /// Claims as a relay that trusts its own clock does: a lease counts as run out when it ends by
    /// the caller's `now`, and the new one ends at the caller's `lease_until`. A relay whose clock
    /// runs ahead takes rows whose lease is still running. Only the mutant that makes this mistake
    /// calls it; the claim log still records the claim's time from the database's clock.
    fn claim_batch_by_own_clock(
        &mut self,
        owner: &str,
        now: u64,
        lease_until: u64,
        limit: u32,
    ) -> Result<Claim, SimError>;
    /// Marks the rows `owner` claimed as sent, and ends the claim. Returns how many were marked.
    fn mark_claimed_sent(&mut self, owner: &str, ids: &[i64], now: u64) -> Result<usize, SimError>;
    /// Gives back claims left by earlier incarnations of a relay whose owner tokens start with
    /// `prefix`: a restarted relay knows they are dead.
    fn release_claims(&mut self, prefix: &str) -> Result<(), SimError>;
    /// Reads unsent rows without claiming them.
    fn select_unsent(&mut self, limit: u32) -> Result<Vec<OutboxRow>, SimError>;
    /// How many claims took a row while the lease they replaced still ran, by the database's
    /// clock, from a log the database keeps itself; `None` where there is no such log
    /// (PostgreSQL locks rows instead).
    fn claims_over_live_leases(&mut self) -> Result<Option<u64>, SimError> {
        Ok(None)
    }
    /// Reads unsent rows no live lease holds, by the database's clock, without claiming them.
    fn select_unleased(&mut self, limit: u32) -> Result<Vec<OutboxRow>, SimError>;
    /// Marks rows sent with no claim; a row already marked is skipped.
    fn mark_sent(&mut self, ids: &[i64], now: u64) -> Result<usize, SimError>;
    fn unsent_count(&mut self) -> Result<u64, SimError>;
    /// Every committed order: its number and amount.
    fn committed_orders(&mut self) -> Result<Vec<(u32, i64)>, SimError>;
    /// Records an event id in the inbox; false when it was already there.
    fn inbox_record(&mut self, event_id: &str, now: u64) -> Result<bool, SimError>;
    fn insert_charge(
        &mut self,
        order_id: &str,
        amount_cents: i64,
        event_id: &str,
        now: u64,
    ) -> Result<(), SimError>;
    /// Records each row's event id in the inbox and charges the rows whose id was not there yet,
    /// inside the caller's transaction; an id repeated within `rows` is applied at its first
    /// place only. Returns, row by row, whether it was applied. Two statements a row here; a
    /// server backend sends the batch as one statement, so it costs one round trip, not two a row.
    fn record_and_charge(
        &mut self,
        rows: &[ChargeRow<'_>],
        now: u64,
    ) -> Result<Vec<bool>, SimError> {
        record_and_charge_row_by_row(self, rows, now)
    }
    /// Charges by order and amount: `(order_id, amount_cents, how many)`.
    fn charges(&mut self) -> Result<Vec<(String, i64, u64)>, SimError>;
    /// Whether the inbox holds `event_id` already, without recording it.
    fn inbox_has(&mut self, event_id: &str) -> Result<bool, SimError>;
    /// Claims exactly the unsent rows `ids` for `owner`, whoever holds them, for `lease_ms`.
    fn claim_ids(&mut self, owner: &str, ids: &[i64], lease_ms: u64) -> Result<Claim, SimError>;

    // A partitioned outbox (`lab ordering`), made by [`Backend::create_partitioned`].

    /// Inserts an event's outbox row with its partition and its number within its aggregate.
    fn insert_sequenced(
        &mut self,
        event: &Envelope,
        partition: u32,
        sequence: u32,
        now: u64,
    ) -> Result<(), SimError>;
    /// Claims the head of `partition` for `owner`: up to `limit` of its unsent rows in id order,
    /// stopping before the first row another claim holds, so that nothing overtakes it; for
    /// `lease_ms` on the database's clock.
    fn claim_partition(
        &mut self,
        partition: u32,
        owner: &str,
        lease_ms: u64,
        limit: u32,
    ) -> Result<Claim, SimError>;
    /// The last sequence number the consumer applied for `aggregate_id`; 0 when none.
    fn applied_sequence(&mut self, aggregate_id: &str) -> Result<u32, SimError>;
    /// Records that the consumer applied `aggregate_id` up to `sequence`, an `event_type`.
    fn apply_sequence(
        &mut self,
        aggregate_id: &str,
        sequence: u32,
        event_type: &str,
        now: u64,
    ) -> Result<(), SimError>;
}

/// [`Storage::record_and_charge`] as two statements a row: the inbox's, then the charge's when
/// the id was new. What a backend without a batched form does, and what a connection that must
/// not wait for another's lock falls back to.
pub fn record_and_charge_row_by_row<S: Storage + ?Sized>(
    conn: &mut S,
    rows: &[ChargeRow<'_>],
    now: u64,
) -> Result<Vec<bool>, SimError> {
    let mut applied = Vec::with_capacity(rows.len());
    for row in rows {
        let fresh = conn.inbox_record(row.event_id, now)?;
        if fresh {
            conn.insert_charge(row.order_id, row.amount_cents, row.event_id, now)?;
        }
        applied.push(fresh);
    }
    Ok(applied)
}

/// Committed outbox rows a CDC relay has not yet confirmed, in commit order, with the position
/// to confirm once all of them are with the broker.
pub struct FeedBatch {
    pub rows: Vec<OutboxRow>,
    pub position: u64,
}

/// A CDC relay's view of the outbox: what has committed since the position it last confirmed.
/// The position is durable, so a relay that crashes and reconnects reads on from it.
pub trait ChangeFeed: Send {
    /// Waits until there may be something past the confirmed position, or `timeout` passes.
    fn wait(&mut self, timeout: Duration) -> Result<(), SimError>;
    /// Up to about `max` rows past the confirmed position; empty when there are none.
    fn read(&mut self, max: u32) -> Result<FeedBatch, SimError>;
    /// Records that everything up to `position` has been published.
    fn confirm(&mut self, position: u64) -> Result<(), SimError>;
}

/// One of a run's two databases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Db {
    /// The order service's: orders and, with an outbox, the outbox.
    Service,
    /// The billing consumer's: charges and the inbox.
    Billing,
}
