//! The inbox item: does the consumer have a dedupe store keyed by event id, so a redelivered
//! event is skipped.

use super::design::{Judge, item};
use crate::sketch::report::{Item, Status};
use crate::sketch::roles::{consumer_like, event_id_rank};
use crate::sketch::schema::Column;
use crate::sketch::words::words;

impl<'m> Judge<'m> {
    pub(super) fn inbox_item(&self) -> Item {
        let id = "inbox";
        let Some(t) = self.inbox else {
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
                    "No dedupe store for the consumer (a processed_events or inbox table keyed \
                     by event id). Delivery is at-least-once, so BillingService will see some \
                     events twice; it needs to record each event id in the same transaction as \
                     its side effect and skip ids it has seen.{extra}"
                ),
            );
        };
        let mut id_cols: Vec<&Column> = t
            .columns
            .iter()
            .filter(|c| event_id_rank(&c.name).is_some())
            .collect();
        id_cols.sort_by_key(|c| event_id_rank(&c.name));
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
        let mut msg = format!(
            "`{}` (line {}) is keyed by `{}`{per_consumer}: the consumer records each event id \
             in the same transaction as its side effect, and a redelivered event hits the key \
             and is skipped.",
            t.name,
            self.line(t.start),
            c.name
        );
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
