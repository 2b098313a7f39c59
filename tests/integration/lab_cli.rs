//! `msgwork lab`: the stretch labs through the real binary.

use crate::harness::Msgwork;

#[test]
fn fanout_shows_a_queue_splitting_and_a_topic_copying() {
    let (out, home) =
        Msgwork::new(&["lab", "fanout", "--seed", "3", "--orders", "600", "--json"]).run();
    let v = out.success().json();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["seed"], 3);
    let queue = v["queue"].as_array().unwrap();
    let total: u64 = queue.iter().map(|s| s["orders"].as_u64().unwrap()).sum();
    assert_eq!(total, 600);
    assert!(queue.iter().all(|s| s["missed"].as_u64().unwrap() > 0));
    for s in v["topic"].as_array().unwrap() {
        assert_eq!(
            (s["orders"].as_u64(), s["missed"].as_u64()),
            (Some(600), Some(0))
        );
    }
    let again =
        Msgwork::new(&["lab", "fanout", "--seed", "3", "--orders", "600", "--json"]).output();
    assert_eq!(again.json(), v, "the same seed gives the same result");
    let store = msgwork::store::Store::open(home.path()).unwrap();
    assert_eq!(store.runs("lab-fanout").unwrap().len(), 1);
    let human = Msgwork::new(&["lab", "fanout", "--seed", "3"]).output();
    assert!(
        human
            .success()
            .stdout
            .contains("'a queue broadcasts' misconception")
    );
}

#[test]
fn fanout_refuses_nonsense_sizes() {
    Msgwork::new(&["lab", "fanout", "--orders", "0"])
        .output()
        .usage_error("--orders");
    Msgwork::new(&["lab", "fanout", "--instances", "0"])
        .output()
        .usage_error("--instances");
}
