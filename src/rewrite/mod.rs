//! Notification vs event-carried state transfer: rewriting a thin event, keeping secrets and
//! needless personal data off the wire, checking a learner's own rewrite, and the exercise that
//! walks a learner through one.

pub mod catalogue;
pub mod check;
pub mod classify;
mod envelope;
mod forms;
pub mod input;
mod output;
mod paths;
pub mod practice;
pub mod redact;
mod thin;
mod timestamp;

pub use forms::{Source, rewrite};
pub use output::{
    CallBacks, ConsumerView, Excluded, Flagged, Metrics, NoEcst, Rewrite, SCHEMA_VERSION,
};
pub use thin::{FieldError, event_type_of};
