//! Self-assessment with proof: what the workshop and the lab say a learner must be able to show,
//! each item verified from what the learner actually ran and recorded. Nothing is ticked by hand,
//! and nothing msgwork ships or prints counts as the learner's own work.

pub mod artifact;
mod assess;
pub mod build;
pub mod fingerprint;
mod item;
mod lab;
pub mod next;
pub mod samples;
mod workshop;
mod writeup;

pub use assess::assess;
pub use item::{Evidence, Refusal, complete, proving_run};
pub use writeup::writeup_rubric;

/// Bumped when a key of the `--json` output changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;
