//! No value that looks like a secret leaves `rewrite-event`: not on stdout, stderr or `--json`,
//! not in the learner's store, not in the report; and ordinary events pass untouched.

use serde_json::{Value, json};

use crate::harness::{Msgwork, Output, path_str};

const AWS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const STRIPE: &str = "sk_live_51HxYzAbCdEfGhIjKlMnOp";
const SSN: &str = "078-05-1120";

fn fixture(name: &str) -> String {
    format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Self(tempfile::tempdir().expect("temp dir"))
    }

    fn json(&self, name: &str, value: &Value) -> String {
        self.text(name, &value.to_string())
    }

    fn text(&self, name: &str, text: &str) -> String {
        let path = self.0.path().join(name);
        std::fs::write(&path, text).expect("write");
        path_str(&path)
    }
}

fn rewrite(args: &[&str]) -> Output {
    let mut all = vec!["rewrite-event"];
    all.extend_from_slice(args);
    Msgwork::new(&all).output()
}

/// Asserts none of `secrets` appears in the output, in any stream.
#[track_caller]
fn leaks_none(out: &Output, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "{secret:?} leaked:\n--- stdout\n{}\n--- stderr\n{}",
            out.stdout,
            out.stderr
        );
    }
}

#[test]
fn a_secret_in_the_thin_events_own_fields_is_refused_or_replaced_and_never_echoed() {
    let dir = Dir::new();
    let base = json!({"event_type": "OrderPlaced", "order_id": "ord_9f2a",
        "occurred_at": "2026-03-14T09:26:53Z"});
    let with = |key: &str, value: Value| {
        let mut event = base.clone();
        event[key] = value;
        event
    };
    // Refused: the event cannot be rewritten without these, and they would be printed.
    let refused = [
        (
            with("event_type", json!(AWS_KEY_ID)),
            "event_type looks like an AWS access key id",
        ),
        (
            with("event_type", json!(format!("Order {STRIPE}"))),
            "event_type looks like text containing a Stripe secret key",
        ),
        (
            with("event_type", json!("Order\u{1b}[2JPlaced")),
            "event_type must be a name on one line",
        ),
        (
            with("order_id", json!("4111111111111111")),
            "order_id looks like a Luhn-valid 16-digit number",
        ),
        (
            with("order_id", json!("ada@example.com")),
            "order_id looks like an email address",
        ),
        (with("order_id", json!(STRIPE)), "not an entity id"),
        (
            with("occurred_at", json!(SSN)),
            "occurred_at is not an RFC 3339 timestamp",
        ),
        (
            with("occurred_at", json!(AWS_KEY_ID)),
            "occurred_at is not an RFC 3339 timestamp",
        ),
        (
            with("occurred_at", json!("2026-02-30T09:26:53Z")),
            "occurred_at is not an RFC 3339 timestamp",
        ),
        (
            with("occurred_at", json!(1_773_480_413_000_u64)),
            "(found a number)",
        ),
    ];
    for (i, (event, wanted)) in refused.iter().enumerate() {
        let file = dir.json(&format!("refused-{i}.json"), event);
        for json in [false, true] {
            let mut args = vec![file.as_str()];
            if json {
                args.push("--json");
            }
            let out = rewrite(&args);
            out.usage_error(wanted);
            leaks_none(
                &out,
                &[
                    AWS_KEY_ID,
                    STRIPE,
                    SSN,
                    "4111111111111111",
                    "ada@example.com",
                ],
            );
        }
    }
    // Replaced and reported: the rewrite can do without them.
    for (key, value) in [("correlation_id", AWS_KEY_ID), ("source", STRIPE)] {
        let file = dir.json(&format!("{key}.json"), &with(key, json!(value)));
        let out = rewrite(&[&file, "--json"]);
        leaks_none(&out, &[value]);
        let v = out.success().json();
        let dropped = v["dropped_from_event"].as_array().expect("a list");
        assert!(
            dropped
                .iter()
                .any(|d| d["path"] == key && d["class"] == "secret"),
            "{key}: {dropped:?}"
        );
        assert!(
            v["notification"][key].is_string(),
            "{key} is replaced, not removed"
        );
        let human = rewrite(&[&file]);
        leaks_none(&human, &[value]);
        assert!(
            human
                .success()
                .stdout
                .contains("Dropped from the thin event"),
            "{}",
            human.stdout
        );
    }
}

#[test]
fn a_key_that_looks_like_a_secret_is_never_echoed_in_an_error_or_the_rewrite() {
    let dir = Dir::new();
    let duplicate = dir.text(
        "dupe.json",
        &format!(
            r#"{{"event_type": "OrderPlaced", "order_id": "o1", "{STRIPE}": 1, "{STRIPE}": 2}}"#
        ),
    );
    let out = rewrite(&[&duplicate]);
    out.usage_error("the key \"[redacted: a Stripe secret key]\" appears twice");
    leaks_none(&out, &[STRIPE]);
    // A secret-looking key on the thin event and in the record, under an unknown event type whose
    // consumers would otherwise want every ordinary field.
    let event = dir.json(
        "e.json",
        &json!({"event_type": "InvoiceOverdue", "invoice_id": "inv_7",
            format!("{AWS_KEY_ID}_id"): "x", AWS_KEY_ID: {"note": "a"}}),
    );
    let record = dir.json(
        "r.json",
        &json!({"invoice_id": "inv_7", "amount_cents": 1200, STRIPE: "y",
            "lines": [{ "sku": "A", SSN: 1 }]}),
    );
    for args in [
        vec![event.as_str()],
        vec![event.as_str(), "--source", record.as_str()],
    ] {
        for json in [false, true] {
            let mut args = args.clone();
            if json {
                args.push("--json");
            }
            let out = rewrite(&args);
            out.success();
            leaks_none(&out, &[AWS_KEY_ID, STRIPE, SSN]);
        }
    }
}

#[test]
fn check_never_prints_stores_or_exports_a_flagged_secret() {
    let dir = Dir::new();
    let event = fixture("events/order-placed.json");
    let payloads = [
        json!({"event_id": "e1", "type": STRIPE, "occurred_at": "2026-03-14T09:26:53Z",
            "data": {"order_id": "ord_9f2a"}}),
        json!({"event_id": "e1", "type": format!("send {AWS_KEY_ID}"),
            "occurred_at": "2026-03-14T09:26:53Z", "data": {"order_id": "ord_9f2a"}}),
        json!({"event_id": "e1", "type": "OrderPlaced", "occurred_at": "2026-03-14T09:26:53Z",
            "data": {"order_id": "ord_9f2a", "card": {"ref": "NDExMTExMTExMTExMTExMQ=="},
                STRIPE: true}}),
    ];
    let secrets = [STRIPE, AWS_KEY_ID, "NDExMTExMTExMTExMTExMQ"];
    let data = tempfile::tempdir().expect("data dir");
    let data_dir = path_str(data.path());
    for (i, payload) in payloads.iter().enumerate() {
        let file = dir.json(&format!("mine-{i}.json"), payload);
        for json in [false, true] {
            let mut args = vec![
                "--data-dir",
                &data_dir,
                "rewrite-event",
                &event,
                "--check",
                &file,
            ];
            if json {
                args.push("--json");
            }
            let out = Msgwork::new(&args).output();
            out.expect_code(1);
            leaks_none(&out, &secrets);
            if json {
                let failed = out.json()["findings"]
                    .as_array()
                    .expect("findings")
                    .iter()
                    .any(|f| f["id"] == "secret" && f["severity"] == "fail");
                assert!(failed, "payload {i} fails for its secret:\n{}", out.stdout);
            }
        }
    }
    let store = std::fs::read(data.path().join("progress.db")).expect("the store exists");
    let store = String::from_utf8_lossy(&store);
    for secret in secrets {
        assert!(!store.contains(secret), "{secret} is in progress.db");
    }
    for format in ["md", "json"] {
        let out = Msgwork::new(&["--data-dir", &data_dir, "report", "--format", format]).output();
        out.success();
        leaks_none(&out, &secrets);
        assert!(
            out.stdout.contains("[redacted: a Stripe secret key]"),
            "{}",
            out.stdout
        );
    }
}

/// Secrets hidden from a plain reading, each under an innocent name the ECST would carry.
fn hidden() -> Vec<(&'static str, Value, &'static str)> {
    vec![
        (
            "pem",
            json!([
                "-----BEGIN RSA PRIVATE KEY-----",
                "MIIEowIBAAKCAQEAq7BFUpkGp3LQmlQ",
                "Yx2eqzDV8xeG8kx9sQFV18S5JwIDAQAB",
                "-----END RSA PRIVATE KEY-----"
            ]),
            "MIIEowIBAAKCAQEAq7BFUpkGp3LQmlQ",
        ),
        (
            "pem_header_split",
            json!(["-----BEGIN PRIV", "ATE KEY-----MIIEvQIBADANBgkqhkiG9w0B"]),
            "MIIEvQIBADANBgkqhkiG9w0B",
        ),
        (
            "deploy",
            json!({"id": AWS_KEY_ID, "value": AWS_SECRET}),
            AWS_SECRET,
        ),
        ("aws", json!({"blob": AWS_SECRET}), AWS_SECRET),
        (
            "tax",
            json!({"id_type": "SSN", "id_value": "078051120"}),
            "078051120",
        ),
        ("remark", json!("SSN 078051120 on file"), "078051120"),
        (
            "ref_b64",
            json!("NDExMTExMTExMTExMTExMQ=="),
            "NDExMTExMTExMTExMTExMQ",
        ),
        (
            "ref_wide",
            json!("４１１１１１１１１１１１１１１１"),
            "４１１１１１１１",
        ),
        (
            "ref_zw",
            json!("4111\u{200b}1111\u{200b}1111\u{200b}1111"),
            "4111\u{200b}1111",
        ),
        (
            "ref_nbsp",
            json!("4111\u{a0}1111\u{a0}1111\u{a0}1111"),
            "4111\u{a0}1111",
        ),
        ("ref_arabic", json!("٤١١١١١١١١١١١١١١١"), "٤١١١١١١١"),
        (
            "token_b64",
            json!("c2tfbGl2ZV81MUh4WXpBYkNkRWZHaElqS2xNbk9w"),
            "c2tfbGl2ZV81MUh4WXpBYkNk",
        ),
    ]
}

#[test]
fn secrets_hidden_by_splitting_encoding_or_look_alike_characters_never_reach_the_ecst() {
    let dir = Dir::new();
    let event = dir.json(
        "e.json",
        &json!({"event_type": "InvoiceOverdue", "invoice_id": "inv_7",
            "occurred_at": "2026-03-16T00:00:00Z"}),
    );
    let mut record = json!({"invoice_id": "inv_7", "amount_cents": 1200, "currency": "EUR"});
    for (name, value, _) in hidden() {
        record[name] = value;
    }
    let source = dir.json("r.json", &record);
    let out = rewrite(&[&event, "--source", &source, "--json"]);
    let v = out.success().json();
    let ecst = &v["ecst"]["data"];
    assert_eq!(ecst["amount_cents"], 1200, "ordinary fields travel: {ecst}");
    for (name, _, shown) in hidden() {
        assert!(ecst.get(name).is_none(), "{name} reached the ECST: {ecst}");
        assert!(
            !out.stdout.contains(shown),
            "{name} leaked:\n{}",
            out.stdout
        );
        let excluded = v["excluded_fields"].as_array().expect("a list");
        assert!(
            excluded.iter().any(|e| {
                e["path"].as_str().is_some_and(|p| {
                    p == name
                        || p.starts_with(&format!("{name}."))
                        || p.starts_with(&format!("{name}["))
                })
            }),
            "{name} is not listed as kept off: {excluded:?}"
        );
    }
    // Inside a field the catalogue's consumers need: the order's items.
    let order = fixture("events/order-placed.json");
    let mut item = json!({"sku": "MUG-CER-350", "qty": 1, "price_cents": 1450});
    for (name, value, _) in hidden() {
        item[name] = value;
    }
    let record = dir.json(
        "order.json",
        &json!({"order_id": "ord_9f2a", "customer_id": "usr_7c31", "total_cents": 1450,
            "currency": "EUR", "items": [item]}),
    );
    let out = rewrite(&[&order, "--source", &record, "--json"]);
    let v = out.success().json();
    assert_eq!(
        v["ecst"]["data"]["items"][0]["sku"], "MUG-CER-350",
        "{}",
        out.stdout
    );
    for (name, _, shown) in hidden() {
        assert!(
            !out.stdout.contains(shown),
            "items[0].{name} leaked:\n{}",
            out.stdout
        );
    }
    let human = rewrite(&[&event, "--source", &source]);
    for (name, _, shown) in hidden() {
        assert!(
            !human.success().stdout.contains(shown),
            "{name} leaked:\n{}",
            human.stdout
        );
    }
}

#[test]
fn ordinary_events_and_records_pass_untouched() {
    for name in [
        "order-placed",
        "payment-captured",
        "shipment-dispatched",
        "user-registered",
        "user-email-changed",
        "profile-updated",
        "booking-created",
        "unknown-type",
    ] {
        let file = fixture(&format!("events/{name}.json"));
        let event: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("fixture")).expect("JSON");
        let out = rewrite(&[&file, "--json"]);
        let v = out.success().json();
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["dropped_from_event"], json!([]), "{name}");
        assert!(!out.stdout.contains("[redacted"), "{name}:\n{}", out.stdout);
        assert_eq!(
            v["notification"]["occurred_at"], event["occurred_at"],
            "{name}"
        );
        assert_eq!(v["event_type"], event["event_type"], "{name}");
    }
    // Ids, amounts, timestamps, Unicode text and base64 that hide nothing all travel as they are.
    let dir = Dir::new();
    let event = dir.json(
        "e.json",
        &json!({"event_type": "InvoiceOverdue", "invoice_id": "inv_2207",
            "occurred_at": "2026-03-16T00:00:00.250+01:00", "correlation_id": "req_7f3c9a1e5b20",
            "source": "billing-service"}),
    );
    let ordinary = json!({
        "invoice_id": "inv_2207", "amount_cents": 123_456_789, "order_number": "123456789",
        "issued_at": "2026-03-01T08:00:00Z", "due_ms": 1_773_480_413_000_u64,
        "uuid": "550e8400-e29b-41d4-a716-446655440000", "event_ref": "evt_01JPATVNZ1KTFGH9JBW7YTHHH2",
        "title": "Crème brûlée — 2 pièces", "city_label": "東京都 渋谷区", "qty_label": "３個",
        "cursor": "MTIzNDU2Nzg5MDEyMzQ1Ng==", "tracking_number": "1Z999AA10123456784",
        "commit": "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3", "lines": ["MUG-CER-350", "-----"],
    });
    let source = dir.json("r.json", &ordinary);
    let out = rewrite(&[&event, "--source", &source, "--json"]);
    let v = out.success().json();
    assert_eq!(v["excluded_fields"], json!([]), "{}", out.stdout);
    assert_eq!(v["dropped_from_event"], json!([]));
    let data = v["ecst"]["data"].as_object().expect("an ECST");
    for (key, value) in ordinary.as_object().expect("an object") {
        assert_eq!(data.get(key), Some(value), "{key} travels untouched");
    }
    let n = &v["notification"];
    assert_eq!(n["occurred_at"], "2026-03-16T00:00:00.250+01:00");
    assert_eq!(n["correlation_id"], "req_7f3c9a1e5b20");
    assert_eq!(n["source"], "billing-service");
}

#[test]
fn a_source_record_for_another_entity_is_refused_unless_forced() {
    let dir = Dir::new();
    let event = fixture("events/order-placed.json");
    let other = dir.json(
        "other.json",
        &json!({"order_id": "ord_zzzz", "customer_id": "cus_1", "total_cents": 100}),
    );
    let by_id = dir.json("by-id.json", &json!({"id": "ord_zzzz", "total_cents": 100}));
    let numeric = dir.json("numeric.json", &json!({"order_id": 42, "total_cents": 100}));
    for record in [&other, &by_id, &numeric] {
        for json in [false, true] {
            let mut args = vec![event.as_str(), "--source", record.as_str()];
            if json {
                args.push("--json");
            }
            rewrite(&args)
                .usage_error("but the event is about order ord_9f2a")
                .usage_error("add --force-source to use this one");
        }
    }
    let out = rewrite(&[&event, "--source", &other, "--force-source", "--json"]);
    let v = out.success().json();
    assert_eq!(v["notification"]["data"]["order_id"], "ord_9f2a");
    assert_eq!(
        v["ecst"]["data"]["order_id"], "ord_9f2a",
        "the event's id wins"
    );
    assert_eq!(
        v["ecst"]["data"]["customer_id"], "cus_1",
        "the forced record is used"
    );
    let said = v["notes"].as_array().expect("notes").iter().any(|n| {
        n.as_str()
            .is_some_and(|n| n.contains("ord_zzzz") && n.contains("--force-source"))
    });
    assert!(said, "{}", v["notes"]);
    // The matching record, and one with no id at all (said in a note), are used as they are.
    let same = dir.json(
        "same.json",
        &json!({"order_id": "ord_9f2a", "total_cents": 100}),
    );
    rewrite(&[&event, "--source", &same]).success();
    let anonymous = dir.json("anonymous.json", &json!({"total_cents": 100}));
    let out = rewrite(&[&event, "--source", &anonymous]);
    assert!(
        out.success().stdout.contains("could not check"),
        "{}",
        out.stdout
    );
    // A record whose id is a secret is refused without showing it.
    let secret = dir.json("secret.json", &json!({"order_id": STRIPE}));
    let out = rewrite(&[&event, "--source", &secret]);
    out.usage_error("[redacted: a Stripe secret key]");
    leaks_none(&out, &[STRIPE]);
    // --force-source means nothing without --source, and --help says what it does.
    rewrite(&[&event, "--force-source"]).expect_code(2);
    let help = rewrite(&["--help"]);
    assert!(
        help.success().stdout.contains("--force-source"),
        "{}",
        help.stdout
    );
}

#[test]
fn a_secret_looking_id_on_the_thin_event_that_is_dropped_is_said() {
    let dir = Dir::new();
    let event = dir.json(
        "e.json",
        &json!({"event_type": "OrderPlaced", "order_id": "ord_9f2a",
            "occurred_at": "2026-03-14T09:26:53Z", "customer_id": "4111111111111111",
            "payment_id": STRIPE}),
    );
    let out = rewrite(&[&event, "--json"]);
    leaks_none(&out, &["4111111111111111", STRIPE]);
    let v = out.success().json();
    let dropped: Vec<&str> = v["dropped_from_event"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|d| d["path"].as_str())
        .collect();
    assert_eq!(dropped, ["customer_id", "payment_id"]);
    let human = rewrite(&[&event]);
    leaks_none(&human, &["4111111111111111", STRIPE]);
    let text = &human.success().stdout;
    assert!(text.contains("Dropped from the thin event"), "{text}");
    assert!(
        text.contains("customer_id: a Luhn-valid 16-digit number"),
        "{text}"
    );
}
