//! Every printed replay reproduces its run: `simulate` and each lab, run in a configuration away
//! from the defaults, then run again from the `replay` argv their `--json` carries.

use serde_json::{Map, Value};

use crate::harness::{Msgwork, postgres};

/// `msgwork ARGS… --json`, which must succeed.
fn json(args: &[&str]) -> Value {
    let mut argv = args.to_vec();
    argv.push("--json");
    Msgwork::new(&argv).output().success().json()
}

/// The `replay` argv of a `--json` result, without the leading `msgwork`.
fn replay_of(v: &Value) -> Vec<String> {
    let argv: Vec<String> = v["replay"]
        .as_array()
        .unwrap_or_else(|| panic!("no replay array in {v}"))
        .iter()
        .map(|w| w.as_str().expect("replay words are strings").to_string())
        .collect();
    assert_eq!(
        argv.first().map(String::as_str),
        Some("msgwork"),
        "{argv:?}"
    );
    argv[1..].to_vec()
}

/// Runs `args`, then its replay, and returns both results. Every option in `args` was chosen
/// away from its default, so each must appear in the replay; and the replay must replay itself.
fn run_and_replay(args: &[&str]) -> (Value, Value) {
    let first = json(args);
    let replay = replay_of(&first);
    for flag in args.iter().filter(|a| a.starts_with("--")) {
        assert!(
            replay.iter().any(|w| w == flag),
            "{flag} is missing from the replay {replay:?}"
        );
    }
    let words: Vec<&str> = replay.iter().map(String::as_str).collect();
    let second = json(&words);
    assert_eq!(second["replay"], first["replay"], "a replay replays itself");
    (first, second)
}

/// `v` without the keys named: what differs from run to run by design.
fn without(mut v: Value, keys: &[&str]) -> Value {
    let object = v.as_object_mut().expect("a JSON object");
    for key in keys {
        object.remove(*key);
    }
    v
}

/// Only the paths named (`a.b`, with `[]` for every element of an array): the fields a
/// wall-clock lab fixes by its options and seed, as opposed to what it measures.
fn only(v: &Value, paths: &[&str]) -> Value {
    let mut out = Map::new();
    for path in paths {
        out.insert((*path).to_string(), pick(v, path));
    }
    Value::Object(out)
}

fn pick(v: &Value, path: &str) -> Value {
    let (head, rest) = path.split_once('.').unwrap_or((path, ""));
    let (key, each) = match head.strip_suffix("[]") {
        Some(key) => (key, true),
        None => (head, false),
    };
    let inner = &v[key];
    assert!(!inner.is_null(), "no {key} in {v}");
    match (each, rest) {
        (true, "") => inner.clone(),
        (true, rest) => Value::Array(
            inner
                .as_array()
                .unwrap_or_else(|| panic!("{key} is not an array"))
                .iter()
                .map(|item| pick(item, rest))
                .collect(),
        ),
        (false, "") => inner.clone(),
        (false, rest) => pick(inner, rest),
    }
}

#[test]
fn simulate_replays_its_run_with_every_option_that_shaped_it() {
    let (first, second) = run_and_replay(&[
        "simulate",
        "--crash",
        "--crash-rate",
        "0.01",
        "--seed",
        "7",
        "--orders",
        "200",
        "--relays",
        "2",
        "--claim",
        "none",
        "--naive-order",
        "commit-first",
        "--batch",
        "4",
        "--lease",
        "300",
    ]);
    assert_eq!(
        (first["batch"].clone(), first["lease_ms"].clone()),
        (4.into(), 300.into())
    );
    assert_eq!(first["naive_order"], "commit-first");
    // Only the wall clock differs between two runs of one seed.
    assert_eq!(without(first, &["timings"]), without(second, &["timings"]));
}

#[test]
fn simulate_replays_precise_crashes() {
    let (first, second) = run_and_replay(&[
        "simulate",
        "--crash-at",
        "relay-after-publish:5",
        "--crash-at",
        "consumer-after-commit",
        "--seed",
        "3",
        "--orders",
        "60",
    ]);
    let replay = replay_of(&first).join(" ");
    assert!(
        replay.contains("--crash-at relay-after-publish:5 --crash-at consumer-after-commit"),
        "{replay}"
    );
    assert!(
        !replay.contains("--crash "),
        "--crash-at is not --crash: {replay}"
    );
    assert_eq!(without(first, &["timings"]), without(second, &["timings"]));
}

#[test]
fn simulate_shows_the_same_replay_it_records_quoted_for_a_shell() {
    let args = ["simulate", "--seed", "4", "--orders", "30", "--batch", "2"];
    let v = json(&args);
    let human = Msgwork::new(&args).output();
    let line = format!("Replay: msgwork {}", replay_of(&v).join(" "));
    assert!(
        human.success().stdout.contains(&line),
        "{line} not in:\n{}",
        human.stdout
    );
}

#[test]
fn lab_fanout_replays_its_run() {
    let (first, second) = run_and_replay(&[
        "lab",
        "fanout",
        "--orders",
        "500",
        "--instances",
        "3",
        "--seed",
        "5",
    ]);
    assert_eq!(first, second);
}

#[test]
fn lab_ordering_replays_its_run() {
    let (first, second) = run_and_replay(&[
        "lab",
        "ordering",
        "--orders",
        "120",
        "--partitions",
        "3",
        "--seed",
        "5",
    ]);
    assert_eq!(first, second);
}

#[test]
fn lab_retention_replays_its_run() {
    let (first, second) = run_and_replay(&[
        "lab",
        "retention",
        "--events",
        "3000",
        "--duplicate-rate",
        "0.3",
        "--hours",
        "1,6,48",
        "--seed",
        "5",
    ]);
    assert_eq!(first["duplicate_rate"], 0.3);
    assert_eq!(first, second);
}

#[test]
fn lab_dlq_replays_its_run() {
    let (first, second) = run_and_replay(&[
        "lab",
        "dlq",
        "--messages",
        "300",
        "--max-attempts",
        "3",
        "--backoff",
        "2s,1m",
        "--poison-rate",
        "0.05",
        "--transient-rate",
        "0.2",
        "--seed",
        "5",
    ]);
    assert_eq!(
        first["options"]["backoff_ms"],
        serde_json::json!([2000, 60000])
    );
    assert_eq!(first, second);
}

#[test]
fn lab_cdc_replays_what_it_was_asked_and_what_it_lost() {
    // The latencies (and the ratios, targets and redeliveries that follow from them) are this
    // machine's at that moment: a replay measures them again. What the options and the seed fix
    // is compared: the rates, the orders offered and committed, which crashes struck, and that
    // nothing was lost, invented or applied twice.
    let (first, second) = run_and_replay(&[
        "lab",
        "cdc",
        "--rate",
        "400",
        "--seconds",
        "0.25",
        "--interval",
        "50ms",
        "--crashes",
        "2",
        "--batch",
        "50",
        "--seed",
        "5",
    ]);
    let fixed = [
        "schema_version",
        "backend",
        "seed",
        "seconds",
        "interval_ms",
        "crashes",
        "batch",
        "lost",
        "double_applied",
        "runs[].rate",
        "runs[].orders",
        "runs[].cdc.committed",
        "runs[].cdc.applied",
        "runs[].cdc.lost",
        "runs[].cdc.phantom",
        "runs[].cdc.double_applied",
        "runs[].cdc.service_crashes",
        "runs[].cdc.relay_crashes",
        "runs[].polling.committed",
        "runs[].polling.applied",
        "runs[].polling.lost",
        "runs[].polling.phantom",
        "runs[].polling.double_applied",
        "runs[].polling.service_crashes",
        "runs[].polling.relay_crashes",
        "targets[].id",
    ];
    assert_eq!(first["interval_ms"], 50);
    assert_eq!(only(&first, &fixed), only(&second, &fixed));
}

#[test]
fn lab_cleanup_replays_the_table_it_measured() {
    // Every figure of this lab is a timing. What the options and the seed fix is compared: the
    // table's sizes, page size and delete batch, which rows were stuck unsent, the indexes and
    // the plans the poll used, the day's partition, and what the checks found.
    let (first, second) = run_and_replay(&[
        "lab",
        "cleanup",
        "--rows",
        "30k",
        "--sizes",
        "20k",
        "--batch",
        "500",
        "--page-size",
        "2048",
        "--seed",
        "5",
    ]);
    let fixed = [
        "schema_version",
        "backend",
        "seed",
        "rows",
        "sizes",
        "delete_batch",
        "poll_batch",
        "page_size",
        "unsent_rows",
        "stuck_ids",
        "by_size[].rows",
        "by_size[].partial.index",
        "by_size[].partial.plan",
        "by_size[].plain.index",
        "by_size[].plain.plan",
        "partition.rows",
        "partition.unsent_moved",
        "checks",
    ];
    assert_eq!(first["page_size"], 2048);
    assert_eq!(only(&first, &fixed), only(&second, &fixed));
}

#[test]
fn a_replay_on_postgres_names_the_server_and_reproduces_the_run() {
    let Some(url) = postgres("the crash lab's replay on PostgreSQL") else {
        return;
    };
    let (first, second) = run_and_replay(&[
        "simulate", "--crash", "--seed", "3", "--orders", "80", "--batch", "4", "--db", &url,
    ]);
    assert_eq!(first["backend"], "postgres");
    // A crashed relay's row locks go when the server notices its connection has closed, a
    // moment no seed decides, so the outbox run's claim counts may differ a little between a
    // run and its replay (the README says so). Everything the seed fixes must match: the
    // options, the schedule, the whole naive run, and what the outbox run proves.
    let fixed = [
        "schema_version",
        "backend",
        "seed",
        "orders",
        "relays",
        "mode",
        "claim",
        "naive_order",
        "batch",
        "lease_ms",
        "crash",
        "crash_rate",
        "schedule",
        "unplaced_crash_points",
        "naive",
        "outbox.committed_orders",
        "outbox.lost_events",
        "outbox.phantom_events",
        "outbox.double_applied",
        "outbox.lost_orders",
        "outbox.phantom_orders",
        "outbox.double_applied_orders",
        "verdict",
        "replay",
    ];
    assert_eq!(only(&first, &fixed), only(&second, &fixed));
}
