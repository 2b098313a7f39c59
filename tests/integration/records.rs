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

/// A way to run msgwork as a user who cannot write a directory: as root (who writes anywhere),
/// through `setpriv` as `nobody`; as anyone else, as themselves.
struct Unprivileged {
    wrapper: Vec<String>,
}

impl Unprivileged {
    /// Makes `home` and its store read-only. `None` (with a note) where it cannot be arranged.
    fn lock(home: &Path) -> Option<Self> {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |path: &Path, mode: u32| {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
        };
        let store = home.join("progress.db");
        if store.exists() {
            mode(&store, 0o444);
        }
        mode(home, 0o555);
        let probe = home.join("probe");
        if std::fs::write(&probe, "").is_err() {
            return Some(Unprivileged { wrapper: vec![] });
        }
        std::fs::remove_file(&probe).unwrap();
        let setpriv = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "true"])
            .status()
            .is_ok_and(|s| s.success());
        if !setpriv {
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "skipped: running as root without setpriv, so no directory is read-only"
            );
            return None;
        }
        // `nobody` must reach the data directory through its parent.
        mode(home.parent().unwrap(), 0o755);
        let wrapper = [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ];
        Some(Unprivileged {
            wrapper: wrapper.map(String::from).to_vec(),
        })
    }

    fn run(&self, home: &Path, args: &[&str]) -> (i32, String, String) {
        let bin = env!("CARGO_BIN_EXE_msgwork");
        let mut words = self.wrapper.clone();
        words.push(bin.to_string());
        let mut cmd = std::process::Command::new(&words[0]);
        cmd.args(&words[1..])
            .args(args)
            .env("MSGWORK_HOME", home)
            .env("NO_COLOR", "1")
            .env_remove("MSGWORK_DB")
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

#[test]
fn a_read_only_data_dir_shows_the_result_then_one_warning() {
    let parent = tempfile::tempdir().unwrap();
    let recorded = parent.path().join("recorded");
    std::fs::create_dir(&recorded).unwrap();
    at(&recorded, &["simulate", "--orders", "5", "--seed", "1"])
        .output()
        .success();
    let fresh = parent.path().join("fresh");
    std::fs::create_dir(&fresh).unwrap();
    let mut locks = Vec::new();
    for home in [&recorded, &fresh] {
        let Some(user) = Unprivileged::lock(home) else {
            return;
        };
        locks.push((home, user));
    }
    let cases: [(&[&str], i32, &str); 7] = [
        (
            &["sketch", "check", "fixtures/sketches/good.sql"],
            0,
            "Passed.",
        ),
        (
            &["sketch", "check", "fixtures/sketches/no-index.sql"],
            1,
            "Not yet",
        ),
        (
            &["simulate", "--check", "--orders", "20", "--crash"],
            0,
            "Verdict:",
        ),
        (
            &[
                "simulate", "--check", "--orders", "20", "--crash", "--claim", "none", "--seed",
                "3",
            ],
            1,
            "Check failed:",
        ),
        (
            &["simulate", "--orders", "20", "--json"],
            0,
            "\"schema_version\"",
        ),
        (&["lab", "dlq", "--messages", "50"], 0, "Replay:"),
        (
            &[
                "rewrite-event",
                "fixtures/events/order-placed.json",
                "--check",
                "fixtures/payloads/good-ecst.json",
            ],
            0,
            "Passed.",
        ),
    ];
    for (home, user) in &locks {
        for (args, code, shows) in cases {
            let (got, stdout, stderr) = user.run(home, args);
            assert_eq!(got, code, "{args:?}\n{stdout}\n{stderr}");
            assert!(
                stdout.contains(shows),
                "{args:?}: no result shown:\n{stdout}"
            );
            assert!(!stdout.contains("Recorded as run"), "{stdout}");
            let warning = stderr.trim_end();
            assert_eq!(
                warning.lines().count(),
                1,
                "{args:?}: one warning:\n{stderr}"
            );
            assert!(
                warning.starts_with("warning: this result was not recorded"),
                "{warning}"
            );
            assert!(warning.contains("progress.db"), "{warning}");
            assert!(warning.contains("MSGWORK_HOME"), "{warning}");
            assert!(warning.matches("readonly").count() <= 1, "{warning}");
        }
    }
    // What was recorded before is still there and still readable.
    let (code, stdout, _) = locks[0].1.run(locks[0].0, &["progress", "--json"]);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(runs(&recorded), 1);
    assert!(!fresh.join("progress.db").exists());
    for home in [&recorded, &fresh] {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// `processes` at once on one fresh data directory, half `simulate`, half `drill --answers`,
/// `rounds` times over: every run and every answer is recorded.
fn concurrent_rounds(processes: usize, rounds: usize) {
    let answers_dir = tempfile::tempdir().unwrap();
    let answers = answers_dir.path().join("answers.json");
    std::fs::write(
        &answers,
        r#"{"retrieval": {"R3": "two separate writes, db then broker, with no shared transaction: a crash between them loses the event"}}"#,
    )
    .unwrap();
    let answers = path_str(&answers);
    for round in 0..rounds {
        let home = tempfile::tempdir().unwrap();
        let data = path_str(home.path());
        let children: Vec<_> = (0..processes)
            .map(|i| {
                let seed = i.to_string();
                let args: Vec<&str> = if i % 2 == 0 {
                    vec!["simulate", "--orders", "5", "--seed", &seed, "--json"]
                } else {
                    vec!["drill", "--answers", &answers, "--json"]
                };
                std::process::Command::new(env!("CARGO_BIN_EXE_msgwork"))
                    .args(["--data-dir", &data])
                    .args(&args)
                    .env("NO_COLOR", "1")
                    .env_remove("MSGWORK_DB")
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let store = msgwork::store::Store::open(home.path()).unwrap();
        let (simulates, drills) = (processes.div_ceil(2), processes / 2);
        assert_eq!(
            store.runs("simulate").unwrap().len(),
            simulates,
            "round {round}"
        );
        assert_eq!(
            store.answers_to("R3").unwrap().len(),
            drills,
            "round {round}"
        );
        assert_eq!(runs(home.path()), simulates as i64, "round {round}");
    }
}

#[test]
fn concurrent_runs_on_a_fresh_data_dir_are_all_recorded() {
    concurrent_rounds(16, 5);
}

/// The acceptance run: 16 processes, 20 rounds (about 20 s in a debug build).
#[test]
#[ignore = "slow: run with --ignored"]
fn concurrent_runs_on_a_fresh_data_dir_are_all_recorded_20_rounds() {
    concurrent_rounds(16, 20);
}
