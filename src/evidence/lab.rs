//! The lab's items: the crash runs, the write-up and the optional stretch labs, each proven by a
//! recorded run chosen here and nowhere else.

use serde_json::Value;

use super::item::{Evidence, when};
use crate::store::{Run, Store, StoreError};

fn number(v: &Value, path: &[&str]) -> Option<u64> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_u64()
}

/// The newest crash run that proves the naive dual write loses events while the outbox loses none
/// and holds: the run `evidence` and `report` both cite.
fn loss_proof(sims: &[Run]) -> Option<&Run> {
    sims.iter().rev().find(|r| {
        let v = &r.results;
        v["crash"] == true
            && number(v, &["naive", "lost_events"]) >= Some(1)
            && number(v, &["outbox", "lost_events"]) == Some(0)
            && v["verdict"]["outbox_holds"] != false
    })
}

/// The three crash-lab items, each with the newest run that proves it.
pub(super) fn crash(store: &Store) -> Result<Vec<Evidence>, StoreError> {
    let sims = store.runs("simulate")?;
    let find = |pred: &dyn Fn(&Value) -> bool| sims.iter().rev().find(|r| pred(&r.results));
    let mut lost = Evidence::new(
        "naive-loses-outbox-holds",
        "lab",
        true,
        "A crash run where the naive dual write lost events and the outbox lost none, on the same schedule",
    );
    if let Some(r) = loss_proof(&sims) {
        lost.done = true;
        lost.proof = Some(format!(
            "run {} (seed {}): naive lost {}, outbox lost 0",
            r.id,
            r.seed.unwrap_or_default(),
            number(&r.results, &["naive", "lost_events"]).unwrap_or_default()
        ));
        lost.runs.push(r.id);
    } else {
        lost.next = Some("msgwork simulate --crash".to_string());
    }

    let mut dup = Evidence::new(
        "duplicates-absorbed",
        "lab",
        true,
        "At least one duplicate delivery, and zero side effects applied twice",
    );
    if let Some(r) = find(&|v| {
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
        dup.runs.push(r.id);
    } else {
        dup.next = Some("msgwork simulate --crash".to_string());
    }

    let mut claims = Evidence::new(
        "disjoint-claims",
        "lab",
        true,
        "Two or more relay replicas, and no row claimed while another relay's lease on it ran",
    );
    // Runs recorded before the claim log count every overlap; newer ones count those under a
    // running lease apart, since taking over an expired lease is the lease working.
    let held = |v: &serde_json::Value| match number(v, &["outbox", "unexpired_overlaps"]) {
        Some(n) => n == 0,
        None => number(v, &["outbox", "overlapping_claims"]) == Some(0),
    };
    if let Some(r) = find(&|v| {
        v["claim"] == "lease"
            && number(v, &["relays"]) >= Some(2)
            && held(v)
            && number(v, &["outbox", "relay", "passes"]) >= Some(1)
    }) {
        claims.done = true;
        claims.proof = Some(format!(
            "run {} (seed {}): {} relays, {} passes, no claim under a running lease",
            r.id,
            r.seed.unwrap_or_default(),
            number(&r.results, &["relays"]).unwrap_or_default(),
            number(&r.results, &["outbox", "relay", "passes"]).unwrap_or_default()
        ));
        claims.runs.push(r.id);
    } else {
        claims.next = Some("msgwork simulate --crash --relays 3".to_string());
    }
    Ok(vec![lost, dup, claims])
}

/// The lab write-up, graded correct.
pub(super) fn writeup(store: &Store) -> Result<Evidence, StoreError> {
    let mut item = Evidence::new(
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
            item.done = true;
            item.proof = Some(format!(
                "run {} on {}: {} graded correct",
                r.id,
                when(&r.recorded_at),
                r.options["file"].as_str().unwrap_or("the write-up")
            ));
            item.runs.push(r.id);
        }
        None => item.next = Some("msgwork evidence --writeup lab-writeup.md".to_string()),
    }
    Ok(item)
}

/// The stretch labs: optional, each proven by a run of its lab.
pub(super) fn stretch(store: &Store) -> Result<Vec<Evidence>, StoreError> {
    let mut items = Vec::new();
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
        (
            "stretch-fanout",
            "Stretch: one queue against a topic, for services that each need every order",
        ),
        (
            "stretch-dlq",
            "Stretch: retries with backoff, and a dead-letter queue for what never succeeds",
        ),
    ] {
        let mut item = Evidence::new(id, "lab", false, title);
        let lab = id.trim_start_matches("stretch-");
        // A CDC run counts only if it lost nothing: that is the relay's whole claim.
        let held =
            |r: &&Run| lab != "cdc" || (r.results["lost"] == 0 && r.results["double_applied"] == 0);
        match store.runs(&format!("lab-{lab}"))?.iter().rev().find(held) {
            Some(r) => {
                item.done = true;
                item.proof = Some(match stretch_summary(lab, &r.results) {
                    Some(what) => format!("run {} on {}: {what}", r.id, when(&r.recorded_at)),
                    None => format!("run {} on {}", r.id, when(&r.recorded_at)),
                });
                item.runs.push(r.id);
            }
            None => item.next = Some(format!("msgwork lab {lab}")),
        }
        items.push(item);
    }
    Ok(items)
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
        "fanout" => {
            let missed = |side: &str| -> Option<u64> {
                r[side]
                    .as_array()?
                    .iter()
                    .map(|s| s["missed"].as_u64())
                    .sum::<Option<u64>>()
            };
            Some(format!(
                "{} orders to {} services, {} deliveries missed through one queue, {} through a topic",
                r["orders"].as_u64()?,
                r["topic"].as_array()?.len(),
                missed("queue")?,
                missed("topic")?
            ))
        }
        "dlq" => Some(format!(
            "{} messages, {} applied ({} after a retry), {} dead-lettered, {} lost",
            r["options"]["messages"].as_u64()?,
            r["applied"].as_u64()?,
            r["applied_after_retry"].as_u64()?,
            r["dead_lettered"].as_u64()?,
            r["lost"].as_u64()?
        )),
        "retention" => {
            let windows = r["windows"].as_array()?;
            let (first, last) = (windows.first()?, windows.last()?);
            Some(format!(
                "{} duplicates re-applied keeping ids {} h, {} keeping them {} h",
                first["reapplied"].as_u64()?,
                first["hours"].as_f64()?,
                last["reapplied"].as_u64()?,
                last["hours"].as_f64()?
            ))
        }
        _ => None,
    }
}
