//! Reading the thin event: its type, the entity it is about and its envelope fields, with a
//! clear error for each one that is missing or malformed.

use serde_json::{Map, Value};

use super::catalogue::EventSpec;
use super::classify::{self, Class};
use super::input;

/// A problem with the event or record that is not about JSON syntax.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{file}: {message}")]
pub struct FieldError {
    pub file: String,
    pub message: String,
}

/// The fields of a thin event this rewrite needs.
pub(super) struct Thin {
    pub(super) event_type: String,
    pub(super) id_field: String,
    pub(super) id: String,
    pub(super) occurred_at: String,
    pub(super) correlation_id: Option<String>,
    pub(super) source: Option<String>,
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
            message: format!("{key} is empty"),
        }),
        Some(Value::Number(n)) if key.ends_with("id") => Ok(Some(n.to_string())),
        Some(other) => Err(FieldError {
            file: file.to_string(),
            message: format!("{key} must be a string (found {})", input::kind(other)),
        }),
    }
}

/// The fields a thin event may name its type with, in the order they are read.
const EVENT_TYPE_KEYS: [&str; 3] = ["event_type", "type", "eventType"];

/// The event's type, when one of the type fields holds a string.
pub fn event_type_of(event: &Map<String, Value>) -> Option<&str> {
    EVENT_TYPE_KEYS
        .iter()
        .find_map(|k| event.get(*k).and_then(Value::as_str))
}

pub(super) fn read_thin(
    file: &str,
    event: &Map<String, Value>,
    spec: Option<&EventSpec>,
) -> Result<Thin, FieldError> {
    let mut event_type = None;
    for key in EVENT_TYPE_KEYS {
        if let Some(t) = string_field(file, event, key)? {
            event_type = Some(t);
            break;
        }
    }
    let event_type = event_type.ok_or_else(|| FieldError {
        file: file.to_string(),
        message: "no event_type (or type) field: a thin event names what happened, e.g. \"event_type\": \"OrderPlaced\"".to_string(),
    })?;
    let spec_id = spec.map(|s| s.id_field.clone());
    let id_field = spec_id
        .filter(|f| event.contains_key(f))
        .or_else(|| {
            event
                .keys()
                .find(|k| (k.ends_with("_id") || k.ends_with("Id")) && !k.starts_with("event") && !k.starts_with("correlation"))
                .cloned()
        })
        .ok_or_else(|| FieldError {
            file: file.to_string(),
            message: "no entity id field (such as order_id): a thin event must say which entity it is about".to_string(),
        })?;
    let id = string_field(file, event, &id_field)?.ok_or_else(|| FieldError {
        file: file.to_string(),
        message: format!("{id_field} is empty"),
    })?;
    if classify::classify(&Value::String(id.clone()))
        .iter()
        .any(|f| f.class == Class::Secret)
    {
        return Err(FieldError {
            file: file.to_string(),
            message: format!(
                "{id_field} looks like a secret (a card number or key), not an entity id; use the entity's own id"
            ),
        });
    }
    Ok(Thin {
        event_type,
        id_field,
        id,
        occurred_at: string_field(file, event, "occurred_at")?
            .unwrap_or_else(|| crate::sim::model::rfc3339_utc(crate::drill::now())),
        correlation_id: string_field(file, event, "correlation_id")?,
        source: string_field(file, event, "source")?,
    })
}
