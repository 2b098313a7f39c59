//! The items only the learner's own implementation can earn: `msgwork verify` runs of their own
//! service, relays and consumer, under msgwork's kill schedule, whose code is not a kit msgwork
//! ships.

use serde_json::Value;

use super::item::{Evidence, Refusal, when};
use crate::store::{Run, Store, StoreError};

/// What a run must have covered to prove the pipeline holds.
const MIN_SEEDS: u64 = 20;
const MIN_ORDERS: u64 = 100;
const MIN_RELAYS: u64 = 2;

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

/// The program's words, as the run recorded them.
fn command(run: &Run) -> String {
    run.options["command"]
        .as_array()
        .map(|words| {
            words
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// The command that runs a recorded verify run again.
pub fn replay(run: &Run) -> String {
    let o = &run.options;
    format!(
        "msgwork verify --seed {} --seeds {} --orders {} --relays {} -- {}",
        run.seed.unwrap_or(1),
        n(&o["seeds"]),
        n(&o["orders"]),
        n(&o["relays"]),
        command(run)
    )
}

/// Code with comments and spacing taken out, so a reformatted or re-commented copy of a kit is
/// still that kit. A `#` or `//` starts a comment only at the start of a line or after a space,
/// which leaves `#` inside most strings alone; a miss only makes a copy look like the learner's.
fn normalise(code: &str) -> String {
    let mut out = String::new();
    for line in code.lines() {
        let mut cut = line.len();
        for marker in ["#", "//"] {
            if let Some(at) = line
                .match_indices(marker)
                .map(|(i, _)| i)
                .find(|&i| i == 0 || line[..i].ends_with([' ', '\t']))
            {
                cut = cut.min(at);
            }
        }
        out.extend(line[..cut].split_whitespace().flat_map(|w| [w, " "]));
    }
    out
}

/// The shipped solution file a recorded source file copies, if any.
fn copied_solution(text: &str) -> Option<String> {
    let mine = normalise(text);
    if mine.trim().is_empty() {
        return None;
    }
    crate::kit::KITS.iter().find_map(|kit| {
        kit.solution
            .iter()
            .find(|f| {
                (f.path.ends_with(".py") || f.path.ends_with(".rs")) && normalise(f.text) == mine
            })
            .map(|f| format!("the {} kit's reference solution ({})", kit.language, f.path))
    })
}

/// Why a verify run cannot count as the learner's own work, if it cannot.
fn not_own(run: &Run) -> Option<Refusal> {
    if !run.options["schedule"].is_null() {
        return Some(Refusal {
            run: run.id,
            file: command(run),
            reason: "it replayed a hand-given schedule (--schedule), not the seed's kills".into(),
            instead: "run it without --schedule".into(),
        });
    }
    let sources = run.options["sources"].as_array()?;
    sources.iter().find_map(|f| {
        let copy = copied_solution(f["text"].as_str()?)?;
        Some(Refusal {
            run: run.id,
            file: f["path"].as_str().unwrap_or("").to_string(),
            reason: format!("it is {copy}, which msgwork ships"),
            instead: "write your own from the starter: msgwork starter python my-outbox".into(),
        })
    })
}

/// Whether a run held on every seed it ran.
fn held(run: &Run) -> bool {
    let r = &run.results;
    r["verdict"] == "held" && n(&r["seeds_run"]) >= 1 && r["seeds_held"] == r["seeds_run"]
}

/// Whether a held run covered enough to prove the pipeline: seeds, orders, relays, and kills
/// on every seed.
fn thorough(run: &Run) -> bool {
    let (o, r) = (&run.options, &run.results);
    let killed_every_seed = r["runs"]
        .as_array()
        .is_some_and(|runs| !runs.is_empty() && runs.iter().all(|s| n(&s["kills"]) >= 1));
    n(&r["seeds_run"]) >= MIN_SEEDS
        && n(&o["orders"]) >= MIN_ORDERS
        && n(&o["relays"]) >= MIN_RELAYS
        && killed_every_seed
}

fn absorbed(run: &Run) -> u64 {
    run.results["runs"]
        .as_array()
        .map(|runs| runs.iter().map(|s| n(&s["duplicates_absorbed"])).sum())
        .unwrap_or(0)
}

fn lost(run: &Run) -> u64 {
    run.results["runs"]
        .as_array()
        .map(|runs| runs.iter().map(|s| n(&s["lost"])).sum())
        .unwrap_or(0)
}

/// The learner's own-implementation items, each with the newest run that proves it.
pub(super) fn own(store: &Store) -> Result<Vec<Evidence>, StoreError> {
    let runs = store.runs("verify")?;
    let mut holds = Evidence::new(
        "own-pipeline-holds",
        "verify",
        true,
        "Your own service, relays and consumer lost nothing and applied nothing twice under msgwork's kills, on 20 or more seeds",
    );
    let mut dedupes = Evidence::new(
        "own-consumer-dedupes",
        "verify",
        true,
        "Your own consumer absorbed duplicate deliveries and charged each order once",
    );
    let mut fixed = Evidence::new(
        "own-gap-closed",
        "verify",
        false,
        "Your own code lost an event under a kill, and a later version of it held",
    );
    let own: Vec<&Run> = runs
        .iter()
        .filter(|r| match not_own(r) {
            Some(refusal) => {
                if held(r) {
                    holds.refused.push(refusal);
                }
                false
            }
            None => true,
        })
        .collect();

    if let Some(r) = own.iter().rev().find(|r| held(r) && thorough(r)) {
        let kills: u64 = r.results["runs"]
            .as_array()
            .map(|s| s.iter().map(|s| n(&s["kills"])).sum())
            .unwrap_or(0);
        holds.done = true;
        holds.proof = Some(format!(
            "run {} on {}: `{}` held on {} seeds of {} orders with {} relays, through {kills} kills; replay: {}",
            r.id,
            when(&r.recorded_at),
            command(r),
            n(&r.results["seeds_run"]),
            n(&r.options["orders"]),
            n(&r.options["relays"]),
            replay(r)
        ));
        holds.runs.push(r.id);
    } else {
        holds.next = Some(match own.last() {
            Some(r) => format!(
                "msgwork verify --seeds {MIN_SEEDS} --orders {} --relays {} -- {}",
                n(&r.options["orders"]).max(MIN_ORDERS),
                n(&r.options["relays"]).max(MIN_RELAYS),
                command(r)
            ),
            None => "msgwork starter python my-outbox".to_string(),
        });
    }

    if let Some(r) = own.iter().rev().find(|r| held(r) && absorbed(r) >= 1) {
        dedupes.done = true;
        dedupes.proof = Some(format!(
            "run {} on {}: `{}` absorbed {} duplicate deliveries over {} seeds, nothing charged twice",
            r.id,
            when(&r.recorded_at),
            command(r),
            absorbed(r),
            n(&r.results["seeds_run"])
        ));
        dedupes.runs.push(r.id);
    } else {
        dedupes.next = Some(match own.last() {
            Some(r) => format!("msgwork verify --seeds 5 -- {}", command(r)),
            None => "msgwork starter python my-outbox".to_string(),
        });
    }

    let closed = own.iter().enumerate().rev().find_map(|(i, later)| {
        if !held(later) {
            return None;
        }
        let earlier = own[..i]
            .iter()
            .rev()
            .find(|r| command(r) == command(later) && lost(r) >= 1)?;
        Some((*earlier, *later))
    });
    match closed {
        Some((before, after)) => {
            fixed.done = true;
            fixed.proof = Some(format!(
                "run {} lost {} events; run {}, on {}, held on {} seeds",
                before.id,
                lost(before),
                after.id,
                when(&after.recorded_at),
                n(&after.results["seeds_run"])
            ));
            fixed.runs.extend([before.id, after.id]);
        }
        None => fixed.next = Some("msgwork starter python my-outbox".to_string()),
    }
    Ok(vec![holds, dedupes, fixed])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_spacing_do_not_make_a_copy_your_own() {
        let kit = crate::kit::KITS
            .iter()
            .find(|k| k.language == "python")
            .expect("a python kit");
        let solution = kit
            .solution
            .iter()
            .find(|f| f.path == "shop.py")
            .unwrap()
            .text;
        assert!(copied_solution(solution).is_some());
        let recommented: String = solution
            .lines()
            .map(|l| format!("    {l}   # mine\n"))
            .collect();
        assert!(copied_solution(&recommented).is_some());
        let changed = solution.replacen("def ", "def my_", 1);
        assert!(copied_solution(&changed).is_none());
        let starter = kit
            .starter
            .iter()
            .find(|f| f.path == "shop.py")
            .unwrap()
            .text;
        assert!(copied_solution(starter).is_none());
    }
}
