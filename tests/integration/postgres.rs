//! The lab's storage on a real PostgreSQL server (skipped, saying why, when none is configured).

use msgwork::sim::model::{Envelope, Order, Pipeline};
use msgwork::sim::storage::postgres::store::{LabSchemas, PgConn};

use crate::harness::postgres;

/// A fresh schema of outbox tables, with `orders` committed rows in it.
pub(crate) fn outbox_with(url: &str, tag: &str, orders: u32) -> (LabSchemas, String) {
    let schemas = LabSchemas::create(url, tag, &["orders"], false).unwrap();
    let schema = schemas.schema("orders").unwrap().to_string();
    let mut conn = PgConn::open(url, &schema).unwrap();
    conn.create_service_schema(true).unwrap();
    for n in 1..=orders {
        let order = Order::generate(7, n);
        conn.begin().unwrap();
        conn.insert_order(&order, 0).unwrap();
        conn.insert_outbox(&Envelope::order_placed(7, Pipeline::Outbox, &order, 0), 0)
            .unwrap();
        conn.commit().unwrap();
    }
    (schemas, schema)
}

#[test]
fn skip_locked_hands_concurrent_relays_disjoint_batches() {
    let Some(url) = postgres("SKIP LOCKED claims") else {
        return;
    };
    let tag = format!("claims{}", std::process::id());
    let (_schemas, schema) = outbox_with(&url, &tag, 30);
    let mut relays: Vec<PgConn> = (0..3)
        .map(|_| PgConn::open(&url, &schema).unwrap())
        .collect();
    // Each relay claims while the others still hold their locks: no row is handed out twice.
    let batches: Vec<Vec<i64>> = relays
        .iter_mut()
        .map(|r| {
            r.claim_batch(10)
                .unwrap()
                .iter()
                .map(|row| row.id)
                .collect()
        })
        .collect();
    let mut all: Vec<i64> = batches.concat();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 30, "three disjoint batches of ten: {batches:?}");
    // A relay that dies mid-batch releases its rows to the next claimer.
    let dead = relays.remove(0);
    drop(dead);
    let mut survivor = PgConn::open(&url, &schema).unwrap();
    let mut reclaimed = Vec::new();
    for _ in 0..100 {
        // The server notices the closed connection a moment later; until then the rows are skipped.
        reclaimed = survivor
            .claim_batch(10)
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        if !reclaimed.is_empty() {
            break;
        }
        survivor.rollback().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(reclaimed, batches[0], "the dead relay's rows come back");
    for (relay, batch) in relays.iter_mut().zip(&batches[1..]) {
        assert_eq!(relay.mark_claimed_sent(batch, 5).unwrap(), 10);
    }
    assert_eq!(survivor.mark_claimed_sent(&reclaimed, 5).unwrap(), 10);
    assert_eq!(survivor.unsent_count().unwrap(), 0);
}

#[test]
fn a_service_that_dies_before_commit_leaves_neither_row() {
    let Some(url) = postgres("the outbox write's atomicity") else {
        return;
    };
    let tag = format!("atomic{}", std::process::id());
    let (_schemas, schema) = outbox_with(&url, &tag, 2);
    let mut service = PgConn::open(&url, &schema).unwrap();
    let order = Order::generate(7, 3);
    service.begin().unwrap();
    service.insert_order(&order, 1).unwrap();
    service
        .insert_outbox(&Envelope::order_placed(7, Pipeline::Outbox, &order, 1), 1)
        .unwrap();
    drop(service);
    let mut checker = PgConn::open(&url, &schema).unwrap();
    let committed: Vec<u32> = checker
        .committed_orders()
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(committed, [1, 2]);
    assert_eq!(checker.unsent_count().unwrap(), 2);
}

#[test]
fn the_inbox_applies_an_event_once() {
    let Some(url) = postgres("the inbox") else {
        return;
    };
    let tag = format!("inbox{}", std::process::id());
    let schemas = LabSchemas::create(&url, &tag, &["billing"], false).unwrap();
    let mut billing = PgConn::open(&url, schemas.schema("billing").unwrap()).unwrap();
    billing.create_billing_schema(true).unwrap();
    assert!(billing.inbox_record("e-1", 0).unwrap());
    assert!(
        !billing.inbox_record("e-1", 1).unwrap(),
        "a duplicate is recognised"
    );
    billing.insert_charge("ord_000001", 500, "e-1", 0).unwrap();
    assert_eq!(
        billing.charges().unwrap(),
        [("ord_000001".to_string(), 500, 1)]
    );
}

#[test]
fn lab_cdc_on_postgres_loses_nothing_across_relay_crashes_and_cleans_up() {
    let Some(url) = postgres("lab cdc on PostgreSQL") else {
        return;
    };
    let out = crate::harness::Msgwork::new(&[
        "lab",
        "cdc",
        "--db",
        &url,
        "--seed",
        "11",
        "--rate",
        "300",
        "--seconds",
        "1",
        "--interval",
        "100ms",
        "--check",
        "--json",
    ])
    .output();
    let v = out.success().json();
    assert_eq!(v["backend"], "postgres");
    assert_eq!(
        (v["lost"].as_u64(), v["double_applied"].as_u64()),
        (Some(0), Some(0))
    );
    let run = &v["runs"][0];
    for relay in ["cdc", "polling"] {
        assert!(run[relay]["relay_crashes"].as_u64().unwrap() > 0, "{relay}");
        assert_eq!(run[relay]["applied"], run[relay]["committed"], "{relay}");
    }
    assert!(
        run["cdc"]["redelivered"].as_u64().unwrap() > 0,
        "a crash after publishing replays from the slot's confirmed position"
    );
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let left: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'msgwork_cdc%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "the run's replication slot is dropped");
}

/// The crash lab on PostgreSQL with `relays` relays on threads, each with its own connection.
fn simulate_on(
    url: &str,
    seed: u64,
    orders: u32,
    relays: u32,
) -> msgwork::sim::crash::report::Report {
    let mut options = msgwork::sim::crash::SimOptions::new(seed);
    options.db = Some(url.to_string());
    options.orders = orders;
    options.relays = relays;
    options.threads = true;
    msgwork::sim::crash::run(&options, None, &msgwork::sim::progress::NoProgress)
        .unwrap_or_else(|err| panic!("seed {seed}: {err}"))
}

#[test]
fn over_fifty_seeds_skip_locked_relays_lose_nothing_and_never_share_a_row() {
    let Some(url) = postgres("the crash lab on PostgreSQL over 50 seeds") else {
        return;
    };
    let mut every_relay = std::collections::BTreeSet::new();
    for seed in 1..=50 {
        let r = simulate_on(&url, seed, 200, 4);
        assert_eq!(r.backend, "postgres");
        assert!(
            r.naive.lost_events >= 1,
            "seed {seed}: the naive write lost nothing"
        );
        let o = &r.outbox;
        assert_eq!(
            (o.lost_events, o.phantom_events, o.double_applied),
            (0, 0, 0),
            "seed {seed}: {:?}",
            r.verdict.outbox_problems
        );
        assert_eq!(o.overlapping_claims, Some(0), "seed {seed}");
        // The claim log: relays claimed side by side, and no row was held twice. On threads a
        // loaded machine may not schedule one relay before a short run drains, so each run
        // needs two relays at work, and over the fifty runs all four must have claimed.
        let relays = o.relay.as_ref().unwrap();
        assert!(relays.passes_by_relay.len() >= 2, "seed {seed}: {relays:?}");
        every_relay.extend(relays.passes_by_relay.keys().cloned());
        assert_eq!(
            relays.fenced_marks, 0,
            "row locks need no fence: seed {seed}"
        );
    }
    assert_eq!(every_relay.len(), 4, "{every_relay:?}");
}

#[test]
fn the_crash_lab_on_postgres_replays_its_schedule_and_kills_real_processes() {
    let Some(url) = postgres("the crash lab's other modes on PostgreSQL") else {
        return;
    };
    let out = crate::harness::Msgwork::new(&[
        "simulate", "--crash", "--seed", "8", "--orders", "300", "--db", &url, "--check",
    ])
    .output();
    out.success();
    assert!(out.stdout.contains("PostgreSQL"), "{}", out.stdout);
    assert!(out.stdout.contains("SKIP LOCKED"), "{}", out.stdout);
    let v = crate::harness::Msgwork::new(&[
        "simulate",
        "--crash",
        "--crash-mode",
        "process",
        "--seed",
        "8",
        "--orders",
        "300",
        "--relays",
        "4",
        "--db",
        &url,
        "--json",
    ])
    .output()
    .success()
    .json();
    assert_eq!(v["backend"], "postgres");
    assert_eq!(v["verdict"]["outbox_holds"], true, "{}", v["verdict"]);
    assert_eq!(v["verdict"]["naive_broken"], true);
    assert!(v["outbox"]["processes"]["killed"].as_u64().unwrap() > 0);
}

#[test]
fn bench_sets_postgres_beside_sqlite_at_the_same_sizes() {
    let Some(url) = postgres("bench --db") else {
        return;
    };
    let v =
        crate::harness::Msgwork::new(&["bench", "--quick", "--baseline", "--db", &url, "--json"])
            .output()
            .success()
            .json();
    let figures = v["measurements"].as_array().unwrap();
    let find = |name: &str| {
        figures
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    for name in [
        "compare_outbox_writes_sqlite",
        "compare_outbox_writes_postgres",
        "compare_drain_sqlite",
        "compare_drain_postgres",
        "postgres_drain_minimal",
    ] {
        assert!(
            find(name)["value"].as_f64().unwrap() > 0.0,
            "{}",
            find(name)
        );
    }
    // The drain beside its minimal loop: held to a rate and to a ratio, each with its verdict.
    for (name, target) in [
        ("postgres_drain_lab", 50_000.0),
        ("postgres_drain_ratio", 0.8),
    ] {
        let m = find(name);
        assert_eq!(m["target"], target, "{m}");
        assert_eq!(m["lower_is_better"], false, "{m}");
        let value = m["value"].as_f64().unwrap();
        assert!(value > 0.0, "{m}");
        assert_eq!(m["met"], value >= target, "{m}");
    }
}

#[test]
fn a_partition_relay_never_claims_past_rows_a_dead_relay_still_locks() {
    let Some(url) = postgres("partition claims") else {
        return;
    };
    let tag = format!("partitions{}", std::process::id());
    let schemas = LabSchemas::create(&url, &tag, &["orders"], false).unwrap();
    let schema = schemas.schema("orders").unwrap().to_string();
    let mut service = PgConn::open(&url, &schema).unwrap();
    service.create_service_schema(true).unwrap();
    service.partition_outbox().unwrap();
    // Orders 1..=6, alternating between partitions 0 and 1: ids 1, 3, 5 in partition 0.
    for n in 1..=6 {
        let event = Envelope::order_placed(7, Pipeline::Outbox, &Order::generate(7, n), 0);
        service.begin().unwrap();
        service.insert_sequenced(&event, (n + 1) % 2, 1, 0).unwrap();
        service.commit().unwrap();
    }
    let ids = |rows: Vec<msgwork::sim::storage::OutboxRow>| {
        rows.iter().map(|r| r.id).collect::<Vec<i64>>()
    };
    let mut old = PgConn::open(&url, &schema).unwrap();
    assert_eq!(ids(old.claim_partition(0, 1).unwrap()), [1]);
    // Its successor, started while the old relay's transaction still holds id 1, gets nothing:
    // publishing 3 and 5 first would break the partition's order.
    let mut new = PgConn::open(&url, &schema).unwrap();
    assert!(new.claim_partition(0, 10).unwrap().is_empty());
    let mut other = PgConn::open(&url, &schema).unwrap();
    assert_eq!(ids(other.claim_partition(1, 10).unwrap()), [2, 4, 6]);
    // Once the old relay is gone, the whole head is there, in order.
    drop(old);
    let mut head = Vec::new();
    for _ in 0..100 {
        head = ids(new.claim_partition(0, 10).unwrap());
        if !head.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(head, [1, 3, 5]);
    assert_eq!(new.mark_claimed_sent(&head, 5).unwrap(), 3);
    assert_eq!(other.mark_claimed_sent(&[2, 4, 6], 5).unwrap(), 3);
    assert_eq!(new.unsent_count().unwrap(), 0);
}

#[test]
fn lab_ordering_on_postgres_holds_keyed_breaks_scattered_and_cleans_up() {
    let Some(url) = postgres("lab ordering on PostgreSQL") else {
        return;
    };
    let out = crate::harness::Msgwork::new(&[
        "lab", "ordering", "--db", &url, "--seed", "5", "--orders", "150", "--json",
    ])
    .output();
    let v = out.success().json();
    assert_eq!(v["backend"], "postgres");
    assert_eq!(v["keyed"]["violations"], 0);
    assert!(v["unkeyed"]["violations"].as_u64().unwrap() > 0, "{v}");
    for run in ["keyed", "unkeyed"] {
        assert_eq!(v[run]["events"], 600, "{run}");
        assert_eq!(v[run]["lost"], 0, "{run}: {v}");
    }
    let crashes =
        |run: &str| v[run]["crashes"].as_u64().unwrap() + v[run]["relay_crashes"].as_u64().unwrap();
    assert!(crashes("keyed") + crashes("unkeyed") > 0, "{v}");
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let left: i64 = client
        .query_one(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'msgwork\\_ordering%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "the run's schemas are dropped");
    // The human report says where it ran, without the password.
    let human = crate::harness::Msgwork::new(&[
        "lab",
        "ordering",
        "--seed",
        "5",
        "--orders",
        "40",
        "--partitions",
        "2",
    ])
    .env("MSGWORK_DB", &url)
    .output();
    human.success();
    assert!(
        human.stdout.contains("PostgreSQL postgres://"),
        "{}",
        human.stdout
    );
    assert!(human.stdout.contains("SKIP LOCKED"), "{}", human.stdout);
}

/// `lab cleanup --db URL` at 20,000 rows with `extra` arguments: its JSON.
fn cleanup_on(url: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "lab", "cleanup", "--db", url, "--rows", "20000", "--seed", "5", "--json",
    ];
    args.extend_from_slice(extra);
    crate::harness::Msgwork::new(&args)
        .output()
        .success()
        .json()
}

/// Whether each of `schemas` exists on the server.
fn schemas_present(client: &mut postgres::Client, schemas: &[String]) -> Vec<bool> {
    schemas
        .iter()
        .map(|s| {
            client
                .query_one("SELECT count(*) FROM pg_namespace WHERE nspname = $1", &[s])
                .unwrap()
                .get::<_, i64>(0)
                == 1
        })
        .collect()
}

fn schemas_of(v: &serde_json::Value) -> Vec<String> {
    v["server"]["schemas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn lab_cleanup_on_postgres_keeps_its_claims_and_drops_its_schemas() {
    let Some(url) = postgres("lab cleanup on PostgreSQL") else {
        return;
    };
    let v = cleanup_on(&url, &[]);
    assert_eq!(v["backend"], "postgres");
    for (check, ok) in v["checks"].as_object().unwrap() {
        assert_eq!(ok, true, "check {check} failed: {}", v["checks"]);
    }
    assert_eq!(v["page_size"], 8192, "PostgreSQL's block size");
    assert!(
        v.get("mmap_size").is_none(),
        "no SQLite settings on a server"
    );
    assert!(v["round_trip_us"]["p50"].as_f64().unwrap() > 0.0);
    assert_eq!(v["server"]["kept"], false);

    // Each plan uses the index it claims: the partial one, or the plain one and never the partial.
    for size in v["by_size"].as_array().unwrap() {
        let partial = size["partial"]["plan"].as_str().unwrap();
        let plain = size["plain"]["plan"].as_str().unwrap();
        assert!(
            partial.contains("using outbox_unsent on outbox"),
            "{partial}"
        );
        assert!(plain.contains("using outbox_sent_at on outbox"), "{plain}");
        assert!(!plain.contains("outbox_unsent"), "{plain}");
        assert!(
            size["partial"]["index_pages"].as_u64().unwrap()
                < size["plain"]["index_pages"].as_u64().unwrap()
        );
        // The server's own count of the blocks one poll asked for: a few index pages through
        // either index, fewer table pages through the partial one, which needs no sort; the
        // whole table through none.
        let reads = |run: &serde_json::Value| {
            (
                run["index"].as_u64().unwrap(),
                run["table"].as_u64().unwrap(),
            )
        };
        let (partial_index, partial_table) = reads(&size["partial"]["poll_reads"]);
        let (plain_index, plain_table) = reads(&size["plain"]["poll_reads"]);
        let (none_index, none_table) = reads(&size["no_index_reads"]);
        // A few: a transaction open elsewhere on the server (other tests run beside this one)
        // keeps the marked rows' dead index entries from being skipped, which adds a page or two.
        assert!((1..=6).contains(&partial_index), "{size}");
        assert!((1..=7).contains(&plain_index), "{size}");
        assert!(partial_table >= 1 && partial_table <= plain_table, "{size}");
        assert_eq!(none_index, 0);
        // At 10,000 rows the whole table is under 300 pages: a few times the poll, not more.
        assert!(none_table > 4 * plain_table, "{size}");
    }
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["chart"]["y"], "pages");

    // The partitions: each day's part of the partial index serves the poll, and the drop took
    // exactly the day's rows once its unsent ones had moved on.
    let p = &v["partition"];
    let (yesterday, today) = (p["table"].as_str().unwrap(), p["today"].as_str().unwrap());
    let plan = p["plan"].as_str().unwrap();
    for day in [yesterday, today] {
        assert!(
            plan.contains(&format!("using {day}_unsent on {day}")),
            "{plan}"
        );
    }
    assert_eq!(
        (p["rows"].as_u64(), p["unsent_moved"].as_u64()),
        (Some(20_000), Some(10))
    );
    assert!(p["vacuum_same_rows_ms"].is_number());

    // Counts add up: every deleted row was an old sent one, and VACUUM came after them all.
    let d = &v["deletes"];
    let deleted = d["rows_deleted"].as_u64().unwrap()
        + v["alongside"]["cleaner_rows_deleted"].as_u64().unwrap()
        + d["rows_deleted_after_windows"].as_u64().unwrap();
    assert!(deleted > 0 && deleted < 20_000, "{deleted}");
    assert_eq!(
        d["batches"].as_u64().unwrap(),
        d["batch_ms"]["samples"].as_u64().unwrap()
    );
    assert!(
        d.get("checkpoint_ms").is_none(),
        "no WAL checkpoints by the cleaner"
    );
    assert!(d["vacuum"]["ms"].as_f64().unwrap() > 0.0);
    assert_eq!(v["unsent_rows"], 260);

    // Nothing left on the server.
    let schemas = schemas_of(&v);
    assert_eq!(schemas.len(), 2);
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    assert_eq!(
        schemas_present(&mut client, &schemas),
        [false, false],
        "{schemas:?}"
    );
}

/// Drops kept schemas when the test ends, pass or fail.
struct DropSchemas(String, Vec<String>);

impl Drop for DropSchemas {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.0, postgres::NoTls) {
            for s in &self.1 {
                let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {s} CASCADE"));
            }
        }
    }
}

#[test]
fn lab_cleanup_on_postgres_keeps_its_schemas_to_show_what_it_left() {
    let Some(url) = postgres("lab cleanup --keep-db on PostgreSQL") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let v = cleanup_on(&url, &["--keep-db", dir.path().to_str().unwrap()]);
    let schemas = schemas_of(&v);
    let _cleanup = DropSchemas(url.clone(), schemas.clone());
    assert_eq!(v["server"]["kept"], true);
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    assert_eq!(schemas_present(&mut client, &schemas), [true, true]);
    let (outbox, days) = (&schemas[0], &schemas[1]);
    let count = |client: &mut postgres::Client, sql: String| -> i64 {
        client.query_one(&sql, &[]).unwrap().get(0)
    };

    // The cleaned outbox: every unsent row there, stuck ones included; no old sent row left.
    assert_eq!(
        count(
            &mut client,
            format!("SELECT count(*) FROM {outbox}.outbox WHERE sent_at IS NULL")
        ),
        260
    );
    let stuck: Vec<i64> = v["stuck_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_i64().unwrap())
        .collect();
    assert_eq!(stuck.len(), 10);
    let cutoff = v["deletes"]["cutoff_ms"].as_i64().unwrap();
    for id in &stuck {
        let sql = format!(
            "SELECT count(*) FROM {outbox}.outbox WHERE id = {id} AND sent_at IS NULL \
             AND created_at < {cutoff}"
        );
        assert_eq!(
            count(&mut client, sql),
            1,
            "stuck row {id}, written before the cut-off"
        );
    }
    assert_eq!(
        count(
            &mut client,
            format!("SELECT count(*) FROM {outbox}.outbox WHERE sent_at < {cutoff}")
        ),
        0
    );
    assert!(count(&mut client, format!("SELECT count(*) FROM {outbox}.outbox")) > 260);

    // The partitions: yesterday's gone, today's the only one, holding its rows and the moved ones.
    let p = &v["partition"];
    let (yesterday, today) = (p["table"].as_str().unwrap(), p["today"].as_str().unwrap());
    let partitions: Vec<String> = client
        .query(
            "SELECT c.relname::text FROM pg_inherits i
               JOIN pg_class c ON c.oid = i.inhrelid
               JOIN pg_class parent ON parent.oid = i.inhparent
               JOIN pg_namespace n ON n.oid = parent.relnamespace
              WHERE parent.relname = 'outbox' AND n.nspname = $1 AND c.relkind = 'r'",
            &[days],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(partitions, [today.to_string()]);
    assert_eq!(
        count(
            &mut client,
            format!(
                "SELECT count(*) FROM pg_tables WHERE schemaname = '{days}' AND tablename = '{yesterday}'"
            )
        ),
        0
    );
    // Its 10 stuck rows kept their ids (at most 20,000, the day's) and wait to be sent.
    assert_eq!(
        count(
            &mut client,
            format!("SELECT count(*) FROM {days}.{today} WHERE sent_at IS NULL AND id <= 20000")
        ),
        10
    );
    assert_eq!(
        count(
            &mut client,
            format!("SELECT count(*) FROM {days}.outbox WHERE sent_at IS NULL")
        ),
        260
    );
}

#[test]
fn ctrl_c_during_a_cdc_run_drops_its_slot_and_schemas() {
    let Some(url) = postgres("Ctrl-C on PostgreSQL") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_msgwork"))
        .env("MSGWORK_HOME", home.path())
        .args([
            "lab",
            "cdc",
            "--db",
            &url,
            "--rate",
            "200",
            "--seconds",
            "60",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let prefix = format!("msgwork_cdc{}\\_%", child.id());
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let mut count = |sql: &str| -> i64 { client.query_one(sql, &[&prefix]).unwrap().get(0) };
    let slots = "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE $1";
    let schemas = "SELECT count(*) FROM pg_namespace WHERE nspname LIKE $1";
    // Wait until the run has made its slot, then interrupt it as a terminal's Ctrl-C would.
    let started = std::time::Instant::now();
    while count(slots) == 0 {
        assert!(
            started.elapsed().as_secs() < 30,
            "the run never made its slot"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
    assert_eq!(count(slots), 0, "the slot is dropped");
    assert_eq!(count(schemas), 0, "the schemas are dropped");
}

#[test]
fn a_service_crash_mid_transaction_leaves_its_rows_for_the_server_to_roll_back() {
    let Some(url) = postgres("a service crash mid-transaction on PostgreSQL") else {
        return;
    };
    for mode in ["in-process", "process"] {
        let keep = tempfile::tempdir().unwrap();
        let keep_dir = keep.path().join("kept");
        let out = crate::harness::Msgwork::new(&[
            "simulate",
            "--crash",
            "--crash-mode",
            mode,
            "--seed",
            "3",
            "--orders",
            "200",
            "--db",
            &url,
            "--keep-db",
            keep_dir.to_str().unwrap(),
            "--json",
        ])
        .output();
        let v = out.success().json();
        // The kept schemas are named on stderr, to be dropped here after the checks.
        let schemas: Vec<String> = out
            .stderr
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|word| word.starts_with("msgwork_sim"))
            .map(str::to_string)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(schemas.len(), 4, "{mode}: {}", out.stderr);
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let outbox = schemas
            .iter()
            .find(|s| s.ends_with("_outbox_orders"))
            .unwrap();
        let row = client
            .query_one(
                &format!("SELECT coalesce(max(id), 0) - count(*) FROM {outbox}.outbox"),
                &[],
            )
            .unwrap();
        let gaps: i64 = row.get(0);
        for schema in &schemas {
            client
                .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                .unwrap();
        }
        // An outbox id is drawn when its INSERT runs and never given back: every crash before
        // COMMIT whose insert had reached the server leaves a gap behind it.
        let crashes = v["outbox"]["crashes_by_point"]["service-before-commit"]
            .as_u64()
            .unwrap();
        assert!(
            crashes > 0,
            "{mode}: seed 3 should crash the service before a commit"
        );
        assert!(
            gaps as u64 >= crashes,
            "{mode}: {crashes} crashes before COMMIT left {gaps} ids unused: the transactions never reached the server"
        );
    }
}
