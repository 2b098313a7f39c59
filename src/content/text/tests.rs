//! How answers are read: words, clauses, what a clause asserts, and how far a denial reaches.

use super::*;

fn words(text: &str) -> Vec<Vec<String>> {
    Answer::read(text)
        .sentences
        .into_iter()
        .map(|s| s.tokens.into_iter().map(|t| t.word).collect())
        .collect()
}

/// Each clause of the first sentence, with whether it asserts.
fn clauses(text: &str) -> Vec<(String, bool)> {
    let answer = Answer::read(text);
    (0..answer.sentences[0].clauses.len())
        .map(|c| {
            (
                answer.clause_text(0, c).to_string(),
                answer.sentences[0].clauses[c].asserts,
            )
        })
        .collect()
}

fn asserts_anything(text: &str) -> bool {
    Answer::read(text)
        .sentences
        .iter()
        .any(|s| s.clauses.iter().any(|c| c.asserts))
}

#[test]
fn lowercases_expands_contractions_and_splits_sentences() {
    assert_eq!(
        words("You DON'T need it. It's fine!"),
        vec![
            vec!["you", "do", "not", "need", "it"],
            vec!["it", "is", "fine"]
        ]
    );
    assert_eq!(words("can\u{2019}t"), vec![vec!["can", "not"]]);
    assert_eq!(
        words("the team's relay"),
        vec![vec!["the", "team", "relay"]]
    );
}

#[test]
fn hyphens_and_underscores_split_words_numbers_stay_whole() {
    assert_eq!(
        words("point-to-point published_at"),
        vec![vec!["point", "to", "point", "published", "at"]]
    );
    assert_eq!(
        words("a balance of 1,545.00"),
        vec![vec!["a", "balance", "of", "154500"]]
    );
    assert_eq!(words("e.g. a queue"), vec![vec!["e", "g", "a", "queue"]]);
}

#[test]
fn punctuation_cuts_clauses_and_keeps_the_learners_words() {
    let answer = Answer::read("No, the outbox; it WORKS (mostly)");
    let s = &answer.sentences[0];
    assert_eq!(
        s.tokens.iter().map(|t| t.clause).collect::<Vec<_>>(),
        vec![0, 1, 1, 2, 2, 3]
    );
    assert_eq!(answer.clause_text(0, 2), "it WORKS");
}

#[test]
fn a_list_of_terms_asserts_nothing() {
    for list in [
        "queue, topic, competing consumers, copy, broadcast, subscribers",
        "polling, CDC, latency, simplicity, WAL, debezium",
        "one subscriber, templates, configuration, single owner, duplicate emails",
        "Polling: simplicity, latency. CDC: WAL, Debezium, low latency.",
        "outbox table; same transaction; relay; at-least-once",
        "1. polling relay\n2. CDC / log tailing",
        "exponential backoff, jitter, 5 attempts, DLQ, alerting, redrive",
        "two writes, database and broker, no atomicity, crash in between",
        "queue depth, oldest message age, consumer lag, unpublished outbox rows",
        "write model, commands, read model, queries, projections, replay",
        "polling / CDC / latency / WAL",
        "append-only log, replay, snapshots, compensating event",
        "fire-and-forget, dual write, outbox row",
    ] {
        assert!(!asserts_anything(list), "{list:?} asserts something");
    }
}

#[test]
fn claims_assert_in_any_style() {
    for claim in [
        "workers compete for thumbnail jobs",
        "each subscriber gets its own copy",
        "use a topic",
        "dedupe by event id",
        "the relay crashed before marking the row",
        "work that 1 worker should do -> queue",
        "notif = an id",
        "no outbox needed",
        "No outbox.",
        "brokers give at-least-once",
        "Retry with exponential backoff.",
        "the consumer dedupes on the event id",
        "It is a dual write.",
        "the event carries the new email",
    ] {
        assert!(asserts_anything(claim), "{claim:?} asserts nothing");
    }
}

#[test]
fn fragments_count_in_a_sentence_that_says_something_but_not_in_a_list() {
    assert_eq!(
        clauses("Polling: simple SQL loop, but latency is the poll interval"),
        vec![
            ("Polling".to_string(), true),
            ("simple SQL loop".to_string(), true),
            ("but latency is the poll interval".to_string(), true),
        ]
    );
    assert_eq!(
        clauses("queue, topic, competing consumers, copy, and each subscriber gets a copy"),
        vec![
            ("queue".to_string(), false),
            ("topic".to_string(), false),
            ("competing consumers".to_string(), false),
            ("copy".to_string(), false),
            ("and each subscriber gets a copy".to_string(), true),
        ]
    );
    // The workshop's own shorthand: a bracketed reason is not an item of a list.
    let shorthand = clauses(
        "queue (work distribution); thumbnails; no outbox needed (workers are idempotent by URL)",
    );
    assert!(
        shorthand.iter().all(|(_, asserts)| *asserts),
        "{shorthand:?}"
    );
}

#[test]
fn quotation_marks_mark_words_as_quoted() {
    let answer = Answer::read(r#"They say "a queue broadcasts", but it doesn't."#);
    let quoted: Vec<&str> = answer.sentences[0]
        .tokens
        .iter()
        .filter(|t| t.quoted)
        .map(|t| t.word.as_str())
        .collect();
    assert_eq!(quoted, vec!["a", "queue", "broadcasts"]);
    let single = Answer::read("the thin event says 'order 17 changed' and nothing else");
    assert_eq!(
        single.sentences[0]
            .tokens
            .iter()
            .filter(|t| t.quoted)
            .count(),
        3
    );
    // An apostrophe is not a quotation mark.
    let apostrophes = Answer::read("the team's relay doesn't mark rows");
    assert!(apostrophes.sentences[0].tokens.iter().all(|t| !t.quoted));
}

#[test]
fn a_denial_stops_at_a_new_clause_or_a_new_predicate() {
    let denied_words = |text: &str| -> Vec<String> {
        let answer = Answer::read(text);
        let s = &answer.sentences[0];
        (0..s.tokens.len())
            .filter(|&i| denied(s, i, &[]))
            .map(|i| s.tokens[i].word.clone())
            .collect()
    };
    assert_eq!(
        denied_words("consumers don't call back and keep a local copy"),
        vec!["call", "back"]
    );
    assert_eq!(
        denied_words("not the database and the broker"),
        vec!["the", "database", "and", "the", "broker"]
    );
    assert_eq!(
        denied_words("there is no dual write because the row commits with the order"),
        vec!["dual", "write"]
    );
    assert_eq!(
        denied_words("use an outbox instead of publishing after commit"),
        vec!["of", "publishing", "after", "commit"]
    );
    assert_eq!(
        denied_words("neither the relay nor the broker dedupes"),
        vec!["the", "relay", "the", "broker", "dedupes"]
    );
    assert!(denied_words("not only the relay but also the broker").is_empty());
}

#[test]
fn a_list_in_an_answer_that_says_something_still_asserts_nothing() {
    let listed = |text: &str, clause: &str| {
        let answer = Answer::read(text);
        answer.sentences.iter().enumerate().any(|(s, sentence)| {
            (0..sentence.clauses.len())
                .any(|c| answer.clause_text(s, c) == clause && !sentence.clauses[c].asserts)
        })
    };
    // Whatever separates the terms.
    let semicolons =
        "detect gaps; park; different partitions; buffer; each service commits locally";
    assert!(listed(semicolons, "park"));
    assert!(listed(semicolons, "detect gaps"));
    assert!(!listed(semicolons, "each service commits locally"));
    let lines = "relay\nslow\ncdc\neach service commits locally";
    assert!(listed(lines, "relay"));
    // Two notes beside claims are notes, not a list.
    assert!(!listed(
        "queue, competing workers. msg = s3 key. no outbox: thumbs are idempotent",
        "queue"
    ));
    assert!(!listed(
        "Queue. Workers compete. No outbox. Idempotent by URL.",
        "Idempotent by URL"
    ));
}

#[test]
fn words_inside_a_hyphenated_compound_are_not_verbs() {
    assert!(!asserts_anything("append-only log, event-carried state"));
    assert!(asserts_anything("dead-letter it after five attempts"));
    assert!(asserts_anything("the relay re-sends the row"));
}
