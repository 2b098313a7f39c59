//! `msgwork simulate --broker`: both pipelines on a real JetStream server. The outbox loses
//! nothing and applies nothing twice over many seeds; the naive run loses events; a consumer
//! killed before its ack is redelivered and deduped; with the dedupe window off the inbox absorbs
//! the relay's resends; no stream is left behind; a broken outbox fails the check; and the same
//! holds with PostgreSQL beneath the run. With `--crash-mode process` the same holds with the
//! service, the relay and the consumer as child processes killed by SIGKILL, and no child outlives
//! its run, whether it ends, is interrupted or is killed.

use serde_json::Value;

use msgwork::broker::{BrokerUrl, Session};
use msgwork::sim::brokered::{self, BROKER_MUTANTS, BrokeredOptions};
use msgwork::sim::crash::mutant::Mutant;

use crate::broker_doctor::broker;
use crate::harness::{Msgwork, postgres};

/// Runs one seed per child process, all at once: each run waits out AckWait in real time.
fn runs(url: &str, seeds: std::ops::Range<u64>, extra: &[&str]) -> Vec<Value> {
    let handles: Vec<_> = seeds
        .map(|seed| {
            let seed = seed.to_string();
            let mut args = vec![
                "simulate", "--broker", url, "--crash", "--orders", "60", "--check", "--json",
                "--seed",
            ];
            args.push(&seed);
            args.extend_from_slice(extra);
            let cmd = Msgwork::new(&args);
            std::thread::spawn(move || cmd.output())
        })
        .collect();
    handles
        .into_iter()
        .map(|h| {
            let out = h.join().unwrap();
            out.success();
            out.json()
        })
        .collect()
}

fn n(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("no {key} in {v}"))
}

fn no_stream_left(url: &str, reports: &[Value]) {
    let left = Session::connect(&BrokerUrl::parse(url).unwrap())
        .unwrap()
        .stream_names()
        .unwrap();
    for r in reports {
        assert_eq!(r["streams_deleted"], true);
        for pipeline in ["naive", "outbox"] {
            let stream = r[pipeline]["stream"].as_str().unwrap();
            assert!(
                !left.iter().any(|s| s == stream),
                "{stream} was left behind"
            );
        }
    }
}

#[test]
fn the_outbox_holds_on_a_real_broker_and_the_naive_run_loses_events() {
    let Some(url) = broker("the_outbox_holds_on_a_real_broker") else {
        return;
    };
    let reports = runs(&url, 0..10, &[]);
    for r in &reports {
        let (o, naive) = (&r["outbox"], &r["naive"]);
        assert_eq!(
            (n(o, "lost"), n(o, "phantom"), n(o, "double_applied")),
            (0, 0, 0),
            "{r}"
        );
        assert_eq!(n(o, "orders_committed"), 60);
        // The relay died after the broker stored a message: its resends fell in the window.
        assert!(
            n(o, "publisher_crashes") > 0 && n(o, "absorbed_by_broker") > 0,
            "{o}"
        );
        // The consumer died before its ack: JetStream sent the message again, the inbox kept it out.
        assert!(n(o, "consumer_crashes") > 0, "{o}");
        assert!(n(o, "redelivered") >= n(o, "consumer_crashes"), "{o}");
        assert!(n(o, "absorbed_by_inbox") >= n(o, "consumer_crashes"), "{o}");
        let late = &o["late_duplicate"];
        assert!(n(late, "after_ms") >= n(r, "duplicate_window_ms"), "{late}");
        assert_eq!(
            (&late["stored_by_broker"], &late["stopped_by_inbox"]),
            (&Value::Bool(true), &Value::Bool(true)),
            "{late}"
        );
        // The dual write: each order whose publish never happened is lost for good.
        assert!(n(naive, "lost") > 0, "{naive}");
        assert_eq!(n(naive, "lost"), n(naive, "publisher_crashes"), "{naive}");
        assert_eq!(n(naive, "double_applied"), 0, "{naive}");
    }
    no_stream_left(&url, &reports);
}

#[test]
fn with_the_dedupe_window_off_the_inbox_absorbs_the_relays_resends() {
    let Some(url) = broker("with_the_dedupe_window_off_the_inbox_absorbs") else {
        return;
    };
    let reports = runs(&url, 20..23, &["--broker-dedupe", "off"]);
    for r in &reports {
        let o = &r["outbox"];
        assert_eq!(r["dedupe"], false);
        assert_eq!(
            (n(o, "lost"), n(o, "phantom"), n(o, "double_applied")),
            (0, 0, 0),
            "{r}"
        );
        assert_eq!(
            n(o, "absorbed_by_broker"),
            0,
            "no Nats-Msg-Id, nothing to dedupe by: {o}"
        );
        // Every resend reached the consumer: the inbox absorbed more than the consumer's own crashes.
        let resends = n(o, "publishes") - n(o, "orders_committed");
        assert!(resends > 0, "{o}");
        assert!(n(o, "absorbed_by_inbox") >= resends, "{o}");
    }
    no_stream_left(&url, &reports);
}

#[test]
fn options_the_broker_run_cannot_honour_are_bad_input() {
    for extra in [
        &["--power-loss"][..],
        &["--orders", "10001"],
        // The broker run has one relay, crashing in process, on its own real-time loop.
        &["--relays", "5"],
        &["--threads"],
        &["--claim", "none"],
        &["--lease", "50"],
        &["--explain", "3"],
    ] {
        let mut args = vec!["simulate", "--broker", "nats://127.0.0.1:1"];
        args.extend_from_slice(extra);
        let out = Msgwork::new(&args).output();
        out.expect_code(2);
        if extra[0] != "--orders" {
            assert!(out.stderr.contains(extra[0]), "{}", out.stderr);
        }
    }
    Msgwork::new(&["simulate", "--broker", "nats://ann:hunter2@127.0.0.1:99999"])
        .output()
        .usage_error("nats://HOST:PORT");
    // A power loss cuts the lab's own files; the broker's storage is the server's.
    Msgwork::new(&["simulate", "--broker", "nats://127.0.0.1:1", "--power-loss"])
        .output()
        .usage_error("the server's storage");
}

/// What `--check` looks at on the broker is the outbox's own verdict: each bug the broker run can
/// carry breaks it, losing events or applying a redelivery twice, so a run with it exits 1.
#[test]
fn a_broken_outbox_on_the_broker_fails_the_check() {
    let Some(url) = broker("a_broken_outbox_on_the_broker_fails_the_check") else {
        return;
    };
    let url = BrokerUrl::parse(&url).unwrap();
    let handles: Vec<_> = BROKER_MUTANTS
        .into_iter()
        .flat_map(|mutant| [(mutant, false), (mutant, true)])
        .map(|(mutant, processes)| {
            let url = url.clone();
            std::thread::spawn(move || {
                let options = BrokeredOptions {
                    seed: 5,
                    orders: 30,
                    crash: true,
                    crash_rate: 0.01,
                    dedupe: true,
                    processes,
                    actor_program: Some(env!("CARGO_BIN_EXE_msgwork").into()),
                    keep_dir: None,
                    db: None,
                    mutant,
                };
                (mutant, processes, brokered::run(&url, &options).unwrap())
            })
        })
        .collect();
    for handle in handles {
        let (mutant, processes, report) = handle.join().unwrap();
        let o = &report.outbox;
        assert!(
            !o.holds(),
            "{mutant:?} went unnoticed (processes: {processes}): {o:?}"
        );
        assert_eq!(o.processes.is_some(), processes, "{o:?}");
        match mutant {
            // Rows marked sent before the crash that struck before their publish: never sent.
            Mutant::MarkBeforePublish => assert!(o.lost >= o.publisher_crashes, "{o:?}"),
            // Acked, then killed before the charge: the broker will not deliver it again.
            Mutant::AckBeforeCommit => assert_eq!(o.lost, o.consumer_crashes, "{o:?}"),
            // The ids it remembered died with it: the redelivery is charged again.
            Mutant::MemoryDedupe => assert!(o.double_applied > 0 && o.lost == 0, "{o:?}"),
            other => panic!("{other:?} is not a broker mutant"),
        }
    }
}

#[test]
fn the_outbox_holds_on_the_broker_with_postgresql_beneath_it() {
    let Some(url) = broker("the_outbox_holds_on_the_broker_with_postgresql") else {
        return;
    };
    let Some(db) = postgres("the_outbox_holds_on_the_broker_with_postgresql") else {
        return;
    };
    let mut reports = runs(&url, 30..32, &["--db", &db]);
    let processes = process_runs(&url, 32..33, "30", &["--db", &db]);
    for r in &processes {
        assert_process_run_holds(r);
    }
    reports.extend(processes);
    let mut client = postgres::Client::connect(&db, postgres::NoTls).unwrap();
    for r in &reports {
        assert_eq!(r["storage"], "postgres", "{r}");
        let (o, naive) = (&r["outbox"], &r["naive"]);
        assert_eq!(
            (n(o, "lost"), n(o, "phantom"), n(o, "double_applied")),
            (0, 0, 0),
            "{r}"
        );
        // Only a service killed mid-transaction (in process mode) leaves an order uncommitted.
        assert_eq!(
            n(o, "orders_committed"),
            n(r, "orders") - n(o, "service_crashes"),
            "{o}"
        );
        assert!(n(o, "absorbed_by_inbox") >= n(o, "consumer_crashes"), "{o}");
        assert!(n(naive, "lost") > 0, "{naive}");
        // The run's schemas went with its streams.
        for pipeline in ["naive", "outbox"] {
            let like = format!("{}\\_%", r[pipeline]["stream"].as_str().unwrap());
            let left: i64 = client
                .query_one(
                    "SELECT count(*) FROM pg_namespace WHERE nspname LIKE $1",
                    &[&like],
                )
                .unwrap()
                .get(0);
            assert_eq!(left, 0, "schemas {like} were left behind");
        }
    }
    no_stream_left(&url, &reports);
}

/// Runs `seeds` with the actors as child processes, each run marked by an environment variable
/// its children inherit, so that any child left behind can be found.
fn process_runs(
    url: &str,
    seeds: std::ops::Range<u64>,
    orders: &str,
    extra: &[&str],
) -> Vec<Value> {
    let handles: Vec<_> = seeds
        .map(|seed| {
            let seed = seed.to_string();
            let mut args = vec![
                "simulate",
                "--broker",
                url,
                "--crash",
                "--crash-mode",
                "process",
                "--orders",
                orders,
                "--check",
                "--json",
                "--seed",
                &seed,
            ];
            args.extend_from_slice(extra);
            let mark = format!("broker-process-{}-{seed}", std::process::id());
            let cmd = Msgwork::new(&args).env(MARK, &mark);
            std::thread::spawn(move || (cmd.output(), mark))
        })
        .collect();
    handles
        .into_iter()
        .map(|h| {
            let (out, mark) = h.join().unwrap();
            out.success();
            assert_eq!(
                marked(&mark),
                Vec::<u32>::new(),
                "children outlived the run"
            );
            out.json()
        })
        .collect()
}

/// The environment variable that marks one run's processes.
const MARK: &str = "MSGWORK_TEST_RUN_MARK";

/// The live processes whose environment carries `mark`.
fn marked(mark: &str) -> Vec<u32> {
    let needle = format!("{MARK}={mark}\0");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit_once(") ").map(|(_, a)| a.starts_with('Z')))
            .unwrap_or(true);
        if !zombie && String::from_utf8_lossy(&environ).contains(&needle) {
            found.push(pid);
        }
    }
    found
}

/// The process mode's figures agree with each other and with the lessons of the in-process run.
fn assert_process_run_holds(r: &Value) {
    assert_eq!(r["crash_mode"], "process", "{r}");
    let (o, naive) = (&r["outbox"], &r["naive"]);
    let orders = n(r, "orders");
    assert_eq!(
        (n(o, "lost"), n(o, "phantom"), n(o, "double_applied")),
        (0, 0, 0),
        "{r}"
    );
    for p in [o, naive] {
        let processes = &p["processes"];
        // Every crash was a SIGKILL, and every killed actor was started again.
        let crashes =
            n(p, "service_crashes") + n(p, "publisher_crashes") + n(p, "consumer_crashes");
        assert!(crashes > 0, "{p}");
        assert_eq!(n(processes, "killed"), crashes, "{p}");
        assert!(n(processes, "started") > crashes, "{p}");
        // A service killed mid-transaction left nothing of its order; the client moved on.
        assert!(n(p, "service_crashes") > 0, "{p}");
        assert_eq!(
            n(p, "orders_committed"),
            orders - n(p, "service_crashes"),
            "{p}"
        );
    }
    assert!(
        n(o, "publisher_crashes") > 0 && n(o, "absorbed_by_broker") > 0,
        "{o}"
    );
    assert!(n(o, "consumer_crashes") > 0, "{o}");
    assert!(n(o, "redelivered") >= n(o, "consumer_crashes"), "{o}");
    assert!(n(o, "absorbed_by_inbox") >= n(o, "consumer_crashes"), "{o}");
    assert_eq!(o["late_duplicate"]["stopped_by_inbox"], true, "{o}");
    assert_eq!(n(naive, "lost"), n(naive, "publisher_crashes"), "{naive}");
    assert!(n(naive, "lost") > 0, "{naive}");
    assert_eq!(n(naive, "double_applied"), 0, "{naive}");
}

#[cfg(target_os = "linux")]
#[test]
fn with_the_actors_as_processes_killed_by_sigkill_the_outbox_still_holds() {
    let Some(url) = broker("with_the_actors_as_processes_killed_by_sigkill") else {
        return;
    };
    // Ten seeds, as in every other mode; small runs keep it quick.
    process_mode_holds(&url, 40..50, "20");
}

/// The ten-seed soak of the process mode; run by hand with `--ignored`.
#[cfg(target_os = "linux")]
#[test]
#[ignore]
fn soak_the_process_mode_holds_over_ten_seeds() {
    let Some(url) = broker("soak_the_process_mode_holds_over_ten_seeds") else {
        return;
    };
    process_mode_holds(&url, 100..110, "200");
}

/// Process-mode runs of `orders` orders at each of `seeds`: every one holds, and leaves no
/// stream behind.
#[cfg(target_os = "linux")]
fn process_mode_holds(url: &str, seeds: std::ops::Range<u64>, orders: &str) {
    let reports = process_runs(url, seeds, orders, &[]);
    for r in &reports {
        assert_process_run_holds(r);
    }
    no_stream_left(url, &reports);
}

/// Starts a long process-mode run, waits for its children, and hands over the run and its mark.
#[cfg(target_os = "linux")]
fn long_process_run(url: &str, seed: &str) -> (std::process::Child, tempfile::TempDir, String) {
    use std::time::{Duration, Instant};
    let mark = format!("broker-long-{}-{seed}", std::process::id());
    let (parent, home) = Msgwork::new(&[
        "simulate",
        "--broker",
        url,
        "--crash",
        "--crash-mode",
        "process",
        "--orders",
        "10000",
        // One crash per point, early: the children then live long enough to be seen.
        "--crash-rate",
        "0",
        "--seed",
        seed,
    ])
    .env(MARK, &mark)
    .spawn();
    let started = Instant::now();
    // The run itself carries the mark too: wait for the naive pipeline's service and consumer.
    while marked(&mark).iter().filter(|p| **p != parent.id()).count() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the run's children never appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (parent, home, mark)
}

/// Waits for every process carrying `mark` to be gone.
#[cfg(target_os = "linux")]
fn all_gone(mark: &str) {
    use std::time::{Duration, Instant};
    let gone_by = Instant::now() + Duration::from_secs(15);
    while !marked(mark).is_empty() {
        assert!(
            Instant::now() < gone_by,
            "processes {:?} outlived their run",
            marked(mark)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The streams a run of the process `pid` made and left.
fn streams_of(url: &str, pid: u32) -> Vec<String> {
    let prefix = format!("msgwork_sim{pid}x");
    Session::connect(&BrokerUrl::parse(url).unwrap())
        .unwrap()
        .stream_names()
        .unwrap()
        .into_iter()
        .filter(|s| s.starts_with(&prefix))
        .collect()
}

#[cfg(target_os = "linux")]
#[test]
fn an_interrupted_process_run_deletes_its_streams_and_leaves_no_child() {
    let Some(url) = broker("an_interrupted_process_run_deletes_its_streams") else {
        return;
    };
    let (mut parent, _home, mark) = long_process_run(&url, "7");
    let pid = parent.id();
    assert!(!streams_of(&url, pid).is_empty());
    // Ctrl-C to msgwork alone, not its children: they must notice by themselves.
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = parent.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{status}");
    all_gone(&mark);
    assert_eq!(streams_of(&url, pid), Vec::<String>::new());
}

#[cfg(target_os = "linux")]
#[test]
fn children_do_not_outlive_a_broker_run_killed_by_sigkill() {
    let Some(url) = broker("children_do_not_outlive_a_broker_run_killed") else {
        return;
    };
    let (mut parent, _home, mark) = long_process_run(&url, "8");
    let pid = parent.id();
    // SIGKILL: msgwork runs no cleanup at all; each child must notice on its own.
    parent.kill().unwrap();
    parent.wait().unwrap();
    all_gone(&mark);
    // Nothing could delete the streams of a run killed outright: the test does.
    let session = Session::connect(&BrokerUrl::parse(&url).unwrap()).unwrap();
    for stream in streams_of(&url, pid) {
        session.delete_stream(&stream).unwrap();
    }
}

/// A child that dies on its own, rather than by the run's SIGKILL, stops the run with an error
/// naming the actor and quoting what it said.
#[test]
fn a_child_that_fails_by_itself_stops_the_run_naming_it() {
    let Some(url) = broker("a_child_that_fails_by_itself_stops_the_run") else {
        return;
    };
    let options = BrokeredOptions {
        seed: 1,
        orders: 5,
        crash: true,
        crash_rate: 0.0,
        dedupe: true,
        processes: true,
        // `sh __broker-actor NAME` looks for a script of that name, finds none, and exits.
        actor_program: Some("sh".into()),
        keep_dir: None,
        db: None,
        mutant: Mutant::None,
    };
    let err = brokered::run(&BrokerUrl::parse(&url).unwrap(), &options)
        .expect_err("the run fails")
        .to_string();
    assert!(err.contains("exited by itself"), "{err}");
    assert!(err.contains("__broker-actor"), "{err}");
}

#[test]
fn the_broker_actor_subcommand_is_hidden_and_explains_itself_when_run_by_hand() {
    let help = Msgwork::new(&["--help"]).output();
    assert!(!help.success().stdout.contains("__broker-actor"));
    Msgwork::new(&["__broker-actor", "relay"])
        .output()
        .usage_error("--crash-mode process");
}
