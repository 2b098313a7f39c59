//! What the judge settles before judging any item: which table is the outbox (by shape first,
//! then by name), what its columns are for, which table is the inbox and which are the business
//! tables, which transactions write them, which statement is the relay's claim, and whether a CDC
//! connector is the relay. Also the lookups and the item constructor every item group shares.

use std::collections::BTreeSet;

use super::shared::{ConsumerScope, IndexFit, Settle, WriteScope};
use crate::sketch::lex::word_at;
use crate::sketch::model::{GroupKind, Model, Unit};
use crate::sketch::report::{Item, Status};
use crate::sketch::roles::{Marker, Roles, consumer_like, event_id_rank, inbox_named, roles};
use crate::sketch::schema::{Column, Table};
use crate::sketch::statements::Head;
use crate::sketch::words::{CDC_PHRASES, words};

/// How the relay takes its rows, weakest first: the strongest one found in the sketch is its claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum ClaimKind {
    Plain,
    LockNoSkip,
    UpdateReturning,
    SkipLocked,
}

/// The relay's claim: the unit that takes rows from the outbox, and how.
#[derive(Clone, Copy, Debug)]
pub(super) struct Claim {
    pub(super) unit: usize,
    pub(super) kind: ClaimKind,
}

/// A sketch's model with its parts settled: the outbox, the inbox, the business tables, the write
/// transactions, the claim and any CDC evidence, and the shared facts every item reads.
pub(crate) struct Judge<'m> {
    pub(super) m: &'m Model,
    pub(super) outbox: Option<&'m Table>,
    pub(super) outbox_shaped: bool,
    pub(super) outbox_name: Option<String>,
    pub(super) roles: Roles,
    pub(super) inbox: Option<&'m Table>,
    pub(super) business: BTreeSet<String>,
    pub(super) cdc: Option<String>,
    pub(super) claim: Option<Claim>,
    pub(super) write_groups: BTreeSet<usize>,
    pub(super) write_scope: WriteScope,
    pub(super) index_fit: IndexFit,
    pub(super) settles: Vec<Settle>,
    pub(super) consumer: Option<String>,
    pub(super) consumer_scope: ConsumerScope,
    /// Transactions and routine bodies as (start, end, group, the furthest end of any span
    /// starting at or before this one), by start: the index `group_at` searches.
    pub(super) txn_spans: Vec<(usize, usize, usize, usize)>,
}

fn txn_spans(m: &Model) -> Vec<(usize, usize, usize, usize)> {
    let mut spans: Vec<(usize, usize, usize)> = m
        .groups
        .iter()
        .enumerate()
        .filter(|(_, g)| g.kind != GroupKind::Single)
        .map(|(i, g)| (g.start, g.end, i))
        .collect();
    spans.sort_unstable();
    let mut reach = 0;
    spans
        .into_iter()
        .map(|(a, b, i)| {
            reach = reach.max(b);
            (a, b, i, reach)
        })
        .collect()
}

/// One judged item.
pub(super) fn item(id: &'static str, status: Status, required: bool, message: String) -> Item {
    Item {
        id,
        status,
        required,
        message,
        facts: std::collections::BTreeMap::new(),
    }
}

impl<'m> Judge<'m> {
    pub(crate) fn new(m: &'m Model) -> Judge<'m> {
        let shape_score = |t: &Table| -> Option<u8> {
            let r = roles(t);
            if r.event_id.is_none()
                || r.payload.is_none()
                || (r.etype.is_none() && r.topic.is_none())
            {
                return None;
            }
            Some(if t.name.contains("outbox") {
                3
            } else if ["event", "message", "publication", "outgoing"]
                .iter()
                .any(|k| t.name.contains(k))
            {
                2
            } else if t.name.contains("booking") {
                0
            } else {
                1
            })
        };
        let candidates = || m.tables.iter().filter(|t| !inbox_named(&t.name));
        let mut outbox: Option<&Table> = None;
        let mut best = 0u8;
        for t in candidates() {
            if let Some(s) = shape_score(t)
                && (outbox.is_none() || s > best)
            {
                outbox = Some(t);
                best = s;
            }
        }
        let outbox_shaped = outbox.is_some();
        if outbox.is_none() {
            outbox = candidates().find(|t| t.name.contains("outbox"));
        }
        let outbox_name = outbox.map(|t| t.name.clone()).or_else(|| {
            m.units
                .iter()
                .flat_map(|u| u.facts.inserts.iter())
                .find(|n| n.contains("outbox"))
                .cloned()
        });
        let outbox_roles = outbox.map(roles).unwrap_or_default();

        let ob = outbox_name.clone().unwrap_or_default();
        let inbox = m
            .tables
            .iter()
            .find(|t| t.name != ob && inbox_named(&t.name))
            .or_else(|| {
                m.tables.iter().find(|t| {
                    t.name != ob
                        && !t.name.contains("booking")
                        && t.columns.iter().any(|c| event_id_rank(&c.name) == Some(0))
                        && t.columns.iter().any(|c| {
                            c.name.contains("process")
                                || c.name.contains("received")
                                || consumer_like(&c.name)
                        })
                        && roles(t).payload.is_none()
                })
            });
        let inbox_name = inbox.map(|t| t.name.clone()).unwrap_or_default();

        let mut business: BTreeSet<String> = m
            .tables
            .iter()
            .map(|t| t.name.clone())
            .chain(m.units.iter().flat_map(|u| u.facts.inserts.iter().cloned()))
            .filter(|n| {
                *n != ob && *n != inbox_name && (n.contains("booking") || n.contains("reservation"))
            })
            .collect();
        if business.is_empty() {
            business = m
                .units
                .iter()
                .flat_map(|u| u.facts.inserts.iter().cloned())
                .filter(|n| *n != ob && *n != inbox_name && !inbox_named(n))
                .collect();
        }

        let write_groups: BTreeSet<usize> = m
            .units
            .iter()
            .filter(|u| {
                u.facts
                    .inserts
                    .iter()
                    .any(|n| *n == ob || business.contains(n))
            })
            .map(|u| u.group)
            .collect();

        let mut judge = Judge {
            m,
            outbox,
            outbox_shaped,
            outbox_name,
            roles: outbox_roles,
            inbox,
            business,
            cdc: None,
            claim: None,
            write_groups,
            write_scope: WriteScope::NoBookingWrite,
            index_fit: IndexFit::Missing,
            settles: Vec::new(),
            consumer: None,
            consumer_scope: ConsumerScope::NotShown,
            txn_spans: txn_spans(m),
        };
        judge.claim = judge.find_claim();
        judge.cdc = judge.cdc_evidence().filter(|_| judge.claim.is_none());
        judge.write_scope = judge.find_write_scope();
        judge.index_fit = judge.find_index_fit();
        let regions = judge.regions();
        judge.settles = judge.find_settles(&regions);
        judge.consumer = judge.find_consumer(&regions);
        judge.consumer_scope = judge.find_consumer_scope(&regions);
        judge
    }

    pub(super) fn ob(&self) -> &str {
        self.outbox_name.as_deref().unwrap_or("")
    }

    pub(super) fn col(&self, i: Option<usize>) -> Option<&'m Column> {
        self.outbox.and_then(|t| t.col(i))
    }

    pub(super) fn marker_cols(&self) -> Vec<(&'m Column, Marker)> {
        self.outbox
            .map(|t| {
                self.roles
                    .markers
                    .iter()
                    .filter_map(|(i, m)| t.columns.get(*i).map(|c| (c, *m)))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(super) fn line(&self, off: usize) -> usize {
        self.m.line(off)
    }

    fn touches_outbox(&self, u: &Unit) -> (bool, bool) {
        let ob = self.ob();
        if ob.is_empty() {
            return (false, false);
        }
        (
            u.facts.reads.iter().any(|r| r == ob),
            u.facts.updates.iter().any(|x| x.table == ob),
        )
    }

    fn find_claim(&self) -> Option<Claim> {
        let markers: Vec<String> = self
            .marker_cols()
            .iter()
            .map(|(c, _)| c.name.clone())
            .collect();
        let mut best: Option<Claim> = None;
        for (i, u) in self.m.units.iter().enumerate() {
            let (reads, updates) = self.touches_outbox(u);
            if !reads && !updates {
                continue;
            }
            let f = &u.facts;
            let aggregate = f
                .calls
                .iter()
                .any(|c| matches!(c.name.as_str(), "count" | "max" | "min" | "avg" | "sum"));
            let kind = if f.skip_locked {
                ClaimKind::SkipLocked
            } else if updates && f.returning {
                ClaimKind::UpdateReturning
            } else if f.for_update && reads {
                ClaimKind::LockNoSkip
            } else if reads
                && !aggregate
                && matches!(
                    u.head,
                    Head::Select | Head::With | Head::Pseudo | Head::Other
                )
                && (f.limit
                    || !f.order_by.is_empty()
                    || f.filter_words.iter().any(|w| markers.contains(w)))
            {
                ClaimKind::Plain
            } else {
                continue;
            };
            if best.is_none_or(|b| kind > b.kind) {
                best = Some(Claim { unit: i, kind });
            }
        }
        best
    }

    fn cdc_evidence(&self) -> Option<String> {
        for c in &self.m.comments {
            let lower = c.text.to_lowercase();
            if let Some(p) = CDC_PHRASES.iter().find(|p| lower.contains(*p)) {
                return Some(format!("\"{p}\" on line {}", self.line(c.start)));
            }
            if words(&lower).iter().any(|w| w == "cdc") {
                return Some(format!("\"CDC\" on line {}", self.line(c.start)));
            }
        }
        for u in &self.m.units {
            let publication = matches!(word_at(&u.toks, 0), "create" | "alter")
                && word_at(&u.toks, 1) == "publication";
            let replica = u.head == Head::AlterTable
                && u.toks.windows(2).any(|w| {
                    w.first().is_some_and(|a| a.is_word("replica"))
                        && w.get(1).is_some_and(|b| b.is_word("identity"))
                });
            if publication || replica {
                return Some(format!(
                    "the {} at line {}",
                    if publication {
                        "publication"
                    } else {
                        "REPLICA IDENTITY setting"
                    },
                    self.line(u.start)
                ));
            }
        }
        None
    }

    pub(super) fn no_outbox(&self, id: &'static str, what: &str) -> Item {
        item(
            id,
            Status::Missing,
            true,
            format!("There is no outbox table to look for {what} in."),
        )
    }

    /// Every set of columns that is unique on `t`: primary key, UNIQUE columns and constraints,
    /// and unique indexes without a predicate.
    pub(super) fn key_sets(&self, t: &Table) -> Vec<Vec<String>> {
        let mut keys: Vec<Vec<String>> = Vec::new();
        if !t.pk.is_empty() {
            keys.push(t.pk.clone());
        }
        keys.extend(t.uniques.iter().cloned());
        keys.extend(
            t.columns
                .iter()
                .filter(|c| c.pk || c.unique)
                .map(|c| vec![c.name.clone()]),
        );
        keys.extend(
            self.m
                .indexes
                .iter()
                .filter(|i| i.unique && i.table == t.name && i.predicate.is_none())
                .map(|i| i.columns.clone()),
        );
        keys
    }
}
