//! `msgwork bench`: it runs and reports every figure with its target. Speed itself is never
//! asserted here; the figures are for people (see the README).

use crate::harness::Msgwork;

#[test]
fn quick_bench_reports_every_measurement_with_its_target() {
    let out = Msgwork::new(&["bench", "--quick", "--baseline", "--json"]).output();
    let v = out.success().json();
    assert_eq!(v["schema_version"], 1);
    let names: Vec<&str> = v["measurements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert!(m["value"].as_f64().unwrap() > 0.0, "{m}");
            assert!(m["meets"].is_boolean());
            assert_eq!(m["met"], m["meets"], "{m}");
            m["name"].as_str().unwrap()
        })
        .collect();
    for name in [
        "lab_default_run",
        "lab_large_run",
        "outbox_cost_ratio_full",
        "outbox_orders_per_s_normal",
        "backlog_drain_events_per_s",
        "drill_first_question_ms",
        "drill_process_ms",
        "drill_answers_38_to_1_ratio",
        "claim_text_vs_bound_ratio",
        "threads_vs_deterministic",
        "threads_cpu_ms",
        "process_vs_deterministic",
        "process_cpu_ms",
        "baseline_writes_ratio",
        "baseline_drain_ratio",
        "simulate_peak_rss_mb",
        "simulate_time_growth",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    let python = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert_eq!(
        names.contains(&"verify_python_solution_s"),
        python,
        "{names:?}"
    );
}
