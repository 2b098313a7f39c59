//! Personal data found by its value, whole or inside free text, and its lookalikes.

use serde_json::json;

use crate::rewrite::classify::class::Class;
use crate::rewrite::classify::testkit::{class_of, one};

// --- Personal data by value ------------------------------------------------------------------

#[test]
fn pii_by_value() {
    for (value, reason) in [
        ("ada@example.com", "an email address"),
        (
            "mailto:ada.lovelace+orders@example.co.uk",
            "an email address",
        ),
        ("+44 20 7946 0958", "an international phone number"),
        ("+1-415-555-0100", "an international phone number"),
        ("+1 (415) 555-0100", "an international phone number"),
        ("+14155550100", "an international phone number"),
        ("tel:+33142685300", "an international phone number"),
        ("203.0.113.41", "an IP address"),
        ("2001:db8::1", "an IP address"),
        ("203.0.113.41:8443", "an IP address"),
        ("GB82 WEST 1234 5698 7654 32", "an IBAN"),
        ("DE89370400440532013000", "an IBAN"),
        ("078-05-1121", "a US social security number"),
    ] {
        assert_eq!(
            one("contact", json!(value)),
            (Class::Pii, reason.to_string()),
            "{value}"
        );
    }
}

#[test]
fn pii_inside_free_text_is_found() {
    assert_eq!(
        one("note", json!("please reply to <ada@example.com>, thanks")),
        (Class::Pii, "text containing an email address".to_string())
    );
    assert_eq!(
        one("log", json!("login from 198.51.100.7.")),
        (Class::Pii, "text containing an IP address".to_string())
    );
}

#[test]
fn lookalikes_of_personal_data_stay_ordinary() {
    for (key, value) in [
        ("order_id", json!("ORD-2024-000123")),
        ("amount", json!("+12.50")),
        ("amount", json!("+1234567.89")),
        ("delta", json!("+2024-01-15")),
        ("created_at", json!("2026-03-14T09:26:53Z")),
        ("check_in", json!("2026-04-03")),
        ("ref", json!("97202")),
        ("ref", json!("4155550100")),
        ("host", json!("127.0.0.1")),
        ("bind", json!("0.0.0.0")),
        ("bind", json!("::1")),
        ("version", json!("1.2.3")),
        ("version", json!("1.0.0.0")),
        ("tls_version", json!("1.0.0.0")),
        ("package", json!("@scope/pkg@1.2.3")),
        ("handle", json!("@ada")),
        ("code", json!("AB12CDEFGHIJKLMNOP")),
        ("sku", json!("GB82-WEST-1234")),
        ("time", json!("12:30:00")),
        ("serial", json!("000-12-3456")),
        ("mac_like", json!("00:1A:2B:3C:4D:5E")),
    ] {
        assert_eq!(
            class_of(key, value.clone()),
            Class::Ordinary,
            "{key}: {value}"
        );
    }
}
