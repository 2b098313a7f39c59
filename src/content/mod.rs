//! Drill content as versioned data: the built-in pack and instructors' packs, parsed from text,
//! validated with every problem reported by file, line and fix.

mod file;
pub mod pattern;
pub mod text;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use toml::Spanned;

use file::{CatalogueFile, ChoiceFile, ConceptFile, ItemFile, ScenarioFile};
use pattern::Pattern;

/// The content format this msgwork reads.
pub const FORMAT_VERSION: u32 = 1;

/// The built-in pack, compiled into the binary: `(path, text)`.
static BUILTIN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_content.rs"));

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

    fn parse_item_section(name: &str) -> Option<Section> {
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
    pub patterns: Vec<Pattern>,
}

/// A loaded, checked content pack.
#[derive(Clone, Debug, Default)]
pub struct Pack {
    pub scenarios: Vec<Scenario>,
    pub items: Vec<Item>,
    pub misconceptions: BTreeMap<String, Misconception>,
}

/// What kind of problem a content file has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// Not valid TOML.
    Syntax,
    /// A field that is unknown, missing or of the wrong type.
    Schema,
    /// A missing or unsupported `format_version`.
    FormatVersion,
    /// A file that is none of the three kinds of content.
    UnknownKind,
    /// An id used twice.
    DuplicateId,
    /// A choice answer that is not one of the question's options.
    BadChoice,
    /// A rubric with nothing to grade against.
    EmptyRubric,
    /// A misconception id that the catalogue does not define.
    DanglingMisconception,
    /// A pattern the grader cannot read.
    BadPattern,
    /// A section that does not exist.
    BadSection,
    /// A number out of range (credit, weight).
    BadValue,
    /// A file that cannot be read.
    Unreadable,
}

/// One problem in a content pack, with where it is and how to fix it.
#[derive(Clone, Debug, Serialize)]
pub struct Problem {
    pub file: String,
    /// 1-based; 0 when the problem is about the whole file.
    pub line: usize,
    pub column: usize,
    pub kind: ProblemKind,
    pub message: String,
    pub fix: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )?;
        } else {
            write!(f, "{}: {}", self.file, self.message)?;
        }
        if !self.fix.is_empty() {
            write!(f, " (fix: {})", self.fix)?;
        }
        Ok(())
    }
}

/// A pack could not be loaded; every problem found is listed.
#[derive(Debug, thiserror::Error)]
#[error("{} problem(s) in the content pack, first: {}", problems.len(), problems.first().map(|p| p.to_string()).unwrap_or_default())]
pub struct PackError {
    pub problems: Vec<Problem>,
}

/// A content file's text with the name it is reported under.
pub struct Source<'a> {
    pub name: String,
    pub text: &'a str,
}

/// The built-in pack. Its validity is enforced by the test suite.
pub fn builtin() -> Result<Pack, PackError> {
    let sources: Vec<Source<'_>> = BUILTIN
        .iter()
        .map(|(name, text)| Source {
            name: (*name).to_string(),
            text,
        })
        .collect();
    parse_pack(&sources)
}

/// One file of the built-in pack, by its path.
pub fn builtin_source(name: &str) -> Option<Source<'static>> {
    BUILTIN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(name, text)| Source {
            name: format!("built-in {name}"),
            text,
        })
}

/// Reads every `.toml` file under `dir` (sorted, recursively) as one pack.
pub fn read_dir(dir: &Path) -> Result<Vec<(String, String)>, PackError> {
    let unreadable = |path: &Path, err: std::io::Error| PackError {
        problems: vec![Problem {
            file: path.display().to_string(),
            line: 0,
            column: 0,
            kind: ProblemKind::Unreadable,
            message: format!("cannot read it: {err}"),
            fix: "check the path and its permissions".to_string(),
        }],
    };
    if !dir.is_dir() {
        return Err(unreadable(
            dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
        ));
    }
    let mut files: Vec<PathBuf> = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        let entries = std::fs::read_dir(&next).map_err(|e| unreadable(&next, e))?;
        for entry in entries {
            let path = entry.map_err(|e| unreadable(&next, e))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(unreadable(
            dir,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "it holds no .toml content files (a drill is one TOML file; see docs/content-format.md)",
            ),
        ));
    }
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|e| unreadable(&path, e))?;
        out.push((path.display().to_string(), text));
    }
    Ok(out)
}

/// Parses and checks a set of files as one pack, collecting every problem in every file.
pub fn parse_pack(sources: &[Source<'_>]) -> Result<Pack, PackError> {
    let mut checker = Checker::default();
    for source in sources {
        checker.file(source);
    }
    checker.finish()
}

/// Collects problems and the content that parsed.
#[derive(Default)]
struct Checker {
    problems: Vec<Problem>,
    pack: Pack,
    /// Every id, with where it was first defined.
    ids: HashMap<String, String>,
    /// Misconception references to resolve once the whole pack is read: (id, file, line, col).
    references: Vec<(String, String, usize, usize)>,
}

/// Where a byte offset falls in a text: 1-based line and column.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

struct At<'a> {
    source: &'a Source<'a>,
}

impl At<'_> {
    fn problem(
        &self,
        span: std::ops::Range<usize>,
        kind: ProblemKind,
        message: String,
        fix: impl Into<String>,
    ) -> Problem {
        let (line, column) = if span == (0..0) {
            (0, 0)
        } else {
            line_col(self.source.text, span.start)
        };
        Problem {
            file: self.source.name.clone(),
            line,
            column,
            kind,
            message,
            fix: fix.into(),
        }
    }
}

impl Checker {
    fn file(&mut self, source: &Source<'_>) {
        let at = At { source };
        let table: toml::Table = match toml::from_str(source.text) {
            Ok(table) => table,
            Err(err) => {
                self.problems.push(at.problem(
                    err.span().unwrap_or(0..0),
                    ProblemKind::Syntax,
                    format!("not valid TOML: {}", err.message().trim()),
                    "fix the TOML syntax at this spot (quotes, brackets, commas)",
                ));
                return;
            }
        };
        match table.get("format_version").map(|v| v.as_integer()) {
            None => {
                self.problems.push(at.problem(
                    0..1,
                    ProblemKind::FormatVersion,
                    "no format_version".to_string(),
                    format!("add `format_version = {FORMAT_VERSION}` as the first line"),
                ));
                return;
            }
            Some(Some(v)) if v == i64::from(FORMAT_VERSION) => {}
            Some(Some(v)) if v > i64::from(FORMAT_VERSION) => {
                let span = span_of_key(source.text, "format_version");
                self.problems.push(at.problem(
                    span,
                    ProblemKind::FormatVersion,
                    format!(
                        "format_version {v} is newer than this msgwork reads ({FORMAT_VERSION})"
                    ),
                    "upgrade msgwork, or write the file in format 1",
                ));
                return;
            }
            Some(_) => {
                let span = span_of_key(source.text, "format_version");
                self.problems.push(at.problem(
                    span,
                    ProblemKind::FormatVersion,
                    "format_version must be the integer 1".to_string(),
                    format!("write `format_version = {FORMAT_VERSION}`"),
                ));
                return;
            }
        }
        if table.contains_key("misconception") {
            self.catalogue(&at);
        } else if table.contains_key("situation") || table.contains_key("channel") {
            self.scenario(&at);
        } else if table.contains_key("prompt") || table.contains_key("section") {
            self.item(&at);
        } else {
            self.problems.push(at.problem(
                0..1,
                ProblemKind::UnknownKind,
                "cannot tell what kind of content this is".to_string(),
                "a drill item has `prompt` and `section`, a scenario has `situation`, a catalogue has [[misconception]] entries",
            ));
        }
    }

    fn typed<'de, T: serde::Deserialize<'de>>(&mut self, at: &At<'_>, text: &'de str) -> Option<T> {
        match toml::from_str::<T>(text) {
            Ok(value) => Some(value),
            Err(err) => {
                let message = err.message().trim().to_string();
                let fix = if message.contains("unknown field") {
                    "remove the field or correct its spelling (the expected fields are listed above)"
                } else if message.contains("missing field") {
                    "add the missing field"
                } else {
                    "give the field a value of the type shown"
                };
                self.problems.push(at.problem(
                    err.span().unwrap_or(0..0),
                    ProblemKind::Schema,
                    message,
                    fix,
                ));
                None
            }
        }
    }

    fn claim_id(&mut self, at: &At<'_>, id: &Spanned<String>, what: &str) {
        let name = id.get_ref().clone();
        if name.trim().is_empty() {
            self.problems.push(at.problem(
                id.span(),
                ProblemKind::BadValue,
                format!("the {what} id is empty"),
                "give it a short unique id",
            ));
            return;
        }
        let (line, _) = line_col(at.source.text, id.span().start);
        let here = format!("{}:{line}", at.source.name);
        if let Some(first) = self.ids.get(&name) {
            self.problems.push(at.problem(
                id.span(),
                ProblemKind::DuplicateId,
                format!("the id '{name}' is already used at {first}"),
                "give this one a different id",
            ));
        } else {
            self.ids.insert(name, here);
        }
    }

    fn reference(&mut self, at: &At<'_>, id: &Spanned<String>) {
        let (line, column) = line_col(at.source.text, id.span().start);
        self.references
            .push((id.get_ref().clone(), at.source.name.clone(), line, column));
    }

    fn patterns(&mut self, at: &At<'_>, patterns: &[Spanned<String>]) -> Vec<Pattern> {
        let mut out = Vec::new();
        for p in patterns {
            match Pattern::parse(p.get_ref()) {
                Ok(pattern) => out.push(pattern),
                Err(why) => self.problems.push(at.problem(
                    p.span(),
                    ProblemKind::BadPattern,
                    format!("pattern '{}': {why}", p.get_ref()),
                    "see docs/content-format.md, Patterns",
                )),
            }
        }
        out
    }

    fn rubric(
        &mut self,
        at: &At<'_>,
        concepts: Spanned<Vec<ConceptFile>>,
        misconceptions: Vec<Spanned<String>>,
        owner: &str,
    ) -> Rubric {
        if concepts.get_ref().is_empty() {
            self.problems.push(at.problem(
                concepts.span(),
                ProblemKind::EmptyRubric,
                format!("{owner} has no concepts to grade against"),
                "add at least one [[concepts]] entry with `says` and `match` patterns",
            ));
        }
        let span = concepts.span();
        let mut out = Vec::new();
        for concept in concepts.into_inner() {
            self.claim_id(at, &concept.id, "concept");
            if concept.patterns.get_ref().is_empty() {
                self.problems.push(at.problem(
                    concept.patterns.span().start..concept.patterns.span().end.max(span.start),
                    ProblemKind::EmptyRubric,
                    format!("concept '{}' has no `match` patterns", concept.id.get_ref()),
                    "add the phrasings that convey it, e.g. match = [\"same transaction\"]",
                ));
            }
            if *concept.weight.get_ref() == 0 {
                self.problems.push(at.problem(
                    concept.weight.span(),
                    ProblemKind::BadValue,
                    "weight 0 would make the concept count for nothing".to_string(),
                    "use a weight of 1 or more",
                ));
            }
            let patterns = self.patterns(at, concept.patterns.get_ref());
            let contradicts = self.patterns(at, &concept.contradicts);
            out.push(Concept {
                id: concept.id.into_inner(),
                says: concept.says,
                weight: concept.weight.into_inner().max(1),
                required: concept.required,
                patterns,
                contradicts,
            });
        }
        for m in &misconceptions {
            self.reference(at, m);
        }
        Rubric {
            concepts: out,
            misconceptions: misconceptions
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
        }
    }

    fn item(&mut self, at: &At<'_>) {
        let Some(file) = self.typed::<ItemFile>(at, at.source.text) else {
            return;
        };
        self.claim_id(at, &file.id, "item");
        let section = match Section::parse_item_section(file.section.get_ref()) {
            Some(section) => section,
            None => {
                self.problems.push(at.problem(
                    file.section.span(),
                    ProblemKind::BadSection,
                    format!("'{}' is not a drill section", file.section.get_ref()),
                    "use retrieval, compare, mistakes or concepts (scenarios go in their own files)",
                ));
                Section::Concepts
            }
        };
        let owner = format!("item {}", file.id.get_ref());
        let rubric = self.rubric(at, file.concepts, file.misconceptions, &owner);
        self.pack.items.push(Item {
            id: file.id.into_inner(),
            section,
            title: file.title,
            prompt: file.prompt,
            hints: file.hints,
            model_answer: file.model_answer,
            rubric,
            source: at.source.name.clone(),
        });
    }

    fn choice(&mut self, at: &At<'_>, question: Question, file: ChoiceFile) -> Choice {
        let options = question.options();
        let check = |answer: &Spanned<String>, what: &str| -> Option<Problem> {
            (!options.contains(&answer.get_ref().as_str())).then(|| {
                at.problem(
                    answer.span(),
                    ProblemKind::BadChoice,
                    format!(
                        "{what} '{}' is not one of the {} options",
                        answer.get_ref(),
                        question.name()
                    ),
                    format!("use one of: {}", options.join(", ")),
                )
            })
        };
        if let Some(p) = check(&file.expected, "expected answer") {
            self.problems.push(p);
        }
        let mut other = Vec::new();
        for o in file.other {
            if let Some(p) = check(&o.answer, "answer") {
                self.problems.push(p);
            }
            if o.answer.get_ref() == file.expected.get_ref() {
                self.problems.push(at.problem(
                    o.answer.span(),
                    ProblemKind::BadChoice,
                    format!(
                        "'{}' is the expected answer, listed again under `other`",
                        o.answer.get_ref()
                    ),
                    "remove this `other` entry",
                ));
            }
            let credit = *o.credit.get_ref();
            if !(0.0..1.0).contains(&credit) {
                self.problems.push(at.problem(
                    o.credit.span(),
                    ProblemKind::BadValue,
                    format!("credit {credit} is out of range"),
                    "use 0 for wrong, or a value below 1 for partial credit",
                ));
            }
            if let Some(m) = &o.misconception {
                self.reference(at, m);
            }
            other.push(OtherAnswer {
                answer: o.answer.into_inner(),
                credit: credit.clamp(0.0, 1.0),
                why: o.why,
                misconception: o.misconception.map(Spanned::into_inner),
            });
        }
        Choice {
            expected: file.expected.into_inner(),
            explanation: file.explanation,
            other,
        }
    }

    fn scenario(&mut self, at: &At<'_>) {
        let Some(file) = self.typed::<ScenarioFile>(at, at.source.text) else {
            return;
        };
        self.claim_id(at, &file.id, "scenario");
        let channel = self.choice(at, Question::Channel, file.channel);
        let payload = self.choice(at, Question::Payload, file.payload);
        let outbox = self.choice(at, Question::Outbox, file.outbox);
        let owner = format!("scenario {}'s reason", file.id.get_ref());
        let reason = self.rubric(at, file.reason.concepts, file.reason.misconceptions, &owner);
        self.pack.scenarios.push(Scenario {
            id: file.id.into_inner(),
            title: file.title,
            situation: file.situation,
            hints: file.hints,
            channel,
            payload,
            outbox,
            reason,
            source: at.source.name.clone(),
        });
    }

    fn catalogue(&mut self, at: &At<'_>) {
        let Some(file) = self.typed::<CatalogueFile>(at, at.source.text) else {
            return;
        };
        for m in file.misconception {
            self.claim_id(at, &m.id, "misconception");
            if m.patterns.is_empty() {
                self.problems.push(at.problem(
                    m.id.span(),
                    ProblemKind::EmptyRubric,
                    format!(
                        "misconception '{}' has no `match` patterns, so it can never be recognised",
                        m.id.get_ref()
                    ),
                    "add the phrasings that state it",
                ));
            }
            let patterns = self.patterns(at, &m.patterns);
            let id = m.id.into_inner();
            self.pack.misconceptions.insert(
                id.clone(),
                Misconception {
                    id,
                    name: m.name,
                    explain: m.explain,
                    patterns,
                },
            );
        }
    }

    fn finish(mut self) -> Result<Pack, PackError> {
        for (id, file, line, column) in std::mem::take(&mut self.references) {
            if !self.pack.misconceptions.contains_key(&id) {
                let known: Vec<&str> = self
                    .pack
                    .misconceptions
                    .keys()
                    .map(String::as_str)
                    .collect();
                self.problems.push(Problem {
                    file,
                    line,
                    column,
                    kind: ProblemKind::DanglingMisconception,
                    message: format!("misconception '{id}' is not defined in any catalogue"),
                    fix: match closest(&id, &known) {
                        Some(near) => format!(
                            "did you mean '{near}'? Or add it to drills/misconceptions.toml"
                        ),
                        None => "add it to drills/misconceptions.toml".to_string(),
                    },
                });
            }
        }
        if self.problems.is_empty() {
            self.pack.items.sort_by_key(|i| (i.section, natural(&i.id)));
            self.pack.scenarios.sort_by_key(|s| natural(&s.id));
            Ok(self.pack)
        } else {
            self.problems
                .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
            Err(PackError {
                problems: self.problems,
            })
        }
    }
}

/// Sorts `R2` before `R10`.
fn natural(id: &str) -> (String, u64) {
    let digits = id.trim_start_matches(|c: char| !c.is_ascii_digit());
    let prefix = &id[..id.len() - digits.len()];
    (prefix.to_string(), digits.parse().unwrap_or(0))
}

/// The span of `key = …` at the top of a file, for problems about a top-level value.
fn span_of_key(text: &str, key: &str) -> std::ops::Range<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with(key) {
            return offset..offset + line.len();
        }
        offset += line.len();
    }
    0..0
}

/// The known id nearest to a misspelt one, if any is close.
fn closest<'a>(id: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(id, k), *k))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for j in 0..b.len() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != b[j]))
                .min(row[j] + 1)
                .min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_pack_is_valid_and_complete() {
        let pack = match builtin() {
            Ok(pack) => pack,
            Err(err) => panic!(
                "{}",
                err.problems
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        };
        let ids = |section: Section| -> Vec<String> {
            pack.items
                .iter()
                .filter(|i| i.section == section)
                .map(|i| i.id.clone())
                .collect()
        };
        assert_eq!(ids(Section::Retrieval), ["R1", "R2", "R3", "R4", "R5"]);
        assert_eq!(ids(Section::Compare), ["C1", "C2", "C3", "C4", "C5"]);
        assert_eq!(
            ids(Section::Mistakes),
            ["M1", "M2", "M3", "M4", "M5", "M6", "M7"]
        );
        assert!(ids(Section::Concepts).len() >= 12);
        let scenarios: Vec<&str> = pack.scenarios.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(scenarios, ["A", "B", "C", "D", "E"]);
    }

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }

    #[test]
    fn near_misses_are_suggested() {
        assert_eq!(
            closest("queue-broadcast", &["queue-broadcasts", "other"]),
            Some("queue-broadcasts")
        );
        assert_eq!(closest("zzz", &["queue-broadcasts"]), None);
    }
}
