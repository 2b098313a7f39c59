//! The relay-index item: does an index let a polling relay find pending rows in order without
//! scanning the outbox, ideally a partial one that holds only the backlog. The answer is the
//! shared `IndexFit`, which the anti-patterns item reads too.

use super::design::{Judge, item};
use super::shared::IndexFit;
use crate::sketch::model::Flavor;
use crate::sketch::report::{Item, Status};
use crate::sketch::roles::created_like;
use crate::sketch::schema::index_label;
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
                if on_marker && partial_sent.is_none() {
                    partial_sent = Some(i);
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
        } else if !mine.is_empty() {
            IndexFit::Mismatch
        } else if self.cdc.is_some() {
            IndexFit::NotNeeded
        } else {
            IndexFit::Missing
        }
    }

    pub(super) fn relay_index(&self) -> Item {
        let id = "relay-index";
        let required = self.cdc.is_none();
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
                         scanning the table. A partial index (WHERE <sent marker> IS NULL) would \
                         be smaller still: it would hold only the backlog.",
                        index_label(ix),
                        self.line(ix.start),
                        ix.columns.join(", ")
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
                         column, ideally partial on unsent rows.",
                        list.join(", ")
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
                    "No index on `{}` serves the relay's query. Every poll then scans the whole \
                     table, which grows with every booking; the relay gets slower exactly when \
                     it falls behind. Index the creation column, ideally partial WHERE the sent \
                     marker IS NULL.",
                    t.name
                ),
            ),
        }
    }
}

/// What happens to a partial index's entry when a row is marked sent, which differs by database.
fn partial_index_upkeep(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Sqlite => "SQLite removes a row's entry as soon as it is marked sent.",
        Flavor::Postgres => {
            "On PostgreSQL a marked row's entry stays in the index, dead, until VACUUM removes \
             it, so keep autovacuum up with the outbox or the index grows with every row sent."
        }
    }
}
