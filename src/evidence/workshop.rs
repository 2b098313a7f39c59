//! The workshop's items: the scenario drills, an outbox sketch, the OrderPlaced rewrite, and the
//! dual-write bug in the learner's own words.

use serde_json::Value;

use super::artifact;
use super::item::{Evidence, when};
use crate::store::{Store, StoreError};

/// The five scenario drills, answered with a pattern and a reason.
pub(super) fn scenarios(store: &Store) -> Result<Evidence, StoreError> {
    let mut item = Evidence::new(
        "scenario-drills",
        "workshop",
        true,
        "The five scenario drills answered with pattern and reason",
    );
    let mut answered = Vec::new();
    for id in ["A", "B", "C", "D", "E"] {
        let full = store.answers_with_given(id)?.into_iter().rev().find(|a| {
            ["channel", "payload", "outbox"]
                .iter()
                .all(|k| a.given.get(k).and_then(Value::as_str).is_some())
                && a.given
                    .get("reason")
                    .and_then(Value::as_str)
                    .is_some_and(|r| r.trim().len() >= 10)
        });
        if let Some(a) = full {
            answered.push(format!("{id} (drill session {}, {})", a.session, a.verdict));
        }
    }
    item.done = answered.len() == 5;
    if answered.is_empty() {
        item.next = Some("msgwork drill --section scenarios".to_string());
    } else if !item.done {
        item.proof = Some(format!("so far: {}", answered.join(", ")));
        item.next = Some("msgwork drill --section scenarios".to_string());
    } else {
        item.proof = Some(answered.join(", "));
    }
    Ok(item)
}

/// An outbox sketch of the learner's own that passes the checker with nothing marked wrong.
pub(super) fn sketch(store: &Store) -> Result<Evidence, StoreError> {
    let mut item = Evidence::new(
        "outbox-sketch",
        "workshop",
        true,
        "An outbox sketch (DDL, write transaction, relay, consumer dedupe) that passes sketch check",
    );
    let runs = store.runs("sketch-check")?;
    let proof = runs.iter().rev().find(|r| artifact::sketch(r).is_ok());
    match proof {
        Some(run) => {
            item.done = true;
            item.proof = Some(format!(
                "run {} on {}: {} passed",
                run.id,
                when(&run.recorded_at),
                run.options["file"].as_str().unwrap_or("the sketch")
            ));
            item.runs.push(run.id);
        }
        // A learner who has never checked a sketch starts from the skeleton.
        None if runs.is_empty() => {
            item.next = Some("msgwork sketch template --output my-outbox.sql".to_string())
        }
        None => item.next = Some("msgwork sketch check my-outbox.sql".to_string()),
    }
    item.refused = artifact::refusals(&runs, "file", artifact::sketch, proof.map(|r| r.id));
    Ok(item)
}

/// The thin OrderPlaced event rewritten by the learner as notification and as ECST.
pub(super) fn rewrite(store: &Store) -> Result<Evidence, StoreError> {
    let mut item = Evidence::new(
        "rewrite",
        "workshop",
        true,
        "The thin OrderPlaced event rewritten as notification and ECST (rewrite-event --check passed)",
    );
    let runs = store.runs("rewrite-check")?;
    let passed = |form: &str| {
        runs.iter()
            .rev()
            .find(|r| r.results["form"] == form && artifact::rewrite(r).is_ok())
    };
    let (notification, ecst) = (passed("notification"), passed("ecst"));
    item.done = notification.is_some() && ecst.is_some();
    let proofs: Vec<String> = [("notification", notification), ("ECST", ecst)]
        .iter()
        .filter_map(|(name, run)| {
            run.map(|r| {
                format!(
                    "{name}: run {} on {} ({})",
                    r.id,
                    when(&r.recorded_at),
                    r.options["payload"].as_str().unwrap_or("the payload")
                )
            })
        })
        .collect();
    item.proof = (!proofs.is_empty()).then(|| proofs.join("; "));
    item.runs = [notification, ecst]
        .iter()
        .flatten()
        .map(|r| r.id)
        .collect();
    item.runs.sort_unstable();
    if !item.done {
        let form = if ecst.is_none() {
            "my-ecst.json"
        } else {
            "my-notification.json"
        };
        item.next = Some(format!(
            "msgwork rewrite-event --example order-placed --check {form}"
        ));
    }
    let after = item.done.then(|| item.runs.last().copied()).flatten();
    item.refused = artifact::refusals(&runs, "payload", artifact::rewrite, after);
    Ok(item)
}

/// R3 and R4 graded correct: the dual-write bug and the outbox fix in the learner's own words.
pub(super) fn own_words(store: &Store) -> Result<Evidence, StoreError> {
    let mut item = Evidence::new(
        "dual-write-in-own-words",
        "workshop",
        true,
        "The dual-write bug and the outbox fix stated in your own words (R3 and R4 graded correct)",
    );
    let mut correct = Vec::new();
    for id in ["R3", "R4"] {
        let right = store
            .answers_with_given(id)?
            .into_iter()
            .rev()
            .find(|a| a.self_verdict.as_deref().unwrap_or(&a.verdict) == "correct");
        if let Some(a) = right {
            correct.push(format!("{id} (drill session {})", a.session));
        }
    }
    item.done = correct.len() == 2;
    item.proof = (!correct.is_empty()).then(|| correct.join(", "));
    if !item.done {
        item.next = Some("msgwork drill --only R3 --only R4".to_string());
    }
    Ok(item)
}
