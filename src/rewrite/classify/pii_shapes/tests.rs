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

// --- Personal data inside free text, and what only looks like it ------------------------------

#[test]
fn phone_numbers_emails_and_cards_inside_free_text_are_flagged() {
    for (text, class, reason) in [
        (
            "Leave it with the neighbour, or call me on (415) 555-0132 first",
            Class::Pii,
            "text containing a phone number",
        ),
        (
            "gate code 4471, ring 415-555-0132 when outside",
            Class::Pii,
            "text containing a phone number",
        ),
        (
            "back door; 415.555.0132",
            Class::Pii,
            "text containing a phone number",
        ),
        (
            "call 1-415-555-0132 after 5pm",
            Class::Pii,
            "text containing a phone number",
        ),
        (
            "office 020 7946 0958, ask for Ada",
            Class::Pii,
            "text containing a phone number",
        ),
        (
            "my mobile is 07700 900123.",
            Class::Pii,
            "text containing a phone number",
        ),
        (
            "text 4155550132 on arrival",
            Class::Pii,
            "text containing a phone number",
        ),
        (
            "Phone: 07700900123",
            Class::Pii,
            "text containing a phone number",
        ),
        (
            "or +44 20 7946 0958",
            Class::Pii,
            "text containing an international phone number",
        ),
        (
            "send the receipt to ada@example.com please",
            Class::Pii,
            "text containing an email address",
        ),
        (
            "use my card 4111 1111 1111 1111 for the deposit",
            Class::Secret,
            "text containing a Luhn-valid 16-digit number: a card number",
        ),
    ] {
        assert_eq!(
            one("delivery_note", json!(text)),
            (class, reason.to_string()),
            "{text}"
        );
    }
    assert_eq!(
        one("contact", json!("415-555-0132")),
        (Class::Pii, "a phone number".to_string())
    );
}

#[test]
fn numbers_that_only_look_like_phones_in_free_text_stay_ordinary() {
    for text in [
        "order ORD-2024-000123 shipped",
        "order #415-555-0132 was split in two",
        "ref ORD-415-555-0132",
        "order 2024-000123 of 2026-03-14",
        "delivered 14.03.2026 at 12:30:00",
        "total $1,234.56, tax 98.76",
        "price 1 234 567.89 EUR",
        "ISBN 978-0-13-468599-1, second edition",
        "ISBN-10 0-306-40615-2",
        "ISBN 9780134685991",
        "tracking 1Z999AA10123456784",
        "invoice 4155550132 is overdue",
        "qty 3 of SKU 555-0132",
        "window 09:00-12:00, bay 12",
        "version 10.4.3 of the app",
        "lat 51.5074 long -0.1278",
        "between 100 200 300 items",
    ] {
        assert_eq!(
            class_of("delivery_note", json!(text)),
            Class::Ordinary,
            "{text}"
        );
    }
}
