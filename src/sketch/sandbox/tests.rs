//! The sandbox holds: attaching files, loading extensions, VACUUM INTO and runaway queries never
//! get out, and a write transaction that cannot insert is caught.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::run::run_sandbox;
use crate::sketch::check::check;
use crate::sketch::model::Model;
use crate::sketch::report::Status;
use crate::sketch::testkit::{ATTACK, GOOD, get};

#[test]
fn attack_is_refused_and_touches_no_file() {
    // The fixture attaches '/tmp/x'. Whatever is there (a file some earlier run left is
    // removed; a directory is left alone) must be exactly as it was afterwards.
    let target = std::path::Path::new("/tmp/x");
    if target.is_file() {
        assert!(
            std::fs::remove_file(target).is_ok(),
            "could not remove /tmp/x first"
        );
    }
    let state = || {
        std::fs::symlink_metadata(target)
            .ok()
            .map(|m| (m.is_dir(), m.len(), m.modified().ok()))
    };
    let before = state();
    let r = check(ATTACK);
    assert_eq!(state(), before, "ATTACH touched /tmp/x");
    let sandbox = get(&r, "sandbox-run");
    assert_eq!(sandbox.status, Status::Wrong, "{}", sandbox.message);
    assert!(
        sandbox.message.contains("ATTACH of '/tmp/x'"),
        "{}",
        sandbox.message
    );
    assert!(
        sandbox.message.contains("load_extension()"),
        "{}",
        sandbox.message
    );

    // The same, straight through the sandbox.
    let m = Model::build(
        "ATTACH DATABASE '/tmp/x' AS x; SELECT load_extension('x'); DETACH x;",
        None,
    );
    let run = run_sandbox(&m, &BTreeSet::new());
    assert_eq!(run.refused.len(), 3, "{run:?}");
    assert_eq!(run.ran, 0);
    assert_eq!(state(), before, "ATTACH touched /tmp/x");
}

#[test]
fn vacuum_into_never_reaches_sqlite() {
    let path = std::env::temp_dir().join("msgwork-sketch-vacuum-into.db");
    let _ = std::fs::remove_file(&path);
    let sql = format!(
        "CREATE TABLE t (id int);\nVACUUM INTO '{}';",
        path.display()
    );
    let r = check(&sql);
    assert!(!path.exists());
    assert!(get(&r, "sandbox-run").message.contains("maintenance"));
}

#[test]
fn runaway_statements_are_stopped() {
    let sql = "CREATE TABLE t (x integer);\n\
               INSERT INTO t VALUES (1), (2), (3), (4), (5), (6), (7), (8), (9), (10);\n\
               INSERT INTO t SELECT a.x FROM t a, t b, t c, t d, t e, t f, t g, t h;";
    let started = Instant::now();
    let m = Model::build(sql, None);
    let write: BTreeSet<usize> = m.units.iter().map(|u| u.group).collect();
    let run = run_sandbox(&m, &write);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(run.stopped.is_some(), "{run:?}");
}

#[test]
fn recursive_queries_never_run() {
    let m = Model::build(
        "CREATE TABLE t (x blob);\nINSERT INTO t WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL \
         SELECT n + 1 FROM c) SELECT zeroblob(16000) FROM c ORDER BY 1;",
        None,
    );
    let write: BTreeSet<usize> = m.units.iter().map(|u| u.group).collect();
    let run = run_sandbox(&m, &write);
    assert!(run.stopped.is_none(), "{run:?}");
    assert!(
        run.skipped.iter().any(|s| s.contains("recursive")),
        "{run:?}"
    );
}

#[test]
fn sandbox_catches_a_write_transaction_that_cannot_insert() {
    let sql = GOOD.replace(
        "INSERT INTO outbox (event_id, aggregate_type, aggregate_id, event_type, payload)\nVALUES (gen_random_uuid(),\n        'booking',\n",
        "INSERT INTO outbox (event_id, aggregate_id, event_type, payload)\nVALUES (gen_random_uuid(),\n",
    );
    assert_ne!(sql, GOOD, "the fixture changed; update this test");
    let r = check(&sql);
    let sandbox = get(&r, "sandbox-run");
    assert_eq!(sandbox.status, Status::Wrong, "{}", sandbox.message);
    assert!(
        sandbox
            .message
            .contains("NOT NULL constraint failed: outbox.aggregate_type")
    );
    assert!(r.passed, "the sandbox is reported, not required");
}

#[test]
fn what_fails_only_because_the_sandbox_could_not_create_a_table_is_not_judged() {
    // Each table uses a construct the sandbox cannot emulate; the statements after it that need
    // the table must be reported as not run here, never as the sketch's own failures.
    for ddl in [
        "CREATE TABLE outbox (id uuid PRIMARY KEY, due timestamptz NOT NULL DEFAULT now() + make_interval(secs => 30));",
        "CREATE TABLE outbox (id uuid PRIMARY KEY, due tstzrange NOT NULL, EXCLUDE USING gist (due WITH &&) WHERE (id IS NOT NULL) INCLUDE (id));",
        "CREATE TABLE outbox (id uuid PRIMARY KEY, due int) PARTITION BY RANGE (id) WITH (fillfactor = 70) USING heap EXTRA;",
    ] {
        let sql = format!(
            "{ddl}\nCREATE INDEX outbox_due ON outbox (due);\nALTER TABLE outbox ADD COLUMN note text;\n\
             INSERT INTO outbox (id, due) VALUES ('a', 1);"
        );
        let r = check(&sql);
        let sandbox = get(&r, "sandbox-run");
        assert_ne!(sandbox.status, Status::Wrong, "{ddl}: {}", sandbox.message);
        assert!(
            !sandbox.message.contains("fails"),
            "{ddl}: {}",
            sandbox.message
        );
    }
    // A CHECK that PostgreSQL writes with char_length runs here as length, and the spellings of
    // an interval added to now() run as SQLite time modifiers.
    for ddl in [
        "CREATE TABLE q (id bigint PRIMARY KEY, kind text CHECK (char_length(kind) > 0));",
        "CREATE TABLE q (id bigint PRIMARY KEY, kind timestamptz DEFAULT now() + ('30 seconds')::interval);",
        "CREATE TABLE q (id bigint PRIMARY KEY, kind timestamptz DEFAULT now() + '30 seconds'::interval);",
        "CREATE TABLE q (id bigint PRIMARY KEY, kind timestamptz DEFAULT now() - interval '1 day');",
    ] {
        let r = check(&format!("{ddl}\nCREATE INDEX q_kind ON q (kind);"));
        let sandbox = get(&r, "sandbox-run");
        assert_eq!(sandbox.status, Status::Ok, "{ddl}: {}", sandbox.message);
        assert!(
            sandbox.message.contains("all 2 DDL"),
            "{ddl}: {}",
            sandbox.message
        );
    }
    // A real mistake is still one: an index on a table that nobody tried to create.
    let r = check("CREATE TABLE outbox (id int PRIMARY KEY);\nCREATE INDEX ix ON outbx (id);");
    assert_eq!(get(&r, "sandbox-run").status, Status::Wrong);
}

#[test]
fn a_sandbox_that_runs_nothing_is_not_judged_rather_than_missing() {
    let r = check("DO $$ BEGIN EXECUTE 'create table outbox (id int)'; END $$;");
    assert_eq!(get(&r, "sandbox-run").status, Status::NotJudged);
}
