//! `msgwork lab cleanup` through the real binary: its claims at a small size, checked in its JSON
//! and again in the SQLite files it keeps. Never its timings: those belong to the machine.

use rusqlite::Connection;

use crate::harness::{Msgwork, path_str};

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn cleanup_proves_its_claims_and_keeps_its_databases_to_show_them() {
    let dbs = tempfile::tempdir().unwrap();
    let (out, home) = Msgwork::new(&[
        "lab",
        "cleanup",
        "--rows",
        "20k",
        "--batch",
        "3000",
        "--page-size",
        "4096",
        "--seed",
        "5",
        "--keep-db",
        &path_str(dbs.path()),
        "--json",
    ])
    .env_remove("MSGWORK_DB")
    .run();
    let v = out.success().json();
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["backend"], "sqlite");
    assert!(v.get("server").is_none() && v.get("round_trip_us").is_none());
    assert_eq!(
        (v["seed"].as_u64(), v["rows"].as_u64()),
        (Some(5), Some(20_000))
    );
    assert_eq!(v["sizes"], serde_json::json!([10_000, 20_000]));
    assert_eq!(v["delete_batch"], 3000);
    assert_eq!(v["page_size"], 4096);
    for (check, ok) in v["checks"].as_object().unwrap() {
        assert_eq!(ok, true, "check {check} failed: {}", v["checks"]);
    }

    // Both indexes at every size, with percentiles, the plans and the index sizes.
    let sizes = v["by_size"].as_array().unwrap();
    assert_eq!(sizes.len(), 2);
    for size in sizes {
        for index in ["plain", "partial"] {
            let run = &size[index];
            for key in ["poll_us", "insert_us"] {
                for p in ["p50", "p95", "p99"] {
                    assert!(run[key][p].as_f64().unwrap() > 0.0, "{index} {key} {p}");
                }
            }
            assert!(run["inserts_per_s"].as_f64().unwrap() > 0.0);
        }
        assert!(
            size["partial"]["plan"]
                .as_str()
                .unwrap()
                .contains("outbox_unsent")
        );
        assert!(
            size["plain"]["plan"]
                .as_str()
                .unwrap()
                .contains("outbox_sent_at")
        );
        // The partial index holds the few unsent rows; the plain one every row.
        assert!(
            size["partial"]["index_pages"].as_u64().unwrap() * 10
                < size["plain"]["index_pages"].as_u64().unwrap()
        );
    }
    let series = v["chart"]["series"].as_array().unwrap();
    for s in series {
        let points = s["points"].as_array().unwrap();
        assert_eq!(points.len(), 2);
        assert_eq!(points[1][0], 20_000.0);
    }
    if cfg!(target_os = "linux") {
        pages_read_are_what_the_lesson_says(sizes, series);
    }
    for key in ["from_rows", "to_rows", "plain", "partial"] {
        assert!(v["poll_ratio"].get(key).is_some(), "poll_ratio.{key}");
    }
    let targets = v["targets"].as_object().unwrap();
    for name in [
        "poll_flat",
        "poll_p50",
        "delete_rate",
        "delete_batch_p99",
        "partition_drop",
        "insert_slowdown",
    ] {
        let t = &targets[name];
        assert!(t["value"].is_number() && t["target"].is_number(), "{name}");
        assert!(t["meets"].is_boolean(), "{name}");
    }
    assert!(targets["all_met"].is_boolean());
    for key in ["rows_per_s", "batch_ms", "cutoff_ms", "rows_deleted"] {
        assert!(v["deletes"].get(key).is_some(), "deletes.{key}");
    }
    for key in [
        "slowdown_percent",
        "inserts_per_s_alone",
        "inserts_per_s_with_cleanup",
    ] {
        assert!(v["alongside"][key].is_number(), "alongside.{key}");
    }
    assert!(v["partition"]["drop_ms"].is_number());

    // The kept outbox: every unsent row there, stuck ones included; no old sent row left.
    let outbox = Connection::open(dbs.path().join("cleanup-outbox.db")).unwrap();
    assert_eq!(count(&outbox, "PRAGMA page_size"), 4096);
    let unsent = v["unsent_rows"].as_i64().unwrap();
    assert_eq!(unsent, 260);
    assert_eq!(
        count(&outbox, "SELECT count(*) FROM outbox WHERE sent_at IS NULL"),
        unsent
    );
    for id in v["stuck_ids"].as_array().unwrap() {
        let id = id.as_i64().unwrap();
        assert_eq!(
            count(
                &outbox,
                &format!("SELECT count(*) FROM outbox WHERE id = {id} AND sent_at IS NULL")
            ),
            1,
            "stuck row {id}"
        );
    }
    let cutoff = v["deletes"]["cutoff_ms"].as_i64().unwrap();
    assert_eq!(
        count(
            &outbox,
            &format!("SELECT count(*) FROM outbox WHERE sent_at < {cutoff}")
        ),
        0
    );
    assert!(
        count(
            &outbox,
            &format!("SELECT count(*) FROM outbox WHERE sent_at >= {cutoff}")
        ) > 0
    );
    let plan: String = outbox
        .query_row(
            &format!(
                "EXPLAIN QUERY PLAN {}",
                msgwork::sim::storage::sqlite::sql::poll_unsent(100)
            ),
            [],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("outbox_unsent"), "{plan}");

    // The kept partitions: yesterday's table gone, its unsent rows in today's.
    let days = Connection::open(dbs.path().join("cleanup-partitions.db")).unwrap();
    let yesterday = v["partition"]["table"].as_str().unwrap();
    let today = v["partition"]["today"].as_str().unwrap();
    assert_eq!(
        count(
            &days,
            &format!("SELECT count(*) FROM sqlite_schema WHERE name = '{yesterday}'")
        ),
        0
    );
    assert_eq!(
        count(
            &days,
            &format!("SELECT count(*) FROM {today} WHERE sent_at IS NULL")
        ),
        unsent
    );
    assert_eq!(v["partition"]["unsent_moved"], 10);

    // Recorded, and the evidence item it proves is done.
    let store = msgwork::store::Store::open(home.path()).unwrap();
    assert_eq!(store.runs("lab-cleanup").unwrap().len(), 1);
    let ev = Msgwork::new(&["--data-dir", &path_str(home.path()), "evidence", "--json"]).output();
    let items = ev.json()["items"].as_array().unwrap().clone();
    let item = items.iter().find(|i| i["id"] == "stretch-cleanup").unwrap();
    assert_eq!(item["done"], true, "{item}");
}

/// `[index, table]` pages of a `poll_reads` object.
fn reads(v: &serde_json::Value) -> [u64; 2] {
    [v["index"].as_u64().unwrap(), v["table"].as_u64().unwrap()]
}

/// The pages a poll read, as counted: through either index a few index pages at every size,
/// never more than the index holds; through none, the table, more of it as it grows. The chart
/// draws exactly these counts.
fn pages_read_are_what_the_lesson_says(sizes: &[serde_json::Value], series: &[serde_json::Value]) {
    let mut unindexed = Vec::new();
    for size in sizes {
        let [none_index, none_table] = reads(&size["no_index_reads"]);
        assert_eq!(none_index, 0);
        for index in ["plain", "partial"] {
            let [index_read, table_read] = reads(&size[index]["poll_reads"]);
            let pages = size[index]["index_pages"].as_u64().unwrap();
            assert!((1..=5).contains(&index_read), "{index}: {index_read}");
            assert!(index_read <= pages, "{index}: {index_read} of {pages}");
            // The poll's 100 rows sit on a few dozen table pages; a scan reads far more.
            assert!(table_read >= 1 && table_read * 5 < none_table, "{size}");
        }
        unindexed.push(none_table);
    }
    assert!(unindexed[1] * 10 > unindexed[0] * 15, "{unindexed:?}");
    let named = |name: &str| {
        series
            .iter()
            .find(|s| s["name"].as_str().unwrap().starts_with(name))
            .unwrap_or_else(|| panic!("no series '{name}' in {series:?}"))["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                p[1].as_u64()
                    .unwrap_or_else(|| p[1].as_f64().unwrap() as u64)
            })
            .collect::<Vec<_>>()
    };
    let partial: Vec<u64> = sizes
        .iter()
        .map(|s| reads(&s["partial"]["poll_reads"])[0])
        .collect();
    assert_eq!(named("poll through"), partial);
    assert_eq!(named("poll with no index"), unindexed);
    let whole: Vec<u64> = sizes
        .iter()
        .map(|s| s["plain"]["index_pages"].as_u64().unwrap())
        .collect();
    assert_eq!(named("the plain index, whole"), whole);
}

#[test]
fn cleanup_tells_a_person_what_it_measured_and_what_it_means() {
    let home = tempfile::tempdir().unwrap();
    let before =
        Msgwork::new(&["--data-dir", &path_str(home.path()), "evidence", "--json"]).output();
    let items = before.json()["items"].as_array().unwrap().clone();
    let item = items.iter().find(|i| i["id"] == "stretch-cleanup").unwrap();
    assert_eq!(item["next"], "msgwork lab cleanup");

    let out = Msgwork::new(&[
        "--data-dir",
        &path_str(home.path()),
        "lab",
        "cleanup",
        "--rows",
        "20000",
        "--seed",
        "8",
        "--plot",
        &path_str(&home.path().join("poll.svg")),
    ])
    .env_remove("MSGWORK_DB")
    .output();
    let text = &out.success().stdout;
    let drawn = std::fs::read_to_string(home.path().join("poll.svg")).unwrap();
    assert!(drawn.contains("partial index") && drawn.contains("plain index"));
    for part in [
        "msgwork lab cleanup  SQLite · seed 8 · 20,000 rows on 1 KiB pages",
        "by table size",
        "five ways to keep the outbox",
        "Against the targets",
        "Checked on this run",
        "What this shows",
        "Replay: msgwork lab cleanup --seed 8 --rows 20000",
        "recorded as run 1",
    ] {
        assert!(text.contains(part), "'{part}' missing:\n{text}");
    }
    assert!(
        !text.lines().any(|l| l.starts_with("  ✗")),
        "a check failed:\n{text}"
    );
    // The heading's count of ways is the number of rows in the table under it.
    let after: Vec<&str> = text
        .split("ways to keep the outbox")
        .nth(1)
        .unwrap()
        .lines()
        .skip_while(|l| !l.starts_with('╞'))
        .skip(1)
        .take_while(|l| !l.starts_with('└'))
        .collect();
    assert_eq!(after.len(), 5, "{after:?}");

    // Each finding follows this run's own figures, as recorded: the timings decide which
    // sentence is said, never the other way round.
    let store = msgwork::store::Store::open(home.path()).unwrap();
    let r = store.runs("lab-cleanup").unwrap().remove(0).results;
    let flat = r["targets"]["poll_flat"]["meets"].as_bool().unwrap();
    assert_eq!(
        text.contains("so the relay's poll does the same work at any size"),
        flat,
        "poll_flat {flat}:\n{text}"
    );
    assert_eq!(
        text.contains("so the relay's poll should do the same work"),
        !flat
    );
    let (drop, delete) = (
        r["partition"]["drop_ms"].as_f64().unwrap(),
        r["partition"]["delete_same_rows_ms"].as_f64().unwrap(),
    );
    assert_eq!(text.contains("so a day goes in"), drop < delete, "{text}");
    let slowdown = r["alongside"]["slowdown_percent"].as_f64().unwrap();
    assert_eq!(
        text.contains(&format!(
            "the cleaner cost it {slowdown:.1}% of its write rate"
        )),
        slowdown > 0.0,
        "{text}"
    );
    assert!(text.contains("(try --page-size 4096)"), "{text}");
    assert!(
        text.contains("the 10 stuck rows in the deleted range survived"),
        "{text}"
    );
}

#[test]
fn cleanup_refuses_bad_input_in_one_line() {
    for (args, mentions) in [
        (
            &["--rows", "0"][..],
            "--rows must be between 20000 and 5000000 (got 0)",
        ),
        (
            &["--rows", "lots"],
            "--rows takes a count like 20000, 250k or 1m (got 'lots')",
        ),
        (&["--rows", "6m"], "--rows must be between"),
        (&["--batch", "10"], "--batch must be between 100 and 100000"),
        (
            &["--batch", "5,0k"],
            "--batch takes a count like 20000, 250k or 1m (got '5,0k')",
        ),
        (
            &["--sizes", "10k,many"],
            "--sizes takes counts separated by commas",
        ),
        (
            &["--sizes", "50k,30k"],
            "--sizes must rise by at least 5000 rows",
        ),
        (
            &["--rows", "40k", "--sizes", "39k"],
            "at least 5000 rows below --rows 40000",
        ),
        (
            &["--sizes", "5k"],
            "--sizes must each be at least 10000 rows",
        ),
        (
            &["--page-size", "3000"],
            "--page-size must be a power of two from 512 to 65536, like 4096 (got 3000)",
        ),
        (&["--plot", "poll.png"], "--plot writes SVG only"),
        (
            &["--page-size", "big"],
            "--page-size must be a power of two from 512 to 65536, like 4096 (got 'big')",
        ),
        (
            &["--db", "mysql://root@localhost/shop"],
            "is not a PostgreSQL URL",
        ),
        (
            &["--db", "postgres://ann:secret@db:notaport/shop"],
            "Write it like postgres://USER@HOST:PORT/DATABASE",
        ),
        (
            &[
                "--db",
                "postgres://ann@127.0.0.1:1/shop",
                "--page-size",
                "4096",
            ],
            "leave --page-size out with --db",
        ),
    ] {
        let home = tempfile::tempdir().unwrap();
        let keep = home.path().join("dbs");
        let mut all = vec![
            "--data-dir",
            home.path().to_str().unwrap(),
            "lab",
            "cleanup",
        ];
        all.extend_from_slice(args);
        all.extend(["--keep-db", keep.to_str().unwrap()]);
        let out = Msgwork::new(&all).env_remove("MSGWORK_DB").output();
        out.usage_error(mentions);
        assert!(!out.stderr.contains("secret"), "{}", out.stderr);
        assert!(
            !keep.exists(),
            "{args:?}: bad input did work before failing"
        );
    }
}

/// The `sqlite3 FILE "SQL"` line a run printed after `--keep-db`, run on the file it names:
/// the query works, on a database that is there.
fn try_the_kept_query(text: &str, dir: &std::path::Path) -> usize {
    assert!(
        text.contains(&format!("Databases kept in {}:", dir.display())),
        "{text}"
    );
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("sqlite3 "))
        .unwrap_or_else(|| panic!("no query to try in:\n{text}"));
    let rest = line.trim_start().strip_prefix("sqlite3 ").unwrap();
    let (file, sql) = rest.split_once(" \"").unwrap();
    let sql = sql.strip_suffix('"').unwrap();
    assert!(std::path::Path::new(file).starts_with(dir), "{file}");
    let conn = Connection::open(file).unwrap();
    let mut statement = conn.prepare(sql).unwrap();
    let mut rows = statement.query([]).unwrap();
    let mut n = 0;
    while rows.next().unwrap().is_some() {
        n += 1;
    }
    n
}

#[test]
fn keep_db_says_where_the_databases_went_and_gives_a_query_that_runs() {
    let dbs = tempfile::tempdir().unwrap();
    let kept = dbs.path().join("kept");
    let out = Msgwork::new(&[
        "lab",
        "cleanup",
        "--rows",
        "20k",
        "--batch",
        "3000",
        "--page-size",
        "4096",
        "--seed",
        "5",
        "--keep-db",
        &path_str(&kept),
    ])
    .env_remove("MSGWORK_DB")
    .output();
    let text = &out.success().stdout;
    assert!(
        text.contains("cleanup-outbox.db, cleanup-partitions.db"),
        "{text}"
    );
    assert!(try_the_kept_query(text, &kept) > 0, "the plan has a row");

    let kept = dbs.path().join("sim");
    let out = Msgwork::new(&[
        "simulate",
        "--orders",
        "200",
        "--seed",
        "3",
        "--crash",
        "--keep-db",
        &path_str(&kept),
    ])
    .env_remove("MSGWORK_DB")
    .output();
    let text = &out.success().stdout;
    try_the_kept_query(text, &kept);

    let kept = dbs.path().join("cdc");
    let out = Msgwork::new(&[
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
        "--keep-db",
        &path_str(&kept),
        "--json",
    ])
    .env_remove("MSGWORK_DB")
    .output();
    out.success().json();
    assert_eq!(
        try_the_kept_query(&out.stderr, &kept),
        0,
        "the inbox let nothing through twice"
    );
}
