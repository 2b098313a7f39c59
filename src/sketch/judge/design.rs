//! What the judge settles before judging any item: which table is the outbox (by shape first,
//! then by name), what its columns are for, which table is the inbox and which are the business
//! tables, which transactions write them, which statement is the relay's claim, whether a CDC
//! connector is the relay (set up in SQL, or assumed when nothing else can be), whether the file
//! holds schema alone, and whether its tables are built in strings. Also the lookups and the
//! item constructor every item group shares.

use std::collections::BTreeSet;

use super::shared::{ConsumerScope, IndexFit, Settle, WriteScope};
use crate::sketch::lex::Kind;
use crate::sketch::lex::word_at;
use crate::sketch::model::{GroupKind, Model, Unit};
use crate::sketch::report::{Item, Status};
use crate::sketch::roles::{
    Marker, Roles, Usage, consumer_like, event_id_rank, inbox_named, roles, roles_in_use,
};
use crate::sketch::schema::{Column, Table};
use crate::sketch::statements::Head;
use crate::sketch::steps::Effect;
use crate::sketch::words::words;

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
    /// No SQL sets CDC up, but the design leaves a log reader as the only possible relay: the
    /// outbox is written, has no sent marker, and nothing in the file polls it.
    pub(super) cdc_assumed: bool,
    /// The file holds only schema: no statement reads or writes rows and no pseudocode, so the
    /// write transaction, the relay and the consumer are not in it.
    pub(super) ddl_only: bool,
    /// A schema review (`--only ddl`): only what the schema shows is required.
    pub(super) schema_review: bool,
    /// Where DDL is built inside a string and run with EXECUTE, when no table is declared
    /// directly: what it makes exists only once PostgreSQL runs it.
    pub(super) dynamic_ddl: Option<usize>,
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
    pub(crate) fn new(m: &'m Model, schema_review: bool) -> Judge<'m> {
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
        let ob = outbox_name.clone().unwrap_or_default();
        let outbox_roles = outbox
            .map(|t| roles_in_use(t, &Usage::of(&ob, m.units.iter().map(|u| &u.facts))))
            .unwrap_or_default();

        let inbox =
            m.tables
                .iter()
                .find(|t| t.name != ob && inbox_named(&t.name) && !answers_requests(t))
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
                })
                .or_else(|| {
                    // Whatever its name, a table the consumer records into with an insert that
                    // skips duplicates, outside the transaction that writes the outbox.
                    m.tables.iter().find(|t| {
                        t.name != ob
                            && !t.name.contains("booking")
                            && !answers_requests(t)
                            && roles(t).payload.is_none()
                            && m.units.iter().any(|u| {
                                u.facts.inserts.contains(&t.name)
                                    && skips_duplicates(u)
                                    && !m.units.iter().any(|o| {
                                        o.group == u.group && o.facts.inserts.contains(&ob)
                                    })
                            })
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
            cdc_assumed: false,
            ddl_only: ddl_only(m),
            schema_review,
            dynamic_ddl: None,
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
        if judge.outbox.is_none() && judge.outbox_name.is_none() {
            judge.dynamic_ddl = dynamic_ddl(m);
        }
        judge.write_scope = judge.find_write_scope();
        judge.index_fit = judge.find_index_fit();
        let regions = judge.regions();
        judge.settles = judge.find_settles(&regions);
        // Only once the text has shown no relay at all, not even in prose, is CDC assumed.
        if judge.cdc.is_none() && judge.claim.is_none() && judge.outbox_shaped {
            let written = m
                .units
                .iter()
                .any(|u| u.facts.inserts.iter().any(|n| *n == judge.ob()));
            let publishes = m.steps.iter().any(|s| matches!(s.effect, Effect::Publish));
            if written && judge.roles.markers.is_empty() && judge.settles.is_empty() && !publishes {
                judge.cdc_assumed = true;
                judge.cdc = Some(format!(
                    "assumed: nothing in the file polls `{}` and it has no sent marker, so only \
                     a log reader can relay it, yet no SQL here sets one up",
                    judge.ob()
                ));
                judge.index_fit = judge.find_index_fit();
            }
        }
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

    /// CDC as the SQL sets it up, never as comments talk of it: a logical replication slot, a
    /// publication of the outbox (or of all tables), or REPLICA IDENTITY on the outbox. A slot
    /// says the most, so it is named first.
    fn cdc_evidence(&self) -> Option<String> {
        let ob = self.ob();
        let mut found: Vec<(u8, String)> = Vec::new();
        for u in &self.m.units {
            let line = self.line(u.start);
            let slot = u.facts.calls.iter().any(|c| {
                let name = c.name.rsplit('.').next().unwrap_or("");
                matches!(
                    name,
                    "pg_create_logical_replication_slot" | "pg_logical_slot_get_changes"
                )
            });
            if slot {
                let plugin = u
                    .toks
                    .iter()
                    .filter(|t| t.kind == Kind::Str)
                    .map(|t| t.text.to_lowercase())
                    .find(|t| {
                        ["wal2json", "pgoutput", "decoderbufs", "test_decoding"]
                            .contains(&t.as_str())
                    });
                found.push((
                    0,
                    format!(
                        "the logical replication slot at line {line}{}",
                        plugin
                            .map(|p| format!(", read with {p}"))
                            .unwrap_or_default()
                    ),
                ));
            }
            let publication = matches!(word_at(&u.toks, 0), "create" | "alter")
                && word_at(&u.toks, 1) == "publication"
                && (u.toks.iter().any(|t| t.ident().as_deref() == Some(ob))
                    || u.toks.windows(2).any(|w| {
                        w.first().is_some_and(|a| a.is_word("all"))
                            && w.get(1).is_some_and(|b| b.is_word("tables"))
                    }));
            if publication && !ob.is_empty() {
                found.push((1, format!("the publication at line {line}")));
            }
            let replica = u.head == Head::AlterTable
                && u.toks.iter().any(|t| t.ident().as_deref() == Some(ob))
                && u.toks.windows(2).any(|w| {
                    w.first().is_some_and(|a| a.is_word("replica"))
                        && w.get(1).is_some_and(|b| b.is_word("identity"))
                });
            if replica && !ob.is_empty() {
                found.push((2, format!("the REPLICA IDENTITY setting at line {line}")));
            }
        }
        found.sort();
        found.into_iter().next().map(|(_, e)| e)
    }

    /// The item for a part the file does not hold: in a schema review it is not asked for; in a
    /// file of schema alone it is not there to judge, which is no fault but not a pass either.
    pub(super) fn not_in_file(&self, id: &'static str, what: &str) -> Option<Item> {
        if self.schema_review {
            return Some(item(
                id,
                Status::NotJudged,
                false,
                format!(
                    "Not part of a schema review: {what} is judged when you check the whole sketch."
                ),
            ));
        }
        self.ddl_only.then(|| {
            item(
                id,
                Status::NotJudged,
                true,
                format!(
                    "Not in this file: it holds only the schema, so {what} cannot be judged. \
                     Check the whole sketch, or review the schema alone with --only ddl."
                ),
            )
        })
    }

    /// What the file holds, as the items that judge its parts cite it.
    pub(super) fn file_label(&self) -> &'static str {
        if self.schema_review {
            "schema-review"
        } else if self.ddl_only {
            "ddl-only"
        } else {
            "full"
        }
    }

    pub(super) fn no_outbox(&self, id: &'static str, what: &str) -> Item {
        if let Some(at) = self.dynamic_ddl {
            return item(
                id,
                Status::NotJudged,
                true,
                format!(
                    "The tables are built inside a string and run with EXECUTE (line {}), so \
                     they exist only once PostgreSQL runs that code: {what} cannot be judged \
                     here. Write the CREATE TABLE out as plain SQL to have it checked.",
                    self.line(at)
                ),
            );
        }
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

/// Whether a table answers requests (it stores a response): an HTTP idempotency store, which
/// dedupes retried requests, not consumed events.
fn answers_requests(t: &Table) -> bool {
    t.columns.iter().any(|c| c.name.contains("response"))
        || (t.name.contains("idempot")
            && !t.columns.iter().any(|c| event_id_rank(&c.name).is_some()))
}

/// An insert that does nothing on a duplicate key: `ON CONFLICT ... DO NOTHING`, `INSERT OR
/// IGNORE`, MySQL's `INSERT IGNORE`.
fn skips_duplicates(u: &Unit) -> bool {
    u.toks.windows(2).any(|w| {
        let (Some(a), Some(b)) = (w.first(), w.get(1)) else {
            return false;
        };
        (a.is_word("do") && b.is_word("nothing"))
            || (a.is_word("or") && b.is_word("ignore"))
            || (a.is_word("insert") && b.is_word("ignore"))
    })
}

/// The file holds only schema: no statement outside the declarations reads or writes rows, and
/// nothing outside a routine body (which is PL/pgSQL, not prose) is pseudocode.
fn ddl_only(m: &Model) -> bool {
    m.units.iter().all(|u| {
        let f = &u.facts;
        (u.in_body || u.head != Head::Pseudo)
            && f.inserts.is_empty()
            && f.updates.is_empty()
            && f.deletes.is_empty()
            && f.reads.is_empty()
    })
}

/// Where a routine body runs DDL it builds in a string (`EXECUTE format('CREATE TABLE ...')`,
/// or a string assigned and then executed).
fn dynamic_ddl(m: &Model) -> Option<usize> {
    let bodies: BTreeSet<usize> = m
        .units
        .iter()
        .filter(|u| {
            u.in_body
                && u.toks.iter().any(|t| {
                    t.kind == Kind::Str && {
                        let w = words(&t.text);
                        w.windows(2).any(|p| {
                            p.first().is_some_and(|a| a == "create")
                                && p.get(1).is_some_and(|b| b == "table" || b == "index")
                        })
                    }
                })
        })
        .map(|u| u.group)
        .collect();
    m.units
        .iter()
        .filter(|u| u.in_body && bodies.contains(&u.group))
        .find_map(|u| {
            u.toks
                .iter()
                .find(|t| t.is_word("execute"))
                .map(|t| t.start)
        })
}
