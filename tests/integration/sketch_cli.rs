//! `msgwork sketch check`: an outbox design checked item by item, its SQL sealed in a sandbox.

use crate::harness::{Msgwork, path_str};

fn sketch(name: &str) -> String {
    format!("{}/fixtures/sketches/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn status_of(v: &serde_json::Value, id: &str) -> String {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .map(|i| i["status"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no item {id}"))
}

#[test]
fn the_good_sketches_pass_with_the_stable_json_shape() {
    for good in ["good.sql", "good-sqlite.sql", "cdc-no-marker.sql"] {
        let out = Msgwork::new(&["sketch", "check", &sketch(good), "--json"]).output();
        let v = out.success().json();
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["passed"], true, "{good}");
        for item in v["items"].as_array().unwrap() {
            for key in ["id", "status", "message"] {
                assert!(item.get(key).is_some(), "{key} in {item}");
            }
        }
    }
}

#[test]
fn each_flawed_sketch_is_told_its_flaw() {
    for (file, item) in [
        ("no-skip-locked.sql", "relay-claim"),
        ("no-index.sql", "relay-index"),
        ("publish-in-transaction.sql", "anti-patterns"),
        ("delete-after-publish.sql", "anti-patterns"),
        ("no-inbox.sql", "inbox"),
        ("no-unique-event-id.sql", "event-id-unique"),
        ("separate-transactions.sql", "write-transaction"),
    ] {
        let out = Msgwork::new(&["sketch", "check", &sketch(file), "--json"]).output();
        let v = out.expect_code(1).json();
        assert_eq!(v["passed"], false, "{file}");
        assert_ne!(
            status_of(&v, item),
            "ok",
            "{file}: {item} should be flagged"
        );
    }
}

#[test]
fn attach_and_load_extension_are_refused_and_create_no_file() {
    let _ = std::fs::remove_file("/tmp/x");
    let out = Msgwork::new(&["sketch", "check", &sketch("attack.sql"), "--json"]).output();
    let v = out.json();
    assert_ne!(status_of(&v, "sandbox-run"), "ok");
    assert!(
        !std::path::Path::new("/tmp/x").exists(),
        "ATTACH created a file"
    );
    let human = Msgwork::new(&["sketch", "check", &sketch("attack.sql")]).output();
    assert!(human.stdout.contains("refused ATTACH"), "{}", human.stdout);
}

#[test]
fn bad_sketch_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    Msgwork::new(&["sketch", "check", &path_str(&dir.path().join("none.sql"))])
        .output()
        .usage_error("cannot read it");
    let empty = dir.path().join("empty.sql");
    std::fs::write(&empty, "  \n").unwrap();
    Msgwork::new(&["sketch", "check", &path_str(&empty)])
        .output()
        .usage_error("is empty");
    let junk = dir.path().join("junk.sql");
    std::fs::write(&junk, "this is not ( SQL at all ;;; ' unterminated").unwrap();
    let out = Msgwork::new(&["sketch", "check", &path_str(&junk), "--json"]).output();
    let v = out.expect_code(1).json();
    assert!(!v["parse_problems"].as_array().unwrap().is_empty());
    assert!(v["parse_problems"][0]["line"].as_u64().unwrap() >= 1);
}
