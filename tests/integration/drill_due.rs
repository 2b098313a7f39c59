//! `drill --due` without a terminal, and `--only` with an id that does not exist.

use crate::harness::{Msgwork, path_str};

#[test]
fn due_items_are_listed_without_a_terminal_and_never_as_prose_in_json() {
    let home = tempfile::tempdir().unwrap();
    let h = path_str(home.path());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.json");
    std::fs::write(&file, r#"{"retrieval": {"R3": "no idea", "R1": "x"}}"#).unwrap();
    Msgwork::new(&["--data-dir", &h, "drill", "--answers", &path_str(&file)])
        .env("MSGWORK_NOW", "1800000000")
        .output()
        .success();
    let due = |now: &str, json: bool| {
        let mut args = vec!["--data-dir", h.as_str(), "drill", "--due"];
        if json {
            args.push("--json");
        }
        Msgwork::new(&args).env("MSGWORK_NOW", now).output()
    };
    // Right after answering: an empty list in JSON, never a sentence.
    let early = due("1800000000", true);
    assert_eq!(early.success().json()["due"], serde_json::json!([]));
    // A day later both wrong answers are due: listed, exit 0, in JSON and in text.
    let later = due("1800090000", true);
    let v = later.success().json();
    let ids: Vec<&str> = v["due"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["R1", "R3"], "{v}");
    for item in v["due"].as_array().unwrap() {
        assert!(
            item["section"].is_string() && item["due_at"].is_i64(),
            "{item}"
        );
    }
    let text = due("1800090000", false);
    let out = &text.success().stdout;
    assert!(
        out.contains("R3") && out.contains("2 items due for review"),
        "{out}"
    );
}

#[test]
fn an_unknown_only_id_is_bad_input_with_the_nearest_ids() {
    let out = Msgwork::new(&["drill", "--only", "Q99", "--list"]).output();
    out.usage_error("--only Q99: there is no drill item with that id");
    assert!(!out.stderr.contains("[\""), "{}", out.stderr);
    let out = Msgwork::new(&["drill", "--only", "r3", "--list"]).output();
    out.usage_error("did you mean R3");
}
