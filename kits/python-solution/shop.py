#!/usr/bin/env python3
"""The reference solution for `msgwork verify`: an order service, outbox relays and an
idempotent consumer that lose nothing and apply nothing twice, whenever they are killed.

msgwork starts this file once per role and tells it which role in the first line it sends.
Run it with:  msgwork verify -- python3 shop.py
The wire protocol is in PROTOCOL.md beside this file.
"""

import contextlib
import json
import os
import sqlite3
import sys
import time
import traceback

PROTOCOL = 1

# How long a relay's claim on outbox rows lasts, in milliseconds of msgwork's clock. It only
# matters for a relay that dies and never comes back: a restarted relay takes back its own
# node's claims at once. Keep it far longer than any pass, or a slow but living relay could
# lose its rows to another relay and both would publish them.
LEASE_MS = 15_000

# The most rows one relay claims in one pass, so the other relays get work too.
BATCH = 20


# --- The wire: one JSON object per line, in on stdin, out on stdout. ---------------------------

node = "?"
next_msg_id = 0


def log(text):
    """Writes a line to stderr, which msgwork shows when something goes wrong."""
    print(f"[{node}] {text}", file=sys.stderr, flush=True)


def send(message):
    try:
        print(json.dumps(message), flush=True)
    except BrokenPipeError:
        # msgwork has gone, so nobody is left to answer.
        os._exit(0)


def receive():
    """The next message from msgwork; exits quietly when stdin closes, as the protocol asks."""
    line = sys.stdin.buffer.readline()
    if not line:
        sys.exit(0)
    return json.loads(line)


def reply(request, message):
    send({**message, "in_reply_to": request.get("msg_id")})


def publish(event):
    """Asks the broker to store `event`; True only when it confirmed with publish_ok."""
    global next_msg_id
    next_msg_id += 1
    send({"type": "publish", "msg_id": next_msg_id, "event": event})
    answer = receive()
    if answer.get("in_reply_to") != next_msg_id:
        raise RuntimeError(f"expected the answer to publish {next_msg_id}, got {answer}")
    if answer.get("type") == "publish_ok":
        return True
    log(f"publish of {event['event_id']} not confirmed: {answer.get('reason', answer)}")
    return False


# --- Databases ---------------------------------------------------------------------------------


def open_db(path, schema):
    # isolation_level=None: this code says where each transaction begins and ends.
    # timeout: wait up to 10 s for another process's write lock instead of failing at once.
    db = sqlite3.connect(path, timeout=10.0, isolation_level=None)
    # WAL lets readers and one writer work at the same time: the service and the relays share
    # the service's database. They all open it at once while it is new, and switching it to WAL
    # can fail with "database is locked" without waiting (SQLite refuses rather than risk a
    # deadlock), so try again for a while.
    for attempt in range(200):
        try:
            db.execute("PRAGMA journal_mode = WAL")
            break
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == 199:
                raise
            time.sleep(0.01)
    # A commit survives a killed process (all `verify` does) once it is in the WAL file;
    # NORMAL skips the disk flush that only a power cut would need.
    db.execute("PRAGMA synchronous = NORMAL")
    with transaction(db):
        for statement in schema:
            db.execute(statement)
    return db


@contextlib.contextmanager
def transaction(db):
    """One write transaction. BEGIN IMMEDIATE takes the write lock up front, so two processes
    never both read, then both try to write and one of them fail with "database is locked"."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


SERVICE_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS orders (
        order_id     INTEGER PRIMARY KEY,
        customer_id  TEXT    NOT NULL,
        amount_cents INTEGER NOT NULL,
        placed_at    INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS outbox (
        seq               INTEGER PRIMARY KEY,
        event_id          TEXT    NOT NULL UNIQUE,
        order_id          INTEGER NOT NULL,
        payload           TEXT    NOT NULL,
        created_at        INTEGER NOT NULL,
        claim_node        TEXT,
        claim_incarnation INTEGER,
        lease_until       INTEGER,
        sent_at           INTEGER
    )""",
    # The relays look only at unsent rows; this index stays small however long the table grows.
    "CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (seq) WHERE sent_at IS NULL",
]

CONSUMER_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS charges (
        charge_id    INTEGER PRIMARY KEY,
        order_id     INTEGER NOT NULL,
        amount_cents INTEGER NOT NULL,
        event_id     TEXT    NOT NULL,
        charged_at   INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS inbox (
        event_id    TEXT    PRIMARY KEY,
        received_at INTEGER NOT NULL
    )""",
]


# --- The service: step 1, the order and its event in one transaction. --------------------------


def place_order(db, order, now):
    event = {
        "event_id": f"order-{order['order_id']}",
        "order_id": order["order_id"],
        "customer_id": order["customer_id"],
        "amount_cents": order["amount_cents"],
    }
    # Both rows commit together or not at all, so a committed order always has its event waiting
    # in the outbox, whenever the service is killed. The service never publishes itself.
    with transaction(db):
        db.execute(
            "INSERT OR IGNORE INTO orders (order_id, customer_id, amount_cents, placed_at)"
            " VALUES (?, ?, ?, ?)",
            (order["order_id"], order["customer_id"], order["amount_cents"], now),
        )
        db.execute(
            "INSERT OR IGNORE INTO outbox (event_id, order_id, payload, created_at)"
            " VALUES (?, ?, ?, ?)",
            (event["event_id"], event["order_id"], json.dumps(event), now),
        )


def serve(db, request):
    if request["type"] != "place_order":
        raise ValueError(f"the service does not handle {request['type']!r} messages")
    place_order(db, request["order"], request["now"])
    reply(request, {"type": "order_placed"})


# --- A relay: steps 2 and 3, claim disjoint batches, mark sent only after publish_ok. ----------

# Who may take a row: nobody holds it, this node held it (in this life or an earlier one, which
# is dead now), or its lease ran out.
CLAIMABLE = "(claim_node IS NULL OR claim_node = :node OR lease_until < :now)"


def claim(db, me, now):
    """Takes up to BATCH unsent rows for this relay alone and returns them."""
    node_name, incarnation = me
    args = {"node": node_name, "incarnation": incarnation, "now": now}
    # A cheap read first, so an idle relay never takes the write lock.
    if not db.execute(
        f"SELECT 1 FROM outbox WHERE sent_at IS NULL AND {CLAIMABLE} LIMIT 1", args
    ).fetchone():
        return []
    # A short transaction: stamp the rows with our token, commit, and only then publish.
    with transaction(db):
        db.execute(
            "UPDATE outbox SET claim_node = :node, claim_incarnation = :incarnation,"
            " lease_until = :now + :lease"
            f" WHERE seq IN (SELECT seq FROM outbox WHERE sent_at IS NULL AND {CLAIMABLE}"
            " ORDER BY seq LIMIT :batch)",
            {**args, "lease": LEASE_MS, "batch": BATCH},
        )
    return db.execute(
        "SELECT seq, event_id, payload FROM outbox WHERE sent_at IS NULL"
        " AND claim_node = :node AND claim_incarnation = :incarnation ORDER BY seq",
        args,
    ).fetchall()


def mark_sent(db, me, seq, now):
    """Marks a published row sent, if this relay still holds it; another relay's claim is left
    alone, because clearing it would let a third relay publish the row while the second does."""
    node_name, incarnation = me
    marked = db.execute(
        "UPDATE outbox SET sent_at = ? WHERE seq = ? AND sent_at IS NULL"
        " AND claim_node = ? AND claim_incarnation = ?",
        (now, seq, node_name, incarnation),
    ).rowcount
    if not marked:
        log(f"row {seq} was published but another relay holds it now")


def relay_pass(db, me, now):
    for seq, event_id, payload in claim(db, me, now):
        if not publish(json.loads(payload)):
            # Not confirmed: the row stays unsent and ours, and the next tick publishes it again.
            # The broker may have stored it anyway; the consumer absorbs the duplicate.
            break
        mark_sent(db, me, seq, now)


def relay(db, me, request):
    if request["type"] != "tick":
        raise ValueError(f"a relay does not handle {request['type']!r} messages")
    relay_pass(db, me, request["now"])
    reply(request, {"type": "tick_ok"})


# --- The consumer: step 4, remember each event id in the same transaction as the charge. -------


def first_delivery(db, event_id, now):
    """Records `event_id` in the inbox; False when it was there already."""
    return (
        db.execute(
            "INSERT OR IGNORE INTO inbox (event_id, received_at) VALUES (?, ?)", (event_id, now)
        ).rowcount
        == 1
    )


def apply_event(db, event, now):
    # The inbox row and the charge commit together: killed before the commit, neither exists
    # and the redelivery charges; killed after it, the redelivery finds the event id and skips.
    with transaction(db):
        if first_delivery(db, event["event_id"], now):
            db.execute(
                "INSERT INTO charges (order_id, amount_cents, event_id, charged_at)"
                " VALUES (?, ?, ?, ?)",
                (event["order_id"], event["amount_cents"], event["event_id"], now),
            )
        else:
            log(f"{event['event_id']} delivered again; it was charged already")


def consume(db, request):
    if request["type"] != "deliver":
        raise ValueError(f"the consumer does not handle {request['type']!r} messages")
    apply_event(db, request["event"], request["now"])
    # Acknowledge only after the commit: an event acknowledged and then lost is never delivered
    # again.
    reply(request, {"type": "ack"})


# --- Start-up and the main loop ----------------------------------------------------------------


def main():
    global node
    init = receive()
    if init.get("type") != "init":
        raise SystemExit(f"expected an init message first, got {init}")
    node = f"{init.get('node', '?')}#{init.get('incarnation', 0)}"
    role = init.get("role")
    if init.get("protocol") != PROTOCOL or role not in ("service", "relay", "consumer"):
        reply(init, {"type": "error", "text": f"this program speaks protocol {PROTOCOL} with"
                     f" roles service, relay and consumer; got protocol {init.get('protocol')}"
                     f" and role {role!r}"})
        sys.exit(1)

    if role == "consumer":
        db = open_db(init["consumer_db"], CONSUMER_SCHEMA)
        handle = lambda request: consume(db, request)
    elif role == "relay":
        db = open_db(init["service_db"], SERVICE_SCHEMA)
        me = (init["node"], init["incarnation"])
        handle = lambda request: relay(db, me, request)
    else:
        db = open_db(init["service_db"], SERVICE_SCHEMA)
        handle = lambda request: serve(db, request)
    reply(init, {"type": "init_ok"})
    log(f"started as {role}")

    while True:
        request = receive()
        try:
            handle(request)
        except Exception as error:
            log(traceback.format_exc())
            reply(request, {"type": "error", "text": f"{type(error).__name__}: {error}"})


if __name__ == "__main__":
    main()
