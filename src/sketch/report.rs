//! What a sketch check reports: one judged item per design point, and where the sketch did not parse.

use std::collections::BTreeMap;

/// How one item of the sketch was judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Missing,
    Wrong,
    /// Could not be judged here: the sandbox cannot run it, or the file does not hold that part.
    /// A required item in this state still keeps the sketch from passing.
    #[serde(rename = "not-judged")]
    NotJudged,
}

/// One judged item: what was found and why it matters.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Item {
    pub id: &'static str,
    pub status: Status,
    pub required: bool,
    pub message: String,
    /// The shared facts the verdict rests on, by name ("write-scope": "one-transaction"). Every
    /// item that cites a fact cites the same value, so no two items can disagree about it.
    pub facts: BTreeMap<&'static str, String>,
}

/// A statement that did not parse, at its 1-based line and column in the sketch.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ParseProblem {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// The SQL dialect a sketch is written in, when the learner names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Mysql,
    Sqlite,
}

/// How to check a sketch: in a named dialect or the one the text shows, and the whole design or
/// the schema alone.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    pub dialect: Option<Dialect>,
    /// A schema review: judge the tables and indexes alone, and do not ask for the write
    /// transaction, the relay or the consumer.
    pub schema_only: bool,
}

/// The whole verdict on a sketch.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SketchReport {
    /// "postgresql", "mysql" or "sqlite": the one given with `--dialect`, else MySQL when the
    /// text writes what only MySQL does, else whichever of PostgreSQL and SQLite read more of
    /// the sketch (PostgreSQL on a tie).
    pub dialect: &'static str,
    /// Why that dialect: "given with --dialect", or what in the text chose it.
    pub dialect_reason: String,
    /// "sketch" for the whole design, "schema" for a schema review (`--only ddl`).
    pub review: &'static str,
    pub items: Vec<Item>,
    /// No required item is missing or wrong.
    pub passed: bool,
    pub parse_problems: Vec<ParseProblem>,
}
