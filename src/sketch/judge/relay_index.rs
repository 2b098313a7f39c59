//! The relay-index item: does an index let a polling relay find pending rows in order without
//! scanning the outbox, ideally a partial one that holds only the backlog. The answer is the
//! shared `IndexFit`, which the anti-patterns item reads too.

use super::design::{Judge, item};
use super::shared::IndexFit;
use crate::sketch::model::Flavor;
use crate::sketch::report::{Item, Status};
use crate::sketch::roles::created_like;
use crate::sketch::schema::{Table, index_label};
use crate::sketch::words::words;

impl<'m> Judge<'m> {
    /// Settles how well the outbox's indexes serve the relay's poll.
    pub(super) fn find_index_fit(&self) -> IndexFit {
        let Some(t) = self.outbox else {
            return IndexFit::NoOutbox;
        };
        let markers = self.marker_cols();
        let marker_names: Vec<&str> = markers.iter().map(|(c, _)| c.name.as_str()).collect();
        let created = self.col(self.roles.created).map(|c| c.name.as_str());
        let event_id = self.col(self.roles.event_id).map(|c| c.name.as_str());
        let order_names: Vec<String> = self
            .claim
            .and_then(|c| self.m.units.get(c.unit))
            .map(|u| u.facts.order_by.clone())
            .unwrap_or_default();
        let mine: Vec<usize> = (0..self.m.indexes.len())
            .filter(|&i| self.m.indexes.get(i).is_some_and(|x| x.table == t.name))
            .collect();
        let mut partial_sent = None;
        let mut leading = None;
        for &i in &mine {
            let Some(ix) = self.m.indexes.get(i) else {
                continue;
            };
            let first = ix.columns.first().map(String::as_str).unwrap_or("");
            if let Some(p) = &ix.predicate {
                let pw = words(p);
                let on_marker = marker_names.iter().any(|m| pw.iter().any(|w| w == m));
                let has = |w: &str| pw.iter().any(|x| x == w);
                let unsent = (has("null") && !has("not"))
                    || (has("not") && !has("null"))
                    || [
                        "false", "pending", "new", "unsent", "queued", "ready", "failed",
                    ]
                    .iter()
                    .any(|w| has(w))
                    || p.contains("<>")
                    || p.contains("!=");
                if on_marker && unsent {
                    return IndexFit::Partial(i);
                }
                if on_marker {
                    // It holds only rows already sent, so it cannot lead the relay to pending ones.
                    partial_sent.get_or_insert(i);
                    continue;
                }
            }
            let useful_first = marker_names.contains(&first)
                || Some(first) == created
                || order_names
                    .iter()
                    .any(|o| o == first && Some(first) != event_id)
                || created_like(first);
            if useful_first && !(ix.unique && Some(first) == event_id) && leading.is_none() {
                leading = Some(i);
            }
        }
        if let Some(i) = leading {
            IndexFit::Leading(i)
        } else if let Some(i) = partial_sent {
            IndexFit::SentOnly(i)
        } else if markers.is_empty() && self.key_in_creation_order(t) {
            IndexFit::Key
        } else if !mine.is_empty() {
            IndexFit::Mismatch
        } else if self.cdc.is_some() {
            IndexFit::NotNeeded
        } else {
            IndexFit::Missing
        }
    }

    /// Whether the outbox's primary key leads with a column that grows with each insert (an
    /// identity or serial column, or the creation time), so walking it reads rows oldest first.
    fn key_in_creation_order(&self, t: &Table) -> bool {
        let first =
            t.pk.first()
                .cloned()
                .or_else(|| t.columns.iter().find(|c| c.pk).map(|c| c.name.clone()));
        let Some(col) = first.and_then(|n| t.find(&n)) else {
            return false;
        };
        col.identity
            || created_like(&col.name)
            || self
                .col(self.roles.created)
                .is_some_and(|c| c.name == col.name)
    }

    /// The primary key's columns, for saying what it does and does not serve.
    fn key_label(t: &Table) -> Option<String> {
        if !t.pk.is_empty() {
            return Some(t.pk.join(", "));
        }
        t.columns.iter().find(|c| c.pk).map(|c| c.name.clone())
    }

    pub(super) fn relay_index(&self) -> Item {
        let id = "relay-index";
        let required = self.cdc.is_none();
        if self.outbox.is_none() && self.dynamic_ddl.is_some() {
            return self.no_outbox(id, "an index for the relay");
        }
        let Some(t) = self.outbox else {
            return item(
                id,
                Status::Missing,
                required,
                "There is no outbox table to index.".to_string(),
            );
        };
        let ix = |i: &usize| self.m.indexes.get(*i);
        match &self.index_fit {
            IndexFit::NoOutbox => item(
                id,
                Status::Missing,
                required,
                "There is no outbox table to index.".to_string(),
            ),
            IndexFit::Partial(i) => {
                let Some(ix) = ix(i) else {
                    return self.no_outbox(id, "an index");
                };
                item(
                    id,
                    Status::Ok,
                    required,
                    format!(
                        "{} (line {}) is a partial index on unsent rows ({}). Nicely done: it \
                         holds only the backlog, so the relay's poll stays fast however many \
                         sent rows pile up. {}",
                        index_label(ix),
                        self.line(ix.start),
                        ix.predicate.as_deref().unwrap_or(""),
                        partial_index_upkeep(self.m.flavor)
                    ),
                )
            }
            IndexFit::Leading(i) => {
                let Some(ix) = ix(i) else {
                    return self.no_outbox(id, "an index");
                };
                item(
                    id,
                    Status::Ok,
                    required,
                    format!(
                        "{} (line {}) on ({}) lets the relay find pending rows in order without \
                         scanning the table. {}",
                        index_label(ix),
                        self.line(ix.start),
                        ix.columns.join(", "),
                        smaller_still(self.m.flavor)
                    ),
                )
            }
            IndexFit::SentOnly(i) => {
                let Some(ix) = ix(i) else {
                    return self.no_outbox(id, "an index");
                };
                item(
                    id,
                    Status::Wrong,
                    required,
                    format!(
                        "{} (line {}) is partial on rows that are already sent ({}); the relay \
                         asks for the opposite. Flip the predicate to the unsent rows.",
                        index_label(ix),
                        self.line(ix.start),
                        ix.predicate.as_deref().unwrap_or("")
                    ),
                )
            }
            IndexFit::Key => item(
                id,
                Status::Ok,
                required,
                format!(
                    "The primary key ({}) keeps `{}` in the order rows were written, and with no \
                     sent marker the table holds only rows still to send (sent ones are \
                     deleted), so the relay reads its backlog oldest first from that index.",
                    Self::key_label(t).unwrap_or_default(),
                    t.name
                ),
            ),
            IndexFit::Mismatch => {
                let list: Vec<String> = self
                    .m
                    .indexes
                    .iter()
                    .filter(|i| i.table == t.name)
                    .map(|i| format!("({})", i.columns.join(", ")))
                    .collect();
                item(
                    id,
                    Status::Wrong,
                    required,
                    format!(
                        "The outbox's indexes {} do not match the relay's query, which filters \
                         on the sent marker and orders by creation. Add one on the creation \
                         column{}.",
                        list.join(", "),
                        ideally_partial(self.m.flavor)
                    ),
                )
            }
            IndexFit::NotNeeded => item(
                id,
                Status::Ok,
                false,
                format!(
                    "No relay index, and none is needed: with CDC ({}) nothing polls the table; \
                     the connector reads the log.",
                    self.cdc.as_deref().unwrap_or("")
                ),
            ),
            IndexFit::Missing => item(
                id,
                Status::Missing,
                true,
                format!(
                    "No index on `{}` serves the relay's query{}. Every poll then scans the \
                     whole table, which grows with every booking; the relay gets slower exactly \
                     when it falls behind. Index the creation column{}.",
                    t.name,
                    Self::key_label(t)
                        .map(|k| format!(
                            " (the primary key on ({k}) is an index, but not one the poll for \
                             pending rows can use)"
                        ))
                        .unwrap_or_default(),
                    ideally_partial(self.m.flavor)
                ),
            ),
        }
    }
}

/// How the relay's index could be smaller, where the database allows it.
fn smaller_still(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Mysql => {
            "MySQL has no partial indexes, so this index holds every row ever written: sweep sent \
             rows out (delete or archive them) to keep it small."
        }
        Flavor::Postgres | Flavor::Sqlite => {
            "A partial index (WHERE <sent marker> IS NULL) would be smaller still: it would hold \
             only the backlog."
        }
    }
}

/// The advice to make the relay's index partial, where the database has partial indexes.
fn ideally_partial(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Mysql => " (MySQL has no partial indexes: sweep sent rows out to keep it small)",
        Flavor::Postgres | Flavor::Sqlite => ", ideally partial WHERE the sent marker IS NULL",
    }
}

/// What happens to a partial index's entry when a row is marked sent, which differs by database.
fn partial_index_upkeep(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Sqlite => "SQLite removes a row's entry as soon as it is marked sent.",
        Flavor::Mysql => "MySQL has no partial indexes, so this one will not be made there.",
        Flavor::Postgres => {
            "On PostgreSQL a marked row's entry stays in the index, dead, until VACUUM removes \
             it, so keep autovacuum up with the outbox or the index grows with every row sent."
        }
    }
}
