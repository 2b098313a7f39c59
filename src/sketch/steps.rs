//! The order of effects: what each statement and each line of pseudocode or comment does (hand
//! the event to the broker, acknowledge, delete, update, mark sent, insert, do the consumer's work,
//! begin, commit), in the order
//! the text says it happens. A statement is read from its facts. Prose is read clause by clause:
//! "delete the row after publishing it" puts the publish first, "before publishing, delete it"
//! puts it last, a negated clause ("never delete before the ack") does nothing, and a clause that
//! opens a failure path ("if the publish fails, ...") silences the rest of its sentence.

use super::facts::{Facts, facts_of};
use super::lex::{Tok, lex};
use super::words::{mentions_publish, publish_call};

#[derive(Clone, Debug)]
pub(super) enum Effect {
    /// The event handed to the broker.
    Publish,
    /// An acknowledgement: the broker's to the relay, or the consumer's to the broker (an ack,
    /// or committing the consumer offset).
    Ack,
    /// Rows deleted; the table when the text names one ("DELETE FROM outbox"), none for prose
    /// ("delete the row").
    Delete {
        table: Option<String>,
        filter: Vec<Tok>,
    },
    /// Rows updated, and the columns set.
    Update {
        table: String,
        sets: Vec<(String, Vec<Tok>)>,
    },
    /// Prose that marks rows sent ("mark it published") without saying which column.
    Mark,
    /// Rows inserted.
    Insert { table: String },
    /// Prose that does the consumer's work ("dedupe", "apply", "charge", "record").
    Work,
    /// Prose that opens a transaction (`with db.transaction():`, "begin").
    Begin,
    /// Prose that commits ("commit, then ack").
    Commit,
}

#[derive(Clone, Debug)]
pub(super) struct Step {
    pub(super) effect: Effect,
    /// Where the text says it, as a byte offset.
    pub(super) at: usize,
    /// Its place in the order: where its statement or line starts, then its place there.
    pub(super) key: (usize, usize),
    /// The statement it is part of; none for a comment.
    pub(super) unit: Option<usize>,
    /// It is a step of a procedure (a statement, a line of pseudocode, a call, a clause that
    /// opens with a verb or a sequence word such as "then"), not prose describing the design
    /// ("the relay publishes rows in order").
    pub(super) step: bool,
}

/// What a statement does, in the order its keywords come.
pub(super) fn of_statement(facts: &Facts, start: usize, unit: usize) -> Vec<Step> {
    let mut out: Vec<(usize, Effect)> = Vec::new();
    out.extend(
        facts
            .calls
            .iter()
            .filter(|c| publish_call(&c.name))
            .map(|c| (c.at, Effect::Publish)),
    );
    out.extend(facts.deletes.iter().map(|d| {
        (
            d.at,
            Effect::Delete {
                table: Some(d.table.clone()),
                filter: d.filter.clone(),
            },
        )
    }));
    out.extend(facts.updates.iter().map(|u| {
        (
            u.at,
            Effect::Update {
                table: u.table.clone(),
                sets: u.sets.clone(),
            },
        )
    }));
    out.extend(
        facts
            .inserts
            .iter()
            .map(|t| (start, Effect::Insert { table: t.clone() })),
    );
    out.sort_by_key(|(at, _)| *at);
    out.into_iter()
        .enumerate()
        .map(|(n, (at, effect))| Step {
            effect,
            at,
            key: (start, n),
            unit: Some(unit),
            step: true,
        })
        .collect()
}

/// What the prose in `src[from..to]` does, line by line. SQL written into the prose is read as
/// SQL up to the end of its line, or, with `sql_to_end`, up to `to` (pseudocode whose SQL spans
/// lines).
pub(super) fn of_prose(
    src: &str,
    from: usize,
    to: usize,
    sql_to_end: bool,
    unit: Option<usize>,
) -> Vec<Step> {
    let mut out = Vec::new();
    let Some(text) = src.get(from..to.min(src.len())) else {
        return out;
    };
    let mut line_start = from;
    for line in text.split('\n') {
        let line_end = line_start + line.len();
        let sql_end = if sql_to_end { to } else { line_end };
        let words = prose_words(src, line_start, line_end);
        let events = line_events(src, &words, sql_end);
        out.extend(
            events
                .into_iter()
                .enumerate()
                .map(|(n, (at, effect))| Step {
                    step: sql_to_end || is_step(&words, at, &effect),
                    effect,
                    at,
                    key: (line_start, n),
                    unit,
                }),
        );
        line_start = line_end + 1;
    }
    out
}

/// A word or a punctuation mark of prose, lowercased, with where it starts.
#[derive(Clone, Debug)]
struct Word {
    text: String,
    start: usize,
    punct: bool,
}

/// Prose split into words (letters, digits, `_`, and `'` or `.` between two of those, so
/// "don't" and "broker.publish" stay whole) and single punctuation marks (`->` and `=>` kept).
fn prose_words(src: &str, from: usize, to: usize) -> Vec<Word> {
    let text = src.get(from..to).unwrap_or("");
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let word_char = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&(at, c)) = chars.get(i) {
        if word_char(c) {
            let mut j = i + 1;
            while let Some(&(_, d)) = chars.get(j) {
                let joins = (d == '\'' || d == '.')
                    && chars.get(j + 1).is_some_and(|&(_, n)| word_char(n))
                    && chars
                        .get(j.wrapping_sub(1))
                        .is_some_and(|&(_, p)| word_char(p));
                if word_char(d) || joins {
                    j += 1;
                } else {
                    break;
                }
            }
            let end = chars.get(j).map_or(text.len(), |&(e, _)| e);
            out.push(Word {
                text: text.get(at..end).unwrap_or("").to_lowercase(),
                start: from + at,
                punct: false,
            });
            i = j;
        } else if c.is_whitespace() {
            i += 1;
        } else {
            let two = matches!(
                (c, chars.get(i + 1).map(|&(_, n)| n)),
                ('-', Some('>')) | ('=', Some('>'))
            );
            let len = if two { 2 } else { 1 };
            let end = chars.get(i + len).map_or(text.len(), |&(e, _)| e);
            out.push(Word {
                text: text.get(at..end).unwrap_or("").to_string(),
                start: from + at,
                punct: true,
            });
            i += len;
        }
    }
    out
}

const PUBLISH_VERBS: &[&str] = &[
    "publish",
    "publishes",
    "publishing",
    "republish",
    "republishes",
    "produce",
    "produces",
    "producing",
    "emit",
    "emits",
    "emitting",
];

/// Verbs that hand something on, which mean publishing only on a line about the broker.
const SEND_VERBS: &[&str] = &[
    "send",
    "sends",
    "sending",
    "ship",
    "ships",
    "shipping",
    "push",
    "pushes",
    "pushing",
    "forward",
    "forwards",
    "forwarding",
    "deliver",
    "delivers",
    "dispatch",
    "dispatches",
];

const BROKER_WORDS: &[&str] = &["topic", "queue", "bus", "exchange", "stream", "partition"];

const ACK_WORDS: &[&str] = &[
    "ack",
    "acks",
    "acked",
    "acking",
    "acknowledge",
    "acknowledges",
    "acknowledged",
    "acknowledging",
    "acknowledgement",
    "acknowledgment",
];

const DELETE_VERBS: &[&str] = &[
    "delete", "deletes", "deleting", "deleted", "remove", "removes", "removing", "removed",
    "purge", "purges", "purged", "purging",
];

const MARK_VERBS: &[&str] = &[
    "mark", "marks", "marking", "marked", "flag", "flags", "flagging", "flagged", "update",
    "updates", "updating", "set", "sets", "setting",
];

/// What a row is marked as when it has gone out.
const SENT_WORDS: &[&str] = &[
    "sent",
    "published",
    "done",
    "delivered",
    "complete",
    "completed",
    "dispatched",
    "relayed",
    "acked",
    "shipped",
    "forwarded",
];

const COMMIT_WORDS: &[&str] = &["commit", "commits", "committing", "committed"];

/// Verbs of a consumer doing its work.
const WORK_VERBS: &[&str] = &[
    "dedupe",
    "dedupes",
    "deduplicate",
    "deduplicates",
    "process",
    "processes",
    "handle",
    "handles",
    "apply",
    "applies",
    "record",
    "records",
    "store",
    "stores",
    "save",
    "saves",
    "charge",
    "charges",
    "bill",
    "bills",
    "insert",
    "inserts",
    "write",
    "writes",
];

const NEGATIONS: &[&str] = &[
    "not",
    "never",
    "no",
    "don't",
    "dont",
    "doesn't",
    "doesnt",
    "isn't",
    "won't",
    "cannot",
    "can't",
    "nothing",
    "instead",
    "without",
    "rather",
    "avoid",
    "nor",
    "neither",
    "mustn't",
    "shouldn't",
];

const FAILURES: &[&str] = &[
    "fail",
    "fails",
    "failed",
    "failing",
    "failure",
    "failures",
    "error",
    "errors",
    "throw",
    "throws",
    "thrown",
    "exception",
    "exceptions",
    "timeout",
    "timeouts",
    "nack",
    "nacks",
    "nacked",
    "down",
    "unavailable",
    "unreachable",
    "rejects",
    "rejected",
    "crash",
    "crashes",
];

/// Words that open a step of a procedure.
const STEP_OPENERS: &[&str] = &[
    "then",
    "next",
    "finally",
    "afterwards",
    "now",
    "and",
    "after",
    "once",
    "when",
    "if",
    "for",
    "foreach",
    "loop",
    "while",
    "on",
    "wait",
    "step",
    "first",
    "second",
    "third",
];

/// Whether the effect said at `at` is a step of a procedure: SQL, a call, or a clause that
/// opens with a verb or a sequence word, or follows a `:`, an arrow or "then".
fn is_step(words: &[Word], at: usize, effect: &Effect) -> bool {
    if matches!(
        effect,
        Effect::Delete { table: Some(_), .. } | Effect::Update { .. } | Effect::Insert { .. }
    ) {
        return true;
    }
    let Some(k) = words.iter().position(|w| w.start == at) else {
        return false;
    };
    if words.get(k + 1).is_some_and(|n| n.punct && n.text == "(") {
        return true;
    }
    let separator = |w: &Word| {
        (w.punct && matches!(w.text.as_str(), "," | ":" | ";" | "." | "->" | "=>"))
            || (!w.punct && w.text == "then")
    };
    let opened_by = words.get(..k).unwrap_or(&[]).iter().rposition(separator);
    if let Some(sep) = opened_by.and_then(|j| words.get(j))
        && matches!(sep.text.as_str(), ":" | "->" | "=>" | "then")
    {
        return true;
    }
    let first = words
        .get(opened_by.map_or(0, |j| j + 1)..)
        .unwrap_or(&[])
        .iter()
        .find(|w| !w.punct);
    first.is_some_and(|w| {
        w.text.chars().all(|c| c.is_ascii_digit())
            || [
                STEP_OPENERS,
                PUBLISH_VERBS,
                SEND_VERBS,
                DELETE_VERBS,
                MARK_VERBS,
                ACK_WORDS,
                COMMIT_WORDS,
            ]
            .iter()
            .any(|list| has(list, w))
            || w.text.contains('.')
    })
}

/// Words that put what follows them first: "X after Y" is Y, then X.
const AFTER_WORDS: &[&str] = &["after", "once", "when", "whenever", "if", "until"];

fn has(list: &[&str], w: &Word) -> bool {
    !w.punct && list.contains(&w.text.as_str())
}

/// The effects one line of prose describes, in the order it says they happen.
fn line_events(src: &str, words: &[Word], sql_end: usize) -> Vec<(usize, Effect)> {
    let broker = {
        let line: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        mentions_publish(&line.join(" ")) || words.iter().any(|w| has(BROKER_WORDS, w))
    };
    let mut out = Vec::new();
    // Sentences end at `;` or a full stop; clauses at `,`, `:`, arrows and "then".
    for sentence in words.split(|w| w.punct && matches!(w.text.as_str(), ";" | "." | "!")) {
        let mut held: Vec<(usize, Effect)> = Vec::new();
        let clauses = sentence.split(|w| {
            (w.punct && matches!(w.text.as_str(), "," | ":" | "->" | "=>"))
                || (!w.punct && w.text == "then")
        });
        for clause in clauses {
            if clause.iter().any(|w| has(FAILURES, w)) {
                // A failure path: nothing in the rest of the sentence is the normal order.
                held.clear();
                break;
            }
            let conn = clause
                .iter()
                .position(|w| has(AFTER_WORDS, w) || (!w.punct && w.text == "before"));
            let Some(k) = conn else {
                out.extend(clause_events(src, clause, broker, sql_end));
                out.append(&mut held);
                continue;
            };
            let (pre, rest) = clause.split_at(k);
            let post = rest.get(1..).unwrap_or(&[]);
            let pre_events = clause_events(src, pre, broker, sql_end);
            let post_events = clause_events(src, post, broker, sql_end);
            let before = rest.first().is_some_and(|w| w.text == "before");
            let leading = pre.iter().all(|w| w.punct);
            match (before, leading) {
                // "before Y, X": Y waits for the next clause.
                (true, true) => held.extend(post_events),
                (true, false) => {
                    out.extend(pre_events);
                    out.extend(post_events);
                    out.append(&mut held);
                }
                // "after Y, X" and "X after Y": Y first.
                (false, _) => {
                    out.extend(post_events);
                    out.extend(pre_events);
                    if !leading {
                        out.append(&mut held);
                    }
                }
            }
        }
        out.append(&mut held);
    }
    out
}

/// The effects of one clause in the order its words come; those after a negation are dropped.
fn clause_events(src: &str, clause: &[Word], broker: bool, sql_end: usize) -> Vec<(usize, Effect)> {
    let mut out = Vec::new();
    let mut i = 0;
    let next = |i: usize| clause.get(i + 1).map_or("", |w: &Word| w.text.as_str());
    while let Some(w) = clause.get(i) {
        i += 1;
        if w.punct {
            continue;
        }
        if has(NEGATIONS, w) {
            break;
        }
        let t = w.text.as_str();
        // SQL inside the prose: read it as SQL and skip past it.
        let sql = match t {
            "delete" if next(i - 1) == "from" => true,
            "insert" if next(i - 1) == "into" => true,
            "update" => clause
                .iter()
                .skip(i)
                .take(4)
                .any(|x| !x.punct && x.text == "set"),
            _ => false,
        };
        if sql && let Some(effect) = sql_effect(src, w.start, sql_end) {
            out.push((w.start, effect));
            while clause
                .get(i)
                .is_some_and(|x| x.start < sql_end && x.text != ";")
            {
                i += 1;
            }
            continue;
        }
        let called = clause.get(i).is_some_and(|n| n.punct && n.text == "(");
        let effect = if has(PUBLISH_VERBS, w)
            || ((t.contains('.') || called) && publish_call(t))
            || (broker && has(SEND_VERBS, w))
        {
            Some(Effect::Publish)
        } else if has(ACK_WORDS, w) {
            Some(Effect::Ack)
        } else if t == "begin"
            || t.split(['.', '_'])
                .any(|p| matches!(p, "transaction" | "tx" | "txn" | "atomic" | "atomically"))
        {
            Some(Effect::Begin)
        } else if has(COMMIT_WORDS, w) {
            let offset = clause
                .iter()
                .skip(i)
                .take(3)
                .any(|x| x.text.starts_with("offset"));
            Some(if offset { Effect::Ack } else { Effect::Commit })
        } else if has(DELETE_VERBS, w) {
            Some(Effect::Delete {
                table: None,
                filter: Vec::new(),
            })
        } else if has(WORK_VERBS, w) {
            Some(Effect::Work)
        } else if has(MARK_VERBS, w)
            && clause
                .iter()
                .skip(i)
                .any(|x| has(SENT_WORDS, x) || sent_column(&x.text))
        {
            Some(Effect::Mark)
        } else {
            None
        };
        if let Some(e) = effect {
            out.push((w.start, e));
        }
    }
    out
}

/// A column name that records sending: `published_at`, `sent`, `is_dispatched`.
fn sent_column(name: &str) -> bool {
    let name = name.rsplit('.').next().unwrap_or(name);
    !["claim", "lock", "lease", "attempt", "retry"]
        .iter()
        .any(|k| name.contains(k))
        && name.split('_').any(|p| {
            ["publish", "sent", "dispatch", "deliver", "relayed", "done"]
                .iter()
                .any(|s| p.starts_with(s))
        })
        && name.contains('_')
}

/// The DELETE, UPDATE or INSERT that starts at `at`, read with the SQL lexer up to `to`.
fn sql_effect(src: &str, at: usize, to: usize) -> Option<Effect> {
    let (toks, _) = lex(src, at, to);
    let f = facts_of(&toks);
    if let Some(d) = f.deletes.into_iter().find(|d| d.at == at) {
        return Some(Effect::Delete {
            table: Some(d.table),
            filter: d.filter,
        });
    }
    if let Some(u) = f.updates.into_iter().find(|u| u.at == at) {
        return Some(Effect::Update {
            table: u.table,
            sets: u.sets,
        });
    }
    f.inserts
        .into_iter()
        .next()
        .filter(|_| toks.first().is_some_and(|t| t.start == at))
        .map(|table| Effect::Insert { table })
}

#[cfg(test)]
mod tests;
