//! The samples compiled into the binary: `rewrite-event --example` works from any directory.

use crate::harness::Msgwork;

#[test]
fn the_workshops_event_is_built_in_and_works_from_anywhere() {
    let elsewhere = tempfile::tempdir().unwrap();
    let out = Msgwork::new(&["rewrite-event", "--example", "order-placed", "--json"])
        .current_dir(elsewhere.path())
        .output();
    let v = out.success().json();
    assert_eq!(v["event_type"], "OrderPlaced", "{v}");
    let out = Msgwork::new(&["rewrite-event", "--example", "order-plaecd"]).output();
    out.usage_error("the examples are booking-created, order-placed");
    let out = Msgwork::new(&["rewrite-event", "x.json", "--example", "order-placed"]).output();
    out.expect_code(2);
}

#[test]
fn next_and_evidence_suggest_the_example_not_a_path_in_the_checkout() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path().to_string_lossy().into_owned();
    let v = Msgwork::new(&["--data-dir", &h, "evidence", "--json"])
        .output()
        .json();
    let rewrite = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "rewrite")
        .unwrap();
    let next = rewrite["next"].as_str().unwrap();
    assert!(next.contains("--example order-placed"), "{next}");
}
