//! `msgwork verify --broker`: the learner's unchanged program on a real JetStream stream. The
//! Python solution holds over several seeds, a consumer killed before its ack gets the message
//! again after AckWait, the starter and a solution without its inbox fail naming the order, a
//! bad broker is bad input with no password shown, and no stream outlives its run unless kept.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use msgwork::broker::{BrokerUrl, Session};

use crate::broker_doctor::broker;
use crate::harness::{Msgwork, path_str};

/// Whether python3 runs here; says why the test is skipped when not.
fn python(test: &str) -> bool {
    let found = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipped {test}: python3 is not installed");
    }
    found
}

/// The broker and python3 both, or `None` after saying which is missing.
fn ready(test: &str) -> Option<String> {
    let url = broker(test)?;
    python(test).then_some(url)
}

/// Writes the Python kit (or its solution) into `dir` and returns its program, after replacing
/// `edit.0`, which must occur once, with `edit.1`.
fn kit(dir: &Path, solution: bool, edit: Option<(&str, &str)>) -> String {
    let mut args = vec!["starter", "python", dir.to_str().unwrap()];
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

/// The solution with its inbox taken out: every delivery is charged.
const NO_INBOX: (&str, &str) = (
    "if first_delivery(db, event[\"event_id\"], now):",
    "if True:",
);

fn verify(url: &str, args: &[&str], program: &str) -> Msgwork {
    let mut all = vec!["verify", "--broker", url];
    all.extend_from_slice(args);
    all.extend(["--", "python3", program]);
    Msgwork::new(&all)
}

fn runs(v: &Value) -> &Vec<Value> {
    v["runs"].as_array().unwrap()
}

fn total(v: &Value, key: &str) -> u64 {
    runs(v)
        .iter()
        .map(|r| r["on_stream"][key].as_u64().unwrap())
        .sum()
}

fn streams_on(url: &str) -> Vec<String> {
    Session::connect(&BrokerUrl::parse(url).unwrap())
        .unwrap()
        .stream_names()
        .unwrap()
}

/// Asserts that none of the runs' streams is on the server any more.
fn no_stream_left(url: &str, v: &Value) {
    let left = streams_on(url);
    for run in runs(v) {
        let stream = run["on_stream"]["stream"].as_str().unwrap();
        assert!(
            !left.iter().any(|s| s == stream),
            "{stream} was left behind"
        );
    }
}

#[test]
fn the_python_solution_holds_on_a_real_broker_over_several_seeds() {
    let Some(url) = ready("the_python_solution_holds_on_a_real_broker") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let program = kit(&tmp.path().join("kit"), true, None);
    let out = verify(
        &url,
        &["--orders", "20", "--seeds", "4", "--json"],
        &program,
    )
    .output();
    let v = out.success().json();
    assert_eq!(
        (v["seeds_run"].as_u64(), v["seeds_held"].as_u64()),
        (Some(4), Some(4)),
        "{v}"
    );
    assert_eq!(v["broker"], url.as_str());
    // The server itself redelivered what a killed consumer never acked, and the inbox kept each
    // redelivery from being charged again.
    assert!(total(&v, "redelivered") > 0, "{v}");
    let absorbed: u64 = runs(&v)
        .iter()
        .map(|r| r["counts"]["duplicates_absorbed"].as_u64().unwrap())
        .sum();
    assert!(absorbed > 0, "{v}");
    no_stream_left(&url, &v);
}

#[test]
fn a_consumer_killed_before_its_ack_gets_the_message_again_after_ack_wait() {
    let Some(url) = ready("a_consumer_killed_before_its_ack_gets_the_message_again") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let args = [
        "--orders",
        "3",
        "--schedule",
        "consumer:ack:2",
        "--no-shrink",
        "--json",
    ];
    let solution = kit(&tmp.path().join("solution"), true, None);
    let v = verify(&url, &args, &solution).output().success().json();
    let run = &runs(&v)[0];
    assert_eq!(run["fired"], serde_json::json!(["consumer:ack:2"]), "{run}");
    assert!(run["on_stream"]["redelivered"].as_u64() >= Some(1), "{run}");
    assert_eq!(run["counts"]["duplicates_absorbed"], 1, "{run}");

    // Without its inbox the consumer charges the redelivery too, and the report names the order.
    let broken = kit(&tmp.path().join("broken"), true, Some(NO_INBOX));
    let out = verify(&url, &args, &broken).output();
    out.expect_code(1);
    let v = out.json();
    let run = &runs(&v)[0];
    let double = run["counts"]["double_applied"].as_array().unwrap();
    assert_eq!(double.len(), 1, "{run}");
    assert_eq!(run["first_broken"]["order"], double[0], "{run}");
    assert_eq!(run["first_broken"]["problem"], "double-applied", "{run}");
    no_stream_left(&url, &v);
}

#[test]
fn the_starter_loses_events_on_a_real_broker_and_the_report_names_the_order() {
    let Some(url) = ready("the_starter_loses_events_on_a_real_broker") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let program = kit(&tmp.path().join("kit"), false, None);
    let out = verify(
        &url,
        &["--orders", "20", "--seeds", "2", "--no-shrink"],
        &program,
    )
    .output();
    out.expect_code(1);
    assert!(
        out.stdout.contains("held on 0 of 2 seeds"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("The first order that went wrong: order"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("(lost)"), "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!("--broker {url}")),
        "{}",
        out.stdout
    );
}

#[test]
fn a_bad_or_unreachable_broker_is_bad_input_and_never_shows_the_password() {
    let program = "/no/such/shop.py";
    let out =
        Msgwork::new(&["verify", "--broker", "http://127.0.0.1:4222", "--", program]).output();
    out.usage_error("nats://HOST:PORT");
    let out = Msgwork::new(&[
        "verify",
        "--broker",
        "nats://ann:hunter2@127.0.0.1:1",
        "--",
        program,
    ])
    .output();
    out.usage_error("cannot connect to the broker at nats://ann:***@127.0.0.1:1");
    assert!(out.stderr.contains("nats-server"), "{}", out.stderr);
    assert!(!out.stderr.contains("hunter2") && !out.stdout.contains("hunter2"));
    // The variable works as the flag does.
    Msgwork::new(&["verify", "--", program])
        .env("MSGWORK_BROKER", "nats://ann:hunter2@127.0.0.1:1")
        .output()
        .usage_error("nats://ann:***@127.0.0.1:1");
}

#[test]
fn kept_runs_keep_their_stream_and_ctrl_c_deletes_it() {
    let Some(url) = ready("kept_runs_keep_their_stream_and_ctrl_c_deletes_it") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let program = kit(&tmp.path().join("kit"), true, None);
    let keep = tmp.path().join("runs");
    let keep_arg = path_str(&keep);
    let args = ["--orders", "3", "--keep-db", &keep_arg, "--json"];
    let v = verify(&url, &args, &program).output().success().json();
    let stream = runs(&v)[0]["on_stream"]["stream"]
        .as_str()
        .unwrap()
        .to_string();
    let session = Session::connect(&BrokerUrl::parse(&url).unwrap()).unwrap();
    assert!(
        session.stream_names().unwrap().contains(&stream),
        "{stream} was not kept"
    );
    assert!(session.delete_stream(&stream).unwrap());

    let (child, mine, _home) = long_run(&url, &program);
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(String::from_utf8_lossy(&out.stderr).contains("deleted 1 of the 1 streams"));
    assert_eq!(mine(), 0, "the stream is deleted");
}

/// Starts a long verify run on the broker, and returns once its stream exists: the process, a
/// count of its streams on the server, and its data directory.
fn long_run(
    url: &str,
    program: &str,
) -> (
    std::process::Child,
    Box<dyn Fn() -> usize>,
    tempfile::TempDir,
) {
    let home = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_msgwork"))
        .env("MSGWORK_HOME", home.path())
        .args(["verify", "--broker", url, "--orders", "5000", "--no-shrink"])
        .args(["--", "python3", program])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let prefix = format!("msgwork_verify{}x", child.id());
    let url = url.to_string();
    let mine = Box::new(move || {
        streams_on(&url)
            .into_iter()
            .filter(|s| s.starts_with(&prefix))
            .count()
    });
    let started = Instant::now();
    while mine() == 0 {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("the run never made its stream");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, mine, home)
}

#[test]
fn a_broker_that_fails_during_the_run_stops_it_with_what_to_check() {
    let Some(url) = ready("a_broker_that_fails_during_the_run_stops_it") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let program = kit(&tmp.path().join("kit"), true, None);
    let (child, _, _home) = long_run(&url, &program);
    // The server loses the stream under the run, as when it is wiped or restarted without it.
    let prefix = format!("msgwork_verify{}x", child.id());
    let session = Session::connect(&BrokerUrl::parse(&url).unwrap()).unwrap();
    for stream in session.stream_names().unwrap() {
        if stream.starts_with(&prefix) {
            session.delete_stream(&stream).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("the broker at {url} failed while")),
        "{stderr}"
    );
    assert!(stderr.contains("msgwork doctor --broker"), "{stderr}");
}
