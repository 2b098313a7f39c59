//! The free-text grader against labelled learner answers (tests/grading): its agreement with the
//! labels, by section, on the sets it was tuned on and on the one it never was; lists of terms and
//! negated claims always rejected; misconceptions quoted to reject them never held against the
//! answer; the workshop's own expected answers at full marks.

use std::collections::BTreeMap;
use std::time::Instant;

use msgwork::content::{self, Pack, Rubric, Section};
use msgwork::grade::item::{ScenarioAnswer, grade_scenario};
use msgwork::grade::{self, TextGrade, Verdict};
use serde::Deserialize;

#[derive(Deserialize)]
struct Set {
    answer: Vec<Labelled>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Labelled {
    item: String,
    label: String,
    kind: String,
    #[serde(default)]
    holdout: bool,
    text: String,
    note: String,
}

/// The sets the grader and its rubrics were tuned on.
const TUNING: &[(&str, &str)] = &[
    ("answers.toml", include_str!("../grading/answers.toml")),
    ("fresh.toml", include_str!("../grading/fresh.toml")),
    ("claims.toml", include_str!("../grading/claims.toml")),
    ("coverage.toml", include_str!("../grading/coverage.toml")),
];

/// Written before the claim-reading grader, and never tuned on: the honest measure.
const UNTUNED: &[(&str, &str)] = &[("untuned.toml", include_str!("../grading/untuned.toml"))];

/// Agreement the tuning sets must reach, overall (the target).
const TUNING_TARGET: f64 = 0.97;

/// The floor under the untuned set's agreement: what it measured when the claim-reading grader
/// was finished (104/112, 92.9%; the keyword grader before it: 89/112, 79.5%), less a little,
/// so a change that makes grading worse fails here.
const UNTUNED_FLOOR: f64 = 0.90;

fn load(sets: &[(&str, &str)]) -> Vec<Labelled> {
    sets.iter()
        .flat_map(|(name, text)| {
            toml::from_str::<Set>(text)
                .unwrap_or_else(|e| panic!("{name} does not parse: {e}"))
                .answer
        })
        .collect()
}

fn pack() -> Pack {
    content::builtin().expect("built-in pack")
}

fn rubric<'p>(pack: &'p Pack, item: &str) -> (&'p Rubric, Section) {
    pack.items
        .iter()
        .find(|i| i.id == item)
        .map(|i| (&i.rubric, i.section))
        .or_else(|| {
            pack.scenarios
                .iter()
                .find(|s| s.id == item)
                .map(|s| (&s.reason, Section::Scenarios))
        })
        .unwrap_or_else(|| panic!("no item {item}"))
}

fn label(name: &str) -> Verdict {
    match name {
        "correct" => Verdict::Correct,
        "partial" => Verdict::Partial,
        "incorrect" => Verdict::Incorrect,
        other => panic!("unknown label {other}"),
    }
}

fn grade(pack: &Pack, a: &Labelled) -> TextGrade {
    grade::grade_text(rubric(pack, &a.item).0, &pack.misconceptions, &a.text)
}

/// Agreement per section, printed, and overall as (agreeing, total).
fn agreement(name: &str, set: &[Labelled], show: bool) -> (usize, usize) {
    let pack = pack();
    let mut by_section: BTreeMap<Section, (usize, usize)> = BTreeMap::new();
    let mut by_kind: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for a in set {
        let graded = grade(&pack, a);
        let agrees = graded.verdict == label(&a.label);
        let kind = by_kind.entry(a.kind.as_str()).or_default();
        kind.1 += 1;
        kind.0 += usize::from(agrees);
        let entry = by_section.entry(rubric(&pack, &a.item).1).or_default();
        entry.1 += 1;
        if agrees {
            entry.0 += 1;
        } else if show {
            println!(
                "{} labelled {}, graded {} [{}] {}\n    conveyed {:?} contradicted {:?} misconceptions {:?}",
                a.item,
                a.label,
                graded.verdict.name(),
                a.kind,
                a.text.replace('\n', " / "),
                graded.conveyed,
                graded
                    .contradicted
                    .iter()
                    .map(|g| &g.id)
                    .collect::<Vec<_>>(),
                graded
                    .misconceptions
                    .iter()
                    .map(|m| &m.id)
                    .collect::<Vec<_>>(),
            );
        }
    }
    let (agree, total) = by_section
        .values()
        .fold((0, 0), |(a, t), (sa, st)| (a + sa, t + st));
    let sections: Vec<String> = by_section
        .iter()
        .map(|(s, (a, t))| format!("{s} {a}/{t}"))
        .collect();
    let kinds: Vec<String> = by_kind
        .iter()
        .map(|(k, (a, t))| format!("{k} {a}/{t}"))
        .collect();
    println!(
        "{name}: {agree}/{total} = {:.1}% ({})\n    by kind: {}",
        percent(agree, total),
        sections.join(", "),
        kinds.join(", ")
    );
    (agree, total)
}

fn percent(part: usize, whole: usize) -> f64 {
    part as f64 * 100.0 / whole as f64
}

#[test]
fn the_grader_agrees_with_the_tuning_sets_at_least_97_percent() {
    let set = load(TUNING);
    let (agree, total) = agreement("tuning sets", &set, false);
    for (name, text) in TUNING {
        agreement(name, &load(&[(name, text)]), false);
    }
    assert!(total >= 440, "the tuning sets hold {total} answers");
    assert!(
        agree as f64 / total as f64 >= TUNING_TARGET,
        "agreement {:.1}% is below {:.0}%",
        percent(agree, total),
        TUNING_TARGET * 100.0
    );
}

#[test]
fn the_grader_on_answers_it_was_never_tuned_on() {
    let set = load(UNTUNED);
    let (agree, total) = agreement("untuned set", &set, false);
    assert!(total >= 100, "the untuned set holds {total} answers");
    assert!(
        agree as f64 / total as f64 >= UNTUNED_FLOOR,
        "untuned agreement {:.1}% fell below its floor",
        percent(agree, total)
    );
}

#[test]
fn the_labelled_sets_cover_every_free_text_item_in_every_kind() {
    let pack = pack();
    let new: Vec<Labelled> = load(&TUNING[2..])
        .into_iter()
        .chain(load(UNTUNED))
        .collect();
    assert!(
        new.len() >= 150,
        "{} answers written for issue #12",
        new.len()
    );
    let wrong = new.iter().filter(|a| a.label != "correct").count();
    assert!(
        wrong * 10 >= new.len() * 4,
        "only {wrong} of {} are wrong",
        new.len()
    );
    let ids = pack
        .items
        .iter()
        .map(|i| i.id.as_str())
        .chain(pack.scenarios.iter().map(|s| s.id.as_str()));
    for id in ids {
        for (name, set) in [("tuning", load(&TUNING[2..])), ("untuned", load(UNTUNED))] {
            let of_item: Vec<&Labelled> = set.iter().filter(|a| a.item == id).collect();
            assert!(
                of_item.len() >= 2,
                "{id} has {} {name} answers",
                of_item.len()
            );
            assert!(
                of_item.iter().any(|a| a.label == "correct")
                    && of_item.iter().any(|a| a.label != "correct"),
                "{id} needs right and wrong {name} answers"
            );
        }
    }
    for kind in [
        "term-list",
        "negated",
        "quoted",
        "right-then-wrong",
        "terse",
        "rambling",
        "list",
        "hedge",
        "workshop",
    ] {
        assert!(new.iter().any(|a| a.kind == kind), "no {kind} answers");
    }
}

/// The items added for issue #16's coverage gaps: every labelled answer graded as labelled, and
/// each item with a right answer and two wrong ones, one of which the grader names as a
/// misconception from the item's own list.
#[test]
fn the_coverage_items_are_graded_as_labelled_and_name_their_misconceptions() {
    let pack = pack();
    let set = load(&[("coverage.toml", include_str!("../grading/coverage.toml"))]);
    let items: std::collections::BTreeSet<&str> = set.iter().map(|a| a.item.as_str()).collect();
    assert!(items.len() >= 12, "only {} coverage items", items.len());
    let mut disagreements = Vec::new();
    for item in items {
        let answers: Vec<&Labelled> = set.iter().filter(|a| a.item == item).collect();
        let right = answers.iter().filter(|a| a.label == "correct").count();
        let wrong: Vec<&&Labelled> = answers.iter().filter(|a| a.label != "correct").collect();
        assert!(
            right >= 1 && wrong.len() >= 2,
            "{item}: {right} right, {} wrong",
            wrong.len()
        );
        let own = &rubric(&pack, item).0.misconceptions;
        assert!(
            wrong.iter().any(|a| grade(&pack, a)
                .misconceptions
                .iter()
                .any(|m| own.contains(&m.id))),
            "{item}: no wrong answer is named as one of {own:?}"
        );
        for a in answers {
            let graded = grade(&pack, a);
            if graded.verdict != label(&a.label) {
                disagreements.push(format!(
                    "{item} labelled {}, graded {}: {}",
                    a.label,
                    graded.verdict.name(),
                    a.text
                ));
            }
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

/// Jargon the pack uses, each with words that explain it: every item or misconception whose text
/// uses a term explains it there too, since a learner may meet any item first.
const JARGON: &[(&str, &[&str])] = &[
    (
        "redrive",
        &["back to the main queue", "back from the dead-letter queue"],
    ),
    ("jitter", &["random spread"]),
    ("in doubt", &["unable to decide alone"]),
    ("xa", &["standard interface"]),
    ("binlog", &["mysql's"]),
    ("replication slot", &["bookmark of how far"]),
    ("offset", &["position in", "record of the last change"]),
];

#[test]
fn jargon_is_explained_wherever_it_is_used() {
    let pack = pack();
    let mut texts: Vec<(String, String)> = pack
        .items
        .iter()
        .map(|i| {
            let says: Vec<&str> = i.rubric.concepts.iter().map(|c| c.says.as_str()).collect();
            (
                i.id.clone(),
                format!(
                    "{} {} {} {}",
                    i.prompt,
                    i.hints.join(" "),
                    i.model_answer,
                    says.join(" ")
                ),
            )
        })
        .collect();
    texts.extend(
        pack.misconceptions
            .values()
            .map(|m| (m.id.clone(), m.explain.clone())),
    );
    let mut unexplained = Vec::new();
    for (id, text) in &texts {
        let words: String = text
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '-')
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let padded = format!(" {words} ");
        for (term, explained) in JARGON {
            let uses = padded.contains(&format!(" {term} "))
                || padded.contains(&format!(" {term}s "))
                || padded.contains(&format!(" {term}d "));
            if uses && !explained.iter().any(|e| padded.contains(e)) {
                unexplained.push(format!("{id}: {term}"));
            }
        }
    }
    assert!(
        unexplained.is_empty(),
        "jargon used without its explanation: {}",
        unexplained.join(", ")
    );
}

/// How many of the answers of a kind the grader rejects, and of how many: a term-list must be
/// graded incorrect, anything else below correct.
fn rejected(pack: &Pack, set: &[Labelled], kind: &str) -> (usize, usize, Vec<String>) {
    let mut rejected = 0;
    let mut total = 0;
    let mut credited = Vec::new();
    for a in set.iter().filter(|a| a.kind == kind) {
        let graded = grade(pack, a);
        total += 1;
        let ok = match kind {
            "term-list" => graded.verdict == Verdict::Incorrect,
            _ => graded.verdict != Verdict::Correct,
        };
        if ok {
            rejected += 1;
        } else {
            credited.push(format!("{} {}: {}", a.item, graded.verdict.name(), a.text));
        }
    }
    (rejected, total, credited)
}

#[test]
fn lists_of_terms_and_negated_claims_are_always_rejected() {
    let pack = pack();
    for kind in ["term-list", "negated"] {
        let (ok, total, credited) = rejected(&pack, &load(TUNING), kind);
        println!("{kind}: {ok}/{total} rejected in the tuning sets");
        assert!(total >= 30, "only {total} {kind} answers");
        assert!(
            credited.is_empty(),
            "{kind} credited:\n{}",
            credited.join("\n")
        );
        // The untuned set is held to the same rule but never shown answer by answer.
        let (ok, total, _) = rejected(&pack, &load(UNTUNED), kind);
        println!("{kind}: {ok}/{total} rejected in the untuned set");
        assert_eq!(
            ok, total,
            "{kind}: only {ok}/{total} rejected in the untuned set"
        );
    }
}

#[test]
fn a_misconception_quoted_to_reject_it_is_not_held_against_the_answer() {
    let pack = pack();
    for a in load(TUNING)
        .iter()
        .chain(&load(UNTUNED))
        .filter(|a| a.kind == "quoted" && a.label == "correct")
    {
        let graded = grade(&pack, a);
        assert!(
            graded.misconceptions.is_empty() && graded.verdict == Verdict::Correct,
            "{} graded {} with {:?}: {}",
            a.item,
            graded.verdict.name(),
            graded
                .misconceptions
                .iter()
                .map(|m| &m.id)
                .collect::<Vec<_>>(),
            a.text
        );
    }
}

#[test]
fn right_then_wrong_names_the_misconception_and_never_gets_full_marks() {
    let pack = pack();
    let (ok, total, credited) = rejected(&pack, &load(TUNING), "right-then-wrong");
    println!("right-then-wrong: {ok}/{total} below full marks in the tuning sets");
    assert!(credited.is_empty(), "credited:\n{}", credited.join("\n"));
    let named = load(TUNING)
        .iter()
        .filter(|a| a.kind == "right-then-wrong")
        .filter(|a| !grade(&pack, a).misconceptions.is_empty())
        .count();
    assert!(
        named * 10 >= total * 8,
        "only {named} of {total} name a misconception"
    );
    let (ok, total, _) = rejected(&pack, &load(UNTUNED), "right-then-wrong");
    println!("right-then-wrong: {ok}/{total} below full marks in the untuned set");
}

/// The workshop's expected answer for each scenario, put in other words, with the expected
/// choices: full marks.
#[test]
fn the_workshops_expected_answers_score_full_marks() {
    let pack = pack();
    let mut seen = 0;
    for a in load(TUNING)
        .iter()
        .chain(&load(UNTUNED))
        .filter(|a| a.kind == "workshop")
    {
        let scenario = pack.scenarios.iter().find(|s| s.id == a.item).unwrap();
        let answer = ScenarioAnswer {
            channel: Some(scenario.channel.expected.clone()),
            payload: Some(scenario.payload.expected.clone()),
            outbox: Some(scenario.outbox.expected.clone()),
            reason: Some(a.text.clone()),
        };
        let graded = grade_scenario(scenario, &pack.misconceptions, &answer);
        assert_eq!(
            graded.score, graded.max,
            "{}: {}\n{}",
            a.item, a.text, graded.feedback
        );
        seen += 1;
    }
    for id in ["A", "C", "E"] {
        assert!(
            load(TUNING)
                .iter()
                .chain(&load(UNTUNED))
                .any(|a| a.kind == "workshop" && a.item == id),
            "no workshop answer for {id}"
        );
    }
    assert!(seen >= 10, "only {seen} workshop answers");
}

#[test]
fn grading_takes_well_under_a_millisecond_an_answer() {
    let pack = pack();
    let set = load(TUNING);
    let started = Instant::now();
    for a in &set {
        grade(&pack, a);
    }
    let each = started.elapsed() / set.len() as u32;
    println!("{} answers graded, {each:?} each", set.len());
    // A debug build on a shared machine; a release build is several times faster.
    assert!(each.as_millis() < 5, "grading took {each:?} an answer");
}

/// While tuning: the disagreements on the tuning sets (never the untuned set).
#[test]
#[ignore]
fn show_tuning_disagreements() {
    agreement("tuning sets", &load(TUNING), true);
}
