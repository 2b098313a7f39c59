//! `msgwork evidence` and `msgwork report`: what the learner has proven, and the bundle they
//! hand to an instructor.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde_json::{Value, json};

use super::context::{Context, emit, emit_json};
use super::replay::shell_word;
use crate::Outcome;
use crate::cli::ReportFormat;
use crate::evidence::{self, Evidence, Refusal, artifact};
use crate::grade::Verdict;
use crate::rewrite::redact::{self, Scope};
use crate::store::{Run, Store};
use crate::userfile::{self, Limit, Text};

pub fn run(writeup: Option<&Path>, as_json: bool, ctx: &Context) -> Result<Outcome> {
    let paint = ctx.paint;
    let recorder = ctx.recorder()?;
    let mut text = String::new();
    let mut writeup_passed = true;
    let mut writeup_json = Value::Null;
    if let Some(path) = writeup {
        let limit = Limit {
            max_bytes: 1024 * 1024,
            what: "a lab write-up",
            expect: "a Markdown or text file",
        };
        let Text { name, text: body } = userfile::read(path, &limit)?;
        if body.trim().is_empty() {
            anyhow::bail!("{name} is empty; write up the lab in a few paragraphs");
        }
        let (item, pack) = evidence::writeup_rubric()
            .map_err(|e| anyhow::anyhow!("the write-up rubric is broken: {e}"))?;
        let graded = crate::grade::grade_text(&item.rubric, &pack.misconceptions, &body);
        writeup_passed = graded.verdict == Verdict::Correct;
        let results = json!({
            "verdict": graded.verdict.name(),
            "coverage": graded.coverage,
            "conveyed": graded.conveyed,
            "missing": graded.missing,
            "contradicted": graded.contradicted,
            "misconceptions": graded.misconceptions,
        });
        let run = recorder.record("writeup", None, &json!({"file": name}), &results);
        writeup_json = json!({"run": run, "file": name, "grade": results});
        let _ = writeln!(
            text,
            "{} {name}: {}",
            paint.bold("Write-up"),
            match graded.verdict {
                Verdict::Correct => paint.good("passes"),
                Verdict::Partial => paint.bold("partly there"),
                Verdict::Incorrect => paint.bad("does not pass yet"),
            }
        );
        for concept in &item.rubric.concepts {
            let said = graded.conveyed.contains(&concept.id);
            let mark = if said {
                paint.good("✓")
            } else {
                paint.bad("✗")
            };
            let _ = writeln!(text, "  {mark} {}", concept.says);
        }
        for m in &graded.misconceptions {
            let _ = writeln!(
                text,
                "  {} this is the '{}' misconception (\"{}\"): {}",
                paint.bad("✗"),
                m.name,
                m.words,
                crate::grade::item::tidy(&m.explain)
            );
        }
        for c in &graded.contradicted {
            let _ = writeln!(
                text,
                "  {} you wrote the opposite (\"{}\") of: {}",
                paint.bad("✗"),
                c.words.as_deref().unwrap_or(""),
                c.says
            );
        }
        if let Some(run) = run {
            let _ = writeln!(text, "{}", paint.dim(&format!("Recorded as run {run}.")));
        }
        text.push('\n');
    }
    let store = recorder.store()?;
    let items = evidence::assess(store)?;
    let required = items.iter().filter(|i| i.required).count();
    let done = items.iter().filter(|i| i.required && i.done).count();
    if as_json {
        let mut v = json!({
            "schema_version": evidence::SCHEMA_VERSION,
            "items": items,
            "done": done,
            "required": required,
        });
        if !writeup_json.is_null() {
            v["writeup"] = writeup_json;
        }
        emit_json(&v)?;
    } else {
        let mut table = paint.table(&["", "evidence", "proof, or what to run next"]);
        for i in &items {
            let status = match (i.done, i.required) {
                (true, _) => paint.good_cell("done"),
                (false, true) => paint.bad_cell("missing"),
                (false, false) => paint.dim_cell("optional"),
            };
            let next = i.next.as_deref().map(|n| ctx.suggest(n));
            let mut detail = match (&i.proof, &next) {
                (Some(proof), None) => proof.clone(),
                (Some(proof), Some(next)) => format!("{proof}; next: {next}"),
                (None, Some(next)) if next.starts_with("msgwork") => format!("run: {next}"),
                (None, Some(next)) => next.clone(),
                (None, None) => String::new(),
            };
            for r in &i.refused {
                let _ = write!(
                    detail,
                    "\nnot counted: run {}, {}: {}. Instead, {}.",
                    r.run, r.file, r.reason, r.instead
                );
            }
            table.add_row(vec![
                status,
                comfy_table::Cell::new(format!("{} ({})", i.title, i.source)),
                comfy_table::Cell::new(detail),
            ]);
        }
        let _ = writeln!(text, "{table}");
        let _ = writeln!(
            text,
            "{} of {} required items proven.{}",
            done,
            required,
            if done == required {
                " Hand in `msgwork report > my-evidence.md`."
            } else {
                ""
            }
        );
        emit(&text)?;
    }
    Ok(if evidence::complete(&items) && writeup_passed {
        Outcome::Success
    } else {
        Outcome::CheckFailed
    })
}

/// The evidence bundle.
pub fn report(
    format: ReportFormat,
    output: Option<&Path>,
    force: bool,
    ctx: &Context,
) -> Result<Outcome> {
    const WHAT: &str = "the report";
    let outputs = ctx.outputs(force)?;
    if let Some(path) = output {
        outputs.check_file(path, WHAT)?;
    }
    let store = ctx.open_store()?;
    let items = evidence::assess(&store)?;
    let bundle = bundle(&store, &items)?;
    let text = match format {
        ReportFormat::Json => {
            let mut s = serde_json::to_string_pretty(&bundle)?;
            s.push('\n');
            s
        }
        ReportFormat::Md => markdown(&bundle, &items),
    };
    match output {
        Some(path) => {
            outputs.write_file(path, WHAT, &text)?;
            eprintln!("Wrote {}", path.display());
        }
        None => emit(&text)?,
    }
    Ok(Outcome::Success)
}

/// A recorded run by id, or the newest run of a kind when none is given.
fn cited(store: &Store, proof: Option<i64>, kind: &str) -> Result<Option<Run>> {
    Ok(match proof {
        Some(id) => store.run(id)?,
        None => store.runs(kind)?.pop(),
    })
}

/// Whether a recorded check counts, and if not, why: `(counts, reason)` for the bundle.
fn counted(judged: Result<(), Refusal>) -> (bool, Value) {
    match judged {
        Ok(()) => (true, Value::Null),
        Err(r) => (false, json!(r.reason)),
    }
}

fn bundle(store: &Store, items: &[Evidence]) -> Result<Value> {
    // Each section cites the run that proves its item, as `evidence` chose it.
    let crash_run = match evidence::proving_run(items, "naive-loses-outbox-holds") {
        Some(id) => store.run(id)?,
        None => None,
    };
    let sketch = cited(
        store,
        evidence::proving_run(items, "outbox-sketch"),
        "sketch-check",
    )?;
    let writeup = cited(store, evidence::proving_run(items, "writeup"), "writeup")?;
    let own_run = match evidence::proving_run(items, "own-pipeline-holds") {
        Some(id) => store.run(id)?,
        None => None,
    };
    let pack = crate::content::builtin()?;
    let mut drills = Vec::new();
    for e in crate::drill::entries(&pack) {
        if let Some(a) = store.answers_with_given(e.id())?.last() {
            drills.push(json!({
                "id": e.id(), "section": e.section(), "title": e.title(),
                "verdict": a.verdict, "self_verdict": a.self_verdict,
            }));
        }
    }
    let rewrite_checks: Vec<Value> = store
        .runs("rewrite-check")?
        .iter()
        .map(|r| {
            let (counts, refused) = counted(artifact::rewrite(r));
            // Checks recorded before msgwork redacted them may hold a secret: never export one.
            let result = redact::json(&r.results, Scope::Everything);
            json!({"run": r.id, "file": r.options["payload"], "result": result, "counts": counts, "refused": refused})
        })
        .collect();
    Ok(json!({
        "schema_version": evidence::SCHEMA_VERSION,
        "evidence": items,
        "own_run": own_run.map(|r| json!({
            "run": r.id,
            "recorded_at": r.recorded_at,
            "command": r.options["command"],
            "orders": r.options["orders"],
            "relays": r.options["relays"],
            "seeds": r.results["seeds_run"],
            "replay": evidence::build::replay(&r),
            "runs": r.results["runs"],
        })),
        "crash_run": crash_run.map(|r| json!({"run": r.id, "seed": r.seed, "recorded_at": r.recorded_at, "report": r.results})),
        "drills": drills,
        "sketch": sketch.map(|r| {
            let (counts, refused) = counted(artifact::sketch(&r));
            json!({"run": r.id, "file": r.options["file"], "result": r.results, "counts": counts, "refused": refused})
        }),
        "rewrite_checks": rewrite_checks,
        "writeup": writeup.map(|r| json!({"run": r.id, "file": r.options["file"], "grade": r.results})),
    }))
}

/// The command that replays a crash run: the one the run recorded, when it recorded one.
fn replay(run: &Value) -> String {
    let r = &run["report"];
    let argv: Option<Vec<&str>> = r["replay"]
        .as_array()
        .and_then(|a| a.iter().map(Value::as_str).collect());
    match argv {
        Some(argv) if !argv.is_empty() => {
            let words: Vec<String> = argv.iter().map(|w| shell_word(w)).collect();
            let line = words.join(" ");
            if argv[0] == "msgwork" {
                line
            } else {
                format!("msgwork {line}")
            }
        }
        _ => format!(
            "msgwork simulate --crash --seed {} --orders {}",
            run["seed"], r["orders"]
        ),
    }
}

fn markdown(b: &Value, items: &[Evidence]) -> String {
    let mut md = String::from("# Messaging patterns: evidence\n\n");
    let required = items.iter().filter(|i| i.required).count();
    let done = items.iter().filter(|i| i.required && i.done).count();
    let _ = writeln!(
        md,
        "{done} of {required} required items proven, each from a recorded run.\n"
    );
    md.push_str("| | evidence | proof |\n|---|---|---|\n");
    for i in items {
        let mark = if i.done {
            "done"
        } else if i.required {
            "missing"
        } else {
            "optional"
        };
        let proof = i
            .proof
            .clone()
            .or_else(|| i.next.clone().map(|n| format!("to do: `{n}`")))
            .unwrap_or_default();
        let _ = writeln!(md, "| {mark} | {} | {} |", i.title, proof);
    }
    let refused: Vec<(&str, &Refusal)> = items
        .iter()
        .flat_map(|i| i.refused.iter().map(move |r| (i.id, r)))
        .collect();
    if !refused.is_empty() {
        md.push_str("\n## Not counted\n\n");
        for (id, r) in refused {
            let _ = writeln!(md, "- {id}: run {}, `{}`: {}.", r.run, r.file, r.reason);
        }
    }
    if let Some(own) = b["own_run"].as_object() {
        let runs = own["runs"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let sum = |key: &str| {
            runs.iter()
                .map(|r| r[key].as_u64().unwrap_or(0))
                .sum::<u64>()
        };
        let _ = writeln!(
            md,
            "\n## Your own implementation\n\nRun {} ({}): your program held on {} seeds of {} \
             orders with {} relays, through {} kills, absorbing {} duplicate deliveries. Replay: `{}`",
            own["run"],
            own["recorded_at"].as_str().unwrap_or(""),
            own["seeds"],
            own["orders"],
            own["relays"],
            sum("kills"),
            sum("duplicates_absorbed"),
            own["replay"].as_str().unwrap_or("")
        );
    }
    if b["crash_run"].is_null() {
        md.push_str(
            "\n## The crash lab\n\nNo recorded crash run shows the naive dual write losing events \
             while the outbox loses none yet: run `msgwork simulate --crash`.\n",
        );
    }
    if let Some(run) = b["crash_run"].as_object() {
        let r = &run["report"];
        let _ = writeln!(
            md,
            "\n## The crash lab\n\nRun {} (seed {}, {} orders, {} relays), the run that proves the naive \
             dual write loses events while the outbox loses none. Replay: `{}`\n",
            run["run"],
            run["seed"],
            r["orders"],
            r["relays"],
            replay(&b["crash_run"])
        );
        md.push_str("| | naive dual write | outbox + inbox |\n|---|---:|---:|\n");
        for (label, key) in [
            ("orders committed", "committed_orders"),
            ("events delivered", "events_delivered"),
            ("lost events", "lost_events"),
            ("phantom events", "phantom_events"),
            ("duplicate deliveries", "duplicate_deliveries"),
            ("side effects applied", "side_effects_applied"),
            ("double-applied", "double_applied"),
            ("crashes injected", "crashes"),
        ] {
            let _ = writeln!(
                md,
                "| {label} | {} | {} |",
                r["naive"][key], r["outbox"][key]
            );
        }
        let relay = &r["outbox"]["relay"];
        let _ = writeln!(
            md,
            "\nDuplicates absorbed: {} duplicate deliveries, {} skipped by the inbox, {} applied twice. \
             Claim log: {} passes claimed {} rows with {} overlapping claims.",
            r["outbox"]["duplicate_deliveries"],
            r["outbox"]["dedupe_skips"],
            r["outbox"]["double_applied"],
            relay["passes"],
            relay["rows_claimed"],
            r["outbox"]["overlapping_claims"]
        );
    }
    if let Some(drills) = b["drills"].as_array().filter(|d| !d.is_empty()) {
        md.push_str("\n## Drills (latest answer to each)\n\n| item | section | verdict | own verdict |\n|---|---|---|---|\n");
        for d in drills {
            let own = d["self_verdict"].as_str().unwrap_or("");
            let _ = writeln!(
                md,
                "| {} {} | {} | {} | {own} |",
                d["id"].as_str().unwrap_or(""),
                d["title"].as_str().unwrap_or(""),
                d["section"].as_str().unwrap_or(""),
                d["verdict"].as_str().unwrap_or("")
            );
        }
    }
    if let Some(s) = b["sketch"].as_object() {
        let passed = s["result"]["passed"] == true;
        let _ = writeln!(
            md,
            "\n## The outbox sketch\n\n{} (run {}): {}.\n",
            s["file"].as_str().unwrap_or("sketch"),
            s["run"],
            if passed {
                "passes"
            } else {
                "does not pass yet"
            }
        );
        if let Some(reason) = s["refused"].as_str() {
            let _ = writeln!(md, "Not counted as evidence: {reason}.\n");
        }
        if let Some(items) = s["result"]["items"].as_array() {
            for i in items {
                let _ = writeln!(
                    md,
                    "- {} {}: {}",
                    i["status"].as_str().unwrap_or(""),
                    i["id"].as_str().unwrap_or(""),
                    i["message"].as_str().unwrap_or("")
                );
            }
        }
    }
    if let Some(checks) = b["rewrite_checks"].as_array().filter(|c| !c.is_empty()) {
        md.push_str("\n## Event rewrites checked\n\n");
        for c in checks {
            let r = &c["result"];
            let _ = writeln!(
                md,
                "- run {}: {} as {} (`{}`): {}{}",
                c["run"],
                r["event_type"].as_str().unwrap_or("event"),
                r["form"].as_str().unwrap_or(""),
                c["file"].as_str().unwrap_or(""),
                if r["passed"] == true {
                    "passed"
                } else {
                    "failed"
                },
                c["refused"]
                    .as_str()
                    .map(|why| format!("; not counted: {why}"))
                    .unwrap_or_default()
            );
        }
    }
    if let Some(w) = b["writeup"].as_object() {
        let _ = writeln!(
            md,
            "\n## The write-up\n\n{}: graded {}.",
            w["file"].as_str().unwrap_or("write-up"),
            w["grade"]["verdict"].as_str().unwrap_or("")
        );
    }
    md
}
