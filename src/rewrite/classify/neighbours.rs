//! What a value's neighbours say about it: an AWS access key id beside a secret access key, a
//! label saying "SSN" beside nine bare digits, a PEM private key split across the strings of an
//! array. Each container's children are read once, so the cost stays linear.

use serde_json::Value;

use super::normalize::normalize;
use super::secret_shapes::aws_access_key_id;

/// What the children of one object or array say about each other.
#[derive(Debug, Default)]
pub(super) struct Neighbours {
    /// A child is an AWS access key id, or a key names one: a 40-character base64 sibling is
    /// its secret access key.
    pub(super) aws: bool,
    /// A child labels its neighbour as a social security number (`"id_type": "ssn"`).
    pub(super) ssn: bool,
    /// For each child, whether it is one piece of a PEM private key spread over several children.
    pem: Vec<bool>,
}

impl Neighbours {
    /// Reads the children of a container, each with its key when the container is an object.
    pub(super) fn read<'a>(children: impl Iterator<Item = (Option<&'a str>, &'a Value)>) -> Self {
        let mut neighbours = Self::default();
        let mut pieces = Vec::new();
        for (key, value) in children {
            if key.is_some_and(names_access_key_id) {
                neighbours.aws = true;
            }
            let text = value.as_str().map(normalize);
            if let Some(t) = &text {
                let t = t.trim();
                neighbours.aws |= aws_access_key_id(t);
                neighbours.ssn |= labels_ssn(t);
            }
            pieces.push(text.map(|t| t.into_owned()).unwrap_or_default());
        }
        neighbours.pem = split_pem(&pieces);
        neighbours
    }

    /// Whether child `index` is a piece of a PEM private key split across children.
    pub(super) fn pem_piece(&self, index: usize) -> bool {
        self.pem.get(index).copied().unwrap_or(false)
    }
}

fn squash(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn names_access_key_id(key: &str) -> bool {
    squash(&normalize(key)).contains("accesskeyid")
}

fn labels_ssn(t: &str) -> bool {
    t.len() <= 40
        && matches!(
            squash(t).as_str(),
            "ssn" | "usssn" | "socialsecurity" | "socialsecuritynumber" | "socialsecurityno"
        )
}

/// Which pieces lie in a PEM private key that starts in one piece and goes on into the next:
/// the pieces are read joined, so a key split anywhere, even inside its `BEGIN` line, is found.
/// A key whole inside one piece is left to the value scan.
fn split_pem(pieces: &[String]) -> Vec<bool> {
    let mut marks = vec![false; pieces.len()];
    if !pieces
        .iter()
        .any(|p| p.contains("-----") || p.contains("BEGIN"))
    {
        return marks;
    }
    let mut joined = String::new();
    let mut spans = Vec::with_capacity(pieces.len());
    for piece in pieces {
        let start = joined.len();
        joined.push_str(piece);
        spans.push((start, joined.len()));
    }
    let mut from = 0;
    let mut cursor = 0;
    while let Some(found) = joined.get(from..).and_then(|rest| rest.find("-----BEGIN")) {
        let begin = from + found;
        let header_start = begin + "-----BEGIN".len();
        // The header is short (`-----BEGIN ENCRYPTED PRIVATE KEY-----`): look no further than this.
        let header: String = joined
            .get(header_start..)
            .unwrap_or_default()
            .chars()
            .take(64)
            .collect();
        let header = header.split("-----").next().unwrap_or_default();
        let private = header
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .contains("PRIVATEKEY");
        if !private {
            from = header_start;
            continue;
        }
        let end = joined
            .get(header_start..)
            .and_then(|rest| rest.find("-----END"))
            .map_or(joined.len(), |at| {
                let marker = header_start + at + "-----END".len();
                joined
                    .get(marker..)
                    .and_then(|rest| rest.find("-----"))
                    .map_or(joined.len(), |close| marker + close + "-----".len())
            });
        // Blocks come in order and do not overlap, so one cursor walks the pieces once.
        while spans.get(cursor).is_some_and(|(_, e)| *e <= begin) {
            cursor += 1;
        }
        let first = cursor;
        let mut inside = Vec::new();
        while let Some((s, e)) = spans.get(cursor).copied().filter(|(s, _)| *s < end) {
            if s < e {
                inside.push(cursor);
            }
            cursor += 1;
        }
        if inside.len() > 1 {
            for i in inside {
                if let Some(mark) = marks.get_mut(i) {
                    *mark = true;
                }
            }
        }
        // The piece holding the end may hold the start of the next block too.
        cursor = cursor.saturating_sub(1).max(first);
        from = end.max(header_start);
    }
    marks
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn of(value: &serde_json::Value) -> Neighbours {
        match value {
            Value::Object(map) => Neighbours::read(map.iter().map(|(k, v)| (Some(k.as_str()), v))),
            Value::Array(items) => Neighbours::read(items.iter().map(|v| (None, v))),
            _ => Neighbours::default(),
        }
    }

    #[test]
    fn a_pem_key_split_anywhere_marks_every_piece_from_begin_to_end() {
        let split = json!([
            "before",
            "-----BEGIN RSA PRIVATE KEY-----",
            "MIIEowIBAAKCAQEA",
            "q7BFUpkGp3",
            "-----END RSA PRIVATE KEY-----",
            "after"
        ]);
        let n = of(&split);
        let marked: Vec<bool> = (0..6).map(|i| n.pem_piece(i)).collect();
        assert_eq!(marked, [false, true, true, true, true, false]);
        let header_split = json!(["-----BEGIN PRIV", "ATE KEY-----MIIEvQ", "IBADANBgkq"]);
        let n = of(&header_split);
        assert!((0..3).all(|i| n.pem_piece(i)));
        let unterminated = json!({"a": "-----BEGIN EC PRIVATE KEY-----", "b": "MHcCAQEEIB"});
        let n = of(&unterminated);
        assert!(n.pem_piece(0) && n.pem_piece(1));
    }

    #[test]
    fn public_keys_whole_keys_and_ordinary_arrays_are_not_marked() {
        for value in [
            json!([
                "-----BEGIN PUBLIC KEY-----",
                "MFkwEwYHKoZIzj0C",
                "-----END PUBLIC KEY-----"
            ]),
            json!([
                "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----",
                "next"
            ]),
            json!(["a", "b", "-----", "BEGIN"]),
            json!([1, 2, 3]),
        ] {
            let n = of(&value);
            assert!((0..4).all(|i| !n.pem_piece(i)), "{value}");
        }
    }

    #[test]
    fn an_access_key_id_or_a_key_naming_one_makes_a_container_aws() {
        assert!(of(&json!({"id": "AKIAIOSFODNN7EXAMPLE", "s": "x"})).aws);
        assert!(of(&json!({"accessKeyId": "redacted", "s": "x"})).aws);
        assert!(of(&json!(["ASIAIOSFODNN7EXAMPLE"])).aws);
        assert!(!of(&json!({"id": "ord_9f2a", "amount": 12})).aws);
    }

    #[test]
    fn a_label_naming_an_ssn_marks_its_neighbours() {
        assert!(of(&json!({"id_type": "SSN", "id_value": "078051120"})).ssn);
        assert!(of(&json!({"kind": "social_security_number"})).ssn);
        assert!(!of(&json!({"kind": "passport", "note": "ssn was not given"})).ssn);
    }
}
