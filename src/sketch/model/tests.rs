//! Parse problems carry the line and column of the sketch, and the SQL around pseudocode is still
//! read into the model.

use super::Model;
use crate::sketch::check::check;
use crate::sketch::report::Status;
use crate::sketch::testkit::get;

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
    let m = Model::build(sql, None);
    assert!(
        m.units
            .iter()
            .any(|u| u.facts.skip_locked && u.ast.is_some())
    );
    assert_eq!(get(&r, "write-transaction").status, Status::Ok);
}
