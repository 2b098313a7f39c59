#!/usr/bin/env python3
"""Your order service, outbox relay and consumer, for `msgwork verify`.

msgwork starts this file once per role and tells it which role in the first line it sends.
Run it with:  msgwork verify -- python3 shop.py

As shipped, this is the naive design, and it fails on purpose: the service commits an order and
then publishes its event itself (a dual write), the relay does nothing, and the consumer charges
every delivery it gets. README.md walks you through fixing it in four steps; look for the
"step 1" to "step 4" comments below. The wire protocol is in PROTOCOL.md beside this file.
"""

import contextlib
import json
import os
import sqlite3
import sys
import time
import traceback

PROTOCOL = 1


# --- The wire: one JSON object per line, in on stdin, out on stdout. ---------------------------
# You should not need to change anything in this section.

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


# Step 1: add an outbox table here. Step 2: give it the columns a claim needs.
SERVICE_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS orders (
        order_id     INTEGER PRIMARY KEY,
        customer_id  TEXT    NOT NULL,
        amount_cents INTEGER NOT NULL,
        placed_at    INTEGER NOT NULL
    )""",
]

# Step 4: add an inbox table here.
CONSUMER_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS charges (
        charge_id    INTEGER PRIMARY KEY,
        order_id     INTEGER NOT NULL,
        amount_cents INTEGER NOT NULL,
        event_id     TEXT    NOT NULL,
        charged_at   INTEGER NOT NULL
    )""",
]


# --- The service -------------------------------------------------------------------------------


def place_order(db, order, now):
    event = {
        "event_id": f"order-{order['order_id']}",
        "order_id": order["order_id"],
        "customer_id": order["customer_id"],
        "amount_cents": order["amount_cents"],
    }
    with transaction(db):
        db.execute(
            "INSERT INTO orders (order_id, customer_id, amount_cents, placed_at)"
            " VALUES (?, ?, ?, ?)",
            (order["order_id"], order["customer_id"], order["amount_cents"], now),
        )
    # Step 1: this is the dual write. The order is committed, but if the process dies right here,
    # or the broker answers publish_failed, the event is gone for good. Instead, insert the event
    # into an outbox table in the same transaction as the order, and let the relay publish it.
    publish(event)


def serve(db, request):
    if request["type"] != "place_order":
        raise ValueError(f"the service does not handle {request['type']!r} messages")
    place_order(db, request["order"], request["now"])
    reply(request, {"type": "order_placed"})


# --- A relay -----------------------------------------------------------------------------------


def relay_pass(db, me, now):
    # Step 1: publish the outbox rows that are not sent yet, and mark them sent.
    # Step 2: several relays run at once; claim a batch of rows for this relay alone first.
    # Step 3: mark a row sent only after publish_ok, and only while this relay still holds it.
    pass


def relay(db, me, request):
    if request["type"] != "tick":
        raise ValueError(f"a relay does not handle {request['type']!r} messages")
    relay_pass(db, me, request["now"])
    reply(request, {"type": "tick_ok"})


# --- The consumer ------------------------------------------------------------------------------


def apply_event(db, event, now):
    # Step 4: the broker delivers some events more than once, so this charges some orders twice.
    # Record the event id in an inbox table in the same transaction, and skip the charge when the
    # id is there already.
    with transaction(db):
        db.execute(
            "INSERT INTO charges (order_id, amount_cents, event_id, charged_at)"
            " VALUES (?, ?, ?, ?)",
            (event["order_id"], event["amount_cents"], event["event_id"], now),
        )


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
        # A relay's identity: its node name and how many times that node was restarted.
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
