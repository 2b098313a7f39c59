//! Notification vs event-carried state transfer: rewriting a thin event, keeping secrets and
//! needless personal data off the wire.

pub mod input;
