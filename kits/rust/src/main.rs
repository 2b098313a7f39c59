//! Your order service, outbox relay and consumer, for `msgwork verify`.
//!
//! msgwork starts this program once per role and names the role in the first line it sends.
//! Build it, then run it under kills:
//!
//!     cargo build --release
//!     msgwork verify -- target/release/shop
//!
//! As shipped, this is the naive design, and it fails on purpose: the service commits an order
//! and then publishes its event itself (a dual write), the relay does nothing, and the consumer
//! charges every delivery it gets. README.md walks you through fixing it in four steps; look for
//! the "Step 1" to "Step 4" comments below. The wire protocol is in PROTOCOL.md.

use std::io::{BufRead, Write};
use std::time::Duration;

use rusqlite::{params, Connection, ErrorCode, TransactionBehavior};
use serde_json::{json, Value};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const PROTOCOL: u64 = 1;

// --- The wire: one JSON object per line, in on stdin, out on stdout. ---------------------------
// You should not need to change anything in this section.

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

// Step 1: add an outbox table here. Step 2: give it the columns a claim needs.
const SERVICE_SCHEMA: &[&str] = &["CREATE TABLE IF NOT EXISTS orders (
        order_id     INTEGER PRIMARY KEY,
        customer_id  TEXT    NOT NULL,
        amount_cents INTEGER NOT NULL,
        placed_at    INTEGER NOT NULL
    )"];

// Step 4: add an inbox table here.
const CONSUMER_SCHEMA: &[&str] = &["CREATE TABLE IF NOT EXISTS charges (
        charge_id    INTEGER PRIMARY KEY,
        order_id     INTEGER NOT NULL,
        amount_cents INTEGER NOT NULL,
        event_id     TEXT    NOT NULL,
        charged_at   INTEGER NOT NULL
    )"];

fn int(value: &Value, what: &str) -> Result<i64> {
    value
        .as_i64()
        .ok_or_else(|| format!("{what} is not an integer: {value}").into())
}

// --- The service -------------------------------------------------------------------------------

fn place_order(db: &mut Connection, wire: &mut Wire, order: &Value, now: i64) -> Result<()> {
    let order_id = int(&order["order_id"], "order_id")?;
    let amount_cents = int(&order["amount_cents"], "amount_cents")?;
    let customer_id = order["customer_id"].as_str().unwrap_or_default();
    let event = json!({
        "event_id": format!("order-{order_id}"),
        "order_id": order_id,
        "customer_id": customer_id,
        "amount_cents": amount_cents,
    });
    let tx = begin(db)?;
    tx.execute(
        "INSERT INTO orders (order_id, customer_id, amount_cents, placed_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![order_id, customer_id, amount_cents, now],
    )?;
    tx.commit()?;
    // Step 1: this is the dual write. The order is committed, but if the process dies right here,
    // or the broker answers publish_failed, the event is gone for good. Instead, insert the event
    // into an outbox table in the same transaction as the order, and let the relay publish it.
    wire.publish(&event)?;
    Ok(())
}

fn serve(db: &mut Connection, wire: &mut Wire, request: &Value) -> Result<()> {
    if request["type"] != "place_order" {
        return Err(format!("the service does not handle {} messages", request["type"]).into());
    }
    place_order(db, wire, &request["order"], int(&request["now"], "now")?)?;
    wire.reply(request, json!({"type": "order_placed"}));
    Ok(())
}

// --- A relay -----------------------------------------------------------------------------------

// The allow attributes keep the build quiet until your relay uses what it is given.
/// A relay's identity: its node name and how many times that node was restarted.
#[allow(dead_code)]
struct Me {
    node: String,
    incarnation: i64,
}

#[allow(unused_variables)]
fn relay_pass(db: &mut Connection, wire: &mut Wire, me: &Me, now: i64) -> Result<()> {
    // Step 1: publish the outbox rows that are not sent yet, and mark them sent.
    // Step 2: several relays run at once; claim a batch of rows for this relay alone first.
    // Step 3: mark a row sent only after publish_ok, and only while this relay still holds it.
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

// --- The consumer ------------------------------------------------------------------------------

fn apply_event(db: &mut Connection, event: &Value, now: i64) -> Result<()> {
    let event_id = event["event_id"]
        .as_str()
        .ok_or("an event without an event_id")?;
    let order_id = int(&event["order_id"], "order_id")?;
    let amount_cents = int(&event["amount_cents"], "amount_cents")?;
    // Step 4: the broker delivers some events more than once, so this charges some orders twice.
    // Record the event id in an inbox table in the same transaction, and skip the charge when
    // the id is there already.
    let tx = begin(db)?;
    tx.execute(
        "INSERT INTO charges (order_id, amount_cents, event_id, charged_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![order_id, amount_cents, event_id, now],
    )?;
    tx.commit()?;
    Ok(())
}

fn consume(db: &mut Connection, wire: &mut Wire, request: &Value) -> Result<()> {
    if request["type"] != "deliver" {
        return Err(format!("the consumer does not handle {} messages", request["type"]).into());
    }
    apply_event(db, &request["event"], int(&request["now"], "now")?)?;
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
