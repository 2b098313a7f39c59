//! The consumer, read from the sketch: who it is (a service named in the comments of its part of
//! the sketch, or a name its inbox table or consumer column carries), and what its unit does in
//! order: whether it records the event id in the same transaction as its side effect, and
//! acknowledges only after that commits. The answers are shared facts the inbox item renders.

use super::design::Judge;
use super::shared::ConsumerScope;
use super::units::{Part, Region};
use crate::sketch::model::GroupKind;
use crate::sketch::steps::{Effect, Step};
use crate::sketch::words::words;

/// Words that say a sentence is about consuming.
const CONSUMER_WORDS: &[&str] = &[
    "consumer",
    "consumers",
    "consume",
    "consumes",
    "consuming",
    "consumed",
    "dedupe",
    "dedupes",
    "deduplicates",
    "dedup",
    "inbox",
    "subscriber",
    "subscribes",
    "listener",
    "listens",
    "receives",
    "handles",
    "handler",
    "idempotent",
    "processed",
    "downstream",
];

/// Words that say a sentence is about producing.
const PRODUCER_WORDS: &[&str] = &[
    "outbox",
    "producing",
    "publisher",
    "relay",
    "publishes",
    "emits",
    "emit",
    "produces",
    "creates",
    "create_booking",
    "writes",
    "written",
    "producer",
];

/// Name endings that make a word a service's name.
const SERVICE_SUFFIXES: &[&str] = &[
    "service",
    "consumer",
    "handler",
    "worker",
    "listener",
    "subscriber",
    "processor",
    "projector",
    "svc",
];

/// Name beginnings that make a service the producer's plumbing, not a consumer.
const PLUMBING: &[&str] = &[
    "outbox",
    "relay",
    "publisher",
    "producer",
    "poller",
    "dispatcher",
    "cdc",
    "debezium",
    "connector",
    "kafka",
    "broker",
];

/// A service's name as written in `word`, if it is one: `BillingService`, `billing-service`,
/// `notification_worker`.
fn service_name(word: &str) -> Option<&str> {
    let w = word
        .trim_end_matches("'s")
        .trim_matches(|c: char| !c.is_alphanumeric());
    let lower = w.to_lowercase();
    let suffix = SERVICE_SUFFIXES
        .iter()
        .find(|s| lower.ends_with(*s) && lower.len() > s.len() + 2)?;
    let stem = lower.get(..lower.len() - suffix.len())?;
    let stem = stem.trim_end_matches(['-', '_']);
    let joined = lower.len() - suffix.len() > stem.len()
        || w.chars()
            .nth(stem.chars().count())
            .is_some_and(char::is_uppercase);
    let plumbing = PLUMBING.iter().any(|p| stem.starts_with(p));
    (joined && stem.len() >= 3 && !plumbing && stem.chars().all(|c| c.is_alphanumeric()))
        .then_some(w)
}

/// The services a sentence names for the consumer, each with whether the text says so outright
/// (the words around the name talk of consuming, or the name is an arrow's target), which a
/// sentence outside the consumer's part must. A name on the left of an arrow, or among words of
/// producing and none of consuming, is the producer.
fn consumer_names(sentence: &str) -> Vec<(String, bool)> {
    let ws = words(sentence);
    let consuming = ws.iter().any(|w| CONSUMER_WORDS.contains(&w.as_str()));
    let producing = ws.iter().any(|w| PRODUCER_WORDS.contains(&w.as_str()));
    let raw: Vec<&str> = sentence.split_whitespace().collect();
    let bare = |k: usize| {
        raw.get(k).map_or(String::new(), |w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
    };
    let mut out: Vec<(String, bool)> = Vec::new();
    for (k, w) in raw.iter().enumerate() {
        // A service by its name's ending, or any CamelCase name the sentence says consumes
        // ("ReceiptMailer consumes ...", "consumer: ReceiptMailer").
        let acts = CONSUMER_VERBS.contains(&bare(k + 1).as_str())
            || (k > 0 && bare(k - 1).starts_with("consumer"));
        let two_words = two_word_service(w, raw.get(k + 1).copied());
        let Some(name) = service_name(w)
            .map(str::to_string)
            .or_else(|| camel_case(w).filter(|_| acts).map(str::to_string))
            .or(two_words)
        else {
            continue;
        };
        let name = name.as_str();
        let left_of_arrow = raw
            .get(k + 1)
            .is_some_and(|n| n.starts_with("->") || n.starts_with("=>"));
        let right_of_arrow = k > 0
            && raw
                .get(k - 1)
                .is_some_and(|p| p.ends_with("->") || p.ends_with("=>"));
        let near: Vec<String> = (k.saturating_sub(3)..=k + 3)
            .filter(|&j| j != k)
            .map(bare)
            .collect();
        let near_consuming = near.iter().any(|w| CONSUMER_WORDS.contains(&w.as_str()));
        let near_producing = near.iter().any(|w| PRODUCER_WORDS.contains(&w.as_str()));
        if left_of_arrow || (near_producing && !near_consuming && !right_of_arrow) {
            continue;
        }
        let outright = near_consuming || right_of_arrow || acts || (consuming && !producing);
        if (outright || !producing) && !out.iter().any(|(o, _)| o == name) {
            out.push((name.to_string(), outright));
        }
    }
    out
}

/// A service named in two words, "Billing service": a capitalised name, then the kind of
/// service, as "the Billing service".
fn two_word_service(word: &str, next: Option<&str>) -> Option<String> {
    let w = word.trim_matches(|c: char| !c.is_alphanumeric());
    let kind = next?
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    let lower = w.to_lowercase();
    let named = w.chars().next().is_some_and(char::is_uppercase)
        && w.len() >= 3
        && w.chars().all(char::is_alphanumeric)
        && ![
            "the", "a", "an", "our", "this", "that", "each", "every", "one", "any",
        ]
        .contains(&lower.as_str())
        && !PLUMBING.iter().any(|p| lower.starts_with(p))
        && !CONSUMER_WORDS.contains(&lower.as_str());
    (named && ["service", "consumer", "worker", "handler"].contains(&kind.as_str()))
        .then(|| format!("the {w} {kind}"))
}

/// Verbs that say the name before them consumes.
const CONSUMER_VERBS: &[&str] = &[
    "consumes",
    "dedupes",
    "deduplicates",
    "subscribes",
    "listens",
    "receives",
    "handles",
    "processes",
];

/// A CamelCase name as written in `word` (`ReceiptMailer`): letters and digits, a capital
/// first, and a second capital after a small letter.
fn camel_case(word: &str) -> Option<&str> {
    let w = word
        .trim_end_matches("'s")
        .trim_matches(|c: char| !c.is_alphanumeric());
    let mut chars = w.chars();
    let first_upper = chars.next().is_some_and(char::is_uppercase);
    let hump = w
        .chars()
        .zip(w.chars().skip(1))
        .any(|(a, b)| a.is_lowercase() && b.is_uppercase());
    let plumbing = PLUMBING.iter().any(|p| w.to_lowercase().starts_with(p));
    (first_upper && hump && !plumbing && w.chars().all(char::is_alphanumeric)).then_some(w)
}

/// Sentences of a comment: split at full stops, semicolons and line ends.
fn sentences(text: &str) -> Vec<String> {
    text.split(['\n', ';'])
        .flat_map(|l| l.split(". "))
        .map(str::to_string)
        .collect()
}

impl<'m> Judge<'m> {
    /// Who the consumer is, as the sketch names it. Names in the consumer's own part (its
    /// statements and the comments right above them or above the inbox table) come first, then
    /// services named where the sketch talks of consuming, then the name the inbox table or its
    /// consumer column carries.
    pub(super) fn find_consumer(&self, regions: &[Region]) -> Option<String> {
        let mut near: Vec<(usize, usize)> = regions
            .iter()
            .filter(|r| r.part == Part::Consumer)
            .map(|r| (r.from, r.to))
            .collect();
        if let Some(t) = self.inbox {
            let prev_end = self
                .m
                .units
                .iter()
                .filter(|u| u.end <= t.start && !u.in_body)
                .map(|u| u.end)
                .max()
                .unwrap_or(0);
            near.push((prev_end, t.start + 1));
        }
        let in_part = |off: usize| near.iter().any(|&(a, b)| a <= off && off < b);
        // The first sentence that names consumers, in the consumer's part first; a sentence
        // naming several ("EmailService and BillingService consume it") names them all.
        let mut first_choice: Option<Vec<String>> = None;
        let mut second: Option<Vec<String>> = None;
        for c in &self.m.comments {
            for s in sentences(&c.text) {
                let names = consumer_names(&s);
                let outright: Vec<String> = names
                    .iter()
                    .filter(|(_, o)| *o)
                    .map(|(n, _)| n.clone())
                    .collect();
                let all: Vec<String> = names.into_iter().map(|(n, _)| n).collect();
                if in_part(c.start) && !all.is_empty() && first_choice.is_none() {
                    first_choice = Some(all);
                } else if !outright.is_empty() && second.is_none() {
                    second = Some(outright);
                }
            }
        }
        if let Some(mut names) = first_choice.or(second) {
            names.truncate(3);
            return Some(match names.len() {
                0 | 1 => names.concat(),
                _ => {
                    let last = names.pop().unwrap_or_default();
                    format!("{} and {last}", names.join(", "))
                }
            });
        }
        let t = self.inbox?;
        let from_column = t
            .columns
            .iter()
            .filter(|c| c.name.contains("consumer") || c.name.contains("subscriber"))
            .find_map(|c| c.default.as_deref())
            .map(|d| d.trim_matches(|c: char| c == '\'' || c == '"' || c.is_whitespace()))
            .filter(|d| {
                !d.is_empty()
                    && d.chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            });
        if let Some(d) = from_column {
            return Some(format!("the {d} consumer"));
        }
        let stem = t
            .name
            .split('_')
            .find(|p| {
                p.len() >= 3
                    && ![
                        "inbox",
                        "processed",
                        "events",
                        "event",
                        "messages",
                        "message",
                        "dedup",
                        "dedupe",
                        "consumed",
                        "handled",
                        "seen",
                        "received",
                        "ids",
                        "log",
                    ]
                    .contains(p)
            })
            .map(str::to_string);
        stem.map(|s| format!("the {s} consumer"))
    }

    /// The consumer as the messages name it: its name from the sketch, or "the consumer".
    pub(super) fn consumer_label(&self) -> String {
        self.consumer
            .clone()
            .unwrap_or_else(|| "the consumer".to_string())
    }

    /// The transaction a step runs in, if not on its own: its statement's transaction or
    /// routine, or the one prose sits in.
    fn txn_of(&self, s: &Step) -> Option<(usize, usize)> {
        match s.unit.and_then(|u| self.m.units.get(u)) {
            Some(u) => self
                .m
                .group(u)
                .filter(|g| g.kind != GroupKind::Single)
                .map(|g| (g.start, g.end)),
            None => self.group_at(s.at).map(|g| (g.start, g.end)),
        }
    }

    fn step_end(&self, s: &Step) -> usize {
        match (self.txn_of(s), s.unit.and_then(|u| self.m.units.get(u))) {
            (Some((_, end)), _) => end,
            (None, Some(u)) => u.end,
            (None, None) => s.at,
        }
    }

    /// What the consumer's unit shows about its transaction and its acknowledgement.
    pub(super) fn find_consumer_scope(&self, regions: &[Region]) -> ConsumerScope {
        let inbox = self.inbox_name();
        if inbox.is_empty() {
            return ConsumerScope::NotShown;
        }
        let ob = self.ob();
        let mut said = None;
        for r in regions.iter().filter(|r| r.part == Part::Consumer) {
            let steps: Vec<&Step> = self.steps_in(r);
            let record = steps
                .iter()
                .find(|s| matches!(&s.effect, Effect::Insert { table } if table == inbox));
            let Some(record) = record else { continue };
            let effect = steps.iter().find(|s| match &s.effect {
                Effect::Insert { table } | Effect::Update { table, .. } => {
                    table != inbox && table != ob
                }
                Effect::Delete { table: Some(t), .. } => t != inbox && t != ob,
                _ => false,
            });
            let record_end = self.step_end(record);
            // An ack counts as early when nothing committed before it, and, above the record,
            // when its own line does not put the work first ("consume, dedupe, then ack").
            let ack = steps.iter().find(|a| {
                matches!(a.effect, Effect::Ack)
                    && a.at < record_end
                    && !steps
                        .iter()
                        .any(|c| matches!(c.effect, Effect::Commit) && c.key < a.key)
                    && !(a.key < record.key
                        && steps.iter().any(|w| {
                            matches!(w.effect, Effect::Work) && w.key.0 == a.key.0 && w.key < a.key
                        }))
            });
            if let Some(a) = ack {
                return ConsumerScope::AckFirst {
                    ack: a.at,
                    record: record.at,
                };
            }
            if let Some(e) = effect {
                let one = self.txn_of(record).is_some() && self.txn_of(record) == self.txn_of(e);
                let (record_at, effect_at) = (record.at, e.at);
                return if one {
                    ConsumerScope::OneTransaction {
                        record: record_at,
                        effect: effect_at,
                    }
                } else if record_end <= self.step_end(e) {
                    ConsumerScope::RecordFirst {
                        record: record_at,
                        effect: effect_at,
                    }
                } else {
                    ConsumerScope::EffectFirst {
                        record: record_at,
                        effect: effect_at,
                    }
                };
            }
            said = said.or_else(|| self.says_one_transaction(r.from, r.to));
        }
        match said {
            Some(at) => ConsumerScope::Said { at },
            None => ConsumerScope::NotShown,
        }
    }

    /// A comment between `from` and `to` that says two things share one transaction.
    fn says_one_transaction(&self, from: usize, to: usize) -> Option<usize> {
        self.m
            .comments
            .iter()
            .filter(|c| c.start >= from && c.start < to)
            .find(|c| {
                let ws = words(&c.text);
                let negated = ws.iter().any(|w| {
                    ["not", "never", "separate", "outside", "without"].contains(&w.as_str())
                });
                !negated
                    && ws.windows(2).any(|p| {
                        matches!(
                            (p.first().map(String::as_str), p.get(1).map(String::as_str)),
                            (
                                Some("same" | "one" | "single" | "shared"),
                                Some("transaction" | "tx" | "txn")
                            )
                        )
                    })
            })
            .map(|c| c.start)
    }
}
