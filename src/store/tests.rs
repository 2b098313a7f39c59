//! The progress store's tests: records kept, migrations, batches, WAL and read-only stores.

use super::*;

#[test]
fn records_survive_reopening_and_keep_their_json() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let store = Store::open(dir.path()).unwrap();
        store
            .record(
                "simulate",
                Some(u64::MAX),
                &serde_json::json!({"orders": 5}),
                &serde_json::json!({"ok": true}),
            )
            .unwrap()
    };
    let store = Store::open(dir.path()).unwrap();
    let runs = store.runs("simulate").unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].id, id);
    assert_eq!(runs[0].seed, Some(u64::MAX));
    assert_eq!(runs[0].results["ok"], true);
    assert!(store.run(id).unwrap().is_some());
    assert!(store.run(id + 1).unwrap().is_none());
}

#[test]
fn answers_are_kept_per_item() {
    let store = Store::in_memory().unwrap();
    let session = store
        .start_session("answers-file", &["R3".to_string()])
        .unwrap();
    let given = serde_json::json!("two writes, no shared transaction");
    let result = serde_json::json!({"verdict": "correct"});
    store
        .record_answer(
            session,
            &Answer {
                item_id: "R3",
                section: "retrieval",
                given: &given,
                verdict: "correct",
                self_verdict: None,
                score: 1.0,
                max: 1.0,
                result: &result,
                at: 1_700_000_000,
            },
        )
        .unwrap();
    store.finish_session(session).unwrap();
    let answers = store.answers_to("R3").unwrap();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].0, "correct");
    assert!(store.answers_to("R4").unwrap().is_empty());
}

#[test]
fn a_store_from_a_newer_msgwork_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path()).unwrap();
    Connection::open(dir.path().join(FILE_NAME))
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = Store::open(dir.path()).err().unwrap().to_string();
    assert!(err.contains("newer msgwork"), "{err}");
}

#[test]
fn many_processes_opening_a_fresh_store_at_once_all_record() {
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let barrier = std::sync::Barrier::new(12);
        std::thread::scope(|scope| {
            for i in 0..12u64 {
                let (dir, barrier) = (dir.path(), &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    let store = Store::open(dir).unwrap_or_else(|e| panic!("open {i}: {e}"));
                    store
                        .record("simulate", Some(i), &i, &i)
                        .unwrap_or_else(|e| panic!("record {i}: {e}"));
                });
            }
        });
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.runs("simulate").unwrap().len(), 12);
    }
}

#[test]
fn an_older_store_is_brought_up_to_date_without_losing_runs() {
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(dir.path().join(FILE_NAME)).unwrap();
    conn.execute_batch(MIGRATIONS[0]).unwrap();
    conn.pragma_update(None, "user_version", 1).unwrap();
    conn.execute(
        "INSERT INTO runs (kind, recorded_at, options, results, version)
         VALUES ('simulate', '2024-01-01T00:00:00Z', '{}', '{}', '0.0.1')",
        [],
    )
    .unwrap();
    drop(conn);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.runs("simulate").unwrap().len(), 1);
    assert!(store.start_session("answers-file", &[]).is_ok());
}

/// Every answer row, whole, in id order.
fn answer_rows(store: &Store) -> Vec<Vec<String>> {
    let mut stmt = store
        .conn
        .prepare("SELECT * FROM drill_answers ORDER BY id")
        .unwrap();
    let width = stmt.column_count();
    stmt.query_map([], |r| {
        (0..width)
            .map(|i| Ok(format!("{:?}", r.get_ref(i)?)))
            .collect::<rusqlite::Result<Vec<_>>>()
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// Records `verdicts` for `item`, a day apart from `at`, as a store before FSRS did.
pub(crate) fn answer_days(store: &Store, item: &str, verdicts: &[&str], at: i64) {
    let session = store
        .start_session("answers-file", &[item.to_string()])
        .unwrap();
    let given = serde_json::json!("an answer");
    for (day, verdict) in verdicts.iter().enumerate() {
        store
            .record_answer(
                session,
                &Answer {
                    item_id: item,
                    section: "retrieval",
                    given: &given,
                    verdict,
                    self_verdict: None,
                    score: 1.0,
                    max: 1.0,
                    result: &serde_json::json!({}),
                    at: at + day as i64 * 86_400,
                },
            )
            .unwrap();
    }
}

#[test]
fn a_store_from_before_fsrs_keeps_every_answer_and_seeds_every_item_once() {
    let dir = tempfile::tempdir().unwrap();
    let old = Store::at_schema(dir.path(), 2);
    let t0 = 1_700_000_000;
    answer_days(&old, "R1", &["correct", "correct", "correct"], t0);
    answer_days(&old, "R2", &["incorrect"], t0);
    answer_days(&old, "S1", &["partial", "incorrect", "correct"], t0);
    let overruled = old.answers_with_given("R2").unwrap()[0].id;
    old.set_self_verdict(overruled, "partial").unwrap();
    let before = answer_rows(&old);
    drop(old);

    let store = Store::open(dir.path()).unwrap();
    assert_eq!(answer_rows(&store), before, "no answer changed or lost");
    let history = store.history().unwrap();
    assert_eq!(history.answers.len(), 7);
    let seeded: Vec<&str> = history.seeds.keys().map(String::as_str).collect();
    assert_eq!(seeded, ["R1", "R2", "S1"]);
    let r1 = &history.seeds["R1"];
    // SM-2 had R1 at 1, 6, then 15 days (6 × 2.6, rounded).
    assert_eq!(
        (r1.sm2_interval_days, r1.reviewed_at),
        (15.0, t0 + 2 * 86_400)
    );
    assert!((r1.stability - 15.0).abs() < 0.1, "{r1:?}");
    assert_eq!(r1.last_answer, history.answers[2].id);
    assert!(history.seeds["R2"].sm2_ease > history.seeds["S1"].sm2_ease - 1.0);
    for seed in history.seeds.values() {
        assert!(seed.stability > 0.0 && (1.0..=10.0).contains(&seed.difficulty));
    }
    drop(store);

    // Opening again changes nothing: the move happens once.
    let again = Store::open(dir.path()).unwrap();
    assert_eq!(again.history().unwrap(), history);
    assert_eq!(answer_rows(&again), before);
}

fn answer<'a>(item: &'a str, value: &'a serde_json::Value) -> Answer<'a> {
    Answer {
        item_id: item,
        section: "retrieval",
        given: value,
        verdict: "correct",
        self_verdict: None,
        score: 1.0,
        max: 1.0,
        result: value,
        at: 1_700_000_000,
    }
}

#[test]
fn a_batch_of_answers_is_one_commit_and_drops_their_drafts() {
    let mut store = Store::in_memory().unwrap();
    let session = store.start_session("answers-file", &[]).unwrap();
    store.save_draft(session, "I7", "channel", "queue").unwrap();
    let commits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = commits.clone();
    store
        .conn
        .commit_hook(Some(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            false
        }))
        .unwrap();
    let value = serde_json::json!("x");
    let ids: Vec<String> = (0..38).map(|i| format!("I{i}")).collect();
    let batch: Vec<Answer<'_>> = ids.iter().map(|id| answer(id, &value)).collect();
    let recorded = store.record_answers(session, &batch).unwrap();
    assert_eq!(commits.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(recorded.len(), 38);
    assert!(recorded.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(store.answered_in(session).unwrap(), ids);
    assert!(store.drafts(session, "I7").unwrap().is_empty());
    assert!(store.record_answers(session, &[]).unwrap().is_empty());
}

#[test]
fn a_batch_that_fails_part_way_records_nothing() {
    let store = Store::in_memory().unwrap();
    let session = store.start_session("answers-file", &[]).unwrap();
    store
        .conn
        .execute_batch(
            "CREATE TEMP TRIGGER refuse BEFORE INSERT ON drill_answers
             WHEN NEW.item_id = 'BAD' BEGIN SELECT RAISE(ABORT, 'refused'); END;",
        )
        .unwrap();
    let value = serde_json::json!("x");
    let batch = [answer("R1", &value), answer("BAD", &value)];
    let err = store.record_answers(session, &batch).unwrap_err();
    assert!(err.to_string().contains("refused"), "{err}");
    assert!(store.history().unwrap().answers.is_empty());
    // The store is still usable afterwards.
    store.record_answers(session, &batch[..1]).unwrap();
    assert_eq!(store.answered_in(session).unwrap(), ["R1"]);
}

#[test]
fn the_store_logs_ahead_and_syncs_at_checkpoints_only() {
    let dir = tempfile::tempdir().unwrap();
    let old = Store::at_schema(dir.path(), 2);
    let mode: String = old
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete", "an older store was in rollback mode");
    drop(old);
    for _ in 0..2 {
        let store = Store::open(dir.path()).unwrap();
        let pragma = |name: &str| -> String {
            store
                .conn
                .query_row(&format!("PRAGMA {name}"), [], |r| {
                    r.get::<_, rusqlite::types::Value>(0)
                })
                .map(|v| format!("{v:?}"))
                .unwrap()
        };
        assert_eq!(pragma("journal_mode"), "Text(\"wal\")");
        assert_eq!(pragma("synchronous"), "Integer(1)", "NORMAL");
    }
}

#[test]
fn a_store_read_as_it_stands_sees_every_record_under_any_path_and_refuses_writes() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("my data %41 ?x=1 #top é");
    let store = Store::open(&dir).unwrap();
    store.record("simulate", Some(7), &1, &2).unwrap();
    drop(store);
    let path = dir.join(FILE_NAME);
    let store = Store {
        conn: open_as_it_stands(&path).unwrap(),
        path: path.clone(),
    };
    assert_eq!(store.runs("simulate").unwrap().len(), 1);
    let err = store.record("simulate", None, &1, &2).unwrap_err();
    assert!(err.is_read_only(), "{err}");
    assert!(open_as_it_stands(&dir.join("missing.db")).is_err());
}

#[test]
fn a_store_locked_past_the_wait_is_said_as_locked_and_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path()).unwrap();
    let path = dir.path().join(FILE_NAME);
    let holder = Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let conn = Connection::open(&path).unwrap();
    conn.busy_timeout(std::time::Duration::from_millis(50))
        .unwrap();
    let store = Store { conn, path };
    let session = store.start_session("answers-file", &[]).unwrap_err();
    assert!(matches!(session, StoreError::Locked { .. }), "{session}");
    let text = session.to_string();
    assert!(text.contains("locked by another process"), "{text}");
    assert!(
        text.contains(FILE_NAME) && text.contains("--data-dir"),
        "{text}"
    );
    // Readers are not blocked by the writer in WAL mode.
    assert!(store.history().unwrap().answers.is_empty());
    holder.execute_batch("ROLLBACK").unwrap();
    assert!(store.start_session("answers-file", &[]).is_ok());
}

#[test]
fn a_store_that_cannot_log_ahead_keeps_full_sync() {
    let conn = Connection::open_in_memory().unwrap();
    write_ahead(&conn).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    let sync: i64 = conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!((mode.as_str(), sync), ("memory", 2), "FULL");
}

#[test]
fn sqlite_errors_are_said_once() {
    let store = Store::in_memory().unwrap();
    let err = StoreError::from(
        store
            .conn
            .execute("INSERT INTO nowhere VALUES (1)", [])
            .unwrap_err(),
    );
    let text = err.to_string();
    assert_eq!(text.matches("no such table").count(), 1, "{text}");
    assert!(std::error::Error::source(&err).is_none(), "{text}");
}

#[test]
fn a_data_dir_that_is_a_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let err = Store::open(&file).err().unwrap().to_string();
    assert!(err.contains("cannot use data directory"), "{err}");
    assert!(err.contains("--data-dir"), "{err}");
}
