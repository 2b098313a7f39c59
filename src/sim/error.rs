//! The errors every floor of the labs shares: what went wrong in a run (`SimError`), on a lab
//! database (`SqlContext`, `PgError`), or on the pipe between a process-mode parent and its children
//! (`WireError`). They sit beneath storage and the labs so that each can name them without a circle.

use std::io;
use std::path::PathBuf;

/// Why a lab run could not finish, or could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{0}")]
    Invalid(String),
    #[error("the lab's database failed while {doing}: {cause}")]
    Sql {
        doing: &'static str,
        cause: rusqlite::Error,
    },
    #[error("cannot prepare the lab's database directory {}: {cause}", path.display())]
    Dir {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// The lab could not cut a database's log where a simulated power loss stopped the disk.
    #[error(
        "cannot cut the write-ahead log of {} for a simulated power loss: {cause}; check that \
         the lab's directory is writable",
        path.display()
    )]
    PowerLoss {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("event {event_id} carries a payload billing cannot read: {err}")]
    Payload {
        event_id: String,
        err: serde_json::Error,
    },
    #[error(
        "the run did not settle after {steps} steps; this is a bug in msgwork, please report it with the seed"
    )]
    Stuck { steps: u64 },
    #[error(transparent)]
    Postgres(#[from] PgError),
    #[error("internal error: {0}")]
    Internal(&'static str),
    /// A child process of `--crash-mode process` misbehaved, as the parent saw it.
    #[error("{actor}, a child process of the lab, {problem}")]
    Child { actor: String, problem: String },
    /// What a child process saw go wrong on its pipe to the parent.
    #[error("the pipe to the parent process failed: {0}")]
    Pipe(WireError),
    /// A child process's parent closed the pipe: the run is over, one way or another.
    #[error("the parent process closed the pipe")]
    ParentGone,
    /// An injected fault killed the actor making the call: its driver rebuilds it. Never reaches
    /// the user.
    #[error("internal error: an injected crash escaped its actor")]
    Crashed,
    /// The run ended while an actor waited for its turn. Never reaches the user.
    #[error("internal error: an actor outlived its run")]
    Stopped,
    /// A statement would have waited for another connection's transaction, and was told not to.
    #[error("the database is busy with another transaction")]
    Busy,
    /// The broker did not acknowledge a publish: the message may or may not have been stored.
    #[error("the broker did not acknowledge the publish")]
    Unacknowledged,
}

impl SimError {
    /// Whether SQLite refused a statement because another connection holds the write lock.
    pub fn is_busy(&self) -> bool {
        matches!(self, SimError::Busy)
            || matches!(
                self,
                SimError::Sql {
                    cause: rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error {
                            code: rusqlite::ErrorCode::DatabaseBusy,
                            ..
                        },
                        _
                    ),
                    ..
                }
            )
    }
}

impl From<WireError> for SimError {
    fn from(err: WireError) -> Self {
        SimError::Pipe(err)
    }
}

/// Attaches what was being done to a SQLite error.
pub trait SqlContext<T> {
    fn sql(self, doing: &'static str) -> Result<T, SimError>;
}

impl<T> SqlContext<T> for rusqlite::Result<T> {
    fn sql(self, doing: &'static str) -> Result<T, SimError> {
        self.map_err(|cause| SimError::Sql { doing, cause })
    }
}

/// Why msgwork could not use a database URL.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error(
        "'{url}' is not a PostgreSQL URL: {why}. Write it like postgres://USER@HOST:PORT/DATABASE"
    )]
    Url { url: String, why: String },
    #[error("cannot connect to {url}: {why}. {hint}")]
    Connect {
        url: String,
        why: String,
        hint: &'static str,
    },
    #[error("PostgreSQL failed while {doing}: {}", describe(.cause))]
    Sql {
        doing: &'static str,
        cause: postgres::Error,
    },
}

/// Attaches what was being done to a PostgreSQL error.
pub trait PgContext<T> {
    fn pg(self, doing: &'static str) -> Result<T, PgError>;
}

impl<T> PgContext<T> for Result<T, postgres::Error> {
    fn pg(self, doing: &'static str) -> Result<T, PgError> {
        self.map_err(|cause| PgError::Sql { doing, cause })
    }
}

/// An error's message with its cause: the driver's top line alone is often just "error connecting".
pub(crate) fn describe(err: &postgres::Error) -> String {
    if let Some(db) = err.as_db_error() {
        return db.message().to_string();
    }
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = cause.source();
    }
    text
}

/// What went wrong on the line-oriented pipe between a process-mode parent and a child.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("{0}")]
    Io(io::Error),
    #[error("a line longer than {0} bytes")]
    TooLong(usize),
    #[error("half a line, cut off by the end of the stream: {0}")]
    Truncated(String),
    #[error("an answer that does not fit the question asked: {0}")]
    Unexpected(String),
    #[error("a line that is not the lab's protocol ({cause}): {line}")]
    Malformed {
        line: String,
        cause: serde_json::Error,
    },
}

impl From<io::Error> for WireError {
    fn from(err: io::Error) -> Self {
        WireError::Io(err)
    }
}
