//! The TOML shapes of content files, exactly as written. Unknown fields are rejected; spans are
//! kept on the values a later check may need to point at.

use serde::Deserialize;
use toml::Spanned;

/// A drill item: `drills/<section>/<id>-<slug>.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemFile {
    /// Content format; this msgwork reads version 1.
    #[serde(rename = "format_version")]
    pub _format_version: u32,
    /// Unique across the pack, e.g. `R3`.
    pub id: Spanned<String>,
    /// `retrieval`, `compare`, `mistakes` or `concepts`.
    pub section: Spanned<String>,
    pub title: String,
    /// The question the learner sees.
    pub prompt: String,
    /// Shown one at a time, on request, before answering.
    #[serde(default)]
    pub hints: Vec<String>,
    /// Shown after grading.
    pub model_answer: String,
    /// Misconception ids (from the catalogue) the grader looks for in answers to this item.
    #[serde(default)]
    pub misconceptions: Vec<Spanned<String>>,
    /// What a good answer must convey.
    #[serde(default = "empty")]
    pub concepts: Spanned<Vec<ConceptFile>>,
}

/// One idea a good answer conveys, and the phrasings that convey it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConceptFile {
    pub id: Spanned<String>,
    /// The idea in one sentence, shown when an answer misses it.
    pub says: String,
    /// Relative weight, 1 or more.
    #[serde(default = "one")]
    pub weight: Spanned<u32>,
    /// A missing required concept caps the verdict at partial.
    #[serde(default)]
    pub required: bool,
    /// Patterns that convey the idea.
    #[serde(rename = "match", default = "empty")]
    pub patterns: Spanned<Vec<Spanned<String>>>,
    /// Patterns that state the opposite.
    #[serde(default)]
    pub contradicts: Vec<Spanned<String>>,
}

fn one() -> Spanned<u32> {
    Spanned::new(0..0, 1)
}

fn zero() -> Spanned<f64> {
    Spanned::new(0..0, 0.0)
}

fn empty<T>() -> Spanned<Vec<T>> {
    Spanned::new(0..0, Vec::new())
}

/// A scenario drill: `scenarios/<id>-<slug>.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    #[serde(rename = "format_version")]
    pub _format_version: u32,
    pub id: Spanned<String>,
    pub title: String,
    /// The situation, in the pack's own words.
    pub situation: String,
    #[serde(default)]
    pub hints: Vec<String>,
    /// `queue`, `topic` or `request-reply`.
    pub channel: ChoiceFile,
    /// `notification`, `ecst` or `none`.
    pub payload: ChoiceFile,
    /// `yes` or `no`.
    pub outbox: ChoiceFile,
    /// The rubric for the learner's free-text defence.
    pub reason: ReasonFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceFile {
    pub expected: Spanned<String>,
    /// Why the expected answer is right.
    pub explanation: String,
    /// What other answers earn and reveal.
    #[serde(default)]
    pub other: Vec<OtherFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtherFile {
    pub answer: Spanned<String>,
    /// 0 is wrong; between 0 and 1 is partial credit.
    #[serde(default = "zero")]
    pub credit: Spanned<f64>,
    pub why: String,
    pub misconception: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonFile {
    #[serde(default = "empty")]
    pub concepts: Spanned<Vec<ConceptFile>>,
    #[serde(default)]
    pub misconceptions: Vec<Spanned<String>>,
}

/// The misconception catalogue: `drills/misconceptions.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueFile {
    #[serde(rename = "format_version")]
    pub _format_version: u32,
    #[serde(default)]
    pub misconception: Vec<MisconceptionFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MisconceptionFile {
    pub id: Spanned<String>,
    /// Used in feedback: "this is the '<name>' misconception".
    pub name: String,
    /// Why it is wrong and what is true instead.
    pub explain: String,
    /// An over-cautious belief rather than a false one (every async job needs an outbox): it
    /// keeps a correct answer from full marks, but does not by itself make a partial answer
    /// incorrect.
    #[serde(default)]
    pub minor: bool,
    #[serde(rename = "match", default)]
    pub patterns: Vec<Spanned<String>>,
}
