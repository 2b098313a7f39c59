//! The lab's tables and transactions on PostgreSQL: the same ideas as the SQLite lab's, in the
//! server's own terms. Claims are row locks taken with `FOR UPDATE SKIP LOCKED` and held by the
//! relay's open transaction, so a relay that dies releases them the moment the server notices;
//! no lease, no fence token.

use std::collections::{HashMap, HashSet};

use postgres::types::ToSql;
use postgres::{Client, Statement};

use crate::sim::error::SimError;
use crate::sim::error::{PgContext, PgError};
use crate::sim::model::{Envelope, Order};
use crate::sim::storage::postgres::connect::config;
use crate::sim::storage::postgres::held::{self, Held, MOST_HELD};
use crate::sim::storage::seam::Storage;
use crate::sim::storage::seam::{ChargeRow, Claim, OutboxRow, record_and_charge_row_by_row};

const ORDERS: &str = "
CREATE TABLE orders (
    id           integer PRIMARY KEY,   -- the order number from the client's request
    customer_id  text    NOT NULL,
    amount_cents bigint  NOT NULL,
    placed_at    bigint  NOT NULL
);";

/// The outbox's columns after its id, in every layout: what a row holds. The id's kind and the
/// keys come with the layout.
const OUTBOX_COLUMNS: &str = "
    event_id       uuid    NOT NULL,
    aggregate_type text    NOT NULL,
    aggregate_id   text    NOT NULL,
    event_type     text    NOT NULL,
    version        integer NOT NULL,
    payload        jsonb   NOT NULL,
    occurred_at    text    NOT NULL,
    created_at     bigint  NOT NULL,
    claimed_by     text,
    lease_until    bigint,
    sent_at        bigint,                -- NULL until a relay has published and marked it";

/// How an outbox table is laid out on the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboxLayout {
    /// One table, the crash lab's.
    Plain,
    /// Declaratively partitioned by range of `created_at`, for `lab cleanup`'s daily partitions;
    /// the caller adds the partitions. A partitioned table's unique keys must include its
    /// partition key, so an id or an event id is unique within its partition only. Ids still come
    /// from one sequence, a `bigserial` whose default each partition inherits: before PostgreSQL
    /// 17 a row written straight into a partition gets no value from the parent's identity column.
    ByCreatedAt,
}

/// `CREATE TABLE outbox` in `layout`: the same columns either way.
pub fn outbox_table(layout: OutboxLayout) -> String {
    match layout {
        OutboxLayout::Plain => format!(
            "
CREATE TABLE outbox (
    id             bigint  GENERATED ALWAYS AS IDENTITY,{OUTBOX_COLUMNS}
    PRIMARY KEY (id),
    UNIQUE (event_id)
);"
        ),
        OutboxLayout::ByCreatedAt => format!(
            "
CREATE TABLE outbox (
    id             bigserial,{OUTBOX_COLUMNS}
    PRIMARY KEY (id, created_at),
    UNIQUE (event_id, created_at)
) PARTITION BY RANGE (created_at);"
        ),
    }
}

/// The relay's poll walks only unsent rows, however large the table grows.
pub const UNSENT_INDEX: &str = "CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL";

/// The relay's poll: the oldest unsent rows, read without claiming them.
pub const POLL_UNSENT: &str = "SELECT id, event_id::text, aggregate_id, event_type, version, \
                               payload::text, occurred_at FROM outbox WHERE sent_at IS NULL \
                               ORDER BY id LIMIT $1";

/// The relay's claim: locks up to `$1` of the oldest unsent rows no other transaction holds,
/// inside the transaction the relay keeps open while it publishes them.
pub const CLAIM_BATCH: &str = "SELECT id, event_id::text, aggregate_id, event_type, version, \
                               payload::text, occurred_at FROM outbox WHERE sent_at IS NULL \
                               ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED";

/// The relay's mark: every row of a batch in one statement, a row already marked skipped.
pub const MARK_SENT: &str = "UPDATE outbox SET sent_at = $1 WHERE id = ANY($2) AND sent_at IS NULL";

/// The idempotent consumer's whole batch as one statement: the event ids go into the inbox, and
/// the events whose id was not there yet are charged; returns the ids charged. Parameters: the
/// event ids, order ids and amounts, element by element, and the time.
///
/// One statement is one unit: if it fails midway, none of it happened. An id repeated within
/// the batch is kept once (`DISTINCT ON`), or it would be charged twice against its one new
/// inbox row. The inbox rows go in by id, so two consumers whose batches overlap take the ids'
/// locks in the same order and wait for each other rather than deadlock.
pub const RECORD_AND_CHARGE: &str = "
WITH batch AS (
    SELECT DISTINCT ON (event_id) event_id, order_id, amount_cents
      FROM unnest($1::text[], $2::text[], $3::bigint[])
           WITH ORDINALITY AS b (event_id, order_id, amount_cents, place)
     ORDER BY event_id, place
), fresh AS (
    INSERT INTO inbox (event_id, processed_at)
    SELECT event_id, $4::bigint FROM batch ORDER BY event_id
        ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id
)
INSERT INTO charges (order_id, amount_cents, event_id, charged_at)
SELECT batch.order_id, batch.amount_cents, batch.event_id, $4::bigint
  FROM batch JOIN fresh USING (event_id)
 ORDER BY batch.event_id
RETURNING event_id";

/// What partitioning adds to the outbox, for `lab ordering`; see the SQLite schema's twin.
const PARTITIONED: &str = "
ALTER TABLE outbox
    ADD COLUMN partition integer NOT NULL DEFAULT 0,  -- keyed: hash(aggregate_id) mod partitions
    ADD COLUMN sequence  integer NOT NULL DEFAULT 0;  -- 1, 2, 3… within the aggregate
-- The aggregate's version: a second writer appending the same event number fails.
CREATE UNIQUE INDEX outbox_aggregate_sequence ON outbox (aggregate_id, sequence);
-- A partition's relay walks only its own unsent rows, in id order.
CREATE INDEX outbox_partition_unsent ON outbox (partition, id) WHERE sent_at IS NULL;";

/// How far a sequence-checking consumer has applied each aggregate.
const PROGRESS: &str = "
CREATE TABLE aggregate_progress (
    aggregate_id text    PRIMARY KEY,
    sequence     integer NOT NULL,  -- the last event applied
    state        text    NOT NULL,  -- the type of that event: where the aggregate now stands
    updated_at   bigint  NOT NULL
);";

const BILLING_SCHEMA: &str = "
CREATE TABLE charges (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id     text   NOT NULL,
    amount_cents bigint NOT NULL,
    event_id     text   NOT NULL,
    charged_at   bigint NOT NULL
);";

const INBOX_SCHEMA: &str = "
-- The idempotent consumer's memory: one row per event it has applied.
CREATE TABLE inbox (
    event_id     text   PRIMARY KEY,
    processed_at bigint NOT NULL
);";

/// The schema [`LabSchemas::create`] makes for `name` under `tag`.
pub fn schema_name(tag: &str, name: &str) -> String {
    format!("msgwork_{tag}_{name}")
}

/// The schemas one lab run works in, dropped when the run is over unless it asked to keep them.
pub struct LabSchemas {
    url: String,
    names: Vec<String>,
    keep: bool,
    /// Dropped on Ctrl-C, unless kept.
    _on_interrupt: Vec<crate::sim::storage::postgres::leftovers::Registered>,
}

impl LabSchemas {
    /// Creates a fresh schema per name, `msgwork_<tag>_<name>`, replacing any left by an earlier
    /// run with the same tag.
    pub fn create(url: &str, tag: &str, names: &[&str], keep: bool) -> Result<Self, PgError> {
        let mut client = crate::sim::storage::postgres::connect::connect(url)?;
        let names: Vec<String> = names.iter().map(|n| schema_name(tag, n)).collect();
        let on_interrupt = if keep {
            Vec::new()
        } else {
            names
                .iter()
                .map(|name| crate::sim::storage::postgres::leftovers::schema(url, name))
                .collect()
        };
        for name in &names {
            client
                .batch_execute(&format!(
                    "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name};"
                ))
                .pg("creating the lab's schema")?;
        }
        Ok(LabSchemas {
            url: url.to_string(),
            names,
            keep,
            _on_interrupt: on_interrupt,
        })
    }

    /// The schema made for `name`.
    pub fn schema(&self, name: &str) -> Option<&str> {
        self.names
            .iter()
            .find(|s| s.ends_with(&format!("_{name}")))
            .map(String::as_str)
    }
}

impl Drop for LabSchemas {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        if let Ok(mut client) = crate::sim::storage::postgres::connect::connect(&self.url) {
            for name in &self.names {
                let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"));
            }
        }
    }
}

/// One component's connection, working in its schema, with its statements prepared once.
pub struct PgConn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
    pid: i32,
    /// Never wait for another transaction's row: say so instead (see [`Storage::no_wait`]).
    no_wait: bool,
    /// Whether a transaction begins on this side, its first inserts held until the commit.
    hold_writes: bool,
    /// The transaction begun on this side and not yet on the server, with the inserts held for
    /// it; see [`super::held`].
    held: Option<Vec<Held>>,
    /// Whether this connection has sent a `BEGIN` not yet ended: a transaction open on the
    /// server is never held, not even by a second `begin`.
    open: bool,
}

impl PgConn {
    /// Connects with `search_path` set to `schema`.
    pub fn open(url: &str, schema: &str) -> Result<Self, PgError> {
        // synchronous_commit on, whatever the server says: logical decoding reads only WAL that is
        // flushed, so a lazily flushed commit would reach the CDC relay up to a WAL-writer delay late.
        PgConn::open_with(url, schema, true)
    }

    /// Connects with `search_path` set to `schema`, and with commits that wait for their WAL to
    /// reach the disk (`synchronous_commit`) or not. Not waiting loses nothing when only clients
    /// crash, and saves an fsync per commit; a server crash could lose the last commits.
    pub fn open_with(url: &str, schema: &str, synchronous_commit: bool) -> Result<Self, PgError> {
        let mut config = config(url)?;
        let commit = if synchronous_commit { "on" } else { "off" };
        config.options(&format!(
            "-c search_path={schema} -c synchronous_commit={commit}"
        ));
        let mut client = config
            .connect(postgres::NoTls)
            .pg("connecting to the lab's database")?;
        let pid = client
            .query_one("SELECT pg_backend_pid()", &[])
            .pg("asking for the backend's pid")?
            .get(0);
        Ok(PgConn {
            no_wait: false,
            hold_writes: false,
            held: None,
            open: false,
            client,
            statements: HashMap::new(),
            pid,
        })
    }

    /// The server process serving this connection: what `pg_terminate_backend` kills.
    pub fn backend_pid(&self) -> i32 {
        self.pid
    }

    /// This connection's own client, for what the lab's statements do not cover. Not for a
    /// connection that holds writes: what it holds would be sent after what the client sends.
    pub fn client(&mut self) -> &mut Client {
        debug_assert!(
            self.held.is_none(),
            "the client of a connection holding writes"
        );
        &mut self.client
    }

    /// Begins each transaction on this side and holds its first inserts until the commit, which
    /// sends them as one statement (see [`super::held`]): what the lab's service connects with.
    pub fn holding_writes(mut self) -> Self {
        self.hold_writes = true;
        self
    }

    fn statement(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        self.send_held()?;
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    fn execute(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.execute(&s, params)
    }

    fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.query(&s, params)
    }

    /// Creates the order service's tables; the outbox only when the pipeline has one.
    /// Replaces tables an earlier run in the same schema left.
    pub fn create_service_schema(&mut self, with_outbox: bool) -> Result<(), postgres::Error> {
        self.client
            .batch_execute("DROP TABLE IF EXISTS outbox, orders CASCADE")?;
        self.client.batch_execute(ORDERS)?;
        if with_outbox {
            self.client
                .batch_execute(&outbox_table(OutboxLayout::Plain))?;
            self.client.batch_execute(UNSENT_INDEX)?;
        }
        Ok(())
    }

    /// Creates the charges, and the inbox when the consumer dedupes (the naive one does not).
    pub fn create_billing_schema(&mut self, with_inbox: bool) -> Result<(), postgres::Error> {
        self.client
            .batch_execute("DROP TABLE IF EXISTS charges, inbox CASCADE")?;
        self.client.batch_execute(BILLING_SCHEMA)?;
        if with_inbox {
            self.client.batch_execute(INBOX_SCHEMA)?;
        }
        Ok(())
    }

    /// Gives an empty outbox its partition and sequence columns and the per-partition index.
    pub fn partition_outbox(&mut self) -> Result<(), postgres::Error> {
        self.client.batch_execute(PARTITIONED)
    }

    /// Creates the sequence-checking consumer's table.
    pub fn create_progress_schema(&mut self) -> Result<(), postgres::Error> {
        self.client.batch_execute(PROGRESS)
    }

    pub fn begin(&mut self) -> Result<(), postgres::Error> {
        self.send_held()?;
        if self.hold_writes && !self.open {
            self.held = Some(Vec::new());
            return Ok(());
        }
        self.open = true;
        self.client.batch_execute("BEGIN")
    }

    pub fn commit(&mut self) -> Result<(), postgres::Error> {
        match self.held.take() {
            Some(held) => self.commit_held(held),
            None => self.end("COMMIT"),
        }
    }

    pub fn rollback(&mut self) -> Result<(), postgres::Error> {
        match self.held.take() {
            Some(_) => Ok(()),
            None => self.end("ROLLBACK"),
        }
    }

    /// Ends the transaction open on the server. Even when this fails it is over: the server ends
    /// a failed commit with a rollback, and a broken connection takes the transaction with it.
    fn end(&mut self, how: &str) -> Result<(), postgres::Error> {
        self.open = false;
        self.client.batch_execute(how)
    }

    pub fn insert_order(&mut self, order: &Order, now: u64) -> Result<(), postgres::Error> {
        self.hold_or_send(Held::order(order, now))
    }

    /// Holds `write` if the transaction is held on this side and has room; otherwise sends
    /// what is held and then `write`.
    fn hold_or_send(&mut self, write: Held) -> Result<(), postgres::Error> {
        if let Some(held) = self.held.as_mut()
            && held.len() < MOST_HELD
        {
            held.push(write);
            return Ok(());
        }
        self.send_held()?;
        let (sql, params) = write.alone();
        self.execute(sql, &params).map(drop)
    }

    /// Opens on the server the transaction held on this side, with what it wrote so far: the
    /// transaction is about to do something that cannot wait for the commit.
    fn send_held(&mut self) -> Result<(), postgres::Error> {
        let Some(held) = self.held.take() else {
            return Ok(());
        };
        self.open = true;
        self.client.batch_execute("BEGIN")?;
        for write in &held {
            let (sql, params) = write.alone();
            self.execute(sql, &params)?;
        }
        Ok(())
    }

    /// Commits the transaction held on this side: in one statement when it has that form.
    fn commit_held(&mut self, held: Vec<Held>) -> Result<(), postgres::Error> {
        if held.is_empty() {
            return Ok(());
        }
        if let Some((sql, params)) = held::as_one(&held) {
            return self.execute(sql, &params).map(drop);
        }
        self.held = Some(held);
        if let Err(err) = self.send_held() {
            // The commit failed: the transaction must end with it, not stay open and aborted.
            let _ = self.end("ROLLBACK");
            return Err(err);
        }
        self.end("COMMIT")
    }

    pub fn insert_outbox(&mut self, event: &Envelope, now: u64) -> Result<(), postgres::Error> {
        self.hold_or_send(Held::outbox(event, now))
    }

    /// Inserts the outbox row for an event of a partitioned stream (inside the caller's
    /// transaction).
    pub fn insert_sequenced(
        &mut self,
        event: &Envelope,
        partition: u32,
        sequence: u32,
        now: u64,
    ) -> Result<(), postgres::Error> {
        self.execute(
            "INSERT INTO outbox (event_id, aggregate_type, aggregate_id, event_type, version, payload, occurred_at, created_at, partition, sequence)
             VALUES ($1::text::uuid, 'order', $2, $3, $4, $5::text::jsonb, $6, $7, $8, $9)",
            &[
                &event.event_id,
                &event.aggregate_id,
                &event.event_type,
                &(event.version as i32),
                &event.payload,
                &event.occurred_at,
                &(now as i64),
                &(partition as i32),
                &(sequence as i32),
            ],
        )
        .map(drop)
    }

    /// Opens the relay's transaction and locks the head of `partition`: up to `limit` of its
    /// unsent rows, in id order, stopping before the first row another transaction holds.
    ///
    /// `SKIP LOCKED` alone hands out disjoint rows, not ordered ones: a relay restarted while the
    /// server has not yet ended its dead predecessor's transaction would skip the rows still
    /// locked and publish the partition's later rows first. So the rows locked are compared with
    /// the partition's unsent rows as they stand, locked or not, and only the common prefix is
    /// kept; an empty one means "not yet". The rows beyond it stay locked, unpublished, until
    /// [`PgConn::mark_claimed_sent`] commits. Ids follow commit order here because one service
    /// connection writes the outbox; with concurrent writers an id can commit after a larger one.
    pub fn claim_partition(
        &mut self,
        partition: u32,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, postgres::Error> {
        self.begin()?;
        let rows = self.head_of(partition, limit);
        match rows {
            Ok(rows) if rows.is_empty() => {
                self.commit()?;
                Ok(Vec::new())
            }
            Ok(rows) => Ok(rows),
            Err(err) => {
                let _ = self.rollback();
                Err(err)
            }
        }
    }

    fn head_of(&mut self, partition: u32, limit: u32) -> Result<Vec<OutboxRow>, postgres::Error> {
        let partition = partition as i32;
        let limit = i64::from(limit);
        let locked = self.query(
            "SELECT id, event_id::text, aggregate_id, event_type, version, payload::text, occurred_at
               FROM outbox WHERE partition = $1 AND sent_at IS NULL ORDER BY id LIMIT $2
                FOR UPDATE SKIP LOCKED",
            &[&partition, &limit],
        )?;
        if locked.is_empty() {
            return Ok(Vec::new());
        }
        let head = self.query(
            "SELECT id FROM outbox WHERE partition = $1 AND sent_at IS NULL ORDER BY id LIMIT $2",
            &[&partition, &limit],
        )?;
        Ok(locked
            .iter()
            .zip(&head)
            .take_while(|(l, h)| l.get::<_, i64>(0) == h.get::<_, i64>(0))
            .map(|(l, _)| outbox_row(l))
            .collect())
    }

    /// Opens the relay's transaction and locks up to `limit` unsent rows no other relay holds.
    /// The transaction stays open while the rows are published; [`PgConn::mark_claimed_sent`]
    /// ends it.
    pub fn claim_batch(&mut self, limit: u32) -> Result<Vec<OutboxRow>, postgres::Error> {
        self.begin()?;
        let rows = self.query(CLAIM_BATCH, &[&i64::from(limit)]);
        self.hold(rows)
    }

    /// Keeps the claim's transaction open over the rows it locked, or ends it when it locked none
    /// or failed.
    fn hold(
        &mut self,
        rows: Result<Vec<postgres::Row>, postgres::Error>,
    ) -> Result<Vec<OutboxRow>, postgres::Error> {
        match rows {
            Ok(rows) if rows.is_empty() => {
                self.commit()?;
                Ok(Vec::new())
            }
            Ok(rows) => Ok(rows.iter().map(outbox_row).collect()),
            Err(err) => {
                let _ = self.rollback();
                Err(err)
            }
        }
    }

    /// Marks the claimed rows sent and commits, which releases their locks.
    pub fn mark_claimed_sent(&mut self, ids: &[i64], now: u64) -> Result<usize, postgres::Error> {
        let marked = self.execute(MARK_SENT, &[&(now as i64), &ids])?;
        self.commit()?;
        Ok(marked as usize)
    }

    /// Reads unsent rows without locking them: two relays doing this read the same rows.
    pub fn select_unsent(&mut self, limit: u32) -> Result<Vec<OutboxRow>, postgres::Error> {
        Ok(self
            .query(POLL_UNSENT, &[&i64::from(limit)])?
            .iter()
            .map(outbox_row)
            .collect())
    }

    /// Marks rows sent without any claim: a row another relay marked first is skipped.
    pub fn mark_sent(&mut self, ids: &[i64], now: u64) -> Result<usize, postgres::Error> {
        self.execute(MARK_SENT, &[&(now as i64), &ids])
            .map(|n| n as usize)
    }

    pub fn unsent_count(&mut self) -> Result<u64, postgres::Error> {
        let row = self
            .query("SELECT count(*) FROM outbox WHERE sent_at IS NULL", &[])?
            .pop();
        Ok(row.map_or(0, |r| r.get::<_, i64>(0) as u64))
    }

    pub fn committed_orders(&mut self) -> Result<Vec<(u32, i64)>, postgres::Error> {
        Ok(self
            .query("SELECT id, amount_cents FROM orders ORDER BY id", &[])?
            .iter()
            .map(|r| (r.get::<_, i32>(0) as u32, r.get::<_, i64>(1)))
            .collect())
    }

    pub fn inbox_has(&mut self, event_id: &str) -> Result<bool, postgres::Error> {
        Ok(!self
            .query("SELECT 1 FROM inbox WHERE event_id = $1", &[&event_id])?
            .is_empty())
    }

    /// Opens the relay's transaction and locks exactly `ids`, waiting for no one: rows another
    /// transaction holds are skipped, as a claim by id on SQLite would overwrite them.
    pub fn claim_ids(&mut self, ids: &[i64]) -> Result<Vec<OutboxRow>, postgres::Error> {
        self.begin()?;
        let rows = self.query(
            "SELECT id, event_id::text, aggregate_id, event_type, version, payload::text, occurred_at
               FROM outbox WHERE id = ANY($1) AND sent_at IS NULL ORDER BY id
                FOR UPDATE SKIP LOCKED",
            &[&ids],
        );
        self.hold(rows)
    }

    /// Records `event_id` in the inbox; false when it was already there.
    pub fn inbox_record(&mut self, event_id: &str, now: u64) -> Result<bool, postgres::Error> {
        self.execute(
            "INSERT INTO inbox (event_id, processed_at) VALUES ($1, $2) ON CONFLICT (event_id) DO NOTHING",
            &[&event_id, &(now as i64)],
        )
        .map(|n| n == 1)
    }

    pub fn insert_charge(
        &mut self,
        order_id: &str,
        amount_cents: i64,
        event_id: &str,
        now: u64,
    ) -> Result<(), postgres::Error> {
        self.execute(
            "INSERT INTO charges (order_id, amount_cents, event_id, charged_at) VALUES ($1, $2, $3, $4)",
            &[&order_id, &amount_cents, &event_id, &(now as i64)],
        )
        .map(drop)
    }

    /// Records and charges a batch in one statement ([`RECORD_AND_CHARGE`]), inside the caller's
    /// transaction; returns, row by row, whether it was applied: the first place of each id the
    /// statement charged.
    pub fn record_and_charge(
        &mut self,
        rows: &[ChargeRow<'_>],
        now: u64,
    ) -> Result<Vec<bool>, postgres::Error> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = rows.iter().map(|r| r.event_id).collect();
        let orders: Vec<&str> = rows.iter().map(|r| r.order_id).collect();
        let amounts: Vec<i64> = rows.iter().map(|r| r.amount_cents).collect();
        let charged = self.query(RECORD_AND_CHARGE, &[&ids, &orders, &amounts, &(now as i64)])?;
        let mut charged: HashSet<&str> = charged.iter().map(|r| r.get::<_, &str>(0)).collect();
        Ok(rows.iter().map(|r| charged.remove(r.event_id)).collect())
    }

    /// The last sequence number applied for `aggregate_id`, 0 when none has been; its row stays
    /// locked until the consumer's transaction ends.
    pub fn applied_sequence(&mut self, aggregate_id: &str) -> Result<u32, postgres::Error> {
        Ok(self
            .query(
                "SELECT sequence FROM aggregate_progress WHERE aggregate_id = $1 FOR UPDATE",
                &[&aggregate_id],
            )?
            .first()
            .map_or(0, |r| r.get::<_, i32>(0) as u32))
    }

    /// Records that `aggregate_id` now stands at `sequence`, in the state `event_type` left it.
    pub fn apply_sequence(
        &mut self,
        aggregate_id: &str,
        sequence: u32,
        event_type: &str,
        now: u64,
    ) -> Result<(), postgres::Error> {
        self.execute(
            "INSERT INTO aggregate_progress (aggregate_id, sequence, state, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (aggregate_id) DO UPDATE
                SET sequence = excluded.sequence, state = excluded.state, updated_at = excluded.updated_at",
            &[&aggregate_id, &(sequence as i32), &event_type, &(now as i64)],
        )
        .map(drop)
    }

    pub fn charges(&mut self) -> Result<Vec<(String, i64, u64)>, postgres::Error> {
        Ok(self
            .query(
                "SELECT order_id, amount_cents, count(*) FROM charges
                  GROUP BY order_id, amount_cents ORDER BY order_id, amount_cents",
                &[],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get::<_, i64>(2) as u64))
            .collect())
    }
}

fn outbox_row(row: &postgres::Row) -> OutboxRow {
    OutboxRow {
        id: row.get(0),
        event: Envelope {
            event_id: row.get(1),
            aggregate_id: row.get(2),
            event_type: row.get(3),
            version: row.get::<_, i32>(4) as u32,
            payload: row.get(5),
            occurred_at: row.get(6),
        },
    }
}

/// The lab's components see PostgreSQL through the same trait as SQLite.
impl Storage for PgConn {
    fn begin(&mut self) -> Result<(), SimError> {
        Ok(PgConn::begin(self).pg("BEGIN")?)
    }

    fn commit(&mut self) -> Result<(), SimError> {
        // Inserts held for the commit go with it, so their errors surface here.
        let doing = match &self.held {
            Some(held) if !held.is_empty() => "committing the transaction's inserts",
            _ => "COMMIT",
        };
        Ok(PgConn::commit(self).pg(doing)?)
    }

    fn open_on_server(&mut self) -> Result<(), SimError> {
        Ok(self.send_held().pg("sending the transaction's inserts")?)
    }

    fn insert_order(&mut self, order: &Order, now: u64) -> Result<(), SimError> {
        Ok(PgConn::insert_order(self, order, now).pg("inserting the order")?)
    }

    fn insert_outbox(&mut self, event: &Envelope, now: u64) -> Result<(), SimError> {
        Ok(PgConn::insert_outbox(self, event, now).pg("inserting the outbox row")?)
    }

    /// Row locks, not a lease: `owner` and `lease_ms` have no part in it.
    fn claim_batch(&mut self, _owner: &str, _lease_ms: u64, limit: u32) -> Result<Claim, SimError> {
        Ok(locked(
            PgConn::claim_batch(self, limit).pg("claiming a batch with SKIP LOCKED")?,
        ))
    }

    /// Row locks, as in [`Storage::claim_batch`]: a relay's clock has no say in them.
    fn claim_batch_by_own_clock(
        &mut self,
        owner: &str,
        _now: u64,
        _lease_until: u64,
        limit: u32,
    ) -> Result<Claim, SimError> {
        Storage::claim_batch(self, owner, 0, limit)
    }

    fn mark_claimed_sent(
        &mut self,
        _owner: &str,
        ids: &[i64],
        now: u64,
    ) -> Result<usize, SimError> {
        Ok(PgConn::mark_claimed_sent(self, ids, now).pg("marking rows sent")?)
    }

    /// Nothing to give back: a dead relay's locks ended with its transaction.
    fn release_claims(&mut self, _prefix: &str) -> Result<(), SimError> {
        Ok(())
    }

    fn select_unsent(&mut self, limit: u32) -> Result<Vec<OutboxRow>, SimError> {
        Ok(PgConn::select_unsent(self, limit).pg("selecting unsent rows")?)
    }

    /// No leases here: the unsent rows, as [`Storage::select_unsent`] reads them.
    fn select_unleased(&mut self, limit: u32) -> Result<Vec<OutboxRow>, SimError> {
        Ok(PgConn::select_unsent(self, limit).pg("selecting unsent rows")?)
    }

    fn mark_sent(&mut self, ids: &[i64], now: u64) -> Result<usize, SimError> {
        Ok(PgConn::mark_sent(self, ids, now).pg("marking rows sent")?)
    }

    fn unsent_count(&mut self) -> Result<u64, SimError> {
        Ok(PgConn::unsent_count(self).pg("counting unsent rows")?)
    }

    fn committed_orders(&mut self) -> Result<Vec<(u32, i64)>, SimError> {
        Ok(PgConn::committed_orders(self).pg("reading committed orders")?)
    }

    /// Under [`Storage::no_wait`], a second consumer recording the same event id would wait for
    /// the first one's transaction: it takes a transaction-scoped advisory lock on the id first,
    /// and reports the database busy when another transaction has it.
    fn inbox_record(&mut self, event_id: &str, now: u64) -> Result<bool, SimError> {
        if self.no_wait {
            self.send_held().pg("sending the transaction's inserts")?;
            let locked: bool = self
                .client
                .query_one(
                    "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))",
                    &[&event_id],
                )
                .pg("locking the event id")?
                .get(0);
            if !locked {
                return Err(SimError::Busy);
            }
        }
        Ok(PgConn::inbox_record(self, event_id, now).pg("recording the event id")?)
    }

    fn no_wait(&mut self) -> Result<(), SimError> {
        self.no_wait = true;
        Ok(())
    }

    fn insert_charge(
        &mut self,
        order_id: &str,
        amount_cents: i64,
        event_id: &str,
        now: u64,
    ) -> Result<(), SimError> {
        Ok(
            PgConn::insert_charge(self, order_id, amount_cents, event_id, now)
                .pg("inserting the charge")?,
        )
    }

    /// One statement for the batch; under [`Storage::no_wait`], the statements row by row, each
    /// id's advisory lock taken before its inbox row as [`Storage::inbox_record`] does.
    fn record_and_charge(
        &mut self,
        rows: &[ChargeRow<'_>],
        now: u64,
    ) -> Result<Vec<bool>, SimError> {
        if self.no_wait {
            return record_and_charge_row_by_row(self, rows, now);
        }
        Ok(PgConn::record_and_charge(self, rows, now).pg("recording and charging a batch")?)
    }

    fn charges(&mut self) -> Result<Vec<(String, i64, u64)>, SimError> {
        Ok(PgConn::charges(self).pg("reading charges")?)
    }

    fn inbox_has(&mut self, event_id: &str) -> Result<bool, SimError> {
        Ok(PgConn::inbox_has(self, event_id).pg("looking the event id up in the inbox")?)
    }

    /// Row locks, not a lease, as in [`Storage::claim_batch`].
    fn claim_ids(&mut self, _owner: &str, ids: &[i64], _lease_ms: u64) -> Result<Claim, SimError> {
        Ok(locked(
            PgConn::claim_ids(self, ids).pg("claiming rows by id")?,
        ))
    }

    fn insert_sequenced(
        &mut self,
        event: &Envelope,
        partition: u32,
        sequence: u32,
        now: u64,
    ) -> Result<(), SimError> {
        Ok(
            PgConn::insert_sequenced(self, event, partition, sequence, now)
                .pg("inserting the outbox row")?,
        )
    }

    /// Row locks, not a lease, as in [`Storage::claim_batch`].
    fn claim_partition(
        &mut self,
        partition: u32,
        _owner: &str,
        _lease_ms: u64,
        limit: u32,
    ) -> Result<Claim, SimError> {
        Ok(locked(
            PgConn::claim_partition(self, partition, limit)
                .pg("claiming a partition's head with SKIP LOCKED")?,
        ))
    }

    fn applied_sequence(&mut self, aggregate_id: &str) -> Result<u32, SimError> {
        Ok(PgConn::applied_sequence(self, aggregate_id).pg("reading the applied sequence")?)
    }

    fn apply_sequence(
        &mut self,
        aggregate_id: &str,
        sequence: u32,
        event_type: &str,
        now: u64,
    ) -> Result<(), SimError> {
        Ok(
            PgConn::apply_sequence(self, aggregate_id, sequence, event_type, now)
                .pg("recording the applied sequence")?,
        )
    }
}

/// Rows a claim locked: held until the claim's transaction ends, whatever any clock says.
fn locked(rows: Vec<OutboxRow>) -> Claim {
    Claim {
        rows,
        lease_until: None,
    }
}
