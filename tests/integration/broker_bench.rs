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
