//! Outbox sketch checker: judges a learner's outbox design item by item and runs what it can.
//!
//! A sketch is SQL for PostgreSQL or SQLite mixed with comments and pseudocode. It is split into
//! statements on semicolons outside quotes, dollar quotes and comments. Each statement is parsed
//! with sqlparser, PostgreSQL first and then SQLite; one that neither reads is reported with its
//! line and column and then cut at line starts that look like SQL, so the SQL around a line of
//! pseudocode still counts. Table shapes come from the parse tree where there is one and from
//! tokens where there is not. What statements do (insert into, update, claim, delete) is read
//! from tokens, so parsed SQL and half-SQL are judged alike.
//!
//! The DDL and the write transaction then run in an in-memory SQLite database. Its authorizer
//! refuses ATTACH, DETACH, `load_extension`, virtual tables and all but a few pragmas; it may
//! attach no database, keeps temporary data in memory and cannot grow past 64 MiB; and its
//! progress handler stops it after two million VM steps (a sketch needs a few thousand) or half
//! a second, whichever comes first. SQLite only ever sees statements rebuilt from the checker's
//! own tokens, one at a time, so it cannot read a statement differently from the checker.

mod facts;
mod judge;
mod lex;
mod limits;
mod lines;
mod model;
mod report;
mod roles;
mod sandbox;
mod schema;
mod statements;
mod words;

use judge::Judge;
use limits::MAX_SOURCE_BYTES;
use model::Model;
pub use report::{Item, ParseProblem, SketchReport, Status};

/// Checks an outbox sketch. Never panics; any input gets a report.
pub fn check(sql: &str) -> SketchReport {
    let (src, clipped) = clip(sql);
    let model = Model::build(src);
    let mut parse_problems = model.problems.clone();
    if clipped {
        let (line, column) = model.lines.pos(src, src.len());
        parse_problems.push(ParseProblem {
            line,
            column,
            message: format!(
                "the sketch is longer than {} KiB; only the first {} KiB were read",
                MAX_SOURCE_BYTES / 1024,
                MAX_SOURCE_BYTES / 1024
            ),
        });
    }
    let judge = Judge::new(&model);
    let mut items = judge.items();
    items.push(judge.sandbox_item());
    let passed = items.iter().all(|i| !i.required || i.status == Status::Ok);
    SketchReport {
        dialect: model.flavor.name(),
        items,
        passed,
        parse_problems,
    }
}

// ---------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------

fn clip(sql: &str) -> (&str, bool) {
    if sql.len() <= MAX_SOURCE_BYTES {
        return (sql, false);
    }
    let mut end = MAX_SOURCE_BYTES;
    while end > 0 && !sql.is_char_boundary(end) {
        end -= 1;
    }
    (sql.get(..end).unwrap_or(""), true)
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::time::{Duration, Instant};

    use super::sandbox::run_sandbox;
    use super::*;

    const GOOD: &str = include_str!("../../fixtures/sketches/good.sql");
    const GOOD_SQLITE: &str = include_str!("../../fixtures/sketches/good-sqlite.sql");
    const NO_SKIP_LOCKED: &str = include_str!("../../fixtures/sketches/no-skip-locked.sql");
    const NO_INDEX: &str = include_str!("../../fixtures/sketches/no-index.sql");
    const PUBLISH_IN_TX: &str = include_str!("../../fixtures/sketches/publish-in-transaction.sql");
    const DELETE_AFTER: &str = include_str!("../../fixtures/sketches/delete-after-publish.sql");
    const NO_INBOX: &str = include_str!("../../fixtures/sketches/no-inbox.sql");
    const NO_UNIQUE: &str = include_str!("../../fixtures/sketches/no-unique-event-id.sql");
    const SEPARATE: &str = include_str!("../../fixtures/sketches/separate-transactions.sql");
    const ATTACK: &str = include_str!("../../fixtures/sketches/attack.sql");
    const CDC: &str = include_str!("../../fixtures/sketches/cdc-no-marker.sql");

    fn get<'r>(r: &'r SketchReport, id: &str) -> &'r Item {
        match r.items.iter().find(|i| i.id == id) {
            Some(i) => i,
            None => panic!("no item {id} in {r:#?}"),
        }
    }

    fn assert_all_ok(name: &str, r: &SketchReport) {
        for i in &r.items {
            assert_eq!(
                i.status,
                Status::Ok,
                "{name}: {} is not ok: {}",
                i.id,
                i.message
            );
        }
        assert!(r.passed, "{name} should pass: {r:#?}");
    }

    fn assert_fails(sql: &str, id: &str, status: Status) -> SketchReport {
        let r = check(sql);
        let i = get(&r, id);
        assert_eq!(i.status, status, "{id}: {}", i.message);
        assert!(i.required, "{id} should be required");
        assert!(!r.passed, "a sketch with {id} {status:?} must not pass");
        r
    }

    #[test]
    fn items_come_in_the_documented_order() {
        let r = check(GOOD);
        let ids: Vec<&str> = r.items.iter().map(|i| i.id).collect();
        assert_eq!(
            ids,
            [
                "outbox-table",
                "event-id-unique",
                "aggregate",
                "event-type",
                "payload",
                "created-at",
                "pending-marker",
                "relay-index",
                "write-transaction",
                "relay-claim",
                "mark-after-publish",
                "inbox",
                "anti-patterns",
                "sandbox-run",
            ]
        );
        assert!(!get(&r, "sandbox-run").required);
    }

    #[test]
    fn good_postgres_sketch_passes_every_item() {
        let r = check(GOOD);
        assert_eq!(r.dialect, "postgresql");
        assert_all_ok("good.sql", &r);
        assert!(r.parse_problems.is_empty(), "{:#?}", r.parse_problems);
        assert!(get(&r, "relay-index").message.contains("partial index"));
        assert!(
            get(&r, "mark-after-publish")
                .message
                .contains("at-least-once")
        );
    }

    #[test]
    fn good_sqlite_sketch_passes_every_item() {
        let r = check(GOOD_SQLITE);
        assert_eq!(r.dialect, "sqlite");
        assert_all_ok("good-sqlite.sql", &r);
        assert!(r.parse_problems.is_empty(), "{:#?}", r.parse_problems);
        assert!(
            get(&r, "relay-claim")
                .message
                .contains("UPDATE ... RETURNING")
        );
    }

    #[test]
    fn missing_skip_locked_is_wrong() {
        let r = assert_fails(NO_SKIP_LOCKED, "relay-claim", Status::Wrong);
        assert!(get(&r, "relay-claim").message.contains("both publish"));
    }

    #[test]
    fn missing_index_fails_relay_index_and_anti_patterns() {
        let r = assert_fails(NO_INDEX, "relay-index", Status::Missing);
        assert_eq!(get(&r, "anti-patterns").status, Status::Wrong);
        assert!(get(&r, "anti-patterns").message.contains("no index"));
    }

    #[test]
    fn publishing_inside_the_write_transaction_is_flagged() {
        let r = assert_fails(PUBLISH_IN_TX, "anti-patterns", Status::Wrong);
        assert!(
            get(&r, "anti-patterns")
                .message
                .contains("inside the write transaction")
        );
        assert_eq!(get(&r, "write-transaction").status, Status::Ok);
    }

    #[test]
    fn deleting_after_publish_is_flagged() {
        let r = assert_fails(DELETE_AFTER, "anti-patterns", Status::Wrong);
        assert!(
            get(&r, "anti-patterns")
                .message
                .contains("deletes outbox rows right after")
        );
        assert_eq!(get(&r, "mark-after-publish").status, Status::Missing);
    }

    #[test]
    fn missing_inbox_is_missing() {
        assert_fails(NO_INBOX, "inbox", Status::Missing);
    }

    #[test]
    fn event_id_without_unique_is_wrong() {
        let r = assert_fails(NO_UNIQUE, "event-id-unique", Status::Wrong);
        assert!(get(&r, "event-id-unique").message.contains("event_id"));
    }

    #[test]
    fn inserts_in_separate_transactions_are_wrong() {
        let r = assert_fails(SEPARATE, "write-transaction", Status::Wrong);
        assert!(get(&r, "write-transaction").message.contains("dual-write"));
    }

    #[test]
    fn cdc_design_without_marker_is_accepted() {
        let r = check(CDC);
        let marker = get(&r, "pending-marker");
        assert_eq!(marker.status, Status::Ok, "{}", marker.message);
        assert!(marker.message.contains("CDC"));
        assert!(!get(&r, "relay-index").required);
        assert_all_ok("cdc-no-marker.sql", &r);
    }

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
        let m =
            Model::build("ATTACH DATABASE '/tmp/x' AS x; SELECT load_extension('x'); DETACH x;");
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
        let m = Model::build(sql);
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
    fn marking_before_publishing_is_wrong() {
        let sql = GOOD
            .replace(
                "UPDATE outbox\n   SET published_at = now()\n WHERE id = $1;\n",
                "",
            )
            .replace(
                "-- for each row, in order:",
                "UPDATE outbox SET published_at = now() WHERE id = $1;\n-- for each row, in order:",
            );
        let r = assert_fails(&sql, "mark-after-publish", Status::Wrong);
        assert!(
            get(&r, "mark-after-publish")
                .message
                .contains("before the publish")
        );
    }

    #[test]
    fn ordering_by_a_random_uuid_is_not_creation_order() {
        let sql = GOOD.replace("ORDER BY created_at, id", "ORDER BY event_id");
        let r = assert_fails(&sql, "relay-claim", Status::Wrong);
        assert!(get(&r, "relay-claim").message.contains("UUID"));
    }

    #[test]
    fn status_marker_trigger_write_and_schema_names_pass() {
        let sql = "CREATE SCHEMA app;\n\
            CREATE TABLE app.bookings (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, guest text NOT NULL);\n\
            CREATE TABLE app.message (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), aggregate_id bigint NOT NULL,\n\
              type text NOT NULL, data text NOT NULL, status text NOT NULL DEFAULT 'pending',\n\
              occurred_at timestamp with time zone NOT NULL DEFAULT now());\n\
            CREATE INDEX message_pending ON app.message (occurred_at) WHERE status = 'pending';\n\
            CREATE FUNCTION app.booking_outbox() RETURNS trigger LANGUAGE plpgsql AS $$\n\
            BEGIN INSERT INTO app.message (aggregate_id, type, data) VALUES (NEW.id, 'BookingCreated', '{}'); RETURN NEW; END $$;\n\
            CREATE TRIGGER outbox_row AFTER INSERT ON app.bookings FOR EACH ROW EXECUTE FUNCTION app.booking_outbox();\n\
            INSERT INTO app.bookings (guest) VALUES ('ana');\n\
            WITH batch AS (SELECT id FROM app.message WHERE status = 'pending' ORDER BY occurred_at LIMIT 50 FOR NO KEY UPDATE SKIP LOCKED)\n\
            UPDATE app.message m SET status = 'sending' FROM batch WHERE m.id = batch.id RETURNING m.id, m.data;\n\
            -- publish each to the broker; on ack:\n\
            UPDATE app.message SET status = 'sent' WHERE id = $1;\n\
            CREATE TABLE app.inbox (message_id uuid, consumer text, PRIMARY KEY (message_id, consumer));\n";
        let r = check(sql);
        assert_all_ok("inline sketch", &r);
        assert!(r.parse_problems.is_empty(), "{:#?}", r.parse_problems);
        assert!(get(&r, "write-transaction").message.contains("trigger"));
        assert!(
            get(&r, "outbox-table")
                .message
                .contains("recognised by its columns")
        );
    }

    #[test]
    fn parse_errors_carry_line_and_column() {
        let sql = "-- outbox\n\nCREATE TABLE outbox (\n    id uuid PRIMARY KEY,\n    event_type text NOT NULL,\n    payload jsonb NOT NULL,\n  );\n";
        let r = check(sql);
        let p = match r.parse_problems.first() {
            Some(p) => p,
            None => panic!("no parse problem in {r:#?}"),
        };
        assert_eq!((p.line, p.column), (7, 3), "{p:?}");
        assert!(p.message.contains("found: )"), "{}", p.message);
        // The table is still judged from its tokens.
        assert_eq!(get(&r, "outbox-table").status, Status::Ok);
        assert_eq!(get(&r, "event-id-unique").status, Status::Ok);
    }

    #[test]
    fn pseudocode_between_statements_is_reported_and_skipped() {
        let sql = "BEGIN;\nINSERT INTO bookings (id) VALUES (1);\nINSERT INTO outbox (event_id) VALUES (2);\nCOMMIT;\n\
                   loop every 500ms:\n  rows = fetch\nSELECT id FROM outbox WHERE published_at IS NULL ORDER BY created_at LIMIT 10 FOR UPDATE SKIP LOCKED;\n";
        let r = check(sql);
        let p = r.parse_problems.first();
        assert!(
            p.is_some_and(|p| p.line == 5 && p.column == 1),
            "{:#?}",
            r.parse_problems
        );
        let m = Model::build(sql);
        assert!(
            m.units
                .iter()
                .any(|u| u.facts.skip_locked && u.ast.is_some())
        );
        assert_eq!(get(&r, "write-transaction").status, Status::Ok);
    }

    #[test]
    fn a_function_body_counts_as_one_transaction() {
        let sql = "CREATE FUNCTION create_booking(p_guest uuid) RETURNS uuid LANGUAGE plpgsql AS $$\n\
                   DECLARE v_id uuid := gen_random_uuid();\nBEGIN\n\
                   INSERT INTO bookings (id, guest_id) VALUES (v_id, p_guest);\n\
                   INSERT INTO outbox (event_id, event_type, payload) VALUES (gen_random_uuid(), 'BookingCreated', '{}');\n\
                   RETURN v_id;\nEND;\n$$;";
        let r = check(sql);
        let w = get(&r, "write-transaction");
        assert_eq!(w.status, Status::Ok, "{}", w.message);
        assert!(w.message.contains("create_booking"));
    }

    #[test]
    fn report_serializes_with_lowercase_statuses() {
        let r = check(NO_INBOX);
        let json = match serde_json::to_value(&r) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        };
        let statuses: Vec<&str> = json["items"]
            .as_array()
            .map(|a| a.iter().filter_map(|i| i["status"].as_str()).collect())
            .unwrap_or_default();
        assert!(statuses.contains(&"missing") && statuses.contains(&"ok"));
    }

    /// A small deterministic generator, so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
        }
    }

    #[test]
    fn random_garbage_never_panics() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let pieces = [
            "CREATE",
            "TABLE",
            "outbox",
            "(",
            ")",
            ",",
            ";",
            "'",
            "\"",
            "$$",
            "$q$",
            "--",
            "/*",
            "*/",
            "\n",
            " ",
            "BEGIN",
            "COMMIT",
            "END",
            "INSERT INTO",
            "UPDATE",
            "SET",
            "=",
            "SELECT",
            "FROM",
            "WHERE",
            "FOR UPDATE SKIP LOCKED",
            "$1",
            "?",
            ":x",
            "::jsonb",
            "TRIGGER",
            "ATOMIC",
            "CASE",
            "é",
            "🙂",
            "\0",
            "\\",
            "e'",
            "ATTACH",
            "VACUUM",
            "generated always as identity",
            "interval",
            "now()",
            "x.y.",
            "[",
            "]",
            "#",
            "//",
        ];
        for round in 0..400 {
            let mut s = String::new();
            if round % 4 == 0 {
                let bytes: Vec<u8> = (0..rng.below(400))
                    .map(|_| (rng.next() & 0xff) as u8)
                    .collect();
                s = String::from_utf8_lossy(&bytes).into_owned();
            } else {
                for _ in 0..rng.below(120) {
                    s.push_str(pieces[rng.below(pieces.len())]);
                    if rng.below(3) == 0 {
                        s.push(' ');
                    }
                }
            }
            let r = check(&s);
            assert_eq!(r.items.len(), 14);
            // Mutations of a real sketch.
            let cut = rng.below(GOOD.len());
            let mut mutated = String::new();
            mutated.push_str(GOOD.get(..cut).unwrap_or(""));
            mutated.push_str(pieces[rng.below(pieces.len())]);
            mutated.push_str(GOOD.get(cut..).unwrap_or(""));
            let _ = check(&mutated);
        }
    }

    #[test]
    fn huge_inputs_never_panic_and_stay_bounded() {
        let started = Instant::now();
        let nested = format!("SELECT {}1{};", "(".repeat(50_000), ")".repeat(50_000));
        let r = check(&nested);
        assert!(!r.parse_problems.is_empty());
        let many = "INSERT INTO outbox (event_id) VALUES (1);\n".repeat(30_000);
        let _ = check(&many);
        let unterminated = format!("SELECT '{}", "x".repeat(2_000_000));
        let r = check(&unterminated);
        assert!(r.parse_problems.iter().any(|p| p.message.contains("KiB")));
        let pseudo = "for each row publish it\n".repeat(40_000);
        let _ = check(&pseudo);
        let _ = check(&";".repeat(1_000_000));
        assert!(started.elapsed() < Duration::from_secs(60));
    }

    #[test]
    fn checking_good_sql_is_fast() {
        let _ = check(GOOD);
        let started = Instant::now();
        let r = check(GOOD);
        let took = started.elapsed();
        assert!(r.passed);
        assert!(took < Duration::from_millis(500), "took {took:?}");
    }
}
