//! A scenario's multiple-choice questions: reading the names people use for an answer, and what
//! the answer given earns.

use serde::Serialize;

use crate::content::{Choice, Question};

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
