//! The labs keep their own guarantees whatever the options: every number has a documented range
//! checked before the run, and an interrupted run leaves no lab directory behind.

use crate::harness::Msgwork;

#[test]
fn every_number_out_of_range_is_refused_before_the_run() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["simulate", "--orders", "0"],
            "--orders must be between 1 and 100000 (got 0)",
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
        "1 to 100000",
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
        ("fanout", &["1 to 1000000", "1 to 64"]),
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
