//! The walk: leaves judged whatever their name, nesting and paths, and keys that are themselves
//! sensitive.

use serde_json::{Value, json};

use super::*;
use crate::rewrite::classify::testkit::{at, class_at, class_of, one};

// --- Leaves ----------------------------------------------------------------------------------

#[test]
fn booleans_are_ordinary_whatever_their_name() {
    for key in [
        "password",
        "email_verified",
        "mfa_enabled",
        "auth",
        "is_mobile",
        "zip",
    ] {
        assert_eq!(
            one(key, json!(true)),
            (Class::Ordinary, "a boolean flag".to_string()),
            "{key}"
        );
    }
}

#[test]
fn null_under_a_sensitive_name_keeps_the_class() {
    assert_eq!(class_of("password", Value::Null), Class::Secret);
    assert_eq!(class_of("phone", Value::Null), Class::Pii);
    assert_eq!(class_of("captured_at", Value::Null), Class::Ordinary);
}

// --- Nesting, arrays and paths ---------------------------------------------------------------

#[test]
fn paths_use_dots_for_objects_and_brackets_for_arrays() {
    let record = json!({
        "customer": {"address": {"street": "1 Main St"}, "id": "cus_1"},
        "items": [{"card": "4111111111111111", "sku": "A"}, {"sku": "B"}],
        "matrix": [[1, 2], [3]]
    });
    let findings = classify(&record);
    let paths: Vec<&str> = findings.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "customer.address",
            "customer.address.street",
            "customer.id",
            "items[0].card",
            "items[0].sku",
            "items[1].sku",
            "matrix[0][0]",
            "matrix[0][1]",
            "matrix[1][0]"
        ]
    );
    assert_eq!(
        at(&findings, "customer.address.street").map(|f| f.class),
        Some(Class::Pii)
    );
    assert_eq!(
        at(&findings, "items[0].card").map(|f| f.class),
        Some(Class::Secret)
    );
}

#[test]
fn a_root_array_and_a_root_scalar_have_bracket_and_empty_paths() {
    let findings = classify(&json!([{"email": "ada@example.com"}]));
    assert_eq!(
        at(&findings, "[0].email").map(|f| f.class),
        Some(Class::Pii)
    );
    let findings = classify(&json!("4111111111111111"));
    assert_eq!(findings.len(), 1);
    assert_eq!(at(&findings, "").map(|f| f.class), Some(Class::Secret));
    assert_eq!(class_at(&json!("ord_9f2a"), ""), Some(Class::Ordinary));
    assert_eq!(class_at(&json!(null), ""), Some(Class::Ordinary));
}

#[test]
fn awkward_keys_are_quoted_in_paths() {
    let findings = classify(&json!({"a.b": 1, "": 2, "x": {"[0]": 3, "say \"hi\".": 4}}));
    let mut paths: Vec<&str> = findings.iter().map(|f| f.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "[\"\"]",
            "[\"a.b\"]",
            "x[\"[0]\"]",
            "x[\"say \\\"hi\\\".\"]"
        ]
    );
}

#[test]
fn a_secret_named_object_is_one_finding() {
    let record = json!({
        "credentials": {"user": "svc", "password": "pw-1", "nested": {"key": "k"}},
        "tokens": ["t1", "t2"],
        "session": {"id": "s1", "expires_at": "2026-01-01T00:00:00Z"},
        "order_id": "ord_1"
    });
    let findings = classify(&record);
    let mut paths: Vec<(&str, Class)> = findings
        .iter()
        .map(|f| (f.path.as_str(), f.class))
        .collect();
    paths.sort_by(|a, b| a.0.cmp(b.0));
    assert_eq!(
        paths,
        [
            ("credentials", Class::Secret),
            ("order_id", Class::Ordinary),
            ("session", Class::Secret),
            ("tokens", Class::Secret)
        ]
    );
}

#[test]
fn a_pii_named_object_is_reported_whole_and_leaf_by_leaf() {
    let record = json!({"shipping_address": {"name": "Alice", "line1": "1420 Alder Lane", "line2": null, "country": "US", "geo": {"lat": 45.5}}});
    let findings = classify(&record);
    let mut got: Vec<(&str, Class, &str)> = findings
        .iter()
        .map(|f| (f.path.as_str(), f.class, f.reason.as_str()))
        .collect();
    got.sort_by(|a, b| a.0.cmp(b.0));
    assert_eq!(
        got,
        [
            (
                "shipping_address",
                Class::Pii,
                "named like a postal address"
            ),
            (
                "shipping_address.country",
                Class::Pii,
                "inside a field named like a postal address"
            ),
            (
                "shipping_address.geo.lat",
                Class::Pii,
                "inside a field named like a postal address"
            ),
            (
                "shipping_address.line1",
                Class::Pii,
                "inside a field named like a postal address"
            ),
            (
                "shipping_address.line2",
                Class::Pii,
                "inside a field named like a postal address"
            ),
            (
                "shipping_address.name",
                Class::Pii,
                "named like a person's name"
            ),
        ]
    );
}

#[test]
fn a_secret_inside_a_pii_object_stays_secret() {
    let record = json!({"address": {"street": "1 Main St", "door_pin": "4321", "note": "4111 1111 1111 1111"}});
    let findings = classify(&record);
    assert_eq!(at(&findings, "address").map(|f| f.class), Some(Class::Pii));
    assert_eq!(
        at(&findings, "address.door_pin").map(|f| f.class),
        Some(Class::Secret)
    );
    assert_eq!(
        at(&findings, "address.note").map(|f| f.class),
        Some(Class::Secret)
    );
    assert_eq!(
        at(&findings, "address.street").map(|f| f.class),
        Some(Class::Pii)
    );
}

#[test]
fn pii_named_arrays_pass_their_kind_to_elements() {
    let record = json!({"emails": ["a@example.com", "not-an-email"], "phones": []});
    let findings = classify(&record);
    assert_eq!(at(&findings, "emails").map(|f| f.class), Some(Class::Pii));
    assert_eq!(
        at(&findings, "emails[1]").map(|f| f.reason.as_str()),
        Some("inside a field named like an email address")
    );
    assert_eq!(at(&findings, "phones").map(|f| f.class), Some(Class::Pii));
    assert_eq!(findings.len(), 4);
}

#[test]
fn empty_containers_are_reported() {
    let findings = classify(&json!({"tags": [], "meta": {}, "address": {"extra": {}}}));
    let mut got: Vec<(&str, Class)> = findings
        .iter()
        .map(|f| (f.path.as_str(), f.class))
        .collect();
    got.sort_by(|a, b| a.0.cmp(b.0));
    assert_eq!(
        got,
        [
            ("address", Class::Pii),
            ("address.extra", Class::Pii),
            ("meta", Class::Ordinary),
            ("tags", Class::Ordinary)
        ]
    );
    assert_eq!(classify(&json!({})), Vec::new());
}

#[test]
fn deep_nesting_is_walked_without_recursion() {
    let depth = 127;
    let text = format!(
        "{}{}{}",
        "{\"a\":".repeat(depth),
        "\"ada@example.com\"",
        "}".repeat(depth)
    );
    let parsed: Result<Value, _> = serde_json::from_str(&text);
    assert!(parsed.is_ok());
    let value = parsed.unwrap_or(Value::Null);
    let findings = classify(&value);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings.first().map(|f| f.class), Some(Class::Pii));
    assert_eq!(findings.first().map(|f| f.path.len()), Some(depth * 2 - 1));

    let mut built = json!({"password": "pw"});
    for _ in 0..400 {
        built = json!([built]);
    }
    let findings = classify(&built);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings.first().map(|f| f.class), Some(Class::Secret));
}

// --- Keys that are themselves sensitive ------------------------------------------------------

#[test]
fn a_key_that_is_personal_data_is_never_written_into_a_path() {
    let record = json!({"by_customer": {"ada@example.com": {"orders": 3}, "grace@example.com": {"orders": 1}}, "total": 4});
    let findings = classify(&record);
    let mut got: Vec<(&str, Class, &str)> = findings
        .iter()
        .map(|f| (f.path.as_str(), f.class, f.reason.as_str()))
        .collect();
    got.sort_by(|a, b| a.0.cmp(b.0));
    assert_eq!(
        got,
        [
            (
                "by_customer",
                Class::Pii,
                "an object keyed by an email address"
            ),
            (
                "total",
                Class::Ordinary,
                "nothing sensitive in its name or value"
            )
        ]
    );
}

#[test]
fn a_pii_named_object_with_sensitive_keys_keeps_one_finding() {
    let record = json!({"by_email": {"ada@example.com": {"orders": 3}}, "by_ip": {"203.0.113.41": {"password": "pw"}}});
    let findings = classify(&record);
    let mut got: Vec<(&str, Class, &str)> = findings
        .iter()
        .map(|f| (f.path.as_str(), f.class, f.reason.as_str()))
        .collect();
    got.sort_by(|a, b| a.0.cmp(b.0));
    assert_eq!(
        got,
        [
            ("by_email", Class::Pii, "named like an email address"),
            (
                "by_ip",
                Class::Secret,
                "named like an IP address, holding a secret"
            )
        ]
    );
}

#[test]
fn a_secret_under_a_sensitive_key_escalates_the_holder() {
    let record = json!({"hosts": {"203.0.113.41": {"password": "pw"}, "n": 2}});
    let findings = classify(&record);
    assert_eq!(findings.len(), 2);
    assert_eq!(at(&findings, "hosts").map(|f| f.class), Some(Class::Secret));
    assert_eq!(
        at(&findings, "hosts").map(|f| f.reason.as_str()),
        Some("an object keyed by an IP address, holding a secret")
    );
    assert_eq!(
        at(&findings, "hosts.n").map(|f| f.class),
        Some(Class::Ordinary)
    );
    let findings = classify(&json!({"4111111111111111": "visa"}));
    assert_eq!(findings.len(), 1);
    assert_eq!(at(&findings, "").map(|f| f.class), Some(Class::Secret));
}
