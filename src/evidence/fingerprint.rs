//! Fingerprints of a learner's artifact that ignore what does not change it: comments, spacing and
//! the case of unquoted words in SQL; formatting and key order in JSON. Two files with the same
//! fingerprint say the same thing, so a reformatted copy of a sample is still the sample.

use serde_json::{Map, Value};

/// The fingerprint of a SQL file (a sketch), stable across msgwork versions. The prefix names the
/// normalisation, so a fingerprint made by another one is never mistaken for a match.
pub fn sql(text: &str) -> String {
    format!("sql1:{:016x}", fnv1a(normalise_sql(text).as_bytes()))
}

/// The fingerprint of a JSON value (a payload): equal for equal values.
pub fn json(value: &Value) -> String {
    let mut canonical = String::new();
    write_canonical(value, &mut canonical);
    format!("json1:{:016x}", fnv1a(canonical.as_bytes()))
}

/// [`json`] of an object.
pub fn json_object(map: &Map<String, Value>) -> String {
    json(&Value::Object(map.clone()))
}

/// FNV-1a, 64 bits: small, fixed for good, and enough to tell files apart. A collision could only
/// make an artifact look like a sample, never make a sample look like the learner's own.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()
}

/// The SQL as its tokens joined by single spaces: `--` and `/* */` comments dropped (nested block
/// comments too), unquoted words lowercased, and string literals, quoted identifiers and
/// dollar-quoted bodies kept exactly as written. An unclosed quote or comment runs to the end of
/// the text, which keeps this linear on any input.
pub fn normalise_sql(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let mut tokens: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(c) = at(i) {
        let next = at(i + 1);
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && next == Some('-') {
            while at(i).is_some_and(|c| c != '\n') {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0usize;
            while let Some(c) = at(i) {
                match (c, at(i + 1)) {
                    ('/', Some('*')) => {
                        depth += 1;
                        i += 2;
                    }
                    ('*', Some('/')) => {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => i += 1,
                }
            }
        } else if matches!(c, '\'' | '"' | '`') {
            // A doubled quote inside is an escaped one, so the quote closes only when single.
            let start = i;
            i += 1;
            while let Some(d) = at(i) {
                i += 1;
                if d == c {
                    if at(i) == Some(c) {
                        i += 1;
                    } else {
                        break;
                    }
                }
            }
            tokens.push(chars[start..i].iter().collect());
        } else if let Some(tag) = dollar_tag(&chars, i) {
            let start = i;
            i += tag.len();
            i = find(&chars, &tag, i).map_or(chars.len(), |end| end + tag.len());
            tokens.push(chars[start..i].iter().collect());
        } else if is_word_char(c) {
            let start = i;
            while at(i).is_some_and(is_word_char) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            tokens.push(word.to_lowercase());
        } else {
            tokens.push(c.to_string());
            i += 1;
        }
    }
    tokens.join(" ")
}

/// The opening `$tag$` (or `$$`) of a PostgreSQL dollar quote at `i`, if one starts there.
fn dollar_tag(chars: &[char], i: usize) -> Option<Vec<char>> {
    if chars.get(i) != Some(&'$') {
        return None;
    }
    let mut j = i + 1;
    while let Some(&c) = chars.get(j) {
        if c == '$' {
            return Some(chars[i..=j].to_vec());
        }
        let starts_ok = j > i + 1 || !c.is_ascii_digit();
        if !(starts_ok && (c.is_alphanumeric() || c == '_')) {
            return None;
        }
        j += 1;
    }
    None
}

fn find(chars: &[char], needle: &[char], from: usize) -> Option<usize> {
    (from..=chars.len().checked_sub(needle.len())?).find(|&k| chars[k..].starts_with(needle))
}

/// Keys sorted, no spacing, numbers by value (`1.0` is `1`), strings escaped as JSON.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let text = match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => i.to_string(),
                (None, Some(u), _) => u.to_string(),
                (None, None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                    (f as i64).to_string()
                }
                (None, None, Some(f)) => f.to_string(),
                (None, None, None) => n.to_string(),
            };
            out.push_str(&text);
        }
        Value::String(s) => out.push_str(&Value::String(s.clone()).to_string()),
        Value::Array(items) => {
            out.push('[');
            for (k, item) in items.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (k, key) in keys.into_iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_spacing_and_keyword_case_do_not_change_a_sketch() {
        let a = "CREATE TABLE outbox (id INT, -- the key\n payload TEXT);";
        let b = "/* mine */ create   table OUTBOX(\n\tid int,payload text /* body */ ) ;\n";
        assert_eq!(normalise_sql(a), normalise_sql(b));
        assert_eq!(sql(a), sql(b));
    }

    #[test]
    fn strings_quoted_names_and_real_changes_do() {
        let base = "INSERT INTO t VALUES ('a b');";
        assert_ne!(sql(base), sql("INSERT INTO t VALUES ('a  b');"));
        assert_ne!(sql(base), sql("INSERT INTO t VALUES ('A B');"));
        assert_ne!(sql("SELECT \"Id\" FROM t"), sql("SELECT \"id\" FROM t"));
        assert_ne!(sql(base), sql("INSERT INTO u VALUES ('a b');"));
        // Comment markers inside a string are text, not comments.
        assert_ne!(sql("SELECT '-- x'"), sql("SELECT ''"));
        assert_eq!(
            normalise_sql("SELECT 'it''s -- fine' -- gone"),
            "select 'it''s -- fine'"
        );
    }

    #[test]
    fn dollar_quotes_nested_comments_and_unclosed_ones_are_read_whole() {
        assert_eq!(
            normalise_sql("DO $body$ BEGIN -- kept\n END $body$; SELECT $1"),
            "do $body$ BEGIN -- kept\n END $body$ ; select $1"
        );
        assert_eq!(normalise_sql("a /* x /* y */ still */ b"), "a b");
        assert_eq!(normalise_sql("a /* never closed"), "a");
        assert_eq!(normalise_sql("a 'never closed"), "a 'never closed");
        assert_eq!(normalise_sql("a $q$ never closed"), "a $q$ never closed");
        assert_eq!(normalise_sql(""), "");
    }

    #[test]
    fn json_ignores_formatting_and_key_order_but_not_values() {
        let a: Value = serde_json::from_str(r#"{"a": 1, "b": [1, {"c": "x"}]}"#).unwrap();
        let b: Value = serde_json::from_str("{\"b\":[1.0,{\"c\":\"x\"}],\n \"a\":1}").unwrap();
        let c: Value = serde_json::from_str(r#"{"a": 1, "b": [{"c": "x"}, 1]}"#).unwrap();
        let d: Value = serde_json::from_str(r#"{"a": "1", "b": [1, {"c": "x"}]}"#).unwrap();
        assert_eq!(json(&a), json(&b));
        assert_ne!(json(&a), json(&c), "array order is part of the value");
        assert_ne!(json(&a), json(&d), "a string is not a number");
        assert_ne!(json(&a), sql("{\"a\": 1}"));
    }
}
