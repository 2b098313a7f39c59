//! A lab component's SQLite connection as the storage seam sees it: every statement the service,
//! relays and consumer run, named for what it is doing when it fails.

use rusqlite::Connection;

use super::feed::FeedConnection;
use super::sql as db;
use crate::sim::clock::SharedClock;
use crate::sim::error::{SimError, SqlContext};
use crate::sim::model::{Envelope, Order};
use crate::sim::storage::seam::{Claim, OutboxRow, Storage};

/// A SQLite connection, with or without the change feed's hooks, and the clock the database keeps
/// time by. SQLite is embedded: it has no clock of its own but the one it is opened with, which is
/// the run's, never the view of the actor that opened it.
pub struct Sqlite {
    conn: Conn,
    clock: SharedClock,
}

enum Conn {
    Plain(Connection),
    Fed(FeedConnection),
}

impl Sqlite {
    pub fn plain(conn: Connection, clock: SharedClock) -> Self {
        Sqlite {
            conn: Conn::Plain(conn),
            clock,
        }
    }

    /// A connection that carries the change feed's hooks.
    pub fn fed(conn: FeedConnection, clock: SharedClock) -> Self {
        Sqlite {
            conn: Conn::Fed(conn),
            clock,
        }
    }

    pub fn conn(&self) -> &Connection {
        match &self.conn {
            Conn::Plain(conn) => conn,
            Conn::Fed(conn) => conn,
        }
    }
}

impl Storage for Sqlite {
    fn no_wait(&mut self) -> Result<(), SimError> {
        self.conn()
            .busy_timeout(std::time::Duration::ZERO)
            .sql("turning off the busy wait")
    }

    fn begin(&mut self) -> Result<(), SimError> {
        db::begin(self.conn()).sql("BEGIN")
    }

    fn commit(&mut self) -> Result<(), SimError> {
        db::commit(self.conn()).sql("COMMIT")
    }

    fn insert_order(&mut self, order: &Order, now: u64) -> Result<(), SimError> {
        db::insert_order(self.conn(), order, now).sql("inserting the order")
    }

    fn insert_outbox(&mut self, event: &Envelope, now: u64) -> Result<(), SimError> {
        db::insert_outbox(self.conn(), event, now).sql("inserting the outbox row")
    }

    fn claim_batch(&mut self, owner: &str, lease_ms: u64, limit: u32) -> Result<Claim, SimError> {
        db::claim_batch(self.conn(), &*self.clock, owner, lease_ms, limit).sql("claiming a batch")
    }

    fn claim_batch_by_own_clock(
        &mut self,
        owner: &str,
        now: u64,
        lease_until: u64,
        limit: u32,
    ) -> Result<Claim, SimError> {
        db::claim_batch_by_own_clock(self.conn(), &*self.clock, owner, now, lease_until, limit)
            .sql("claiming a batch by the relay's own clock")
    }

    fn mark_claimed_sent(&mut self, owner: &str, ids: &[i64], now: u64) -> Result<usize, SimError> {
        db::mark_claimed_sent(self.conn(), owner, ids, now).sql("marking rows sent")
    }

    fn release_claims(&mut self, prefix: &str) -> Result<(), SimError> {
        self.conn()
            .execute(
                "UPDATE outbox SET claimed_by = NULL, lease_until = NULL
                  WHERE sent_at IS NULL AND claimed_by LIKE ?1 || '%'",
                [prefix],
            )
            .map(drop)
            .sql("releasing a dead incarnation's claims")
    }

    fn select_unsent(&mut self, limit: u32) -> Result<Vec<OutboxRow>, SimError> {
        db::select_unsent(self.conn(), limit).sql("selecting unsent rows")
    }

    fn claims_over_live_leases(&mut self) -> Result<Option<u64>, SimError> {
        db::claims_over_live_leases(self.conn())
            .map(Some)
            .sql("reading the claim log")
    }

    fn select_unleased(&mut self, limit: u32) -> Result<Vec<OutboxRow>, SimError> {
        db::select_unleased(self.conn(), &*self.clock, limit).sql("selecting unleased rows")
    }

    fn mark_sent(&mut self, ids: &[i64], now: u64) -> Result<usize, SimError> {
        db::mark_sent(self.conn(), ids, now).sql("marking rows sent")
    }

    fn unsent_count(&mut self) -> Result<u64, SimError> {
        db::unsent_count(self.conn()).sql("counting unsent rows")
    }

    fn committed_orders(&mut self) -> Result<Vec<(u32, i64)>, SimError> {
        db::committed_orders(self.conn()).sql("reading committed orders")
    }

    fn inbox_record(&mut self, event_id: &str, now: u64) -> Result<bool, SimError> {
        db::inbox_record(self.conn(), event_id, now).sql("recording the event id")
    }

    fn insert_charge(
        &mut self,
        order_id: &str,
        amount_cents: i64,
        event_id: &str,
        now: u64,
    ) -> Result<(), SimError> {
        db::insert_charge(self.conn(), order_id, amount_cents, event_id, now)
            .sql("inserting the charge")
    }

    fn charges(&mut self) -> Result<Vec<(String, i64, u64)>, SimError> {
        db::charges(self.conn()).sql("reading charges")
    }

    fn inbox_has(&mut self, event_id: &str) -> Result<bool, SimError> {
        db::inbox_has(self.conn(), event_id).sql("looking the event id up in the inbox")
    }

    fn claim_ids(&mut self, owner: &str, ids: &[i64], lease_ms: u64) -> Result<Claim, SimError> {
        db::claim_ids(self.conn(), &*self.clock, owner, ids, lease_ms).sql("claiming rows by id")
    }

    fn insert_sequenced(
        &mut self,
        event: &Envelope,
        partition: u32,
        sequence: u32,
        now: u64,
    ) -> Result<(), SimError> {
        db::insert_sequenced(self.conn(), event, partition, sequence, now)
            .sql("inserting the outbox row")
    }

    fn claim_partition(
        &mut self,
        partition: u32,
        owner: &str,
        lease_ms: u64,
        limit: u32,
    ) -> Result<Claim, SimError> {
        db::claim_partition(self.conn(), &*self.clock, partition, owner, lease_ms, limit)
            .sql("claiming a partition's head")
    }

    fn applied_sequence(&mut self, aggregate_id: &str) -> Result<u32, SimError> {
        db::applied_sequence(self.conn(), aggregate_id).sql("reading the applied sequence")
    }

    fn apply_sequence(
        &mut self,
        aggregate_id: &str,
        sequence: u32,
        event_type: &str,
        now: u64,
    ) -> Result<(), SimError> {
        db::apply_sequence(self.conn(), aggregate_id, sequence, event_type, now)
            .sql("recording the applied sequence")
    }
}
