//! Pure grading: an answer and what was expected in, a verdict, a score and feedback out.
//!
//! Free text is graded by concepts, not keywords. Each concept is a set of phrasings; a phrasing
//! counts only when it is asserted (not negated in its clause). A phrasing of the concept's
//! opposite (`contradicts`) or of a named misconception outweighs any number of right words,
//! so an answer stuffed with the right vocabulary but saying the wrong thing does not pass.

pub mod item;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::content::text;
use crate::content::{Choice, Misconception, Question, Rubric};

/// The verdict on one answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Incorrect,
    Partial,
    Correct,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Correct => "correct",
            Verdict::Partial => "partial",
            Verdict::Incorrect => "incorrect",
        }
    }

    /// The share of an item's marks this verdict earns.
    pub fn credit(self) -> f64 {
        match self {
            Verdict::Correct => 1.0,
            Verdict::Partial => 0.5,
            Verdict::Incorrect => 0.0,
        }
    }
}

/// A misconception recognised in an answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Spotted {
    pub id: String,
    pub name: String,
    pub explain: String,
    /// The learner's words that showed it.
    pub words: String,
}

/// A concept an answer left out, or stated the opposite of.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Gap {
    pub id: String,
    pub says: String,
    pub required: bool,
    /// For a contradiction: the learner's words that stated the opposite.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub words: Option<String>,
}

/// How a free-text answer fared against its rubric.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TextGrade {
    pub verdict: Verdict,
    /// Weight of the concepts conveyed over the weight of all concepts, 0 to 1.
    pub coverage: f64,
    pub conveyed: Vec<String>,
    pub missing: Vec<Gap>,
    pub contradicted: Vec<Gap>,
    pub misconceptions: Vec<Spotted>,
}

/// Coverage at or above which an answer with every required concept is correct.
const CORRECT_COVERAGE: f64 = 0.6;

/// Grades a free-text answer against a rubric, looking for the rubric's misconceptions.
pub fn grade_text(
    rubric: &Rubric,
    catalogue: &BTreeMap<String, Misconception>,
    answer: &str,
) -> TextGrade {
    let sentences = text::sentences(answer);
    let total: u32 = rubric.concepts.iter().map(|c| c.weight).sum();
    let mut conveyed = Vec::new();
    let mut missing = Vec::new();
    let mut contradicted = Vec::new();
    let mut weight = 0;
    for concept in &rubric.concepts {
        let opposite = concept
            .contradicts
            .iter()
            .filter_map(|p| p.find(&sentences))
            .find(|hit| !hit.negated);
        let gap = |words| Gap {
            id: concept.id.clone(),
            says: concept.says.clone(),
            required: concept.required,
            words,
        };
        if let Some(hit) = opposite {
            contradicted.push(gap(Some(hit.words)));
        } else if concept.patterns.iter().any(|p| p.asserted(&sentences)) {
            conveyed.push(concept.id.clone());
            weight += concept.weight;
        } else {
            missing.push(gap(None));
        }
    }
    let misconceptions: Vec<Spotted> = rubric
        .misconceptions
        .iter()
        .filter_map(|id| catalogue.get(id))
        .filter_map(|m| {
            let hit = m
                .patterns
                .iter()
                .filter_map(|p| p.find(&sentences))
                .find(|hit| !hit.negated)?;
            Some(Spotted {
                id: m.id.clone(),
                name: m.name.clone(),
                explain: m.explain.clone(),
                words: hit.words,
            })
        })
        .collect();
    let coverage = if total == 0 {
        0.0
    } else {
        f64::from(weight) / f64::from(total)
    };
    let required: Vec<&str> = rubric
        .concepts
        .iter()
        .filter(|c| c.required)
        .map(|c| c.id.as_str())
        .collect();
    let required_conveyed = required
        .iter()
        .filter(|id| conveyed.iter().any(|c| c == *id))
        .count();
    let verdict = if !contradicted.is_empty() || !misconceptions.is_empty() {
        // Saying something false outweighs any number of right words.
        Verdict::Incorrect
    } else if required_conveyed == required.len() && coverage >= CORRECT_COVERAGE {
        Verdict::Correct
    } else if (required.is_empty() && coverage >= 0.5) || required_conveyed > 0 {
        // Some of what matters, nothing false.
        Verdict::Partial
    } else {
        Verdict::Incorrect
    };
    TextGrade {
        verdict,
        coverage,
        conveyed,
        missing,
        contradicted,
        misconceptions,
    }
}

/// Reads a learner's choice, accepting the names people actually use, case-insensitively.
pub fn read_choice(question: Question, raw: &str) -> Option<&'static str> {
    let key: String = raw
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let table: &[(&str, &[&str])] = match question {
        Question::Channel => &[
            (
                "queue",
                &[
                    "queue",
                    "work queue",
                    "task queue",
                    "job queue",
                    "point to point",
                    "p2p",
                    "competing consumers",
                    "message queue",
                ],
            ),
            (
                "topic",
                &[
                    "topic",
                    "pub sub",
                    "pubsub",
                    "publish subscribe",
                    "fan out",
                    "fanout",
                    "broadcast",
                    "event bus",
                    "stream",
                    "sns",
                ],
            ),
            (
                "request-reply",
                &[
                    "request reply",
                    "request response",
                    "rpc",
                    "sync",
                    "synchronous",
                    "synchronous call",
                    "direct call",
                    "http",
                    "command with reply",
                    "request",
                ],
            ),
        ],
        Question::Payload => &[
            (
                "notification",
                &[
                    "notification",
                    "event notification",
                    "thin",
                    "thin event",
                    "notify",
                    "id only",
                    "ids only",
                    "reference",
                ],
            ),
            (
                "ecst",
                &[
                    "ecst",
                    "event carried state transfer",
                    "event carried state",
                    "state transfer",
                    "fat event",
                    "full payload",
                    "fat",
                ],
            ),
            (
                "none",
                &[
                    "none",
                    "no event",
                    "not an event",
                    "no payload",
                    "n a",
                    "na",
                    "nothing",
                ],
            ),
        ],
        Question::Outbox => &[
            ("yes", &["yes", "y", "true", "required", "needed", "outbox"]),
            (
                "no",
                &["no", "n", "false", "not required", "not needed", "none"],
            ),
        ],
    };
    table
        .iter()
        .find(|(_, names)| names.contains(&key.as_str()))
        .map(|(canonical, _)| *canonical)
}

/// How a choice fared.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChoiceGrade {
    pub question: Question,
    /// The choice as understood, or what the learner wrote when it could not be read.
    pub given: String,
    pub expected: String,
    pub credit: f64,
    /// Why the expected answer is right, or what is wrong with the one given.
    pub why: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub misconception: Option<String>,
}

/// Grades one choice of a scenario drill.
pub fn grade_choice(question: Question, choice: &Choice, raw: &str) -> ChoiceGrade {
    let read = read_choice(question, raw);
    let given = read.map_or_else(|| raw.trim().to_string(), str::to_string);
    let (credit, why, misconception) = match read {
        Some(answer) if answer == choice.expected => (1.0, choice.explanation.clone(), None),
        Some(answer) => match choice.other.iter().find(|o| o.answer == answer) {
            Some(other) => (other.credit, other.why.clone(), other.misconception.clone()),
            None => (0.0, choice.explanation.clone(), None),
        },
        None => (
            0.0,
            format!(
                "'{}' is not one of {}; {}",
                raw.trim(),
                question.options().join(", "),
                choice.explanation
            ),
            None,
        ),
    };
    ChoiceGrade {
        question,
        given,
        expected: choice.expected.clone(),
        credit,
        why,
        misconception,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_accept_common_names() {
        assert_eq!(read_choice(Question::Channel, "Pub/Sub"), Some("topic"));
        assert_eq!(
            read_choice(Question::Channel, " work_queue "),
            Some("queue")
        );
        assert_eq!(read_choice(Question::Channel, "RPC"), Some("request-reply"));
        assert_eq!(
            read_choice(Question::Payload, "Event-Carried State Transfer"),
            Some("ecst")
        );
        assert_eq!(read_choice(Question::Outbox, "YES"), Some("yes"));
        assert_eq!(read_choice(Question::Outbox, "maybe"), None);
    }
}
