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
        for key in [
            "id", "source", "required", "done", "proof", "runs", "refused", "next",
        ] {
            assert!(item.get(key).is_some(), "{key} missing in {item}");
        }
        assert!(
            ["workshop", "lab", "verify"].contains(&item["source"].as_str().unwrap()),
            "{item}"
        );
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
    // The learner's own sketch and payloads: the shipped samples would not count.
    run(&[
        "sketch",
        "check",
        &fixture("tests/fixtures/learner/my-outbox.sql"),
    ])
    .success();
    let event = fixture("fixtures/events/order-placed.json");
    run(&[
        "rewrite-event",
        &event,
        "--check",
        &fixture("tests/fixtures/learner/my-ecst.json"),
    ])
    .success();
    let half = evidence(&home);
    assert!(half["done"].as_u64().unwrap() < half["required"].as_u64().unwrap());
    run(&[
        "rewrite-event",
        &event,
        "--check",
        &fixture("tests/fixtures/learner/my-notification.json"),
    ])
    .success();

    // The lab.
    run(&["simulate", "--crash", "--seed", "3", "--orders", "300"]).success();
    // The learner's own pipeline, judged by verify over enough seeds.
    if python3() {
        run(&[
            "verify",
            "--seeds",
            "20",
            "--orders",
            "100",
            "--relays",
            "2",
            "--no-shrink",
            "--",
            "python3",
            &fixture("tests/fixtures/learner/my_shop.py"),
        ])
        .success();
    }

    run(&[
        "evidence",
        "--writeup",
        &fixture("tests/fixtures/writeup.md"),
    ])
    .expect_code(if python3() { 0 } else { 1 });

    let v = evidence(&home);
    for item in v["items"].as_array().unwrap() {
        if item["source"] == "verify" && !python3() {
            continue;
        }
        if item["required"] == true {
            assert_eq!(item["done"], true, "not proven: {item}");
            assert!(item["proof"].as_str().unwrap().len() > 5, "{item}");
        }
    }
    if python3() {
        assert_eq!(v["done"], v["required"]);
        Msgwork::new(&["--data-dir", &home, "evidence"])
            .output()
            .success();
    }

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
    if python3() {
        let needle = "## Your own implementation";
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

/// `msgwork --data-dir HOME ARGS…`.
fn at(home: &str, args: &[&str]) -> crate::harness::Output {
    Msgwork::new(&[&["--data-dir", home], args].concat()).output()
}

fn item<'a>(evidence: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    evidence["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("no item {id} in {evidence}"))
}

fn reasons(item: &serde_json::Value) -> Vec<String> {
    item["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{} | {}", r["file"], r["reason"]))
        .collect()
}

#[test]
fn on_a_fresh_data_dir_the_shipped_samples_prove_nothing_and_evidence_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let home = path_str(dir.path());
    at(
        &home,
        &["sketch", "check", &fixture("fixtures/sketches/good.sql")],
    )
    .success();
    // attack.sql has an item marked wrong; whatever its exit status, it proves nothing.
    at(
        &home,
        &["sketch", "check", &fixture("fixtures/sketches/attack.sql")],
    );
    let event = fixture("fixtures/events/order-placed.json");
    for payload in ["good-ecst.json", "good-notification.json"] {
        let payload = fixture(&format!("fixtures/payloads/{payload}"));
        at(&home, &["rewrite-event", &event, "--check", &payload]).success();
    }

    let v = at(&home, &["evidence", "--json"]).expect_code(1).json();
    let sketch = item(&v, "outbox-sketch");
    assert_eq!(sketch["done"], false, "{sketch}");
    assert_eq!(sketch["runs"], serde_json::json!([]));
    assert_eq!(sketch["next"], "msgwork sketch check my-outbox.sql");
    let why = reasons(sketch);
    assert_eq!(why.len(), 2, "{why:?}");
    for (r, name) in sketch["refused"]
        .as_array()
        .unwrap()
        .iter()
        .zip(["attack.sql", "good.sql"])
    {
        assert!(r["file"].as_str().unwrap().ends_with(name), "{r}");
        let reason = r["reason"].as_str().unwrap();
        assert!(
            reason.contains(&format!("fixtures/sketches/{name}")),
            "{reason}"
        );
        assert!(reason.contains("shipped with msgwork"), "{reason}");
        assert!(
            r["instead"]
                .as_str()
                .unwrap()
                .contains("msgwork sketch check"),
            "{r}"
        );
        assert!(r["run"].as_i64().unwrap() >= 1);
    }
    let rewrite = item(&v, "rewrite");
    assert_eq!(rewrite["done"], false, "{rewrite}");
    assert_eq!(rewrite["proof"], serde_json::Value::Null);
    let why = reasons(rewrite);
    assert_eq!(why.len(), 2, "{why:?}");
    assert!(
        why.iter().all(|w| w.contains("shipped with msgwork")),
        "{why:?}"
    );
    assert!(
        why.iter()
            .any(|w| w.contains("fixtures/payloads/good-ecst.json")),
        "{why:?}"
    );

    // The table says so too, and so does the report.
    let text = at(&home, &["evidence"]).expect_code(1).stdout.clone();
    for needle in [
        "not counted:",
        "good.sql",
        "attack.sql",
        "good-ecst.json",
        "Instead,",
    ] {
        assert!(text.contains(needle), "missing {needle}:\n{text}");
    }
    let md = at(&home, &["report"]).success().stdout.clone();
    assert!(md.contains("## Not counted"), "{md}");
    assert!(md.contains("Not counted as evidence:"), "{md}");
    let report = at(&home, &["report", "--format", "json"]).success().json();
    assert_eq!(report["sketch"]["counts"], false);
    assert!(
        report["rewrite_checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["counts"] == false)
    );
}

#[test]
fn a_copy_that_differs_only_in_spacing_comments_case_or_key_order_is_still_the_sample() {
    let dir = tempfile::tempdir().unwrap();
    let home = path_str(&dir.path().join("home"));
    let good = std::fs::read_to_string(fixture("fixtures/sketches/good.sql")).unwrap();
    // Drop the sample's own comments, reindent, re-case keywords and sign it.
    let mut copy = String::from("/* my outbox,\n   written from scratch */\n");
    for line in good.lines() {
        let code = line.split("--").next().unwrap().trim_end();
        if !code.is_empty() {
            copy.push_str(
                &code
                    .replace("    ", "\t")
                    .replace("CREATE TABLE", "create table"),
            );
            copy.push_str("  -- mine\n\n");
        }
    }
    copy = copy.replace("BEGIN;", "begin ;");
    let sql = dir.path().join("mine.sql");
    std::fs::write(&sql, &copy).unwrap();
    at(&home, &["sketch", "check", &path_str(&sql)]).success();

    let ecst: serde_json::Map<String, serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(fixture("fixtures/payloads/good-ecst.json")).unwrap(),
    )
    .unwrap();
    let reordered: serde_json::Map<_, _> = ecst.into_iter().rev().collect();
    let json = dir.path().join("my-ecst.json");
    std::fs::write(&json, serde_json::to_string(&reordered).unwrap()).unwrap();
    let event = fixture("fixtures/events/order-placed.json");
    at(
        &home,
        &["rewrite-event", &event, "--check", &path_str(&json)],
    )
    .success();

    // msgwork's own rewrite of the event, copied out of its output, is not the learner's either.
    let model = at(&home, &["rewrite-event", &event, "--json"])
        .success()
        .json();
    let notification = dir.path().join("my-notification.json");
    std::fs::write(
        &notification,
        serde_json::to_string_pretty(&model["notification"]).unwrap(),
    )
    .unwrap();
    at(
        &home,
        &["rewrite-event", &event, "--check", &path_str(&notification)],
    )
    .success();

    let v = evidence(&home);
    let sketch = item(&v, "outbox-sketch");
    assert_eq!(sketch["done"], false, "{sketch}");
    let why = reasons(sketch);
    assert!(
        why[0].contains("a copy of fixtures/sketches/good.sql"),
        "{why:?}"
    );
    let rewrite = item(&v, "rewrite");
    assert_eq!(rewrite["done"], false, "{rewrite}");
    let why = reasons(rewrite);
    assert_eq!(why.len(), 2, "{why:?}");
    assert!(why[0].contains("msgwork's own rewrite"), "{why:?}");
    assert!(
        why[1].contains("a copy of fixtures/payloads/good-ecst.json"),
        "{why:?}"
    );
}

#[test]
fn the_learners_own_passing_sketch_counts_and_a_failing_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let home = path_str(&dir.path().join("home"));
    let mine = std::fs::read_to_string(fixture("tests/fixtures/learner/my-outbox.sql")).unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path_str(&path)
    };

    // No inbox: the check fails, and evidence says which item is missing.
    let (relay, _) = mine.split_once("\n-- ShippingService\n").unwrap();
    let no_inbox = write("no-inbox.sql", relay);
    at(&home, &["sketch", "check", &no_inbox]).expect_code(1);
    // Passing on the required items but reaching outside the sandbox: marked wrong, not counted.
    let reaching = write(
        "reaching.sql",
        &format!("{mine}\nATTACH DATABASE '/tmp/x' AS x;\n"),
    );
    at(&home, &["sketch", "check", &reaching]);
    let v = evidence(&home);
    let sketch = item(&v, "outbox-sketch");
    assert_eq!(sketch["done"], false, "{sketch}");
    let why = reasons(sketch);
    assert_eq!(why.len(), 2, "{why:?}");
    assert!(
        why[0].contains("reaching.sql") && why[0].contains("wrong"),
        "{why:?}"
    );
    assert!(
        why[1].contains("no-inbox.sql") && why[1].contains("inbox"),
        "{why:?}"
    );
    assert!(why[1].contains("did not pass"), "{why:?}");

    // The learner's own design, passing: it counts, and nothing newer needs explaining.
    let own = write("my-outbox.sql", &mine);
    at(&home, &["sketch", "check", &own]).success();
    let v = evidence(&home);
    let sketch = item(&v, "outbox-sketch");
    assert_eq!(sketch["done"], true, "{sketch}");
    assert_eq!(sketch["runs"], serde_json::json!([3]));
    assert!(
        sketch["proof"].as_str().unwrap().contains("my-outbox.sql"),
        "{sketch}"
    );
    assert_eq!(sketch["refused"], serde_json::json!([]));

    // A later failing check does not undo the proof, but is explained.
    at(&home, &["sketch", "check", &no_inbox]).expect_code(1);
    let sketch = item(&evidence(&home), "outbox-sketch").clone();
    assert_eq!(sketch["done"], true);
    assert_eq!(sketch["runs"], serde_json::json!([3]));
    assert_eq!(reasons(&sketch).len(), 1, "{sketch}");
    assert_eq!(sketch["refused"][0]["run"], 4);
}

#[test]
fn report_and_evidence_cite_the_same_run_that_proves_each_item() {
    let dir = tempfile::tempdir().unwrap();
    let home = path_str(&dir.path().join("home"));
    // Run 1 proves the loss; run 2, later, crashes only the consumer and the naive write loses
    // nothing, so it proves nothing about the gap.
    at(
        &home,
        &["simulate", "--crash", "--seed", "3", "--orders", "300"],
    )
    .success();
    let later = at(
        &home,
        &["simulate", "--crash-at", "consumer-after-commit", "--json"],
    )
    .json();
    assert_eq!(
        later["naive"]["lost_events"], 0,
        "the later run must prove nothing"
    );
    let own = fixture("tests/fixtures/learner/my-outbox.sql");
    at(&home, &["sketch", "check", &own]).success();
    at(
        &home,
        &[
            "sketch",
            "check",
            &fixture("fixtures/sketches/no-inbox.sql"),
        ],
    )
    .expect_code(1);
    at(
        &home,
        &[
            "evidence",
            "--writeup",
            &fixture("tests/fixtures/writeup.md"),
        ],
    );
    let bad = dir.path().join("bad.md");
    std::fs::write(
        &bad,
        "Kafka delivers exactly once, so nothing else is needed.",
    )
    .unwrap();
    at(&home, &["evidence", "--writeup", &path_str(&bad)]).expect_code(1);

    let v = evidence(&home);
    let proving = |id: &str| {
        item(&v, id)["runs"]
            .as_array()
            .unwrap()
            .last()
            .cloned()
            .unwrap()
    };
    assert_eq!(proving("naive-loses-outbox-holds"), 1);
    assert_eq!(proving("outbox-sketch"), 3);
    assert_eq!(proving("writeup"), 5);

    let report = at(&home, &["report", "--format", "json"]).success().json();
    assert_eq!(
        report["crash_run"]["run"],
        proving("naive-loses-outbox-holds")
    );
    assert!(
        report["crash_run"]["report"]["naive"]["lost_events"]
            .as_u64()
            .unwrap()
            >= 1
    );
    assert_eq!(report["sketch"]["run"], proving("outbox-sketch"));
    assert_eq!(report["sketch"]["counts"], true);
    assert_eq!(report["writeup"]["run"], proving("writeup"));
    let md = at(&home, &["report"]).success().stdout.clone();
    assert!(md.contains("Run 1 (seed 3, 300 orders"), "{md}");
    assert!(md.contains("my-outbox.sql (run 3): passes."), "{md}");

    // With no run that proves it, the report cites none, and says what to run.
    let fresh = path_str(&dir.path().join("fresh"));
    at(&fresh, &["simulate", "--crash-at", "consumer-after-commit"]).success();
    let report = at(&fresh, &["report", "--format", "json"]).success().json();
    assert_eq!(report["crash_run"], serde_json::Value::Null);
    let md = at(&fresh, &["report"]).success().stdout.clone();
    assert!(md.contains("run `msgwork simulate --crash`"), "{md}");
}

fn python3() -> bool {
    let found = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("python3 is not on PATH: the verify items are not checked");
    }
    found
}

#[test]
fn msgworks_own_solution_earns_nothing_however_well_it_holds() {
    if !python3() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let home = path_str(&dir.path().join("home"));
    let kit = path_str(&dir.path().join("kit"));
    let run =
        |args: &[&str]| Msgwork::new(&[&["--data-dir", home.as_str()], args].concat()).output();
    run(&["starter", "python", &kit, "--solution"]).success();
    let shop = format!("{kit}/shop.py");
    run(&[
        "verify",
        "--orders",
        "20",
        "--no-shrink",
        "--",
        "python3",
        &shop,
    ])
    .success();
    let v = evidence(&home);
    let items = v["items"].as_array().unwrap();
    let holds = items
        .iter()
        .find(|i| i["id"] == "own-pipeline-holds")
        .unwrap();
    assert_eq!(holds["done"], false, "{holds}");
    let refused = &holds["refused"][0];
    assert!(
        refused["reason"]
            .as_str()
            .unwrap()
            .contains("reference solution"),
        "{holds}"
    );
    let dedupes = items
        .iter()
        .find(|i| i["id"] == "own-consumer-dedupes")
        .unwrap();
    assert_eq!(dedupes["done"], false, "{dedupes}");
}
