//! Bugs the checker must catch: each is a realistic mistake in an outbox pipeline, switched on
//! only by the test suite to prove that `simulate --check` fails when the code is wrong.
//!
//! The command line cannot reach them; a run carries [`Mutant::None`] unless a test says otherwise.

/// One deliberate bug in the service, a relay or the consumer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mutant {
    /// The pipeline as it should be.
    #[default]
    None,
    /// The service commits the order, then writes the outbox row in a second transaction.
    OrderThenOutbox,
    /// A relay marks its batch sent right after claiming it, before publishing.
    MarkBeforePublish,
    /// A relay marks the whole id range of its batch sent, not fenced by its claim: rows in the
    /// gaps belong to other relays, which may not have published them yet.
    MarkRangeWithoutFence,
    /// A relay claims rows whatever their lease says.
    ClaimIgnoringLease,
    /// A PostgreSQL relay commits the transaction that locked its batch with SKIP LOCKED before
    /// publishing the rows, so the locks are gone while it works.
    CommitClaimEarly,
    /// A relay reads the unsent rows no lease holds in one step, and claims them in the next.
    SelectThenClaimTwoSteps,
    /// A relay reads the unsent rows no lease holds and claims them by id in the same step: two
    /// statements another relay can come between.
    SelectThenClaim,
    /// A relay times its lease, and whether another relay's has run out, by its own clock rather
    /// than the database's: one whose clock runs ahead takes rows another still holds.
    LeaseFromOwnClock,
    /// The consumer records the event id in its own transaction before the charge's.
    InboxCommitFirst,
    /// The consumer acknowledges the broker before its transaction commits.
    AckBeforeCommit,
    /// The consumer remembers event ids in memory instead of an inbox table.
    MemoryDedupe,
    /// The consumer checks the inbox, commits the charge, then records the id in a second
    /// transaction.
    InboxAfterCharge,
}

impl Mutant {
    /// Every bug, for the suite that proves each is caught.
    pub const ALL: [Mutant; 12] = [
        Mutant::OrderThenOutbox,
        Mutant::MarkBeforePublish,
        Mutant::MarkRangeWithoutFence,
        Mutant::ClaimIgnoringLease,
        Mutant::CommitClaimEarly,
        Mutant::SelectThenClaimTwoSteps,
        Mutant::SelectThenClaim,
        Mutant::LeaseFromOwnClock,
        Mutant::InboxCommitFirst,
        Mutant::AckBeforeCommit,
        Mutant::MemoryDedupe,
        Mutant::InboxAfterCharge,
    ];

    /// Whether the bug can exist on this backend: SQLite claims commit at once, so only
    /// PostgreSQL can commit a claim early; PostgreSQL's row locks skip what another relay holds,
    /// however a relay came to ask for the rows, and whatever its clock says.
    pub fn applies(self, postgres: bool) -> bool {
        match self {
            Mutant::CommitClaimEarly => postgres,
            Mutant::ClaimIgnoringLease
            | Mutant::SelectThenClaim
            | Mutant::SelectThenClaimTwoSteps
            | Mutant::MarkRangeWithoutFence
            | Mutant::LeaseFromOwnClock => !postgres,
            _ => true,
        }
    }
}
