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
    /// The verdict, what was expected and why.
    fn graded(&mut self, graded: &Graded);
    /// After a free-text answer: the learner may overrule the grader.
    fn overrule(&mut self, graded: &Graded) -> io::Result<Option<Verdict>>;
}
