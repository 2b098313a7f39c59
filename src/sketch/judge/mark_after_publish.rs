//! The mark-after-publish item: is a row marked sent only after the broker acks, which makes
//! delivery at-least-once, and is a failed publish handled.

use super::design::{Judge, item};
use crate::sketch::lex::{Kind, Tok};
use crate::sketch::model::{GroupKind, Unit};
use crate::sketch::report::{Item, Status};
use crate::sketch::roles::Marker;
use crate::sketch::statements::Head;
use crate::sketch::words::{mentions_publish, publish_call, unit_text, words};

impl<'m> Judge<'m> {
    fn is_mark(&self, col: &str, value: &[Tok]) -> bool {
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

    fn publish_mentions(&self) -> Vec<usize> {
        let in_write = |off: usize| {
            self.write_groups.iter().any(|g| {
                self.m
                    .groups
                    .get(*g)
                    .is_some_and(|g| g.kind != GroupKind::Single && g.start <= off && off <= g.end)
            })
        };
        let mut at: Vec<usize> = self
            .m
            .comments
            .iter()
            .filter(|c| mentions_publish(&c.text) && !in_write(c.start))
            .map(|c| c.start)
            .collect();
        at.extend(
            self.m
                .units
                .iter()
                .filter(|u| !self.write_groups.contains(&u.group))
                .filter(|u| {
                    u.facts.calls.iter().any(|c| publish_call(c))
                        || (u.head == Head::Pseudo && mentions_publish(&unit_text(u)))
                })
                .map(|u| u.start),
        );
        at.sort_unstable();
        at
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
            still unsent and goes out again on the next pass, so nothing is lost and consumers \
            dedupe the repeat by event id; marking first would make it at-most-once.";
        let ob = self.ob();
        let marks: Vec<(usize, &Unit)> = self
            .m
            .units
            .iter()
            .enumerate()
            .filter(|(_, u)| {
                u.facts
                    .updates
                    .iter()
                    .any(|x| x.table == ob && x.sets.iter().any(|(c, v)| self.is_mark(c, v)))
            })
            .collect();
        let claim_unit = self.claim.map(|c| c.unit);
        if let Some((_, u)) = marks
            .iter()
            .find(|(i, u)| Some(*i) == claim_unit && u.facts.returning)
        {
            return item(
                id,
                Status::Wrong,
                true,
                format!(
                    "The claim at line {} marks rows as sent while claiming them, before \
                     anything is published. A crash after that statement loses those events: \
                     that is at-most-once. Claim with a lease or lock, and set the sent marker \
                     in a separate UPDATE after the broker acks. {AT_LEAST_ONCE}",
                    self.line(u.start)
                ),
            );
        }
        let Some((_, mark)) = marks.iter().find(|(i, _)| Some(*i) != claim_unit).copied() else {
            if self.cdc.is_some() && self.marker_cols().is_empty() {
                return item(
                    id,
                    Status::Ok,
                    true,
                    "No UPDATE marks rows, and with CDC none is needed: the connector commits its \
                     log offset only after the broker acks, so a crash replays from the last \
                     committed offset. That is the same at-least-once guarantee a polling relay \
                     gets by marking after publishing, and consumers dedupe the replay by event \
                     id."
                    .to_string(),
                );
            }
            let deletes = self
                .m
                .units
                .iter()
                .any(|u| u.facts.deletes.iter().any(|d| d.table == ob));
            let what = if deletes {
                "The relay deletes each row after publishing instead of marking it sent, so \
                 nothing records what the broker already has."
            } else {
                "No UPDATE sets the sent marker after publishing, so the relay cannot tell what \
                 the broker already has."
            };
            return item(id, Status::Missing, true, format!("{what} {AT_LEAST_ONCE}"));
        };
        let col = mark
            .facts
            .updates
            .iter()
            .flat_map(|x| x.sets.iter())
            .find(|(c, v)| self.is_mark(c, v))
            .map(|(c, _)| c.clone())
            .unwrap_or_default();
        let mentions = self.publish_mentions();
        let claim_start = claim_unit
            .and_then(|i| self.m.units.get(i))
            .map_or(0, |u| u.start);
        let between = mentions.iter().any(|&p| p > claim_start && p < mark.start);
        let after = mentions
            .iter()
            .find(|&&p| p > mark.start && p > claim_start);
        // The publish that follows the mark: inside the mark's transaction, or, for a mark that
        // commits on its own, before the next statement.
        let window_end = match self.m.group(mark) {
            Some(g) if g.kind != GroupKind::Single => g.end,
            _ => self
                .m
                .units
                .iter()
                .find(|u| !u.in_body && u.start > mark.end)
                .map_or(usize::MAX, |u| u.start),
        };
        if !between && let Some(&p) = after.filter(|&&p| p <= window_end) {
            return item(
                id,
                Status::Wrong,
                true,
                format!(
                    "The UPDATE at line {} sets `{col}` before the publish at line {}. If the \
                     relay dies in between, the row says sent but the broker never got it: the \
                     event is lost. {AT_LEAST_ONCE}",
                    self.line(mark.start),
                    self.line(p)
                ),
            );
        }
        let failure = match self.failure_handling(claim_start) {
            Some(f) => format!(" Publish failures are handled: {f}."),
            None => " Say what happens when a publish fails: leave the row unsent (skip the \
                     UPDATE or roll back), count the attempt and back off."
                .to_string(),
        };
        item(
            id,
            Status::Ok,
            true,
            format!(
                "The UPDATE at line {} sets `{col}` after the publish. {AT_LEAST_ONCE}{failure}",
                self.line(mark.start)
            ),
        )
    }
}
