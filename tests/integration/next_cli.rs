//! `msgwork next`: the one thing to do now, read from what the learner has done.

use crate::harness::{Msgwork, path_str};

fn next(home: &str) -> serde_json::Value {
    Msgwork::new(&["--data-dir", home, "next", "--json"])
        .output()
        .success()
        .json()
}

#[test]
fn a_new_learner_starts_with_the_scenarios_and_moves_on_as_they_go() {
    let dir = tempfile::tempdir().unwrap();
    let home = path_str(&dir.path().join("my data"));
    let v = next(&home);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["now"]["id"], "scenario-drills", "{v}");
    assert_eq!(v["done"], 0);
    // The data directory named on the command line travels with the suggestion.
    let command = v["now"]["command"].as_str().unwrap();
    assert!(
        command.starts_with(&format!("msgwork --data-dir '{home}' drill")),
        "{command}"
    );
    assert!(v["now"]["why"].as_str().unwrap().len() > 20);
    assert_eq!(v["then"].as_array().unwrap().len(), 2);

    // A crash run proves the lab's first items: the path moves past them.
    Msgwork::new(&[
        "--data-dir",
        &home,
        "simulate",
        "--crash",
        "--seed",
        "3",
        "--orders",
        "300",
    ])
    .output()
    .success();
    let v = next(&home);
    assert!(v["done"].as_u64().unwrap() >= 2, "{v}");
    let ids: Vec<&str> = std::iter::once(&v["now"])
        .chain(v["then"].as_array().unwrap())
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&"naive-loses-outbox-holds"), "{ids:?}");

    let text = Msgwork::new(&["--data-dir", &home, "next"]).output();
    let out = &text.success().stdout;
    assert!(out.starts_with("Next: "), "{out}");
    assert!(out.contains("required items proven"), "{out}");
}

#[test]
fn a_bare_msgwork_outside_a_terminal_is_still_a_usage_error() {
    let out = Msgwork::new(&[]).output();
    out.expect_code(2);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(out.stderr.contains("Usage: msgwork"), "{}", out.stderr);
}
