//! A free-text answer against its rubric: which concepts it claims (and in which clause), which
//! it contradicts, which named misconceptions it asserts, and the verdict that follows.

use std::collections::BTreeMap;

use serde::Serialize;

use super::verdict::Verdict;
use crate::content::pattern::{Hit, Pattern, Standing};
use crate::content::text::Answer;
use crate::content::{Misconception, Rubric};

/// A misconception recognised in an answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Spotted {
    pub id: String,
    pub name: String,
    pub explain: String,
    /// The learner's words that showed it.
    pub words: String,
    /// The clause that asserted it, as the learner wrote it.
    pub clause: String,
}

/// A concept an answer conveys, and the clause that claims it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Met {
    pub id: String,
    pub says: String,
    /// The learner's words that matched.
    pub words: String,
    /// The clause that claims it, as the learner wrote it.
    pub clause: String,
}

/// A concept an answer left out, or stated the opposite of.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Gap {
    pub id: String,
    pub says: String,
    pub required: bool,
    /// For a contradiction: the learner's words that stated the opposite. For a missing
    /// concept: words that would have conveyed it had the answer claimed them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub words: Option<String>,
    /// For a missing concept whose words are there: why they did not count (`denied`,
    /// `listed`, `quoted`). For a contradiction: `denied` when the answer denied the point
    /// rather than stating its opposite.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standing: Option<Standing>,
    /// The clause those words stand in, as the learner wrote it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clause: Option<String>,
}

/// How a free-text answer fared against its rubric.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TextGrade {
    pub verdict: Verdict,
    /// Weight of the concepts conveyed over the weight of all concepts, 0 to 1.
    pub coverage: f64,
    pub conveyed: Vec<String>,
    /// Which clause met which concept.
    pub met: Vec<Met>,
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
    let answer = Answer::read(answer);
    let total: u32 = rubric.concepts.iter().map(|c| c.weight).sum();
    let mut conveyed = Vec::new();
    let mut met = Vec::new();
    let mut missing = Vec::new();
    let mut contradicted = Vec::new();
    let mut weight = 0;
    // The proposition that asserts a misconception cannot also convey a concept: in `the relay
    // publishes inside the same transaction`, `same transaction` is part of the false claim.
    let mut false_claims = Vec::new();
    let misconceptions: Vec<Spotted> = rubric
        .misconceptions
        .iter()
        .filter_map(|id| catalogue.get(id))
        .filter_map(|m| {
            let hit = asserted(&m.patterns, &answer, &[])?;
            let sentence = &answer.sentences[hit.sentence];
            let span = sentence.proposition(hit.at[0], hit.at[hit.at.len() - 1]);
            false_claims.push(Hit {
                at: span.collect(),
                ..hit.clone()
            });
            Some(Spotted {
                id: m.id.clone(),
                name: m.name.clone(),
                explain: m.explain.clone(),
                words: hit.words,
                clause: hit.clause,
            })
        })
        .collect();
    for concept in &rubric.concepts {
        let gap = |hit: Option<Hit>| Gap {
            id: concept.id.clone(),
            says: concept.says.clone(),
            required: concept.required,
            standing: hit.as_ref().map(|h| h.standing),
            clause: hit.as_ref().map(|h| h.clause.clone()),
            words: hit.map(|h| h.words),
        };
        if let Some(hit) = asserted(&concept.contradicts, &answer, &[]) {
            contradicted.push(Gap {
                standing: None,
                ..gap(Some(hit))
            });
            continue;
        }
        match best(&concept.patterns, &answer, &false_claims) {
            Some(hit) if hit.asserted() => {
                conveyed.push(concept.id.clone());
                met.push(Met {
                    id: concept.id.clone(),
                    says: concept.says.clone(),
                    words: hit.words,
                    clause: hit.clause,
                });
                weight += concept.weight;
            }
            // A required point the answer denies is the opposite stated, not a point left out
            // (unless the denial only forbids something: `never put secrets on events`).
            Some(hit)
                if hit.standing == Standing::Denied
                    && concept.required
                    && !prohibition(&answer, &hit) =>
            {
                contradicted.push(Gap {
                    standing: Some(Standing::Denied),
                    ..gap(Some(hit))
                });
            }
            other => missing.push(gap(other)),
        }
    }
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
    let claims = if required_conveyed == required.len() && coverage >= CORRECT_COVERAGE {
        Verdict::Correct
    } else if (required.is_empty() && coverage >= 0.5) || required_conveyed > 0 {
        // Some of what matters.
        Verdict::Partial
    } else {
        Verdict::Incorrect
    };
    let only_minor = contradicted.is_empty()
        && rubric
            .misconceptions
            .iter()
            .filter_map(|id| catalogue.get(id))
            .filter(|m| misconceptions.iter().any(|s| s.id == m.id))
            .all(|m| m.minor);
    let verdict = if contradicted.is_empty() && misconceptions.is_empty() {
        claims
    } else if claims == Verdict::Correct || only_minor {
        // Everything that matters, and something false besides: half marks, and the feedback
        // names what was false. Over-caution alone leaves the verdict where the claims put it,
        // below full marks.
        claims.min(Verdict::Partial)
    } else {
        Verdict::Incorrect
    };
    TextGrade {
        verdict,
        coverage,
        conveyed,
        met,
        missing,
        contradicted,
        misconceptions,
    }
}

/// Whether a match stands in a prohibition (`never put secrets on events`), which denies
/// nothing about the point it names.
fn prohibition(answer: &Answer, hit: &Hit) -> bool {
    let sentence = &answer.sentences[hit.sentence];
    sentence.prohibits(sentence.tokens[hit.at[0]].clause)
}

/// The first asserted match of any of the patterns, sharing no word with `taken`.
fn asserted(patterns: &[Pattern], answer: &Answer, taken: &[Hit]) -> Option<Hit> {
    patterns
        .iter()
        .filter_map(|p| p.find_apart(answer, taken))
        .find(Hit::asserted)
}

/// The first asserted match of any of the patterns sharing no word with `taken`, or else the
/// match that came closest.
fn best(patterns: &[Pattern], answer: &Answer, taken: &[Hit]) -> Option<Hit> {
    let mut closest: Option<Hit> = None;
    for hit in patterns.iter().filter_map(|p| p.find_apart(answer, taken)) {
        if hit.asserted() {
            return Some(hit);
        }
        if closest.as_ref().is_none_or(|c| hit.standing < c.standing) {
            closest = Some(hit);
        }
    }
    closest
}
