//! Secrets found by their value: Luhn-valid card numbers and the shapes of hashes, tokens and keys.

use serde_json::json;

use super::*;
use crate::rewrite::classify::class::Class;
use crate::rewrite::classify::testkit::{BCRYPT, JWT, class_of, one};

// --- Luhn ------------------------------------------------------------------------------------

#[test]
fn luhn_accepts_valid_card_numbers_in_any_spacing() {
    for number in [
        "4111 1111 1111 1111",
        "4111111111111111",
        "4111-1111-1111-1111",
        " 4111 1111 1111 1111 ",
        "5555555555554444",
        "378282246310005",
        "4222222222222",
        "6011111111111117",
        "3530111333300000",
        "30569309025904",
        "4000000000000000006",
    ] {
        assert!(luhn_valid(number), "{number}");
    }
}

#[test]
fn luhn_rejects_bad_checksums_lengths_and_characters() {
    for number in [
        "4111 1111 1111 1112",
        "4111111111111112",
        "411111111119",
        "41111111111111111110",
        "",
        "   ",
        "4111 1111 1111 111a",
        "4111.1111.1111.1111",
        "٤١١١١١١١١١١١١١١١",
        "+4111111111111111",
    ] {
        assert!(!luhn_valid(number), "{number}");
    }
}

// --- Card numbers by value -------------------------------------------------------------------

#[test]
fn a_luhn_valid_number_is_a_card_number_whatever_the_field_is_called() {
    assert_eq!(
        one("ref", json!("4111111111111111")),
        (
            Class::Secret,
            "a Luhn-valid 16-digit number: a card number".to_string()
        )
    );
    assert_eq!(
        class_of("note", json!("4111 1111 1111 1111")),
        Class::Secret
    );
    assert_eq!(
        class_of("note", json!("5500-0055-5555-5559")),
        Class::Secret
    );
    assert_eq!(
        one("x", json!("378282246310005")).1,
        "a Luhn-valid 15-digit number: a card number"
    );
    assert_eq!(
        class_of("n", json!(4_111_111_111_111_111_u64)),
        Class::Secret
    );
    assert_eq!(class_of("n", json!("4000000000000000006")), Class::Secret);
}

#[test]
fn numbers_that_fail_luhn_or_are_not_card_length_are_ordinary() {
    assert_eq!(
        class_of("order_id", json!("4111111111111112")),
        Class::Ordinary
    );
    assert_eq!(
        class_of("order_id", json!(4_111_111_111_111_112_u64)),
        Class::Ordinary
    );
    assert_eq!(class_of("ref", json!("4155550100")), Class::Ordinary);
    assert_eq!(class_of("ref", json!(4_155_550_100_u64)), Class::Ordinary);
    assert_eq!(class_of("ref", json!("411111111119")), Class::Ordinary);
    assert_eq!(
        class_of("ref", json!("41111111111111111116")),
        Class::Ordinary
    );
}

#[test]
fn timestamps_that_pass_luhn_are_not_card_numbers() {
    // Luhn-valid, but starting with 1: epoch milliseconds and microseconds.
    assert!(luhn_valid("1700000000004"));
    assert!(luhn_valid("1718000000000001"));
    assert_eq!(
        class_of("created_at", json!(1_700_000_000_004_u64)),
        Class::Ordinary
    );
    assert_eq!(class_of("ts", json!("1718000000000001")), Class::Ordinary);
}

#[test]
fn a_card_number_inside_text_is_found() {
    assert_eq!(
        one("note", json!("paid with 4111 1111 1111 1111 today")),
        (
            Class::Secret,
            "text containing a Luhn-valid 16-digit number: a card number".to_string()
        )
    );
    assert_eq!(
        class_of("note", json!("card=4111111111111111;")),
        Class::Secret
    );
    assert_eq!(class_of("id", json!("ord_4111111111111111")), Class::Secret);
}

#[test]
fn digits_glued_to_letters_or_oddly_grouped_in_text_are_not_cards() {
    assert_eq!(
        class_of("digest", json!("ab4111111111111111cd")),
        Class::Ordinary
    );
    assert_eq!(
        class_of("note", json!("scores 41 11 11 11 11 11 11 11 today")),
        Class::Ordinary
    );
    assert_eq!(class_of("note", json!("ORD-2024-000123")), Class::Ordinary);
}

// --- Secrets by value ------------------------------------------------------------------------

#[test]
fn password_hashes_by_value() {
    for (value, reason) in [
        (BCRYPT, "a bcrypt password hash"),
        (
            "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
            "a bcrypt password hash",
        ),
        (
            "$2y$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
            "a bcrypt password hash",
        ),
        (
            "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
            "an Argon2 password hash",
        ),
        (
            "$argon2i$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
            "an Argon2 password hash",
        ),
        (
            "$argon2d$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
            "an Argon2 password hash",
        ),
        (
            "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
            "an scrypt password hash",
        ),
        (
            "$pbkdf2-sha256$29000$N2YuJUWFsrjSxX2W$lQ1eJ8M8L1qY0h2N9Z0pKxqA",
            "a PBKDF2 password hash",
        ),
        (
            "pbkdf2_sha256$260000$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA=",
            "a PBKDF2 password hash",
        ),
        (
            "$6$rounds=5000$saltsalt$Qk7bXWmz0vX1yG3hJ7YwTqN9u0aR2cE5",
            "a SHA-512-crypt password hash",
        ),
        (
            "$5$saltsalt$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZF",
            "a SHA-256-crypt password hash",
        ),
        (
            "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/",
            "an MD5-crypt password hash",
        ),
    ] {
        assert_eq!(
            one("blob", json!(value)),
            (Class::Secret, reason.to_string()),
            "{value}"
        );
    }
}

#[test]
fn short_dollar_strings_are_not_hashes() {
    assert_eq!(class_of("price", json!("$1$")), Class::Ordinary);
    assert_eq!(class_of("price", json!("$5")), Class::Ordinary);
    assert_eq!(
        class_of("note", json!("costs $5$ or $6$ in total, cash")),
        Class::Ordinary
    );
}

#[test]
fn jwts_private_keys_and_api_keys_by_value() {
    for (value, reason) in [
        (JWT, "a JWT"),
        ("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MSJ9.", "a JWT"),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----",
            "a PEM private key",
        ),
        (
            "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----",
            "a PEM private key",
        ),
        (
            "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----",
            "a PEM private key",
        ),
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
            "a PEM private key",
        ),
        ("AKIAIOSFODNN7EXAMPLE", "an AWS access key id"),
        ("ASIAIOSFODNN7EXAMPLE", "an AWS access key id"),
        ("sk_live_51HxYzAbCdEfGhIjKlMnOp", "a Stripe secret key"),
        ("sk_test_4eC39HqLyjWDarjtT1zdp7dc", "a Stripe secret key"),
        ("rk_live_51HxYzAbCdEfGhIjKlMnOp", "a Stripe restricted key"),
        ("ghp_16C7e42F292c6912E7710c838347Ae178B4a", "a GitHub token"),
        ("gho_16C7e42F292c6912E7710c838347Ae178B4a", "a GitHub token"),
        (
            "github_pat_11ABCDEFG0abcdefghijklmn_opqrstuvwxyz0123456789",
            "a GitHub token",
        ),
        (
            "xoxb-2234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
            "a Slack token",
        ),
        (
            "xoxp-2234567890-1234567890123-AbCdEfGhIjKlMnOp",
            "a Slack token",
        ),
        ("xoxa-2-1234567890-AbCdEfGhIjKl", "a Slack token"),
        ("xoxs-2234567890-AbCdEfGhIjKl", "a Slack token"),
        (
            "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe",
            "a Google API key",
        ),
        (
            "postgres://app:s3cr3t-pw@db.internal:5432/orders",
            "a URL with embedded credentials",
        ),
        (
            "https://api.example.com/cb?state=1&access_token=abc123def",
            "a URL carrying a secret query parameter",
        ),
        (
            "Bearer abcdef0123456789abcdef",
            "an HTTP authorization header value",
        ),
        (
            "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
            "an HTTP authorization header value",
        ),
    ] {
        assert_eq!(
            one("value", json!(value)),
            (Class::Secret, reason.to_string()),
            "{value}"
        );
    }
}

#[test]
fn secrets_inside_free_text_are_found() {
    for (value, reason) in [
        (
            format!("Authorization: Bearer {JWT}"),
            "text containing an HTTP authorization header value",
        ),
        (
            format!("retry with token={JWT} later"),
            "text containing a JWT",
        ),
        (
            "boot failed, key AKIAIOSFODNN7EXAMPLE rejected".to_string(),
            "text containing an AWS access key id",
        ),
        (
            format!("user row: {BCRYPT} (migrated)"),
            "text containing a bcrypt password hash",
        ),
        (
            "dsn was mysql://root:hunter22@10.0.0.5/db, fix it".to_string(),
            "text containing a URL with embedded credentials",
        ),
        (
            "key below\n-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----".to_string(),
            "text containing a PEM private key",
        ),
    ] {
        assert_eq!(
            one("log", json!(value)),
            (Class::Secret, reason.to_string()),
            "{value}"
        );
    }
}

#[test]
fn a_card_number_inside_a_longer_run_of_digit_groups_is_found_but_lists_of_numbers_are_not() {
    for text in [
        "0 4111111111111111 0",
        "ref 12 4111 1111 1111 1111 99",
        "1-4111-1111-1111-1111",
        "lot 7 5500 0055 5555 5559 qty 3",
    ] {
        assert_eq!(class_of("note", json!(text)), Class::Secret, "{text}");
    }
    for text in [
        "years 2019 2020 2021 2022 2023 2024 2025",
        "1234 5678 9012 3456 7890",
        "0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15",
    ] {
        assert_eq!(class_of("note", json!(text)), Class::Ordinary, "{text}");
    }
}

#[test]
fn lookalikes_of_secret_shapes_stay_ordinary() {
    for value in [
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0C\n-----END PUBLIC KEY-----",
        "AKIAIOSFODNN7EXAMPL",
        "akiaiosfodnn7example",
        "eyJ",
        "eyJhbGciOiJIUzI1NiJ9",
        "sk_test_",
        "pk_live_51HxYzAbCdEfGhIjKlMnOp",
        "https://example.com/path?page=2&sort=asc",
        "https://user@example.com/",
        "https://example.com/cb?token_type=bearer",
        "Bearer",
        "a basic plan for the bearer of this voucher",
        "Basic settings",
        "Bearer bonds-and-shares",
        "bearer instrument",
        "tok_AnFDfHU4JecStjykSTarRkoe",
        "evt_01JPATVNZ1KTFGH9JBW7YTHHH2",
        "550e8400-e29b-41d4-a716-446655440000",
        "1Z999AA10123456784",
    ] {
        assert_eq!(class_of("value", json!(value)), Class::Ordinary, "{value}");
    }
}
