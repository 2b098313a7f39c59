//! `simulate --crash-mode process`: the service and relays as child processes, killed by SIGKILL
//! at their crash points, reaching the same verdicts as in-process crashes.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::harness::{Msgwork, path_str};

fn process_run(seed: u64, orders: u32) -> serde_json::Value {
    let (seed, orders) = (seed.to_string(), orders.to_string());
    let out = Msgwork::new(&[
        "simulate",
        "--crash",
        "--crash-mode",
        "process",
        "--seed",
        &seed,
        "--orders",
        &orders,
        "--json",
    ])
    .output();
    out.success();
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    out.json()
}

/// Whether `pid` is still a live `msgwork __actor` (not gone, not a zombie, not a reused pid).
fn actor_alive(pid: u64) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let (_, after) = stat.rsplit_once(')')?;
            after.split_whitespace().next().map(str::to_string)
        });
    state.is_some_and(|s| s != "Z") && String::from_utf8_lossy(&cmdline).contains("__actor")
}

/// The verdicts the in-process mode reaches, and proof that the crashes were SIGKILLs.
#[track_caller]
fn assert_real_crashes_and_verdicts(v: &serde_json::Value) {
    let seed = &v["seed"];
    assert_eq!(v["mode"], "process");
    assert!(
        v["naive"]["lost_events"].as_u64().unwrap() >= 1,
        "seed {seed}: naive lost nothing"
    );
    for key in ["lost_events", "phantom_events", "double_applied"] {
        assert_eq!(v["outbox"][key], 0, "seed {seed}: outbox {key}");
    }
    assert_eq!(v["outbox"]["overlapping_claims"], 0, "seed {seed}");
    assert_eq!(v["verdict"]["naive_broken"], true, "seed {seed}");
    assert_eq!(v["verdict"]["outbox_holds"], true, "seed {seed}: {v}");

    for side in ["naive", "outbox"] {
        let processes = &v[side]["processes"];
        // Every scheduled crash of the service and the relays was a SIGKILL of a child process.
        let mut expected: BTreeMap<String, u64> = BTreeMap::new();
        for crash in v["schedule"].as_array().unwrap() {
            let point = crash["point"].as_str().unwrap();
            let killable = point.starts_with("service") || point.starts_with("relay");
            if killable && (side == "outbox" || !point.starts_with("relay")) {
                *expected.entry(point.to_string()).or_insert(0) += 1;
            }
        }
        let killed: BTreeMap<String, u64> =
            serde_json::from_value(processes["killed_by_point"].clone()).unwrap();
        assert_eq!(killed, expected, "seed {seed}: {side} kills by point");
        for (point, n) in &killed {
            assert_eq!(
                v[side]["crashes_by_point"][point].as_u64(),
                Some(*n),
                "seed {seed}: {side} {point}"
            );
        }
        let kills = processes["killed"].as_u64().unwrap();
        assert!(kills > 0, "seed {seed}: {side} killed nothing");
        let relays = if side == "outbox" { 3 } else { 0 };
        assert_eq!(processes["spawned"].as_u64().unwrap(), 1 + relays + kills);
        // No child outlived the run.
        let pids = processes["pids"].as_array().unwrap();
        assert_eq!(pids.len() as u64, 1 + relays + kills);
        for pid in pids {
            assert!(
                !actor_alive(pid.as_u64().unwrap()),
                "child {pid} still runs"
            );
        }
    }
}

#[test]
fn real_sigkills_reach_the_same_verdicts_over_several_seeds() {
    let runs: Vec<serde_json::Value> = std::thread::scope(|s| {
        let handles: Vec<_> = [1, 2, 3]
            .map(|seed| s.spawn(move || process_run(seed, 200)))
            .into_iter()
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for v in &runs {
        assert_real_crashes_and_verdicts(v);
    }
}

#[test]
#[ignore = "a soak over many seeds: cargo test --test integration soak -- --ignored"]
fn soak_real_sigkills_over_many_seeds() {
    for seed in 1..=40 {
        assert_real_crashes_and_verdicts(&process_run(seed, 1000));
    }
}

#[test]
fn the_human_report_and_the_trace_say_the_crashes_were_sigkills() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("steps.jsonl");
    let out = Msgwork::new(&[
        "simulate",
        "--crash",
        "--crash-mode",
        "process",
        "--seed",
        "4",
        "--orders",
        "200",
        "--trace",
        &path_str(&trace),
    ])
    .output();
    out.success();
    for needle in [
        "· process",
        "The crashes were real",
        "killed with SIGKILL",
        "The dual-write gap",
        "Verdict: the outbox lost nothing",
        "Replay: msgwork simulate --crash --seed 4 --orders 200 --crash-mode process",
    ] {
        assert!(
            out.stdout.contains(needle),
            "missing '{needle}' in:\n{}",
            out.stdout
        );
    }
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let has = |actor_prefix: &str, step: &str| {
        lines.iter().any(|l| {
            l["run"] == "outbox"
                && l["step"] == step
                && l["actor"].as_str().unwrap().starts_with(actor_prefix)
        })
    };
    for (actor, step) in [
        ("service", "commit"),
        ("service", "crash"),
        ("service", "restart"),
        ("relay-", "claim"),
        ("relay-", "publish"),
        ("relay-", "crash"),
        ("relay-", "restart"),
        ("relay-", "mark-sent"),
        ("billing", "apply"),
    ] {
        assert!(has(actor, step), "no {actor} {step} line");
    }
    // Threads write their lines as they go, so only the numbering, not the file, is in order.
    let mut seqs: Vec<u64> = lines.iter().map(|l| l["seq"].as_u64().unwrap()).collect();
    seqs.sort_unstable();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1));
}

#[test]
fn crash_mode_process_refuses_what_it_cannot_do() {
    Msgwork::new(&[
        "simulate",
        "--crash",
        "--crash-mode",
        "process",
        "--threads",
    ])
    .output()
    .usage_error("--threads and --crash-mode process cannot be combined");
    Msgwork::new(&["simulate", "--crash-mode", "process"])
        .output()
        .usage_error("add --crash, --crash-at or --crash-rate");
    let out = Msgwork::new(&["simulate", "--crash", "--crash-mode", "sideways"]).output();
    out.expect_code(2);
    assert!(out.stderr.contains("in-process, process"), "{}", out.stderr);
}

#[test]
fn the_actor_subcommand_is_hidden_and_explains_itself_when_run_by_hand() {
    let help = Msgwork::new(&["--help"]).output();
    assert!(!help.success().stdout.contains("__actor"));
    Msgwork::new(&["__actor", "relay-1"])
        .output()
        .usage_error("--crash-mode process");
}

/// The pids of the live `msgwork __actor` children of `parent`, with their command lines.
#[cfg(target_os = "linux")]
fn actor_children(parent: u32) -> Vec<(u64, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, after)| after.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) && actor_alive(pid) {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            found.push((pid, String::from_utf8_lossy(&cmdline).replace('\0', " ")));
        }
    }
    found
}

#[cfg(target_os = "linux")]
#[test]
fn children_do_not_outlive_a_parent_killed_mid_run() {
    let (mut parent, _home) = Msgwork::new(&[
        "simulate",
        "--crash",
        "--crash-mode",
        "process",
        "--orders",
        "30000",
        "--seed",
        "6",
    ])
    .spawn();
    // Wait for the outbox run, where idle relays poll without a word to the parent.
    let started = Instant::now();
    let children = loop {
        let children = actor_children(parent.id());
        if children
            .iter()
            .filter(|(_, c)| c.contains("relay-"))
            .count()
            >= 3
        {
            break children;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no relay children appeared: {children:?}"
        );
        assert!(parent.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(Duration::from_millis(20));
    };
    // SIGKILL: the parent runs no cleanup at all; each child must notice on its own.
    parent.kill().unwrap();
    parent.wait().unwrap();
    let gone_by = Instant::now() + Duration::from_secs(10);
    for (pid, cmdline) in children {
        while actor_alive(pid) {
            assert!(
                Instant::now() < gone_by,
                "{cmdline} (pid {pid}) outlived its parent"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
