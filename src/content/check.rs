//! Parsing and checking a pack's files: every problem in every file is collected, each with its
//! line, column and a fix, and misconception references are resolved once the whole pack is read.

use std::collections::HashMap;

use toml::Spanned;
use toml::de::DeTable;

use super::fields::{Shape, strip_unknown};
use super::file::{CatalogueFile, ChoiceFile, ConceptFile, ItemFile, ScenarioFile};
use super::model::{
    Choice, Concept, Item, Misconception, OtherAnswer, Pack, Question, Rubric, Scenario, Section,
};
use super::pattern::Pattern;
use super::problem::{PackError, Problem, ProblemKind, Source};

/// The content format this msgwork reads.
pub const FORMAT_VERSION: u32 = 1;

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
    /// The pack's own catalogue files (not the built-in one it may lean on), by name.
    catalogues: Vec<String>,
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
            // The rest of the file is still checked, read as the current format.
            None => {
                self.problems.push(at.problem(
                    0..1,
                    ProblemKind::FormatVersion,
                    "no format_version".to_string(),
                    format!("add `format_version = {FORMAT_VERSION}` as the first line"),
                ));
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

    /// The file as `T`, with every unknown key listed (not only the first) and then every other
    /// schema problem serde finds in what is left.
    fn typed<'de, T: serde::Deserialize<'de>>(
        &mut self,
        at: &At<'_>,
        text: &'de str,
        shape: Shape,
    ) -> Option<T> {
        let mut table = match DeTable::parse(text) {
            Ok(table) => table,
            Err(err) => {
                self.schema(at, &err);
                return None;
            }
        };
        for unknown in strip_unknown(table.get_mut(), &shape) {
            let near = closest(&unknown.key, unknown.expected)
                .filter(|near| edit_distance(&unknown.key, near) <= 1 + unknown.key.len() / 4);
            let fix = match near {
                Some(near) => format!("did you mean `{near}`? If not, remove the field"),
                None => "remove the field or correct its spelling (the expected fields are listed above)"
                    .to_string(),
            };
            let expected: Vec<String> = unknown.expected.iter().map(|f| format!("`{f}`")).collect();
            self.problems.push(at.problem(
                unknown.span,
                ProblemKind::Schema,
                format!(
                    "unknown field `{}`, expected one of {}",
                    unknown.key,
                    expected.join(", ")
                ),
                fix,
            ));
        }
        // A missing format_version was reported already: read the file as the current format.
        if !table.get_ref().contains_key("format_version")
            && let Ok(current) = DeTable::parse("format_version = 1")
        {
            table.get_mut().extend(current.into_inner());
        }
        self.every_schema_problem::<T>(at, table.into_inner())
    }

    /// `T` from `table`, or every schema problem in it: after each one, the field at fault is
    /// taken out (a wrong type) or stood in for (a missing field) and the file is read again, so
    /// a file with three problems reports three at once.
    fn every_schema_problem<'de, T: serde::Deserialize<'de>>(
        &mut self,
        at: &At<'_>,
        mut table: DeTable<'de>,
    ) -> Option<T> {
        let mut found = false;
        // Fields taken out or stood in for: what they cause next is not a problem of its own.
        let mut patched: Vec<String> = Vec::new();
        for _ in 0..32 {
            let err = match T::deserialize(toml::de::Deserializer::from(Spanned::new(
                0..0,
                table.clone(),
            ))) {
                Ok(value) => return (!found).then_some(value),
                Err(err) => err,
            };
            let message = err.message().trim().to_string();
            let missing = message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next())
                .map(str::to_string);
            let span = err.span().filter(|s| !s.is_empty());
            match (missing, span) {
                (Some(name), _) if table.contains_key(name.as_str()) => break,
                (Some(name), _) => {
                    if !patched.contains(&name) {
                        self.schema(at, &err);
                        found = true;
                    }
                    table.insert(
                        Spanned::new(0..0, std::borrow::Cow::Owned(name.clone())),
                        Spanned::new(0..0, toml::de::DeValue::String("".into())),
                    );
                    patched.push(name);
                }
                (None, Some(span)) => {
                    self.schema(at, &err);
                    found = true;
                    let key = table
                        .iter()
                        .find(|(k, v)| {
                            k.span().contains(&span.start) || v.span().contains(&span.start)
                        })
                        .map(|(k, _)| k.get_ref().to_string());
                    let Some(key) = key else { break };
                    table.remove(key.as_str());
                    patched.push(key);
                }
                (None, None) => {
                    if !found {
                        self.schema(at, &err);
                        found = true;
                    }
                    break;
                }
            }
        }
        if !found {
            self.problems.push(at.problem(
                0..1,
                ProblemKind::Schema,
                "the file could not be read as content".to_string(),
                "compare it with a file that checks cleanly",
            ));
        }
        None
    }

    fn schema(&mut self, at: &At<'_>, err: &toml::de::Error) {
        let message = err.message().trim().to_string();
        let fix = if message.contains("missing field") {
            "add the missing field"
        } else {
            "give the field a value of the type shown"
        };
        // A missing field has no place of its own: it is reported at the top of the file.
        self.problems.push(at.problem(
            err.span().filter(|s| !s.is_empty()).unwrap_or(0..1),
            ProblemKind::Schema,
            message,
            fix,
        ));
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
            // With no [[concepts]] at all there is no place to point at: the top of the file.
            let span = Some(concepts.span())
                .filter(|s| !s.is_empty())
                .unwrap_or(0..1);
            self.problems.push(at.problem(
                span,
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
        let Some(file) = self.typed::<ItemFile>(at, at.source.text, Shape::item()) else {
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
        self.section_matches_folder(at, &file.section, section);
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

    /// An item in a folder named for a section (`retrieval/`, `compare/` ...) must say that
    /// section, so where a file sits and what it says never disagree. A pack whose files are not
    /// in section folders is not held to this.
    fn section_matches_folder(&mut self, at: &At<'_>, said: &Spanned<String>, section: Section) {
        let path = std::path::Path::new(&at.source.name);
        let Some(folder) = path
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|f| f.to_str())
        else {
            return;
        };
        let Some(folder_section) = Section::ALL.into_iter().find(|s| s.name() == folder) else {
            return;
        };
        if folder_section == section {
            return;
        }
        let file_name = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
        let moved = path
            .parent()
            .and_then(|p| p.parent())
            .map(|root| root.join(section.name()).join(file_name))
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        self.problems.push(at.problem(
            said.span(),
            ProblemKind::BadSection,
            format!(
                "the item says section '{}' but sits in the folder '{folder}'",
                said.get_ref()
            ),
            format!(
                "move the file to {moved}, or write section = \"{folder}\" if it belongs where it is"
            ),
        ));
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
        let Some(file) = self.typed::<ScenarioFile>(at, at.source.text, Shape::scenario()) else {
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
        if !at.source.name.starts_with("built-in ") {
            self.catalogues.push(at.source.name.clone());
        }
        let Some(file) = self.typed::<CatalogueFile>(at, at.source.text, Shape::catalogue()) else {
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
                    minor: m.minor,
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
                    file: file.clone(),
                    line,
                    column,
                    kind: ProblemKind::DanglingMisconception,
                    message: format!("misconception '{id}' is not defined in any catalogue"),
                    fix: {
                        let add = match self.catalogues.first() {
                            Some(catalogue) => format!("add it to {catalogue}"),
                            None => format!(
                                "define it in a catalogue of this pack, such as {} with a [[misconception]] entry",
                                std::path::Path::new(&file)
                                    .with_file_name("misconceptions.toml")
                                    .display()
                            ),
                        };
                        match closest(&id, &known) {
                            Some(near) => format!("did you mean '{near}'? Or {add}"),
                            None => format!("{}{}", add[..1].to_uppercase(), &add[1..]),
                        }
                    },
                });
            }
        }
        if self.problems.is_empty() {
            self.pack.items.sort_by_key(|i| (i.section, natural(&i.id)));
            self.pack.scenarios.sort_by_key(|s| natural(&s.id));
            Ok(self.pack)
        } else {
            Err(PackError::sorted(self.problems))
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
    fn line_and_column_are_one_based() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }

    fn problems_in(name: &str, text: &str) -> Vec<Problem> {
        match parse_pack(&[Source {
            name: name.to_string(),
            text,
        }]) {
            Ok(_) => Vec::new(),
            Err(err) => err.problems,
        }
    }

    #[test]
    fn every_problem_in_a_file_is_reported_in_one_run() {
        let problems = problems_in(
            "pack/retrieval/r9.toml",
            "id = \"R9\"\nsection = \"retrieval\"\nprompt = 42\nhints = \"one\"\n",
        );
        let messages: Vec<String> = problems.iter().map(|p| p.message.clone()).collect();
        for wanted in [
            "no format_version",
            "missing field `title`",
            "missing field `model_answer`",
            "invalid type: integer `42`, expected a string",
            "invalid type: string \"one\", expected a sequence",
        ] {
            assert!(
                messages.iter().any(|m| m.contains(wanted)),
                "{wanted} missing from {messages:#?}"
            );
        }
        assert!(
            !messages
                .iter()
                .any(|m| m.contains("missing field `prompt`")),
            "a wrong type is not also reported missing: {messages:#?}"
        );
        assert_eq!(messages.len(), 5, "{messages:#?}");
    }

    #[test]
    fn a_clean_file_still_parses_after_the_schema_pass() {
        let problems = problems_in(
            "pack/retrieval/r9.toml",
            "format_version = 1\nid = \"R9\"\nsection = \"retrieval\"\ntitle = \"t\"\nprompt = \"p\"\nmodel_answer = \"m\"\n[[concepts]]\nid = \"c\"\nsays = \"s\"\nmatch = [\"x\"]\n",
        );
        assert!(problems.is_empty(), "{problems:#?}");
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
