//! A drill session: asking through a [`Prompter`], grading each answer and recording it the
//! moment it is given, and the review schedule derived from the answers.

pub mod clock;
pub mod entry;
pub mod play;
pub mod prompter;
pub mod record;
pub mod review;

pub use clock::now;
pub use entry::{Entry, entries, find};
pub use play::{Played, Stop, play};
pub use prompter::{Prompter, Reply};
pub use review::{cards, effective};
