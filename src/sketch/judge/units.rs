//! The sketch's parts in the text: which statements are schema, the write path, the relay, the
//! consumer or upkeep, and the stretch of text each relay and consumer unit covers (its
//! statements, the pseudocode and comments among them, the comment block right above it, and the
//! lines after it up to the next part or a heading for another part), so its steps can be read in
//! order.

use std::collections::BTreeSet;

use super::design::Judge;
use crate::sketch::lex::{Kind, Tok};
use crate::sketch::model::{Group, GroupKind, Unit};
use crate::sketch::statements::Head;
use crate::sketch::steps::{Effect, Step};
use crate::sketch::words::words;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Part {
    Schema,
    Write,
    Relay,
    Consumer,
    /// Retention sweeps of the outbox.
    Upkeep,
    /// Pseudocode and statements that belong to whatever surrounds them.
    Loose,
}

/// A relay or consumer unit: the statements that make it up and the text it covers.
#[derive(Clone, Debug)]
pub(super) struct Region {
    pub(super) part: Part,
    pub(super) units: BTreeSet<usize>,
    pub(super) from: usize,
    pub(super) to: usize,
}

impl Region {
    pub(super) fn holds(&self, s: &Step) -> bool {
        s.unit.map_or(self.from <= s.at && s.at < self.to, |u| {
            self.units.contains(&u)
        })
    }
}

/// Words that open a part of the sketch other than the relay.
const NOT_RELAY: &[&str] = &[
    "consumer",
    "consumers",
    "inbox",
    "dedupe",
    "dedup",
    "deduplication",
    "deduplicate",
    "idempotent",
    "idempotency",
    "subscriber",
    "operations",
    "ops",
    "metrics",
    "monitoring",
    "alert",
    "alerts",
    "alerting",
    "archive",
    "archiving",
    "retention",
    "cleanup",
    "housekeeping",
    "ddl",
    "schema",
    "create_booking",
];

/// Words that open a part of the sketch other than the consumer.
const NOT_CONSUMER: &[&str] = &[
    "relay",
    "poller",
    "polling",
    "operations",
    "ops",
    "metrics",
    "monitoring",
    "alert",
    "alerts",
    "alerting",
    "archive",
    "archiving",
    "ddl",
    "schema",
    "create_booking",
];

impl<'m> Judge<'m> {
    /// An outbox DELETE that sweeps old rows (a time or marker bound) rather than settling the
    /// row just published.
    pub(super) fn retention_filter(&self, filter: &[Tok]) -> bool {
        let markers: Vec<String> = self
            .marker_cols()
            .iter()
            .map(|(c, _)| c.name.clone())
            .collect();
        let created = self.col(self.roles.created).map(|c| c.name.clone());
        filter.iter().any(|t| t.is_punct("<") || t.is_punct("<="))
            && filter.iter().any(|t| {
                t.kind == Kind::Param
                    || t.ident().is_some_and(|w| {
                        markers.contains(&w)
                            || Some(&w) == created.as_ref()
                            || [
                                "now",
                                "current_timestamp",
                                "current_date",
                                "interval",
                                "datetime",
                                "strftime",
                                "julianday",
                                "unixepoch",
                                "date",
                            ]
                            .contains(&w.as_str())
                    })
            })
    }

    pub(super) fn inbox_name(&self) -> &str {
        self.inbox.map_or("", |t| t.name.as_str())
    }

    /// What one statement, on its own, belongs to.
    fn unit_part(&self, i: usize, u: &Unit) -> Part {
        if u.head.declares()
            || matches!(
                u.head,
                Head::Pragma | Head::Attach | Head::Detach | Head::Vacuum
            )
        {
            return Part::Schema;
        }
        let ob = self.ob();
        let inbox = self.inbox_name();
        let f = &u.facts;
        if !inbox.is_empty()
            && (f.inserts.iter().any(|n| n == inbox)
                || f.updates.iter().any(|x| x.table == inbox)
                || f.deletes.iter().any(|d| d.table == inbox))
        {
            return Part::Consumer;
        }
        if self.write_groups.contains(&u.group) {
            return Part::Write;
        }
        if ob.is_empty() {
            return Part::Loose;
        }
        let settles = f.updates.iter().any(|x| x.table == ob)
            || f.deletes
                .iter()
                .any(|d| d.table == ob && !self.retention_filter(&d.filter));
        if self.claim.is_some_and(|c| c.unit == i) || settles {
            return Part::Relay;
        }
        if f.deletes.iter().any(|d| d.table == ob) {
            return Part::Upkeep;
        }
        Part::Loose
    }

    /// What each statement belongs to: a transaction or routine body belongs, whole, to the
    /// consumer if it records into the inbox, else to the write path if it writes the booking or
    /// the outbox row, else to the relay if any of it is the relay's.
    pub(super) fn parts(&self) -> Vec<Part> {
        let own: Vec<Part> = self
            .m
            .units
            .iter()
            .enumerate()
            .map(|(i, u)| self.unit_part(i, u))
            .collect();
        // What each transaction or routine body holds, gathered in one pass.
        let mut consumer = vec![false; self.m.groups.len()];
        let mut relay = vec![false; self.m.groups.len()];
        for (u, p) in self.m.units.iter().zip(&own) {
            if let Some(flag) = match p {
                Part::Consumer => consumer.get_mut(u.group),
                Part::Relay => relay.get_mut(u.group),
                _ => None,
            } {
                *flag = true;
            }
        }
        let group_part = |g: usize| {
            if consumer.get(g).copied().unwrap_or(false) {
                Part::Consumer
            } else if self.write_groups.contains(&g) {
                Part::Write
            } else if relay.get(g).copied().unwrap_or(false) {
                Part::Relay
            } else {
                Part::Loose
            }
        };
        self.m
            .units
            .iter()
            .zip(&own)
            .map(|(u, p)| match self.m.group(u).map(|g| g.kind) {
                Some(GroupKind::Explicit(_) | GroupKind::Routine) if *p != Part::Schema => {
                    group_part(u.group)
                }
                _ => *p,
            })
            .collect()
    }

    /// The innermost transaction or routine body (not a statement on its own) around `off`.
    pub(super) fn group_at(&self, off: usize) -> Option<&'m Group> {
        let spans = &self.txn_spans;
        // The last span starting at or before `off`, then back while an earlier one can still
        // reach it (spans nest only a level or two, so this stops at once).
        let mut j = spans.partition_point(|s| s.0 <= off);
        while let Some(k) = j.checked_sub(1) {
            let (start, end, g, reach) = spans.get(k).copied()?;
            if reach < off {
                return None;
            }
            if start <= off && off <= end {
                return self.m.groups.get(g);
            }
            j = k;
        }
        None
    }

    /// The steps a region holds, found by where they are rather than by a scan of them all.
    pub(super) fn steps_in(&self, r: &Region) -> Vec<&'m Step> {
        let steps = &self.m.steps;
        let first = steps.partition_point(|s| s.key.0 < r.from);
        let last = steps.partition_point(|s| s.key.0 < r.to);
        steps
            .get(first..last.max(first))
            .unwrap_or(&[])
            .iter()
            .filter(|s| r.holds(s))
            .collect()
    }

    /// The relay's and the consumer's units, each with the text it covers.
    pub(super) fn regions(&self) -> Vec<Region> {
        let parts = self.parts();
        // Routine wrappers hold their bodies' units; the bodies speak for themselves.
        let mut order: Vec<usize> = (0..self.m.units.len())
            .filter(|&i| {
                self.m
                    .units
                    .get(i)
                    .is_some_and(|u| !matches!(u.head, Head::CreateRoutine | Head::Do))
            })
            .collect();
        order.sort_by_key(|&i| self.m.units.get(i).map_or(0, |u| u.start));
        let part = |i: usize| parts.get(i).copied().unwrap_or(Part::Loose);
        let text_end = self.text_end();
        let mut out = Vec::new();
        let mut k = 0;
        while k < order.len() {
            let Some(&i) = order.get(k) else { break };
            let p = part(i);
            if !matches!(p, Part::Relay | Part::Consumer) {
                k += 1;
                continue;
            }
            // Extend over this part's statements and the loose ones among them.
            let mut end = k;
            let mut last_own = k;
            while let Some(&j) = order.get(end + 1) {
                let q = part(j);
                if q == p {
                    last_own = end + 1;
                } else if q != Part::Loose || self.heads_other(j, p) {
                    break;
                }
                end += 1;
            }
            let prev_end = k
                .checked_sub(1)
                .and_then(|b| order.get(b))
                .and_then(|&b| self.m.units.get(b))
                .map_or(0, |u| u.end);
            let next_start = order
                .get(last_own + 1..)
                .unwrap_or(&[])
                .iter()
                .find(|&&j| part(j) != Part::Loose || self.heads_other(j, p))
                .and_then(|&j| self.m.units.get(j))
                .map_or(usize::MAX, |u| u.start);
            let units: Vec<usize> = order.get(k..=last_own).unwrap_or(&[]).to_vec();
            let first = self.m.units.get(i).map_or(0, |u| u.start);
            let first = self.group_at(first).map_or(first, |g| g.start.min(first));
            let last_end = units
                .iter()
                .filter_map(|&j| self.m.units.get(j))
                .map(|u| {
                    self.m
                        .group(u)
                        .filter(|g| g.kind != GroupKind::Single)
                        .map_or(u.end, |g| g.end.max(u.end))
                })
                .max()
                .unwrap_or(first);
            let from = self.comment_block_above(first, prev_end);
            let to = self.heading_after(last_end, next_start, p).min(text_end);
            let mut all: BTreeSet<usize> = units.into_iter().collect();
            all.extend(
                order
                    .get(last_own + 1..=end)
                    .unwrap_or(&[])
                    .iter()
                    .copied()
                    .filter(|&j| self.m.units.get(j).is_some_and(|u| u.start < to)),
            );
            out.push(Region {
                part: p,
                units: all,
                from,
                to,
            });
            k = end + 1;
        }
        if self.cdc.is_none() && !out.iter().any(|r| r.part == Part::Relay) {
            let prose = self.prose_relays(&parts, &out);
            out.extend(prose);
        }
        out
    }

    /// A relay written only as prose: runs of comment lines and loose pseudocode, outside the
    /// write path and the consumer, that both publish and mark or delete rows.
    fn prose_relays(&self, parts: &[Part], taken: &[Region]) -> Vec<Region> {
        let mut taken_spans: Vec<(usize, usize)> = taken.iter().map(|r| (r.from, r.to)).collect();
        taken_spans.extend(self.write_groups.iter().filter_map(|&g| {
            self.m
                .groups
                .get(g)
                .filter(|g| g.kind != GroupKind::Single)
                .map(|g| (g.start, g.end + 1))
        }));
        taken_spans.sort_unstable();
        let mut reach = 0;
        let taken_spans: Vec<(usize, usize, usize)> = taken_spans
            .into_iter()
            .map(|(a, b)| {
                reach = reach.max(b);
                (a, b, reach)
            })
            .collect();
        let inside_other = |off: usize| {
            let mut j = taken_spans.partition_point(|s| s.0 <= off);
            while let Some(k) = j.checked_sub(1) {
                match taken_spans.get(k) {
                    Some(&(a, b, reach)) if reach > off => {
                        if a <= off && off < b {
                            return true;
                        }
                        j = k;
                    }
                    _ => return false,
                }
            }
            false
        };
        // Spans of text, each with the pseudocode units in it.
        let mut spans: Vec<(usize, usize, BTreeSet<usize>)> = self
            .m
            .comments
            .iter()
            .filter(|c| !inside_other(c.start))
            .map(|c| (c.start, c.start + c.text.len(), BTreeSet::new()))
            .collect();
        spans.extend(
            self.m
                .units
                .iter()
                .enumerate()
                .filter(|(i, u)| {
                    u.head == Head::Pseudo
                        && parts.get(*i) == Some(&Part::Loose)
                        && !inside_other(u.start)
                })
                .map(|(i, u)| (u.start, u.end, BTreeSet::from([i]))),
        );
        spans.sort_by_key(|s| s.0);
        let mut merged: Vec<(usize, usize, BTreeSet<usize>)> = Vec::new();
        for (a, b, us) in spans {
            match merged.last_mut() {
                Some(last) if self.line(a) <= self.line(last.1.saturating_sub(1)) + 1 => {
                    last.1 = last.1.max(b);
                    last.2.extend(us);
                }
                _ => merged.push((a, b, us)),
            }
        }
        merged
            .into_iter()
            .map(|(from, to, units)| Region {
                part: Part::Relay,
                units,
                from,
                to,
            })
            .filter(|r| {
                let held = self.steps_in(r);
                let steps = || held.iter();
                steps().any(|s| matches!(s.effect, Effect::Publish | Effect::Ack))
                    && steps().any(|s| self.settle_kind(s).is_some())
            })
            .collect()
    }

    /// Where the last statement or comment ends.
    fn text_end(&self) -> usize {
        let units = self.m.units.iter().map(|u| u.end);
        let comments = self.m.comments.iter().map(|c| c.start + c.text.len());
        units.chain(comments).max().unwrap_or(0) + 1
    }

    /// Loose pseudocode whose first line opens another part ("consumer:").
    fn heads_other(&self, j: usize, p: Part) -> bool {
        self.m.units.get(j).is_some_and(|u| {
            u.head == Head::Pseudo && {
                let first_line: Vec<String> = u
                    .toks
                    .iter()
                    .take_while(|t| self.line(t.start) == self.line(u.start))
                    .map(|t| t.text.clone())
                    .collect();
                heading_for_other(&first_line.join(" "), p)
            }
        })
    }

    /// Where the comments right above `at` begin (no blank line between, nothing before
    /// `floor`), or `at` when there are none.
    fn comment_block_above(&self, at: usize, floor: usize) -> usize {
        let mut from = at;
        let mut line = self.line(at);
        let before = self.m.comments.partition_point(|c| c.start < at);
        for c in self.m.comments.get(..before).unwrap_or(&[]).iter().rev() {
            if c.start < floor {
                break;
            }
            let last = self.line(c.start + c.text.len().saturating_sub(1));
            if last + 1 == line || last == line {
                from = c.start;
                line = self.line(c.start);
            } else {
                break;
            }
        }
        from
    }

    /// Where the text after `from` stops belonging to part `p`: at the first comment that
    /// heads another part, or at `limit`.
    fn heading_after(&self, from: usize, limit: usize, p: Part) -> usize {
        let first = self.m.comments.partition_point(|c| c.start < from);
        self.m
            .comments
            .get(first..)
            .unwrap_or(&[])
            .iter()
            .take_while(|c| c.start < limit)
            .find(|c| heading_for_other(&c.text, p))
            .map_or(limit, |c| c.start)
    }
}

fn heading_for_other(text: &str, p: Part) -> bool {
    let list = if p == Part::Relay {
        NOT_RELAY
    } else {
        NOT_CONSUMER
    };
    words(text).iter().any(|w| list.contains(&w.as_str()))
}
