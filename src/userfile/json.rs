//! Finding a key given twice in one JSON object, with both places (JSON parsers keep one of the
//! two silently, and the learner should choose which), and nesting too deep to be a real document.

use std::collections::HashMap;

/// A key that appears twice in one object: where it first stood and where it stands again, each
/// as a 1-based line and column.
#[derive(Debug, PartialEq, Eq)]
pub struct Duplicate {
    pub key: String,
    pub first: (usize, usize),
    pub again: (usize, usize),
}

/// What [`check_shape`] found wrong with a document's structure.
#[derive(Debug, PartialEq, Eq)]
pub enum Shape {
    Duplicate(Duplicate),
    /// An object or array opened at this line and column, deeper than allowed.
    TooDeep {
        at: (usize, usize),
    },
}

/// The first key repeated within one object of `text`, comparing keys after `same` (for example
/// lower-casing keys that are case-insensitive ids). Tolerant of invalid JSON: what it cannot make
/// sense of is left for the parser to report.
pub fn first_duplicate_key(text: &str, same: impl Fn(&str) -> String) -> Option<Duplicate> {
    match check_shape(text, same, usize::MAX) {
        Some(Shape::Duplicate(duplicate)) => Some(duplicate),
        _ => None,
    }
}

/// As [`first_duplicate_key`], and also stops at the first object or array nested more than
/// `max_depth` deep. One pass with an explicit stack: a million brackets cost no recursion.
pub fn check_shape(text: &str, same: impl Fn(&str) -> String, max_depth: usize) -> Option<Shape> {
    enum Frame {
        Object {
            keys: HashMap<String, (usize, usize)>,
            expect_key: bool,
        },
        Array,
    }
    let mut stack: Vec<Frame> = Vec::new();
    let (mut line, mut column) = (1usize, 0usize);
    let mut chars = text.char_indices();
    while let Some((start, c)) = chars.next() {
        column += 1;
        match c {
            '\n' => {
                line += 1;
                column = 0;
            }
            '{' | '[' if stack.len() >= max_depth => {
                return Some(Shape::TooDeep { at: (line, column) });
            }
            '{' => stack.push(Frame::Object {
                keys: HashMap::new(),
                expect_key: true,
            }),
            '[' => stack.push(Frame::Array),
            '}' | ']' => {
                stack.pop();
            }
            ',' => {
                if let Some(Frame::Object { expect_key, .. }) = stack.last_mut() {
                    *expect_key = true;
                }
            }
            '"' => {
                let at = (line, column);
                let mut end = text.len();
                let mut escaped = false;
                for (i, s) in chars.by_ref() {
                    column += 1;
                    if escaped {
                        escaped = false;
                    } else if s == '\\' {
                        escaped = true;
                    } else if s == '"' {
                        end = i + 1;
                        break;
                    } else if s == '\n' {
                        line += 1;
                        column = 0;
                    }
                }
                if let Some(Frame::Object { keys, expect_key }) = stack.last_mut()
                    && *expect_key
                {
                    *expect_key = false;
                    let raw = &text[start..end];
                    let key: String = serde_json::from_str(raw).unwrap_or_else(|_| raw.to_string());
                    if let Some(first) = keys.insert(same(&key), at) {
                        return Some(Shape::Duplicate(Duplicate {
                            key,
                            first,
                            again: at,
                        }));
                    }
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(text: &str) -> Option<Duplicate> {
        first_duplicate_key(text, str::to_string)
    }

    #[test]
    fn a_repeated_key_is_found_with_both_places() {
        let found = exact("{\"a\": {\n  \"R1\": \"x\",\n  \"R1\": \"y\"}}").unwrap();
        assert_eq!(
            found,
            Duplicate {
                key: "R1".into(),
                first: (2, 3),
                again: (3, 3)
            }
        );
    }

    #[test]
    fn the_same_key_in_different_objects_or_as_a_value_is_fine() {
        assert_eq!(exact(r#"{"a": {"id": 1}, "b": {"id": 2}}"#), None);
        assert_eq!(exact(r#"{"a": "a", "b": ["a", "a"]}"#), None);
        assert_eq!(exact(r#"{"a": "x\"}, \"a"}"#), None);
    }

    #[test]
    fn escaped_and_folded_spellings_are_the_same_key() {
        assert!(exact(r#"{"a": 1, "\u0061": 2}"#).is_some());
        assert_eq!(exact(r#"{"r1": 1, "R1": 2}"#), None);
        let folded = first_duplicate_key(r#"{"r1": 1, "R1": 2}"#, str::to_ascii_lowercase);
        assert_eq!(folded.unwrap().key, "R1");
    }

    #[test]
    fn broken_json_does_not_panic() {
        for text in ["\"", "{\"", "}}}", "{\"a\\", "[{\"é\":1,\"é\""] {
            let _ = exact(text);
        }
    }
}
