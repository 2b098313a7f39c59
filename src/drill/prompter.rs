//! What a session asks of whoever answers: the [`Prompter`] trait and the [`Reply`] it gives.

use std::io;

use super::entry::Entry;
use crate::grade::Verdict;
use crate::grade::item::Graded;

/// What the learner did at a prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply<T> {
    Answer(T),
    /// Show the next hint, then ask again.
    Hint,
    /// Leave this item for another time.
    Skip,
    /// Stop the session (Esc); everything answered is kept.
    Stop,
}

/// What the learner may do at the pause after an item's feedback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    /// Go on to the next item, or finish after the last.
    Next,
    /// Show the details: the rest of the reasoning, the model answer and the hints.
    Details,
    /// Try the same item again now; both attempts are recorded.
    Retry,
    /// Overrule the grader with the learner's own verdict.
    Overrule(Verdict),
    /// Stop the session (Esc); everything answered is kept.
    Stop,
}

/// The terminal as a session sees it: dialoguer for people, a script in tests.
pub trait Prompter {
    /// A new item begins.
    fn begin(&mut self, entry: Entry<'_>, position: usize, total: usize);
    /// Pick one of `options`.
    fn choose(
        &mut self,
        question: &str,
        options: &[&str],
        hints_left: bool,
    ) -> io::Result<Reply<usize>>;
    /// Write an answer.
    fn write(&mut self, question: &str, hints_left: bool) -> io::Result<Reply<String>>;
    fn hint(&mut self, hint: &str, number: usize, of: usize);
    /// The verdict and the short feedback.
    fn graded(&mut self, graded: &Graded);
    /// The details, on request: the rest of the reasoning, the model answer and the hints.
    fn details(&mut self, graded: &Graded);
    /// The pause after the feedback: waits for the learner to pick one of `offers`. `last` says
    /// whether going on finishes the session.
    fn then(&mut self, graded: &Graded, offers: &[Then], last: bool) -> io::Result<Then>;
}
