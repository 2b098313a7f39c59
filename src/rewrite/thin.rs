//! Reading the thin event: its type, the entity it is about and its envelope fields, with a
//! clear error for each one that is missing or malformed.

use serde_json::{Map, Value};

use super::catalogue::EventSpec;
use super::output::Excluded;
use super::{input, redact, timestamp};

/// A problem with the event or record that is not about JSON syntax.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{file}: {message}")]
pub struct FieldError {
    pub file: String,
    pub message: String,
}

/// The fields of a thin event this rewrite needs, each one checked: none of them looks like a
/// secret or personal data, and `occurred_at` is a real timestamp.
pub(super) struct Thin {
    pub(super) event_type: String,
    pub(super) id_field: String,
    pub(super) id: String,
    /// The id as the event gave it: a number stays a number on both forms.
    pub(super) id_value: Value,
    pub(super) occurred_at: String,
    pub(super) correlation_id: Option<String>,
    pub(super) source: Option<String>,
    /// Envelope fields left out because they look sensitive, and what stands in for them.
    pub(super) dropped: Vec<Excluded>,
}

fn string_field(
    file: &str,
    event: &Map<String, Value>,
    key: &str,
) -> Result<Option<String>, FieldError> {
    match event.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(FieldError {
            file: file.to_string(),
            message: format!("{} is empty", redact::text(key)),
        }),
        Some(Value::Number(n)) if key.ends_with("id") => Ok(Some(n.to_string())),
        Some(other) => Err(FieldError {
            file: file.to_string(),
            message: format!(
                "{} must be a string (found {})",
                redact::text(key),
                input::kind(other)
            ),
        }),
    }
}

/// The fields a thin event may name its type with, in the order they are read.
const EVENT_TYPE_KEYS: [&str; 3] = ["event_type", "type", "eventType"];

/// The longest event type accepted: a name, not a document.
const MAX_TYPE_CHARS: usize = 200;

/// The event's type, when one of the type fields holds a string.
pub fn event_type_of(event: &Map<String, Value>) -> Option<&str> {
    EVENT_TYPE_KEYS
        .iter()
        .find_map(|k| event.get(*k).and_then(Value::as_str))
}

/// Whether a key names an entity id: `order_id`, `orderId`, not `event_id` or `correlation_id`.
fn names_an_id(key: &str) -> bool {
    (key.ends_with("_id") || key.ends_with("Id"))
        && !key.starts_with("event")
        && !key.starts_with("correlation")
}

pub(super) fn read_thin(
    file: &str,
    event: &Map<String, Value>,
    spec: Option<&EventSpec>,
) -> Result<Thin, FieldError> {
    let refuse = |message: String| FieldError {
        file: file.to_string(),
        message,
    };
    let mut found = None;
    for key in EVENT_TYPE_KEYS {
        if let Some(t) = string_field(file, event, key)? {
            found = Some((key, t));
            break;
        }
    }
    let (type_key, event_type) = found.ok_or_else(|| refuse(
        "no event_type (or type) field: a thin event names what happened, e.g. \"event_type\": \"OrderPlaced\"".to_string(),
    ))?;
    if let Some((_, what)) = redact::sensitive(&event_type) {
        return Err(refuse(format!(
            "{type_key} looks like {what}, not the name of what happened; name the event, e.g. \"{type_key}\": \"OrderPlaced\""
        )));
    }
    if event_type.chars().any(char::is_control) || event_type.chars().count() > MAX_TYPE_CHARS {
        return Err(refuse(format!(
            "{type_key} must be a name on one line of at most {MAX_TYPE_CHARS} characters, e.g. OrderPlaced"
        )));
    }
    // A key that looks like a secret is never taken for the id field: it would be printed.
    let spec_id = spec.map(|s| s.id_field.clone());
    let id_field = spec_id
        .filter(|f| event.contains_key(f))
        .or_else(|| {
            event
                .keys()
                .find(|k| names_an_id(k) && redact::sensitive(k).is_none())
                .cloned()
        })
        .ok_or_else(|| refuse(
            "no entity id field (such as order_id): a thin event must say which entity it is about".to_string(),
        ))?;
    let id = string_field(file, event, &id_field)?
        .ok_or_else(|| refuse(format!("{id_field} is empty")))?;
    if let Some((_, what)) = redact::sensitive(&id) {
        return Err(refuse(format!(
            "{id_field} looks like {what}, not an entity id: the id travels on every event, to every consumer; use the entity's own id"
        )));
    }
    let occurred_at = match event.get("occurred_at") {
        None | Some(Value::Null) => crate::sim::model::rfc3339_utc(crate::drill::now()),
        Some(Value::String(s)) if timestamp::is_rfc3339(s) => s.clone(),
        Some(other) => {
            let found = match other {
                Value::String(_) => String::new(),
                other => format!(" (found {})", input::kind(other)),
            };
            return Err(refuse(format!(
                "occurred_at is not an RFC 3339 timestamp such as \"2026-03-14T09:26:53Z\"{found}; correct it, or leave it out and msgwork stamps the current time"
            )));
        }
    };
    let mut dropped = Vec::new();
    let mut envelope = |key: &str, instead: &str| -> Result<Option<String>, FieldError> {
        let value = string_field(file, event, key)?;
        match value.as_deref().and_then(redact::sensitive) {
            Some((class, what)) => {
                dropped.push(Excluded {
                    path: key.to_string(),
                    class,
                    reason: format!("{what}; left out, and {instead} used instead"),
                });
                Ok(None)
            }
            None => Ok(value),
        }
    };
    let correlation_id = envelope("correlation_id", "an id derived from the event")?;
    let source = envelope("source", "the entity's service name")?;
    let id_value = match event.get(&id_field) {
        Some(Value::Number(n)) => Value::Number(n.clone()),
        _ => Value::String(id.clone()),
    };
    Ok(Thin {
        event_type,
        id_field,
        id,
        id_value,
        occurred_at,
        correlation_id,
        source,
        dropped,
    })
}
