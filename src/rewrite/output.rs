//! The rewrite as `--json` prints it: both forms of the event, its consumers, what was kept off
//! and why, and what each form costs.

use serde::Serialize;
use serde_json::Value;

use super::catalogue::Form;
use super::classify::Class;

/// Bumped when a key of the `--json` output changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;

/// A consumer as the output shows it.
#[derive(Clone, Debug, Serialize)]
pub struct ConsumerView {
    pub name: String,
    pub prefers: Form,
    pub reason: String,
    pub needs: Vec<String>,
    pub stale_risk: String,
}

/// A field kept off the ECST form.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Excluded {
    pub path: String,
    pub class: Class,
    pub reason: String,
}

/// Personal data that does travel, because a named consumer needs it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Flagged {
    pub path: String,
    pub reason: String,
    pub needed_by: Vec<String>,
}

/// Call-backs to the source a consumer needs per event, under each form.
#[derive(Clone, Debug, Serialize)]
pub struct CallBacks {
    pub consumer: String,
    pub notification: u32,
    pub ecst: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct Metrics {
    pub notification_bytes: usize,
    pub ecst_bytes: Option<usize>,
    pub callbacks: Vec<CallBacks>,
    /// ECST fields that are copies and can go stale at the consumers.
    pub stale_fields: Vec<String>,
}

/// Why a rewrite has no ECST form to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoEcst {
    /// Fewer than two consumers want the state on the event.
    FewWantIt,
    /// No record of the entity was found, so the event's own ids are all there is to carry.
    NeedsTheRecord,
    /// The record has nothing the ECST consumers ask for beyond the entity's id.
    NothingBeyondTheId,
}

/// The whole rewrite, as `--json` prints it.
#[derive(Clone, Debug, Serialize)]
pub struct Rewrite {
    pub schema_version: u32,
    pub event_type: String,
    /// The standard envelope the event came in (`cloudevents`, `stripe-event` ...), when it
    /// came in one; the notes say what was read from it.
    pub envelope: Option<String>,
    pub consumers: Vec<ConsumerView>,
    /// True when the event type is not in the catalogue and the consumers were reasoned from it.
    pub consumers_reasoned: bool,
    /// Where the entity's state came from.
    pub record_source: String,
    pub notification: Value,
    pub ecst: Option<Value>,
    /// Why there is no ECST form, when there is none.
    pub ecst_absent: Option<NoEcst>,
    pub excluded_fields: Vec<Excluded>,
    /// Fields of the thin event itself left off both forms because they look like secrets
    /// (an id holding a card number, a correlation id holding a key), and why.
    pub dropped_from_event: Vec<Excluded>,
    pub flagged_pii: Vec<Flagged>,
    pub metrics: Metrics,
    pub notes: Vec<String>,
}
