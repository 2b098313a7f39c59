//! Practice mode: grading a learner's own notification or ECST payload for an event.

use serde::Serialize;
use serde_json::{Map, Value};

use super::catalogue::{self, Form};
use super::classify::{self, Class};
use super::output::SCHEMA_VERSION;
use super::paths::{get_path, within};
use super::redact;

/// How serious a finding is: a failure fails the check (exit 1), a warning does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Fail,
    Warn,
    Ok,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckFinding {
    pub id: &'static str,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub message: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Checked {
    pub schema_version: u32,
    pub passed: bool,
    /// Which form the payload is: identifiers only, or state.
    pub form: Form,
    /// It instructs a consumer instead of stating what happened.
    pub command: bool,
    pub event_type: Option<String>,
    pub findings: Vec<CheckFinding>,
}

/// Verbs that make an event name an instruction (`sendOrderConfirmationEmail`).
const IMPERATIVES: &[&str] = &[
    "send", "create", "update", "delete", "remove", "process", "charge", "notify", "email", "do",
    "make", "run", "execute", "apply", "handle", "trigger", "call", "generate", "compute",
    "reserve", "ship", "cancel", "refund", "sync", "publish", "post", "start", "stop", "bill",
];

/// The first word of a camel, snake, kebab or dotted name, lowercased.
fn first_word(name: &str) -> String {
    let mut word = String::new();
    for (i, c) in name.chars().enumerate() {
        if c == '_' || c == '-' || c == '.' || c == ' ' || (i > 0 && c.is_uppercase()) {
            break;
        }
        word.push(c.to_ascii_lowercase());
    }
    word
}

const ENVELOPE: &[&str] = &[
    "event_id",
    "id",
    "type",
    "event_type",
    "occurred_at",
    "source",
    "schema_version",
    "version",
    "correlation_id",
    "causation_id",
    "data",
    "metadata",
];

/// Grades a learner's payload. `event_type` is the thin event's type, for the consumers' needs.
pub fn check(payload: &Map<String, Value>, thin_type: Option<&str>) -> Checked {
    let mut findings = Vec::new();
    let mut push = |id, severity, path: Option<String>, message: String| {
        findings.push(CheckFinding {
            id,
            severity,
            path,
            message,
        })
    };
    let meta = payload.get("metadata").and_then(Value::as_object);
    let field = |key: &str| payload.get(key).or_else(|| meta.and_then(|m| m.get(key)));
    let type_value = ["type", "event_type", "eventType", "action", "command"]
        .iter()
        .find_map(|k| {
            field(k)
                .and_then(Value::as_str)
                .map(|v| (*k, v.to_string()))
        });
    // The name as the verdict may show it: a type that looks like a secret is graded, never shown.
    let shown = type_value
        .as_ref()
        .map(|(_, v)| redact::text(v).into_owned());

    // A command in disguise: it tells a consumer what to do instead of saying what happened.
    let command_keys: Vec<&str> = ["action", "command"]
        .into_iter()
        .filter(|k| payload.contains_key(*k))
        .collect();
    let imperative = type_value
        .as_ref()
        .filter(|(_, v)| IMPERATIVES.contains(&first_word(v).as_str()));
    let is_command = imperative.is_some()
        || !command_keys.is_empty()
        || (payload.contains_key("to") && payload.contains_key("template"));
    if let Some((key, _)) = imperative {
        let name = shown.as_deref().unwrap_or_default();
        push(
            "command-in-disguise",
            Severity::Fail,
            Some((*key).to_string()),
            format!(
                "'{name}' is a command: it tells one consumer what to do. An event states a fact in the past tense (OrderPlaced) and leaves each consumer to decide what to do about it."
            ),
        );
    } else if !command_keys.is_empty()
        || (payload.contains_key("to") && payload.contains_key("template"))
    {
        push(
            "command-in-disguise",
            Severity::Fail,
            Some(command_keys.first().copied().unwrap_or("to").to_string()),
            "this payload instructs a consumer (an action, a recipient, a template): that couples the producer to one consumer's job. Publish what happened instead.".to_string(),
        );
    }

    // Envelope metadata.
    for (key, alternatives, severity, why) in [
        (
            "event_id",
            &["event_id", "eventId", "id"][..],
            Severity::Fail,
            "consumers dedupe on it; without it every redelivery looks new",
        ),
        (
            "type",
            &["type", "event_type", "eventType"][..],
            Severity::Fail,
            "consumers route on it",
        ),
        (
            "occurred_at",
            &["occurred_at", "occurredAt", "timestamp"][..],
            Severity::Fail,
            "consumers order and age events by it",
        ),
        (
            "source",
            &["source"][..],
            Severity::Warn,
            "it says which service to ask, and helps debugging",
        ),
        (
            "schema_version",
            &["schema_version", "version"][..],
            Severity::Warn,
            "consumers need it to evolve the schema safely",
        ),
        (
            "correlation_id",
            &["correlation_id", "correlationId"][..],
            Severity::Warn,
            "it threads one request through every service for tracing",
        ),
    ] {
        if !alternatives.iter().any(|k| field(k).is_some()) {
            push(
                "envelope",
                severity,
                Some(key.to_string()),
                format!("no {key}: {why}"),
            );
        }
    }

    // Secrets and personal data, wherever they sit.
    let findings_sensitive = classify::classify(&Value::Object(payload.clone()));
    let spec = thin_type
        .or(type_value.as_ref().map(|(_, v)| v.as_str()))
        .and_then(catalogue::find);
    let data = payload
        .get("data")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_else(|| {
            payload
                .iter()
                .filter(|(k, _)| !ENVELOPE.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        });
    let prefix = if payload.get("data").is_some_and(Value::is_object) {
        "data."
    } else {
        ""
    };
    let needs: Vec<(String, String)> = spec
        .iter()
        .flat_map(|s| s.consumers.iter())
        .filter(|c| c.prefers == Form::Ecst)
        .flat_map(|c| c.needs.iter().map(move |n| (c.name.clone(), n.clone())))
        .collect();
    for f in &findings_sensitive {
        match f.class {
            Class::Secret => push(
                "secret",
                Severity::Fail,
                Some(f.path.clone()),
                format!(
                    "{}: a secret must never travel on an event; every consumer, log and replay would hold it",
                    f.reason
                ),
            ),
            Class::Pii => {
                let inner = f.path.strip_prefix(prefix).unwrap_or(&f.path);
                let needed = needs
                    .iter()
                    .any(|(_, n)| inner == n || inner.starts_with(&format!("{n}.")));
                if !needed {
                    push(
                        "needless-pii",
                        Severity::Warn,
                        Some(f.path.clone()),
                        format!(
                            "{}: personal data no consumer of this event needs; leave it at the source",
                            f.reason
                        ),
                    );
                }
            }
            Class::Ordinary => {}
        }
    }

    let id_fields = data
        .keys()
        .filter(|k| k.ends_with("_id") || k.ends_with("Id") || *k == "id")
        .count();
    let form = if data.len() > id_fields {
        Form::Ecst
    } else {
        Form::Notification
    };
    // What consumers would miss only matters for an event; a command has other problems first.
    if form == Form::Ecst && !is_command {
        let mut missing: Vec<(String, String)> = Vec::new();
        for (consumer, need) in &needs {
            let present = get_path(&data, need).is_some();
            let secret = findings_sensitive.iter().any(|f| {
                f.class == Class::Secret
                    && within(f.path.strip_prefix(prefix).unwrap_or(&f.path), need)
            });
            if !present && !secret {
                missing.push((consumer.clone(), need.clone()));
            }
        }
        for (consumer, need) in missing {
            push(
                "missing-for-consumer",
                Severity::Warn,
                Some(format!("{prefix}{need}")),
                format!("{consumer} needs {need} and would have to call back for it"),
            );
        }
    }
    let passed = !findings.iter().any(|f| f.severity == Severity::Fail);
    if findings.is_empty() {
        findings.push(CheckFinding {
            id: "all-good",
            severity: Severity::Ok,
            path: None,
            message: "a proper envelope, no secrets, no needless personal data, and what its consumers need".to_string(),
        });
    }
    Checked {
        schema_version: SCHEMA_VERSION,
        passed,
        command: is_command,
        form,
        event_type: shown,
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_words_of_every_naming_style() {
        assert_eq!(first_word("sendOrderConfirmationEmail"), "send");
        assert_eq!(first_word("send_order_email"), "send");
        assert_eq!(first_word("OrderPlaced"), "order");
        assert_eq!(first_word("order.placed"), "order");
    }
}
