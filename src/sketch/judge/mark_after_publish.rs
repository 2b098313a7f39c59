//! The mark-after-publish item: is a row marked sent only after the broker acks, which makes
//! delivery at-least-once, and is a failed publish handled. Where the relay marks or deletes rows
//! against the publish is the shared list of settles, read from the relay's order of effects.

use super::design::{Judge, item};
use super::shared::{Commit, SettleKind, SettleOrder};
use crate::sketch::lex::{Kind, Tok};
use crate::sketch::report::{Item, Status};
use crate::sketch::roles::Marker;
use crate::sketch::statements::Head;
use crate::sketch::words::words;

impl<'m> Judge<'m> {
    pub(super) fn is_mark(&self, col: &str, value: &[Tok]) -> bool {
        let Some((_, kind)) = self.marker_cols().into_iter().find(|(c, _)| c.name == col) else {
            return false;
        };
        let first = value.first();
        let param = first.is_some_and(|t| t.kind == Kind::Param);
        match kind {
            Marker::Timestamp => {
                let only_null = value.len() == 1 && first.is_some_and(|t| t.is_word("null"));
                !value.is_empty() && !only_null
            }
            Marker::Flag => {
                param
                    || first.is_some_and(|t| {
                        t.is_word("true")
                            || (t.kind == Kind::Num && t.text == "1")
                            || (t.kind == Kind::Str
                                && matches!(t.text.as_str(), "t" | "true" | "1"))
                    })
            }
            Marker::Status => {
                param
                    || first.is_some_and(|t| {
                        t.kind == Kind::Str
                            && [
                                "published",
                                "sent",
                                "done",
                                "delivered",
                                "dispatched",
                                "processed",
                                "completed",
                                "complete",
                                "acked",
                                "success",
                                "succeeded",
                                "relayed",
                            ]
                            .contains(&t.text.to_lowercase().as_str())
                    })
            }
        }
    }

    fn failure_handling(&self, from: usize) -> Option<String> {
        let t = self.outbox?;
        if let Some(c) = t.columns.iter().find(|c| {
            [
                "attempt",
                "retry",
                "retries",
                "error",
                "fail",
                "next_attempt",
            ]
            .iter()
            .any(|k| c.name.contains(k))
        }) {
            return Some(format!("`{}` records failed attempts", c.name));
        }
        if let Some(u) = self
            .m
            .units
            .iter()
            .find(|u| u.start > from && u.head == Head::Rollback)
        {
            return Some(format!(
                "the ROLLBACK at line {} leaves the rows unsent",
                self.line(u.start)
            ));
        }
        self.m
            .comments
            .iter()
            .filter(|c| c.start > from)
            .find(|c| {
                words(&c.text).iter().any(|w| {
                    [
                        "fail", "fails", "failure", "failed", "error", "retry", "retried",
                        "backoff", "nack", "timeout",
                    ]
                    .contains(&w.as_str())
                })
            })
            .map(|c| {
                format!(
                    "line {} says what happens when publishing fails",
                    self.line(c.start)
                )
            })
    }

    pub(super) fn mark_after_publish(&self) -> Item {
        let id = "mark-after-publish";
        const AT_LEAST_ONCE: &str = "Marking only after the broker acks is what makes delivery \
            at-least-once: if the relay dies between the publish and the UPDATE, the row is \
            still unsent and goes out again on the next pass, so nothing is lost and the \
            consumer has a repeat to drop by event id; marking first would make it at-most-once.";
        let cdc_unmarked = self.cdc.is_some() && self.marker_cols().is_empty();
        if !cdc_unmarked
            && self.schema_review
            && let Some(absent) = self.not_in_file(id, "how the relay marks rows sent")
        {
            return absent;
        }
        let Some(s) = self.main_settle() else {
            if cdc_unmarked {
                return item(
                    id,
                    Status::Ok,
                    true,
                    "No UPDATE marks rows, and with CDC none is needed: the connector commits its \
                     log offset only after the broker acks, so a crash replays from the last \
                     committed offset. That is the same at-least-once guarantee a polling relay \
                     gets by marking after publishing, and the replay is the consumer's to \
                     drop by event id."
                        .to_string(),
                );
            }
            if let Some(absent) = self.not_in_file(id, "how the relay marks rows sent") {
                return absent;
            }
            return item(
                id,
                Status::Missing,
                true,
                format!(
                    "No UPDATE sets the sent marker after publishing, so the relay cannot tell \
                     what the broker already has. {AT_LEAST_ONCE}"
                ),
            );
        };
        let line = self.line(s.at);
        let what = match (&s.kind, s.unit.is_some()) {
            (SettleKind::Mark { col: Some(c) }, true) => {
                format!("The UPDATE at line {line} sets `{c}`")
            }
            (SettleKind::Mark { .. }, _) => format!("Line {line} marks the row sent"),
            (SettleKind::Delete, true) => format!("The DELETE at line {line} removes the row"),
            (SettleKind::Delete, false) => format!("Line {line} deletes the row"),
        };
        match s.order {
            SettleOrder::BeforePublish { publish, commit } => {
                let (left, gone) = match s.kind {
                    SettleKind::Mark { .. } => ("a row that says sent", "the row says sent"),
                    SettleKind::Delete => ("no row at all", "the row is gone"),
                };
                let publish = match publish.map(|p| self.line(p)) {
                    None => "before anything is published".to_string(),
                    Some(p) if p == line => "and only then publishes it".to_string(),
                    Some(p) => format!("before the publish at line {p}"),
                };
                let opening = match (&s.kind, s.claim) {
                    (SettleKind::Mark { .. }, true) => format!(
                        "The claim at line {line} marks rows as sent while claiming them, \
                         {publish}."
                    ),
                    (SettleKind::Delete, true) => {
                        format!("The claim at line {line} deletes the rows it claims, {publish}.")
                    }
                    _ => format!("{what} {publish}."),
                };
                let why = match commit {
                    Commit::First(c) => format!(
                        "{} so a relay that dies between the two leaves {left} while the broker \
                         never got the event: the event is lost. That is at-most-once delivery.",
                        if c == s.at {
                            "No transaction holds it back until the publish,".to_string()
                        } else {
                            format!("It commits first (line {}),", self.line(c))
                        }
                    ),
                    Commit::Open(c) => format!(
                        "Its transaction stays open until line {}, so a crash still rolls it \
                         back, but {gone} before the broker has the event: any publish failure \
                         that does not end in ROLLBACK commits a loss, which is at-most-once \
                         delivery.",
                        self.line(c)
                    ),
                };
                let fix = match s.kind {
                    SettleKind::Mark { .. } if s.claim => {
                        "Claim with a lease or lock, and set the sent marker in a separate \
                         UPDATE after the broker acks."
                    }
                    SettleKind::Mark { .. } => "Publish first and mark after the broker acks.",
                    SettleKind::Delete => {
                        "Publish first, wait for the ack, and only then mark the row sent (or \
                         delete it)."
                    }
                };
                item(
                    id,
                    Status::Wrong,
                    true,
                    format!("{opening} {why} {fix} {AT_LEAST_ONCE}"),
                )
            }
            SettleOrder::AfterPublish(p) if s.kind == SettleKind::Delete => item(
                id,
                Status::Missing,
                true,
                format!(
                    "The relay deletes each row after publishing (line {line}, after the publish \
                     at line {}) instead of marking it sent, so nothing records what the broker \
                     already has. {AT_LEAST_ONCE}",
                    self.line(p)
                ),
            ),
            SettleOrder::Unstated if s.kind == SettleKind::Delete => item(
                id,
                Status::Missing,
                true,
                format!(
                    "The relay deletes rows at line {line} instead of marking them sent, and the \
                     sketch never says where it publishes them, so neither the order nor what \
                     the broker already has can be told. {AT_LEAST_ONCE}"
                ),
            ),
            order => {
                let claim_start = self
                    .claim
                    .and_then(|c| self.m.units.get(c.unit))
                    .map_or(0, |u| u.start);
                let failure = match self.failure_handling(claim_start) {
                    Some(f) => format!(" Publish failures are handled: {f}."),
                    None => " Say what happens when a publish fails: leave the row unsent (skip \
                             the UPDATE or roll back), count the attempt and back off."
                        .to_string(),
                };
                let placed = match order {
                    SettleOrder::AfterPublish(p) => {
                        format!("{what} after the publish at line {}.", self.line(p))
                    }
                    _ => format!(
                        "{what}; the sketch does not show the publish, so put it before this \
                         line."
                    ),
                };
                item(
                    id,
                    Status::Ok,
                    true,
                    format!("{placed} {AT_LEAST_ONCE}{failure}"),
                )
            }
        }
    }
}
