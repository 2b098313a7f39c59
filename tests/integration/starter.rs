//! `msgwork starter`: every kit written out as shipped, never over an existing file, its JSON,
//! bad input, and the Python kits compiling and answering `init` as the protocol says.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use msgwork::kit::{KITS, Variant};

use crate::harness::{Msgwork, path_str};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_kit_and_its_solution_is_written_exactly_as_shipped() {
    for kit in KITS {
        for (variant, flag) in [
            (Variant::Starter, None),
            (Variant::Solution, Some("--solution")),
        ] {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("new").join("kit");
            let mut args = vec!["starter", kit.language, dir.to_str().unwrap(), "--json"];
            args.extend(flag);
            let v = Msgwork::new(&args).output().success().json();
            assert_eq!(v["schema_version"], 1);
            assert_eq!(v["language"], kit.language);
            assert_eq!(v["spoils_exercise"], flag.is_some());
            let files = v["files"].as_array().unwrap();
            assert_eq!(files.len(), kit.files(variant).len());
            for (file, shipped) in files.iter().zip(kit.files(variant)) {
                let written = std::fs::read_to_string(file.as_str().unwrap()).unwrap();
                assert_eq!(written, shipped.text, "{} differs", shipped.path);
            }
            let next = v["next_command"].as_str().unwrap();
            assert!(next.contains("msgwork verify -- "), "{next}");
            assert!(next.contains(&path_str(&dir)), "{next}");
        }
    }
}

#[test]
fn the_python_kits_are_the_files_in_kits() {
    for (flag, source) in [
        (None, "kits/python"),
        (Some("--solution"), "kits/python-solution"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let mut args = vec!["starter", "python", tmp.path().to_str().unwrap()];
        args.extend(flag);
        Msgwork::new(&args).output().success();
        for name in ["shop.py", "README.md"] {
            let shipped = std::fs::read_to_string(root().join(source).join(name)).unwrap();
            let written = std::fs::read_to_string(tmp.path().join(name)).unwrap();
            assert_eq!(written, shipped, "{source}/{name}");
        }
        let protocol = std::fs::read_to_string(root().join("docs/verify-protocol.md")).unwrap();
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("PROTOCOL.md")).unwrap(),
            protocol
        );
    }
}

#[test]
fn the_text_output_lists_the_files_and_the_next_command_quoted_for_the_shell() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("my outbox");
    let out = Msgwork::new(&["starter", "python", dir.to_str().unwrap()]).output();
    out.success();
    assert!(out.stdout.contains("shop.py"), "{}", out.stdout);
    let quoted = format!("msgwork verify -- python3 '{}/shop.py'", path_str(&dir));
    assert!(out.stdout.contains(&quoted), "{}", out.stdout);
    assert!(!out.stdout.contains("spoils"), "{}", out.stdout);

    let solution = tmp.path().join("answer");
    let out = Msgwork::new(&[
        "starter",
        "python",
        solution.to_str().unwrap(),
        "--solution",
    ])
    .output();
    out.success();
    assert!(out.stdout.contains("spoils"), "{}", out.stdout);
}

#[test]
fn an_existing_file_is_never_replaced_and_nothing_else_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("README.md"), "my notes").unwrap();
    let out = Msgwork::new(&["starter", "python", tmp.path().to_str().unwrap()]).output();
    out.usage_error("README.md is already there");
    assert!(
        out.stderr.contains("name a new or empty directory"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("README.md")).unwrap(),
        "my notes"
    );
    assert!(!tmp.path().join("shop.py").exists());

    // Writing the same kit twice is refused too: the first copy may hold the learner's work.
    let again = tmp.path().join("again");
    let dir = again.to_str().unwrap();
    Msgwork::new(&["starter", "python", dir]).output().success();
    std::fs::write(again.join("shop.py"), "# my work").unwrap();
    Msgwork::new(&["starter", "python", dir, "--solution"])
        .output()
        .usage_error("are already there");
    assert_eq!(
        std::fs::read_to_string(again.join("shop.py")).unwrap(),
        "# my work"
    );
}

#[test]
fn a_file_where_the_directory_should_be_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("kit");
    std::fs::write(&file, "mine").unwrap();
    Msgwork::new(&["starter", "python", file.to_str().unwrap()])
        .output()
        .usage_error("it is a file, not a directory");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
}

#[test]
fn an_unknown_language_is_refused_with_the_known_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("kit");
    let out = Msgwork::new(&["starter", "cobol", dir.to_str().unwrap()]).output();
    let known: Vec<&str> = KITS.iter().map(|k| k.language).collect();
    out.usage_error(&format!("the kits are: {}", known.join(", ")));
    assert!(!dir.exists(), "nothing is created for a refused kit");
}

#[test]
fn a_missing_directory_argument_is_a_usage_error() {
    let out = Msgwork::new(&["starter", "python"]).output();
    out.expect_code(2);
    assert!(out.stderr.contains("<DIR>"), "{}", out.stderr);
}

#[test]
fn the_list_names_every_kit_in_text_and_json() {
    let out = Msgwork::new(&["starter", "--list"]).output();
    out.success();
    let v = Msgwork::new(&["starter", "--list", "--json"])
        .output()
        .success()
        .json();
    assert_eq!(v["schema_version"], 1);
    let kits = v["kits"].as_array().unwrap();
    assert_eq!(kits.len(), KITS.len());
    for (listed, kit) in kits.iter().zip(KITS) {
        assert!(out.stdout.contains(kit.language), "{}", out.stdout);
        assert_eq!(listed["language"], kit.language);
        assert!(
            listed["starter"]
                .as_array()
                .unwrap()
                .contains(&"PROTOCOL.md".into())
        );
    }
}

/// `python3`, or `None` after saying why the test is skipped.
fn python(test: &str) -> Option<&'static str> {
    let found = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        let _ = writeln!(
            std::io::stderr(),
            "skipped {test}: python3 is not installed"
        );
        return None;
    }
    Some("python3")
}

#[test]
fn both_python_kits_compile() {
    let Some(python) = python("both_python_kits_compile") else {
        return;
    };
    for source in ["kits/python/shop.py", "kits/python-solution/shop.py"] {
        let tmp = tempfile::tempdir().unwrap();
        let copy = tmp.path().join("shop.py");
        std::fs::copy(root().join(source), &copy).unwrap();
        let out = Command::new(python)
            .args(["-m", "py_compile"])
            .arg(&copy)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{source} does not compile:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Starts a kit as one role, sends it `init`, and returns its answer; then closes its stdin and
/// returns how it exited.
fn init_exchange(python: &str, program: &Path, role: &str, protocol: u32) -> (String, i32) {
    let tmp = tempfile::tempdir().unwrap();
    let init = serde_json::json!({
        "type": "init", "msg_id": 1, "protocol": protocol, "role": role, "node": role,
        "incarnation": 0, "now": 0,
        "service_db": tmp.path().join("service.db"),
        "consumer_db": tmp.path().join("consumer.db"),
    });
    let mut child = Command::new(python)
        .arg(program)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{init}").unwrap();
    let mut answer = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut answer)
        .unwrap();
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "{} as {role} did not exit when its stdin closed",
                program.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (answer, status.code().unwrap_or(-1))
}

#[test]
fn the_python_kits_answer_init_and_exit_when_stdin_closes() {
    let Some(python) = python("the_python_kits_answer_init_and_exit_when_stdin_closes") else {
        return;
    };
    for source in ["kits/python/shop.py", "kits/python-solution/shop.py"] {
        let program = root().join(source);
        for role in ["service", "relay", "consumer"] {
            let (answer, code) = init_exchange(python, &program, role, 1);
            let answer: serde_json::Value = serde_json::from_str(&answer)
                .unwrap_or_else(|e| panic!("{source} as {role} answered {answer:?}: {e}"));
            assert_eq!(answer["type"], "init_ok", "{source} as {role}");
            assert_eq!(answer["in_reply_to"], 1, "{source} as {role}");
            assert_eq!(code, 0, "{source} as {role}");
        }
        // A protocol it was not written for gets an error, as the protocol page asks.
        let (answer, code) = init_exchange(python, &program, "relay", 2);
        let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer["type"], "error", "{source}");
        assert!(
            answer["text"].as_str().unwrap().contains("protocol 1"),
            "{source}"
        );
        assert_ne!(code, 0, "{source}");
    }
}

/// Writes a kit with `msgwork starter` into a new directory and returns its `shop.py`, after
/// replacing `edit.0` (which must occur exactly once) with `edit.1`.
fn python_kit(dir: &Path, solution: bool, edit: Option<(&str, &str)>) -> String {
    let target = dir.to_str().unwrap();
    let mut args = vec!["starter", "python", target];
    if solution {
        args.push("--solution");
    }
    Msgwork::new(&args).output().success();
    let program = dir.join("shop.py");
    if let Some((from, to)) = edit {
        let text = std::fs::read_to_string(&program).unwrap();
        assert_eq!(text.matches(from).count(), 1, "{from:?} in shop.py");
        std::fs::write(&program, text.replace(from, to)).unwrap();
    }
    path_str(&program)
}

/// `msgwork verify --json ARGS -- python3 PROGRAM`, checked for the exit code `code`. The kit's
/// programs always answer; a generous `--timeout` keeps a machine busy with other builds from
/// turning a slow Python start into a failed `init`.
fn verify_json(args: &[&str], program: &str, code: i32) -> serde_json::Value {
    let mut all = vec!["verify", "--json", "--timeout", "60"];
    all.extend_from_slice(args);
    all.extend(["--", "python3", program]);
    let out = Msgwork::new(&all).output();
    out.expect_code(code);
    out.json()
}

/// Each seed's run, with how many orders each count names (a list) or its number.
fn counts(v: &serde_json::Value) -> Vec<&serde_json::Value> {
    v["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["counts"])
        .collect()
}

fn size(count: &serde_json::Value) -> u64 {
    count
        .as_array()
        .map(|a| a.len() as u64)
        .or_else(|| count.as_u64())
        .unwrap_or_else(|| panic!("not a count: {count}"))
}

#[test]
fn the_python_starter_loses_events_on_every_one_of_20_seeds() {
    let Some(_) = python("the_python_starter_loses_events_on_every_one_of_20_seeds") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let program = python_kit(&tmp.path().join("kit"), false, None);
    let v = verify_json(&["--orders", "20", "--seeds", "20"], &program, 1);
    assert_eq!(v["seeds_run"], 20);
    assert_eq!(v["seeds_held"], 0);
    for (seed, c) in counts(&v).iter().enumerate() {
        assert!(size(&c["lost"]) > 0, "seed {}: {c}", seed + 1);
    }
}

#[test]
fn the_python_solution_holds_on_50_seeds_and_absorbs_duplicates() {
    let Some(_) = python("the_python_solution_holds_on_50_seeds_and_absorbs_duplicates") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let program = python_kit(&tmp.path().join("kit"), true, None);
    let v = verify_json(&["--orders", "20", "--seeds", "50"], &program, 0);
    assert_eq!(v["seeds_held"], 50, "{v}");
    let absorbed: u64 = counts(&v)
        .iter()
        .map(|c| size(&c["duplicates_absorbed"]))
        .sum();
    assert!(
        absorbed > 0,
        "no duplicate was delivered, so none was absorbed"
    );
    for run in v["runs"].as_array().unwrap() {
        assert!(
            run["steps"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["done"] == true),
            "{run}"
        );
    }
}

/// The solution with one step undone by a one-line edit, the verify options to use, and the
/// count that must then be above 0 in some seed.
const UNDONE: [(&str, &str, &str, &[&str]); 3] = [
    (
        "if first_delivery(db, event[\"event_id\"], now):",
        "if True:",
        "double_applied",
        &["--orders", "20", "--seeds", "3"],
    ),
    (
        "CLAIMABLE = \"(claim_node IS NULL OR claim_node = :node OR lease_until < :now)\"",
        "CLAIMABLE = \"(1 = 1)\"",
        "relay_overlap",
        &["--orders", "40", "--seeds", "5"],
    ),
    (
        "if not publish(json.loads(payload)):",
        "if publish(json.loads(payload)) is None:",
        "lost",
        &["--orders", "20", "--seeds", "2"],
    ),
];

#[test]
fn the_solution_with_a_step_undone_breaks_the_count_that_step_protects() {
    let Some(_) = python("the_solution_with_a_step_undone_breaks_the_count_that_step_protects")
    else {
        return;
    };
    for (from, to, count, args) in UNDONE {
        let tmp = tempfile::tempdir().unwrap();
        let program = python_kit(&tmp.path().join("kit"), true, Some((from, to)));
        let v = verify_json(args, &program, 1);
        let worst = counts(&v).iter().map(|c| size(&c[count])).max().unwrap();
        assert!(worst > 0, "{to:?} left {count} at 0:\n{v}");
    }
}

#[test]
fn the_rust_kit_is_its_own_package_with_sqlite_compiled_in() {
    for flag in [None, Some("--solution")] {
        let tmp = tempfile::tempdir().unwrap();
        let mut args = vec!["starter", "rust", tmp.path().to_str().unwrap()];
        args.extend(flag);
        Msgwork::new(&args).output().success();
        let manifest: toml::Table =
            toml::from_str(&std::fs::read_to_string(tmp.path().join("Cargo.toml")).unwrap())
                .unwrap();
        // The binary verify runs is target/release/shop.
        assert_eq!(manifest["package"]["name"].as_str(), Some("shop"));
        assert!(manifest.contains_key("workspace"), "its own workspace");
        let rusqlite = &manifest["dependencies"]["rusqlite"];
        assert_eq!(rusqlite["default-features"].as_bool(), Some(false));
        let features = rusqlite["features"].as_array().unwrap();
        assert!(features.iter().any(|f| f.as_str() == Some("bundled")));
        let lock = std::fs::read_to_string(tmp.path().join("Cargo.lock")).unwrap();
        assert!(lock.contains("name = \"rusqlite\""), "{lock}");
    }
}

/// Builds a Rust kit offline in `target` and returns a copy of its binary beside the kit: both
/// kits build the same dependencies, so they share one target directory and SQLite is compiled
/// once.
fn build_rust_kit(dir: &Path, target: &Path) -> String {
    let out = Command::new("cargo")
        .args(["build", "--release", "--offline", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target)
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "{} does not build:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let program = dir.join("shop-bin");
    std::fs::copy(target.join("release").join("shop"), &program).expect("copy the binary");
    path_str(&program)
}

#[test]
fn the_rust_kits_build_offline_and_verify_judges_them() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("target");
    let mut programs = Vec::new();
    for (name, flag) in [("starter", None), ("solution", Some("--solution"))] {
        let dir = tmp.path().join(name);
        let mut args = vec!["starter", "rust", dir.to_str().unwrap()];
        args.extend(flag);
        Msgwork::new(&args).output().success();
        programs.push(build_rust_kit(&dir, &target));
    }
    let run = |program: &str, args: &[&str], code: i32| {
        let mut all = vec!["verify", "--json"];
        all.extend_from_slice(args);
        all.extend(["--", program]);
        let out = Msgwork::new(&all).output();
        out.expect_code(code);
        out.json()
    };
    let starter = run(
        &programs[0],
        &["--orders", "20", "--seeds", "10", "--no-shrink"],
        1,
    );
    for c in counts(&starter) {
        assert!(size(&c["lost"]) > 0, "{c}");
    }
    let solution = run(&programs[1], &["--orders", "20", "--seeds", "50"], 0);
    assert_eq!(solution["seeds_held"], 50);
    let absorbed: u64 = counts(&solution)
        .iter()
        .map(|c| size(&c["duplicates_absorbed"]))
        .sum();
    assert!(absorbed > 0);
}
