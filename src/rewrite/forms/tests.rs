//! Arbitrary events and records through the rewrite and the checker: never a panic, and no
//! secret put anywhere in the input, as a value or as a key, appears anywhere in what comes out.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::{Source, rewrite};
use crate::rewrite::check::check;

const SECRETS: &[&str] = &[
    "AKIAIOSFODNN7EXAMPLE",
    "sk_live_51HxYzAbCdEfGhIjKlMnOp",
    "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "4111111111111111",
    "NDExMTExMTExMTExMTExMQ==",
    "４１１１１１１１１１１１１１１１",
    "4111\u{200b}1111\u{200b}1111\u{200b}1111",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJlc2lnbmF0dXJl",
    "postgres://app:s3cr3t-pw@db.internal:5432/orders",
];

const ORDINARY: &[&str] = &[
    "OrderPlaced",
    "InvoiceOverdue",
    "ord_9f2a",
    "order_id",
    "invoice_id",
    "2026-03-14T09:26:53Z",
    "occurred_at",
    "correlation_id",
    "source",
    "type",
    "items",
    "customer",
    "",
];

/// A string that is a secret, an ordinary word, or anything at all.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(SECRETS).prop_map(str::to_string),
        prop::sample::select(ORDINARY).prop_map(str::to_string),
        any::<String>(),
        (prop::sample::select(SECRETS), any::<String>())
            .prop_map(|(secret, words)| format!("{words} {secret} {words}")),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

fn object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::vec((text(), json_value()), 0..8)
        .prop_map(|entries| entries.into_iter().collect())
}

/// The secrets of [`SECRETS`] that `out` shows.
fn shown(out: &str) -> Vec<&'static str> {
    SECRETS
        .iter()
        .copied()
        .filter(|s| out.contains(s))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_secret_in_an_event_or_record_comes_out_of_the_rewrite(
        event in object(),
        envelope in prop::collection::vec(
            (prop::sample::select(&["event_type", "order_id", "occurred_at", "correlation_id",
                "source", "invoice_id"][..]), text()),
            0..6,
        ),
        record in prop::option::of(object()),
        force in any::<bool>(),
    ) {
        let mut event = event;
        for (key, value) in envelope {
            event.insert(key.to_string(), Value::String(value));
        }
        let source = record.map(|record| Source { file: "r.json".to_string(), record, force });
        let out = match rewrite("e.json", &event, source) {
            Ok(rewritten) => serde_json::to_string(&rewritten).unwrap_or_default(),
            Err(err) => err.to_string(),
        };
        prop_assert!(shown(&out).is_empty(), "{:?} in {}", shown(&out), out);
    }

    #[test]
    fn no_secret_in_a_payload_comes_out_of_its_check(payload in object(), kind in text()) {
        let mut payload = payload;
        payload.insert("type".to_string(), Value::String(kind));
        let out = serde_json::to_string(&check(&payload, None)).unwrap_or_default();
        prop_assert!(shown(&out).is_empty(), "{:?} in {}", shown(&out), out);
    }
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

#[test]
fn a_wrapped_record_is_unwrapped_and_a_numeric_id_stays_a_number() {
    let event = obj(json!({"event_type": "ParcelShipped", "parcel_id": 31}));
    let source = Source {
        file: "r.json".into(),
        record: obj(json!({"parcel": {"id": 31, "carrier": "DHL", "weight_g": 900}})),
        force: false,
    };
    let r = rewrite("e.json", &event, Some(source)).unwrap();
    assert_eq!(r.notification["data"]["parcel_id"], 31);
    let ecst = r.ecst.expect("an ECST form");
    assert_eq!(ecst["data"]["carrier"], "DHL");
    assert!(
        r.notes.iter().any(|n| n.contains("wrapped")),
        "{:?}",
        r.notes
    );
}

#[test]
fn an_ecst_that_would_only_repeat_the_notification_is_not_offered() {
    let event = obj(json!({"event_type": "ParcelShipped", "parcel_id": "p1"}));
    let source = Source {
        file: "r.json".into(),
        record: obj(json!({"parcel_id": "p1", "recipient": {"email": "a@example.org"}})),
        force: false,
    };
    let r = rewrite("e.json", &event, Some(source)).unwrap();
    assert!(r.ecst.is_none(), "{:?}", r.ecst);
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("would be the notification again")),
        "{:?}",
        r.notes
    );
}
