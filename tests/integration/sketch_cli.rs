//! `msgwork sketch check`: an outbox design checked item by item, its SQL sealed in a sandbox.

use crate::harness::{Msgwork, path_str};

fn sketch(name: &str) -> String {
    format!("{}/fixtures/sketches/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn status_of(v: &serde_json::Value, id: &str) -> String {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .map(|i| i["status"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no item {id}"))
}

#[test]
fn the_good_sketches_pass_with_the_stable_json_shape() {
    for good in ["good.sql", "good-sqlite.sql", "cdc-no-marker.sql"] {
        let out = Msgwork::new(&["sketch", "check", &sketch(good), "--json"]).output();
        let v = out.success().json();
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["passed"], true, "{good}");
        for item in v["items"].as_array().unwrap() {
            for key in ["id", "status", "message"] {
                assert!(item.get(key).is_some(), "{key} in {item}");
            }
        }
    }
}

#[test]
fn each_flawed_sketch_is_told_its_flaw() {
    for (file, item) in [
        ("no-skip-locked.sql", "relay-claim"),
        ("no-index.sql", "relay-index"),
        ("publish-in-transaction.sql", "anti-patterns"),
        ("delete-after-publish.sql", "anti-patterns"),
        ("no-inbox.sql", "inbox"),
        ("no-unique-event-id.sql", "event-id-unique"),
        ("separate-transactions.sql", "write-transaction"),
    ] {
        let out = Msgwork::new(&["sketch", "check", &sketch(file), "--json"]).output();
        let v = out.expect_code(1).json();
        assert_eq!(v["passed"], false, "{file}");
        assert_ne!(
            status_of(&v, item),
            "ok",
            "{file}: {item} should be flagged"
        );
    }
}

#[test]
fn attach_and_load_extension_are_refused_and_create_no_file() {
    let _ = std::fs::remove_file("/tmp/x");
    let out = Msgwork::new(&["sketch", "check", &sketch("attack.sql"), "--json"]).output();
    let v = out.json();
    assert_ne!(status_of(&v, "sandbox-run"), "ok");
    assert!(
        !std::path::Path::new("/tmp/x").exists(),
        "ATTACH created a file"
    );
    let human = Msgwork::new(&["sketch", "check", &sketch("attack.sql")]).output();
    assert!(human.stdout.contains("refused ATTACH"), "{}", human.stdout);
}

#[test]
fn bad_sketch_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    Msgwork::new(&["sketch", "check", &path_str(&dir.path().join("none.sql"))])
        .output()
        .usage_error("cannot read it");
    let empty = dir.path().join("empty.sql");
    std::fs::write(&empty, "  \n").unwrap();
    Msgwork::new(&["sketch", "check", &path_str(&empty)])
        .output()
        .usage_error("is empty");
    let junk = dir.path().join("junk.sql");
    std::fs::write(&junk, "this is not ( SQL at all ;;; ' unterminated").unwrap();
    let out = Msgwork::new(&["sketch", "check", &path_str(&junk), "--json"]).output();
    let v = out.expect_code(1).json();
    assert!(!v["parse_problems"].as_array().unwrap().is_empty());
    assert!(v["parse_problems"][0]["line"].as_u64().unwrap() >= 1);
}

/// Every sketch the project has: the shipped samples and the adversarial ones under tests/.
fn every_sketch() -> Vec<std::path::PathBuf> {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let mut dirs = vec![root.join("fixtures/sketches"), root.join("tests/fixtures")];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "sql") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn check_json(path: &std::path::Path) -> serde_json::Value {
    let out = Msgwork::new(&["sketch", "check", &path_str(path), "--json"]).output();
    assert!(
        out.code == 0 || out.code == 1,
        "{}: exit {}",
        path.display(),
        out.code
    );
    out.json()
}

/// What a fact's cited value must be for a sentence to be true of it.
enum Value {
    OneOf(&'static [&'static str]),
    Has(&'static str),
    Lacks(&'static str),
}

const ATOMIC: &[&str] = &["one-statement", "one-transaction", "routine", "trigger"];

/// Sentences by which a message states a shared fact, and what the fact must then be.
const STATEMENTS: &[(&str, &str, Value)] = &[
    (
        "written by the same local transaction",
        "write-scope",
        Value::OneOf(ATOMIC),
    ),
    (
        "One local transaction means",
        "write-scope",
        Value::OneOf(ATOMIC),
    ),
    (
        "The write transaction ran too",
        "write-scope",
        Value::OneOf(ATOMIC),
    ),
    (
        "Two commits reopen",
        "write-scope",
        Value::OneOf(&["separate"]),
    ),
    (
        "in separate transactions",
        "write-scope",
        Value::OneOf(&["separate"]),
    ),
    (
        "No INSERT into bookings",
        "write-scope",
        Value::OneOf(&["no-booking-write"]),
    ),
    (
        "no outbox row is written",
        "write-scope",
        Value::OneOf(&["no-outbox-write"]),
    ),
    (
        "deletes each row after publishing",
        "settle",
        Value::Has("delete-after-publish"),
    ),
    (
        "deletes outbox rows right after publishing",
        "settle",
        Value::Has("delete-after-publish"),
    ),
    (
        "deletes outbox rows before they are published",
        "settle",
        Value::Has("delete-before-publish"),
    ),
    (
        "deletes the rows it claims",
        "settle",
        Value::Has("delete-before-publish"),
    ),
    (
        "marks rows as sent while claiming",
        "settle",
        Value::Has("mark-before-publish"),
    ),
    (
        "before the publish at line",
        "settle",
        Value::Has("-before-publish"),
    ),
    (
        "and only then publishes it",
        "settle",
        Value::Has("-before-publish"),
    ),
    (
        "after the publish at line",
        "settle",
        Value::Has("-after-publish"),
    ),
    (
        "sent rows are marked rather than deleted",
        "settle",
        Value::Has("mark-"),
    ),
    (
        "no outbox row is deleted on the relay path",
        "settle",
        Value::Lacks("delete-"),
    ),
    (
        "No UPDATE sets the sent marker",
        "settle",
        Value::Lacks("mark-"),
    ),
    ("marks the row sent", "marker", Value::Lacks("none")),
    ("marks rows as sent", "marker", Value::Lacks("none")),
    (
        "the relay has an index to work with",
        "relay-index",
        Value::OneOf(&["partial", "leading"]),
    ),
    (
        "is a partial index on unsent rows",
        "relay-index",
        Value::OneOf(&["partial"]),
    ),
    (
        "No relay query over the outbox",
        "claim",
        Value::OneOf(&["none"]),
    ),
    (
        "claims oldest-first with FOR UPDATE SKIP LOCKED",
        "claim",
        Value::Has("skip-locked"),
    ),
    (
        "reads unsent rows without claiming them",
        "claim",
        Value::Has("plain-read"),
    ),
    ("a CDC connector", "cdc", Value::Lacks("none")),
    ("No dedupe store", "inbox", Value::OneOf(&["none"])),
    ("is keyed by", "inbox", Value::Lacks("none")),
    (
        "in the same transaction as its side effect (line",
        "consumer-scope",
        Value::OneOf(&["one-transaction"]),
    ),
    (
        "records each event id in the same transaction as its side effect, and",
        "consumer-scope",
        Value::OneOf(&["said-one-transaction"]),
    ),
    (
        "show that transaction to make it certain",
        "consumer-scope",
        Value::OneOf(&["not-shown"]),
    ),
    (
        "the event id commits",
        "consumer-scope",
        Value::OneOf(&["record-before-effect"]),
    ),
    (
        "the side effect commits",
        "consumer-scope",
        Value::OneOf(&["effect-before-record"]),
    ),
    (
        "the message is acknowledged",
        "consumer-scope",
        Value::OneOf(&["ack-before-commit"]),
    ),
];

#[test]
fn no_two_items_contradict_each_other_on_any_sketch() {
    let sketches = every_sketch();
    assert!(sketches.len() >= 20, "{sketches:?}");
    let mut problems = Vec::new();
    for path in &sketches {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let v = check_json(path);
        let items = v["items"].as_array().unwrap();
        // Two items that cite one fact cite the same value.
        let mut seen: std::collections::BTreeMap<String, (String, String)> = Default::default();
        for item in items {
            let id = item["id"].as_str().unwrap();
            for (fact, value) in item["facts"].as_object().unwrap() {
                let value = value.as_str().unwrap().to_string();
                match seen.get(fact) {
                    Some((other, v)) if *v != value => problems.push(format!(
                        "{name}: {id} cites {fact} = {value:?} but {other} cites {v:?}"
                    )),
                    _ => {
                        seen.insert(fact.clone(), (id.to_string(), value));
                    }
                }
            }
        }
        // What a message states about a shared fact is what the item cites of it.
        for item in items {
            let id = item["id"].as_str().unwrap();
            let message = item["message"].as_str().unwrap();
            for (phrase, fact, want) in STATEMENTS {
                if !message.contains(phrase) {
                    continue;
                }
                let Some(cited) = item["facts"][*fact].as_str() else {
                    problems.push(format!(
                        "{name}: {id} says \"{phrase}\" without citing {fact}"
                    ));
                    continue;
                };
                let holds = match want {
                    Value::OneOf(list) => list.contains(&cited),
                    Value::Has(part) => cited.contains(part),
                    Value::Lacks(part) => !cited.contains(part),
                };
                if !holds {
                    problems.push(format!(
                        "{name}: {id} says \"{phrase}\" but {fact} is {cited:?}"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn losing_orders_of_effects_are_named_as_losses() {
    let dir = format!("{}/tests/fixtures/sketches", env!("CARGO_MANIFEST_DIR"));
    for (file, id, status, says) in [
        (
            "delete-then-publish.sql",
            "mark-after-publish",
            "wrong",
            "the event is lost",
        ),
        (
            "delete-then-publish.sql",
            "anti-patterns",
            "wrong",
            "before they are published",
        ),
        (
            "prose-relay-delete-first.sql",
            "mark-after-publish",
            "wrong",
            "at-most-once",
        ),
        (
            "delete-returning-claim.sql",
            "mark-after-publish",
            "wrong",
            "deletes the rows it claims",
        ),
        (
            "mark-then-publish.sql",
            "mark-after-publish",
            "wrong",
            "before the publish at line 26",
        ),
        (
            "routine-relay.sql",
            "mark-after-publish",
            "wrong",
            "before the publish",
        ),
        (
            "prose-delete-after-publish.sql",
            "mark-after-publish",
            "missing",
            "after publishing",
        ),
        (
            "prose-delete-after-publish.sql",
            "anti-patterns",
            "wrong",
            "right after publishing",
        ),
        (
            "consumer-record-first.sql",
            "inbox",
            "wrong",
            "skipped as a duplicate",
        ),
        (
            "consumer-ack-first.sql",
            "inbox",
            "wrong",
            "the message is acknowledged",
        ),
        (
            "consumer-one-transaction.sql",
            "inbox",
            "ok",
            "same transaction as its side effect",
        ),
        (
            "remark-after-relay.sql",
            "mark-after-publish",
            "ok",
            "does not show the publish",
        ),
        (
            "prose-mark-no-marker.sql",
            "mark-after-publish",
            "missing",
            "No UPDATE sets the sent marker",
        ),
        (
            "autocommit-writes.sql",
            "write-transaction",
            "wrong",
            "dual-write",
        ),
        (
            "autocommit-writes.sql",
            "outbox-table",
            "ok",
            "write-transaction says what is missing",
        ),
    ] {
        let v = check_json(std::path::Path::new(&format!("{dir}/{file}")));
        let item = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .unwrap();
        assert_eq!(item["status"], status, "{file} {id}: {}", item["message"]);
        assert!(
            item["message"].as_str().unwrap().contains(says),
            "{file} {id} should say {says:?}: {}",
            item["message"]
        );
    }
}

#[test]
fn the_inbox_advice_names_the_consumer_the_sketch_names() {
    let dir = env!("CARGO_MANIFEST_DIR");
    for (file, consumer) in [
        ("fixtures/sketches/no-inbox.sql", "BillingService"),
        ("fixtures/sketches/good.sql", "BillingService"),
        (
            "tests/fixtures/sketches/delete-then-publish.sql",
            "NotificationService",
        ),
        (
            "tests/fixtures/sketches/consumer-one-transaction.sql",
            "ReceiptMailer",
        ),
        (
            "tests/fixtures/sketches/consumer-ack-first.sql",
            "the loyalty consumer",
        ),
        // Only the producer is named: the advice stays neutral.
        (
            "tests/fixtures/sketches/prose-relay-delete-first.sql",
            "the consumer",
        ),
        ("fixtures/sketches/attack.sql", "the consumer"),
    ] {
        let v = check_json(std::path::Path::new(&format!("{dir}/{file}")));
        let inbox = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == "inbox")
            .unwrap();
        assert_eq!(inbox["facts"]["consumer"], consumer, "{file}");
        let message = inbox["message"].as_str().unwrap();
        assert!(message.contains(consumer), "{file}: {message}");
        for producer in ["BookingService", "OrderService", "PaymentService"] {
            assert!(
                !message.contains(producer),
                "{file} names the producer: {message}"
            );
        }
    }
}

fn corpus_schema(name: &str) -> String {
    format!("{}/tests/corpus/schemas/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn a_schema_review_passes_or_fails_on_the_schema_and_is_no_sketch_evidence() {
    let home = tempfile::tempdir().unwrap();
    let home = path_str(home.path());
    let schema = corpus_schema("rust-outbox-library.sql");
    // As a whole sketch it cannot pass, and says why in words the learner can act on.
    let whole = Msgwork::new(&["--data-dir", &home, "sketch", "check", &schema]).output();
    whole.expect_code(1);
    assert!(whole.stdout.contains("--only ddl"), "{}", whole.stdout);
    assert!(whole.stdout.contains("not judged"), "{}", whole.stdout);
    // Reviewed as a schema it passes, and says it was a schema review.
    let review = Msgwork::new(&[
        "--data-dir",
        &home,
        "sketch",
        "check",
        &schema,
        "--only",
        "ddl",
        "--json",
    ])
    .output();
    let v = review.success().json();
    assert_eq!(v["review"], "schema");
    assert_eq!(v["passed"], true);
    // A schema with a flaw of its own still fails the review.
    let flawed = Msgwork::new(&[
        "--data-dir",
        &home,
        "sketch",
        "check",
        &corpus_schema("masstransit-postgres.sql"),
        "--only",
        "ddl",
    ])
    .output();
    flawed.expect_code(1);
    assert!(flawed.stdout.contains("schema review"), "{}", flawed.stdout);
    // Neither the review nor the schema-only check counts as a passing sketch.
    let evidence = Msgwork::new(&["--data-dir", &home, "evidence", "--json"])
        .output()
        .json();
    let item = evidence["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "outbox-sketch")
        .unwrap();
    assert_eq!(item["done"], false, "{item}");
    assert_eq!(item["runs"], serde_json::json!([]), "{item}");
}

#[test]
fn the_dialect_is_detected_or_given_and_always_said() {
    let mysql = corpus_schema("spring-modulith-mysql.sql");
    let v = Msgwork::new(&["sketch", "check", &mysql, "--json"])
        .output()
        .json();
    assert_eq!(v["dialect"], "mysql");
    assert!(
        v["dialect_reason"]
            .as_str()
            .unwrap()
            .starts_with("detected"),
        "{v}"
    );
    let human = Msgwork::new(&["sketch", "check", &mysql]).output();
    assert!(
        human.stdout.contains("(mysql, detected from"),
        "{}",
        human.stdout
    );
    let given = Msgwork::new(&[
        "sketch",
        "check",
        &sketch("good.sql"),
        "--dialect",
        "postgres",
        "--json",
    ])
    .output();
    let v = given.success().json();
    assert_eq!(v["dialect"], "postgresql");
    assert_eq!(v["dialect_reason"], "given with --dialect");
    Msgwork::new(&["sketch", "check", &mysql, "--dialect", "oracle"])
        .output()
        .expect_code(2);
    Msgwork::new(&["sketch", "check", &mysql, "--only", "relay"])
        .output()
        .expect_code(2);
}
