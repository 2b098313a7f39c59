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
