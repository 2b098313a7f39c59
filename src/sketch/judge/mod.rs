//! The judge: a sketch's model judged item by item, in the order the report lists them, one file
//! per item group. `design` first settles which table plays which part; the groups read it.

mod anti_patterns;
mod design;
mod inbox;
mod mark_after_publish;
mod outbox;
mod relay_claim;
mod relay_index;
mod sandbox_run;
mod write_transaction;

pub(super) use design::Judge;

use crate::sketch::report::Item;

impl<'m> Judge<'m> {
    pub(super) fn items(&self) -> Vec<Item> {
        vec![
            self.outbox_table(),
            self.event_id_unique(),
            self.aggregate(),
            self.event_type(),
            self.payload(),
            self.created_at(),
            self.pending_marker(),
            self.relay_index(),
            self.write_transaction(),
            self.relay_claim(),
            self.mark_after_publish(),
            self.inbox_item(),
            self.anti_patterns(),
        ]
    }
}

#[cfg(test)]
mod tests;
