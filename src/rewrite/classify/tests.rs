//! Whole records through the classifier: ordinary data stays ordinary, no value is ever echoed,
//! odd input never panics, and records like the workshop's come out field by field.

use serde_json::json;

use super::class::{Class, Finding};
use super::testkit::{BCRYPT, JWT, at, class_at};
use super::walk::classify;

// --- Ordinary --------------------------------------------------------------------------------

#[test]
fn ordinary_fields_stay_ordinary() {
    let record = json!({
        "order_id": "ord_9f2a",
        "amount_cents": 5284,
        "currency": "USD",
        "sku": "MUG-CER-350",
        "quantity": 2,
        "qty": 2,
        "status": "placed",
        "created_at": "2026-03-14T09:26:53Z",
        "occurred_at": 1_773_480_413_000_u64,
        "version": 3,
        "schema_version": 1,
        "event_id": "evt_01JPATVNZ1KTFGH9JBW7YTHHH2",
        "correlation_id": "req_7f3c9a1e5b20",
        "source": "order-service",
        "type": "OrderPlaced",
        "product": {"name": "Stoneware mug, 350 ml", "price": 14.5},
        "tracking_number": "1Z999AA10123456784",
        "country_code": "US",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "special_requests": "Arriving late, around 23:30.",
        "weight_grams": 3120,
        "ratio": -0.5,
        "shipping_method": "ground"
    });
    for f in classify(&record) {
        assert_eq!(f.class, Class::Ordinary, "{f:?}");
        assert_eq!(f.reason, "nothing sensitive in its name or value", "{f:?}");
    }
}

// --- Never echo ------------------------------------------------------------------------------

const SECRETS: &[&str] = &[
    BCRYPT,
    "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
    "4111111111111111",
    "5500 0055 5555 5559",
    JWT,
    "sk_live_51HxYzAbCdEfGhIjKlMnOp",
    "AKIAIOSFODNN7EXAMPLE",
    "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "xoxb-2234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe",
    "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----",
    "postgres://app:s3cr3t-pw@db.internal:5432/orders",
    "Bearer abcdef0123456789abcdef",
];

fn assert_never_echoed(findings: &[Finding], value: &str) {
    let chars: Vec<char> = value.chars().collect();
    let window = 6.min(chars.len());
    for f in findings {
        for part in chars.windows(window) {
            let part: String = part.iter().collect();
            assert!(
                !f.reason.contains(&part),
                "reason {:?} echoes part of {value:?}",
                f.reason
            );
            assert!(
                !f.path.contains(&part),
                "path {:?} echoes part of {value:?}",
                f.path
            );
        }
    }
}

/// Secrets only their field name gives away.
const NAMED_SECRETS: &[&str] = &["hunter2-Zq9!", "737", "correct horse battery staple"];

#[test]
fn no_reason_or_path_ever_contains_a_secret_value() {
    let names = [
        "password",
        "pwd",
        "passwordHash",
        "cvv",
        "apiKey",
        "accessToken",
        "client_secret",
        "pin",
    ];
    let innocent = ["ref", "note", "data", "card", "value", "id"];
    for value in SECRETS.iter().chain(NAMED_SECRETS) {
        let by_value = SECRETS.contains(value);
        for name in names.iter().chain(&innocent) {
            let mut records = vec![
                json!({ *name: value }),
                json!({ "customer": { *name: value } }),
                json!({ "items": [{ "sku": "A-1" }, { *name: value }] }),
                json!({ "payment": { "details": { *name: { "inner": [value] } } } }),
                json!({ "address": { *name: value } }),
                json!({ "a": { "b": { "c": [{ "d": { *name: value } }] } } }),
            ];
            if by_value {
                records.extend([
                    json!({ "list": [[value]] }),
                    json!({ *name: format!("see {value} here") }),
                    json!({ "wrapper": { *value: { *name: value } } }),
                    json!({ *value: 1 }),
                    json!([value]),
                    json!(value),
                ]);
            }
            for record in records {
                let findings = classify(&record);
                if by_value || names.contains(name) {
                    assert!(
                        findings.iter().any(|f| f.class == Class::Secret),
                        "{value:?} under {name} missed: {findings:?}"
                    );
                }
                assert_never_echoed(&findings, value);
            }
        }
    }
}

#[test]
fn no_reason_or_path_contains_personal_data_either() {
    for value in [
        "ada.lovelace@example.com",
        "+44 20 7946 0958",
        "203.0.113.41",
        "GB82 WEST 1234 5698 7654 32",
    ] {
        let record = json!({"contact": value, "by": { value: 1 }, "list": [value], "note": format!("re: {value}")});
        let findings = classify(&record);
        assert!(
            findings.iter().all(|f| f.class == Class::Pii),
            "{findings:?}"
        );
        assert_never_echoed(&findings, value);
    }
}

// --- Robustness ------------------------------------------------------------------------------

#[test]
fn odd_values_never_panic() {
    let long_digits = "4".repeat(100_000);
    let long_dollars = "$".repeat(100_000);
    let long_jwtish = "eyJ.".repeat(50_000);
    let long_at = "@.".repeat(50_000);
    let long_plus = format!("+{}", "1 ".repeat(50_000));
    let long_key = "passwordHash_".repeat(10_000);
    let record = json!({
        "big": u64::MAX,
        "neg": i64::MIN,
        "float": 1e308,
        "tiny": -1e-308,
        "empty": "",
        "spaces": "   ",
        "unicode": "пароль 密码 🔑 ٤١١١",
        "ключ": "значение",
        "🔑": "🔒",
        "long_digits": long_digits,
        "long_dollars": long_dollars,
        "long_jwtish": long_jwtish,
        "long_at": long_at,
        "long_plus": long_plus,
        long_key: "x",
        "nul": "\u{0}\u{0}",
        "mixed": [null, true, 1, "s", [], {}],
    });
    let findings = classify(&record);
    assert!(findings.len() >= 20);
    assert_eq!(class_at(&record, "big"), Some(Class::Ordinary));
    assert_eq!(class_at(&record, "empty"), Some(Class::Ordinary));
}

#[test]
fn classes_serialize_in_lower_case() {
    let finding = Finding {
        path: "a".to_string(),
        class: Class::Pii,
        reason: "r".to_string(),
    };
    assert_eq!(
        serde_json::to_value(&finding).ok(),
        Some(json!({"path": "a", "class": "pii", "reason": "r"}))
    );
    assert_eq!(
        serde_json::to_value(Class::Secret).ok(),
        Some(json!("secret"))
    );
    assert_eq!(
        serde_json::to_value(Class::Ordinary).ok(),
        Some(json!("ordinary"))
    );
}

// --- Records like the workshop's -------------------------------------------------------------

#[test]
fn an_order_record_is_classified_field_by_field() {
    let record = json!({
        "order_id": "ord_9f2a",
        "customer_id": "usr_7c31",
        "customer_email": "alice@example.com",
        "items": [{"sku": "MUG-CER-350", "name": "Stoneware mug, 350 ml", "qty": 2, "price_cents": 1450}],
        "shipping_method": "ground",
        "shipping_address": {"name": "Alice Moreau", "line1": "1420 Alder Lane", "city": "Portland", "postal_code": "97202", "country": "US"},
        "payment": {
            "method": "card",
            "card_brand": "visa",
            "card_number": "4111111111111111",
            "cvv": "123",
            "expiry": "09/28",
            "cardholder_name": "ALICE MOREAU",
            "card_token": "tok_AnFDfHU4JecStjykSTarRkoe"
        },
        "placed_at": "2026-03-14T09:26:53Z"
    });
    let findings = classify(&record);
    let expect = [
        ("order_id", Class::Ordinary),
        ("customer_id", Class::Ordinary),
        ("customer_email", Class::Pii),
        ("items[0].name", Class::Ordinary),
        ("items[0].sku", Class::Ordinary),
        ("shipping_method", Class::Ordinary),
        ("shipping_address", Class::Pii),
        ("shipping_address.name", Class::Pii),
        ("shipping_address.postal_code", Class::Pii),
        ("payment.method", Class::Ordinary),
        ("payment.card_brand", Class::Ordinary),
        ("payment.card_number", Class::Secret),
        ("payment.cvv", Class::Secret),
        ("payment.expiry", Class::Ordinary),
        ("payment.cardholder_name", Class::Pii),
        ("payment.card_token", Class::Secret),
        ("placed_at", Class::Ordinary),
    ];
    for (path, class) in expect {
        assert_eq!(at(&findings, path).map(|f| f.class), Some(class), "{path}");
    }
    assert_eq!(
        at(&findings, "payment.card_number").map(|f| f.reason.as_str()),
        Some("a Luhn-valid 16-digit number: a card number")
    );
}

#[test]
fn a_user_record_is_classified_field_by_field() {
    let record = json!({
        "user_id": "usr_7c31",
        "email": "alice@example.com",
        "email_verified": true,
        "password_hash": "$2b$12$X4MU.jbxYx3FUOLdBceEYQqnmZpw2Q6E2oWmDJ6v7MIQl6x0pxYhI",
        "display_name": "Alice Moreau",
        "phone": "+1 503 555 0147",
        "date_of_birth": "1988-05-17",
        "address": {"line1": "1420 Alder Lane", "city": "Portland"},
        "country_code": "US",
        "signup_source": "organic_search",
        "signup_ip": "203.0.113.41",
        "marketing_opt_in": true,
        "mfa_enabled": true,
        "totp_secret": "JBSWY3DPEHPK3PXPQ4ZT6NAL",
        "gateway": {"provider": "acmepay", "api_key": "ak_test_iCzYaBxmjvADdEbU9PR4nQSP", "gateway_secret": "gs_test_kcyTyNYzpLJT0seQT8Mge5kO"},
        "status": "active"
    });
    let findings = classify(&record);
    let expect = [
        ("user_id", Class::Ordinary),
        ("email", Class::Pii),
        ("email_verified", Class::Ordinary),
        ("password_hash", Class::Secret),
        ("display_name", Class::Pii),
        ("phone", Class::Pii),
        ("date_of_birth", Class::Pii),
        ("address", Class::Pii),
        ("address.city", Class::Pii),
        ("country_code", Class::Ordinary),
        ("signup_source", Class::Ordinary),
        ("signup_ip", Class::Pii),
        ("marketing_opt_in", Class::Ordinary),
        ("mfa_enabled", Class::Ordinary),
        ("totp_secret", Class::Secret),
        ("gateway.provider", Class::Ordinary),
        ("gateway.api_key", Class::Secret),
        ("gateway.gateway_secret", Class::Secret),
        ("status", Class::Ordinary),
    ];
    for (path, class) in expect {
        assert_eq!(at(&findings, path).map(|f| f.class), Some(class), "{path}");
    }
    assert_eq!(
        at(&findings, "password_hash").map(|f| f.reason.as_str()),
        Some("a bcrypt password hash")
    );
}

// --- Hidden, split and encoded -----------------------------------------------------------------

const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

#[test]
fn a_pem_private_key_split_across_array_elements_is_secret_in_every_piece() {
    let record = json!({
        "lines": [
            "-----BEGIN RSA PRIVATE KEY-----",
            "MIIEowIBAAKCAQEAq7BFUpkGp3+LQmlQ",
            "Yx2eqzDV+xeG8kx/sQFV18S5JwIDAQAB",
            "-----END RSA PRIVATE KEY-----",
        ],
        "pieces": {"a": "-----BEGIN PRIV", "b": "ATE KEY-----MIIEvQIBADANBgkq"},
        "greeting": ["hello", "world"],
    });
    let findings = classify(&record);
    for path in [
        "lines[0]", "lines[1]", "lines[2]", "lines[3]", "pieces.a", "pieces.b",
    ] {
        assert_eq!(
            at(&findings, path).map(|f| f.class),
            Some(Class::Secret),
            "{path}"
        );
    }
    assert_eq!(class_at(&record, "greeting[1]"), Some(Class::Ordinary));
    assert_never_echoed(&findings, "MIIEowIBAAKCAQEAq7BFUpkGp3+LQmlQ");
}

#[test]
fn an_aws_secret_access_key_is_found_by_its_name_its_neighbour_or_an_aws_context() {
    for (record, path) in [
        (
            json!({"aws_secret_access_key": AWS_SECRET}),
            "aws_secret_access_key",
        ),
        (json!({"secretAccessKey": AWS_SECRET}), "secretAccessKey"),
        (
            json!({"AWS_SECRET_ACCESS_KEY": AWS_SECRET}),
            "AWS_SECRET_ACCESS_KEY",
        ),
        (
            json!({"deploy": {"id": "AKIAIOSFODNN7EXAMPLE", "value": AWS_SECRET}}),
            "deploy.value",
        ),
        (
            json!({"deploy": {"accessKeyId": "see vault", "value": AWS_SECRET}}),
            "deploy.value",
        ),
        (
            json!({"pair": ["AKIAIOSFODNN7EXAMPLE", AWS_SECRET]}),
            "pair[1]",
        ),
        (
            json!({"aws": {"backup": {"value": AWS_SECRET}}}),
            "aws.backup.value",
        ),
        (
            json!({"amazon_creds_blob": AWS_SECRET}),
            "amazon_creds_blob",
        ),
    ] {
        let findings = classify(&record);
        assert_eq!(
            at(&findings, path).map(|f| f.class),
            Some(Class::Secret),
            "{record}: {findings:?}"
        );
        assert_never_echoed(&findings, AWS_SECRET);
    }
    // Without a name or a neighbour that says AWS, forty base64 characters are just that;
    // a hex SHA-1 (a git commit) has no capitals at all.
    for record in [
        json!({"checksum": AWS_SECRET}),
        json!({"commit": "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"}),
        json!({"aws": {"commit": "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"}}),
    ] {
        assert!(
            classify(&record).iter().all(|f| f.class == Class::Ordinary),
            "{record}"
        );
    }
}

#[test]
fn a_social_security_number_without_dashes_is_found_by_its_name_a_label_or_the_text() {
    for (record, path) in [
        (json!({"ssn": "078051120"}), "ssn"),
        (
            json!({"customer": {"customerSsn": 78051120}}),
            "customer.customerSsn",
        ),
        (
            json!({"tax": {"id_type": "SSN", "id_value": "078051120"}}),
            "tax.id_value",
        ),
        (
            json!({"tax": {"kind": "social security number", "number": 219099999}}),
            "tax.number",
        ),
        (json!({"note": "SSN 078051120 on file"}), "note"),
        (
            json!({"note": "social security number: 078 05 1120."}),
            "note",
        ),
        (json!({"ref": "078 05 1120"}), "ref"),
        (json!({"ref": "078-05-1120"}), "ref"),
    ] {
        assert_eq!(class_at(&record, path), Some(Class::Pii), "{record}");
    }
    // Nine digits are far more often an order number, an amount or a postcode.
    for record in [
        json!({"order_number": "123456789"}),
        json!({"amount_cents": 123456789}),
        json!({"note": "order 123456789 shipped"}),
        json!({"doc": {"id_type": "passport", "id_value": "123456789"}}),
        json!({"tax": {"id_type": "SSN", "id_value": "987654321"}}),
        json!({"note": "ssn field left blank, order 123456789012"}),
    ] {
        assert!(
            classify(&record).iter().all(|f| f.class == Class::Ordinary),
            "{record}: {:?}",
            classify(&record)
        );
    }
}

#[test]
fn a_card_number_in_base64_full_width_digits_or_with_invisible_separators_is_secret() {
    for value in [
        "NDExMTExMTExMTExMTExMQ==",
        "NDExMTExMTExMTExMTExMQ",
        "NDExMSAxMTExIDExMTEgMTExMQ==",
        "blob NDExMTExMTExMTExMTExMQ== end",
        "c2tfbGl2ZV81MUh4WXpBYkNkRWZHaElqS2xNbk9w",
        "４１１１１１１１１１１１１１１１",
        "４１１１ １１１１ １１１１ １１１１",
        "4111\u{200b}1111\u{200b}1111\u{200b}1111",
        "4\u{2060}1\u{feff}11111111111111",
        "4111\u{00a0}1111\u{00a0}1111\u{00a0}1111",
        "4111\u{2010}1111\u{2010}1111\u{2010}1111",
        "٤١١١١١١١١١١١١١١١",
        "ｓｋ＿ｌｉｖｅ＿５１ＨｘＹｚＡｂＣｄＥｆＧｈＩｊＫｌＭｎＯｐ",
    ] {
        let record = json!({ "ref": value });
        let findings = classify(&record);
        assert_eq!(
            at(&findings, "ref").map(|f| f.class),
            Some(Class::Secret),
            "{value:?}"
        );
        assert_never_echoed(&findings, value);
    }
    let encoded = classify(&json!({"ref": "NDExMTExMTExMTExMTExMQ=="}));
    assert_eq!(
        at(&encoded, "ref").map(|f| f.reason.as_str()),
        Some("base64 holding a Luhn-valid 16-digit number: a card number")
    );
    // A key in full-width letters is read as the word it spells.
    assert_eq!(
        class_at(
            &json!({"ｐａｓｓｗｏｒｄ": "x", "pass\u{200b}word": "y"}),
            "ｐａｓｓｗｏｒｄ"
        ),
        Some(Class::Secret)
    );
}

#[test]
fn ordinary_text_ids_and_encodings_stay_ordinary_after_folding_and_decoding() {
    let record = json!({
        "greeting": "aGVsbG8gd29ybGQgaGVsbG8=",
        "cursor": "MTIzNDU2Nzg5MDEyMzQ1Ng==",
        "note": "b3JkZXIgb3JkXzlmMmEgc2hpcHBlZA==",
        "city_label": "東京都 渋谷区",
        "title": "Crème brûlée — 2 pièces",
        "qty_label": "３個",
        "event_id": "evt_01JPATVNZ1KTFGH9JBW7YTHHH2",
        "uuid": "550e8400-e29b-41d4-a716-446655440000",
        "created_at": "2026-03-14T09:26:53Z",
        "occurred_ms": 1_773_480_413_000_u64,
        "amount_cents": 123_456_789,
        "tracking_number": "1Z999AA10123456784",
        "sku_list": ["MUG-CER-350", "-----", "BEGIN", "END"],
        "digest": "d2hhdGV2ZXIgdGhpcyBpcyBub3QgYSBzZWNyZXQ",
    });
    for f in classify(&record) {
        assert_eq!(f.class, Class::Ordinary, "{f:?}");
    }
}
