//! Self-assessment with proof: what the workshop and the lab say a learner must be able to show,
//! each item verified from what the learner actually ran and recorded. Nothing is ticked by hand.

pub mod fingerprint;
pub mod samples;

use serde::Serialize;
use serde_json::Value;

use crate::content::{self, Item, Pack, Source};
use crate::store::{Store, StoreError};

/// Bumped when a key of the `--json` output changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;

/// One thing to show, and whether it is shown.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    pub id: &'static str,
    pub source: &'static str,
    pub required: bool,
    pub title: &'static str,
    pub done: bool,
    /// What proves it: which recorded run, session or answer, and when.
    pub proof: Option<String>,
    /// For a missing item, the exact command to run next.
    pub next: Option<String>,
}

fn item(id: &'static str, source: &'static str, required: bool, title: &'static str) -> Evidence {
    Evidence {
        id,
        source,
        required,
        title,
        done: false,
        proof: None,
        next: None,
    }
}

/// The write-up rubric, graded like a drill answer.
static WRITEUP: &str = include_str!("../../fixtures/writeup-rubric.toml");

/// The rubric for the lab write-up, with the built-in misconceptions.
pub fn writeup_rubric() -> Result<(Item, Pack), content::PackError> {
    let mut sources = vec![Source {
        name: "fixtures/writeup-rubric.toml".to_string(),
        text: WRITEUP,
    }];
    if let Some(catalogue) = content::builtin_source("drills/misconceptions.toml") {
        sources.push(catalogue);
    }
    let pack = content::parse_pack(&sources)?;
    let item = pack
        .items
        .first()
        .cloned()
        .ok_or_else(|| content::PackError {
            problems: Vec::new(),
        })?;
    Ok((item, pack))
}

fn number(v: &Value, path: &[&str]) -> Option<u64> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_u64()
}

fn when(recorded_at: &str) -> &str {
    recorded_at.get(..16).unwrap_or(recorded_at)
}

/// Every item, checked against the store.
pub fn assess(store: &Store) -> Result<Vec<Evidence>, StoreError> {
    let mut items = Vec::new();

    // Workshop: the five scenario drills, answered with a pattern and a reason.
    let mut scenarios = item(
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
    scenarios.done = answered.len() == 5;
    if answered.is_empty() {
        scenarios.next = Some("msgwork drill --section scenarios".to_string());
    } else if !scenarios.done {
        scenarios.proof = Some(format!("so far: {}", answered.join(", ")));
        scenarios.next = Some("msgwork drill --section scenarios".to_string());
    } else {
        scenarios.proof = Some(answered.join(", "));
    }
    items.push(scenarios);

    // Workshop: an outbox sketch that passes the checker.
    let mut sketch = item(
        "outbox-sketch",
        "workshop",
        true,
        "An outbox sketch (DDL, write transaction, relay, consumer dedupe) that passes sketch check",
    );
    match store
        .runs("sketch-check")?
        .into_iter()
        .rev()
        .find(|r| r.results["passed"] == true)
    {
        Some(run) => {
            sketch.done = true;
            sketch.proof = Some(format!(
                "run {} on {}: {} passed",
                run.id,
                when(&run.recorded_at),
                run.options["file"].as_str().unwrap_or("the sketch")
            ));
        }
        None => sketch.next = Some("msgwork sketch check my-outbox.sql".to_string()),
    }
    items.push(sketch);

    // Workshop: the thin OrderPlaced rewritten as notification and as ECST.
    let mut rewrite = item(
        "rewrite",
        "workshop",
        true,
        "The thin OrderPlaced event rewritten as notification and ECST (rewrite-event --check passed)",
    );
    let checks = store.runs("rewrite-check")?;
    let passed = |form: &str| {
        checks.iter().rev().find(|r| {
            r.results["passed"] == true
                && r.results["form"] == form
                && r.options["event_type"]
                    .as_str()
                    .is_some_and(|t| crate::rewrite::catalogue::squash(t) == "orderplaced")
        })
    };
    let (notification, ecst) = (passed("notification"), passed("ecst"));
    rewrite.done = notification.is_some() && ecst.is_some();
    let proofs: Vec<String> = [("notification", notification), ("ECST", ecst)]
        .iter()
        .filter_map(|(name, run)| {
            run.map(|r| format!("{name}: run {} on {}", r.id, when(&r.recorded_at)))
        })
        .collect();
    rewrite.proof = (!proofs.is_empty()).then(|| proofs.join("; "));
    if !rewrite.done {
        let form = if ecst.is_none() {
            "my-ecst.json"
        } else {
            "my-notification.json"
        };
        rewrite.next = Some(format!(
            "msgwork rewrite-event fixtures/events/order-placed.json --check {form}"
        ));
    }
    items.push(rewrite);

    // Workshop: the dual-write bug and the outbox fix in the learner's own words.
    let mut own_words = item(
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
    own_words.done = correct.len() == 2;
    own_words.proof = (!correct.is_empty()).then(|| correct.join(", "));
    if !own_words.done {
        own_words.next = Some("msgwork drill --only R3 --only R4".to_string());
    }
    items.push(own_words);

    // Lab: the crash runs.
    let sims = store.runs("simulate")?;
    let find_sim = |pred: &dyn Fn(&Value) -> bool| sims.iter().rev().find(|r| pred(&r.results));
    let mut lost = item(
        "naive-loses-outbox-holds",
        "lab",
        true,
        "A crash run where the naive dual write lost events and the outbox lost none, on the same schedule",
    );
    if let Some(r) = find_sim(&|v| {
        v["crash"] == true
            && number(v, &["naive", "lost_events"]) >= Some(1)
            && number(v, &["outbox", "lost_events"]) == Some(0)
    }) {
        lost.done = true;
        lost.proof = Some(format!(
            "run {} (seed {}): naive lost {}, outbox lost 0",
            r.id,
            r.seed.unwrap_or_default(),
            number(&r.results, &["naive", "lost_events"]).unwrap_or_default()
        ));
    } else {
        lost.next = Some("msgwork simulate --crash".to_string());
    }
    items.push(lost);

    let mut dup = item(
        "duplicates-absorbed",
        "lab",
        true,
        "At least one duplicate delivery, and zero side effects applied twice",
    );
    if let Some(r) = find_sim(&|v| {
        number(v, &["outbox", "duplicate_deliveries"]) >= Some(1)
            && number(v, &["outbox", "double_applied"]) == Some(0)
    }) {
        dup.done = true;
        dup.proof = Some(format!(
            "run {} (seed {}): {} duplicate deliveries, {} skipped by the inbox, 0 double-applied",
            r.id,
            r.seed.unwrap_or_default(),
            number(&r.results, &["outbox", "duplicate_deliveries"]).unwrap_or_default(),
            number(&r.results, &["outbox", "dedupe_skips"]).unwrap_or_default()
        ));
    } else {
        dup.next = Some("msgwork simulate --crash".to_string());
    }
    items.push(dup);

    let mut claims = item(
        "disjoint-claims",
        "lab",
        true,
        "Two or more relay replicas with zero overlapping claims",
    );
    if let Some(r) = find_sim(&|v| {
        v["claim"] == "lease"
            && number(v, &["relays"]) >= Some(2)
            && number(v, &["outbox", "overlapping_claims"]) == Some(0)
            && number(v, &["outbox", "relay", "passes"]) >= Some(1)
    }) {
        claims.done = true;
        claims.proof = Some(format!(
            "run {} (seed {}): {} relays, {} passes, 0 overlapping claims",
            r.id,
            r.seed.unwrap_or_default(),
            number(&r.results, &["relays"]).unwrap_or_default(),
            number(&r.results, &["outbox", "relay", "passes"]).unwrap_or_default()
        ));
    } else {
        claims.next = Some("msgwork simulate --crash --relays 3".to_string());
    }
    items.push(claims);

    let mut writeup = item(
        "writeup",
        "lab",
        true,
        "A write-up: the gap, why one transaction closes it, why delivery is at-least-once, how the consumer dedupes",
    );
    match store
        .runs("writeup")?
        .into_iter()
        .rev()
        .find(|r| r.results["verdict"] == "correct")
    {
        Some(r) => {
            writeup.done = true;
            writeup.proof = Some(format!(
                "run {} on {}: {} graded correct",
                r.id,
                when(&r.recorded_at),
                r.options["file"].as_str().unwrap_or("the write-up")
            ));
        }
        None => writeup.next = Some("msgwork evidence --writeup lab-writeup.md".to_string()),
    }
    items.push(writeup);

    // The stretch labs: optional, each proven by a run of its lab.
    for (id, title) in [
        (
            "stretch-cdc",
            "Stretch: a change-data-capture relay, with its latency measured against polling",
        ),
        (
            "stretch-cleanup",
            "Stretch: outbox cleanup that keeps the unsent-row poll fast as the table grows",
        ),
        (
            "stretch-ordering",
            "Stretch: per-aggregate ordering held with several relays",
        ),
        (
            "stretch-retention",
            "Stretch: the inbox retention window, and its trade-off",
        ),
    ] {
        let mut stretch = item(id, "lab", false, title);
        let lab = id.trim_start_matches("stretch-");
        // A CDC run counts only if it lost nothing: that is the relay's whole claim.
        let held = |r: &&crate::store::Run| {
            lab != "cdc" || (r.results["lost"] == 0 && r.results["double_applied"] == 0)
        };
        match store.runs(&format!("lab-{lab}"))?.iter().rev().find(held) {
            Some(r) => {
                stretch.done = true;
                stretch.proof = Some(match stretch_summary(lab, &r.results) {
                    Some(what) => format!("run {} on {}: {what}", r.id, when(&r.recorded_at)),
                    None => format!("run {} on {}", r.id, when(&r.recorded_at)),
                });
            }
            None => stretch.next = Some(format!("msgwork lab {lab}")),
        }
        items.push(stretch);
    }
    Ok(items)
}

/// Whether every required item is shown.
pub fn complete(items: &[Evidence]) -> bool {
    items.iter().filter(|i| i.required).all(|i| i.done)
}

/// What a stretch lab's run showed, in a line, from its recorded results; `None` when they lack
/// the figures (a run recorded by an older msgwork).
fn stretch_summary(lab: &str, r: &serde_json::Value) -> Option<String> {
    let backend = r["backend"].as_str().unwrap_or("sqlite");
    match lab {
        "cdc" => {
            let run = r["runs"].get(0)?;
            Some(format!(
                "{} orders/s on {backend}, CDC p99 {:.2} ms against polling's p50 {:.0} ms, {} lost",
                run["rate"].as_u64()?,
                run["cdc"]["latency_ms"]["p99"].as_f64()?,
                run["polling"]["latency_ms"]["p50"].as_f64()?,
                r["lost"].as_u64()?
            ))
        }
        "cleanup" => {
            let checks = r["checks"].as_object()?;
            Some(format!(
                "{} rows on {backend}, partial-index poll {:.2}× from {} rows, {} of {} checks held",
                r["rows"].as_u64()?,
                r["poll_ratio"]["partial"].as_f64()?,
                r["poll_ratio"]["from_rows"].as_u64()?,
                checks
                    .values()
                    .filter(|v| v.as_bool() == Some(true))
                    .count(),
                checks.len()
            ))
        }
        "ordering" => Some(format!(
            "{} orders on {backend} over {} partitions, keyed {} out of order, unkeyed {}",
            r["orders"].as_u64()?,
            r["partitions"].as_u64()?,
            r["keyed"]["violations"].as_u64()?,
            r["unkeyed"]["violations"].as_u64()?
        )),
        "retention" => {
            let windows = r["windows"].as_array()?;
            let (first, last) = (windows.first()?, windows.last()?);
            Some(format!(
                "{} duplicates re-applied keeping ids {} h, {} keeping them {} h",
                first["reapplied"].as_u64()?,
                first["hours"].as_u64()?,
                last["reapplied"].as_u64()?,
                last["hours"].as_u64()?
            ))
        }
        _ => None,
    }
}
