//! A whole item graded: verdict, score out of its marks, and feedback that says why.

use std::collections::BTreeMap;

use serde::Serialize;

pub use super::feedback::tidy;

use super::choice::{ChoiceGrade, grade_choice};
use super::feedback::{Feedback, first_sentence, text_feedback, unsaid_hints};
use super::free_text::{TextGrade, grade_text};
use super::verdict::Verdict;
use crate::content::{Item, Misconception, Question, Scenario, Section};

/// A misconception named in feedback.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Named {
    pub id: String,
    pub name: String,
    pub explain: String,
}

/// One graded item, as `drill --json` prints it and the progress store keeps it.
#[derive(Clone, Debug, Serialize)]
pub struct Graded {
    pub id: String,
    pub section: Section,
    pub title: String,
    pub verdict: Verdict,
    pub score: f64,
    pub max: f64,
    /// Why, in short: the most important reason first, then a few short lines.
    pub feedback: String,
    /// The rest of the reasoning, each thing said once, for a learner who asks for it.
    pub details: String,
    pub misconceptions: Vec<Named>,
    /// The model answer, or the expected choices.
    pub expected: String,
    /// The item's hints, whether or not they were asked for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<ChoiceGrade>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<TextGrade>,
}

impl Graded {
    /// The hints as the details show them: without what the feedback or the model answer
    /// already says.
    pub fn hints_to_show(&self) -> Vec<String> {
        unsaid_hints(
            &self.hints,
            &[&self.feedback, &self.details, &self.expected],
        )
    }
}

/// A learner's answer to a scenario drill.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ScenarioAnswer {
    pub channel: Option<String>,
    pub payload: Option<String>,
    pub outbox: Option<String>,
    pub reason: Option<String>,
}

/// Grades a free-text drill item.
pub fn grade_item(
    item: &Item,
    catalogue: &BTreeMap<String, Misconception>,
    answer: &str,
) -> Graded {
    let text = grade_text(&item.rubric, catalogue, answer);
    let said = text_feedback(&text, answer, &[], false);
    Graded {
        id: item.id.clone(),
        section: item.section,
        title: item.title.clone(),
        verdict: text.verdict,
        score: text.verdict.credit(),
        max: 1.0,
        feedback: said.short.join("\n"),
        details: said.details.join("\n"),
        misconceptions: named(&text),
        expected: item.model_answer.clone(),
        hints: item.hints.clone(),
        choices: Vec::new(),
        text: Some(text),
    }
}

/// Grades a scenario drill: three choices, one mark each, and the defence, one mark.
pub fn grade_scenario(
    scenario: &Scenario,
    catalogue: &BTreeMap<String, Misconception>,
    answer: &ScenarioAnswer,
) -> Graded {
    let mut choices = Vec::new();
    let mut misconceptions = Vec::new();
    let mut said = Feedback::default();
    let mut lead_given = false;
    for question in Question::ALL {
        let given = match question {
            Question::Channel => &answer.channel,
            Question::Payload => &answer.payload,
            Question::Outbox => &answer.outbox,
        };
        let choice = scenario.choice(question);
        let graded = grade_choice(question, choice, given.as_deref().unwrap_or(""));
        let name = question.name();
        let (verdict, right) = if given.is_none() {
            (
                format!("{name}: not answered; expected {}.", graded.expected),
                false,
            )
        } else if graded.credit >= 1.0 {
            (format!("{name}: {} is right.", graded.given), true)
        } else if graded.credit > 0.0 {
            (
                format!(
                    "{name}: {} is defensible (half marks); {} is better.",
                    graded.given, graded.expected
                ),
                false,
            )
        } else {
            (
                format!(
                    "{name}: {} is wrong, expected {}.",
                    graded.given, graded.expected
                ),
                false,
            )
        };
        let spotted = graded
            .misconception
            .as_ref()
            .and_then(|id| catalogue.get(id));
        let named = spotted.map_or_else(String::new, |m| {
            format!(" That is the '{}' misconception.", m.name)
        });
        // The first choice that lost marks leads, with the first sentence of why; the rest of
        // every explanation is for the details.
        let why = tidy(&graded.why);
        if !right && !lead_given {
            lead_given = true;
            let (first, rest) = first_sentence(&why);
            said.short.push(format!("{verdict}{named} {first}"));
            if !rest.is_empty() {
                said.details.push(format!("{name}: {rest}"));
            }
        } else {
            said.short.push(format!("{verdict}{named}"));
            said.details.push(format!("{name}: {why}"));
        }
        let explanation = tidy(&choice.explanation);
        if !right && given.is_some() && why != explanation && !why.contains(&explanation) {
            said.details
                .push(format!("{name}, why {}: {explanation}", graded.expected));
        }
        if let Some(m) = spotted {
            let m = Named {
                id: m.id.clone(),
                name: m.name.clone(),
                explain: m.explain.clone(),
            };
            if !misconceptions.contains(&m) {
                said.details.push(format!(
                    "The '{}' misconception: {}",
                    m.name,
                    tidy(&m.explain)
                ));
                misconceptions.push(m);
            }
        }
        choices.push(graded);
    }
    let reason = answer.reason.as_deref().unwrap_or("");
    let text = grade_text(&scenario.reason, catalogue, reason);
    if reason.trim().is_empty() {
        said.short
            .push("reason: none given; defend your choices in a sentence or two.".to_string());
    } else {
        // A misconception a choice has already explained is named, not explained again.
        let explained: Vec<&str> = misconceptions.iter().map(|m| m.id.as_str()).collect();
        let reasoned = text_feedback(&text, reason, &explained, true);
        said.short.push(format!(
            "reason: {}. {}",
            text.verdict.name(),
            reasoned.short.join(" ")
        ));
        if !reasoned.details.is_empty() {
            said.details.push("About your reason:".to_string());
            said.details.extend(reasoned.details);
        }
    }
    for m in named(&text) {
        if !misconceptions.contains(&m) {
            misconceptions.push(m);
        }
    }
    let score = choices.iter().map(|c| c.credit).sum::<f64>() + text.verdict.credit();
    let max = 4.0;
    let verdict = if score >= max {
        Verdict::Correct
    } else if score >= max / 2.0 {
        Verdict::Partial
    } else {
        Verdict::Incorrect
    };
    Graded {
        id: scenario.id.clone(),
        section: Section::Scenarios,
        title: scenario.title.clone(),
        verdict,
        score,
        max,
        feedback: said.short.join("\n"),
        details: said.details.join("\n"),
        misconceptions,
        expected: format!(
            "{}, {}, outbox {}",
            scenario.channel.expected, scenario.payload.expected, scenario.outbox.expected
        ),
        hints: scenario.hints.clone(),
        choices,
        text: Some(text),
    }
}

fn named(text: &TextGrade) -> Vec<Named> {
    text.misconceptions
        .iter()
        .map(|m| Named {
            id: m.id.clone(),
            name: m.name.clone(),
            explain: m.explain.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misconception_a_choice_explained_is_not_explained_again_for_the_reason() {
        let pack = crate::content::builtin().unwrap();
        let scenario = pack.scenarios.iter().find(|s| s.id == "A").unwrap();
        let answer = ScenarioAnswer {
            channel: Some("topic".into()),
            payload: Some("notification".into()),
            outbox: Some("no".into()),
            reason: Some(
                "Use a topic so the workers share the work: a topic splits the jobs between \
                 subscribers, and each job carries the S3 key."
                    .into(),
            ),
        };
        let graded = grade_scenario(scenario, &pack.misconceptions, &answer);
        let explain = tidy(&pack.misconceptions["topic-splits-work"].explain);
        let all = format!("{}\n{}", graded.feedback, graded.details);
        assert_eq!(all.matches(explain.as_str()).count(), 1, "{all}");
        assert!(!graded.feedback.contains(explain.as_str()), "{all}");
        assert!(
            graded
                .misconceptions
                .iter()
                .any(|m| m.id == "topic-splits-work")
        );
        // The reason did assert it, so the fix is what kept the explanation to one.
        assert!(
            graded
                .feedback
                .contains("'a topic shares out work' misconception again"),
            "{}",
            graded.feedback
        );
    }
}
