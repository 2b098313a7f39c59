//! A drill session, interactive or from an answers file: the plan, asking through a
//! [`Prompter`] or reading the file, grading each answer and recording it the moment it is
//! given, resuming a stopped session, and the review schedule derived from the answers.

pub mod answers;
pub mod clock;
pub mod entry;
pub mod error;
pub mod plan;
pub mod play;
pub mod prompter;
pub mod record;
pub mod resume;
pub mod review;
pub mod summary;

pub use clock::now;
pub use entry::{Entry, entries, find};
pub use error::DrillError;
pub use play::{Played, Stop, play};
pub use prompter::{Prompter, Reply, Then};
pub use review::{cards, effective};
