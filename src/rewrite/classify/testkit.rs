//! What the classifier's tests share: one field classified, the finding at a path, and sample
//! secrets.

use serde_json::{Value, json};

use super::class::{Class, Finding};
use super::walk::classify;

pub(super) fn at<'a>(findings: &'a [Finding], path: &str) -> Option<&'a Finding> {
    findings.iter().find(|f| f.path == path)
}

pub(super) fn class_at(value: &Value, path: &str) -> Option<Class> {
    at(&classify(value), path).map(|f| f.class)
}

/// The class and reason of `{key: value}`.
pub(super) fn one(key: &str, value: Value) -> (Class, String) {
    let record = json!({ key: value });
    let findings = classify(&record);
    assert_eq!(findings.len(), 1, "{key}: {findings:?}");
    findings
        .into_iter()
        .next()
        .map(|f| (f.class, f.reason))
        .unwrap_or((Class::Ordinary, String::new()))
}

pub(super) fn class_of(key: &str, value: Value) -> Class {
    one(key, value).0
}

pub(super) const BCRYPT: &str = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";

pub(super) const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJlc2lnbmF0dXJl";
