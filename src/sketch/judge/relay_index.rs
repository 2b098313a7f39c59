//! The relay-index item: does an index let a polling relay find pending rows in order without
//! scanning the outbox, ideally a partial one that holds only the backlog.

use super::design::{Judge, item};
use crate::sketch::report::{Item, Status};
use crate::sketch::roles::created_like;
use crate::sketch::schema::{Index, index_label};
use crate::sketch::words::words;

impl<'m> Judge<'m> {
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
        let markers = self.marker_cols();
        let marker_names: Vec<&str> = markers.iter().map(|(c, _)| c.name.as_str()).collect();
        let created = self.col(self.roles.created).map(|c| c.name.as_str());
        let event_id = self.col(self.roles.event_id).map(|c| c.name.as_str());
        let order_names: Vec<String> = self
            .claim
            .and_then(|c| self.m.units.get(c.unit))
            .map(|u| u.facts.order_by.clone())
            .unwrap_or_default();
        let mine: Vec<&Index> = self
            .m
            .indexes
            .iter()
            .filter(|i| i.table == t.name)
            .collect();
        let mut partial_sent = None;
        let mut leading = None;
        for ix in &mine {
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
                    return item(
                        id,
                        Status::Ok,
                        required,
                        format!(
                            "{} (line {}) is a partial index on unsent rows ({}). Nicely done: \
                             it holds only the backlog, so the relay's poll stays fast however \
                             many sent rows pile up, and it shrinks as rows are marked.",
                            index_label(ix),
                            self.line(ix.start),
                            p
                        ),
                    );
                }
                if on_marker && partial_sent.is_none() {
                    partial_sent = Some(*ix);
                }
            }
            let useful_first = marker_names.contains(&first)
                || Some(first) == created
                || order_names
                    .iter()
                    .any(|o| o == first && Some(first) != event_id)
                || created_like(first);
            if useful_first && !(ix.unique && Some(first) == event_id) && leading.is_none() {
                leading = Some(*ix);
            }
        }
        if let Some(ix) = leading {
            return item(
                id,
                Status::Ok,
                required,
                format!(
                    "{} (line {}) on ({}) lets the relay find pending rows in order without \
                     scanning the table. A partial index (WHERE <sent marker> IS NULL) would be \
                     smaller still: it would hold only the backlog.",
                    index_label(ix),
                    self.line(ix.start),
                    ix.columns.join(", ")
                ),
            );
        }
        if let Some(ix) = partial_sent {
            return item(
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
            );
        }
        if !mine.is_empty() {
            let list: Vec<String> = mine
                .iter()
                .map(|i| format!("({})", i.columns.join(", ")))
                .collect();
            return item(
                id,
                Status::Wrong,
                required,
                format!(
                    "The outbox's indexes {} do not match the relay's query, which filters on \
                     the sent marker and orders by creation. Add one on the creation column, \
                     ideally partial on unsent rows.",
                    list.join(", ")
                ),
            );
        }
        if let Some(e) = &self.cdc {
            return item(
                id,
                Status::Ok,
                false,
                format!(
                    "No relay index, and none is needed: with CDC ({e}) nothing polls the \
                     table; the connector reads the log."
                ),
            );
        }
        item(
            id,
            Status::Missing,
            true,
            format!(
                "No index on `{}` serves the relay's query. Every poll then scans the whole \
                 table, which grows with every booking; the relay gets slower exactly when it \
                 falls behind. Index the creation column, ideally partial WHERE the sent \
                 marker IS NULL.",
                t.name
            ),
        )
    }
}
