//! `msgwork simulate --broker`: both pipelines on a real JetStream server. The outbox loses
//! nothing and applies nothing twice over many seeds; the naive run loses events; a consumer
//! killed before its ack is redelivered and deduped; with the dedupe window off the inbox absorbs
//! the relay's resends; no stream is left behind; a broken outbox fails the check; and the same
//! holds with PostgreSQL beneath the run.

use serde_json::Value;

use msgwork::broker::{BrokerUrl, Session};
use msgwork::sim::brokered::{self, BROKER_MUTANTS, BrokeredOptions};
use msgwork::sim::crash::mutant::Mutant;

use crate::broker_doctor::broker;
use crate::harness::{Msgwork, postgres};

/// Runs one seed per child process, all at once: each run waits out AckWait in real time.
fn runs(url: &str, seeds: std::ops::Range<u64>, extra: &[&str]) -> Vec<Value> {
    let handles: Vec<_> = seeds
        .map(|seed| {
            let seed = seed.to_string();
            let mut args = vec![
                "simulate", "--broker", url, "--crash", "--orders", "60", "--check", "--json",
                "--seed",
            ];
            args.push(&seed);
            args.extend_from_slice(extra);
            let cmd = Msgwork::new(&args);
            std::thread::spawn(move || cmd.output())
        })
        .collect();
    handles
        .into_iter()
        .map(|h| {
            let out = h.join().unwrap();
            out.success();
            out.json()
        })
        .collect()
}

fn n(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("no {key} in {v}"))
}

fn no_stream_left(url: &str, reports: &[Value]) {
    let left = Session::connect(&BrokerUrl::parse(url).unwrap())
        .unwrap()
        .stream_names()
        .unwrap();
    for r in reports {
        assert_eq!(r["streams_deleted"], true);
        for pipeline in ["naive", "outbox"] {
            let stream = r[pipeline]["stream"].as_str().unwrap();
            assert!(
                !left.iter().any(|s| s == stream),
                "{stream} was left behind"
            );
        }
    }
}

#[test]
fn the_outbox_holds_on_a_real_broker_and_the_naive_run_loses_events() {
    let Some(url) = broker("the_outbox_holds_on_a_real_broker") else {
        return;
    };
    let reports = runs(&url, 0..10, &[]);
    for r in &reports {
        let (o, naive) = (&r["outbox"], &r["naive"]);
        assert_eq!(
            (n(o, "lost"), n(o, "phantom"), n(o, "double_applied")),
            (0, 0, 0),
            "{r}"
        );
        assert_eq!(n(o, "orders_committed"), 60);
        // The relay died after the broker stored a message: its resends fell in the window.
        assert!(
            n(o, "publisher_crashes") > 0 && n(o, "absorbed_by_broker") > 0,
            "{o}"
        );
        // The consumer died before its ack: JetStream sent the message again, the inbox kept it out.
        assert!(n(o, "consumer_crashes") > 0, "{o}");
        assert!(n(o, "redelivered") >= n(o, "consumer_crashes"), "{o}");
        assert!(n(o, "absorbed_by_inbox") >= n(o, "consumer_crashes"), "{o}");
        let late = &o["late_duplicate"];
        assert!(n(late, "after_ms") >= n(r, "duplicate_window_ms"), "{late}");
        assert_eq!(
            (&late["stored_by_broker"], &late["stopped_by_inbox"]),
            (&Value::Bool(true), &Value::Bool(true)),
            "{late}"
        );
        // The dual write: each order whose publish never happened is lost for good.
        assert!(n(naive, "lost") > 0, "{naive}");
        assert_eq!(n(naive, "lost"), n(naive, "publisher_crashes"), "{naive}");
        assert_eq!(n(naive, "double_applied"), 0, "{naive}");
    }
    no_stream_left(&url, &reports);
}

#[test]
fn with_the_dedupe_window_off_the_inbox_absorbs_the_relays_resends() {
    let Some(url) = broker("with_the_dedupe_window_off_the_inbox_absorbs") else {
        return;
    };
    let reports = runs(&url, 20..23, &["--broker-dedupe", "off"]);
    for r in &reports {
        let o = &r["outbox"];
        assert_eq!(r["dedupe"], false);
        assert_eq!(
            (n(o, "lost"), n(o, "phantom"), n(o, "double_applied")),
            (0, 0, 0),
            "{r}"
        );
        assert_eq!(
            n(o, "absorbed_by_broker"),
            0,
            "no Nats-Msg-Id, nothing to dedupe by: {o}"
        );
        // Every resend reached the consumer: the inbox absorbed more than the consumer's own crashes.
        let resends = n(o, "publishes") - n(o, "orders_committed");
        assert!(resends > 0, "{o}");
        assert!(n(o, "absorbed_by_inbox") >= resends, "{o}");
    }
    no_stream_left(&url, &reports);
}

#[test]
fn options_the_broker_run_cannot_honour_are_bad_input() {
    for extra in [
        &["--crash-mode", "process"][..],
        &["--power-loss"],
        &["--orders", "10001"],
        // The broker run has one relay, crashing in process, on its own real-time loop.
        &["--relays", "5"],
        &["--threads"],
        &["--claim", "none"],
        &["--lease", "50"],
        &["--explain", "3"],
    ] {
        let mut args = vec!["simulate", "--broker", "nats://127.0.0.1:1"];
        args.extend_from_slice(extra);
        let out = Msgwork::new(&args).output();
        out.expect_code(2);
        if extra[0] != "--orders" {
            assert!(out.stderr.contains(extra[0]), "{}", out.stderr);
        }
    }
    Msgwork::new(&["simulate", "--broker", "nats://ann:hunter2@127.0.0.1:99999"])
        .output()
        .usage_error("nats://HOST:PORT");
}

/// What `--check` looks at on the broker is the outbox's own verdict: each bug the broker run can
/// carry breaks it, losing events or applying a redelivery twice, so a run with it exits 1.
#[test]
fn a_broken_outbox_on_the_broker_fails_the_check() {
    let Some(url) = broker("a_broken_outbox_on_the_broker_fails_the_check") else {
        return;
    };
    let url = BrokerUrl::parse(&url).unwrap();
    let handles: Vec<_> = BROKER_MUTANTS
        .into_iter()
        .map(|mutant| {
            let url = url.clone();
            std::thread::spawn(move || {
                let options = BrokeredOptions {
                    seed: 5,
                    orders: 30,
                    crash: true,
                    crash_rate: 0.01,
                    dedupe: true,
                    keep_dir: None,
                    db: None,
                    mutant,
                };
                (mutant, brokered::run(&url, &options).unwrap())
            })
        })
        .collect();
    for handle in handles {
        let (mutant, report) = handle.join().unwrap();
        let o = &report.outbox;
        assert!(!o.holds(), "{mutant:?} went unnoticed: {o:?}");
        match mutant {
            // Rows marked sent before the crash that struck before their publish: never sent.
            Mutant::MarkBeforePublish => assert!(o.lost >= o.publisher_crashes, "{o:?}"),
            // Acked, then killed before the charge: the broker will not deliver it again.
            Mutant::AckBeforeCommit => assert_eq!(o.lost, o.consumer_crashes, "{o:?}"),
            // The ids it remembered died with it: the redelivery is charged again.
            Mutant::MemoryDedupe => assert!(o.double_applied > 0 && o.lost == 0, "{o:?}"),
            other => panic!("{other:?} is not a broker mutant"),
        }
    }
}

#[test]
fn the_outbox_holds_on_the_broker_with_postgresql_beneath_it() {
    let Some(url) = broker("the_outbox_holds_on_the_broker_with_postgresql") else {
        return;
    };
    let Some(db) = postgres("the_outbox_holds_on_the_broker_with_postgresql") else {
        return;
    };
    let reports = runs(&url, 30..32, &["--db", &db]);
    let mut client = postgres::Client::connect(&db, postgres::NoTls).unwrap();
    for r in &reports {
        assert_eq!(r["storage"], "postgres", "{r}");
        let (o, naive) = (&r["outbox"], &r["naive"]);
        assert_eq!(
            (n(o, "lost"), n(o, "phantom"), n(o, "double_applied")),
            (0, 0, 0),
            "{r}"
        );
        assert_eq!(n(o, "orders_committed"), 60);
        assert!(n(o, "absorbed_by_inbox") >= n(o, "consumer_crashes"), "{o}");
        assert!(n(naive, "lost") > 0, "{naive}");
        // The run's schemas went with its streams.
        for pipeline in ["naive", "outbox"] {
            let like = format!("{}\\_%", r[pipeline]["stream"].as_str().unwrap());
            let left: i64 = client
                .query_one(
                    "SELECT count(*) FROM pg_namespace WHERE nspname LIKE $1",
                    &[&like],
                )
                .unwrap()
                .get(0);
            assert_eq!(left, 0, "schemas {like} were left behind");
        }
    }
    no_stream_left(&url, &reports);
}
