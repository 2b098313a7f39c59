//! The drill's feedback on every built-in item, for every labelled right and wrong answer in
//! tests/grading: each thing said once, the short layer short, and "the opposite" said only of
//! an answer that asserts it.

use std::collections::BTreeMap;

use msgwork::content::{Pack, Question, Scenario};
use msgwork::grade::item::{Graded, ScenarioAnswer, grade_item, grade_scenario};
use serde::Deserialize;

use crate::harness::Msgwork;

#[derive(Deserialize)]
struct Set {
    answer: Vec<Sample>,
}

#[derive(Deserialize)]
struct Sample {
    item: String,
    label: String,
    text: String,
}

const SETS: &[&str] = &[
    include_str!("../grading/answers.toml"),
    include_str!("../grading/fresh.toml"),
    include_str!("../grading/claims.toml"),
    include_str!("../grading/coverage.toml"),
    include_str!("../grading/untuned.toml"),
];

/// The most words the default feedback on a wrong scenario answer may take.
const SHORT_WORDS: usize = 120;

fn samples() -> Vec<Sample> {
    SETS.iter()
        .flat_map(|text| {
            toml::from_str::<Set>(text)
                .expect("a grading set parses")
                .answer
        })
        .collect()
}

/// A scenario answered with the expected choices, or with a wrong one for every question.
fn scenario_answer(scenario: &Scenario, right: bool, reason: &str) -> ScenarioAnswer {
    let pick = |q: Question| {
        let expected = &scenario.choice(q).expected;
        let wrong = q.options().iter().find(|o| *o != expected).unwrap();
        Some(if right {
            expected.clone()
        } else {
            wrong.to_string()
        })
    };
    ScenarioAnswer {
        channel: pick(Question::Channel),
        payload: pick(Question::Payload),
        outbox: pick(Question::Outbox),
        reason: Some(reason.to_string()),
    }
}

/// Every graded sample: each labelled answer, and each item's model answer; each scenario's
/// reasons both with the expected choices and with wrong ones. With the label.
fn graded_samples(pack: &Pack) -> Vec<(String, Graded)> {
    let mut out = Vec::new();
    for sample in samples() {
        if let Some(item) = pack.items.iter().find(|i| i.id == sample.item) {
            out.push((
                sample.label.clone(),
                grade_item(item, &pack.misconceptions, &sample.text),
            ));
        } else if let Some(scenario) = pack.scenarios.iter().find(|s| s.id == sample.item) {
            for right in [true, false] {
                let answer = scenario_answer(scenario, right, &sample.text);
                let label = if right {
                    sample.label.as_str()
                } else {
                    "incorrect"
                };
                out.push((
                    label.to_string(),
                    grade_scenario(scenario, &pack.misconceptions, &answer),
                ));
            }
        }
    }
    for item in &pack.items {
        out.push((
            "correct".to_string(),
            grade_item(item, &pack.misconceptions, &item.model_answer),
        ));
    }
    out
}

/// The sentences of a text, tidied, those of three words or more. A label before a colon
/// (`Missing: The event…`) is cut off, so a sentence said under two labels is still caught.
fn sentences(text: &str) -> Vec<String> {
    let tidy = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = Vec::new();
    let mut rest = tidy.as_str();
    while !rest.is_empty() {
        let end = rest
            .match_indices(['.', '?', '!', ':'])
            .map(|(i, _)| i + 1)
            .find(|&i| {
                rest[i..].starts_with(' ')
                    && rest[i + 1..].starts_with(|c: char| c.is_uppercase() || c == '"')
            })
            .unwrap_or(rest.len());
        let sentence = rest[..end].trim();
        if sentence.split_whitespace().count() >= 3 {
            out.push(sentence.to_string());
        }
        rest = rest[end..].trim_start();
    }
    out
}

/// Everything a learner reads about one item when they ask for the details.
fn everything(g: &Graded) -> String {
    let mut all = vec![g.feedback.clone(), g.details.clone(), g.expected.clone()];
    all.extend(g.hints_to_show());
    all.join("\n")
}

#[test]
fn no_sentence_is_said_twice_in_one_items_feedback() {
    let pack = msgwork::content::builtin().unwrap();
    assert_eq!(
        sentences("One two three. \"Four five six.\" Seven. Eight nine ten, e.g. this."),
        [
            "One two three.",
            "\"Four five six.\" Seven.",
            "Eight nine ten, e.g. this."
        ]
    );
    let graded = graded_samples(&pack);
    assert!(graded.len() > 500, "only {} samples", graded.len());
    let mut repeated = Vec::new();
    for (_, g) in &graded {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for line in everything(g).lines() {
            for sentence in sentences(line) {
                *seen.entry(sentence.to_lowercase()).or_default() += 1;
            }
        }
        for (sentence, n) in seen.into_iter().filter(|(_, n)| *n > 1) {
            repeated.push(format!("{} ({n} times): {sentence}", g.id));
        }
    }
    repeated.dedup();
    assert!(repeated.is_empty(), "{}", repeated.join("\n"));
}

#[test]
fn the_short_feedback_on_a_wrong_scenario_answer_stays_short() {
    let pack = msgwork::content::builtin().unwrap();
    let mut longest = (0, String::new());
    for (label, g) in graded_samples(&pack) {
        if g.choices.is_empty() || label != "incorrect" {
            continue;
        }
        let words = g.feedback.split_whitespace().count();
        if words > longest.0 {
            longest = (words, g.feedback.clone());
        }
        assert!(
            !g.feedback.contains(&g.details) || g.details.is_empty(),
            "{}",
            g.feedback
        );
    }
    println!(
        "the longest short feedback on a wrong scenario answer: {} words",
        longest.0
    );
    assert!(
        longest.0 <= SHORT_WORDS,
        "{} words:\n{}",
        longest.0,
        longest.1
    );
    // Every free-text item's short feedback is a lead and at most a short line more.
    for (_, g) in graded_samples(&pack) {
        if g.choices.is_empty() {
            assert!(g.feedback.lines().count() <= 2, "{}", g.feedback);
        }
    }
}

#[test]
fn the_opposite_is_said_only_of_an_answer_that_asserts_it() {
    let pack = msgwork::content::builtin().unwrap();
    let opposite = |g: &Graded| {
        let all = format!("{}\n{}", g.feedback, g.details);
        all.contains("stated the opposite") || all.contains("states the opposite")
    };
    for (label, g) in graded_samples(&pack) {
        if label == "correct" {
            assert!(
                !opposite(&g),
                "a right answer to {} told it stated the opposite:\n{}\n{}",
                g.id,
                g.feedback,
                g.details
            );
        }
    }
    let b = pack.scenarios.iter().find(|s| s.id == "B").unwrap();
    let says = |reason: &str| {
        opposite(&grade_scenario(
            b,
            &pack.misconceptions,
            &scenario_answer(b, true, reason),
        ))
    };
    assert!(says(
        "Four services each need every order, so a topic; the event carries the order; \
         the broker is durable so no outbox is needed."
    ));
    assert!(!says(
        "Four services each need every order, so a topic; the event carries the order. \
         Some say \"the broker is durable so no outbox is needed\", which is wrong: the order \
         and its outbox row commit in one transaction."
    ));
}

#[test]
fn the_details_come_on_request_and_json_carries_them_always() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("b.json");
    std::fs::write(
        &file,
        r#"{"scenarios": {"B": {"channel": "queue", "payload": "notification", "outbox": "no", "reason": "one queue that every service reads"}}}"#,
    )
    .unwrap();
    let file = file.to_string_lossy().into_owned();
    let short = Msgwork::new(&["drill", "--answers", &file]).output();
    let short = &short.success().stdout;
    assert!(
        short.contains("channel: queue is wrong, expected topic"),
        "{short}"
    );
    assert!(short.contains("Add --details"), "{short}");
    assert!(
        !short.contains("The 'a queue broadcasts' misconception:"),
        "{short}"
    );
    let long = Msgwork::new(&["drill", "--answers", &file, "--details"]).output();
    let long = &long.success().stdout;
    assert!(
        long.contains("The 'a queue broadcasts' misconception:"),
        "{long}"
    );
    assert!(
        long.contains("Expected:") && long.contains("Hints:"),
        "{long}"
    );
    let v = Msgwork::new(&["drill", "--answers", &file, "--json"])
        .output()
        .success()
        .json();
    let item = &v["items"][0];
    for key in ["feedback", "details", "expected", "hints"] {
        assert!(
            item[key].as_str().is_some_and(|s| !s.is_empty()) || item[key].is_array(),
            "{key}: {item}"
        );
    }
    assert!(item["details"].as_str().unwrap().contains("misconception:"));
}
