//! The grader against labelled learner answers: right paraphrases, wrong answers, keyword-stuffed
//! wrong answers and negations. tests/grading/answers.toml is the tuning set (its quarter once held
//! out has since been used for tuning too). tests/grading/fresh.toml was written later by someone
//! who saw neither the rubrics nor the first set, and is never used for tuning: it is the honest
//! measure of how the grader does on answers it has not seen.

use msgwork::content::{self, Pack, Rubric};
use msgwork::grade::{self, Verdict};
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

fn labelled() -> Vec<Labelled> {
    let text = include_str!("../grading/answers.toml");
    toml::from_str::<Set>(text)
        .expect("the labelled set parses")
        .answer
}

/// A second set, written later by someone who saw neither rubrics nor the first set, and never
/// used for tuning: the cleanest estimate of how the grader does on answers it has not seen.
fn fresh() -> Vec<Labelled> {
    let text = include_str!("../grading/fresh.toml");
    toml::from_str::<Set>(text)
        .expect("the fresh set parses")
        .answer
}

fn rubric<'p>(pack: &'p Pack, item: &str) -> &'p Rubric {
    pack.items
        .iter()
        .find(|i| i.id == item)
        .map(|i| &i.rubric)
        .or_else(|| {
            pack.scenarios
                .iter()
                .find(|s| s.id == item)
                .map(|s| &s.reason)
        })
        .unwrap_or_else(|| panic!("no item {item}"))
}

fn label(name: &str) -> Verdict {
    match name {
        "correct" => Verdict::Correct,
        "partial" => Verdict::Partial,
        _ => Verdict::Incorrect,
    }
}

/// (agreeing, total) over the answers `pick` selects.
fn agreement(pick: impl Fn(&Labelled) -> bool, show: bool) -> (usize, usize) {
    agreement_on(labelled(), pick, show)
}

fn agreement_on(
    set: Vec<Labelled>,
    pick: impl Fn(&Labelled) -> bool,
    show: bool,
) -> (usize, usize) {
    let pack = content::builtin().expect("built-in pack");
    let mut agree = 0;
    let mut total = 0;
    for a in set.iter().filter(|a| pick(a)) {
        total += 1;
        let graded = grade::grade_text(rubric(&pack, &a.item), &pack.misconceptions, &a.text);
        if graded.verdict == label(&a.label) {
            agree += 1;
        } else if show {
            println!(
                "{} {:>9} graded {:>9} [{}] {}\n    conveyed {:?} missing {:?} contra {:?} misc {:?}\n",
                a.item,
                a.label,
                graded.verdict.name(),
                a.kind,
                a.text.replace('\n', " "),
                graded.conveyed,
                graded.missing.iter().map(|g| &g.id).collect::<Vec<_>>(),
                graded
                    .contradicted
                    .iter()
                    .map(|g| (&g.id, &g.words))
                    .collect::<Vec<_>>(),
                graded
                    .misconceptions
                    .iter()
                    .map(|m| (&m.id, &m.words))
                    .collect::<Vec<_>>(),
            );
        }
    }
    (agree, total)
}

#[test]
fn the_grader_agrees_with_the_labels_at_least_90_percent() {
    let (agree, total) = agreement(|_| true, false);
    let (held_agree, held) = agreement(|a| a.holdout, false);
    let share = agree as f64 / total as f64;
    println!(
        "grader agreement: {agree}/{total} = {:.1}% (held out: {held_agree}/{held} = {:.1}%)",
        share * 100.0,
        held_agree as f64 / held as f64 * 100.0
    );
    assert!(total >= 100, "the labelled set has {total} answers");
    assert!(share >= 0.9, "agreement {:.1}% is below 90%", share * 100.0);
    // The held-out quarter is the honest estimate for answers the rubrics were not tuned on. It
    // is not yet at 90% (see the README); this floor keeps rubric edits from sliding back.
    let held_share = held_agree as f64 / held as f64;
    assert!(
        held_share >= 0.65,
        "held-out agreement {:.1}% fell below 65%",
        held_share * 100.0
    );
}

#[test]
fn the_grader_on_answers_it_was_never_tuned_on() {
    let (agree, total) = agreement_on(fresh(), |_| true, false);
    let share = agree as f64 / total as f64;
    println!(
        "fresh set agreement: {agree}/{total} = {:.1}%",
        share * 100.0
    );
    assert!(total >= 88, "the fresh set has {total} answers");
    assert!(
        share >= FRESH_FLOOR,
        "fresh-set agreement {:.1}% fell below its floor",
        share * 100.0
    );
}

/// The floor under the fresh set's agreement: what it measured (89%), less a little, so a rubric
/// edit that makes grading worse fails here. The goal is 90%.
const FRESH_FLOOR: f64 = 0.86;

/// While tuning: the disagreements on the training part only (never the held-out quarter).
#[test]
#[ignore]
fn show_training_disagreements() {
    let (agree, total) = agreement(|a| !a.holdout, true);
    println!("training agreement {agree}/{total}");
}
