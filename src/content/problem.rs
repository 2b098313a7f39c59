//! What can be wrong with a content pack, said with the file, the line and the fix.

use std::fmt;

use serde::Serialize;

/// What kind of problem a content file has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// Not valid TOML.
    Syntax,
    /// A field that is unknown, missing or of the wrong type.
    Schema,
    /// A missing or unsupported `format_version`.
    FormatVersion,
    /// A file that is none of the three kinds of content.
    UnknownKind,
    /// An id used twice.
    DuplicateId,
    /// A choice answer that is not one of the question's options.
    BadChoice,
    /// A rubric with nothing to grade against.
    EmptyRubric,
    /// A misconception id that the catalogue does not define.
    DanglingMisconception,
    /// A pattern the grader cannot read.
    BadPattern,
    /// A section that does not exist.
    BadSection,
    /// A number out of range (credit, weight).
    BadValue,
    /// A file that cannot be read.
    Unreadable,
    /// The directory given is not a pack at all: missing, not a directory, or with no content.
    NotAPack,
    /// A symbolic link that leads nowhere, round a loop, or out of the pack.
    Link,
    /// A named pipe, socket or device where a content file should be.
    SpecialFile,
    /// A file, or the whole pack, past its size limit.
    TooLarge,
    /// A file that is not UTF-8 text.
    NotText,
    /// An id the built-in pack defines too, redefined without `--override`.
    OverridesBuiltin,
}

/// One problem in a content pack, with where it is and how to fix it.
#[derive(Clone, Debug, Serialize)]
pub struct Problem {
    pub file: String,
    /// 1-based; 0 when the problem is about the whole file.
    pub line: usize,
    pub column: usize,
    pub kind: ProblemKind,
    pub message: String,
    pub fix: String,
}

impl Problem {
    /// A problem with a whole file (or folder) rather than a place in it.
    pub fn about(file: String, kind: ProblemKind, message: String, fix: impl Into<String>) -> Self {
        Problem {
            file,
            line: 0,
            column: 0,
            kind,
            message,
            fix: fix.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )?;
        } else {
            write!(f, "{}: {}", self.file, self.message)?;
        }
        if !self.fix.is_empty() {
            write!(f, " (fix: {})", self.fix)?;
        }
        Ok(())
    }
}

/// A pack could not be loaded; every problem found is listed.
#[derive(Debug, thiserror::Error)]
#[error("{} problem(s) in the content pack, first: {}", problems.len(), problems.first().map(|p| p.to_string()).unwrap_or_default())]
pub struct PackError {
    pub problems: Vec<Problem>,
}

impl PackError {
    /// The problems in a stable order: by file, then line and column, then message.
    pub fn sorted(mut problems: Vec<Problem>) -> Self {
        problems.sort_by(|a, b| {
            (&a.file, a.line, a.column, &a.message).cmp(&(&b.file, b.line, b.column, &b.message))
        });
        PackError { problems }
    }
}

/// A content file's text with the name it is reported under.
pub struct Source<'a> {
    pub name: String,
    pub text: &'a str,
}
