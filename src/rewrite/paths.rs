//! Dotted paths into a JSON record (`customer.email`, `items[2].card`): read, write, remove, and
//! whether one path lies beneath another.

use serde_json::{Map, Value};

/// The value at a dotted path of a JSON object.
pub(crate) fn get_path<'v>(root: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
    let mut parts = path.split('.');
    let mut current = root.get(parts.next()?)?;
    for part in parts {
        current = current.as_object()?.get(part)?;
    }
    Some(current)
}

pub(super) fn set_path(root: &mut Map<String, Value>, path: &str, value: Value) {
    let parts: Vec<&str> = path.split('.').collect();
    let mut current = root;
    for part in &parts[..parts.len() - 1] {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else { return };
        current = next;
    }
    if let Some(last) = parts.last() {
        current.insert((*last).to_string(), value);
    }
}

/// Removes the value at a path like `customer.email` or `items[2].card`.
pub(super) fn remove_path(value: &mut Value, path: &str) {
    let mut steps: Vec<Step> = Vec::new();
    for part in path.split('.') {
        let (key, rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            steps.push(Step::Key(key.to_string()));
        }
        for index in rest.split('[') {
            if let Ok(i) = index.trim_end_matches(']').parse::<usize>() {
                steps.push(Step::Index(i));
            }
        }
    }
    fn go(value: &mut Value, steps: &[Step]) {
        match (steps, value) {
            ([Step::Key(k)], Value::Object(map)) => {
                map.remove(k);
            }
            ([Step::Index(i)], Value::Array(items)) if *i < items.len() => {
                items[*i] = Value::Null;
            }
            ([Step::Key(k), rest @ ..], Value::Object(map)) => {
                if let Some(next) = map.get_mut(k) {
                    go(next, rest);
                }
            }
            ([Step::Index(i), rest @ ..], Value::Array(items)) => {
                if let Some(next) = items.get_mut(*i) {
                    go(next, rest);
                }
            }
            _ => {}
        }
    }
    go(value, &steps);
}

enum Step {
    Key(String),
    Index(usize),
}

/// Whether `path` is `need` itself or lies beneath it (`customer.email` under `customer`).
pub(crate) fn within(path: &str, need: &str) -> bool {
    path == need || path.starts_with(&format!("{need}.")) || path.starts_with(&format!("{need}["))
}

/// Every path `path` lies beneath, as [`within`] reads it: `customer` and `customer.address` for
/// `customer.address.city`, and the root (the empty path) for `["a.b"]` or `[0]`. A quoted key
/// is one step, whatever it holds, so the cost stays linear in the path's depth.
pub(crate) fn ancestors(path: &str) -> Vec<&str> {
    let bytes = path.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'.' => {
                found.push(&path[..i]);
                i += 1;
            }
            b'[' => {
                found.push(&path[..i]);
                i += 1;
                if bytes.get(i) == Some(&b'"') {
                    i += 1;
                    while let Some(&c) = bytes.get(i) {
                        i += if c == b'\\' { 2 } else { 1 };
                        if c == b'"' {
                            break;
                        }
                    }
                }
            }
            _ => i += 1,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_are_the_paths_within_reads_as_parents() {
        assert_eq!(
            ancestors("customer.address.city"),
            ["customer", "customer.address"]
        );
        assert_eq!(ancestors("items[2].card"), ["items", "items[2]"]);
        assert_eq!(ancestors(r#"a["x.y[z]"].b"#), ["a", r#"a["x.y[z]"]"#]);
        assert_eq!(ancestors(r#"["q\"."]"#), [""]);
        assert!(ancestors("plain").is_empty());
        for path in [
            "customer.address.city",
            "items[2].card",
            r#"a["x.y"].b"#,
            "[0]",
        ] {
            for parent in ancestors(path) {
                assert!(within(path, parent) && parent != path, "{parent} of {path}");
            }
        }
    }
}
