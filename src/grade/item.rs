//! A whole item graded: verdict, score out of its marks, and feedback that says why.

use std::collections::BTreeMap;

use serde::Serialize;

use super::choice::{ChoiceGrade, grade_choice};
use super::free_text::{Gap, TextGrade, grade_text};
use super::verdict::Verdict;
use crate::content::pattern::Standing;
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
    /// Why, in sentences.
    pub feedback: String,
    pub misconceptions: Vec<Named>,
    /// The model answer, or the expected choices.
    pub expected: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<ChoiceGrade>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<TextGrade>,
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
    let feedback = text_feedback(&text, answer, &[]);
    Graded {
        id: item.id.clone(),
        section: item.section,
        title: item.title.clone(),
        verdict: text.verdict,
        score: text.verdict.credit(),
        max: 1.0,
        feedback,
        misconceptions: named(&text),
        expected: item.model_answer.clone(),
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
    let mut lines = Vec::new();
    for question in Question::ALL {
        let given = match question {
            Question::Channel => &answer.channel,
            Question::Payload => &answer.payload,
            Question::Outbox => &answer.outbox,
        };
        let choice = scenario.choice(question);
        let graded = grade_choice(question, choice, given.as_deref().unwrap_or(""));
        let line = if given.is_none() {
            format!(
                "{}: not answered; expected {}. {}",
                question.name(),
                graded.expected,
                tidy(&choice.explanation)
            )
        } else if graded.credit >= 1.0 {
            format!(
                "{}: {} is right. {}",
                question.name(),
                graded.given,
                tidy(&graded.why)
            )
        } else if graded.credit > 0.0 {
            format!(
                "{}: {} is defensible (half marks), {} is better. {}",
                question.name(),
                graded.given,
                graded.expected,
                tidy(&graded.why)
            )
        } else {
            format!(
                "{}: {} is wrong, expected {}. {}",
                question.name(),
                graded.given,
                graded.expected,
                tidy(&graded.why)
            )
        };
        lines.push(line);
        if let Some(m) = graded
            .misconception
            .as_ref()
            .and_then(|id| catalogue.get(id))
        {
            lines.push(format!(
                "  This is the '{}' misconception: {}",
                m.name,
                tidy(&m.explain)
            ));
            misconceptions.push(Named {
                id: m.id.clone(),
                name: m.name.clone(),
                explain: m.explain.clone(),
            });
        }
        choices.push(graded);
    }
    let reason = answer.reason.as_deref().unwrap_or("");
    let text = grade_text(&scenario.reason, catalogue, reason);
    if reason.trim().is_empty() {
        lines.push("reason: none given; defend your choices in a sentence or two.".to_string());
    } else {
        // A misconception a choice has already explained is named, not explained again.
        let explained: Vec<&str> = misconceptions.iter().map(|m| m.id.as_str()).collect();
        lines.push(format!(
            "reason: {}. {}",
            text.verdict.name(),
            text_feedback(&text, reason, &explained)
        ));
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
        feedback: lines.join("\n"),
        misconceptions,
        expected: format!(
            "{}, {}, outbox {}",
            scenario.channel.expected, scenario.payload.expected, scenario.outbox.expected
        ),
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

/// Collapses the line breaks of TOML multi-line strings.
pub fn tidy(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What a free-text grade means, in sentences: what was false and where, which clause met
/// which point, and what is missing (and why words that were there did not count).
fn text_feedback(text: &TextGrade, answer: &str, explained: &[&str]) -> String {
    if answer.trim().is_empty() {
        return "No answer given.".to_string();
    }
    let mut out = Vec::new();
    for m in &text.misconceptions {
        if explained.contains(&m.id.as_str()) {
            out.push(format!(
                "You wrote \"{}\": the '{}' misconception again, explained above.",
                m.clause, m.name
            ));
            continue;
        }
        out.push(format!(
            "This is the '{}' misconception (you wrote \"{}\"): {}",
            m.name,
            m.clause,
            tidy(&m.explain)
        ));
    }
    for gap in &text.contradicted {
        let said = gap.clause.as_deref().or(gap.words.as_deref()).unwrap_or("");
        if gap.standing == Some(Standing::Denied) {
            out.push(format!(
                "You denied what matters here (\"{said}\"): {}",
                tidy(&gap.says)
            ));
        } else {
            out.push(format!(
                "You stated the opposite of this (\"{said}\"): {}",
                tidy(&gap.says)
            ));
        }
    }
    for met in &text.met {
        out.push(format!("\"{}\" shows: {}", met.clause, tidy(&met.says)));
    }
    let missing_required: Vec<_> = text.missing.iter().filter(|g| g.required).collect();
    for gap in &missing_required {
        out.push(format!("Missing: {}", with_why_not(gap)));
    }
    if text.verdict == Verdict::Correct {
        out.push("You covered what matters.".to_string());
        for gap in text.missing.iter().filter(|g| !g.required) {
            out.push(format!("To go further: {}", tidy(&gap.says)));
        }
    } else if missing_required.is_empty()
        && text.misconceptions.is_empty()
        && text.contradicted.is_empty()
    {
        for gap in &text.missing {
            out.push(format!("Also worth saying: {}", with_why_not(gap)));
        }
    }
    out.join(" ")
}

/// A missing point, with why words that would have made it did not count.
fn with_why_not(gap: &Gap) -> String {
    let says = tidy(&gap.says);
    let words = gap.words.as_deref().unwrap_or("");
    let why = match gap.standing {
        Some(Standing::Listed) => {
            format!(" (\"{words}\" is only a term in a list: say what it does or why)")
        }
        Some(Standing::Denied) => format!(
            " (you wrote \"{}\", but denied it)",
            gap.clause.as_deref().unwrap_or(words)
        ),
        Some(Standing::Quoted) => {
            format!(" (\"{words}\" is only inside quotation marks)")
        }
        _ => return says,
    };
    format!("{}{why}.", says.trim_end_matches('.'))
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
        assert_eq!(
            graded.feedback.matches(explain.as_str()).count(),
            1,
            "{}",
            graded.feedback
        );
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
                .contains("misconception again, explained above"),
            "{}",
            graded.feedback
        );
    }
}
