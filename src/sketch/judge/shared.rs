//! The shared facts: what two or more items say about the same thing (the write transaction's
//! scope, how the relay settles a published row, the relay's index, what the consumer does and
//! who it is), each settled once when the judge is built, so no two items can disagree. Every
//! item cites the facts it rests on by name; `Fact` is that name.

/// Where the booking and its outbox row are written, relative to each other. Offsets are where
/// the statements start; `group_start` is where their shared BEGIN is.
#[derive(Clone, Debug)]
pub(super) enum WriteScope {
    /// No statement inserts the business row.
    NoBookingWrite,
    /// The booking is inserted but no outbox row is written.
    NoOutboxWrite { booking: usize },
    /// One statement writes both (a data-modifying CTE).
    OneStatement { at: usize },
    /// Both inserts sit between one BEGIN and its COMMIT.
    OneTransaction {
        booking: usize,
        outbox: usize,
        group_start: usize,
    },
    /// Both inserts run inside one routine body.
    Routine {
        booking: usize,
        outbox: usize,
        name: String,
    },
    /// A trigger on the business table writes the outbox row.
    Trigger { table: String },
    /// The two inserts commit separately; each with where it runs ("on its own, committed by
    /// itself", "in the transaction that begins at line 12").
    Separate {
        booking: usize,
        outbox: usize,
        booking_in: String,
        outbox_in: String,
    },
}

impl WriteScope {
    /// The booking and its event commit together or not at all.
    pub(super) fn atomic(&self) -> bool {
        matches!(
            self,
            WriteScope::OneStatement { .. }
                | WriteScope::OneTransaction { .. }
                | WriteScope::Routine { .. }
                | WriteScope::Trigger { .. }
        )
    }

    pub(super) fn label(&self) -> &'static str {
        match self {
            WriteScope::NoBookingWrite => "no-booking-write",
            WriteScope::NoOutboxWrite { .. } => "no-outbox-write",
            WriteScope::OneStatement { .. } => "one-statement",
            WriteScope::OneTransaction { .. } => "one-transaction",
            WriteScope::Routine { .. } => "routine",
            WriteScope::Trigger { .. } => "trigger",
            WriteScope::Separate { .. } => "separate",
        }
    }
}

/// How the relay gets rid of a row it has handled: marks it sent, or deletes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum SettleKind {
    /// The sent marker set; the column when SQL names it.
    Mark {
        col: Option<String>,
    },
    Delete,
}

/// When a settle takes effect, for one that comes before the publish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Commit {
    /// It commits (at this offset) before the publish: a crash in between loses the event.
    First(usize),
    /// Its transaction is still open at the publish and commits after it, at this offset.
    Open(usize),
}

/// Where a settle stands against the publish, read from the relay's order of effects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SettleOrder {
    /// After the publish (or the broker's ack) at this offset.
    AfterPublish(usize),
    /// Before the publish at this offset (none when the sketch never writes the publish down,
    /// as for a claim that marks rows sent: nothing can be published before it).
    BeforePublish {
        publish: Option<usize>,
        commit: Commit,
    },
    /// The relay never says where it publishes.
    Unstated,
}

/// One place where the relay marks or deletes rows, and its place in the relay's order.
#[derive(Clone, Debug)]
pub(super) struct Settle {
    pub(super) kind: SettleKind,
    /// Where the text says it.
    pub(super) at: usize,
    /// Its statement; none for prose.
    pub(super) unit: Option<usize>,
    /// It is the relay's claim itself (`UPDATE ... SET published_at ... RETURNING`).
    pub(super) claim: bool,
    pub(super) order: SettleOrder,
}

impl Settle {
    /// The event can be lost: the row counts as sent before the broker has it.
    pub(super) fn before_publish(&self) -> bool {
        matches!(self.order, SettleOrder::BeforePublish { .. })
    }

    pub(super) fn is_mark(&self) -> bool {
        matches!(self.kind, SettleKind::Mark { .. })
    }

    pub(super) fn label(&self) -> String {
        let kind = match self.kind {
            SettleKind::Mark { .. } => "mark",
            SettleKind::Delete => "delete",
        };
        let order = match self.order {
            SettleOrder::AfterPublish(_) => "after-publish",
            SettleOrder::BeforePublish { .. } => "before-publish",
            SettleOrder::Unstated => "unordered",
        };
        format!("{kind}-{order}")
    }
}

/// How well the outbox's indexes serve the relay's poll. Numbers index the model's indexes.
#[derive(Clone, Debug)]
pub(super) enum IndexFit {
    NoOutbox,
    /// Partial on unsent rows: the best there is.
    Partial(usize),
    /// Leads with a column the relay filters or orders on.
    Leading(usize),
    /// Partial, but on the rows already sent.
    SentOnly(usize),
    /// No index of its own, but the primary key leads with the creation order and, with no sent
    /// marker, the table holds only rows still to send.
    Key,
    /// Indexes on the outbox, none of them useful to the relay.
    Mismatch,
    /// No index on the outbox, and CDC means none is needed.
    NotNeeded,
    Missing,
}

impl IndexFit {
    pub(super) fn serves_relay(&self) -> bool {
        matches!(
            self,
            IndexFit::Partial(_) | IndexFit::Leading(_) | IndexFit::Key
        )
    }

    pub(super) fn label(&self) -> &'static str {
        match self {
            IndexFit::NoOutbox => "no-outbox",
            IndexFit::Partial(_) => "partial",
            IndexFit::Leading(_) => "leading",
            IndexFit::SentOnly(_) => "sent-rows-only",
            IndexFit::Key => "primary-key",
            IndexFit::Mismatch => "mismatch",
            IndexFit::NotNeeded => "not-needed",
            IndexFit::Missing => "missing",
        }
    }
}

/// Whether the consumer records the event id in the same transaction as its side effect, and
/// acknowledges only after that commits. Offsets are where the text says each thing.
#[derive(Clone, Debug)]
pub(super) enum ConsumerScope {
    /// The sketch shows no consumer write beyond the inbox itself.
    NotShown,
    /// A comment in the consumer's part says the record and the side effect share a transaction.
    Said { at: usize },
    /// The inbox insert and a side effect sit in one transaction.
    OneTransaction { record: usize, effect: usize },
    /// The event id commits before the side effect: a crash between them loses the event,
    /// since the redelivery is skipped as a duplicate.
    RecordFirst { record: usize, effect: usize },
    /// The side effect commits before the event id: a crash between them applies it twice.
    EffectFirst { record: usize, effect: usize },
    /// The consumer acknowledges before its transaction commits: a crash loses the event.
    AckFirst { ack: usize, record: usize },
}

impl ConsumerScope {
    pub(super) fn label(&self) -> &'static str {
        match self {
            ConsumerScope::NotShown => "not-shown",
            ConsumerScope::Said { .. } => "said-one-transaction",
            ConsumerScope::OneTransaction { .. } => "one-transaction",
            ConsumerScope::RecordFirst { .. } => "record-before-effect",
            ConsumerScope::EffectFirst { .. } => "effect-before-record",
            ConsumerScope::AckFirst { .. } => "ack-before-commit",
        }
    }
}

/// The name of a shared fact, as items cite it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fact {
    /// Which table is the outbox.
    Outbox,
    /// `WriteScope`.
    WriteScope,
    /// How the relay claims rows.
    Claim,
    /// Whether a CDC connector is the relay.
    Cdc,
    /// The outbox's sent marker.
    Marker,
    /// `IndexFit`.
    RelayIndex,
    /// Every `Settle`.
    Settle,
    /// Which table is the inbox, and whether its key dedupes.
    Inbox,
    /// `ConsumerScope`.
    ConsumerScope,
    /// Who the consumer is.
    Consumer,
    /// What the file holds: a whole sketch, schema alone, or a schema review.
    File,
}

impl Fact {
    pub(super) fn name(self) -> &'static str {
        match self {
            Fact::Outbox => "outbox",
            Fact::WriteScope => "write-scope",
            Fact::Claim => "claim",
            Fact::Cdc => "cdc",
            Fact::Marker => "marker",
            Fact::RelayIndex => "relay-index",
            Fact::Settle => "settle",
            Fact::Inbox => "inbox",
            Fact::ConsumerScope => "consumer-scope",
            Fact::Consumer => "consumer",
            Fact::File => "file",
        }
    }
}
