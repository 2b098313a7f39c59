//! The one redactor every echo of user content goes through: a key, id, type name or line of
//! text that looks like a secret or personal data is replaced by what it is, never shown.
//!
//! Headings, notes, error messages, `--check` verdicts and what is recorded in the learner's
//! store all pass user content through [`text`]; whole JSON documents go through [`json`].

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::classify::{self, Class};

/// How much a scrub of a JSON document takes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Secrets only: for a payload whose personal data was already weighed field by field.
    Secrets,
    /// Secrets and personal data: for anything else.
    Everything,
}

impl Scope {
    fn covers(self, class: Class) -> bool {
        match class {
            Class::Secret => true,
            Class::Pii => self == Self::Everything,
            Class::Ordinary => false,
        }
    }
}

/// What `s` would give away if shown, in a phrase that quotes none of it.
pub fn sensitive(s: &str) -> Option<(Class, String)> {
    classify::describe(s)
}

/// What stands in for a value that is not shown.
pub fn placeholder(what: &str) -> String {
    format!("[redacted: {what}]")
}

/// `s` itself, or a placeholder saying what it is when it looks like a secret or personal data.
pub fn text(s: &str) -> Cow<'_, str> {
    match sensitive(s) {
        Some((_, what)) => Cow::Owned(placeholder(&what)),
        None => Cow::Borrowed(s),
    }
}

/// A copy of `value` with every key and string in `scope` replaced by a placeholder.
pub fn json(value: &Value, scope: Scope) -> Value {
    let mut copy = value.clone();
    scrub(&mut copy, scope);
    copy
}

/// Replaces every key and string of `value` in `scope` by a placeholder; returns how many.
/// Keeps its own stack, so no nesting depth can exhaust the call stack.
pub fn scrub(value: &mut Value, scope: Scope) -> usize {
    let mut count = 0;
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::String(s) => {
                if let Some((class, what)) = sensitive(s)
                    && scope.covers(class)
                {
                    *s = placeholder(&what);
                    count += 1;
                }
            }
            Value::Array(items) => stack.extend(items.iter_mut()),
            Value::Object(map) => {
                count += scrub_keys(map, scope);
                stack.extend(map.values_mut());
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
    count
}

/// Renames the keys of `map` in `scope` to placeholders, in place and in order; a placeholder
/// that would collide with another key is numbered.
fn scrub_keys(map: &mut Map<String, Value>, scope: Scope) -> usize {
    let hits: HashMap<String, String> = map
        .keys()
        .filter_map(|key| {
            sensitive(key)
                .filter(|(class, _)| scope.covers(*class))
                .map(|(_, what)| (key.clone(), what))
        })
        .collect();
    if hits.is_empty() {
        return 0;
    }
    let kept: HashSet<String> = map
        .keys()
        .filter(|key| !hits.contains_key(*key))
        .cloned()
        .collect();
    let entries = std::mem::take(map);
    let mut numbers: HashMap<String, usize> = HashMap::new();
    for (key, value) in entries {
        let renamed = match hits.get(&key) {
            Some(what) => {
                let base = placeholder(what);
                let n = numbers.entry(base.clone()).or_insert(1);
                let mut name = base.clone();
                while map.contains_key(&name) || kept.contains(&name) {
                    *n += 1;
                    name = format!("{base} {n}");
                }
                name
            }
            None => key,
        };
        map.insert(renamed, value);
    }
    hits.len()
}

/// Removes every entry whose key looks like a secret or personal data, at any depth: such a
/// key would carry what it holds onto an event through the field's name. Returns how many.
pub fn drop_sensitive_keys(map: &mut Map<String, Value>) -> usize {
    let mut count = 0;
    let mut stack: Vec<&mut Map<String, Value>> = vec![map];
    while let Some(map) = stack.pop() {
        let before = map.len();
        map.retain(|key, _| sensitive(key).is_none());
        count += before - map.len();
        for value in map.values_mut() {
            let mut inner = vec![value];
            while let Some(v) = inner.pop() {
                match v {
                    Value::Object(m) => stack.push(m),
                    Value::Array(items) => inner.extend(items.iter_mut()),
                    _ => {}
                }
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn text_that_looks_sensitive_is_replaced_by_what_it_is() {
        assert_eq!(
            text("AKIAIOSFODNN7EXAMPLE"),
            "[redacted: an AWS access key id]"
        );
        assert_eq!(
            text("078-05-1120"),
            "[redacted: a US social security number]"
        );
        assert_eq!(
            text("key sk_live_51HxYzAbCdEfGhIjKlMnOp here"),
            "[redacted: text containing a Stripe secret key]"
        );
        // A suffix glued on with an underscore hides nothing.
        for glued in [
            "ada@example.com_id",
            "078-05-1120_ref",
            "NDExMTExMTExMTExMTExMQ==_id",
        ] {
            assert!(text(glued).starts_with("[redacted: "), "{glued}");
        }
        for plain in [
            "OrderPlaced",
            "ord_9f2a",
            "order_id",
            "2026-03-14T09:26:53Z",
            "",
        ] {
            assert_eq!(text(plain), plain);
        }
    }

    #[test]
    fn a_json_scrub_reaches_every_key_and_string_at_any_depth() {
        let mut deep = json!("AKIAIOSFODNN7EXAMPLE");
        for _ in 0..200 {
            deep = json!([deep]);
        }
        let mut doc = json!({
            "type": "sk_live_51HxYzAbCdEfGhIjKlMnOp",
            "AKIAIOSFODNN7EXAMPLE": 1,
            "ASIAIOSFODNN7EXAMPLE": 2,
            "[redacted: an AWS access key id]": 3,
            "customer": {"email": "ada@example.com", "name": "Ada"},
            "deep": deep,
        });
        let everything = json(&doc, Scope::Everything);
        let text = everything.to_string();
        for leaked in ["sk_live", "AKIA", "ASIA", "ada@example.com"] {
            assert!(!text.contains(leaked), "{leaked} in {text}");
        }
        assert_eq!(everything.as_object().map(|m| m.len()), Some(6));
        assert_eq!(everything["customer"]["name"], "Ada");
        assert_eq!(scrub(&mut doc, Scope::Secrets), 4);
        assert_eq!(doc["customer"]["email"], "ada@example.com");
    }

    #[test]
    fn entries_under_sensitive_keys_are_dropped_at_any_depth() {
        let mut record = json!({
            "order_id": "ord_1",
            "AKIAIOSFODNN7EXAMPLE": {"x": 1},
            "items": [{"ada@example.com": true, "sku": "A"}],
        });
        let map = record.as_object_mut().unwrap();
        assert_eq!(drop_sensitive_keys(map), 2);
        assert_eq!(
            record,
            json!({"order_id": "ord_1", "items": [{"sku": "A"}]})
        );
    }
}
