//! Why a drill session cannot start: each message says what was wrong and what to do instead.

use crate::userfile::ReadError;

/// A session that cannot be planned, or an answers file that cannot be graded.
#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    /// The answers file is missing, not a regular file, too large or not text.
    #[error("cannot read the answers file")]
    AnswersFile(#[from] ReadError),
    /// One key given twice in one object: a JSON parser would silently keep the second.
    #[error(
        "{file}:{line}:{column}: \"{key}\" appears twice in one object (first at line {first_line}); keep one"
    )]
    DuplicateKey {
        file: String,
        key: String,
        first_line: usize,
        line: usize,
        column: usize,
    },
    /// One answer far longer than any real one.
    #[error(
        "{file}: the answer to {section} {id} is {bytes} bytes, over the limit of {max} for one answer; shorten it"
    )]
    AnswerTooLong {
        file: String,
        section: String,
        id: String,
        bytes: usize,
        max: usize,
    },
    /// The answers file is not the JSON shape it should be.
    #[error("{file}:{line}:{column}: {message} (the format is in `msgwork drill --help`)")]
    AnswersSyntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// The answers file names items the pack does not have in that section, one problem each.
    #[error("{file}: {}", problems.join("; "))]
    UnknownAnswers { file: String, problems: Vec<String> },
    /// `--section`/`--only` left none of the answers in the file.
    #[error("{file} has no answers for the items selected; nothing to grade")]
    NothingSelected { file: String },
    /// `--resume` with no session left unfinished.
    #[error("there is no stopped drill session to resume; start one with `msgwork drill`")]
    NoStoppedSession,
    /// `--only` named ids the pack does not have.
    #[error("no item {0:?}; `msgwork drill --list` shows them all")]
    UnknownItems(Vec<String>),
    /// `--section` and `--only` together select nothing.
    #[error("no items match --section/--only; `msgwork drill --list` shows them all")]
    NothingMatches,
}
