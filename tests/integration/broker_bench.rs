//! `msgwork bench --broker`: the real broker's figures beside the in-process ones, from the same
//! run. Speed itself is never asserted; that every figure is there and positive is.

use crate::broker_doctor::broker;
use crate::harness::Msgwork;

#[test]
fn bench_on_a_broker_adds_its_figures_beside_the_in_process_ones() {
    let Some(url) = broker("bench_on_a_broker_adds_its_figures") else {
        return;
    };
    let out = Msgwork::new(&["bench", "--quick", "--broker", &url, "--json"]).output();
    let v = out.success().json();
    let figures: Vec<(&str, f64)> = v["measurements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap(), m["value"].as_f64().unwrap()))
        .collect();
    for name in [
        "broker_publish_ack_per_s",
        "broker_publish_pipelined_per_s",
        "broker_pipelining_ratio",
        "broker_drain_per_s",
        "inprocess_drain_per_s",
        "broker_drain_ratio",
        "lab_default_run",
    ] {
        let found = figures.iter().find(|(n, _)| *n == name);
        assert!(
            found.is_some_and(|(_, v)| *v > 0.0),
            "{name} missing or not positive in {figures:?}"
        );
    }
}

#[test]
fn bench_with_a_bad_broker_url_is_bad_input_before_measuring() {
    Msgwork::new(&[
        "bench",
        "--quick",
        "--broker",
        "nats://ann:hunter2@127.0.0.1:0",
    ])
    .output()
    .usage_error("nats://HOST:PORT");
}

/// More publishes than the client lets wait for their acks at once (5,000) still all land: the
/// pipelined publish of a full-size bench or a large fanout run once hung there.
#[test]
fn a_pipelined_publish_larger_than_the_clients_ack_window_completes() {
    use msgwork::broker::{BrokerUrl, Retention, Session, StreamSpec};
    let Some(url) = broker("a_pipelined_publish_larger_than_the_clients_ack_window") else {
        return;
    };
    const MESSAGES: usize = 6_000;
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let session = Session::connect(&BrokerUrl::parse(&url).unwrap()).unwrap();
        let name = format!("msgwork_test_window_{}", std::process::id());
        let subject = format!("{name}.events");
        let spec = StreamSpec {
            name: &name,
            subject: &subject,
            retention: Retention::Limits,
            duplicate_window: std::time::Duration::from_secs(1),
        };
        session.create_stream(&spec).unwrap();
        let ids: Vec<String> = (0..MESSAGES).map(|n| format!("event-{n}")).collect();
        let published = session.publish_many(
            &subject,
            ids.iter().map(|id| (Some(id.as_str()), id.as_bytes())),
        );
        let stored = session.stream_messages(&name);
        session.delete_stream(&name).unwrap();
        let _ = done.send((published.unwrap(), stored.unwrap()));
    });
    let (acks, stored) = finished
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("the publish of 6,000 messages never finished");
    assert_eq!(acks.len(), MESSAGES);
    assert_eq!(stored, MESSAGES as u64);
    // One ack per message, in order, none a duplicate.
    assert!(acks.windows(2).all(|w| w[0].sequence < w[1].sequence));
    assert!(acks.iter().all(|a| !a.duplicate));
}
