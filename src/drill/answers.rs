//! A session from an answers file: its JSON shape, checked against the pack, then every selected
//! answer graded and recorded. Nothing is asked.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Deserialize;

use super::error::DrillError;
use super::plan::Selection;
use super::record::record;
use crate::content::{Pack, Section};
use crate::grade::item::{Graded, ScenarioAnswer, grade_item, grade_scenario};
use crate::store::Store;

/// What the learner gave for one item.
#[derive(Clone, Debug)]
pub enum Given {
    Text(String),
    Scenario(ScenarioAnswer),
}

impl Given {
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

/// Reads and checks the text of an answers file, named `file` in errors: every id must name an
/// item of its section, and every one that does not is reported.
pub fn parse(file: &str, text: &str, pack: &Pack) -> Result<Answers, DrillError> {
    let parsed: AnswersFile =
        serde_json::from_str(text).map_err(|err| DrillError::AnswersSyntax {
            file: file.to_string(),
            line: err.line(),
            column: err.column(),
            message: strip_position(&err.to_string()).to_string(),
        })?;
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

/// Grades the selected answers, by section then id, recording each as it is graded, all in one
/// session. `file` names the answers file in errors.
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
    let mut graded = Vec::new();
    for key in selected {
        let given = &answers[key];
        let result = grade_one(pack, key, given);
        record(store, session, &result, &given.to_json())?;
        graded.push(result);
    }
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
