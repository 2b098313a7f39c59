//! The corpus of published designs and events (`tests/corpus/`): each one run through the real
//! binary and held to the fair verdict written beside it, with every known gap named.

use std::path::{Path, PathBuf};

use serde_json::Value;
use toml::Table;

use crate::harness::{Msgwork, path_str};

fn corpus(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(dir)
}

/// Every input file in `dir` ending in `ext` (not a `--source` record), sorted, with its
/// expectation file parsed; a missing or malformed expectation fails the test.
fn cases(dir: &str, ext: &str) -> Vec<(PathBuf, Table)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.ends_with(ext) && !name.ends_with(".source.json")
        })
        .collect();
    files.sort();
    assert!(files.len() >= 8, "the {dir} corpus is too small");
    files
        .into_iter()
        .map(|f| {
            let expect = f.with_extension("toml");
            let text = std::fs::read_to_string(&expect)
                .unwrap_or_else(|e| panic!("{} needs {}: {e}", f.display(), expect.display()));
            let table: Table =
                toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", expect.display()));
            (f, table)
        })
        .collect()
}

fn text<'t>(t: &'t Table, key: &str) -> Option<&'t str> {
    t.get(key).and_then(|v| v.as_str())
}

fn strings(t: &Table, key: &str) -> Vec<String> {
    t.get(key)
        .and_then(|v| v.as_array())
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// The status or message text an expectation names, and the gap that stands in for it if any.
struct Check<'a> {
    file: String,
    gaps: Option<&'a Table>,
    failures: Vec<String>,
}

impl Check<'_> {
    /// What the tool gives now for `key`, when a gap says it differs from the fair verdict.
    fn gap(&self, key: &str) -> Option<&str> {
        let gap = self.gaps?.get(key)?.as_table()?;
        assert!(
            gap.get("reason").and_then(|r| r.as_str()).is_some(),
            "{}: the gap {key} needs a reason",
            self.file
        );
        gap.get("now").and_then(|v| v.as_str())
    }

    fn fail(&mut self, what: String) {
        self.failures.push(format!("{}: {what}", self.file));
    }
}

#[test]
fn published_schemas_get_their_fair_verdicts() {
    let mut failures = Vec::new();
    for (file, expect) in cases("schemas", ".sql") {
        let mut args = vec!["sketch".to_string(), "check".to_string(), path_str(&file)];
        args.extend(strings(&expect, "args"));
        args.push("--json".to_string());
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = Msgwork::new(&argv).output();
        assert!(
            out.code == 0 || out.code == 1,
            "{}: exit {}\n{}",
            file.display(),
            out.code,
            out.stderr
        );
        let v: Value = serde_json::from_str(&out.stdout).unwrap();
        let mut c = Check {
            file: file.file_name().unwrap().to_string_lossy().into_owned(),
            gaps: expect.get("gaps").and_then(|g| g.as_table()),
            failures: Vec::new(),
        };
        let want = expect["items"].as_table().expect("[items]");
        let items = v["items"].as_array().unwrap();
        assert_eq!(
            items.len(),
            want.len(),
            "{}: every item has a verdict",
            c.file
        );
        for item in items {
            let id = item["id"].as_str().unwrap();
            let status = item["status"].as_str().unwrap();
            let fair = want
                .get(id)
                .and_then(|s| s.as_str())
                .unwrap_or_else(|| panic!("{}: no verdict for {id}", c.file));
            let expected = c.gap(id).unwrap_or(fair).to_string();
            if status != expected {
                c.fail(format!(
                    "{id} is {status}, expected {expected}: {}",
                    item["message"]
                ));
            }
        }
        let message = |id: &str| -> String {
            items
                .iter()
                .find(|i| i["id"] == id)
                .map(|i| i["message"].as_str().unwrap().to_string())
                .unwrap_or_else(|| panic!("no item {id}"))
        };
        for (kind, must) in [("mentions", true), ("lacks", false)] {
            let Some(list) = expect.get(kind).and_then(|m| m.as_table()) else {
                continue;
            };
            for (id, words) in list {
                let words = words.as_str().unwrap();
                let msg = message(id);
                let key = if must {
                    format!("mention:{id}")
                } else {
                    format!("lacks:{id}")
                };
                match c.gap(&key) {
                    Some(now) if !msg.contains(now) => {
                        c.fail(format!("{id} no longer says {now:?} (gap {key}): {msg}"));
                    }
                    Some(_) => {}
                    None if msg.contains(words) != must => c.fail(format!(
                        "{id} {} {words:?}: {msg}",
                        if must { "does not say" } else { "says" }
                    )),
                    None => {}
                }
            }
        }
        if let Some(dialect) = text(&expect, "dialect") {
            let expected = c.gap("dialect").unwrap_or(dialect).to_string();
            if v["dialect"] != expected.as_str() {
                c.fail(format!("dialect is {}, expected {expected}", v["dialect"]));
            }
        }
        if let Some(passed) = expect.get("passed").and_then(|p| p.as_bool())
            && v["passed"] != passed
        {
            c.fail(format!("passed is {}, expected {passed}", v["passed"]));
        }
        failures.extend(c.failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The entity id the notification carries, whatever its field is called.
fn notification_id(v: &Value) -> Value {
    v["notification"]["data"]
        .as_object()
        .and_then(|d| d.values().next().cloned())
        .unwrap_or(Value::Null)
}

/// Whether the rewrite keeps `path` off the wire, or flags it as needed personal data.
fn kept_off_or_flagged(v: &Value, path: &str) -> bool {
    let listed = |key: &str| {
        v[key].as_array().is_some_and(|a| {
            a.iter().any(|e| {
                let p = e["path"].as_str().unwrap_or("");
                p == path
                    || path.starts_with(&format!("{p}."))
                    || p.starts_with(&format!("{path}."))
            })
        })
    };
    listed("excluded_fields") || listed("flagged_pii") || listed("dropped_from_event")
}

fn toml_to_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::from(s.as_str()),
        toml::Value::Integer(i) => Value::from(*i),
        other => panic!("ids are strings or integers, not {other}"),
    }
}

#[test]
fn published_events_are_read_through_their_envelopes() {
    let mut failures = Vec::new();
    for (file, expect) in cases("events", ".json") {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let mut args = vec![
            "rewrite-event".to_string(),
            path_str(&file),
            "--json".to_string(),
        ];
        if let Some(source) = text(&expect, "source") {
            args.extend([
                "--source".to_string(),
                path_str(&corpus("events").join(source)),
            ]);
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = Msgwork::new(&argv).output();
        let gap = expect.get("gap").and_then(|g| g.as_table());
        let want = gap.unwrap_or(&expect);
        if let Some(gap) = gap {
            assert!(
                text(gap, "reason").is_some(),
                "{name}: the gap needs a reason"
            );
        }
        let exit = want["exit"].as_integer().unwrap();
        if i64::from(out.code) != exit {
            failures.push(format!(
                "{name}: exit {} (expected {exit}): {}",
                out.code, out.stderr
            ));
            continue;
        }
        if let Some(words) = text(want, "stderr")
            && !out.stderr.contains(words)
        {
            failures.push(format!("{name}: stderr lacks {words:?}: {}", out.stderr));
        }
        if exit != 0 {
            continue;
        }
        let v: Value = serde_json::from_str(&out.stdout).unwrap();
        if let Some(id) = want.get("id") {
            let got = notification_id(&v);
            if got != toml_to_json(id) {
                failures.push(format!("{name}: the entity id is {got}, expected {id}"));
            }
        }
        if gap.is_some() {
            continue;
        }
        for key in ["envelope", "event_type"] {
            if let Some(w) = text(&expect, key)
                && v[key] != w
            {
                failures.push(format!("{name}: {key} is {}, expected {w}", v[key]));
            }
        }
        for path in strings(&expect, "kept_off") {
            if !kept_off_or_flagged(&v, &path) {
                failures.push(format!("{name}: {path} travels unlisted"));
            }
        }
        for path in strings(&expect, "not_sensitive") {
            if kept_off_or_flagged(&v, &path) {
                failures.push(format!("{name}: {path} is taken for sensitive data"));
            }
        }
        for path in strings(&expect, "ecst_has") {
            if v["ecst"]["data"].get(&path).is_none() {
                failures.push(format!("{name}: the ECST does not carry {path}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every sketch and schema the project holds: the corpus, the shipped samples and the
/// adversarial sketches under tests/.
fn every_sql_file() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let mut dirs = vec![
        root.join("tests/corpus/schemas"),
        root.join("fixtures/sketches"),
        root.join("tests/fixtures"),
    ];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "sql") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// One report's items by id: the status and the facts each item cites.
struct Report<'v>(&'v [Value]);

impl Report<'_> {
    fn status(&self, id: &str) -> &str {
        self.item(id)["status"].as_str().unwrap()
    }

    /// The value `id` cites for `fact`, or "" when it cites none.
    fn fact(&self, id: &str, fact: &str) -> &str {
        self.item(id)["facts"][fact].as_str().unwrap_or("")
    }

    fn item(&self, id: &str) -> &Value {
        self.0
            .iter()
            .find(|i| i["id"] == id)
            .unwrap_or_else(|| panic!("no item {id}"))
    }
}

/// What the relay-index fact is when an index serves the relay, or none is needed.
const SERVES: &[&str] = &["partial", "leading", "primary-key", "not-needed"];
/// What the write-scope fact is when the file writes the booking.
const BOOKING_WRITTEN: &[&str] = &[
    "one-statement",
    "one-transaction",
    "routine",
    "trigger",
    "separate",
    "no-outbox-write",
];

/// Pairs of items that cannot both hold, each read from the statuses and the facts the two
/// items cite: one item's verdict rests on a fact the other item's verdict denies.
fn contradictions(r: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let mut pair = |holds: bool, what: &str| {
        if holds {
            out.push(what.to_string());
        }
    };
    pair(
        r.fact("anti-patterns", "anti-patterns")
            .contains("no-relay-index")
            && r.status("relay-index") == "ok",
        "anti-patterns finds no index serving the relay while relay-index is ok",
    );
    pair(
        r.status("anti-patterns") == "ok"
            && SERVES.contains(&r.fact("anti-patterns", "relay-index"))
            && r.fact("anti-patterns", "cdc") == "none"
            && r.status("relay-index") != "ok",
        "anti-patterns says the relay has an index while relay-index is not ok",
    );
    pair(
        r.status("relay-index") == "ok" && !SERVES.contains(&r.fact("relay-index", "relay-index")),
        "relay-index is ok on a fit that serves nothing",
    );
    pair(
        r.status("sandbox-run") == "ok"
            && BOOKING_WRITTEN.contains(&r.fact("sandbox-run", "write-scope"))
            && r.fact("write-transaction", "write-scope") == "no-booking-write",
        "the sandbox runs a booking insert that write-transaction says is not there",
    );
    pair(
        !r.fact("sandbox-run", "sandbox-write").starts_with("0 of 0")
            && r.fact("write-transaction", "file") == "ddl-only",
        "the sandbox runs writes in a file write-transaction calls schema alone",
    );
    pair(
        r.status("write-transaction") == "ok" && r.fact("inbox", "file") == "ddl-only",
        "write-transaction is ok in a file the inbox item calls schema alone",
    );
    pair(
        r.status("relay-claim") == "ok"
            && r.fact("relay-claim", "claim") == "none"
            && r.fact("relay-claim", "cdc") == "none",
        "relay-claim is ok with neither a claim nor CDC",
    );
    pair(
        r.status("relay-claim") == "ok"
            && r.fact("relay-claim", "claim") == "none"
            && r.status("relay-index") == "missing",
        "relay-claim says CDC is the relay while relay-index asks for a poll's index",
    );
    pair(
        r.status("pending-marker") == "ok"
            && r.fact("pending-marker", "marker") == "none"
            && r.fact("relay-claim", "cdc") == "none",
        "pending-marker needs no marker for a CDC relay that relay-claim does not see",
    );
    pair(
        r.status("mark-after-publish") == "not-judged"
            && r.fact("mark-after-publish", "file") == "ddl-only"
            && r.fact("anti-patterns", "settle") != "none",
        "mark-after-publish finds no relay where anti-patterns reads its settles",
    );
    pair(
        r.status("outbox-table") == "missing"
            && r.fact("outbox-table", "outbox") == "none"
            && ["event-id-unique", "payload", "event-type"]
                .iter()
                .any(|id| r.status(id) == "ok"),
        "an outbox column is ok where outbox-table finds no outbox",
    );
    pair(
        r.status("inbox") == "ok" && r.fact("inbox", "inbox") == "none",
        "inbox is ok with no inbox table",
    );
    out
}

#[test]
fn no_report_holds_a_contradictory_pair() {
    let files = every_sql_file();
    assert!(files.len() >= 30, "{files:?}");
    let mut failures = Vec::new();
    for file in &files {
        let out = Msgwork::new(&["sketch", "check", &path_str(file), "--json"]).output();
        let v: Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", file.display(), out.stderr));
        let items = v["items"].as_array().unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        failures.extend(
            contradictions(&Report(items))
                .into_iter()
                .map(|c| format!("{name}: {c}")),
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The contradiction rules themselves catch a contradictory pair, so the test above can fail.
#[test]
fn the_contradiction_rules_catch_a_contradictory_pair() {
    let items: Vec<Value> = serde_json::from_str(
        r#"[
        {"id": "outbox-table", "status": "ok", "facts": {"outbox": "outbox"}},
        {"id": "event-id-unique", "status": "ok", "facts": {}},
        {"id": "payload", "status": "ok", "facts": {}},
        {"id": "event-type", "status": "ok", "facts": {}},
        {"id": "pending-marker", "status": "ok", "facts": {"marker": "published_at (timestamp)"}},
        {"id": "relay-index", "status": "ok", "facts": {"relay-index": "partial"}},
        {"id": "write-transaction", "status": "missing",
         "facts": {"write-scope": "no-booking-write", "file": "full"}},
        {"id": "relay-claim", "status": "ok", "facts": {"claim": "skip-locked at line 9", "cdc": "none"}},
        {"id": "mark-after-publish", "status": "ok", "facts": {"file": "full"}},
        {"id": "inbox", "status": "missing", "facts": {"inbox": "none", "file": "full"}},
        {"id": "anti-patterns", "status": "wrong",
         "facts": {"anti-patterns": "no-relay-index", "relay-index": "partial", "cdc": "none"}},
        {"id": "sandbox-run", "status": "ok",
         "facts": {"write-scope": "one-transaction", "sandbox-write": "2 of 2 ran"}}
    ]"#,
    )
    .unwrap();
    let found = contradictions(&Report(&items));
    assert_eq!(found.len(), 2, "{found:?}");
}
