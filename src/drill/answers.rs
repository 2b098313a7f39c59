//! A session from an answers file: its JSON shape, checked against the pack, then every selected
//! answer graded and recorded. Nothing is asked.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use serde::Deserialize;

use super::error::DrillError;
use super::plan::Selection;
use super::record::record_all;
use crate::content::{Pack, Section};
use crate::grade::item::{Graded, ScenarioAnswer, grade_item, grade_scenario};
use crate::store::Store;
use crate::userfile::{self, Limit, Text};

/// The largest answers file read: every drill answered at length is a few dozen KiB.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// The longest single answer accepted, counted over all its parts: a few paragraphs at most.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// Reads an answers file, or standard input for `-`, within [`MAX_FILE_BYTES`].
pub fn read(path: &Path) -> Result<Text, DrillError> {
    let limit = Limit {
        max_bytes: MAX_FILE_BYTES,
        what: "an answers file",
        expect: "a JSON file",
    };
    Ok(userfile::read(path, &limit)?)
}

/// What the learner gave for one item.
#[derive(Clone, Debug)]
pub enum Given {
    Text(String),
    Scenario(ScenarioAnswer),
}

impl Given {
    /// How many bytes of text the learner gave.
    fn len(&self) -> usize {
        match self {
            Given::Text(text) => text.len(),
            Given::Scenario(a) => [&a.channel, &a.payload, &a.outbox, &a.reason]
                .iter()
                .map(|part| part.as_ref().map_or(0, String::len))
                .sum(),
        }
    }

    /// As the progress store keeps it.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Given::Text(text) => serde_json::Value::String(text.clone()),
            Given::Scenario(answer) => serde_json::to_value(answer).unwrap_or_default(),
        }
    }
}

/// A checked answers file: what was given for each item, by section and the item's own id.
pub type Answers = BTreeMap<(Section, String), Given>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswersFile {
    #[serde(default)]
    scenarios: BTreeMap<String, ScenarioAnswerFile>,
    #[serde(default)]
    retrieval: BTreeMap<String, String>,
    #[serde(default)]
    compare: BTreeMap<String, String>,
    #[serde(default)]
    mistakes: BTreeMap<String, String>,
    #[serde(default)]
    concepts: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioAnswerFile {
    channel: Option<String>,
    payload: Option<String>,
    outbox: Option<YesNo>,
    reason: Option<String>,
}

/// `true`/`false` or a word for it.
#[derive(Deserialize)]
#[serde(untagged)]
enum YesNo {
    Bool(bool),
    Text(String),
}

/// Reads and checks the text of an answers file, named `file` in errors: valid JSON with no key
/// given twice (ids compared without case, as they are matched), every answer within
/// [`MAX_ANSWER_BYTES`], and every id naming an item of its section; every id that does not is
/// reported.
pub fn parse(file: &str, text: &str, pack: &Pack) -> Result<Answers, DrillError> {
    let syntax = |err: serde_json::Error| DrillError::AnswersSyntax {
        file: file.to_string(),
        line: err.line(),
        column: err.column(),
        message: strip_position(&err.to_string()).to_string(),
    };
    serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(syntax)?;
    if let Some(twice) = userfile::first_duplicate_key(text, str::to_ascii_lowercase) {
        return Err(DrillError::DuplicateKey {
            file: file.to_string(),
            key: twice.key,
            first_line: twice.first.0,
            line: twice.again.0,
            column: twice.again.1,
        });
    }
    let parsed: AnswersFile = serde_json::from_str(text).map_err(syntax)?;
    let mut out = BTreeMap::new();
    let mut problems = Vec::new();
    for (id, answer) in parsed.scenarios {
        match pack
            .scenarios
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(&id))
        {
            Some(s) => {
                let outbox = answer.outbox.map(|o| match o {
                    YesNo::Bool(true) => "yes".to_string(),
                    YesNo::Bool(false) => "no".to_string(),
                    YesNo::Text(t) => t,
                });
                out.insert(
                    (Section::Scenarios, s.id.clone()),
                    Given::Scenario(ScenarioAnswer {
                        channel: answer.channel,
                        payload: answer.payload,
                        outbox,
                        reason: answer.reason,
                    }),
                );
            }
            None => problems.push(unknown(&id, Section::Scenarios, pack)),
        }
    }
    let texts = [
        (Section::Retrieval, parsed.retrieval),
        (Section::Compare, parsed.compare),
        (Section::Mistakes, parsed.mistakes),
        (Section::Concepts, parsed.concepts),
    ];
    for (section, answers) in texts {
        for (id, text) in answers {
            match pack
                .items
                .iter()
                .find(|i| i.section == section && i.id.eq_ignore_ascii_case(&id))
            {
                Some(item) => {
                    out.insert((section, item.id.clone()), Given::Text(text));
                }
                None => problems.push(unknown(&id, section, pack)),
            }
        }
    }
    if let Some(((section, id), given)) = out.iter().find(|(_, g)| g.len() > MAX_ANSWER_BYTES) {
        return Err(DrillError::AnswerTooLong {
            file: file.to_string(),
            section: section.to_string(),
            id: id.clone(),
            bytes: given.len(),
            max: MAX_ANSWER_BYTES,
        });
    }
    if !problems.is_empty() {
        return Err(DrillError::UnknownAnswers {
            file: file.to_string(),
            problems,
        });
    }
    Ok(out)
}

/// What is wrong with an id that is not in its section: it belongs to another, or what the
/// section's ids are.
fn unknown(id: &str, section: Section, pack: &Pack) -> String {
    let known: Vec<&str> = if section == Section::Scenarios {
        pack.scenarios.iter().map(|s| s.id.as_str()).collect()
    } else {
        pack.items
            .iter()
            .filter(|i| i.section == section)
            .map(|i| i.id.as_str())
            .collect()
    };
    let elsewhere = pack
        .items
        .iter()
        .find(|i| i.id.eq_ignore_ascii_case(id))
        .map(|i| i.section);
    match elsewhere {
        Some(other) => {
            format!("'{id}' is a {other} item, not {section}: move it under \"{other}\"")
        }
        None => format!(
            "no item '{id}' in {section} (its items are {})",
            known.join(", ")
        ),
    }
}

/// serde_json appends " at line L column C"; the position is already at the front.
fn strip_position(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

/// An answers file, graded and recorded.
#[derive(Debug)]
pub struct Marked {
    /// The session the answers are recorded under.
    pub session: i64,
    pub graded: Vec<Graded>,
}

/// Grades the selected answers, by section then id, and records them together in one session
/// and one transaction. `file` names the answers file in errors.
pub fn grade(
    store: &Store,
    pack: &Pack,
    answers: &Answers,
    selection: &Selection,
    file: &str,
) -> Result<Marked> {
    let selected: Vec<&(Section, String)> = answers
        .keys()
        .filter(|(section, id)| selection.includes(*section, id))
        .collect();
    if selected.is_empty() {
        return Err(DrillError::NothingSelected {
            file: file.to_string(),
        }
        .into());
    }
    let plan: Vec<String> = selected.iter().map(|(_, id)| id.clone()).collect();
    let session = store.start_session("answers-file", &plan)?;
    let graded: Vec<Graded> = selected
        .iter()
        .map(|key| grade_one(pack, key, &answers[*key]))
        .collect();
    let given: Vec<_> = graded
        .iter()
        .zip(&selected)
        .map(|(g, key)| (g, answers[*key].to_json()))
        .collect();
    record_all(store, session, &given)?;
    store.finish_session(session)?;
    Ok(Marked { session, graded })
}

fn grade_one(pack: &Pack, (section, id): &(Section, String), given: &Given) -> Graded {
    match given {
        Given::Scenario(answer) => {
            let scenario = pack
                .scenarios
                .iter()
                .find(|s| &s.id == id)
                .expect("checked when read");
            grade_scenario(scenario, &pack.misconceptions, answer)
        }
        Given::Text(text) => {
            let item = pack
                .items
                .iter()
                .find(|i| i.section == *section && &i.id == id)
                .expect("checked when read");
            grade_item(item, &pack.misconceptions, text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_builtin(text: &str) -> Result<Answers, DrillError> {
        parse("a.json", text, &crate::content::builtin().unwrap())
    }

    #[test]
    fn an_id_given_twice_names_both_lines_whatever_its_case() {
        let err = parse_builtin("{\"retrieval\": {\n\"R1\": \"x\",\n\"r1\": \"y\"}}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "a.json:3:1: \"r1\" appears twice in one object (first at line 2); keep one"
        );
        let err = parse_builtin("{\"retrieval\": {},\n\"retrieval\": {}}").unwrap_err();
        assert!(matches!(
            err,
            DrillError::DuplicateKey {
                first_line: 1,
                line: 2,
                ..
            }
        ));
    }

    #[test]
    fn an_answer_past_the_limit_is_refused_by_its_item() {
        let long = "x".repeat(MAX_ANSWER_BYTES + 1);
        let err = parse_builtin(&format!("{{\"retrieval\": {{\"R1\": \"{long}\"}}}}")).unwrap_err();
        assert!(
            err.to_string().contains("the answer to retrieval R1 is"),
            "{err}"
        );
        let reason = "x".repeat(MAX_ANSWER_BYTES);
        let err = parse_builtin(&format!(
            "{{\"scenarios\": {{\"A\": {{\"channel\": \"queue\", \"reason\": \"{reason}\"}}}}}}"
        ))
        .unwrap_err();
        assert!(matches!(err, DrillError::AnswerTooLong { .. }), "{err}");
        let fits = "x".repeat(MAX_ANSWER_BYTES);
        assert!(parse_builtin(&format!("{{\"retrieval\": {{\"R1\": \"{fits}\"}}}}")).is_ok());
    }

    #[test]
    fn invalid_json_is_placed_before_anything_else_is_checked() {
        let err = parse_builtin("{\"retrieval\": {\"R1\": \"x\", \"R1\": }").unwrap_err();
        assert!(
            matches!(err, DrillError::AnswersSyntax { line: 1, .. }),
            "{err}"
        );
    }
}
