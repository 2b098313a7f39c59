//! Prose read in the order it says things happen, whatever order the words come in.

use super::{Effect, of_prose};

/// The effects of `text` as short names, in order.
fn order(text: &str) -> Vec<String> {
    of_prose(text, 0, text.len(), false, None)
        .into_iter()
        .map(|s| match s.effect {
            Effect::Publish => "publish".to_string(),
            Effect::Ack => "ack".to_string(),
            Effect::Delete { table, .. } => format!("delete {}", table.unwrap_or_default()),
            Effect::Update { table, .. } => format!("update {table}"),
            Effect::Mark => "mark".to_string(),
            Effect::Insert { table } => format!("insert {table}"),
            Effect::Work => "work".to_string(),
            Effect::Begin => "begin".to_string(),
            Effect::Commit => "commit".to_string(),
        })
        .map(|s| s.trim().to_string())
        .collect()
}

#[test]
fn sequence_words_keep_the_text_order() {
    assert_eq!(
        order("-- delete the row, then publish it"),
        ["delete", "publish"]
    );
    assert_eq!(
        order("-- publish it; then delete the row"),
        ["publish", "delete"]
    );
    assert_eq!(
        order("// for each row: publish to kafka -> mark it sent"),
        ["publish", "mark"]
    );
}

#[test]
fn after_and_before_reorder_a_clause() {
    assert_eq!(
        order("-- delete the row after publishing it"),
        ["publish", "delete"]
    );
    assert_eq!(
        order("-- after publishing, delete the row"),
        ["publish", "delete"]
    );
    assert_eq!(
        order("-- delete the row before publishing it"),
        ["delete", "publish"]
    );
    assert_eq!(
        order("-- before publishing, delete the row"),
        ["delete", "publish"]
    );
    assert_eq!(
        order("-- mark it sent once the broker acks"),
        ["ack", "mark"]
    );
}

#[test]
fn sql_in_prose_is_read_as_sql() {
    assert_eq!(
        order("--   DELETE FROM app.outbox WHERE id = row.id; broker.publish(row)"),
        ["delete outbox", "publish"]
    );
    assert_eq!(
        order(
            "-- kafka.send(row)\n-- UPDATE outbox SET published_at = now(), tries = 0 WHERE id = $1"
        ),
        ["publish", "update outbox"]
    );
}

#[test]
fn negated_and_failure_clauses_say_nothing_happened() {
    assert!(
        order("-- Nothing is sent to the broker here, and we never publish in the tx").is_empty()
    );
    assert!(order("-- if the publish fails, delete the row and log it").is_empty());
    assert_eq!(
        order("-- publish(row) for each row; if publish throws, ROLLBACK and retry"),
        ["publish"]
    );
    assert_eq!(
        order("-- do not delete before the ack; publish first"),
        ["ack", "publish"]
    );
}

#[test]
fn sending_means_publishing_only_on_a_line_about_the_broker() {
    assert_eq!(order("-- send it to the orders topic"), ["publish"]);
    assert!(order("-- send the guest a welcome email").is_empty());
    assert_eq!(
        order("-- commit the offset, then charge the card"),
        ["ack", "work"]
    );
    assert_eq!(order("-- commit, then ack"), ["commit", "ack"]);
    assert_eq!(order("-- consume, dedupe, then ack"), ["work", "ack"]);
}

#[test]
fn prose_transactions_open_and_commit() {
    assert_eq!(
        order("    with db.transaction():\n        delete it; publish it\n    commit"),
        ["begin", "delete", "publish", "commit"]
    );
}

/// Whether each effect of `text` is a step of a procedure.
fn steps_of(text: &str) -> Vec<bool> {
    of_prose(text, 0, text.len(), false, None)
        .into_iter()
        .map(|s| s.step)
        .collect()
}

#[test]
fn procedure_steps_differ_from_remarks_about_the_design() {
    assert_eq!(steps_of("-- then publish each row to kafka"), [true]);
    assert_eq!(steps_of("-- publish(row)"), [true]);
    assert_eq!(steps_of("-- for each row: publish it"), [true]);
    assert_eq!(steps_of("-- 2. publish the batch"), [true]);
    assert_eq!(
        steps_of("-- The relay publishes rows in created_at order"),
        [false]
    );
    assert_eq!(steps_of("-- Each replica publishes its own batch"), [false]);
}
