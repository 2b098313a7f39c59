//! `msgwork drill --answers` and `msgwork content check`, through the real binary.

use std::collections::BTreeSet;

use crate::harness::{Msgwork, path_str};

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path_str(&path)
}

/// Every item's model answer, and each scenario's expected choices with the workshop's reason.
fn workshop_answers() -> serde_json::Value {
    let pack = msgwork::content::builtin().unwrap();
    let mut v = serde_json::json!({"scenarios": {}, "retrieval": {}, "compare": {}, "mistakes": {}, "concepts": {}});
    for item in &pack.items {
        v[item.section.name()][&item.id] = serde_json::Value::String(item.model_answer.clone());
    }
    // The workshop sheet's expected shape of each answer, put in a learner's words.
    let reasons = [
        (
            "A",
            "This is work distribution, so a queue: each thumbnail job is done once by one worker. The message carries a reference to the stored image, not the bytes. No outbox is needed because the workers are idempotent by the image URL and a second or two of delay is fine.",
        ),
        (
            "B",
            "OrderPlaced is broadcast on a topic so billing, inventory, notifications and analytics each get their own copy. The event carries the order data (ECST) so the consumers do not hammer checkout with callbacks. An outbox is required on checkout: the order and its event are written in one local transaction and a relay publishes it.",
        ),
        (
            "C",
            "A task queue of report jobs, each message carrying the report summary (ECST). No outbox is needed because emission is a scheduled job and the send is idempotent.",
        ),
        (
            "D",
            "This is synchronous request/reply: checkout sends a command and waits for the fraud decision within 200 ms before fulfilling. It is not an event and not an EDA problem, so no event payload and no outbox.",
        ),
        (
            "E",
            "A topic, because six systems each need the change. ECST ships the new email so the downstream systems keep running while the profile service is down. An outbox is required so the email change is never lost between the commit and the publish.",
        ),
    ];
    for (id, reason) in reasons {
        let s = pack.scenarios.iter().find(|s| s.id == id).unwrap();
        v["scenarios"][id] = serde_json::json!({
            "channel": s.channel.expected, "payload": s.payload.expected,
            "outbox": s.outbox.expected == "yes", "reason": reason,
        });
    }
    v
}

#[test]
fn the_workshops_expected_answers_score_full_marks() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "workshop.json", &workshop_answers().to_string());
    let out = Msgwork::new(&["drill", "--answers", &file, "--json"]).output();
    let v = out.success().json();
    let items = v["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        5 + 5 + 5 + 7 + msgwork::content::builtin().unwrap().items.len() - 17
    );
    for item in items {
        assert_eq!(
            item["verdict"], "correct",
            "{} scored {}: {}",
            item["id"], item["score"], item["feedback"]
        );
        assert_eq!(item["score"], item["max"]);
    }
    assert_eq!(v["score"], v["max"]);
}

#[test]
fn json_output_has_the_stable_shape() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "a.json",
        r#"{"retrieval": {"R1": "a queue broadcasts every message to all of its consumers"}}"#,
    );
    let v = Msgwork::new(&["drill", "--answers", &file, "--json"])
        .output()
        .success()
        .json();
    assert_eq!(v["schema_version"], 1);
    let item = &v["items"][0];
    for key in [
        "id",
        "section",
        "verdict",
        "score",
        "max",
        "feedback",
        "misconceptions",
    ] {
        assert!(item.get(key).is_some(), "missing {key}");
    }
    assert_eq!(item["id"], "R1");
    assert_eq!(item["section"], "retrieval");
    assert_eq!(item["verdict"], "incorrect");
    assert_eq!(item["misconceptions"][0]["id"], "queue-broadcasts");
    assert!(v["score"].is_number() && v["max"].is_number());
}

#[test]
fn a_wrong_scenario_answer_is_told_precisely_why() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "b.json",
        r#"{"scenarios": {"B": {"channel": "Work Queue", "payload": "ECST", "outbox": "yes", "reason": "one queue that billing, inventory, email and analytics all read"}}}"#,
    );
    let out = Msgwork::new(&["drill", "--answers", &file]).output();
    let text = &out.success().stdout;
    assert!(
        text.contains("channel: queue is wrong, expected topic"),
        "{text}"
    );
    assert!(
        text.contains("'a queue broadcasts' misconception"),
        "{text}"
    );
    assert!(text.contains("payload: ecst is right"), "{text}");
}

#[test]
fn only_the_items_in_the_file_are_graded_and_each_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "one.json",
        r#"{"retrieval": {"R3": "two separate writes, db then broker, with no shared transaction: a crash between them loses the event"}}"#,
    );
    let (out, home) = Msgwork::new(&["drill", "--answers", &file, "--json"]).run();
    assert_eq!(out.success().json()["items"].as_array().unwrap().len(), 1);
    let store = msgwork::store::Store::open(home.path()).unwrap();
    assert_eq!(store.answers_to("R3").unwrap().len(), 1);
    assert!(store.answers_to("R4").unwrap().is_empty());
}

#[test]
fn pass_mark_turns_a_low_score_into_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "low.json",
        r#"{"retrieval": {"R3": "no idea"}}"#,
    );
    Msgwork::new(&["drill", "--answers", &file])
        .output()
        .success();
    Msgwork::new(&["drill", "--answers", &file, "--pass-mark", "50"])
        .output()
        .expect_code(1);
    Msgwork::new(&["drill", "--answers", &file, "--pass-mark", "0"])
        .output()
        .success();
    Msgwork::new(&["drill", "--answers", &file, "--pass-mark", "150"])
        .output()
        .usage_error("--pass-mark");
}

#[test]
fn bad_answers_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let missing = path_str(&d.join("nope.json"));
    Msgwork::new(&["drill", "--answers", &missing])
        .output()
        .usage_error("cannot read the answers file");
    let broken = write(d, "broken.json", "{\n  \"retrieval\": {\"R1\": \"x\",}\n}");
    Msgwork::new(&["drill", "--answers", &broken])
        .output()
        .usage_error("broken.json:2:");
    let unknown = write(d, "unknown.json", r#"{"retrieval": {"R9": "x"}}"#);
    Msgwork::new(&["drill", "--answers", &unknown])
        .output()
        .usage_error("no item 'R9' in retrieval");
    let misplaced = write(d, "misplaced.json", r#"{"compare": {"R1": "x"}}"#);
    Msgwork::new(&["drill", "--answers", &misplaced])
        .output()
        .usage_error("'R1' is a retrieval item");
    let section = write(d, "section.json", r#"{"quiz": {"R1": "x"}}"#);
    Msgwork::new(&["drill", "--answers", &section])
        .output()
        .usage_error("unknown field `quiz`");
    let array = write(d, "array.json", "[1, 2]");
    Msgwork::new(&["drill", "--answers", &array])
        .output()
        .usage_error("array.json:1:");
}

#[test]
fn without_a_terminal_and_without_answers_it_says_how_to_run() {
    Msgwork::new(&["drill"])
        .output()
        .usage_error("msgwork drill --answers FILE");
}

#[test]
fn list_shows_every_item_by_section() {
    let v = Msgwork::new(&["drill", "--list", "--json"])
        .output()
        .success()
        .json();
    let ids: BTreeSet<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    for id in ["A", "E", "R1", "R5", "C5", "M7", "X1"] {
        assert!(ids.contains(id), "{id}");
    }
    let v = Msgwork::new(&["drill", "--list", "--json", "--section", "mistakes"])
        .output()
        .success()
        .json();
    assert_eq!(v["items"].as_array().unwrap().len(), 7);
}

#[test]
fn content_check_passes_the_builtin_pack() {
    let out = Msgwork::new(&["content", "check", "--json"]).output();
    let v = out.success().json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["counts"]["scenarios"], 5);
}

#[test]
fn content_check_reports_every_kind_of_problem_with_file_and_line() {
    let out = Msgwork::new(&["content", "check", &fixture("broken-pack"), "--json"]).output();
    let v = out.expect_code(1).json();
    assert_eq!(v["ok"], false);
    let problems = v["problems"].as_array().unwrap();
    let mut kinds = BTreeSet::new();
    for p in problems {
        assert!(p["file"].as_str().unwrap().ends_with(".toml"), "{p}");
        assert!(p["line"].as_u64().unwrap() >= 1, "no line: {p}");
        assert!(!p["fix"].as_str().unwrap().is_empty(), "no fix: {p}");
        kinds.insert(p["kind"].as_str().unwrap().to_string());
    }
    for kind in [
        "syntax",
        "schema",
        "format-version",
        "duplicate-id",
        "bad-choice",
        "empty-rubric",
        "dangling-misconception",
        "bad-pattern",
        "bad-section",
        "bad-value",
    ] {
        assert!(kinds.contains(kind), "no {kind} problem in {kinds:?}");
    }
    let human = Msgwork::new(&["content", "check", &fixture("broken-pack")]).output();
    assert!(
        human.expect_code(1).stdout.contains("dup-a.toml:7:19"),
        "{}",
        human.stdout
    );
    assert!(human.stdout.contains("did you mean 'queue-broadcasts'"));
}

#[test]
fn an_instructors_pack_is_checked_and_played_on_top_of_the_builtin_one() {
    Msgwork::new(&["content", "check", &fixture("instructor-pack")])
        .output()
        .success();
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "i.json",
        r#"{"concepts": {"I1": "Page someone: a dead-lettered message is unprocessed work. Inspect it, fix the cause and replay it."}, "retrieval": {"R1": "x"}}"#,
    );
    let v = Msgwork::new(&[
        "drill",
        "--answers",
        &file,
        "--content",
        &fixture("instructor-pack"),
        "--json",
    ])
    .output()
    .success()
    .json();
    let i1 = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "I1")
        .unwrap()
        .clone();
    assert_eq!(i1["verdict"], "correct", "{i1}");
    // Only the instructor's pack: the built-in R1 is gone.
    Msgwork::new(&[
        "drill",
        "--answers",
        &file,
        "--content",
        &fixture("instructor-pack"),
        "--no-builtin",
    ])
    .output()
    .usage_error("no item 'R1' in retrieval");
    Msgwork::new(&["drill", "--list", "--content", &fixture("broken-pack")])
        .output()
        .usage_error("msgwork content check");
    Msgwork::new(&["content", "check", "/no/such/pack"])
        .output()
        .usage_error("/no/such/pack");
}

#[test]
fn progress_shows_mastery_and_spaced_repetition_brings_items_back() {
    let home = tempfile::tempdir().unwrap();
    let h = path_str(home.path());
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "p.json",
        r#"{"retrieval": {"R3": "no idea", "R1": "x"}}"#,
    );
    let t0 = "1800000000";
    Msgwork::new(&["--data-dir", &h, "drill", "--answers", &file])
        .env("MSGWORK_NOW", t0)
        .output()
        .success();
    let progress = |now: &str| {
        Msgwork::new(&["--data-dir", &h, "progress", "--json"])
            .env("MSGWORK_NOW", now)
            .output()
            .success()
            .json()
    };
    let v = progress(t0);
    let retrieval = v["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["section"] == "retrieval")
        .unwrap()
        .clone();
    assert_eq!(
        (
            retrieval["items"].as_u64(),
            retrieval["answered"].as_u64(),
            retrieval["mastered"].as_u64()
        ),
        (Some(5), Some(2), Some(0))
    );
    assert_eq!(
        retrieval["due"], 0,
        "a wrong answer comes back tomorrow, not now"
    );
    // A day later both wrong answers are due again.
    let v = progress("1800090000");
    let due: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["due"] == true)
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(due, ["R1", "R3"]);
    let human = Msgwork::new(&["--data-dir", &h, "progress"])
        .env("MSGWORK_NOW", "1800090000")
        .output();
    assert!(
        human.success().stdout.contains("msgwork drill --due"),
        "{}",
        human.stdout
    );
    // Nothing is due yet right after answering: --due says when, without needing a terminal.
    let early = Msgwork::new(&["--data-dir", &h, "drill", "--due"])
        .env("MSGWORK_NOW", t0)
        .output();
    assert!(
        early.stdout.contains("Nothing is due for review yet"),
        "{}{}",
        early.stdout,
        early.stderr
    );
}

/// A drill item file; `extra` is added at the end.
fn item_toml(id: &str, section: &str, extra: &str) -> String {
    format!(
        "format_version = 1\nid = \"{id}\"\nsection = \"{section}\"\ntitle = \"t\"\nprompt = \"p\"\nmodel_answer = \"m\"\n{extra}\n[[concepts]]\nid = \"c-{id}\"\nsays = \"s\"\nmatch = [\"x\"]\n"
    )
}

fn pack_with(files: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

#[test]
fn content_check_says_when_a_pack_redefines_a_builtin_id() {
    let pack = pack_with(&[
        ("retrieval/r1.toml", item_toml("R1", "retrieval", "")),
        ("retrieval/q1.toml", item_toml("Q1", "retrieval", "")),
    ]);
    let dir = path_str(pack.path());
    let out = Msgwork::new(&["content", "check", &dir, "--json"]).output();
    let v = out.expect_code(1).json();
    let problems = v["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0]["kind"], "overrides-builtin");
    assert_eq!(problems[0]["line"], 2);
    assert!(
        problems[0]["file"]
            .as_str()
            .unwrap()
            .ends_with("retrieval/r1.toml")
    );
    assert!(problems[0]["fix"].as_str().unwrap().contains("--override"));

    let out = Msgwork::new(&["content", "check", &dir, "--override", "--json"]).output();
    let v = out.success().json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["overrides"].as_array().unwrap().len(), 1);
    let human = Msgwork::new(&["content", "check", &dir, "--override"]).output();
    let text = &human.success().stdout;
    assert!(
        text.contains("override:") && text.contains("item 'R1'"),
        "{text}"
    );
    assert!(
        text.contains("1 built-in id(s) replaced on purpose"),
        "{text}"
    );
    // A pack of new ids only needs no --override.
    let fresh = pack_with(&[("retrieval/q1.toml", item_toml("Q1", "retrieval", ""))]);
    Msgwork::new(&["content", "check", &path_str(fresh.path())])
        .output()
        .success();
}

#[test]
fn drill_with_a_pack_that_replaces_a_builtin_item_says_so_on_stderr() {
    let pack = pack_with(&[
        ("retrieval/r1.toml", item_toml("R1", "retrieval", "")),
        ("retrieval/q1.toml", item_toml("Q1", "retrieval", "")),
    ]);
    let dir = path_str(pack.path());
    let out = Msgwork::new(&["drill", "--list", "--json", "--content", &dir]).output();
    let v = out.success().json();
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == "Q1")
    );
    assert!(
        out.stderr.contains("replaces an item of the same id: R1"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("Q1"), "{}", out.stderr);
}

#[test]
fn content_check_holds_each_item_to_its_folder_and_names_the_packs_own_paths() {
    let pack = pack_with(&[
        ("retrieval/q2.toml", item_toml("Q2", "compare", "")),
        (
            "compare/q3.toml",
            item_toml("Q3", "compare", "misconceptions = [\"no-such-idea\"]"),
        ),
        ("loose/q4.toml", item_toml("Q4", "mistakes", "")),
    ]);
    let root = path_str(pack.path());
    let out = Msgwork::new(&["content", "check", &root, "--json"]).output();
    let v = out.expect_code(1).json();
    let problems = v["problems"].as_array().unwrap();
    let section = problems
        .iter()
        .find(|p| p["kind"] == "bad-section")
        .expect("a bad-section problem");
    assert!(
        section["file"]
            .as_str()
            .unwrap()
            .ends_with("retrieval/q2.toml")
    );
    assert!(
        section["fix"]
            .as_str()
            .unwrap()
            .contains(&format!("{root}/compare/q2.toml")),
        "{section}"
    );
    let dangling = problems
        .iter()
        .find(|p| p["kind"] == "dangling-misconception")
        .expect("a dangling misconception");
    let fix = dangling["fix"].as_str().unwrap();
    assert!(
        fix.contains(&format!("{root}/compare/misconceptions.toml")),
        "{fix}"
    );
    assert!(!fix.contains("drills/misconceptions.toml"), "{fix}");
    // A folder that names no section holds its items to nothing.
    assert_eq!(problems.len(), 2, "{problems:?}");
}

#[test]
fn content_check_reports_every_problem_of_a_file_in_one_run() {
    let pack = pack_with(&[(
        "retrieval/q5.toml",
        "id = \"Q5\"\nsection = \"retrieval\"\nprompt = 42\n".to_string(),
    )]);
    let out = Msgwork::new(&["content", "check", &path_str(pack.path()), "--json"]).output();
    let v = out.expect_code(1).json();
    let messages: Vec<&str> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["message"].as_str().unwrap())
        .collect();
    for wanted in [
        "no format_version",
        "`title`",
        "`model_answer`",
        "integer `42`",
    ] {
        assert!(
            messages.iter().any(|m| m.contains(wanted)),
            "{wanted} missing from {messages:?}"
        );
    }
}
