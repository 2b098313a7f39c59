//! `msgwork lab fanout --broker`: queue against topic on real JetStream streams, and the run's
//! streams gone afterwards (at the end, and on Ctrl-C) unless it was asked to keep them.

use std::process::Stdio;
use std::time::{Duration, Instant};

use msgwork::broker::{BrokerUrl, Session};

use crate::broker_doctor::broker;
use crate::harness::Msgwork;

fn session(url: &str) -> Session {
    Session::connect(&BrokerUrl::parse(url).unwrap()).unwrap()
}

fn streams_of(v: &serde_json::Value) -> Vec<String> {
    v["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn on_one_work_queue_the_services_split_the_orders_and_durable_consumers_each_see_all() {
    let Some(url) = broker("on_one_work_queue_the_services_split_the_orders") else {
        return;
    };
    let out = Msgwork::new(&[
        "lab",
        "fanout",
        "--broker",
        &url,
        "--orders",
        "600",
        "--instances",
        "2",
        "--seed",
        "4",
        "--json",
    ])
    .output();
    out.success();
    let v = out.json();
    assert_eq!(v["broker"], url.as_str());
    let queue = v["queue"].as_array().unwrap();
    let total: u64 = queue.iter().map(|s| s["orders"].as_u64().unwrap()).sum();
    assert_eq!(
        total, 600,
        "a work queue hands each message to one consumer: {v}"
    );
    for s in queue {
        let seen = s["orders"].as_u64().unwrap();
        assert!(
            seen > 0 && seen < 600,
            "each service sees a share, never all: {s}"
        );
        assert_eq!(s["missed"].as_u64().unwrap(), 600 - seen);
    }
    for s in v["topic"].as_array().unwrap() {
        assert_eq!(
            (s["orders"].as_u64(), s["missed"].as_u64()),
            (Some(600), Some(0)),
            "{s}"
        );
        let shares: Vec<u64> = s["per_instance"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_u64().unwrap())
            .collect();
        assert_eq!(shares.len(), 2);
        assert_eq!(shares.iter().sum::<u64>(), 600);
    }
    let made = streams_of(&v);
    assert_eq!(made.len(), 2, "{v}");
    let left = session(&url).stream_names().unwrap();
    for name in &made {
        assert!(!left.contains(name), "{name} was left behind");
    }
}

#[test]
fn keep_streams_leaves_them_to_look_at() {
    let Some(url) = broker("keep_streams_leaves_them_to_look_at") else {
        return;
    };
    let out = Msgwork::new(&[
        "lab",
        "fanout",
        "--broker",
        &url,
        "--orders",
        "30",
        "--keep-streams",
        "--json",
    ])
    .output();
    out.success();
    let made = streams_of(&out.json());
    let s = session(&url);
    let left = s.stream_names().unwrap();
    for name in &made {
        assert!(left.contains(name), "{name} was not kept");
        // The work queue was drained; the interest stream was acknowledged by every service.
        assert_eq!(s.stream_messages(name).unwrap(), 0, "{name}");
        assert!(s.delete_stream(name).unwrap());
    }
}

#[test]
fn ctrl_c_deletes_the_streams_the_run_made() {
    let Some(url) = broker("ctrl_c_deletes_the_streams_the_run_made") else {
        return;
    };
    let (mut child, _home) = Msgwork::new(&[
        "lab",
        "fanout",
        "--broker",
        &url,
        "--orders",
        "100000",
        "--instances",
        "1",
    ])
    .spawn();
    let prefix = format!("msgwork_fanout{}x", child.id());
    let s = session(&url);
    let ours = |s: &Session| -> Vec<String> {
        s.stream_names()
            .unwrap()
            .into_iter()
            .filter(|n| n.starts_with(&prefix))
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while ours(&s).len() < 2 {
        assert!(Instant::now() < deadline, "the run never made its streams");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(sent.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert_eq!(ours(&s), Vec::<String>::new(), "streams left after Ctrl-C");
}

#[test]
fn bad_broker_options_are_bad_input_before_any_connection() {
    Msgwork::new(&[
        "lab",
        "fanout",
        "--broker",
        "amqp://guest:hunter2@127.0.0.1:5672",
    ])
    .output()
    .usage_error("nats://HOST:PORT");
    Msgwork::new(&[
        "lab",
        "fanout",
        "--broker",
        "nats://127.0.0.1:1",
        "--instances",
        "17",
    ])
    .output()
    .usage_error("--instances must be between 1 and 16");
    let out = Msgwork::new(&["lab", "fanout", "--keep-streams"]).output();
    out.expect_code(2);
    let out = Msgwork::new(&[
        "lab",
        "fanout",
        "--broker",
        "nats://ann:hunter2@127.0.0.1:1",
    ])
    .output();
    out.expect_code(2);
    assert!(
        out.stderr
            .contains("cannot connect to the broker at nats://ann:***@127.0.0.1:1"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("hunter2"));
}
