//! Reading a JSON document a learner hands in, safely: size-capped, text only, duplicate keys and
//! absurd nesting refused, every error placed by line and column, and no value ever echoed back
//! (an event or record may hold a secret, and error messages end up in terminals and logs): a
//! key named in an error goes through the redactor first.

use std::path::Path;

use serde_json::{Map, Value};

use super::redact;
use crate::userfile::{self, Limit, ReadError, Shape, Text};

/// The largest event or record accepted: far beyond any real one, small enough to refuse a
/// mistaken multi-gigabyte file at once.
pub const MAX_BYTES: u64 = 8 * 1024 * 1024;
/// The deepest nesting accepted.
pub const MAX_DEPTH: usize = 64;

/// What an event or record may be: JSON text of at most [`MAX_BYTES`].
const LIMIT: Limit = Limit {
    max_bytes: MAX_BYTES,
    what: "an event or record",
    expect: "a JSON file",
};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputError {
    /// Missing, not a regular file, too large or not text.
    #[error(transparent)]
    File(#[from] ReadError),
    #[error("{name} is empty; it should hold one JSON object")]
    Empty { name: String },
    #[error("{name}:{line}:{column}: {what}")]
    Json {
        name: String,
        line: usize,
        column: usize,
        what: String,
    },
    #[error("{name}:{line}:{column}: the key \"{key}\" appears twice in one object; keep one")]
    DuplicateKey {
        name: String,
        line: usize,
        column: usize,
        key: String,
    },
    #[error(
        "{name}:{line}:{column}: nested deeper than {max} levels; events and records are flatter than that"
    )]
    TooDeep {
        name: String,
        line: usize,
        column: usize,
        max: usize,
    },
    #[error("{name}: expected a JSON object at the top level, found {found}")]
    NotObject { name: String, found: &'static str },
}

/// Reads `path` (or standard input for `-`) as text, refusing what cannot be an event or record.
pub fn read(path: impl AsRef<Path>) -> Result<(String, String), InputError> {
    let Text { name, text } = userfile::read(path.as_ref(), &LIMIT)?;
    Ok((name, text))
}

/// Parses `text` as one JSON object.
pub fn parse_object(name: &str, text: &str) -> Result<Map<String, Value>, InputError> {
    if text.trim().is_empty() {
        return Err(InputError::Empty {
            name: name.to_string(),
        });
    }
    // Structure first, without recursion: a million nested brackets is refused quickly and
    // duplicate keys (which JSON parsers silently collapse) are found with their position.
    scan(name, text)?;
    let value: Value = serde_json::from_str(text).map_err(|err| {
        let message = err.to_string();
        let what = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_string();
        InputError::Json {
            name: name.to_string(),
            line: err.line(),
            column: err.column(),
            what: redact::text(&what).into_owned(),
        }
    })?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(InputError::NotObject {
            name: name.to_string(),
            found: kind(&other),
        }),
    }
}

/// What a JSON value is, in words, without its content.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Refuses nesting too deep to be an event and a key given twice in one object, placed by line
/// and column, before the parser sees the text.
fn scan(name: &str, text: &str) -> Result<(), InputError> {
    match userfile::check_shape(text, str::to_string, MAX_DEPTH) {
        None => Ok(()),
        Some(Shape::TooDeep { at: (line, column) }) => Err(InputError::TooDeep {
            name: name.to_string(),
            line,
            column,
            max: MAX_DEPTH,
        }),
        Some(Shape::Duplicate(twice)) => Err(InputError::DuplicateKey {
            name: name.to_string(),
            line: twice.again.0,
            column: twice.again.1,
            key: redact::text(&twice.key).into_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::userfile::Why;

    fn parse(text: &str) -> Result<Map<String, Value>, InputError> {
        parse_object("e.json", text)
    }

    #[test]
    fn a_good_object_parses() {
        let map =
            parse(r#"{"event_type": "OrderPlaced", "nested": {"a": [1, {"b": "}"}]}}"#).unwrap();
        assert_eq!(map["event_type"], "OrderPlaced");
    }

    #[test]
    fn malformed_json_is_placed_by_line_and_column_without_its_values() {
        let err = parse("{\n  \"password\": \"hunter2\",\n  \"x\": }\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("e.json:3:"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn duplicate_keys_are_refused_where_they_stand() {
        let err = parse("{\"a\": 1,\n \"b\": {\"c\": 1, \"c\": 2}}").unwrap_err();
        assert_eq!(
            err,
            InputError::DuplicateKey {
                name: "e.json".into(),
                line: 2,
                column: 16,
                key: "c".into()
            }
        );
        // A key that looks like a secret is named by what it is, never shown.
        let err =
            parse(r#"{"sk_live_51HxYzAbCdEfGhIjKlMnOp": 1, "sk_live_51HxYzAbCdEfGhIjKlMnOp": 2}"#)
                .unwrap_err()
                .to_string();
        assert!(!err.contains("sk_live"), "{err}");
        assert!(
            err.contains("the key \"[redacted: a Stripe secret key]\" appears twice"),
            "{err}"
        );
        // The same key in two different objects is fine.
        assert!(parse(r#"{"a": {"id": 1}, "b": {"id": 2}}"#).is_ok());
        // An escaped spelling of the same key is still the same key.
        assert!(matches!(
            parse(r#"{"a": 1, "\u0061": 2}"#),
            Err(InputError::DuplicateKey { .. })
        ));
    }

    #[test]
    fn absurd_nesting_is_refused_quickly() {
        let deep = "[".repeat(1_000_000);
        assert!(matches!(
            parse(&format!("{{\"a\": {deep}")),
            Err(InputError::TooDeep { .. })
        ));
        let ok = format!("{{\"a\": {}{}}}", "[".repeat(20), "]".repeat(20));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn empty_and_non_object_documents_are_named() {
        assert!(matches!(parse("  \n"), Err(InputError::Empty { .. })));
        assert_eq!(
            parse("[1, 2]").unwrap_err(),
            InputError::NotObject {
                name: "e.json".into(),
                found: "an array"
            }
        );
    }

    #[test]
    fn files_that_cannot_be_events_are_refused_before_parsing() {
        let dir = tempfile::tempdir().unwrap();
        let path = |n: &str| dir.path().join(n);
        let why = |p: std::path::PathBuf| match read(p) {
            Err(InputError::File(err)) => err.why,
            other => panic!("not refused as a file: {other:?}"),
        };
        assert!(matches!(why(path("missing.json")), Why::Unreadable(_)));
        assert_eq!(why(dir.path().to_path_buf()), Why::Directory);
        std::fs::write(path("bin"), [0x7b, 0x00, 0xff]).unwrap();
        assert_eq!(why(path("bin")), Why::Binary(1));
        std::fs::write(path("latin1"), [0x7b, 0x22, 0xe9, 0x22]).unwrap();
        assert_eq!(why(path("latin1")), Why::Binary(2));
        let big = std::fs::File::create(path("big")).unwrap();
        big.set_len(MAX_BYTES + 1).unwrap();
        assert!(matches!(why(path("big")), Why::TooLarge { .. }));
    }
}
