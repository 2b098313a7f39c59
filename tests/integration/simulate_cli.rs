//! `msgwork simulate` and the CLI around it, driven through the real binary.

use crate::harness::{Msgwork, path_str};

const REQUIRED: [&str; 8] = [
    "committed_orders",
    "events_delivered",
    "lost_events",
    "phantom_events",
    "duplicate_deliveries",
    "side_effects_applied",
    "double_applied",
    "crashes",
];

#[test]
fn json_report_has_the_stable_keys() {
    let out = Msgwork::new(&[
        "simulate", "--crash", "--seed", "9", "--orders", "300", "--json",
    ])
    .output();
    out.success();
    let v = out.json();
    for key in ["schema_version", "seed", "orders", "relays", "timings"] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["seed"], 9);
    assert_eq!(v["orders"], 300);
    assert_eq!(v["relays"], 3);
    for side in ["naive", "outbox"] {
        for key in REQUIRED {
            assert!(v[side][key].is_u64(), "{side}.{key} missing");
        }
    }
    assert!(v["outbox"]["overlapping_claims"].is_u64());
    assert!(
        out.stderr.is_empty(),
        "json mode writes nothing else: {}",
        out.stderr
    );
}

#[test]
fn the_same_seed_prints_the_same_json_twice_but_for_timings() {
    let args = [
        "simulate", "--crash", "--seed", "77", "--orders", "250", "--json",
    ];
    let strip = |mut v: serde_json::Value| {
        assert!(v.as_object_mut().unwrap().remove("timings").is_some());
        v
    };
    let a = strip(Msgwork::new(&args).output().json());
    let b = strip(Msgwork::new(&args).output().json());
    assert_eq!(a, b);
}

#[test]
fn a_random_seed_is_printed_so_it_can_be_replayed() {
    let out = Msgwork::new(&["simulate", "--crash", "--orders", "100"]).output();
    out.success();
    let seed = out
        .stdout
        .split("--seed ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("a replay line with --seed");
    assert!(seed.parse::<u64>().is_ok(), "{seed}");
}

#[test]
fn human_output_shows_the_table_the_explanation_and_the_replay() {
    let out = Msgwork::new(&["simulate", "--crash", "--seed", "3"]).output();
    out.success();
    for needle in [
        "lost events",
        "overlapping claims",
        "The dual-write gap",
        "One local transaction closes it",
        "at-least-once",
        "inbox",
        "Replay: msgwork simulate --crash --seed 3",
        "Recorded as run 1",
    ] {
        assert!(
            out.stdout.contains(needle),
            "missing '{needle}' in:\n{}",
            out.stdout
        );
    }
    assert!(
        !out.stdout.contains('\u{1b}'),
        "NO_COLOR output has escape codes"
    );
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let out = Msgwork::new(&["simulate", "--orders", "20", "--color", "always"]).output();
    assert!(out.success().stdout.contains('\u{1b}'));
    // Not a terminal, no NO_COLOR: still plain.
    let out = Msgwork::new(&["simulate", "--orders", "20"])
        .env_remove("NO_COLOR")
        .output();
    assert!(!out.success().stdout.contains('\u{1b}'));
}

#[test]
fn without_crash_nothing_is_lost_and_the_output_says_why_that_is_a_trap() {
    let out = Msgwork::new(&["simulate", "--orders", "100", "--json"]).output();
    let v = out.success().json();
    assert_eq!(v["naive"]["lost_events"], 0);
    assert_eq!(v["crash"], false);
    let human = Msgwork::new(&["simulate", "--orders", "100"]).output();
    assert!(human.stdout.contains("Run with --crash"));
}

#[test]
fn claim_none_shows_overlap_and_no_double_charge() {
    let out = Msgwork::new(&[
        "simulate", "--crash", "--claim", "none", "--seed", "1", "--json",
    ])
    .output();
    let v = out.success().json();
    assert!(v["outbox"]["overlapping_claims"].as_u64().unwrap() > 0);
    assert_eq!(v["outbox"]["double_applied"], 0);
    assert_eq!(v["claim"], "none");
}

#[test]
fn check_exits_1_when_the_outbox_breaks_and_0_when_it_holds() {
    Msgwork::new(&[
        "simulate", "--crash", "--seed", "5", "--orders", "300", "--check",
    ])
    .output()
    .success();
    // A lease shorter than a relay pass: replicas take over expired rows, a cost --check allows.
    Msgwork::new(&[
        "simulate", "--crash", "--seed", "5", "--orders", "300", "--lease", "1", "--check",
    ])
    .output()
    .success();
    // Without claims replicas hold the same rows at once, which --check refuses.
    let out = Msgwork::new(&[
        "simulate", "--crash", "--seed", "5", "--orders", "300", "--claim", "none", "--check",
    ])
    .output();
    out.expect_code(1);
    assert!(
        out.stdout.contains("overlapping relay claims"),
        "{}",
        out.stdout
    );
}

#[test]
fn bad_options_are_one_clear_line_and_exit_2() {
    Msgwork::new(&["simulate", "--orders", "0"])
        .output()
        .usage_error("--orders must be between 1");
    Msgwork::new(&["simulate", "--relays", "0"])
        .output()
        .usage_error("--relays must be between 1");
    Msgwork::new(&["simulate", "--batch", "0"])
        .output()
        .usage_error("--batch");
    Msgwork::new(&["simulate", "--crash-rate", "2"])
        .output()
        .usage_error("--crash-rate");
    Msgwork::new(&["simulate", "--crash-at", "service-after-commit:5000"])
        .output()
        .usage_error("past --orders");
}

#[test]
fn unknown_crash_points_and_flags_are_usage_errors() {
    let out = Msgwork::new(&["simulate", "--crash-at", "relay-after-lunch"]).output();
    out.expect_code(2);
    assert!(out.stderr.contains("--list-crash-points"), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"));
    Msgwork::new(&["simulate", "--no-such-flag"])
        .output()
        .expect_code(2);
    Msgwork::new(&["simulate", "--orders", "-3"])
        .output()
        .expect_code(2);
    Msgwork::new(&["frobnicate"]).output().expect_code(2);
}

#[test]
fn an_unwritable_trace_path_is_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/trace.jsonl");
    let (out, home) = Msgwork::new(&["simulate", "--crash", "--trace", &path_str(&missing)]).run();
    out.usage_error("cannot write the trace file");
    // Nothing was recorded: the run never started.
    let store = msgwork::store::Store::open(home.path()).unwrap();
    assert!(store.runs("simulate").unwrap().is_empty());
    Msgwork::new(&["simulate", "--trace", &path_str(dir.path())])
        .output()
        .usage_error("cannot write the trace file");
}

#[test]
fn an_unusable_data_dir_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    Msgwork::new(&["simulate", "--data-dir", &path_str(&file)])
        .output()
        .usage_error("it is a file, not a directory");
    // Under a file, nothing can be created.
    Msgwork::new(&["--data-dir", &path_str(&file.join("sub")), "simulate"])
        .output()
        .usage_error("cannot use data directory");
}

#[test]
fn a_damaged_progress_store_is_named_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("progress.db");
    let junk = "this is not a database, and it is the learner's file ".repeat(40);
    std::fs::write(&store, &junk).unwrap();
    Msgwork::new(&[
        "simulate",
        "--orders",
        "10",
        "--data-dir",
        &path_str(dir.path()),
    ])
    .output()
    .usage_error("file is not a database; if the file is damaged, move it aside");
    assert_eq!(std::fs::read_to_string(&store).unwrap(), junk);
}

#[test]
fn every_run_is_recorded_with_its_seed_options_and_results() {
    let (out, home) = Msgwork::new(&[
        "simulate", "--crash", "--seed", "12", "--orders", "200", "--json",
    ])
    .run();
    out.success();
    let store = msgwork::store::Store::open(home.path()).unwrap();
    let runs = store.runs("simulate").unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].seed, Some(12));
    assert_eq!(runs[0].options["orders"], 200);
    assert_eq!(runs[0].options["crash"], true);
    assert_eq!(runs[0].results["outbox"]["lost_events"], 0);
    assert_eq!(runs[0].results["naive"], out.json()["naive"]);
}

#[test]
fn the_data_dir_option_works_before_or_after_the_subcommand_and_beats_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let d = path_str(dir.path());
    Msgwork::new(&["--data-dir", &d, "simulate", "--orders", "10"])
        .output()
        .success();
    Msgwork::new(&["simulate", "--orders", "10", "--data-dir", &d])
        .output()
        .success();
    let store = msgwork::store::Store::open(dir.path()).unwrap();
    assert_eq!(store.runs("simulate").unwrap().len(), 2);
}

#[test]
fn the_trace_names_every_step_and_finds_the_lost_order() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("steps.jsonl");
    let out = Msgwork::new(&[
        "simulate",
        "--crash-at",
        "service-after-commit:7",
        "--naive-order",
        "commit-first",
        "--orders",
        "30",
        "--seed",
        "1",
        "--trace",
        &path_str(&trace),
        "--json",
    ])
    .output();
    assert_eq!(
        out.success().json()["naive"]["lost_orders"],
        serde_json::json!([7])
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let naive_order_7 = |step: &str| {
        lines
            .iter()
            .any(|l| l["run"] == "naive" && l["order"] == 7 && l["step"] == step)
    };
    assert!(naive_order_7("commit"));
    assert!(naive_order_7("crash"));
    assert!(
        !naive_order_7("publish"),
        "the lost order was never published"
    );
    for step in [
        "claim",
        "publish",
        "deliver",
        "apply",
        "ack",
        "mark-sent",
        "restart",
    ] {
        assert!(lines.iter().any(|l| l["step"] == step), "no {step} step");
    }
    let seqs: Vec<u64> = lines.iter().map(|l| l["seq"].as_u64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "sequence numbers run on"
    );
}

#[test]
fn keep_db_leaves_the_databases_to_inspect() {
    let dir = tempfile::tempdir().unwrap();
    Msgwork::new(&[
        "simulate",
        "--crash",
        "--orders",
        "50",
        "--keep-db",
        &path_str(dir.path()),
    ])
    .output()
    .success();
    let conn = rusqlite::Connection::open(dir.path().join("outbox-orders.db")).unwrap();
    let unsent: i64 = conn
        .query_row(
            "SELECT count(*) FROM outbox WHERE sent_at IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unsent, 0);
    // Each consumer's database holds what that consumer uses: the naive one has no inbox.
    let tables = |file: &str| -> Vec<String> {
        let conn = rusqlite::Connection::open(dir.path().join(file)).unwrap();
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert!(!tables("naive-billing.db").contains(&"inbox".to_string()));
    assert!(tables("naive-billing.db").contains(&"charges".to_string()));
    assert!(tables("outbox-billing.db").contains(&"inbox".to_string()));
    // A second run into the same directory is refused unless --force, and then starts from
    // clean databases.
    let again = [
        "simulate",
        "--orders",
        "10",
        "--keep-db",
        &path_str(dir.path()),
    ];
    Msgwork::new(&again)
        .output()
        .usage_error("already holds files");
    Msgwork::new(&[&again[..], &["--force"]].concat())
        .output()
        .success();
    let orders: i64 = rusqlite::Connection::open(dir.path().join("outbox-orders.db"))
        .unwrap()
        .query_row("SELECT count(*) FROM orders", [], |r| r.get(0))
        .unwrap();
    assert_eq!(orders, 10);
}

#[test]
fn crash_points_are_listed_with_a_sentence_each() {
    let out = Msgwork::new(&["simulate", "--list-crash-points", "--json"]).output();
    let v = out.success().json();
    let points = v["crash_points"].as_array().unwrap();
    assert_eq!(points.len(), 6);
    for p in points {
        assert!(p["description"].as_str().unwrap().len() > 40);
    }
    let human = Msgwork::new(&["simulate", "--list-crash-points"]).output();
    assert!(human.success().stdout.contains("relay-after-publish"));
}

#[test]
fn help_version_and_completions() {
    let out = Msgwork::new(&["--help"]).output();
    assert!(
        out.success()
            .stdout
            .contains("Exit status: 0 success, 1 a check")
    );
    let out = Msgwork::new(&["simulate", "--help"]).output();
    assert!(
        out.success()
            .stdout
            .contains("msgwork simulate --crash --seed 42 --json")
    );
    let out = Msgwork::new(&["--version"]).output();
    assert!(out.success().stdout.starts_with("msgwork "));
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = Msgwork::new(&["completions", shell]).output();
        assert!(out.success().stdout.contains("simulate"), "{shell}");
    }
    Msgwork::new(&["completions", "tcsh"])
        .output()
        .expect_code(2);
    Msgwork::new(&[]).output().expect_code(2);
}

#[test]
fn completion_offers_the_crash_points_after_crash_at() {
    let names: Vec<String> = msgwork::sim::crash::schedule::CrashPoint::ALL
        .iter()
        .map(|p| p.name().to_string())
        .collect();
    let bash = Msgwork::new(&["completions", "bash"]).output();
    let script = &bash.success().stdout;
    // bash completes an option's value in a `--crash-at)` case arm with `compgen -W "..."`.
    let arm = script
        .split("--crash-at)")
        .nth(1)
        .and_then(|rest| rest.split(";;").next())
        .expect("a case arm for --crash-at");
    for name in &names {
        assert!(arm.contains(name.as_str()), "{name} not offered: {arm}");
    }
    let zsh = Msgwork::new(&["completions", "zsh"]).output();
    assert!(zsh.success().stdout.contains(&names.join(" ")), "zsh");
    // The help stays short, and a point with an order still parses.
    let help = Msgwork::new(&["simulate", "--help"]).output();
    assert!(
        !help
            .success()
            .stdout
            .contains("possible values: service-after-commit")
    );
    let out = Msgwork::new(&[
        "simulate",
        "--crash-at",
        &format!("{}:3", names[0]),
        "--orders",
        "20",
        "--json",
    ])
    .output();
    out.success();
}

#[test]
fn the_human_report_reads_the_same_for_a_seed() {
    let out = Msgwork::new(&["simulate", "--crash", "--seed", "1", "--orders", "400"]).output();
    let text: String = out
        .success()
        .stdout
        .lines()
        .filter(|l| !l.starts_with("Recorded as run"))
        .map(|l| format!("{l}\n"))
        .collect();
    insta::assert_snapshot!(text);
}

/// The report of one configuration twice: as JSON, and the human narrative under the table.
fn narrative(args: &[&str]) -> (serde_json::Value, String) {
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let v = Msgwork::new(&json_args).output().success().json();
    let human = Msgwork::new(args).output();
    let text = human.success().stdout.clone();
    let start = text
        .find("What this run shows")
        .unwrap_or_else(|| panic!("no narrative in:\n{text}"));
    let end = text[start..].find("\n\n").map_or(text.len(), |i| start + i);
    (v, text[start..end].to_string())
}

#[test]
fn check_refuses_overlapping_claims_under_claim_none_as_help_says() {
    let help = Msgwork::new(&["simulate", "--help"]).output();
    let said: String = help
        .success()
        .stdout
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        said.contains("no overlapping claim (under --claim none too"),
        "{said}"
    );
    let args = [
        "simulate", "--crash", "--claim", "none", "--seed", "1", "--orders", "300", "--check",
    ];
    let out = Msgwork::new(&args).output();
    out.expect_code(1);
    assert!(
        out.stdout.contains("Check failed:") && out.stdout.contains("overlapping relay claims"),
        "{}",
        out.stdout
    );
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let json = Msgwork::new(&json_args).output();
    json.expect_code(1);
    assert!(
        json.json()["outbox"]["overlapping_claims"]
            .as_u64()
            .unwrap()
            > 0
    );
    // One relay cannot overlap with itself: the check has nothing to refuse.
    Msgwork::new(&[
        "simulate", "--crash", "--claim", "none", "--relays", "1", "--seed", "1", "--orders",
        "300", "--check",
    ])
    .output()
    .success();
}

#[test]
fn without_claims_the_narrative_blames_the_overlap_it_counted() {
    let (v, text) = narrative(&[
        "simulate", "--crash", "--claim", "none", "--seed", "1", "--orders", "300",
    ]);
    let overlaps = v["outbox"]["overlapping_claims"].as_u64().unwrap();
    assert!(overlaps > 0);
    assert!(!text.contains("Replicas claim disjoint batches"), "{text}");
    assert!(
        text.contains(&format!("{overlaps} overlapping claims"))
            && text.contains(&format!(
                "{overlaps} claims of rows another relay still held"
            )),
        "{text}"
    );
    let republished = v["outbox"]["events_republished"].as_u64().unwrap();
    assert!(
        text.contains(&format!("{republished} events went out more than once")),
        "{text}"
    );
}

#[test]
fn a_lease_shorter_than_a_pass_is_named_as_the_cause_not_a_crash() {
    // No crashes at all: every duplicate comes from leases running out mid-pass.
    let (v, text) = narrative(&["simulate", "--seed", "2", "--orders", "200", "--lease", "1"]);
    let overlaps = v["outbox"]["overlapping_claims"].as_u64().unwrap();
    assert!(overlaps > 0);
    assert_eq!(v["outbox"]["crashes"], 0);
    assert!(!text.contains("Replicas claim disjoint batches"), "{text}");
    assert!(
        !text.contains("relay crash") && !text.contains("died"),
        "{text}"
    );
    assert!(
        text.contains("Leases ran out under slow holders")
            && text.contains(&format!("{overlaps} claims of expired rows"))
            && text.contains("lease of 1 ms")
            && text.contains("not a broken claim"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "because of {overlaps} claims of rows whose lease had run out"
        )),
        "{text}"
    );
}

#[test]
fn with_no_crash_nothing_is_said_about_crashes_that_did_not_happen() {
    let (v, text) = narrative(&["simulate", "--seed", "3", "--orders", "100"]);
    assert_eq!(v["naive"]["crashes"], 0);
    assert!(text.contains("No crash was asked for") && text.contains("Run with --crash"));
    for absent in [
        "dual-write gap",
        "One local transaction closes it",
        "at-least-once",
        "dedupes",
    ] {
        assert!(!text.contains(absent), "'{absent}' in:\n{text}");
    }
}

#[test]
fn a_consumer_crash_alone_shows_the_naive_write_losing_nothing_and_charging_twice() {
    let (v, text) = narrative(&[
        "simulate",
        "--crash-at",
        "consumer-after-commit",
        "--seed",
        "7",
        "--orders",
        "100",
    ]);
    assert_eq!(v["naive"]["lost_events"], 0);
    assert_eq!(v["naive"]["double_applied"], 1);
    assert!(!text.contains("dual-write gap"), "{text}");
    assert!(
        text.contains("The naive dual write lost and invented nothing this run")
            && text.contains("--crash-at service-after-commit:1"),
        "{text}"
    );
    assert!(
        text.contains("No crash struck the outbox's order service"),
        "{text}"
    );
    assert!(
        text.contains("The naive consumer has no inbox and charged 1 order more than once"),
        "{text}"
    );
    assert!(!text.contains("went out more than once"), "{text}");
    assert!(text.contains("after billing itself crashed"), "{text}");
}

#[test]
fn a_relay_crash_after_publishing_is_named_as_the_cause_of_the_republish() {
    let (v, text) = narrative(&[
        "simulate",
        "--crash-at",
        "relay-after-publish:5",
        "--seed",
        "3",
        "--orders",
        "60",
    ]);
    let republished = v["outbox"]["events_republished"].as_u64().unwrap();
    assert!(republished > 0);
    assert_eq!(v["outbox"]["overlapping_claims"], 0);
    assert!(
        text.contains(
            "went out more than once (because of 1 relay crash between publishing and marking"
        ),
        "{text}"
    );
    assert!(!text.contains("claims of rows"), "{text}");
    assert!(
        text.contains("No crash struck the naive pipeline"),
        "{text}"
    );
}

#[test]
fn a_service_crash_outside_the_gap_loses_nothing_and_the_narrative_says_why() {
    // Order 2 publishes first under --naive-order alternate: dying after its COMMIT is harmless.
    let (v, text) = narrative(&[
        "simulate",
        "--crash-at",
        "service-after-commit:2",
        "--seed",
        "1",
        "--orders",
        "20",
    ]);
    assert_eq!(v["naive"]["lost_events"], 0);
    assert_eq!(v["naive"]["phantom_events"], 0);
    assert!(
        text.contains("its order service crashed once but never between the two writes"),
        "{text}"
    );
    assert!(
        text.contains("so its one crash kept both or neither"),
        "{text}"
    );
    // The advice given is the crash that does open the gap.
    let (v, text) = narrative(&[
        "simulate",
        "--crash-at",
        "service-after-commit:1",
        "--seed",
        "1",
        "--orders",
        "20",
    ]);
    assert_eq!(v["naive"]["lost_events"], 1);
    assert!(text.contains("The dual-write gap"), "{text}");
}

#[test]
fn one_relay_has_nobody_to_overlap_with_and_says_so() {
    let (_, text) = narrative(&[
        "simulate", "--crash", "--seed", "4", "--orders", "200", "--relays", "1",
    ]);
    assert!(!text.contains("Replicas claim disjoint batches"), "{text}");
    assert!(
        text.contains("With one relay there was no other replica"),
        "{text}"
    );
}

#[test]
fn explain_tells_one_orders_life_lost_by_the_naive_run_and_redelivered_by_the_outbox() {
    // Seed 8 at 20 orders: the naive run loses order 1; the outbox redelivers it and the inbox
    // skips the copy.
    let run = [
        "simulate",
        "--orders",
        "20",
        "--seed",
        "8",
        "--crash",
        "--explain",
        "1",
    ];
    let mut args = run.to_vec();
    args.push("--json");
    let v = Msgwork::new(&args).output().success().json();
    assert_eq!(
        (v["schema_version"].as_u64(), v["order"].as_u64()),
        (Some(1), Some(1))
    );
    let lives = v["lives"].as_array().unwrap();
    let life = |run: &str| lives.iter().find(|l| l["run"] == run).unwrap().clone();
    let naive = life("naive");
    assert_eq!(
        (naive["committed"].as_bool(), naive["charged"].as_u64()),
        (Some(true), Some(0))
    );
    assert!(
        naive["ending"].as_str().unwrap().starts_with("Lost"),
        "{naive}"
    );
    let outbox = life("outbox");
    assert_eq!(outbox["charged"], 1, "{outbox}");
    let steps: Vec<&str> = outbox["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    for step in ["commit", "publish", "redeliver", "dedupe-skip", "apply"] {
        assert!(steps.contains(&step), "{step} missing from {steps:?}");
    }
    let human = Msgwork::new(&run).output();
    let text = &human.success().stdout;
    for part in [
        "The naive dual write: order #1",
        "Lost: the order was committed but billing never charged it.",
        "The outbox with an inbox: order #1",
        "skipped it instead of charging again",
        "Charged exactly once.",
        "--explain 1",
    ] {
        assert!(text.contains(part), "'{part}' missing:\n{text}");
    }
    for outside in ["0", "21"] {
        Msgwork::new(&[
            "simulate",
            "--orders",
            "20",
            "--seed",
            "8",
            "--explain",
            outside,
        ])
        .output()
        .usage_error("orders are #1 to #20");
    }
}
