//! `msgwork rewrite-event`: the rewrite, the practice checker, and bad input.

use crate::harness::{Msgwork, path_str};

fn fixture(name: &str) -> String {
    format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path_str(&path)
}

#[test]
fn the_workshops_thin_order_placed_event_gets_three_consumers_and_both_forms() {
    let out = Msgwork::new(&[
        "rewrite-event",
        &fixture("events/order-placed.json"),
        "--json",
    ])
    .output();
    let v = out.success().json();
    assert_eq!(v["schema_version"], 1);
    let consumers = v["consumers"].as_array().unwrap();
    assert_eq!(consumers.len(), 3);
    assert!(consumers.iter().filter(|c| c["prefers"] == "ecst").count() >= 2);
    for c in consumers {
        assert!(c["name"].is_string() && c["reason"].as_str().unwrap().len() > 20);
    }
    let n = &v["notification"];
    for key in [
        "event_id",
        "type",
        "occurred_at",
        "source",
        "schema_version",
        "correlation_id",
    ] {
        assert!(!n[key].is_null(), "notification lacks {key}");
    }
    assert_eq!(n["data"], serde_json::json!({"order_id": "ord_9f2a"}));
    let ecst = &v["ecst"];
    assert_eq!(ecst["event_id"], n["event_id"]);
    assert!(
        ecst["data"].as_object().unwrap().len() > 1,
        "ECST carries state"
    );
    let excluded = v["excluded_fields"].as_array().unwrap();
    assert!(
        excluded.iter().any(|e| e["class"] == "secret"),
        "{excluded:?}"
    );
    for e in excluded {
        assert!(e["path"].is_string() && e["reason"].is_string());
    }
    assert!(
        v["metrics"]["notification_bytes"].as_u64().unwrap()
            < v["metrics"]["ecst_bytes"].as_u64().unwrap()
    );
    let human = Msgwork::new(&["rewrite-event", &fixture("events/order-placed.json")]).output();
    let text = &human.success().stdout;
    for needle in [
        "Kept off the event",
        "Event-carried state transfer",
        "The trade-off",
        "sample records",
    ] {
        assert!(text.contains(needle), "missing {needle}:\n{text}");
    }
}

/// Secrets of every kind, under innocent and telling names, at every depth.
fn secrets() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "password_hash",
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        ),
        (
            "pwd",
            "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
        ),
        ("ref", "4111111111111111"),
        ("cardNumber", "5500 0055 5555 5559"),
        (
            "note",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJlc2lnbmF0dXJl",
        ),
        ("apiKey", "sk_live_51HxYzAbCdEfGhIjKlMnOp"),
        ("aws", "AKIAIOSFODNN7EXAMPLE"),
        ("cvv", "0737"),
        ("accessToken", "tok_9a8b7c6d5e4f3a2b1c0d"),
    ]
}

#[test]
fn no_secret_value_from_the_record_appears_anywhere_in_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let event = write(
        dir.path(),
        "e.json",
        r#"{"event_type": "OrderPlaced", "order_id": "ord_x1", "occurred_at": "2026-01-01T00:00:00Z"}"#,
    );
    let unknown = write(
        dir.path(),
        "u.json",
        r#"{"event_type": "InvoiceOverdue", "invoice_id": "inv_7"}"#,
    );
    let mut record = serde_json::json!({
        "order_id": "ord_x1", "customer_id": "cus_1", "total_cents": 1999, "currency": "EUR",
        "items": [{"sku": "A-1", "qty": 1}], "customer": {"email": "a@example.com"},
    });
    for (i, (name, value)) in secrets().into_iter().enumerate() {
        record[name] = serde_json::json!(value);
        record["customer"][name] = serde_json::json!(value);
        record["items"][0][format!("{name}_{i}")] = serde_json::json!(value);
        record["payment"]["details"][name] = serde_json::json!({"inner": [value]});
    }
    let source = write(dir.path(), "r.json", &record.to_string());
    for ev in [&event, &unknown] {
        for json in [true, false] {
            let mut args = vec!["rewrite-event", ev.as_str(), "--source", source.as_str()];
            if json {
                args.push("--json");
            }
            let out = Msgwork::new(&args).output();
            out.success();
            for (name, value) in secrets() {
                // A short secret (a CVV) is looked for as a whole token, not inside ids or sizes.
                let leaked = |text: &str| {
                    if value.len() >= 8 {
                        text.contains(value)
                    } else {
                        text.split(|c: char| !c.is_ascii_alphanumeric())
                            .any(|w| w == value)
                    }
                };
                assert!(
                    !leaked(&out.stdout) && !leaked(&out.stderr),
                    "the {name} value leaked (json: {json}):\n{}",
                    out.stdout
                );
            }
        }
    }
}

#[test]
fn check_passes_a_good_payload_and_fails_bad_ones_for_the_right_reason() {
    let event = fixture("events/order-placed.json");
    let check = |payload: &str| {
        Msgwork::new(&[
            "rewrite-event",
            &event,
            "--check",
            &fixture(payload),
            "--json",
        ])
        .output()
    };
    for good in ["payloads/good-ecst.json", "payloads/good-notification.json"] {
        let out = check(good);
        assert_eq!(
            out.expect_code(0).json()["passed"],
            true,
            "{good}: {}",
            out.stdout
        );
    }
    for (bad, finding) in [
        ("payloads/leaks-password-hash.json", "secret"),
        ("payloads/leaks-card.json", "secret"),
        ("payloads/no-event-id.json", "envelope"),
        ("payloads/command-in-disguise.json", "command-in-disguise"),
    ] {
        let out = check(bad);
        let v = out.expect_code(1).json();
        assert_eq!(v["passed"], false);
        let failed: Vec<&str> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == "fail")
            .map(|f| f["id"].as_str().unwrap())
            .collect();
        assert!(
            failed.contains(&finding),
            "{bad}: wanted a {finding} failure, got {failed:?}"
        );
    }
    let out = check("payloads/needless-pii.json");
    let v = out.json();
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == "needless-pii" && f["severity"] == "warn"),
        "{v}"
    );
}

#[test]
fn a_check_is_recorded_and_the_human_report_says_why() {
    let (out, home) = Msgwork::new(&[
        "rewrite-event",
        &fixture("events/order-placed.json"),
        "--check",
        &fixture("payloads/leaks-password-hash.json"),
    ])
    .run();
    assert!(
        out.expect_code(1).stdout.contains("password"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Failed."));
    let store = msgwork::store::Store::open(home.path()).unwrap();
    let runs = store.runs("rewrite-check").unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].results["passed"], false);
}

#[test]
fn an_unknown_event_type_gets_reasoned_consumers_and_says_so() {
    let v = Msgwork::new(&[
        "rewrite-event",
        &fixture("events/unknown-type.json"),
        "--json",
    ])
    .output()
    .success()
    .json();
    assert_eq!(v["consumers_reasoned"], true);
    assert_eq!(v["consumers"].as_array().unwrap().len(), 3);
    assert!(
        v["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("reasoned"))
    );
}

#[test]
fn practice_needs_a_terminal_and_says_how_to_practise_without_one() {
    Msgwork::new(&[
        "rewrite-event",
        &fixture("events/order-placed.json"),
        "--practice",
    ])
    .output()
    .usage_error("grade it with --check MINE.json");
}

#[test]
fn the_event_can_come_from_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "e.json",
        r#"{"event_type": "OrderPlaced", "order_id": "ord_9f2a"}"#,
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_msgwork"))
        .args([
            "--data-dir",
            &path_str(dir.path()),
            "rewrite-event",
            "-",
            "--json",
        ])
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_bad_input_is_one_clear_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: Vec<(String, &str)> = vec![
        (
            write(
                d,
                "malformed.json",
                "{\n  \"event_type\": \"OrderPlaced\",\n  \"password\": \"hunter2\" \"x\"\n}",
            ),
            "malformed.json:3:",
        ),
        (write(d, "empty.json", ""), "is empty"),
        (write(d, "blank.json", "  \n "), "is empty"),
        (
            write(d, "array.json", "[1, 2, 3]"),
            "expected a JSON object",
        ),
        (
            write(d, "string.json", "\"OrderPlaced\""),
            "expected a JSON object",
        ),
        (
            write(
                d,
                "wrong-type.json",
                r#"{"event_type": ["OrderPlaced"], "order_id": "o1"}"#,
            ),
            "event_type must be a string (found an array)",
        ),
        (
            write(
                d,
                "wrong-id.json",
                r#"{"event_type": "OrderPlaced", "order_id": {"x": 1}}"#,
            ),
            "order_id must be a string",
        ),
        (
            write(d, "no-type.json", r#"{"order_id": "o1"}"#),
            "no event_type",
        ),
        (
            write(
                d,
                "dupe.json",
                "{\"event_type\": \"A\",\n \"event_type\": \"B\", \"order_id\": \"o1\"}",
            ),
            "dupe.json:2:2: the key \"event_type\" appears twice",
        ),
        (
            write(
                d,
                "deep.json",
                &format!("{{\"a\": {}}}", "[".repeat(100_000)),
            ),
            "nested deeper than",
        ),
        (path_str(&d.join("missing.json")), "cannot read it"),
        (path_str(d), "is a directory"),
    ];
    for (path, wanted) in &cases {
        let out = Msgwork::new(&["rewrite-event", path]).output();
        out.usage_error(wanted);
        assert!(
            !out.stderr.contains("hunter2"),
            "a value was echoed: {}",
            out.stderr
        );
    }
    let binary = d.join("binary.json");
    std::fs::write(&binary, [0x7b, 0x22, 0x00, 0x01, 0xfe, 0xff]).unwrap();
    Msgwork::new(&["rewrite-event", &path_str(&binary)])
        .output()
        .usage_error("is not text");
    let huge = d.join("huge.json");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(300 * 1024 * 1024)
        .unwrap();
    Msgwork::new(&["rewrite-event", &path_str(&huge)])
        .output()
        .usage_error("over the");
    // Bad input to --source and --check is caught the same way.
    let good = fixture("events/order-placed.json");
    Msgwork::new(&["rewrite-event", &good, "--source", &cases[0].0])
        .output()
        .usage_error("malformed.json:3:");
    Msgwork::new(&["rewrite-event", &good, "--check", &cases[3].0])
        .output()
        .usage_error("expected a JSON object");
}

#[test]
fn personal_data_a_consumer_fetches_is_said_to_be_fetched_not_unneeded() {
    let v = Msgwork::new(&[
        "rewrite-event",
        &fixture("events/order-placed.json"),
        "--json",
    ])
    .output()
    .success()
    .json();
    let reason = |path: &str| {
        v["excluded_fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["path"] == path)
            .unwrap_or_else(|| panic!("{path} is not excluded"))["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // fraud-review weighs the contact email but prefers a notification.
    let email = reason("customer_email");
    assert!(
        email.contains(
            "fraud-review needs it, and reads it over an authorised call to the order service"
        ),
        "{email}"
    );
    assert!(!email.contains("no consumer"), "{email}");
    // Nobody asks for the cardholder's name.
    assert!(reason("payment.cardholder_name").contains("no consumer of this event needs it"));
}

#[test]
fn flagged_fields_agree_in_number_with_the_consumers_that_need_them() {
    let out = Msgwork::new(&["rewrite-event", &fixture("events/user-email-changed.json")]).output();
    out.success();
    assert!(
        out.stdout
            .contains("because marketing and support-crm need it."),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("because support-crm needs it."),
        "{}",
        out.stdout
    );
}

#[test]
fn without_a_record_ecst_is_not_shown_and_the_learner_is_told_how_to_give_one() {
    let event = fixture("events/unknown-type.json");
    let out = Msgwork::new(&["rewrite-event", &event, "--json"]).output();
    let v = out.success().json();
    assert_eq!(v["record_source"], "none");
    assert_eq!(v["ecst"], serde_json::Value::Null);
    assert_eq!(v["ecst_absent"], "needs_the_record");
    let out = Msgwork::new(&["rewrite-event", &event]).output();
    let text = &out.success().stdout;
    assert!(!text.contains("Event-carried state transfer ("), "{text}");
    assert!(
        text.contains("ECST needs the entity's record")
            && text.contains("--source RECORD.json")
            && text.contains("--example order-placed"),
        "{text}"
    );
    assert!(
        !text.contains("fewer than two consumers"),
        "two consumers do want ECST here: {text}"
    );

    // With a record, the same event does get its ECST form.
    let dir = tempfile::tempdir().unwrap();
    let record = write(
        dir.path(),
        "invoice.json",
        r#"{"invoice_id": "inv_2207", "amount_cents": 1200, "currency": "EUR", "due_on": "2026-03-01"}"#,
    );
    let out = Msgwork::new(&["rewrite-event", &event, "--source", &record, "--json"]).output();
    let v = out.success().json();
    assert!(v["ecst"].is_object(), "{v}");
    assert_eq!(v["ecst_absent"], serde_json::Value::Null);
}

#[test]
fn a_consumer_that_prefers_the_notification_calls_back_under_it() {
    for event in [
        "events/unknown-type.json",
        "events/order-placed.json",
        "events/user-registered.json",
    ] {
        let out = Msgwork::new(&["rewrite-event", &fixture(event), "--json"]).output();
        let v = out.success().json();
        for c in v["consumers"].as_array().unwrap() {
            if c["prefers"] != "notification" {
                continue;
            }
            let calls = v["metrics"]["callbacks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|b| b["consumer"] == c["name"])
                .unwrap();
            assert_eq!(calls["notification"], 1, "{event}: {calls}");
            assert_eq!(calls["ecst"], 1, "{event}: {calls}");
        }
    }
}

#[test]
fn a_phone_number_inside_a_delivery_note_is_kept_off_the_event() {
    let dir = tempfile::tempdir().unwrap();
    let record = write(
        dir.path(),
        "order.json",
        r#"{"order_id": "ord_9f2a", "customer_id": "usr_7c31", "total_cents": 5284,
            "currency": "USD", "items": [{"sku": "MUG-CER-350", "qty": 2, "price_cents": 1450}],
            "delivery_note": "Leave it with the neighbour, or call me on (415) 555-0132 first",
            "gift_message": "Happy birthday! Order 2024-000123 of 14.03.2026, ISBN 978-0-13-468599-1"}"#,
    );
    let out = Msgwork::new(&[
        "rewrite-event",
        &fixture("events/order-placed.json"),
        "--source",
        &record,
        "--json",
    ])
    .output();
    let v = out.success().json();
    let kept_off: Vec<&str> = v["excluded_fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(kept_off.contains(&"delivery_note"), "{kept_off:?}");
    assert!(!kept_off.contains(&"gift_message"), "{kept_off:?}");
    let reason = v["excluded_fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "delivery_note")
        .unwrap()["reason"]
        .as_str()
        .unwrap();
    assert!(reason.contains("phone number"), "{reason}");
    assert!(
        !v.to_string().contains("555-0132"),
        "the number itself is never shown"
    );
}

/// `rewrite-event --practice` in a pty, with an "editor" that writes `payload` into the file.
fn practise_with(home: &std::path::Path, payload: &str) -> rexpect::session::PtySession {
    let file = write(home, "mine.json", payload);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_msgwork"));
    cmd.args(["--data-dir", &path_str(home), "rewrite-event"])
        .args(["--example", "order-placed", "--practice"])
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .env("VISUAL", format!("cp {file}"))
        .env("EDITOR", format!("cp {file}"));
    rexpect::session::spawn_command(cmd, Some(30_000)).expect("msgwork starts in a pty")
}

/// Answers the first two steps: ECST, ECST, notification, then marks nothing.
fn through_steps_one_and_two(p: &mut rexpect::session::PtySession) {
    for (question, keys) in [
        ("billing: which form?", "\x1b[B\r"),
        ("inventory: which form?", "\x1b[B\r"),
        ("fraud-review: which form?", "\r"),
        ("space to mark", "\r"),
        ("Write it now?", "\r"),
    ] {
        p.exp_string(question).unwrap();
        p.send(keys).unwrap();
        p.flush().unwrap();
    }
}

#[test]
fn practice_shows_the_record_first_and_grades_the_learners_payload_field_by_field() {
    let home = tempfile::tempdir().unwrap();
    let mut p = practise_with(
        home.path(),
        r#"{"type": "OrderPlaced", "event_id": "e-1", "occurred_at": "2026-03-14T09:26:53Z",
            "data": {"order_id": "ord_9f2a", "customer_email": "ada@example.com",
                     "card_number": "4111111111111111"}}"#,
    );
    // The record comes before the first question, its secrets masked.
    let before = p.exp_string("billing: which form?").unwrap();
    assert!(
        before.contains("The record this event is about"),
        "{before}"
    );
    assert!(before.contains("customer_email"), "{before}");
    assert!(!before.contains("4111111111111111"), "{before}");
    p.send("\x1b[B\r").unwrap();
    p.flush().unwrap();
    for (question, keys) in [
        ("inventory: which form?", "\x1b[B\r"),
        ("fraud-review: which form?", "\r"),
        ("space to mark", "\r"),
        ("Write it now?", "\r"),
    ] {
        p.exp_string(question).unwrap();
        p.send(keys).unwrap();
        p.flush().unwrap();
    }
    let graded = p.exp_string("Failed.").unwrap();
    assert!(graded.contains("fail  data.card_number:"), "{graded}");
    assert!(graded.contains("data.customer_email:"), "{graded}");
    for line in graded
        .lines()
        .filter(|l| l.contains("warn  ") || l.contains("fail  "))
    {
        assert!(line.contains(':'), "a finding without its field: {line}");
    }
    p.exp_eof().unwrap();
    let store = msgwork::store::Store::open(home.path()).unwrap();
    let runs = store.runs("rewrite-practice").unwrap();
    assert_eq!(runs[0].results["payload"]["passed"], false);
}

#[test]
fn practice_passes_a_payload_without_secrets_or_needless_personal_data() {
    let home = tempfile::tempdir().unwrap();
    let model = Msgwork::new(&["rewrite-event", "--example", "order-placed", "--json"])
        .output()
        .success()
        .json();
    let mut p = practise_with(home.path(), &model["ecst"].to_string());
    through_steps_one_and_two(&mut p);
    p.exp_string("Passed.").unwrap();
    p.exp_eof().unwrap();
    let store = msgwork::store::Store::open(home.path()).unwrap();
    let runs = store.runs("rewrite-practice").unwrap();
    assert_eq!(runs[0].results["payload"]["passed"], true);
}
