//! `msgwork lab`: the stretch labs through the real binary.

use crate::harness::{Msgwork, path_str};

/// One item of `msgwork evidence --json` for the learner whose data is in `home`.
fn evidence_item(home: &std::path::Path, id: &str) -> serde_json::Value {
    let out = Msgwork::new(&["--data-dir", &path_str(home), "evidence", "--json"]).output();
    let items = out.json()["items"].as_array().unwrap().clone();
    items.into_iter().find(|i| i["id"] == id).unwrap()
}

#[test]
fn fanout_shows_a_queue_splitting_and_a_topic_copying() {
    let (out, home) =
        Msgwork::new(&["lab", "fanout", "--seed", "3", "--orders", "600", "--json"]).run();
    let v = out.success().json();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["seed"], 3);
    let queue = v["queue"].as_array().unwrap();
    let total: u64 = queue.iter().map(|s| s["orders"].as_u64().unwrap()).sum();
    assert_eq!(total, 600);
    assert!(queue.iter().all(|s| s["missed"].as_u64().unwrap() > 0));
    for s in v["topic"].as_array().unwrap() {
        assert_eq!(
            (s["orders"].as_u64(), s["missed"].as_u64()),
            (Some(600), Some(0))
        );
    }
    let again =
        Msgwork::new(&["lab", "fanout", "--seed", "3", "--orders", "600", "--json"]).output();
    assert_eq!(again.json(), v, "the same seed gives the same result");
    let store = msgwork::store::Store::open(home.path()).unwrap();
    assert_eq!(store.runs("lab-fanout").unwrap().len(), 1);
    drop(store);
    let item = evidence_item(home.path(), "stretch-fanout");
    assert_eq!(item["done"], true, "{item}");
    let proof = item["proof"].as_str().unwrap();
    assert!(
        proof.contains("600 orders to") && proof.contains("0 through a topic"),
        "{proof}"
    );
    let human = Msgwork::new(&["lab", "fanout", "--seed", "3"]).output();
    assert!(
        human
            .success()
            .stdout
            .contains("'a queue broadcasts' misconception")
    );
}

#[test]
fn fanout_refuses_nonsense_sizes() {
    Msgwork::new(&["lab", "fanout", "--orders", "0"])
        .output()
        .usage_error("--orders");
    Msgwork::new(&["lab", "fanout", "--instances", "0"])
        .output()
        .usage_error("--instances");
}

#[test]
fn dlq_accounts_for_every_message_and_refuses_bad_settings() {
    let (out, home) =
        Msgwork::new(&["lab", "dlq", "--seed", "2", "--messages", "500", "--json"]).run();
    let v = out.success().json();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["lost"], 0);
    assert_eq!(
        v["applied"].as_u64().unwrap() + v["dead_lettered"].as_u64().unwrap(),
        500
    );
    assert!(
        v["dead_letters"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["reason"].is_string())
    );
    let store = msgwork::store::Store::open(home.path()).unwrap();
    assert_eq!(store.runs("lab-dlq").unwrap().len(), 1);
    drop(store);
    let item = evidence_item(home.path(), "stretch-dlq");
    assert_eq!(item["done"], true, "{item}");
    let proof = item["proof"].as_str().unwrap();
    assert!(
        proof.contains("500 messages") && proof.contains("0 lost"),
        "{proof}"
    );
    let listed = Msgwork::new(&["--data-dir", &path_str(home.path()), "evidence"]).output();
    assert!(
        listed.stdout.contains("dead-letter queue"),
        "{}",
        listed.stdout
    );
    let human = Msgwork::new(&["lab", "dlq", "--seed", "2", "--messages", "500"]).output();
    assert!(
        human.success().stdout.contains("nothing was lost"),
        "{}",
        human.stdout
    );
    // Poison retried forever blocks only an ordered queue; elsewhere it burns and hides.
    assert!(
        human.stdout.contains("burn worker time") && human.stdout.contains("on an ordered queue"),
        "{}",
        human.stdout
    );
    assert!(
        !human.stdout.contains("would block the queue"),
        "{}",
        human.stdout
    );
    Msgwork::new(&["lab", "dlq", "--backoff", "1s,soon"])
        .output()
        .usage_error("--backoff");
    Msgwork::new(&["lab", "dlq", "--backoff", "5y"])
        .output()
        .usage_error("unknown unit");
    Msgwork::new(&["lab", "dlq", "--max-attempts", "0"])
        .output()
        .usage_error("--max-attempts");
    Msgwork::new(&[
        "lab",
        "dlq",
        "--poison-rate",
        "0.9",
        "--transient-rate",
        "0.5",
    ])
    .output()
    .usage_error("add up to more than 1");
}

#[test]
fn retention_shows_the_trade_off_and_fills_the_evidence_item() {
    let (out, home) = Msgwork::new(&[
        "lab",
        "retention",
        "--seed",
        "4",
        "--events",
        "3000",
        "--hours",
        "1,8,120",
        "--json",
    ])
    .run();
    let v = out.success().json();
    let w = v["windows"].as_array().unwrap();
    assert_eq!(w.len(), 3);
    assert!(w[0]["reapplied"].as_u64().unwrap() > w[2]["reapplied"].as_u64().unwrap());
    assert!(w[0]["max_inbox_rows"].as_u64().unwrap() < w[2]["max_inbox_rows"].as_u64().unwrap());
    let stretch = evidence_item(home.path(), "stretch-retention");
    assert_eq!(stretch["done"], true, "{stretch}");
    assert!(
        stretch["proof"]
            .as_str()
            .unwrap()
            .contains("keeping ids 1 h"),
        "{stretch}"
    );
    Msgwork::new(&["lab", "retention", "--hours", "1,two"])
        .output()
        .usage_error("--hours");
}

#[test]
fn retention_takes_windows_in_decimal_hours_and_refuses_empty_ones() {
    let (out, home) = Msgwork::new(&[
        "lab",
        "retention",
        "--seed",
        "4",
        "--events",
        "2000",
        "--hours",
        "0.25,1.5,24",
        "--json",
    ])
    .run();
    let v = out.success().json();
    let hours: Vec<serde_json::Value> = v["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["hours"].clone())
        .collect();
    assert_eq!(
        hours,
        [
            serde_json::json!(0.25),
            serde_json::json!(1.5),
            serde_json::json!(24)
        ]
    );
    let w = v["windows"].as_array().unwrap();
    assert!(w[0]["reapplied"].as_u64().unwrap() >= w[1]["reapplied"].as_u64().unwrap());
    let stretch = evidence_item(home.path(), "stretch-retention");
    assert!(
        stretch["proof"]
            .as_str()
            .unwrap()
            .contains("keeping ids 0.25 h"),
        "{stretch}"
    );
    for bad in ["0", "-1", "NaN", "inf", "1,,2", "0.001", "10001", "1h"] {
        let flag = format!("--hours={bad}");
        let out = Msgwork::new(&["lab", "retention", &flag]).output();
        out.usage_error("--hours");
        assert!(
            out.stderr.contains("0.01 to 10000"),
            "{bad}: {}",
            out.stderr
        );
    }
}

#[test]
fn ordering_holds_when_keyed_breaks_when_not_and_fills_the_evidence_item() {
    let (out, home) = Msgwork::new(&[
        "lab", "ordering", "--seed", "6", "--orders", "400", "--json",
    ])
    .env_remove("MSGWORK_DB")
    .run();
    let v = out.success().json();
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["backend"], "sqlite");
    assert_eq!(v["handling"], "skip");
    assert_eq!(v["keyed"]["violations"], 0);
    assert!(v["unkeyed"]["violations"].as_u64().unwrap() > 0);
    // Skipping by sequence: overtaken change events are discarded, counted apart from the rest.
    assert!(v["unkeyed"]["applied_out_of_order"].as_u64().unwrap() > 0);
    assert!(v["unkeyed"]["late_discarded"].as_u64().unwrap() > 0);
    assert!(v["unkeyed"]["orders_wrong_at_end"].as_u64().unwrap() > 0);
    for run in ["keyed", "unkeyed"] {
        assert_eq!(v[run]["events"], 1600, "{run}");
        assert_eq!(v[run]["lost"], 0, "{run}");
    }
    assert_eq!(evidence_item(home.path(), "stretch-ordering")["done"], true);
    for handling in ["park", "newest"] {
        let v = Msgwork::new(&[
            "lab",
            "ordering",
            "--seed",
            "6",
            "--orders",
            "200",
            "--handling",
            handling,
            "--json",
        ])
        .env_remove("MSGWORK_DB")
        .output()
        .success()
        .json();
        assert_eq!(v["handling"], handling);
        assert!(
            v["unkeyed"]["violations"].as_u64().unwrap() > 0,
            "{handling}: {v}"
        );
        for key in [
            "applied_out_of_order",
            "late_discarded",
            "orders_wrong_at_end",
            "lost",
        ] {
            assert_eq!(v["unkeyed"][key], 0, "{handling} {key}: {v}");
        }
    }
    let bad = Msgwork::new(&["lab", "ordering", "--handling", "later"]).output();
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("skip, park, newest"), "{}", bad.stderr);
    Msgwork::new(&["lab", "ordering", "--partitions", "0"])
        .output()
        .usage_error("--partitions");
    Msgwork::new(&["lab", "ordering", "--db", "mysql://root:hunter2@db/shop"])
        .output()
        .usage_error("postgres://USER@HOST:PORT/DATABASE");
}

#[test]
fn ordering_names_its_database_and_replays_its_seed() {
    let run = || {
        Msgwork::new(&[
            "lab",
            "ordering",
            "--seed",
            "3",
            "--orders",
            "120",
            "--partitions",
            "3",
        ])
        .env_remove("MSGWORK_DB")
        .output()
    };
    let (a, b) = (run(), run());
    a.success();
    assert!(a.stdout.contains("SQLite"), "{}", a.stdout);
    assert!(
        a.stdout
            .contains("Replay: msgwork lab ordering --seed 3 --orders 120 --partitions 3"),
        "{}",
        a.stdout
    );
    let table = |out: &str| {
        out.split("What this shows")
            .next()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(table(&a.stdout), table(&b.stdout), "same seed, same run");
}

#[test]
fn cdc_loses_nothing_under_crashes_and_fills_the_evidence_item() {
    let dir = tempfile::tempdir().unwrap();
    let svg = path_str(&dir.path().join("latency.svg"));
    let (out, home) = Msgwork::new(&[
        "lab",
        "cdc",
        "--seed",
        "5",
        "--rate",
        "400",
        "--seconds",
        "0.5",
        "--interval",
        "100ms",
        "--check",
        "--plot",
        &svg,
        "--json",
    ])
    .run();
    let v = out.success().json();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["backend"], "sqlite");
    assert_eq!(v["plot"], svg);
    let drawn = std::fs::read_to_string(&svg).unwrap();
    assert!(drawn.starts_with("<svg") && drawn.contains("CDC") && drawn.contains("polling"));
    assert_eq!(
        (v["lost"].as_u64(), v["double_applied"].as_u64()),
        (Some(0), Some(0))
    );
    let run = &v["runs"][0];
    assert_eq!(run["rate"], 400);
    for relay in ["cdc", "polling"] {
        let r = &run[relay];
        assert_eq!(r["relay"], relay);
        assert_eq!(r["lost"], 0, "{relay}: {r}");
        assert_eq!(r["phantom"], 0, "{relay}: {r}");
        assert!(r["relay_crashes"].as_u64().unwrap() > 0, "{relay}: {r}");
        assert_eq!(r["service_crashes"], 3, "{relay}: {r}");
        assert_eq!(r["applied"], r["committed"]);
        let l = &r["latency_ms"];
        assert_eq!(
            l["samples"], r["committed"],
            "one sample per committed order"
        );
        for key in ["p50", "p95", "p99", "max"] {
            assert!(l[key].as_f64().is_some(), "{relay} latency lacks {key}");
        }
        assert!(l["p50"].as_f64() <= l["p99"].as_f64());
    }
    assert_eq!(
        run["cdc"]["committed"], run["polling"]["committed"],
        "both relays face the same workload"
    );
    let ids: Vec<&str> = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["polling-p50-half-interval", "zero-lost"]);
    let cdc = evidence_item(home.path(), "stretch-cdc");
    assert_eq!(cdc["done"], true, "{cdc}");
    let proof = cdc["proof"].as_str().unwrap();
    assert!(
        proof.contains("400 orders/s on sqlite") && proof.contains("0 lost"),
        "{proof}"
    );
}

#[test]
fn cdc_refuses_bad_settings() {
    for (args, mentions) in [
        (&["--rate", "0"][..], "--rate"),
        (&["--rate", "1000,fast"], "--rate"),
        (&["--interval", "5y"], "unknown unit"),
        (&["--interval", "0ms"], "--interval"),
        (&["--seconds", "0"], "--seconds"),
        (&["--batch", "0"], "--batch"),
        (&["--rate", "50000", "--seconds", "600"], "under 2,000,000"),
        (&["--plot", "latency.png"], ".svg"),
        (&["--db", "mysql://root@localhost/shop"], "postgres://"),
    ] {
        let mut all = vec!["lab", "cdc"];
        all.extend_from_slice(args);
        Msgwork::new(&all).output().usage_error(mentions);
    }
}

#[test]
fn dlq_draws_queue_depth_to_an_svg_and_a_terminal_chart() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("depth.svg");
    let plot = path_str(&svg);
    let args = ["lab", "dlq", "--seed", "2", "--messages", "500"];
    let human = Msgwork::new(&[&args[..], &["--plot", &plot]].concat()).output();
    let stdout = &human.success().stdout;
    assert!(
        stdout.contains(&format!("Chart written to {plot}\n")),
        "{stdout}"
    );
    let chart = std::fs::read_to_string(&svg).unwrap();
    assert!(chart.starts_with("<svg"), "{chart}");
    for wanted in [
        "retry queue",
        "dead letters",
        "simulated time (",
        "messages",
    ] {
        assert!(chart.contains(wanted), "{wanted} not in the SVG");
    }
    assert!(chart.contains("<polyline"));
    // The terminal version: a band per queue, its peak at the left.
    let band = |name: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(name) && l.contains('┤'))
            .unwrap_or_else(|| panic!("no {name} band in:\n{stdout}"))
    };
    band("retry queue");
    band("dead letters");
    assert!(!stdout.contains('\u{1b}'), "NO_COLOR: no escapes");

    std::fs::remove_file(&svg).unwrap();
    let json = Msgwork::new(&[&args[..], &["--plot", &plot, "--json"]].concat()).output();
    let v = json.success().json();
    assert_eq!(v["plot"], plot.as_str());
    assert_eq!(
        (v["schema_version"].as_u64(), v["lost"].as_u64()),
        (Some(1), Some(0))
    );
    assert!(svg.exists(), "--json writes the chart too");
    let without = Msgwork::new(&[&args[..], &["--json"]].concat()).output();
    assert!(without.success().json()["plot"].is_null());
}

#[test]
fn retention_draws_the_trade_off_to_an_svg_and_a_terminal_chart() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("retention.svg");
    let plot = path_str(&svg);
    let args = [
        "lab",
        "retention",
        "--seed",
        "4",
        "--events",
        "3000",
        "--hours",
        "1,8,120",
    ];
    let human = Msgwork::new(&[&args[..], &["--plot", &plot]].concat()).output();
    let stdout = &human.success().stdout;
    assert!(
        stdout.contains(&format!("Chart written to {plot}\n")),
        "{stdout}"
    );
    let chart = std::fs::read_to_string(&svg).unwrap();
    assert!(chart.starts_with("<svg"));
    for wanted in [
        "duplicates re-applied",
        "inbox rows at most",
        "ids kept for (hours), log scale",
    ] {
        assert!(chart.contains(wanted), "{wanted} not in the SVG");
    }
    assert!(
        stdout.contains("ids kept for (hours), log scale"),
        "{stdout}"
    );
    // The chart from the first run is there: replacing it takes --force.
    let json =
        Msgwork::new(&[&args[..], &["--plot", &plot, "--json", "--force"]].concat()).output();
    let v = json.success().json();
    assert_eq!(v["plot"], plot.as_str());
    assert_eq!(v["windows"].as_array().unwrap().len(), 3);
}

/// A run that stopped on bad input left nothing in the learner's store.
#[track_caller]
fn assert_nothing_recorded(home: &std::path::Path) {
    let store = msgwork::store::Store::open(home).unwrap();
    for kind in ["lab-dlq", "lab-retention"] {
        assert!(store.runs(kind).unwrap().is_empty(), "{kind} recorded");
    }
}

#[test]
fn plot_refuses_other_formats_and_paths_it_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let png = path_str(&dir.path().join("out.png"));
    let missing = path_str(&dir.path().join("no-such-dir").join("out.svg"));
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let under_a_file = path_str(&file.join("out.svg"));
    for lab in [
        &["lab", "dlq", "--messages", "200"][..],
        &["lab", "retention", "--events", "500"],
    ] {
        let (out, home) = Msgwork::new(&[lab, &["--plot", &png]].concat()).run();
        out.usage_error("give a file name ending in .svg")
            .usage_error(&png);
        assert_nothing_recorded(home.path());
        for path in [&missing, &under_a_file] {
            let (out, home) = Msgwork::new(&[lab, &["--plot", path, "--json"]].concat()).run();
            out.usage_error(&format!("cannot write chart to {path}: "));
            assert_eq!(out.stdout, "", "no JSON for a run that failed");
            assert_nothing_recorded(home.path());
        }
    }
    assert!(!dir.path().join("out.png").exists());
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "nothing but the file we made");
}

/// The "What this shows" bullets of a lab's human report.
fn shows(args: &[&str]) -> String {
    let out = Msgwork::new(args).output();
    let text = out.success().stdout.clone();
    let start = text
        .find("What this shows")
        .unwrap_or_else(|| panic!("no findings in:\n{text}"));
    text[start..]
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  • "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn lab_findings_follow_the_run_and_never_state_what_did_not_happen() {
    // One instance behind each subscription: nothing to share.
    let text = shows(&[
        "lab",
        "fanout",
        "--orders",
        "300",
        "--instances",
        "1",
        "--seed",
        "2",
    ]);
    assert!(
        text.contains("Each subscription had one instance here"),
        "{text}"
    );
    assert!(!text.contains("instances shared the work"), "{text}");

    // One partition: scattered events have nowhere to go, so nothing overtakes.
    let text = shows(&[
        "lab",
        "ordering",
        "--orders",
        "60",
        "--partitions",
        "1",
        "--seed",
        "2",
    ]);
    assert!(
        text.contains("with one partition there is nowhere to scatter to"),
        "{text}"
    );
    assert!(!text.contains("Shipped before Paid"), "{text}");

    // No duplicates at all, then windows all longer than the longest delay.
    let text = shows(&[
        "lab",
        "retention",
        "--events",
        "2000",
        "--duplicate-rate",
        "0",
        "--seed",
        "2",
    ]);
    assert!(text.contains("No event came back a second time"), "{text}");
    assert!(!text.contains("A short window forgets"), "{text}");
    let text = shows(&[
        "lab",
        "retention",
        "--events",
        "2000",
        "--hours",
        "200,400",
        "--seed",
        "2",
    ]);
    assert!(
        text.contains("Even the shortest window here, 200 h, caught all"),
        "{text}"
    );
    assert!(!text.contains("A short window forgets"), "{text}");

    // Nothing fails for a while, then nothing fails at all.
    let text = shows(&[
        "lab",
        "dlq",
        "--messages",
        "200",
        "--transient-rate",
        "0",
        "--seed",
        "2",
    ]);
    assert!(
        text.contains("No message failed only for a while"),
        "{text}"
    );
    assert!(!text.contains("Backoff turned"), "{text}");
    let text = shows(&[
        "lab",
        "dlq",
        "--messages",
        "200",
        "--transient-rate",
        "0",
        "--poison-rate",
        "0",
        "--seed",
        "2",
    ]);
    assert!(
        text.contains("No message needed the dead-letter queue"),
        "{text}"
    );

    // No crashes: nothing restarted, and nothing was lost "crashes included".
    let text = shows(&[
        "lab",
        "cdc",
        "--rate",
        "300",
        "--seconds",
        "0.2",
        "--interval",
        "40ms",
        "--crashes",
        "0",
        "--seed",
        "2",
    ]);
    assert!(text.contains("No relay crashed this run"), "{text}");
    assert!(
        !text.contains("crashes included") && !text.contains("redeliveries"),
        "{text}"
    );
}
