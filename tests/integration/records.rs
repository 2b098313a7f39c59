//! The learner's records: never written over, never lost to a concurrent run, and a result still
//! shown when the data directory cannot be written.

use std::path::Path;

use crate::harness::{Msgwork, path_str};

/// `msgwork --data-dir HOME ARGS…`: several commands on one data directory.
fn at(home: &Path, args: &[&str]) -> Msgwork {
    let dir = path_str(home);
    Msgwork::new(&[&["--data-dir", dir.as_str()][..], args].concat())
}

/// Every run recorded in the store of `home`, of any kind.
fn runs(home: &Path) -> i64 {
    rusqlite::Connection::open(home.join("progress.db"))
        .unwrap()
        .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
        .unwrap()
}

/// A data directory holding one recorded run, and the store's bytes to compare against later.
fn recorded_home() -> (tempfile::TempDir, Vec<u8>) {
    let home = tempfile::tempdir().unwrap();
    at(home.path(), &["simulate", "--orders", "5", "--seed", "1"])
        .output()
        .success();
    let bytes = std::fs::read(home.path().join("progress.db")).unwrap();
    (home, bytes)
}

#[test]
fn no_output_option_writes_over_the_store_by_any_path() {
    let (home, before) = recorded_home();
    let store = home.path().join("progress.db");
    let elsewhere = tempfile::tempdir().unwrap();
    let link = elsewhere.path().join("link.md");
    std::os::unix::fs::symlink(&store, &link).unwrap();
    let hard = elsewhere.path().join("hard.md");
    std::fs::hard_link(&store, &hard).unwrap();
    let dotted = home.path().join(".").join("progress.db");
    for path in [&store, &link, &hard, &dotted] {
        let path = path_str(path);
        for force in [&[][..], &["--force"]] {
            let writes: [&[&str]; 2] = [
                &["report", "--output", &path],
                &["simulate", "--orders", "5", "--trace", &path],
            ];
            for args in writes {
                let args = [args, force].concat();
                at(home.path(), &args)
                    .output()
                    .usage_error("that is your progress store");
            }
        }
    }
    // The SVG check comes first for a chart; name the store as one through a link.
    let svg = elsewhere.path().join("chart.svg");
    std::os::unix::fs::symlink(&store, &svg).unwrap();
    at(
        home.path(),
        &[
            "lab",
            "dlq",
            "--messages",
            "50",
            "--plot",
            &path_str(&svg),
            "--force",
        ],
    )
    .output()
    .usage_error("that is your progress store");
    assert_eq!(std::fs::read(&store).unwrap(), before, "the store changed");
    assert_eq!(runs(home.path()), 1);
}

#[test]
fn an_existing_file_is_replaced_only_with_force() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, "keep me").unwrap();
        path_str(&path)
    };
    let (report, trace, chart) = (file("report.md"), file("steps.jsonl"), file("depth.svg"));
    let writes: [&[&str]; 3] = [
        &["report", "--output", &report],
        &["simulate", "--orders", "5", "--trace", &trace],
        &["lab", "dlq", "--messages", "50", "--plot", &chart],
    ];
    for args in writes {
        let out = at(home.path(), args).output();
        out.usage_error("already exists");
        out.usage_error("pass --force to replace it");
    }
    for path in [&report, &trace, &chart] {
        assert_eq!(std::fs::read_to_string(path).unwrap(), "keep me");
    }
    for args in writes {
        at(home.path(), &[args, &["--force"]].concat())
            .output()
            .success();
    }
    assert!(std::fs::read_to_string(&report).unwrap().starts_with('#'));
    assert!(std::fs::read_to_string(&trace).unwrap().starts_with('{'));
    assert!(std::fs::read_to_string(&chart).unwrap().contains("<svg"));
}

#[test]
fn a_kept_database_directory_must_be_new_or_empty_and_never_the_data_directory() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let keep = path_str(dir.path());
    let data = path_str(home.path());
    for lab in [
        &["simulate", "--orders", "5"][..],
        &["lab", "cdc", "--rate", "200", "--seconds", "0.1"],
    ] {
        at(home.path(), &[lab, &["--keep-db", &keep]].concat())
            .output()
            .usage_error("already holds files");
        at(
            home.path(),
            &[lab, &["--keep-db", &data, "--force"]].concat(),
        )
        .output()
        .usage_error("it is your data directory");
    }
    at(
        home.path(),
        &["simulate", "--orders", "5", "--keep-db", &keep, "--force"],
    )
    .output()
    .success();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("notes.txt")).unwrap(),
        "mine"
    );
}
