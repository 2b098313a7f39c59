//! `msgwork progress`: each item's FSRS stability and return date, and the mastery chart in the
//! terminal, in `--json` and as SVG with `--plot`.

use crate::harness::{Msgwork, path_str};

const T0: i64 = 1_800_000_000;
const DAY: i64 = 86_400;

/// A data directory where R3 was answered well three times, days apart, and R1 badly.
fn answered_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("a.json");
    std::fs::write(
        &file,
        r#"{"retrieval": {"R3": "two separate writes, db then broker, with no shared transaction: a crash between them loses the event", "R1": "x"}}"#,
    )
    .unwrap();
    for day in [0, 1, 4] {
        Msgwork::new(&[
            "--data-dir",
            &path_str(home.path()),
            "drill",
            "--answers",
            &path_str(&file),
        ])
        .env("MSGWORK_NOW", &(T0 + day * DAY).to_string())
        .output()
        .success();
    }
    home
}

fn progress(home: &std::path::Path, now: i64, args: &[&str]) -> crate::harness::Output {
    let data = path_str(home);
    let mut all = vec!["--data-dir", data.as_str(), "progress"];
    all.extend_from_slice(args);
    Msgwork::new(&all)
        .env("MSGWORK_NOW", &now.to_string())
        .output()
}

#[test]
fn each_item_shows_its_stability_and_when_it_returns() {
    let home = answered_home();
    let now = T0 + 5 * DAY;
    let v = progress(home.path(), now, &["--json"]).success().json();
    assert_eq!(v["schema_version"], 1);
    let items = v["items"].as_array().unwrap();
    let ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["R1", "R3"]);
    for item in items {
        let stability = item["stability_days"].as_f64().unwrap();
        let recall = item["recall_now"].as_f64().unwrap();
        let difficulty = item["difficulty"].as_f64().unwrap();
        assert!(stability > 0.0 && (0.0..=1.0).contains(&recall), "{item}");
        assert!((1.0..=10.0).contains(&difficulty), "{item}");
        let due_at = item["due_at"].as_i64().unwrap();
        let in_days = item["due_in_days"].as_i64().unwrap();
        assert_eq!(in_days, ((due_at - now).max(0) + DAY - 1) / DAY, "{item}");
        assert_eq!(item["due"], due_at <= now, "{item}");
        assert_eq!(item["due_date"].as_str().unwrap().len(), 10, "{item}");
    }
    let (r1, r3) = (&items[0], &items[1]);
    assert!(r3["stability_days"].as_f64() > r1["stability_days"].as_f64());
    assert_eq!(r1["due"], true, "a wrong answer four days ago is due");
    assert!(r3["due_in_days"].as_i64().unwrap() >= 1, "{r3}");

    let text = progress(home.path(), now, &[]).success().stdout.clone();
    let r3_date = r3["due_date"].as_str().unwrap();
    let days = r3["due_in_days"].as_i64().unwrap();
    let plural = if days == 1 { "day" } else { "days" };
    assert!(
        text.contains(&format!("{r3_date} (in {days} {plural})")),
        "{text}"
    );
    assert!(
        text.contains("stability") && text.contains("due now"),
        "{text}"
    );
}

#[test]
fn mastery_over_time_is_charted_per_day_in_json_terminal_and_svg() {
    let home = answered_home();
    let now = T0 + 6 * DAY;
    let v = progress(home.path(), now, &["--json"]).success().json();
    let days = v["mastery"].as_array().unwrap();
    assert_eq!(days.len(), 7, "one point a day from the first answer");
    assert!(v["plot"].is_null());
    for day in days {
        let recall = day["expected_recall"].as_f64().unwrap();
        assert!((0.0..=2.0).contains(&recall), "{day}");
        assert!(day["mastered"].as_u64().unwrap() <= 2, "{day}");
    }
    let recall: Vec<f64> = days
        .iter()
        .map(|d| d["expected_recall"].as_f64().unwrap())
        .collect();
    assert!(
        recall[3] < recall[1],
        "memory fades between answers: {recall:?}"
    );
    assert!(
        recall[4] > recall[3],
        "an answer lifts it again: {recall:?}"
    );

    let text = progress(home.path(), now, &[]).success().stdout.clone();
    assert!(text.contains("Mastery over time"), "{text}");
    assert!(text.contains("days before today"), "{text}");

    let out = tempfile::tempdir().unwrap();
    let svg = out.path().join("mastery.svg");
    let v = progress(home.path(), now, &["--json", "--plot", &path_str(&svg)])
        .success()
        .json();
    assert_eq!(v["plot"], path_str(&svg));
    let drawn = std::fs::read_to_string(&svg).unwrap();
    assert!(drawn.starts_with("<svg") && drawn.contains("Mastery over time"));
    assert!(drawn.contains("expected recall"), "both series are named");
}

#[test]
fn a_bad_plot_file_is_refused_before_anything_is_written() {
    let home = answered_home();
    let out = tempfile::tempdir().unwrap();
    let png = path_str(&out.path().join("mastery.png"));
    progress(home.path(), T0, &["--plot", &png]).usage_error("SVG only");
    let existing = out.path().join("kept.svg");
    std::fs::write(&existing, "mine").unwrap();
    let kept = path_str(&existing);
    progress(home.path(), T0, &["--plot", &kept]).usage_error("--force");
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "mine");
    progress(home.path(), T0, &["--plot", &kept, "--force"]).success();
    assert!(
        std::fs::read_to_string(&existing)
            .unwrap()
            .starts_with("<svg")
    );
    let store = path_str(&home.path().join("progress.db"));
    progress(home.path(), T0, &["--plot", &store, "--force"]).usage_error("SVG only");
}

#[test]
fn with_nothing_answered_progress_says_where_to_start() {
    let home = tempfile::tempdir().unwrap();
    let v = progress(home.path(), T0, &["--json"]).success().json();
    assert_eq!(v["items"], serde_json::json!([]));
    assert_eq!(v["mastery"], serde_json::json!([]));
    let out = progress(home.path(), T0, &[]).success().stdout.clone();
    assert!(out.contains("No drill answered yet"), "{out}");
    assert!(!out.contains("Mastery over time"), "{out}");
}
