//! A free-text answer against its rubric: which concepts it conveys, which it contradicts, which
//! named misconceptions it states, and the verdict that follows.

use std::collections::BTreeMap;

use serde::Serialize;

use super::verdict::Verdict;
use crate::content::text;
use crate::content::{Misconception, Rubric};

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
