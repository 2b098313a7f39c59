//! The reference solution for `msgwork verify`: an order service, outbox relays and an
//! idempotent consumer that lose nothing and apply nothing twice, whenever they are killed.
//!
//! msgwork starts this program once per role and names the role in the first line it sends.
//! Build it, then run it under kills:
//!
//!     cargo build --release
//!     msgwork verify -- target/release/shop
//!
//! The wire protocol is in PROTOCOL.md beside Cargo.toml.

use std::io::{BufRead, Write};
use std::time::Duration;

use rusqlite::{
    named_params, params, Connection, ErrorCode, OptionalExtension, TransactionBehavior,
};
use serde_json::{json, Value};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const PROTOCOL: u64 = 1;

/// How long a relay's claim on outbox rows lasts, in milliseconds of msgwork's clock. It only
/// matters for a relay that dies and never comes back: a restarted relay takes back its own
/// node's claims at once. Keep it far longer than any pass, or a slow but living relay could
/// lose its rows to another relay and both would publish them.
const LEASE_MS: i64 = 15_000;

/// The most rows one relay claims in one pass, so the other relays get work too.
const BATCH: i64 = 20;

// --- The wire: one JSON object per line, in on stdin, out on stdout. ---------------------------

struct Wire {
    node: String,
    next_msg_id: u64,
}

impl Wire {
    /// Writes a line to stderr, which msgwork shows when something goes wrong.
    fn log(&self, text: &str) {
        eprintln!("[{}] {text}", self.node);
    }

    fn send(&self, message: &Value) {
        let mut out = std::io::stdout().lock();
        if writeln!(out, "{message}")
            .and_then(|()| out.flush())
            .is_err()
        {
            // msgwork has gone, so nobody is left to answer.
            std::process::exit(0);
        }
    }

    /// The next message from msgwork; exits quietly when stdin closes, as the protocol asks.
    fn receive(&self) -> Value {
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) | Err(_) => std::process::exit(0),
            Ok(_) => {}
        }
        serde_json::from_str(&line).unwrap_or_else(|err| {
            self.log(&format!(
                "msgwork sent a line that is not JSON ({err}): {line}"
            ));
            std::process::exit(1)
        })
    }

    fn reply(&self, request: &Value, mut message: Value) {
        message["in_reply_to"] = request["msg_id"].clone();
        self.send(&message);
    }

    /// Asks the broker to store `event`; true only when it confirmed with publish_ok.
    fn publish(&mut self, event: &Value) -> Result<bool> {
        self.next_msg_id += 1;
        let id = self.next_msg_id;
        self.send(&json!({"type": "publish", "msg_id": id, "event": event}));
        let answer = self.receive();
        if answer["in_reply_to"] != id {
            return Err(format!("expected the answer to publish {id}, got {answer}").into());
        }
        if answer["type"] == "publish_ok" {
            return Ok(true);
        }
        self.log(&format!(
            "publish of {} not confirmed: {answer}",
            event["event_id"]
        ));
        Ok(false)
    }
}

// --- Databases ---------------------------------------------------------------------------------

fn open_db(path: &str, schema: &[&str]) -> Result<Connection> {
    let mut db = Connection::open(path)?;
    // Wait up to 10 s for another process's write lock instead of failing at once.
    db.busy_timeout(Duration::from_secs(10))?;
    // WAL lets readers and one writer work at the same time: the service and the relays share
    // the service's database. They all open it at once while it is new, and switching it to WAL
    // can fail with "database is locked" without waiting (SQLite refuses rather than risk a
    // deadlock), so try again for a while.
    let mut attempt = 0;
    loop {
        match db.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(())) {
            Ok(()) => break,
            Err(err)
                if attempt < 200 && err.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) =>
            {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(err) => return Err(err.into()),
        }
    }
    // A commit survives a killed process (all `verify` does) once it is in the WAL file;
    // NORMAL skips the disk flush that only a power cut would need.
    db.pragma_update(None, "synchronous", "NORMAL")?;
    let tx = begin(&mut db)?;
    for statement in schema {
        tx.execute(statement, [])?;
    }
    tx.commit()?;
    Ok(db)
}

/// One write transaction. IMMEDIATE takes the write lock up front, so two processes never both
/// read, then both try to write and one of them fail with "database is locked". Dropped without
/// `commit`, it rolls back.
fn begin(db: &mut Connection) -> rusqlite::Result<rusqlite::Transaction<'_>> {
    db.transaction_with_behavior(TransactionBehavior::Immediate)
}

const SERVICE_SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS orders (
        order_id     INTEGER PRIMARY KEY,
        customer_id  TEXT    NOT NULL,
        amount_cents INTEGER NOT NULL,
        placed_at    INTEGER NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS outbox (
        seq               INTEGER PRIMARY KEY,
        event_id          TEXT    NOT NULL UNIQUE,
        order_id          INTEGER NOT NULL,
        payload           TEXT    NOT NULL,
        created_at        INTEGER NOT NULL,
        claim_node        TEXT,
        claim_incarnation INTEGER,
        lease_until       INTEGER,
        sent_at           INTEGER
    )",
    // The relays look only at unsent rows; this index stays small however long the table grows.
    "CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (seq) WHERE sent_at IS NULL",
];

const CONSUMER_SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS charges (
        charge_id    INTEGER PRIMARY KEY,
        order_id     INTEGER NOT NULL,
        amount_cents INTEGER NOT NULL,
        event_id     TEXT    NOT NULL,
        charged_at   INTEGER NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS inbox (
        event_id    TEXT    PRIMARY KEY,
        received_at INTEGER NOT NULL
    )",
];

fn int(value: &Value, what: &str) -> Result<i64> {
    value
        .as_i64()
        .ok_or_else(|| format!("{what} is not an integer: {value}").into())
}

// --- The service: step 1, the order and its event in one transaction. --------------------------

fn place_order(db: &mut Connection, order: &Value, now: i64) -> Result<()> {
    let order_id = int(&order["order_id"], "order_id")?;
    let amount_cents = int(&order["amount_cents"], "amount_cents")?;
    let customer_id = order["customer_id"].as_str().unwrap_or_default();
    let event = json!({
        "event_id": format!("order-{order_id}"),
        "order_id": order_id,
        "customer_id": customer_id,
        "amount_cents": amount_cents,
    });
    // Both rows commit together or not at all, so a committed order always has its event waiting
    // in the outbox, whenever the service is killed. The service never publishes itself.
    let tx = begin(db)?;
    tx.execute(
        "INSERT OR IGNORE INTO orders (order_id, customer_id, amount_cents, placed_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![order_id, customer_id, amount_cents, now],
    )?;
    tx.execute(
        "INSERT OR IGNORE INTO outbox (event_id, order_id, payload, created_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![event["event_id"].as_str(), order_id, event.to_string(), now],
    )?;
    tx.commit()?;
    Ok(())
}

fn serve(db: &mut Connection, wire: &mut Wire, request: &Value) -> Result<()> {
    if request["type"] != "place_order" {
        return Err(format!("the service does not handle {} messages", request["type"]).into());
    }
    place_order(db, &request["order"], int(&request["now"], "now")?)?;
    wire.reply(request, json!({"type": "order_placed"}));
    Ok(())
}

// --- A relay: steps 2 and 3, claim disjoint batches, mark sent only after publish_ok. ----------

/// A relay's claim token: its node name and how many times that node was restarted.
struct Me {
    node: String,
    incarnation: i64,
}

// Who may take a row: nobody holds it, this node held it (in this life or an earlier one, which
// is dead now), or its lease ran out.
const CLAIMABLE: &str = "(claim_node IS NULL OR claim_node = :node OR lease_until < :now)";

/// Takes up to BATCH unsent rows for this relay alone and returns them as (seq, payload).
fn claim(db: &mut Connection, me: &Me, now: i64) -> Result<Vec<(i64, String)>> {
    // A cheap read first, so an idle relay never takes the write lock.
    let claimable = db
        .query_row(
            &format!("SELECT 1 FROM outbox WHERE sent_at IS NULL AND {CLAIMABLE} LIMIT 1"),
            named_params! {":node": me.node, ":now": now},
            |_| Ok(()),
        )
        .optional()?;
    if claimable.is_none() {
        return Ok(Vec::new());
    }
    // A short transaction: stamp the rows with our token, commit, and only then publish.
    let tx = begin(db)?;
    tx.execute(
        &format!(
            "UPDATE outbox SET claim_node = :node, claim_incarnation = :incarnation,
                 lease_until = :now + :lease
             WHERE seq IN (SELECT seq FROM outbox WHERE sent_at IS NULL AND {CLAIMABLE}
                           ORDER BY seq LIMIT :batch)"
        ),
        named_params! {
            ":node": me.node, ":incarnation": me.incarnation, ":now": now,
            ":lease": LEASE_MS, ":batch": BATCH,
        },
    )?;
    tx.commit()?;
    let mut rows = db.prepare(
        "SELECT seq, payload FROM outbox WHERE sent_at IS NULL
         AND claim_node = ?1 AND claim_incarnation = ?2 ORDER BY seq",
    )?;
    let claimed = rows
        .query_map(params![me.node, me.incarnation], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(claimed)
}

/// Marks a published row sent, if this relay still holds it; another relay's claim is left
/// alone, because clearing it would let a third relay publish the row while the second does.
fn mark_sent(db: &Connection, wire: &Wire, me: &Me, seq: i64, now: i64) -> Result<()> {
    let marked = db.execute(
        "UPDATE outbox SET sent_at = ?1 WHERE seq = ?2 AND sent_at IS NULL
         AND claim_node = ?3 AND claim_incarnation = ?4",
        params![now, seq, me.node, me.incarnation],
    )?;
    if marked == 0 {
        wire.log(&format!(
            "row {seq} was published but another relay holds it now"
        ));
    }
    Ok(())
}

fn relay_pass(db: &mut Connection, wire: &mut Wire, me: &Me, now: i64) -> Result<()> {
    for (seq, payload) in claim(db, me, now)? {
        let event: Value = serde_json::from_str(&payload)?;
        if !wire.publish(&event)? {
            // Not confirmed: the row stays unsent and ours, and the next tick publishes it again.
            // The broker may have stored it anyway; the consumer absorbs the duplicate.
            break;
        }
        mark_sent(db, wire, me, seq, now)?;
    }
    Ok(())
}

fn relay(db: &mut Connection, wire: &mut Wire, me: &Me, request: &Value) -> Result<()> {
    if request["type"] != "tick" {
        return Err(format!("a relay does not handle {} messages", request["type"]).into());
    }
    relay_pass(db, wire, me, int(&request["now"], "now")?)?;
    wire.reply(request, json!({"type": "tick_ok"}));
    Ok(())
}

// --- The consumer: step 4, remember each event id in the same transaction as the charge. -------

/// Records `event_id` in the inbox; false when it was there already.
fn first_delivery(tx: &rusqlite::Transaction, event_id: &str, now: i64) -> Result<bool> {
    let added = tx.execute(
        "INSERT OR IGNORE INTO inbox (event_id, received_at) VALUES (?1, ?2)",
        params![event_id, now],
    )?;
    Ok(added == 1)
}

fn apply_event(db: &mut Connection, wire: &Wire, event: &Value, now: i64) -> Result<()> {
    let event_id = event["event_id"]
        .as_str()
        .ok_or("an event without an event_id")?;
    let order_id = int(&event["order_id"], "order_id")?;
    let amount_cents = int(&event["amount_cents"], "amount_cents")?;
    // The inbox row and the charge commit together: killed before the commit, neither exists
    // and the redelivery charges; killed after it, the redelivery finds the event id and skips.
    let tx = begin(db)?;
    if first_delivery(&tx, event_id, now)? {
        tx.execute(
            "INSERT INTO charges (order_id, amount_cents, event_id, charged_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![order_id, amount_cents, event_id, now],
        )?;
    } else {
        wire.log(&format!(
            "{event_id} delivered again; it was charged already"
        ));
    }
    tx.commit()?;
    Ok(())
}

fn consume(db: &mut Connection, wire: &mut Wire, request: &Value) -> Result<()> {
    if request["type"] != "deliver" {
        return Err(format!("the consumer does not handle {} messages", request["type"]).into());
    }
    apply_event(db, wire, &request["event"], int(&request["now"], "now")?)?;
    // Acknowledge only after the commit: an event acknowledged and then lost is never delivered
    // again.
    wire.reply(request, json!({"type": "ack"}));
    Ok(())
}

// --- Start-up and the main loop ----------------------------------------------------------------

fn main() {
    let mut wire = Wire {
        node: "?".into(),
        next_msg_id: 0,
    };
    let init = wire.receive();
    if init["type"] != "init" {
        wire.log(&format!("expected an init message first, got {init}"));
        std::process::exit(1);
    }
    let node = init["node"].as_str().unwrap_or("?").to_string();
    let incarnation = init["incarnation"].as_i64().unwrap_or(0);
    wire.node = format!("{node}#{incarnation}");
    let role = init["role"].as_str().unwrap_or_default().to_string();
    if init["protocol"] != PROTOCOL || !["service", "relay", "consumer"].contains(&role.as_str()) {
        let text = format!(
            "this program speaks protocol {PROTOCOL} with roles service, relay and consumer; got \
             protocol {} and role {role:?}",
            init["protocol"]
        );
        wire.reply(&init, json!({"type": "error", "text": text}));
        std::process::exit(1);
    }
    let (path, schema) = if role == "consumer" {
        (&init["consumer_db"], CONSUMER_SCHEMA)
    } else {
        (&init["service_db"], SERVICE_SCHEMA)
    };
    let mut db = match open_db(path.as_str().unwrap_or_default(), schema) {
        Ok(db) => db,
        Err(err) => {
            let text = format!("cannot open {path}: {err}");
            wire.log(&text);
            wire.reply(&init, json!({"type": "error", "text": text}));
            std::process::exit(1);
        }
    };
    let me = Me { node, incarnation };
    wire.reply(&init, json!({"type": "init_ok"}));
    wire.log(&format!("started as {role}"));

    loop {
        let request = wire.receive();
        let handled = match role.as_str() {
            "service" => serve(&mut db, &mut wire, &request),
            "relay" => relay(&mut db, &mut wire, &me, &request),
            _ => consume(&mut db, &mut wire, &request),
        };
        if let Err(err) = handled {
            wire.log(&format!("error: {err}"));
            wire.reply(&request, json!({"type": "error", "text": err.to_string()}));
        }
    }
}
