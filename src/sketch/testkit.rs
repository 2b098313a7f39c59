//! The sketches under fixtures/sketches/ and the assertions the checker's tests read reports
//! with, shared by the tests of every stage.

use super::check::check;
use super::report::{Item, SketchReport, Status};

pub(super) const GOOD: &str = include_str!("../../fixtures/sketches/good.sql");
pub(super) const GOOD_SQLITE: &str = include_str!("../../fixtures/sketches/good-sqlite.sql");
pub(super) const NO_SKIP_LOCKED: &str = include_str!("../../fixtures/sketches/no-skip-locked.sql");
pub(super) const NO_INDEX: &str = include_str!("../../fixtures/sketches/no-index.sql");
pub(super) const PUBLISH_IN_TX: &str =
    include_str!("../../fixtures/sketches/publish-in-transaction.sql");
pub(super) const DELETE_AFTER: &str =
    include_str!("../../fixtures/sketches/delete-after-publish.sql");
pub(super) const NO_INBOX: &str = include_str!("../../fixtures/sketches/no-inbox.sql");
pub(super) const NO_UNIQUE: &str = include_str!("../../fixtures/sketches/no-unique-event-id.sql");
pub(super) const SEPARATE: &str = include_str!("../../fixtures/sketches/separate-transactions.sql");
pub(super) const ATTACK: &str = include_str!("../../fixtures/sketches/attack.sql");
pub(super) const CDC: &str = include_str!("../../fixtures/sketches/cdc-no-marker.sql");

pub(super) fn get<'r>(r: &'r SketchReport, id: &str) -> &'r Item {
    match r.items.iter().find(|i| i.id == id) {
        Some(i) => i,
        None => panic!("no item {id} in {r:#?}"),
    }
}

pub(super) fn assert_all_ok(name: &str, r: &SketchReport) {
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

pub(super) fn assert_fails(sql: &str, id: &str, status: Status) -> SketchReport {
    let r = check(sql);
    let i = get(&r, id);
    assert_eq!(i.status, status, "{id}: {}", i.message);
    assert!(i.required, "{id} should be required");
    assert!(!r.passed, "a sketch with {id} {status:?} must not pass");
    r
}
