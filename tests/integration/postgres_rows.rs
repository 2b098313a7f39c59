//! What the lab's statements leave in the tables of a real PostgreSQL server, statement by
//! statement: the consumer's batch, the service's inserts held for its commit, and the scans the
//! checker reads at the end of a run (skipped, saying why, when no server is configured).

use msgwork::sim::model::{Envelope, Order, Pipeline};
use msgwork::sim::storage::postgres::scan;
use msgwork::sim::storage::postgres::store::{LabSchemas, PgConn};
use msgwork::sim::storage::seam::{ChargeRow, Storage, record_and_charge_row_by_row};

use crate::harness::postgres;
use crate::postgres::outbox_with;

/// A fresh billing schema with its inbox, and a connection to it.
fn billing_on(url: &str, tag: &str) -> (LabSchemas, String, PgConn) {
    let schemas = LabSchemas::create(url, tag, &["billing"], false).unwrap();
    let schema = schemas.schema("billing").unwrap().to_string();
    let mut conn = PgConn::open(url, &schema).unwrap();
    conn.create_billing_schema(true).unwrap();
    (schemas, schema, conn)
}

/// Batches of `(event id, order id, amount)` drawn from a fixed sequence: ids repeat within a
/// batch (with another amount each time, so which place was applied shows) and across batches,
/// and some batches are empty.
fn drawn_batches() -> Vec<Vec<(String, String, i64)>> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = |below: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % below
    };
    (0..40)
        .map(|_| {
            let len = next(30);
            (0..len)
                .map(|place| {
                    let k = next(60);
                    (
                        format!("e-{k}"),
                        format!("ord_{k:06}"),
                        (k * 100 + place) as i64,
                    )
                })
                .collect()
        })
        .collect()
}

fn charge_rows(batch: &[(String, String, i64)]) -> Vec<ChargeRow<'_>> {
    batch
        .iter()
        .map(|(event_id, order_id, amount_cents)| ChargeRow {
            event_id,
            order_id,
            amount_cents: *amount_cents,
        })
        .collect()
}

#[test]
fn the_batched_inbox_and_charge_applies_what_row_by_row_would() {
    let Some(url) = postgres("the batched inbox and charge") else {
        return;
    };
    let (_batched_schemas, _, mut batched) =
        billing_on(&url, &format!("batch{}", std::process::id()));
    let (_row_schemas, _, mut by_row) = billing_on(&url, &format!("byrow{}", std::process::id()));
    let mut applied_somewhere = (0, 0);
    for (n, batch) in drawn_batches().iter().enumerate() {
        let rows = charge_rows(batch);
        batched.begin().unwrap();
        let one_statement = batched.record_and_charge(&rows, 1).unwrap();
        batched.commit().unwrap();
        by_row.begin().unwrap();
        let row_by_row = record_and_charge_row_by_row(&mut by_row, &rows, 1).unwrap();
        by_row.commit().unwrap();
        assert_eq!(one_statement, row_by_row, "batch {n}: {batch:?}");
        applied_somewhere.0 += one_statement.iter().filter(|a| **a).count();
        applied_somewhere.1 += one_statement.iter().filter(|a| !**a).count();
    }
    assert!(
        applied_somewhere.0 > 0 && applied_somewhere.1 > 0,
        "the draw must both apply and skip: {applied_somewhere:?}"
    );
    let charges = batched.charges().unwrap();
    assert_eq!(charges, by_row.charges().unwrap());
    assert!(charges.iter().all(|(_, _, n)| *n == 1), "{charges:?}");
}

/// Makes an insert into `charges` of the order id `trap` run `action` (PL/pgSQL) first.
fn trap_charges(conn: &mut PgConn, trap: &str, action: &str) {
    conn.client()
        .batch_execute(&format!(
            "CREATE FUNCTION trap() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN IF NEW.order_id = '{trap}' THEN {action}; END IF; RETURN NEW; END $$;
             CREATE TRIGGER trap BEFORE INSERT ON charges FOR EACH ROW EXECUTE FUNCTION trap();"
        ))
        .unwrap();
}

/// A batch of `len` new events, the middle one charging order `middle`.
fn batch_around(first: u32, len: u32, middle: &str) -> Vec<(String, String, i64)> {
    (first..first + len)
        .map(|k| {
            let order = if k == first + len / 2 {
                middle.to_string()
            } else {
                format!("ord_{k:06}")
            };
            (format!("e-{k}"), order, 500)
        })
        .collect()
}

#[test]
fn a_batch_that_fails_midway_leaves_nothing_of_itself() {
    let Some(url) = postgres("a failing batch statement") else {
        return;
    };
    let (schemas, _, mut billing) = billing_on(&url, &format!("failing{}", std::process::id()));
    trap_charges(&mut billing, "poison", "RAISE EXCEPTION 'poisoned charge'");
    let before = batch_around(1, 5, "ord_000003");
    assert_eq!(
        billing.record_and_charge(&charge_rows(&before), 1).unwrap(),
        [true; 5]
    );
    // On its own, outside any transaction: the statement is its own unit.
    let poisoned = batch_around(10, 40, "poison");
    assert!(
        billing
            .record_and_charge(&charge_rows(&poisoned), 2)
            .is_err()
    );
    // Inside the consumer's transaction, a crash before COMMIT takes the statement with it.
    billing.begin().unwrap();
    let dropped = batch_around(100, 40, "ord_000120");
    assert_eq!(
        billing
            .record_and_charge(&charge_rows(&dropped), 3)
            .unwrap(),
        [true; 40]
    );
    drop(billing);
    let mut checker = PgConn::open(&url, schemas.schema("billing").unwrap()).unwrap();
    let charged: Vec<String> = checker
        .charges()
        .unwrap()
        .into_iter()
        .map(|c| c.0)
        .collect();
    assert_eq!(charged.len(), 5, "only the first batch: {charged:?}");
    for (event_id, ..) in poisoned.iter().chain(&dropped) {
        assert!(!checker.inbox_has(event_id).unwrap(), "{event_id} was kept");
    }
}

#[test]
fn a_consumer_killed_inside_its_batch_statement_leaves_nothing_of_it() {
    let Some(url) = postgres("a batch statement killed midway") else {
        return;
    };
    let (schemas, schema, mut billing) = billing_on(&url, &format!("killed{}", std::process::id()));
    trap_charges(&mut billing, "slow", "PERFORM pg_sleep(60)");
    let pid = billing.backend_pid();
    let batch = batch_around(1, 200, "slow");
    let applying = std::thread::spawn(move || {
        billing
            .record_and_charge(&charge_rows(&batch), 1)
            .map(|_| ())
    });
    // Half the batch is in when the statement reaches the slow row; the server kills it there.
    let mut watcher = PgConn::open(&url, &schema).unwrap();
    let mut asleep = false;
    for _ in 0..3000 {
        asleep = watcher
            .client()
            .query_one(
                "SELECT count(*) = 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event = 'PgSleep'",
                &[&pid],
            )
            .unwrap()
            .get(0);
        if asleep {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(asleep, "the statement never reached its slow row");
    watcher
        .client()
        .query_one("SELECT pg_terminate_backend($1)", &[&pid])
        .unwrap();
    assert!(applying.join().unwrap().is_err(), "the statement survived");
    assert!(watcher.charges().unwrap().is_empty());
    for k in 1..=200 {
        assert!(
            !watcher.inbox_has(&format!("e-{k}")).unwrap(),
            "e-{k} was kept"
        );
    }
    drop(schemas);
}

#[test]
fn the_end_of_run_scans_hand_over_every_row_across_many_fetches() {
    let Some(url) = postgres("the end-of-run scans") else {
        return;
    };
    // More rows than one fetch takes, and not a multiple of it, so the last fetch is short.
    const ROWS: i32 = 9_001;
    let (_orders, orders_schema) = outbox_with(&url, "scan_orders", 0);
    let mut conn = PgConn::open(&url, &orders_schema).unwrap();
    conn.client()
        .batch_execute(&format!(
            "INSERT INTO orders (id, customer_id, amount_cents, placed_at)
             SELECT n, 'c', n * 10, 0 FROM generate_series(1, {ROWS}) AS n"
        ))
        .unwrap();
    let mut seen = Vec::new();
    scan::each_order(&url, &orders_schema, &mut |n, amount| {
        seen.push((n, amount))
    })
    .unwrap();
    let expected: Vec<(u32, i64)> = (1..=ROWS).map(|n| (n as u32, i64::from(n) * 10)).collect();
    assert_eq!(seen, expected);

    let (_billing, billing_schema, mut conn) = billing_on(&url, "scan_billing");
    // Each order charged once, every seventh twice, and every eleventh a second time at
    // another amount: the scan groups by reference and amount.
    conn.client()
        .batch_execute(&format!(
            "INSERT INTO charges (order_id, amount_cents, event_id, charged_at)
             SELECT 'ord-' || n, 5, 'e' || n, 0 FROM generate_series(1, {ROWS}) AS n
             UNION ALL
             SELECT 'ord-' || n, 5, 'f' || n, 0 FROM generate_series(7, {ROWS}, 7) AS n
             UNION ALL
             SELECT 'ord-' || n, 6, 'g' || n, 0 FROM generate_series(11, {ROWS}, 11) AS n"
        ))
        .unwrap();
    let mut charged = std::collections::BTreeMap::new();
    scan::each_charge(&url, &billing_schema, &mut |reference, amount, count| {
        let previous = charged.insert((reference.to_string(), amount), count);
        assert!(
            previous.is_none(),
            "{reference} at {amount} handed over twice"
        );
    })
    .unwrap();
    for n in 1..=ROWS {
        let reference = format!("ord-{n}");
        let twice = if n % 7 == 0 { 2 } else { 1 };
        assert_eq!(
            charged.get(&(reference.clone(), 5)),
            Some(&twice),
            "{reference}"
        );
        let other = (n % 11 == 0).then_some(&1);
        assert_eq!(charged.get(&(reference.clone(), 6)), other, "{reference}");
    }
    assert_eq!(charged.len() as i32, ROWS + ROWS / 11);
}

/// What `conn`'s server process is doing, as `checker` sees it: `idle`, `idle in transaction`…
fn backend_state(checker: &mut PgConn, conn: &PgConn) -> String {
    checker
        .client()
        .query_one(
            "SELECT state FROM pg_stat_activity WHERE pid = $1",
            &[&conn.backend_pid()],
        )
        .unwrap()
        .get(0)
}

#[test]
fn a_holding_connection_commits_what_a_plain_one_would_and_nothing_before() {
    let Some(url) = postgres("inserts held until the commit") else {
        return;
    };
    let tag = format!("held{}", std::process::id());
    let (_schemas, schema) = outbox_with(&url, &tag, 0);
    let mut checker = PgConn::open(&url, &schema).unwrap();
    let committed = |checker: &mut PgConn| -> (Vec<u32>, u64) {
        let orders = checker.committed_orders().unwrap();
        (
            orders.into_iter().map(|(n, _)| n).collect(),
            checker.unsent_count().unwrap(),
        )
    };
    let event = |order: &Order| Envelope::order_placed(7, Pipeline::Outbox, order, 1);
    let (one, two, three) = (
        Order::generate(7, 1),
        Order::generate(7, 2),
        Order::generate(7, 3),
    );

    // Dropped before its commit: nothing reaches the server.
    let mut service = PgConn::open(&url, &schema).unwrap().holding_writes();
    service.begin().unwrap();
    service.insert_order(&one, 1).unwrap();
    service.insert_outbox(&event(&one), 1).unwrap();
    drop(service);
    assert_eq!(committed(&mut checker), (vec![], 0));

    // Rolled back: nothing either, and the connection goes on.
    let mut service = PgConn::open(&url, &schema).unwrap().holding_writes();
    service.begin().unwrap();
    service.insert_order(&one, 1).unwrap();
    service.rollback().unwrap();
    assert_eq!(committed(&mut checker), (vec![], 0));

    // The outbox write commits both rows; until the commit the server has heard nothing.
    service.begin().unwrap();
    service.insert_order(&one, 1).unwrap();
    service.insert_outbox(&event(&one), 1).unwrap();
    let state = backend_state(&mut checker, &service);
    assert_eq!(state, "idle", "the held transaction reached the server");
    service.commit().unwrap();
    assert_eq!(committed(&mut checker), (vec![1], 1));

    // A failing insert fails the commit and takes its partner with it: order 2 is new, its
    // outbox row repeats order 1's event id.
    service.begin().unwrap();
    service.insert_order(&two, 1).unwrap();
    service.insert_outbox(&event(&one), 1).unwrap();
    let err = service.commit().unwrap_err();
    assert!(
        err.to_string().contains("duplicate") || format!("{err:?}").contains("23505"),
        "{err:?}"
    );
    assert_eq!(committed(&mut checker), (vec![1], 1));

    // A read inside the transaction sees the inserts held before it; a third insert is sent
    // with the rest; all of it commits together.
    service.begin().unwrap();
    service.insert_order(&two, 1).unwrap();
    service.insert_outbox(&event(&two), 1).unwrap();
    assert_eq!(service.unsent_count().unwrap(), 2);
    service.insert_order(&three, 1).unwrap();
    service.insert_outbox(&event(&three), 1).unwrap();
    assert_eq!(
        committed(&mut checker),
        (vec![1], 1),
        "nothing seen before the commit"
    );
    service.commit().unwrap();
    assert_eq!(committed(&mut checker), (vec![1, 2, 3], 3));

    // A second begin inside a transaction the server already has holds nothing: its inserts
    // belong to that transaction, and its commit is the one that ends it.
    let four = Order::generate(7, 4);
    service.begin().unwrap();
    assert_eq!(service.unsent_count().unwrap(), 3);
    service.begin().unwrap();
    service.insert_order(&four, 1).unwrap();
    service.insert_outbox(&event(&four), 1).unwrap();
    service.commit().unwrap();
    assert_eq!(committed(&mut checker), (vec![1, 2, 3, 4], 4));
    let state = backend_state(&mut checker, &service);
    assert_eq!(state, "idle", "the commit left a transaction open");
}

#[test]
fn held_inserts_reach_the_server_when_asked_and_a_failed_commit_ends_its_transaction() {
    let Some(url) = postgres("held inserts sent before a crash") else {
        return;
    };
    let tag = format!("heldopen{}", std::process::id());
    let (_schemas, schema) = outbox_with(&url, &tag, 0);
    let mut checker = PgConn::open(&url, &schema).unwrap();
    let event = |order: &Order| Envelope::order_placed(7, Pipeline::Outbox, order, 1);
    let (one, two) = (Order::generate(7, 1), Order::generate(7, 2));

    // Asked to, the held transaction opens on the server with its rows, and dies there with
    // the connection: what a crash mid-transaction leaves for the server to roll back.
    let mut service = PgConn::open(&url, &schema).unwrap().holding_writes();
    service.begin().unwrap();
    service.insert_order(&one, 1).unwrap();
    service.insert_outbox(&event(&one), 1).unwrap();
    Storage::open_on_server(&mut service).unwrap();
    assert_eq!(backend_state(&mut checker, &service), "idle in transaction");
    drop(service);
    assert!(checker.committed_orders().unwrap().is_empty());

    // Held in an order with no one-statement form, a failing insert fails the commit, and the
    // transaction ends with it: the connection goes on as new.
    let mut service = PgConn::open(&url, &schema).unwrap().holding_writes();
    service.begin().unwrap();
    service.insert_order(&one, 1).unwrap();
    service.insert_outbox(&event(&one), 1).unwrap();
    service.commit().unwrap();
    service.begin().unwrap();
    service.insert_outbox(&event(&one), 1).unwrap();
    service.insert_order(&two, 1).unwrap();
    assert!(
        service.commit().is_err(),
        "a repeated event id must fail the commit"
    );
    assert_eq!(backend_state(&mut checker, &service), "idle");
    service.begin().unwrap();
    service.insert_order(&two, 1).unwrap();
    service.insert_outbox(&event(&two), 1).unwrap();
    service.commit().unwrap();
    let committed: Vec<u32> = checker
        .committed_orders()
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(committed, [1, 2]);
}

#[test]
fn events_a_relay_reads_back_from_postgres_are_remade_by_the_broker_not_kept_whole() {
    let Some(url) = postgres("events read back from jsonb") else {
        return;
    };
    let tag = format!("jsonb{}", std::process::id());
    let (_schemas, schema) = outbox_with(&url, &tag, 3);
    let mut relay = PgConn::open(&url, &schema).unwrap();
    let rows = relay.select_unsent(10).unwrap();
    assert_eq!(rows.len(), 3);
    // The seed and pipeline `outbox_with` writes its events under.
    let broker = msgwork::sim::broker::Broker::remaking(7, Pipeline::Outbox);
    for row in &rows {
        broker.publish(row.event.clone());
    }
    for (offset, row) in rows.iter().enumerate() {
        assert_eq!(
            *broker.get(offset).unwrap().event,
            row.event,
            "byte for byte"
        );
    }
    assert_eq!(broker.held_whole(), 0, "{:?}", rows[0].event.payload);
}
