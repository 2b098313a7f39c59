//! Pure grading: an answer and what was expected in, a verdict, a score and feedback out.
//!
//! Free text is graded by concepts, not keywords. Each concept is a set of phrasings; a phrasing
//! counts only when it is asserted (not negated in its clause). A phrasing of the concept's
//! opposite (`contradicts`) or of a named misconception outweighs any number of right words,
//! so an answer stuffed with the right vocabulary but saying the wrong thing does not pass.

mod choice;
mod free_text;
pub mod item;
mod verdict;

pub use choice::{ChoiceGrade, grade_choice, read_choice};
pub use free_text::{Gap, Met, Spotted, TextGrade, grade_text};
pub use verdict::Verdict;
