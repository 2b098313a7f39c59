//! The judge: a sketch's model judged item by item, in the order the report lists them, one file
//! per item group. `design` first settles which table plays which part, and the shared facts
//! (`shared`) are settled once from the text's parts (`units`), the relay's order (`settle`) and
//! the consumer's (`consumer`); the groups read them, and each item cites (`cite`) the facts it
//! rests on, so two items can never state two different things about one fact.

mod anti_patterns;
mod cite;
mod consumer;
mod design;
mod inbox;
mod mark_after_publish;
mod outbox;
mod relay_claim;
mod relay_index;
mod sandbox_run;
mod settle;
mod shared;
mod units;
mod write_transaction;

pub(super) use design::Judge;

use crate::sketch::report::Item;
use shared::Fact::{
    Cdc, Claim, Consumer, ConsumerScope, File, Inbox, Marker, Outbox, RelayIndex, Settle,
    WriteScope,
};

impl<'m> Judge<'m> {
    pub(super) fn items(&self) -> Vec<Item> {
        vec![
            self.cited(self.outbox_table(), &[Outbox, WriteScope]),
            self.cited(self.event_id_unique(), &[Outbox]),
            self.cited(self.aggregate(), &[Outbox]),
            self.cited(self.event_type(), &[Outbox]),
            self.cited(self.payload(), &[Outbox]),
            self.cited(self.created_at(), &[Outbox]),
            self.cited(self.pending_marker(), &[Outbox, Marker, Cdc]),
            self.cited(
                self.relay_index(),
                &[Outbox, RelayIndex, Marker, Claim, Cdc],
            ),
            self.cited(self.write_transaction(), &[Outbox, WriteScope, File]),
            self.cited(self.relay_claim(), &[Outbox, Claim, Cdc, File]),
            self.cited(
                self.mark_after_publish(),
                &[Outbox, Claim, Cdc, Marker, Settle, File],
            ),
            self.cited(self.inbox_item(), &[Inbox, ConsumerScope, Consumer, File]),
            self.cited(
                self.anti_patterns(),
                &[Outbox, WriteScope, Settle, RelayIndex, Cdc],
            ),
        ]
    }

    /// The sandbox-run item, citing what it says about the write transaction.
    pub(super) fn sandbox(&self) -> Item {
        self.cited(self.sandbox_item(), &[WriteScope])
    }
}

#[cfg(test)]
mod tests;
