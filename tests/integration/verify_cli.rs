//! `msgwork verify` against small programs written here: what it says when a program cannot be
//! run or breaks the protocol, that a schedule replays, and that no process outlives msgwork.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::harness::Msgwork;

/// A program that does everything the protocol asks and nothing the lab asks: the service commits
/// and then publishes for itself, the consumer charges every delivery. `PIDS`, when set, is a file
/// each process appends its pid to.
const NAIVE: &str = r#"
import json, os, sqlite3, sys
def send(m): print(json.dumps(m), flush=True)
def recv():
    line = sys.stdin.readline()
    if not line: sys.exit(0)
    return json.loads(line)
if os.environ.get("PIDS"):
    with open(os.environ["PIDS"], "a") as f: f.write("%d\n" % os.getpid())
init = recv()
role = init["role"]
db = sqlite3.connect(init["consumer_db" if role == "consumer" else "service_db"], timeout=10, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE IF NOT EXISTS charges (order_id INTEGER, amount_cents INTEGER)" if role == "consumer"
           else "CREATE TABLE IF NOT EXISTS orders (order_id INTEGER PRIMARY KEY, amount_cents INTEGER)")
send({"type": "init_ok", "in_reply_to": init["msg_id"]})
n = 0
while True:
    m = recv()
    if m["type"] == "place_order":
        o = m["order"]
        db.execute("INSERT OR REPLACE INTO orders VALUES (?, ?)", (o["order_id"], o["amount_cents"]))
        n += 1
        send({"type": "publish", "msg_id": n, "event": {"event_id": "order-%d" % o["order_id"],
              "order_id": o["order_id"], "amount_cents": o["amount_cents"]}})
        recv()
        send({"type": "order_placed", "in_reply_to": m["msg_id"]})
    elif m["type"] == "tick":
        send({"type": "tick_ok", "in_reply_to": m["msg_id"]})
    elif m["type"] == "deliver":
        e = m["event"]
        db.execute("INSERT INTO charges VALUES (?, ?)", (e["order_id"], e["amount_cents"]))
        send({"type": "ack", "in_reply_to": m["msg_id"]})
"#;

fn python() -> Option<PathBuf> {
    let found = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipped: python3 is not on PATH");
        return None;
    }
    Some(PathBuf::from("python3"))
}

fn program(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write program");
    path.to_string_lossy().into_owned()
}

fn verify(args: &[&str], program: &str) -> Msgwork {
    let mut all = vec!["verify"];
    all.extend_from_slice(args);
    all.extend(["--", "python3", program]);
    Msgwork::new(&all)
}

#[test]
fn a_program_that_cannot_start_is_bad_input() {
    let out = Msgwork::new(&["verify", "--", "/no/such/program-here"]).output();
    out.expect_code(2);
    assert!(
        out.stderr
            .contains("could not start `/no/such/program-here`"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"));
    let out = Msgwork::new(&["verify"]).output();
    out.expect_code(2);
}

#[test]
fn protocol_breaches_name_the_process_and_the_line() {
    let Some(_) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "garbage.py",
            "import sys\nsys.stdin.readline()\nprint('hello', flush=True)\nsys.stdin.readline()\n",
            vec!["line 1 of its output", "not JSON", "`hello`"],
        ),
        (
            "wrong_reply.py",
            "import sys, json\nm = json.loads(sys.stdin.readline())\nprint(json.dumps({'type': 'tick_ok', 'in_reply_to': m['msg_id']}), flush=True)\nsys.stdin.readline()\n",
            vec![
                "line 1 of its output",
                "`init` 1 is answered with `init_ok`",
            ],
        ),
        (
            "exits.py",
            "import sys\nsys.stderr.write('Traceback: boom\\n')\nsys.exit(3)\n",
            vec!["on its own", "Traceback: boom"],
        ),
    ];
    for (name, text, says) in cases {
        let path = program(dir.path(), name, text);
        let out = verify(&["--orders", "3"], &path).output();
        out.expect_code(2);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        for s in says {
            assert!(
                out.stderr.contains(s),
                "{name}: '{s}' not in:\n{}",
                out.stderr
            );
        }
        assert!(
            ["service", "relay-", "consumer"]
                .iter()
                .any(|r| out.stderr.contains(r)),
            "{name}: no role named:\n{}",
            out.stderr
        );
    }
}

#[test]
fn a_silent_program_times_out_and_missing_tables_are_named() {
    let Some(_) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let silent = program(
        dir.path(),
        "silent.py",
        "import sys\nsys.stdin.readline()\nsys.stdin.readline()\n",
    );
    let out = verify(&["--orders", "2", "--timeout", "1"], &silent).output();
    out.expect_code(2);
    assert!(
        out.stderr.contains("did not answer `init` 1 within 1 s"),
        "{}",
        out.stderr
    );
    let no_tables = NAIVE
        .replace(
            "CREATE TABLE IF NOT EXISTS orders",
            "CREATE TABLE IF NOT EXISTS orderz",
        )
        .replace("INTO orders", "INTO orderz");
    let path = program(dir.path(), "no_tables.py", &no_tables);
    let out = verify(&["--orders", "3"], &path).output();
    out.expect_code(2);
    assert!(
        out.stderr.contains("has no table `orders`"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_naive_program_loses_events_and_says_how_to_replay() {
    let Some(_) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let naive = program(dir.path(), "naive.py", NAIVE);
    let out = verify(&["--orders", "40", "--json", "--no-shrink"], &naive).output();
    out.expect_code(1);
    let json = out.json();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["verdict"], "broken");
    let run = &json["runs"][0];
    assert!(
        run["counts"]["lost"]
            .as_array()
            .is_some_and(|l| !l.is_empty()),
        "{run}"
    );
    assert_eq!(run["steps"][0]["done"], false);
    assert!(run["first_broken"]["explanation"].as_str().is_some());
    let replay = json["replay"].as_str().unwrap();
    assert!(
        replay.starts_with("msgwork verify --seed 1 --orders 40 -- python3 "),
        "{replay}"
    );

    // A schedule of one kill replays exactly that loss: the service dies after its third
    // publish left, before the broker answered, so order 3 is committed and never sent.
    let out = verify(
        &["--orders", "5", "--schedule", "service:publish:3", "--json"],
        &naive,
    )
    .output();
    out.expect_code(1);
    let run = &out.json()["runs"][0];
    assert_eq!(run["counts"]["lost"], serde_json::json!([3]), "{run}");
    assert_eq!(run["fired"], serde_json::json!(["service:publish:3"]));
    assert_eq!(run["first_broken"]["problem"], "lost");

    let out = verify(&["--schedule", "broker:lose:1"], &naive).output();
    out.expect_code(2);
    assert!(
        out.stderr.contains("not service, consumer or relay-N"),
        "{}",
        out.stderr
    );
}

#[test]
fn keep_db_says_where_each_seeds_databases_went_and_gives_a_query_that_runs() {
    let Some(_) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let naive = program(dir.path(), "naive.py", NAIVE);
    let kept = dir.path().join("kept");
    let kept_arg = kept.to_string_lossy().into_owned();
    let out = verify(
        &[
            "--orders",
            "10",
            "--seeds",
            "2",
            "--no-shrink",
            "--keep-db",
            &kept_arg,
        ],
        &naive,
    )
    .output();
    out.expect_code(1);
    assert!(out.stdout.contains("Databases kept in"), "{}", out.stdout);
    assert!(out.stdout.contains("consumer.db"), "{}", out.stdout);
    assert!(out.stdout.contains("seed-N"), "{}", out.stdout);
    let line = out
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("sqlite3 "))
        .expect("a query to try");
    let sql = line.split('"').nth(1).expect("the query in double quotes");
    let seed_dir = std::fs::read_dir(&kept)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| line.contains(&*p.to_string_lossy()))
        .expect("the query names a kept seed's directory");
    let conn = rusqlite::Connection::open(seed_dir.join("consumer.db")).unwrap();
    conn.prepare(sql).expect("the suggested query runs");
}

#[cfg(unix)]
#[test]
fn no_process_outlives_msgwork_even_when_it_is_killed() {
    let Some(_) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let naive = program(dir.path(), "naive.py", NAIVE);
    let pids = dir.path().join("pids");
    let pids_arg = pids.to_string_lossy().into_owned();
    let (mut child, _home) = verify(&["--orders", "10000"], &naive)
        .env("PIDS", &pids_arg)
        .spawn();
    let until = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(&pids).map_or(0, |t| t.lines().count()) < 5 {
        assert!(Instant::now() < until, "the processes never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    let started: Vec<String> = std::fs::read_to_string(&pids)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let alive: Vec<&String> = started
            .iter()
            .filter(|pid| Path::new(&format!("/proc/{pid}")).exists() && !zombie(pid))
            .collect();
        if alive.is_empty() {
            break;
        }
        assert!(
            Instant::now() < until,
            "still running after msgwork died: {alive:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A process that has exited but whose parent has not reaped it yet.
fn zombie(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'))
    })
}

#[test]
fn a_failure_shrinks_to_a_replay_that_still_fails_and_is_drawn() {
    let Some(_) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let naive = program(dir.path(), "naive.py", NAIVE);
    let svg = dir.path().join("life.svg");
    let svg_arg = svg.to_string_lossy().into_owned();
    let out = verify(&["--orders", "60", "--json", "--plot", &svg_arg], &naive).output();
    out.expect_code(1);
    let json = out.json();
    let shrunk = &json["shrunk"];
    let strikes = shrunk["schedule"].as_array().expect("a shrunk schedule");
    assert!(strikes.len() <= 2, "{shrunk}");
    assert!(shrunk["orders"].as_u64().unwrap() <= 60);
    assert_eq!(shrunk["outcome"]["verdict"], "broken");
    let replay = shrunk["replay"].as_str().unwrap();
    assert!(replay.contains("--schedule "), "{replay}");
    let drawn = std::fs::read_to_string(&svg).expect("the diagram is written");
    assert!(drawn.contains("<svg") && drawn.contains("client") && drawn.contains("broker"));

    // The replay it printed fails again, the same way.
    let words: Vec<&str> = replay.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "--").unwrap();
    let mut args: Vec<&str> = words[2..at].to_vec();
    args.extend(["--json", "--no-shrink"]);
    let again = verify(&args, &naive).output();
    again.expect_code(1);
    let problem = &shrunk["outcome"]["first_broken"]["problem"];
    assert_eq!(&again.json()["runs"][0]["first_broken"]["problem"], problem);

    // A second run will not write over the diagram without --force.
    let out = verify(&["--orders", "5", "--plot", &svg_arg], &naive).output();
    out.expect_code(2);
    assert!(out.stderr.contains("already exists"), "{}", out.stderr);
}

#[test]
fn watch_runs_again_when_the_program_changes() {
    use std::io::{BufRead, BufReader};
    let Some(_) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let naive = program(dir.path(), "naive.py", NAIVE);
    let home = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_msgwork"))
        .args([
            "verify",
            "--watch",
            "--orders",
            "3",
            "--no-shrink",
            "--",
            "python3",
            &naive,
        ])
        .env("MSGWORK_HOME", home.path())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("msgwork verify") && tx.send(line).is_err() {
                return;
            }
        }
    });
    let first = rx.recv_timeout(Duration::from_secs(30));
    assert!(first.is_ok(), "no first run");
    std::thread::sleep(Duration::from_millis(400));
    assert!(rx.try_recv().is_err(), "ran again with nothing changed");
    std::fs::write(&naive, format!("{NAIVE}\n# changed\n")).unwrap();
    let second = rx.recv_timeout(Duration::from_secs(30));
    let _ = child.kill();
    let _ = child.wait();
    assert!(second.is_ok(), "no second run after the change");
    let out = verify(&["--watch", "--json"], &naive).output();
    out.expect_code(2);
    assert!(out.stderr.contains("--watch"), "{}", out.stderr);
}

/// A service that writes the charge itself, into the consumer's database next door, in the same
/// transaction as the order: nothing is ever lost or doubled, and nothing was consumed.
const CHEAT: &str = r#"
import json, os, sqlite3, sys
def send(m): print(json.dumps(m), flush=True)
def recv():
    line = sys.stdin.readline()
    if not line: sys.exit(0)
    return json.loads(line)
init = recv()
role = init["role"]
if role == "consumer":
    db = sqlite3.connect(init["consumer_db"], timeout=10, isolation_level=None)
    db.execute("CREATE TABLE IF NOT EXISTS charges (order_id INTEGER, amount_cents INTEGER)")
else:
    path = init["service_db"]
    db = sqlite3.connect(path, timeout=10, isolation_level=None)
    db.execute("ATTACH ? AS c", (os.path.join(os.path.dirname(path), "consumer.db"),))
    db.execute("CREATE TABLE IF NOT EXISTS orders (order_id INTEGER PRIMARY KEY, amount_cents INTEGER)")
    db.execute("CREATE TABLE IF NOT EXISTS c.charges (order_id INTEGER, amount_cents INTEGER)")
send({"type": "init_ok", "in_reply_to": init["msg_id"]})
while True:
    m = recv()
    if m["type"] == "place_order":
        o = m["order"]
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT OR REPLACE INTO orders VALUES (?, ?)", (o["order_id"], o["amount_cents"]))
        db.execute("DELETE FROM c.charges WHERE order_id = ?", (o["order_id"],))
        db.execute("INSERT INTO c.charges VALUES (?, ?)", (o["order_id"], o["amount_cents"]))
        db.execute("COMMIT")
        send({"type": "order_placed", "in_reply_to": m["msg_id"]})
    else:
        send({"type": "tick_ok" if m["type"] == "tick" else "ack", "in_reply_to": m["msg_id"]})
"#;

#[test]
fn charges_that_no_delivery_made_do_not_count() {
    let Some(_) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cheat = program(dir.path(), "cheat.py", CHEAT);
    let out = verify(&["--orders", "20", "--json", "--no-shrink"], &cheat).output();
    out.expect_code(1);
    let run = &out.json()["runs"][0];
    assert_eq!(run["counts"]["lost"], serde_json::json!([]), "{run}");
    assert_eq!(
        run["counts"]["undelivered"].as_array().map(Vec::len),
        Some(20),
        "{run}"
    );
    assert_eq!(run["first_broken"]["problem"], "charged without delivery");
}

#[test]
fn an_order_refused_with_an_error_is_not_a_pass() {
    let Some(_) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let refuses = NAIVE.replace(
        r#"        o = m["order"]
        db.execute"#,
        r#"        o = m["order"]
        send({"type": "error", "in_reply_to": m["msg_id"], "text": "not today"})
        continue
        db.execute"#,
    );
    assert_ne!(refuses, NAIVE);
    let path = program(dir.path(), "refuses.py", &refuses);
    let out = verify(&["--orders", "6", "--json", "--no-shrink"], &path).output();
    out.expect_code(1);
    let run = &out.json()["runs"][0];
    assert_eq!(run["counts"]["committed"], 0, "{run}");
    assert!(
        run["counts"]["refused"]
            .as_array()
            .is_some_and(|r| r.len() >= 5),
        "{run}"
    );
    assert!(
        run["first_broken"]["explanation"]
            .as_str()
            .unwrap()
            .contains("not today")
    );
}

#[test]
fn a_consumer_that_refuses_every_delivery_stops_the_run_soon() {
    let Some(_) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let refuses = NAIVE.replace(
        r#"        e = m["event"]
        db.execute"#,
        r#"        e = m["event"]
        send({"type": "error", "in_reply_to": m["msg_id"], "text": "cannot parse"})
        continue
        db.execute"#,
    );
    assert_ne!(refuses, NAIVE);
    let path = program(dir.path(), "poison.py", &refuses);
    let started = Instant::now();
    let out = verify(&["--orders", "5", "--json", "--no-shrink"], &path).output();
    out.expect_code(1);
    let json = out.json();
    assert_ne!(json["verdict"], "held", "{json}");
    let run = &json["runs"][0];
    let why = run["unsettled"].as_str().unwrap_or_default();
    assert!(
        why.contains("in a row") || !run["counts"]["lost"].as_array().unwrap().is_empty(),
        "{run}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn a_run_longer_than_a_second_says_where_it_is_on_a_pipe() {
    let Some(_) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let slow = NAIVE.replace(
        "init = recv()",
        "import time\ntime.sleep(1.2)\ninit = recv()",
    );
    assert_ne!(slow, NAIVE);
    let path = program(dir.path(), "slow.py", &slow);
    let out = verify(&["--orders", "2", "--no-shrink", "--schedule", ""], &path).output();
    assert!(
        out.stderr.contains("msgwork: seed 1 done"),
        "{}",
        out.stderr
    );
    // With --json nothing but the JSON is written.
    let out = verify(
        &["--orders", "2", "--no-shrink", "--schedule", "", "--json"],
        &path,
    )
    .output();
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}
