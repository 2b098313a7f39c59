//! Fields judged by their names: secret and personal-data words in every style, the words that
//! only describe them, and the objects that make `name` or `number` sensitive.

use serde_json::json;

use super::*;
use crate::rewrite::classify::class::Class;
use crate::rewrite::classify::testkit::{at, class_at, class_of, one};
use crate::rewrite::classify::walk::classify;

// --- Card fields by name ---------------------------------------------------------------------

#[test]
fn card_security_codes_are_secret_by_name_only() {
    assert_eq!(
        one("cvv", json!("737")),
        (Class::Secret, "named like a card security code".to_string())
    );
    for key in [
        "cvc",
        "CVV2",
        "cvc2",
        "security_code",
        "securityCode",
        "card_verification_value",
    ] {
        assert_eq!(class_of(key, json!(123)), Class::Secret, "{key}");
        assert_eq!(class_of(key, json!("4321")), Class::Secret, "{key}");
    }
    assert_eq!(class_of("quantity", json!(737)), Class::Ordinary);
    assert_eq!(class_of("code", json!("737")), Class::Ordinary);
    assert_eq!(class_of("ref", json!("737")), Class::Ordinary);
}

#[test]
fn number_inside_a_card_object_is_a_card_number() {
    let record = json!({"payment": {"card": {"number": "4111 1111 1111 1112", "brand": "visa", "last4": "1112", "name": "ADA L"}}});
    let findings = classify(&record);
    assert_eq!(
        at(&findings, "payment.card.number").map(|f| f.class),
        Some(Class::Secret)
    );
    assert_eq!(
        at(&findings, "payment.card.brand").map(|f| f.class),
        Some(Class::Ordinary)
    );
    assert_eq!(
        at(&findings, "payment.card.last4").map(|f| f.class),
        Some(Class::Ordinary)
    );
    assert_eq!(
        at(&findings, "payment.card.name").map(|f| f.class),
        Some(Class::Pii)
    );
}

// --- Secrets by name -------------------------------------------------------------------------

#[test]
fn secret_names_in_every_style() {
    for key in [
        "passwordHash",
        "password_hash",
        "PASSWORD",
        "Password",
        "pwd",
        "passwd",
        "db-password",
        "userpassword",
        "passphrase",
        "secret",
        "client_secret",
        "clientSecret",
        "totp_secret",
        "token",
        "access_token",
        "accessToken",
        "refresh_token",
        "RefreshToken",
        "id_token",
        "card_token",
        "api_key",
        "apiKey",
        "apikey",
        "x-api-key",
        "X-API-KEY",
        "XApiKey",
        "private_key",
        "privateKey",
        "secret_key",
        "aws_secret_access_key",
        "AWS_SECRET_ACCESS_KEY",
        "credentials",
        "Credentials",
        "creds",
        "auth",
        "authorization",
        "Authorization",
        "proxy-authorization",
        "session",
        "session_id",
        "sessionId",
        "JSESSIONID",
        "cookie",
        "Set-Cookie",
        "otp",
        "totp",
        "verification_code",
        "pin",
        "PIN",
        "pin_code",
        "card_number",
        "cardNumber",
        "credit_card_number",
        "pan",
        "cc_number",
        "cvv",
        "cvc",
        "cvv2",
        "security_code",
        "connection_string",
        "password_2",
    ] {
        let (class, reason) = one(key, json!("opaque-value-1"));
        assert_eq!(class, Class::Secret, "{key}");
        assert!(reason.starts_with("named like "), "{key}: {reason}");
    }
}

#[test]
fn secret_reasons_name_the_kind() {
    assert_eq!(one("passwordHash", json!("x")).1, "named like a password");
    assert_eq!(one("apiKey", json!("x")).1, "named like an API key");
    assert_eq!(one("refresh_token", json!("x")).1, "named like a token");
    assert_eq!(one("card_number", json!("x")).1, "named like a card number");
    assert_eq!(one("credentials", json!("x")).1, "named like credentials");
    assert_eq!(one("pin", json!(1234)).1, "named like a PIN");
}

#[test]
fn the_last_word_names_the_thing() {
    assert_eq!(class_of("password_reset_email", json!("x")), Class::Pii);
    assert_eq!(class_of("email_password", json!("x")), Class::Secret);
    assert_eq!(class_of("session_ip", json!("x")), Class::Pii);
    assert_eq!(class_of("password_salt", json!("x")), Class::Secret);
    assert_eq!(class_of("auth_code", json!("x")), Class::Secret);
}

#[test]
fn fields_that_describe_a_secret_without_holding_it_are_ordinary() {
    for (key, value) in [
        ("password_updated_at", json!("2026-01-01T00:00:00Z")),
        ("passwordChangedAt", json!("2026-01-01T00:00:00Z")),
        ("token_type", json!("Bearer")),
        ("token_expires_in", json!(3600)),
        ("card_number_last4", json!("1111")),
        ("card_last4", json!("1111")),
        ("card_last_four", json!("1111")),
        ("card_brand", json!("visa")),
        ("has_password", json!("yes")),
        ("max_tokens", json!(1024)),
        ("total_tokens", json!(1024)),
        ("masked_pan", json!("411111******1111")),
        ("secret_name", json!("prod/db")),
        ("api_key_id", json!("key_1")),
        ("session_started_at", json!("2026-01-01T00:00:00Z")),
        ("email_domain", json!("example.com")),
        ("address_id", json!("adr_1")),
        ("min_password_length", json!(12)),
        ("author", json!("lee")),
        ("authored_by", json!("lee")),
        ("secretary", json!("lee")),
        ("shipping", json!("ground")),
        ("company", json!("Acme")),
        ("tokenizer", json!("bpe")),
    ] {
        assert_eq!(class_of(key, value), Class::Ordinary, "{key}");
    }
    assert_eq!(
        one("token_type", json!("Bearer")).1,
        "describes a sensitive field without holding it"
    );
}

#[test]
fn a_plural_secret_name_with_a_number_is_a_count() {
    assert_eq!(
        one("input_tokens", json!(1200)),
        (Class::Ordinary, "a count".to_string())
    );
    assert_eq!(class_of("output_tokens", json!(7)), Class::Ordinary);
    assert_eq!(class_of("tokens", json!(["a", "b"])), Class::Secret);
    assert_eq!(class_of("token", json!(123456)), Class::Secret);
}

// --- Personal data by name -------------------------------------------------------------------

#[test]
fn pii_by_name() {
    for (key, reason) in [
        ("email", "named like an email address"),
        ("Email", "named like an email address"),
        ("customer_email", "named like an email address"),
        ("emailAddress", "named like an email address"),
        ("e_mail", "named like an email address"),
        ("contactemail", "named like an email address"),
        ("phone", "named like a phone number"),
        ("mobile", "named like a phone number"),
        ("tel", "named like a phone number"),
        ("phone_number", "named like a phone number"),
        ("phoneNumber", "named like a phone number"),
        ("mobile_phone", "named like a phone number"),
        ("homephone", "named like a phone number"),
        ("address", "named like a postal address"),
        ("street", "named like a postal address"),
        ("street_address", "named like a postal address"),
        ("address_line_1", "named like a postal address"),
        ("city", "named like a postal address"),
        ("postcode", "named like a postal address"),
        ("postal_code", "named like a postal address"),
        ("zip", "named like a postal address"),
        ("zipCode", "named like a postal address"),
        ("first_name", "named like a person's name"),
        ("firstName", "named like a person's name"),
        ("lastName", "named like a person's name"),
        ("full_name", "named like a person's name"),
        ("given_name", "named like a person's name"),
        ("family_name", "named like a person's name"),
        ("surname", "named like a person's name"),
        ("display_name", "named like a person's name"),
        ("cardholder_name", "named like a person's name"),
        ("customer_name", "named like a person's name"),
        ("recipientName", "named like a person's name"),
        ("username", "named like a username"),
        ("user_name", "named like a username"),
        ("dob", "named like a date of birth"),
        ("date_of_birth", "named like a date of birth"),
        ("dateOfBirth", "named like a date of birth"),
        ("birthday", "named like a date of birth"),
        ("birthDate", "named like a date of birth"),
        ("ip", "named like an IP address"),
        ("ip_address", "named like an IP address"),
        ("IPAddress", "named like an IP address"),
        ("client_ip", "named like an IP address"),
        ("signup_ip", "named like an IP address"),
        ("ssn", "named like a national identifier"),
        ("social_security_number", "named like a national identifier"),
        ("nino", "named like a national identifier"),
        ("passport", "named like a national identifier"),
        ("passport_number", "named like a national identifier"),
        ("tax_id", "named like a national identifier"),
        ("taxId", "named like a national identifier"),
        ("iban", "named like a bank account number"),
        ("IBAN", "named like a bank account number"),
        ("bank_account_number", "named like a bank account number"),
        ("account_number", "named like a bank account number"),
        ("mac_address", "named like a device identifier"),
    ] {
        assert_eq!(
            one(key, json!("opaque")),
            (Class::Pii, reason.to_string()),
            "{key}"
        );
    }
}

#[test]
fn name_is_personal_only_in_a_person_like_object() {
    for parent in [
        "customer",
        "user",
        "person",
        "contact",
        "recipient",
        "billing",
        "shipping",
        "guest",
        "billing_details",
        "shippingAddress",
        "sender",
    ] {
        let record = json!({ parent: { "name": "Ada Lovelace" } });
        assert_eq!(
            class_at(&record, &format!("{parent}.name")),
            Some(Class::Pii),
            "{parent}"
        );
    }
    for parent in [
        "product",
        "sku",
        "company",
        "shipping_method",
        "event",
        "plan",
    ] {
        let record = json!({ parent: { "name": "Stoneware mug" } });
        assert_eq!(
            class_at(&record, &format!("{parent}.name")),
            Some(Class::Ordinary),
            "{parent}"
        );
    }
    let record = json!({
        "customers": [{"name": "Ada", "first": "Ada", "last": "Lovelace"}],
        "items": [{"name": "Mug"}],
        "name": "OrderPlaced",
        "user": {"details": {"name": "Ada"}, "company": {"name": "Acme"}},
        "users": {"17": {"name": "Grace"}},
        "product": {"info": {"name": "Mug"}}
    });
    let findings = classify(&record);
    for (path, class) in [
        ("user.details.name", Class::Pii),
        ("user.company.name", Class::Ordinary),
        ("users.17.name", Class::Pii),
        ("product.info.name", Class::Ordinary),
    ] {
        assert_eq!(at(&findings, path).map(|f| f.class), Some(class), "{path}");
    }
    assert_eq!(
        at(&findings, "customers[0].name").map(|f| f.class),
        Some(Class::Pii)
    );
    assert_eq!(
        at(&findings, "customers[0].first").map(|f| f.class),
        Some(Class::Pii)
    );
    assert_eq!(
        at(&findings, "customers[0].last").map(|f| f.class),
        Some(Class::Pii)
    );
    assert_eq!(
        at(&findings, "items[0].name").map(|f| f.class),
        Some(Class::Ordinary)
    );
    assert_eq!(
        at(&findings, "name").map(|f| f.class),
        Some(Class::Ordinary)
    );
    assert_eq!(
        class_at(&json!({"product_name": "Mug"}), "product_name"),
        Some(Class::Ordinary)
    );
}

// --- Word lists and words --------------------------------------------------------------------

#[test]
fn word_lists_are_lower_case_and_never_both_secret_and_personal() {
    let mut seen = std::collections::HashSet::new();
    let secret = SECRET_WORDS.iter().map(|(_, words)| *words);
    let pii = PII_WORDS.iter().map(|(_, words)| *words);
    for words in secret.chain(pii) {
        for word in words.split_ascii_whitespace() {
            assert!(
                word.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
                "{word}"
            );
            assert!(seen.insert(word), "{word} is listed twice");
        }
    }
    for word in PII_LAST_WORD_ONLY.split_ascii_whitespace() {
        assert!(
            matches!(vocabulary().get(word), Some((Named::Pii(_), true))),
            "{word}"
        );
    }
}

#[test]
fn tokenizer_reads_every_style() {
    assert_eq!(tokenize("XApiKey"), ["x", "api", "key"]);
    assert_eq!(tokenize("passwordHash"), ["password", "hash"]);
    assert_eq!(
        tokenize("AWS_SECRET_ACCESS_KEY"),
        ["aws", "secret", "access", "key"]
    );
    assert_eq!(tokenize("x-api-key"), ["x", "api", "key"]);
    assert_eq!(tokenize("IPAddress"), ["ip", "address"]);
    assert_eq!(tokenize("address_line1"), ["address", "line"]);
    assert_eq!(tokenize("cvv2"), ["cvv2"]);
    assert_eq!(tokenize("items_12"), ["items"]);
    assert_eq!(tokenize("--"), Vec::<String>::new());
}

// --- Published payloads: things are not people, results are not codes -----------------------

#[test]
fn a_things_name_is_not_a_persons_name_but_its_people_still_are() {
    let record = json!({
        "repository": {"full_name": "octo-org/outbox-demo", "name": "outbox-demo",
                       "owner": {"login": "octo-org", "name": "Octo Org"}},
        "organization": {"display_name": "Octo"},
        "sender": {"login": "ada-l", "avatar_url": "https://avatars.example/u/1", "gravatar_id": "x1"},
        "user": {"full_name": "Ada Lovelace"},
    });
    for path in [
        "repository.full_name",
        "repository.name",
        "organization.display_name",
    ] {
        assert!(
            matches!(class_at(&record, path), None | Some(Class::Ordinary)),
            "{path}"
        );
    }
    for path in [
        "repository.owner.login",
        "repository.owner.name",
        "sender.login",
        "sender.avatar_url",
        "sender.gravatar_id",
        "user.full_name",
    ] {
        assert_eq!(class_at(&record, path), Some(Class::Pii), "{path}");
    }
}

#[test]
fn the_result_of_a_check_is_not_the_value_checked() {
    for key in [
        "cvc_check",
        "address_line1_check",
        "cvv_result",
        "postal_code_check",
    ] {
        let record = json!({"checks": {key: "pass"}});
        assert!(
            matches!(
                class_at(&record, &format!("checks.{key}")),
                None | Some(Class::Ordinary)
            ),
            "{key}"
        );
    }
    assert_eq!(class_of("cvc", json!("737")), Class::Secret);
}

#[test]
fn links_that_open_a_private_document_to_anyone_are_secret() {
    for key in [
        "receipt_url",
        "hosted_invoice_url",
        "invoice_pdf",
        "presigned_url",
    ] {
        assert_eq!(
            class_of(key, json!("https://pay.example/receipts/CAcaFwoV")),
            Class::Secret,
            "{key}"
        );
    }
    assert_eq!(
        class_of("html_url", json!("https://github.com/octo-org")),
        Class::Ordinary
    );
}
