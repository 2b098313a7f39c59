//! `msgwork evidence` and `msgwork report`: proven from what the learner ran, end to end.

use crate::harness::{Msgwork, path_str};

fn fixture(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

fn evidence(home: &str) -> serde_json::Value {
    Msgwork::new(&["--data-dir", home, "evidence", "--json"])
        .output()
        .json()
}

#[test]
fn on_a_fresh_data_dir_everything_is_missing_with_its_next_command() {
    let home = tempfile::tempdir().unwrap();
    let out = Msgwork::new(&["--data-dir", &path_str(home.path()), "evidence", "--json"]).output();
    let v = out.expect_code(1).json();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["done"], 0);
    assert!(v["required"].as_u64().unwrap() >= 8);
    for item in v["items"].as_array().unwrap() {
        for key in ["id", "source", "required", "done", "proof", "next"] {
            assert!(item.get(key).is_some(), "{key} missing in {item}");
        }
        assert!(item["source"] == "workshop" || item["source"] == "lab");
        if item["required"] == true {
            assert_eq!(item["done"], false);
            assert!(
                item["next"].as_str().unwrap().starts_with("msgwork "),
                "{item}"
            );
        }
    }
}

#[test]
fn after_the_learner_runs_the_commands_every_required_item_is_proven() {
    let dir = tempfile::tempdir().unwrap();
    let home = path_str(&dir.path().join("home"));
    let run =
        |args: &[&str]| Msgwork::new(&[&["--data-dir", home.as_str()], args].concat()).output();

    // The workshop: the five scenarios and R3/R4, graded from a file.
    let pack = msgwork::content::builtin().unwrap();
    let mut answers = serde_json::json!({"scenarios": {}, "retrieval": {}});
    for s in &pack.scenarios {
        answers["scenarios"][&s.id] = serde_json::json!({
            "channel": s.channel.expected, "payload": s.payload.expected,
            "outbox": s.outbox.expected, "reason": format!("{} because of what the situation needs", s.channel.expected),
        });
    }
    for id in ["R3", "R4"] {
        let item = pack.items.iter().find(|i| i.id == id).unwrap();
        answers["retrieval"][id] = serde_json::Value::String(item.model_answer.clone());
    }
    let file = dir.path().join("answers.json");
    std::fs::write(&file, answers.to_string()).unwrap();
    run(&["drill", "--answers", &path_str(&file)]).success();
    run(&["sketch", "check", &fixture("fixtures/sketches/good.sql")]).success();
    let event = fixture("fixtures/events/order-placed.json");
    run(&[
        "rewrite-event",
        &event,
        "--check",
        &fixture("fixtures/payloads/good-ecst.json"),
    ])
    .success();
    let half = evidence(&home);
    assert!(half["done"].as_u64().unwrap() < half["required"].as_u64().unwrap());
    run(&[
        "rewrite-event",
        &event,
        "--check",
        &fixture("fixtures/payloads/good-notification.json"),
    ])
    .success();

    // The lab.
    run(&["simulate", "--crash", "--seed", "3", "--orders", "300"]).success();
    run(&[
        "evidence",
        "--writeup",
        &fixture("tests/fixtures/writeup.md"),
    ])
    .expect_code(0);

    let v = evidence(&home);
    for item in v["items"].as_array().unwrap() {
        if item["required"] == true {
            assert_eq!(item["done"], true, "not proven: {item}");
            assert!(item["proof"].as_str().unwrap().len() > 5, "{item}");
        }
    }
    assert_eq!(v["done"], v["required"]);
    Msgwork::new(&["--data-dir", &home, "evidence"])
        .output()
        .success();

    // The report carries the crash table and the evidence.
    let md = run(&["report"]);
    let text = &md.success().stdout;
    for needle in [
        "# Messaging patterns: evidence",
        "| lost events |",
        "Claim log:",
        "## Drills",
        "## The outbox sketch",
        "## The write-up",
    ] {
        assert!(text.contains(needle), "missing {needle}:\n{text}");
    }
    let json = run(&["report", "--format", "json"]);
    assert_eq!(json.success().json()["schema_version"], 1);
    let out = dir.path().join("evidence.md");
    run(&["report", "--output", &path_str(&out)]).success();
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .contains("required items proven")
    );
}

#[test]
fn a_writeup_that_misses_the_point_fails_and_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.md");
    std::fs::write(
        &bad,
        "The outbox publishes to Kafka inside the same transaction, so delivery is exactly once.",
    )
    .unwrap();
    let out = Msgwork::new(&["evidence", "--writeup", &path_str(&bad)]).output();
    let text = &out.expect_code(1).stdout;
    assert!(text.contains("does not pass yet"), "{text}");
    assert!(text.contains("misconception"), "{text}");
    Msgwork::new(&[
        "evidence",
        "--writeup",
        &path_str(&dir.path().join("none.md")),
    ])
    .output()
    .usage_error("cannot read it");
    Msgwork::new(&[
        "report",
        "--output",
        &path_str(&dir.path().join("no/such/dir/r.md")),
    ])
    .output()
    .usage_error("cannot write the report");
}
