//! `msgwork simulate --broker`: both pipelines on a real JetStream server. The outbox loses
//! nothing and applies nothing twice over many seeds; the naive run loses events; a consumer
//! killed before its ack is redelivered and deduped; with the dedupe window off the inbox absorbs
//! the relay's resends; and no stream is left behind.

use serde_json::Value;

use msgwork::broker::{BrokerUrl, Session};

use crate::broker_doctor::broker;
use crate::harness::Msgwork;

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
        &["--db", "postgres://u@127.0.0.1:1/x"],
        &["--orders", "10001"],
    ] {
        let mut args = vec!["simulate", "--broker", "nats://127.0.0.1:1"];
        args.extend_from_slice(extra);
        Msgwork::new(&args).output().expect_code(2);
    }
    Msgwork::new(&["simulate", "--broker", "nats://ann:hunter2@127.0.0.1:99999"])
        .output()
        .usage_error("nats://HOST:PORT");
}
