//! What a content pack holds once it is checked: sections, items, scenarios and their choices,
//! rubrics and the misconception catalogue.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::pattern::Pattern;

/// A drill section.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Section {
    Scenarios,
    Retrieval,
    Compare,
    Mistakes,
    Concepts,
}

impl Section {
    pub const ALL: [Section; 5] = [
        Section::Scenarios,
        Section::Retrieval,
        Section::Compare,
        Section::Mistakes,
        Section::Concepts,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Section::Scenarios => "scenarios",
            Section::Retrieval => "retrieval",
            Section::Compare => "compare",
            Section::Mistakes => "mistakes",
            Section::Concepts => "concepts",
        }
    }

    /// What the section is, for headings.
    pub fn title(self) -> &'static str {
        match self {
            Section::Scenarios => "Scenario drills: pick the pattern",
            Section::Retrieval => "Retrieval prompts",
            Section::Compare => "Compare and distinguish",
            Section::Mistakes => "Common-mistake checks",
            Section::Concepts => "Beyond the workshop",
        }
    }

    pub(super) fn parse_item_section(name: &str) -> Option<Section> {
        Section::ALL
            .into_iter()
            .filter(|s| *s != Section::Scenarios)
            .find(|s| s.name() == name)
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One idea a good answer conveys.
#[derive(Clone, Debug)]
pub struct Concept {
    pub id: String,
    pub says: String,
    pub weight: u32,
    pub required: bool,
    pub patterns: Vec<Pattern>,
    pub contradicts: Vec<Pattern>,
}

/// What a free-text answer is graded against.
#[derive(Clone, Debug, Default)]
pub struct Rubric {
    pub concepts: Vec<Concept>,
    /// Catalogue ids the grader looks for.
    pub misconceptions: Vec<String>,
}

/// A free-text drill item.
#[derive(Clone, Debug)]
pub struct Item {
    pub id: String,
    pub section: Section,
    pub title: String,
    pub prompt: String,
    pub hints: Vec<String>,
    pub model_answer: String,
    pub rubric: Rubric,
    pub source: String,
}

/// The three questions of a scenario drill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Question {
    Channel,
    Payload,
    Outbox,
}

impl Question {
    pub const ALL: [Question; 3] = [Question::Channel, Question::Payload, Question::Outbox];

    pub fn name(self) -> &'static str {
        match self {
            Question::Channel => "channel",
            Question::Payload => "payload",
            Question::Outbox => "outbox",
        }
    }

    /// The answers a learner chooses from.
    pub fn options(self) -> &'static [&'static str] {
        match self {
            Question::Channel => &["queue", "topic", "request-reply"],
            Question::Payload => &["notification", "ecst", "none"],
            Question::Outbox => &["yes", "no"],
        }
    }

    /// The question as the learner sees it.
    pub fn ask(self) -> &'static str {
        match self {
            Question::Channel => "Queue, topic or request-reply?",
            Question::Payload => {
                "Notification, event-carried state transfer (ECST), or no event payload?"
            }
            Question::Outbox => "Is a transactional outbox required?",
        }
    }
}

/// Another answer to a choice question: what it earns and what it reveals.
#[derive(Clone, Debug)]
pub struct OtherAnswer {
    pub answer: String,
    pub credit: f64,
    pub why: String,
    pub misconception: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Choice {
    pub expected: String,
    pub explanation: String,
    pub other: Vec<OtherAnswer>,
}

/// A scenario drill.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub id: String,
    pub title: String,
    pub situation: String,
    pub hints: Vec<String>,
    pub channel: Choice,
    pub payload: Choice,
    pub outbox: Choice,
    pub reason: Rubric,
    pub source: String,
}

impl Scenario {
    pub fn choice(&self, question: Question) -> &Choice {
        match question {
            Question::Channel => &self.channel,
            Question::Payload => &self.payload,
            Question::Outbox => &self.outbox,
        }
    }
}

/// A named misconception the grader can recognise.
#[derive(Clone, Debug)]
pub struct Misconception {
    pub id: String,
    pub name: String,
    pub explain: String,
    /// Over-caution rather than error: it costs a correct answer its full marks, but does not
    /// make a partial answer incorrect.
    pub minor: bool,
    pub patterns: Vec<Pattern>,
}

/// A loaded, checked content pack.
#[derive(Clone, Debug, Default)]
pub struct Pack {
    pub scenarios: Vec<Scenario>,
    pub items: Vec<Item>,
    pub misconceptions: BTreeMap<String, Misconception>,
}

impl Pack {
    /// Lays another pack over this one: its items and scenarios replace any with the same id,
    /// and its misconceptions join the catalogue.
    pub fn overlay(&mut self, extra: Pack) {
        let replaced: Vec<String> = extra
            .items
            .iter()
            .map(|i| i.id.clone())
            .chain(extra.scenarios.iter().map(|s| s.id.clone()))
            .collect();
        self.items.retain(|i| !replaced.contains(&i.id));
        self.scenarios.retain(|s| !replaced.contains(&s.id));
        self.items.extend(extra.items);
        self.scenarios.extend(extra.scenarios);
        self.misconceptions.extend(extra.misconceptions);
    }
}
