//! The labs keep their own guarantees whatever the options: every number has a documented range
//! checked before the run, and an interrupted run leaves no lab directory behind.

use crate::harness::Msgwork;

#[test]
fn every_number_out_of_range_is_refused_before_the_run() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["simulate", "--orders", "0"],
            "--orders must be between 1 and 1000000 (got 0)",
        ),
        (&["simulate", "--orders", "5000000"], "(got 5000000)"),
        (
            &["simulate", "--relays", "64"],
            "--relays must be between 1 and 32 (got 64)",
        ),
        (
            &["simulate", "--batch", "0"],
            "--batch must be between 1 and 10000 (got 0)",
        ),
        (
            &["simulate", "--lease", "9223372036854775807"],
            "--lease must be between 1 and 60000 ms (got 9223372036854775807)",
        ),
        (&["simulate", "--lease", "86400000"], "(got 86400000)"),
        (
            &["simulate", "--lease", "86400000", "--threads"],
            "between 1 and 10000 ms with --threads",
        ),
        (
            &[
                "simulate",
                "--crash",
                "--lease",
                "20000",
                "--crash-mode",
                "process",
            ],
            "between 1 and 10000 ms with --threads or --crash-mode process",
        ),
        (
            &["simulate", "--crash-rate", "NaN"],
            "--crash-rate must be between 0 and 1 (got NaN)",
        ),
        (&["simulate", "--crash-rate", "1.5"], "(got 1.5)"),
        (
            &["simulate", "--crash-at", "service-after-commit:1001"],
            "past --orders 1000",
        ),
        (
            &["lab", "dlq", "--poison-rate", "NaN"],
            "--poison-rate must be between 0 and 1 (got NaN)",
        ),
        (
            &["lab", "dlq", "--backoff", "18446744073709551615ms"],
            "at most 24h",
        ),
        (
            &["lab", "dlq", "--max-attempts", "21"],
            "--max-attempts must be between 1 and 20",
        ),
        (
            &["lab", "retention", "--duplicate-rate", "NaN"],
            "(got NaN)",
        ),
        (&["lab", "retention", "--hours", "0"], "--hours"),
        (
            &["lab", "cdc", "--seconds", "NaN"],
            "--seconds must be between 0.05 and 600 (got NaN)",
        ),
        (
            &["lab", "cdc", "--interval", "2m"],
            "--interval must be between 1 and 60000",
        ),
        (
            &["lab", "fanout", "--instances", "65"],
            "--instances must be between 1 and 64",
        ),
        (
            &["lab", "fanout", "--orders", "1000000"],
            "--orders must be between 1 and 100000",
        ),
        (
            &["lab", "ordering", "--partitions", "257"],
            "--partitions must be between 1 and 256",
        ),
        (
            &["lab", "cleanup", "--batch", "99"],
            "--batch must be between 100 and 100000",
        ),
    ];
    for (args, wanted) in cases {
        let out = Msgwork::new(args).output();
        out.expect_code(2);
        let line = out.stderr.trim_end();
        assert!(
            wanted.split('|').any(|w| line.contains(w)),
            "{args:?}: wanted '{wanted}' in: {line}"
        );
        assert_eq!(line.lines().count(), 1, "{args:?}: {line}");
        assert!(!line.contains("panicked"), "{line}");
    }
}

#[test]
fn every_numeric_option_documents_its_range() {
    let help = |args: &[&str]| Msgwork::new(args).output().success().stdout.clone();
    let simulate = help(&["simulate", "--help"]);
    for range in [
        "1 to 1000000",
        "1 to 32",
        "0 to 1",
        "1 to --orders",
        "1 to 10000",
        "1 to 60000",
        "at most 10000 with --threads",
    ] {
        assert!(
            simulate.contains(range),
            "simulate --help lacks '{range}':\n{simulate}"
        );
    }
    let labs: [(&str, &[&str]); 6] = [
        ("fanout", &["1 to 100000", "1 to 64"]),
        ("ordering", &["1 to 1000000", "1 to 256"]),
        ("retention", &["1 to 1000000", "0 to 1", "1 to 10000"]),
        ("cleanup", &["20k to 5m", "100 to 100k", "512 to 65536"]),
        (
            "cdc",
            &[
                "1 to 50000",
                "0.05 to 600",
                "1ms to 60s",
                "0 to 100",
                "1 to 100000",
            ],
        ),
        ("dlq", &["1 to 1000000", "1 to 20", "0ms to 24h", "0 to 1"]),
    ];
    for (lab, ranges) in labs {
        let text = help(&["lab", lab, "--help"]);
        for range in ranges {
            assert!(
                text.contains(range),
                "lab {lab} --help lacks '{range}':\n{text}"
            );
        }
    }
}

#[test]
fn the_longest_lease_keeps_claims_apart() {
    let out = Msgwork::new(&[
        "simulate", "--crash", "--orders", "60", "--seed", "5", "--lease", "60000", "--json",
        "--check",
    ])
    .output();
    let v = out.success().json();
    assert_eq!(v["lease_ms"], 60000);
    assert_eq!(v["outbox"]["overlapping_claims"], 0);
    assert_eq!(v["verdict"]["outbox_holds"], true);
}

/// The scratch directories under a data directory's cache.
fn scratch_dirs(home: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(home.join("cache"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.file_name().unwrap().to_string_lossy().contains("lab-"))
                .collect()
        })
        .unwrap_or_default()
}

/// A long `simulate` in `mode`, started and stopped with `signal` once its scratch directory
/// holds the lab's databases; returns its exit code and the data directory.
fn stopped_run(mode: &[&str], signal: &str) -> (Option<i32>, tempfile::TempDir) {
    let args = [
        &["simulate", "--crash", "--orders", "100000", "--seed", "9"][..],
        mode,
    ]
    .concat();
    let (mut child, home) = Msgwork::new(&args).spawn();
    let started = std::time::Instant::now();
    loop {
        let dirs = scratch_dirs(home.path());
        let busy = dirs.iter().any(|d| {
            std::fs::read_dir(d).is_ok_and(|files| {
                files
                    .filter_map(Result::ok)
                    .any(|f| f.file_name().to_string_lossy().ends_with(".db"))
            })
        });
        if busy {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{mode:?}: no scratch directory under {}",
            home.path().display()
        );
        assert!(child.try_wait().unwrap().is_none(), "{mode:?} ended early");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    if signal == "KILL" {
        child.kill().unwrap();
    } else {
        let sent = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }
    let status = child.wait().unwrap();
    (status.code(), home)
}

const MODES: [&[&str]; 3] = [&[], &["--threads"], &["--crash-mode", "process"]];

#[test]
fn a_stopped_run_removes_its_scratch_directory_in_every_mode() {
    for mode in MODES {
        for signal in ["INT", "TERM"] {
            let (code, home) = stopped_run(mode, signal);
            assert_eq!(code, Some(130), "{mode:?} SIG{signal}");
            assert_eq!(
                scratch_dirs(home.path()),
                Vec::<std::path::PathBuf>::new(),
                "{mode:?} SIG{signal} left its scratch directory"
            );
        }
    }
}

#[test]
fn a_killed_runs_scratch_directory_is_swept_at_the_next_start() {
    for mode in MODES {
        let (code, home) = stopped_run(mode, "KILL");
        assert_eq!(code, None, "{mode:?}: killed by a signal");
        let left = scratch_dirs(home.path());
        assert_eq!(left.len(), 1, "{mode:?}: SIGKILL leaves it, for now");
        // The next start sweeps it: here a new run, whose own directory a later start leaves.
        let home_dir = crate::harness::path_str(home.path());
        let (mut live, _) = Msgwork::new(&[
            "--data-dir",
            &home_dir,
            "simulate",
            "--orders",
            "100000",
            "--seed",
            "1",
        ])
        .spawn();
        let started = std::time::Instant::now();
        // Until the new run's directory is set up: it is renamed from a hidden name into place.
        let setting_up = || {
            scratch_dirs(home.path()).iter().any(|d| {
                d.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
        };
        while left[0].exists() || scratch_dirs(home.path()).is_empty() || setting_up() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "{mode:?}: not swept: {}",
                left[0].display()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let running = scratch_dirs(home.path());
        Msgwork::new(&["--data-dir", &home_dir, "progress"])
            .output()
            .success();
        assert_eq!(
            scratch_dirs(home.path()),
            running,
            "{mode:?}: a live run's was swept"
        );
        live.kill().unwrap();
        live.wait().unwrap();
    }
}
