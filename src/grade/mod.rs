//! Pure grading: an answer and what was expected in, a verdict, a score and feedback out.
//!
//! Free text is graded by claims, not keywords. Each concept is a set of phrasings; a phrasing
//! counts only where a clause of the answer asserts it (not in a list of terms, not denied, not
//! quoted: see `content::text`). A phrasing of the concept's opposite (`contradicts`) or of a
//! named misconception keeps even a complete answer at partial, so an answer stuffed with the
//! right vocabulary but saying the wrong thing does not pass.

mod choice;
pub mod feedback;
mod free_text;
pub mod item;
mod verdict;

pub use choice::{ChoiceGrade, grade_choice, read_choice};
pub use free_text::{Gap, Met, Spotted, TextGrade, grade_text};
pub use verdict::Verdict;
