//! The walk over a JSON record: every field is judged by its name and its value, with its own
//! stack so no nesting depth can exhaust the call stack, and paths built only for what is reported.

use serde_json::Value;

use super::class::{Class, Finding};
use super::names::{Ctx, Field, Named, PiiKind, analyze_key};
use super::neighbours::Neighbours;
use super::normalize::normalize;
use super::pii_shapes::ssn_digits;
use super::secret_shapes::aws_secret_access_key;
use super::values::{
    Detection, bare_ssn, card_number, scan_key, scan_pii, scan_secret, secret_in_context,
};

/// Classifies every leaf (and every object whose name alone marks it, e.g. `credentials`) of `value`.
/// Ordinary leaves are included with class Ordinary, so callers see every field.
pub fn classify(value: &Value) -> Vec<Finding> {
    let mut walk = Walk {
        nodes: vec![Node {
            parent: None,
            segment: Segment::Root,
        }],
        findings: Vec::new(),
    };
    let mut stack = vec![Frame {
        value,
        node: 0,
        field: Field::default(),
        ctx: Ctx::default(),
        inherited: None,
        collapse: None,
        hint: Hint::default(),
    }];
    while let Some(frame) = stack.pop() {
        walk.visit(frame, &mut stack);
    }
    walk.findings
}

fn rank(class: Class) -> u8 {
    match class {
        Class::Ordinary => 0,
        Class::Pii => 1,
        Class::Secret => 2,
    }
}

#[derive(Clone, Copy)]
enum Segment<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

/// One step of a path; paths are built only for what is reported.
struct Node<'a> {
    parent: Option<usize>,
    segment: Segment<'a>,
}

struct Frame<'a> {
    value: &'a Value,
    node: usize,
    /// What the key this value sits under says.
    field: Field,
    /// What the key says about the fields inside this value.
    ctx: Ctx,
    /// The kind of personal data an enclosing PII-named object holds.
    inherited: Option<PiiKind>,
    /// The finding that stands for this whole entry, when its key itself is sensitive.
    collapse: Option<usize>,
    /// What the value's neighbours say about it.
    hint: Hint,
}

/// What a value's neighbours in its container say about it.
#[derive(Clone, Copy, Debug, Default)]
struct Hint {
    /// A neighbour labels it as a social security number.
    ssn: bool,
    /// It is one piece of a PEM private key split across its neighbours.
    pem_piece: bool,
}

impl Hint {
    fn of(neighbours: &Neighbours, index: usize) -> Self {
        Self {
            ssn: neighbours.ssn,
            pem_piece: neighbours.pem_piece(index),
        }
    }
}

struct Walk<'a> {
    nodes: Vec<Node<'a>>,
    findings: Vec<Finding>,
}

impl<'a> Walk<'a> {
    fn visit(&mut self, frame: Frame<'a>, stack: &mut Vec<Frame<'a>>) {
        match frame.value {
            Value::Object(map) => {
                let Some((inherited, own)) = self.open(&frame, map.is_empty(), "an empty object")
                else {
                    return;
                };
                let mut keyed = frame.collapse.or(own);
                let neighbours = Neighbours::read(map.iter().map(|(k, v)| (Some(k.as_str()), v)));
                for (index, (key, value)) in map.iter().enumerate().rev() {
                    let node = self.node(frame.node, Segment::Key(key));
                    let mut collapse = frame.collapse;
                    if let Some(found) = scan_key(key) {
                        let index = match keyed {
                            Some(index) => {
                                self.escalate(index, found.class);
                                index
                            }
                            None => {
                                let path = self.path(frame.node);
                                self.findings.push(Finding {
                                    path,
                                    class: found.class,
                                    reason: found.key_reason(),
                                });
                                self.findings.len() - 1
                            }
                        };
                        keyed = Some(index);
                        collapse = Some(index);
                    }
                    let info = analyze_key(&normalize(key), frame.ctx);
                    let mut ctx = info.ctx;
                    ctx.aws |= neighbours.aws;
                    stack.push(Frame {
                        value,
                        node,
                        field: info.field,
                        ctx,
                        inherited,
                        collapse,
                        hint: Hint::of(&neighbours, index),
                    });
                }
            }
            Value::Array(items) => {
                let Some((inherited, _)) = self.open(&frame, items.is_empty(), "an empty array")
                else {
                    return;
                };
                let field = Field {
                    version_like: frame.field.version_like,
                    ..Field::default()
                };
                let neighbours = Neighbours::read(items.iter().map(|v| (None, v)));
                let mut ctx = frame.ctx;
                ctx.aws |= neighbours.aws;
                for (i, value) in items.iter().enumerate().rev() {
                    let node = self.node(frame.node, Segment::Index(i));
                    stack.push(Frame {
                        value,
                        node,
                        field,
                        ctx,
                        inherited,
                        collapse: frame.collapse,
                        hint: Hint::of(&neighbours, i),
                    });
                }
            }
            leaf => {
                let (class, reason) = leaf_verdict(leaf, &frame);
                self.emit(&frame, class, reason);
            }
        }
    }

    /// Reports what a container's own name says. `None`: the container is reported whole and
    /// not entered. Otherwise the personal-data kind its fields inherit, and the index of the
    /// container's own finding, if it has one.
    fn open(
        &mut self,
        frame: &Frame<'a>,
        empty: bool,
        empty_reason: &str,
    ) -> Option<(Option<PiiKind>, Option<usize>)> {
        match frame.field.named {
            Named::Secret(kind) => {
                self.emit(frame, Class::Secret, named_reason(kind.noun()));
                None
            }
            Named::Pii(kind) => {
                let own = self.emit(frame, Class::Pii, named_reason(kind.noun()));
                Some((Some(kind), own))
            }
            Named::Metadata | Named::Plain => {
                // The root is the record, not a field: an empty record has nothing to report.
                if empty && frame.node != 0 {
                    match frame.inherited {
                        Some(kind) => self.emit(frame, Class::Pii, inside_reason(kind.noun())),
                        None => self.emit(frame, Class::Ordinary, empty_reason.to_string()),
                    };
                }
                Some((frame.inherited, None))
            }
        }
    }

    /// Reports a finding, or folds it into the finding that stands for a sensitive key. Returns
    /// the index of a new finding.
    fn emit(&mut self, frame: &Frame<'a>, class: Class, reason: String) -> Option<usize> {
        match frame.collapse {
            Some(index) => {
                self.escalate(index, class);
                None
            }
            None => {
                let path = self.path(frame.node);
                self.findings.push(Finding {
                    path,
                    class,
                    reason,
                });
                Some(self.findings.len() - 1)
            }
        }
    }

    fn escalate(&mut self, index: usize, class: Class) {
        if let Some(finding) = self.findings.get_mut(index)
            && rank(class) > rank(finding.class)
        {
            finding.class = class;
            finding.reason.push_str(match class {
                Class::Secret => ", holding a secret",
                Class::Pii | Class::Ordinary => ", holding personal data",
            });
        }
    }

    fn node(&mut self, parent: usize, segment: Segment<'a>) -> usize {
        self.nodes.push(Node {
            parent: Some(parent),
            segment,
        });
        self.nodes.len() - 1
    }

    fn path(&self, node: usize) -> String {
        let mut chain = Vec::new();
        let mut current = Some(node);
        while let Some(index) = current {
            let Some(n) = self.nodes.get(index) else {
                break;
            };
            chain.push(n.segment);
            current = n.parent;
        }
        let mut path = String::new();
        for segment in chain.iter().rev() {
            match segment {
                Segment::Root => {}
                Segment::Key(key) => push_key(&mut path, key),
                Segment::Index(i) => {
                    path.push('[');
                    path.push_str(&i.to_string());
                    path.push(']');
                }
            }
        }
        path
    }
}

fn push_key(path: &mut String, key: &str) {
    if key.is_empty() || key.contains(['.', '[', ']']) {
        path.push_str("[\"");
        for c in key.chars() {
            if c == '"' || c == '\\' {
                path.push('\\');
            }
            path.push(c);
        }
        path.push_str("\"]");
    } else {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    }
}

fn named_reason(noun: &str) -> String {
    format!("named like {noun}")
}

fn inside_reason(noun: &str) -> String {
    format!("inside a field named like {noun}")
}

/// A secret only the value's neighbours reveal: a piece of a split PEM key, or an AWS secret
/// access key beside its access key id or under a name that says AWS.
fn secret_from_context(s: &str, frame: &Frame<'_>) -> Option<Detection> {
    if frame.hint.pem_piece {
        return Some(secret_in_context(
            "a piece of a PEM private key split across neighbouring values",
        ));
    }
    (frame.ctx.aws && aws_secret_access_key(normalize(s).trim()))
        .then(|| secret_in_context("an AWS secret access key"))
}

/// Nine bare digits a neighbour labels as a social security number.
fn ssn_from_context(value: &Value, frame: &Frame<'_>) -> Option<Detection> {
    let digits = match value {
        Value::String(s) => normalize(s).trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (frame.hint.ssn && ssn_digits(&digits)).then(bare_ssn)
}

fn leaf_verdict(value: &Value, frame: &Frame<'_>) -> (Class, String) {
    let (field, inherited) = (frame.field, frame.inherited);
    if value.is_boolean() {
        return (Class::Ordinary, "a boolean flag".to_string());
    }
    let count = field.plural && value.is_number();
    let secret = match value {
        Value::String(s) => scan_secret(s).or_else(|| secret_from_context(s, frame)),
        Value::Number(n) => n.as_u64().and_then(|u| card_number(&u.to_string())),
        _ => None,
    };
    if let Some(found) = secret {
        return (Class::Secret, found.value_reason());
    }
    match field.named {
        Named::Secret(kind) if !count => return (Class::Secret, named_reason(kind.noun())),
        Named::Pii(kind) if !count => return (Class::Pii, named_reason(kind.noun())),
        _ => {}
    }
    let pii = match value {
        Value::String(s) => scan_pii(s, field.version_like),
        _ => None,
    };
    if let Some(found) = pii.or_else(|| ssn_from_context(value, frame)) {
        return (Class::Pii, found.value_reason());
    }
    if let Some(kind) = inherited {
        return (Class::Pii, inside_reason(kind.noun()));
    }
    let reason = if count {
        "a count"
    } else if field.named == Named::Metadata {
        "describes a sensitive field without holding it"
    } else {
        "nothing sensitive in its name or value"
    };
    (Class::Ordinary, reason.to_string())
}

#[cfg(test)]
mod tests;
