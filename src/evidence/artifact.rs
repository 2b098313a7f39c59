//! Whether a recorded sketch or rewrite check counts as the learner's own passing work. It does
//! not when the file is a shipped sample (or a copy that differs only in what the fingerprint
//! ignores), msgwork's own rewrite, or a check that failed or marked anything wrong; each refusal
//! says which file, why, and what to do instead.

use std::collections::HashSet;

use serde_json::Value;

use super::item::Refusal;
use super::samples;
use crate::rewrite::redact;
use crate::store::Run;

/// The event the rewrite item asks for, as shipped.
pub(super) const ORDER_PLACED: &str = "fixtures/events/order-placed.json";

/// Why a check msgwork recorded before it kept fingerprints cannot count.
const UNFINGERPRINTED: &str = "it was checked by an older msgwork, which kept nothing to tell it \
                               apart from the shipped samples";

/// Whether a recorded `sketch check` counts.
pub fn sketch(run: &Run) -> Result<(), Refusal> {
    let file = run.options["file"].as_str().unwrap_or("the sketch");
    let refuse = |reason: String, instead: String| Refusal {
        run: run.id,
        file: file.to_string(),
        reason,
        instead,
    };
    let again = format!("check it again: msgwork sketch check {}", arg(file));
    let fingerprint = run.options["fingerprint"].as_str();
    if let Some(sample) = fingerprint.and_then(samples::shipped) {
        return Err(refuse(
            copy_of(file, sample, "comments, spacing or letter case"),
            "write your own outbox sketch and check it: msgwork sketch check my-outbox.sql"
                .to_string(),
        ));
    }
    let items = &run.results["items"];
    let passed = run.results["passed"] == true;
    let wrong = ids_where(items, "status", "wrong");
    if !passed || !wrong.is_empty() {
        let mut found = Vec::new();
        if !passed {
            let missing = ids_where(items, "status", "missing");
            if !missing.is_empty() {
                found.push(format!("{} missing", missing.join(", ")));
            }
        }
        if !wrong.is_empty() {
            found.push(format!("{} wrong", wrong.join(", ")));
        }
        let verdict = if passed {
            "its check passed but marked"
        } else {
            "its check did not pass"
        };
        let reason = match (passed, found.is_empty()) {
            (false, true) => verdict.to_string(),
            (true, _) => format!("{verdict} {}", found.join("; ")),
            (false, false) => format!("{verdict}: {}", found.join("; ")),
        };
        return Err(refuse(
            reason,
            format!("fix the items marked missing or wrong, then {again}"),
        ));
    }
    if fingerprint.is_none() {
        return Err(refuse(UNFINGERPRINTED.to_string(), again));
    }
    Ok(())
}

/// Whether a recorded `rewrite-event --check` counts towards the OrderPlaced rewrite item.
pub fn rewrite(run: &Run) -> Result<(), Refusal> {
    let file = run.options["payload"].as_str().unwrap_or("the payload");
    let event = run.options["event"].as_str().unwrap_or(ORDER_PLACED);
    let form = run.results["form"].as_str().unwrap_or("ecst");
    let refuse = |reason: String, instead: String| Refusal {
        run: run.id,
        file: file.to_string(),
        reason,
        instead,
    };
    let own = format!(
        "write the payload yourself and check it: msgwork rewrite-event --example order-placed --check my-{form}.json"
    );
    let again = format!(
        "check it again: msgwork rewrite-event {} --check {}",
        event_arg(event),
        arg(file)
    );
    let fingerprint = run.options["fingerprint"].as_str();
    if let Some(sample) = fingerprint.and_then(samples::shipped) {
        return Err(refuse(
            copy_of(file, sample, "formatting or key order"),
            own,
        ));
    }
    let copied = run.options["model_fingerprints"]
        .as_array()
        .is_some_and(|m| fingerprint.is_some_and(|f| m.iter().any(|p| p == f)));
    if copied {
        return Err(refuse(
            format!(
                "it is msgwork's own rewrite of {event}, as `msgwork rewrite-event {}` prints it \
                 (at most formatting or key order differ), not your own work",
                arg(event)
            ),
            own,
        ));
    }
    let failed = ids_where(&run.results["findings"], "severity", "fail");
    if run.results["passed"] != true || !failed.is_empty() {
        let reason = if failed.is_empty() {
            "its check failed".to_string()
        } else {
            format!("its check failed: {}", failed.join(", "))
        };
        return Err(refuse(
            reason,
            format!("fix the findings marked fail, then {again}"),
        ));
    }
    let event_type = run.options["event_type"].as_str();
    if event_type.is_none_or(|t| crate::rewrite::catalogue::squash(t) != "orderplaced") {
        return Err(refuse(
            format!(
                "it was checked against {}, and this item asks for the thin OrderPlaced event",
                event_type.map_or("an event with no type".into(), redact::text)
            ),
            format!(
                "msgwork rewrite-event --example order-placed --check {}",
                arg(file)
            ),
        ));
    }
    if fingerprint.is_none() {
        return Err(refuse(UNFINGERPRINTED.to_string(), again));
    }
    Ok(())
}

/// The refusals worth telling, newest first: for each file its newest run, when that run does
/// not count and is newer than `after` (the run that proves the item, if one does).
pub(super) fn refusals(
    runs: &[Run],
    file_key: &str,
    judge: impl Fn(&Run) -> Result<(), Refusal>,
    after: Option<i64>,
) -> Vec<Refusal> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for run in runs.iter().rev() {
        if after.is_some_and(|proof| run.id <= proof) {
            break;
        }
        if !seen.insert(run.options[file_key].as_str().unwrap_or_default()) {
            continue;
        }
        if let Err(refusal) = judge(run) {
            out.push(refusal);
        }
    }
    out
}

/// Why a shipped sample, or a copy of one, is refused.
fn copy_of(file: &str, sample: &str, ignored: &str) -> String {
    if file.ends_with(sample) {
        format!("it is {sample}, a sample shipped with msgwork, not your own work")
    } else {
        format!(
            "it is a copy of {sample}, a sample shipped with msgwork (at most {ignored} differ), \
             not your own work"
        )
    }
}

/// The ids of the entries in a recorded list whose `key` is `value`.
fn ids_where(list: &Value, key: &str, value: &str) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter(|i| i[key] == value)
        .filter_map(|i| i["id"].as_str().map(str::to_string))
        .collect()
}

/// A file name as a shell word for a command to copy: standard input is `-`, and anything with a
/// character the shell would read is single-quoted.
/// The event as the command line should name it: a shipped event by `--example`, so the command
/// works from any directory, anything else by its path.
fn event_arg(event: &str) -> String {
    match event
        .strip_prefix("fixtures/events/")
        .and_then(|e| e.strip_suffix(".json"))
        .filter(|name| samples::example_event(name).is_some())
    {
        Some(name) => format!("--example {name}"),
        None => arg(event),
    }
}

fn arg(file: &str) -> String {
    if file == "standard input" {
        return "-".to_string();
    }
    let plain = !file.is_empty()
        && file
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@+,%".contains(c));
    if plain {
        file.to_string()
    } else {
        format!("'{}'", file.replace('\'', r"'\''"))
    }
}
