//! The inbox item: does the consumer have a dedupe store keyed by event id, so a redelivered
//! event is skipped, and does its unit record the id in the same transaction as its side effect
//! and acknowledge only after that commits (the shared `ConsumerScope`). The consumer is named
//! as the sketch names it.

use super::design::{Judge, item};
use super::shared::ConsumerScope;
use crate::sketch::report::{Item, Status};
use crate::sketch::roles::{consumer_like, event_id_rank};
use crate::sketch::schema::Column;
use crate::sketch::words::words;

impl<'m> Judge<'m> {
    pub(super) fn inbox_item(&self) -> Item {
        let id = "inbox";
        let Some(t) = self.inbox else {
            if let Some(absent) = self.not_in_file(id, "the consumer's dedupe store") {
                return absent;
            }
            let redis = self.m.comments.iter().any(|c| {
                let w = words(&c.text);
                w.iter().any(|x| x == "redis" || x == "setnx" || x == "nx")
            });
            let extra = if redis {
                " A cache key with a TTL is described in comments, but a cache can forget an id \
                 and cannot commit together with the consumer's own write; show it as a table."
            } else {
                ""
            };
            return item(
                id,
                Status::Missing,
                true,
                format!(
                    "No dedupe store for {consumer} (a processed_events or inbox table keyed by \
                     event id). Delivery is at-least-once, so {consumer} will see some events \
                     twice: record each event id in the same transaction as the side effect, \
                     and skip ids already seen.{extra}",
                    consumer = self.consumer_label()
                ),
            );
        };
        let mut id_cols: Vec<&Column> = t
            .columns
            .iter()
            .filter(|c| event_id_rank(&c.name).is_some())
            .collect();
        id_cols.sort_by_key(|c| event_id_rank(&c.name));
        if id_cols.is_empty() {
            // No column named like an event id: the key's column that is not the consumer's.
            let key: Vec<&String> = if t.pk.is_empty() {
                t.columns.iter().filter(|c| c.pk).map(|c| &c.name).collect()
            } else {
                t.pk.iter().collect()
            };
            id_cols.extend(
                key.iter()
                    .filter(|k| !consumer_like(k))
                    .filter_map(|k| t.find(k))
                    .take(1),
            );
        }
        let Some(c) = id_cols.first() else {
            return item(
                id,
                Status::Wrong,
                true,
                format!(
                    "`{}` (line {}) has no event id column, so it cannot tell a redelivery from \
                     a new event. Key it by the event id the outbox carries.",
                    t.name,
                    self.line(t.start)
                ),
            );
        };
        let keys = self.key_sets(t);
        let good = keys
            .iter()
            .find(|k| k.contains(&c.name) && k.iter().all(|x| *x == c.name || consumer_like(x)));
        let Some(key) = good else {
            let wide = keys.iter().find(|k| k.contains(&c.name));
            let why = match wide {
                Some(k) => format!(
                    "its key ({}) includes more than the event id and the consumer, so the same \
                     event can be recorded twice",
                    k.join(", ")
                ),
                None => format!("`{}` is neither PRIMARY KEY nor UNIQUE", c.name),
            };
            return item(
                id,
                Status::Wrong,
                true,
                format!(
                    "`{}` (line {}) is the dedupe store, but {why}. A duplicate delivery must \
                     hit a unique key so the second insert fails or does nothing.",
                    t.name,
                    self.line(t.start)
                ),
            );
        };
        let per_consumer = if key.len() > 1 { " per consumer" } else { "" };
        let conflict = self.m.units.iter().any(|u| {
            u.facts.inserts.contains(&t.name)
                && u.toks
                    .iter()
                    .any(|x| x.is_word("conflict") || x.is_word("ignore"))
        });
        let retention = self
            .m
            .units
            .iter()
            .any(|u| u.facts.deletes.iter().any(|d| d.table == t.name))
            || self.m.comments.iter().any(|c| {
                words(&c.text).iter().any(|w| {
                    [
                        "ttl",
                        "retention",
                        "retain",
                        "expire",
                        "expiry",
                        "prune",
                        "sweep",
                    ]
                    .contains(&w.as_str())
                })
            });
        let who = self.consumer_label();
        let keyed = format!(
            "`{}` (line {}) is keyed by `{}`{per_consumer}",
            t.name,
            self.line(t.start),
            c.name
        );
        let mut msg = match &self.consumer_scope {
            ConsumerScope::OneTransaction { record, effect } => format!(
                "{keyed}: {who} records each event id (line {}) in the same transaction as its \
                 side effect (line {}), and a redelivered event hits the key and is skipped.",
                self.line(*record),
                self.line(*effect)
            ),
            ConsumerScope::Said { at } => format!(
                "{keyed}: line {} says {who} records each event id in the same transaction as \
                 its side effect, and a redelivered event hits the key and is skipped.",
                self.line(*at)
            ),
            ConsumerScope::NotShown => format!(
                "{keyed}, so a redelivered event hits the key and is skipped, provided {who} \
                 records each event id in the same transaction as its side effect; show that \
                 transaction to make it certain."
            ),
            broken => {
                let why = match broken {
                    ConsumerScope::RecordFirst { record, effect } => format!(
                        "the event id commits (line {}) before the side effect does (line {}): a \
                         crash in between leaves the id recorded and the work undone, and the \
                         redelivery is then skipped as a duplicate, so the event is lost",
                        self.line(*record),
                        self.line(*effect)
                    ),
                    ConsumerScope::EffectFirst { record, effect } => format!(
                        "the side effect commits (line {}) before the event id is recorded (line \
                         {}): a crash in between leaves no record, so the redelivery applies \
                         the event a second time",
                        self.line(*effect),
                        self.line(*record)
                    ),
                    ConsumerScope::AckFirst { ack, record } => format!(
                        "the message is acknowledged (line {}) before the transaction that \
                         records the event id (line {}) commits: a crash in between loses the \
                         event, since the broker will not redeliver an acknowledged message",
                        self.line(*ack),
                        self.line(*record)
                    ),
                    _ => String::new(),
                };
                return item(
                    id,
                    Status::Wrong,
                    true,
                    format!(
                        "{keyed}, but where {who} handles an event, {why}. Record the id and \
                         apply the side effect in one transaction, and acknowledge only after it \
                         commits."
                    ),
                );
            }
        };
        if conflict {
            msg.push_str(
                " The ON CONFLICT / OR IGNORE insert makes the check and the record one step.",
            );
        }
        if retention {
            msg.push_str(
                " Retention is covered; keep it longer than the longest redelivery window.",
            );
        } else {
            msg.push_str(
                " Decide how long ids are kept: longer than the longest redelivery window, \
                 short enough that the table stays small.",
            );
        }
        item(id, Status::Ok, true, msg)
    }
}
