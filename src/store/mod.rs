//! The learner's progress store: one SQLite file in the data directory, opened once per process
//! and migrated on open. Every recorded run lands here so `msgwork evidence` can verify it later.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::Serialize;

mod review;

pub use review::{History, Past, Seed};

/// The file inside the data directory.
pub const FILE_NAME: &str = "progress.db";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot use data directory {}: {reason}; pass --data-dir DIR or set MSGWORK_HOME to a writable directory",
        path.display()
    )]
    Dir { path: PathBuf, reason: String },
    #[error(
        "cannot open the progress store {}: {}; if the file is damaged, move it aside, or pass --data-dir DIR to use another directory",
        path.display(), sql_reason(cause)
    )]
    Open {
        path: PathBuf,
        cause: rusqlite::Error,
    },
    /// The data directory or the store file cannot be written: what was done can still be shown.
    #[error(
        "cannot write to the progress store {}: {reason}; make the data directory and the file writable (chmod u+w), or pass --data-dir DIR or set MSGWORK_HOME to a writable directory",
        path.display()
    )]
    ReadOnly { path: PathBuf, reason: String },
    #[error(
        "the progress store {} was written by a newer msgwork (schema {found}, this one knows up to {known}); upgrade msgwork",
        path.display()
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    /// Another process kept the store locked for longer than msgwork waits.
    #[error(
        "the progress store {} stayed locked by another process for {} s; let the other msgwork command finish and try again, or pass --data-dir DIR to use another directory",
        path.display(), waited.as_secs()
    )]
    Locked {
        path: PathBuf,
        waited: std::time::Duration,
    },
    // SQLite's own error is said once in the message and not chained again as a source.
    #[error("the progress store failed: {}", sql_reason(.0))]
    Sql(rusqlite::Error),
    #[error("a recorded run could not be encoded: {0}")]
    Encode(#[from] serde_json::Error),
}

impl StoreError {
    /// Whether the store could not be written because of permissions or a read-only disk: the
    /// work can still be shown, only not recorded.
    pub fn is_read_only(&self) -> bool {
        matches!(self, StoreError::ReadOnly { .. })
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        StoreError::Sql(err)
    }
}

/// SQLite's message for an error, once: rusqlite's display repeats it with the error code.
fn sql_reason(err: &rusqlite::Error) -> String {
    match err {
        rusqlite::Error::SqliteFailure(code, Some(message)) if *message != code.to_string() => {
            message.clone()
        }
        rusqlite::Error::SqliteFailure(code, _) => code.to_string(),
        other => other.to_string(),
    }
}

/// Whether SQLite refused because the file or its directory cannot be written.
fn is_read_only(err: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::{CannotOpen, PermissionDenied, ReadOnly};
    matches!(
        err.sqlite_error_code(),
        Some(ReadOnly | CannotOpen | PermissionDenied)
    )
}

/// Whether an I/O error means the directory cannot be written rather than that it is wrong.
fn is_read_only_io(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
    )
}

/// How long a write waits for another process holding the store's lock before it gives up.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Opens the store read-only as it stands on disk, for a data directory msgwork cannot write:
/// SQLite is told no one changes the file meanwhile (`immutable`), which holds as far as this
/// process can tell, since it could not change it either. Every write fails as read-only.
fn open_as_it_stands(path: &Path) -> rusqlite::Result<Connection> {
    use rusqlite::OpenFlags;
    let mut uri = String::from("file:");
    for byte in path.as_os_str().as_encoded_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                uri.push(char::from(*byte))
            }
            other => uri.push_str(&format!("%{other:02X}")),
        }
    }
    uri.push_str("?immutable=1");
    Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
    )
}

/// Puts the store in WAL mode with `synchronous=NORMAL`: a commit appends to the log without
/// waiting for the disk, which is synced at checkpoints. A crash of msgwork loses nothing
/// committed; a power cut or an OS crash can lose the last commits before a checkpoint, never
/// corrupt the file. Readers and the one writer no longer block each other.
///
/// WAL mode is kept in the file, so only a store in another mode is switched; a store that
/// cannot be written stays as it is, and is read as it is. Where WAL is refused (a file system
/// without shared memory), the store keeps its rollback journal and `synchronous=FULL`, the
/// level that journal needs to survive a power cut.
fn write_ahead(conn: &Connection) -> rusqlite::Result<()> {
    let is_wal = |mode: &str| mode.eq_ignore_ascii_case("wal");
    let mut mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    if !is_wal(&mode) {
        // Switching needs the file to itself: another process opening the store at the same
        // moment holds it for a while, and the busy timeout does not cover this step.
        let started = std::time::Instant::now();
        loop {
            match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
                Ok(now) => {
                    mode = now;
                    break;
                }
                Err(err) if is_read_only(&err) => break,
                Err(err)
                    if err.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                        && started.elapsed() < BUSY_TIMEOUT =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(err) => return Err(err),
            }
        }
    }
    let synchronous = if is_wal(&mode) { "NORMAL" } else { "FULL" };
    conn.pragma_update(None, "synchronous", synchronous)
}

/// Whether SQLite gave up waiting for another connection's lock.
fn is_locked(err: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    matches!(err.sqlite_error_code(), Some(DatabaseBusy | DatabaseLocked))
}

/// A failed write, as a [`StoreError::ReadOnly`] when permissions or a read-only disk caused it,
/// and as [`StoreError::Locked`] when another process held the lock past the busy timeout.
fn writing(path: &Path, err: rusqlite::Error) -> StoreError {
    if is_locked(&err) {
        StoreError::Locked {
            path: path.to_path_buf(),
            waited: BUSY_TIMEOUT,
        }
    } else if is_read_only(&err) {
        StoreError::ReadOnly {
            path: path.to_path_buf(),
            reason: sql_reason(&err),
        }
    } else {
        StoreError::Sql(err)
    }
}

/// Each entry moves the schema one version on; never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    "
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT    NOT NULL,            -- 'simulate', later 'drill', 'rewrite', 'lab-…'
    recorded_at TEXT    NOT NULL,            -- RFC 3339, UTC
    seed        INTEGER,
    options     TEXT    NOT NULL,            -- JSON: what was asked for
    results     TEXT    NOT NULL,            -- JSON: what the run reported
    version     TEXT    NOT NULL             -- the msgwork version that ran it
);
CREATE INDEX runs_by_kind ON runs (kind, id);
",
    "
CREATE TABLE drill_sessions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at  TEXT    NOT NULL,
    mode        TEXT    NOT NULL,            -- 'interactive' or 'answers-file'
    plan        TEXT    NOT NULL,            -- JSON: the item ids, in order
    finished_at TEXT
);
-- One row per graded answer, written the moment it is graded: nothing recorded is lost.
CREATE TABLE drill_answers (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id   INTEGER NOT NULL REFERENCES drill_sessions (id),
    item_id      TEXT    NOT NULL,
    section      TEXT    NOT NULL,
    answer       TEXT    NOT NULL,           -- JSON: what the learner gave
    verdict      TEXT    NOT NULL,           -- the grader's
    self_verdict TEXT,                       -- the learner's own, when they overruled
    score        REAL    NOT NULL,
    max          REAL    NOT NULL,
    result       TEXT    NOT NULL,           -- JSON: the whole graded result
    answered_at  INTEGER NOT NULL            -- unix seconds
);
CREATE INDEX drill_answers_by_item ON drill_answers (item_id, id);
-- Parts of an item answered before it could be graded (a scenario's choices), kept so that an
-- interrupted session resumes mid-item.
CREATE TABLE drill_drafts (
    session_id INTEGER NOT NULL REFERENCES drill_sessions (id),
    item_id    TEXT    NOT NULL,
    field      TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    PRIMARY KEY (session_id, item_id, field)
) WITHOUT ROWID;
",
    review::SEEDS_TABLE,
];

/// The schema version from which review is scheduled by FSRS: a store migrated past it from an
/// older one has its SM-2 schedule converted, once, in the same transaction.
const FSRS_SCHEMA: i64 = 3;

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// A graded answer to record.
pub struct Answer<'a> {
    pub item_id: &'a str,
    pub section: &'a str,
    pub given: &'a serde_json::Value,
    pub verdict: &'a str,
    pub self_verdict: Option<&'a str>,
    pub score: f64,
    pub max: f64,
    pub result: &'a serde_json::Value,
    /// When it was answered, in unix seconds.
    pub at: i64,
}

/// One recorded answer with what the learner gave.
#[derive(Debug, Clone, PartialEq)]
pub struct GivenAnswer {
    pub id: i64,
    pub session: i64,
    pub given: serde_json::Value,
    pub verdict: String,
    pub self_verdict: Option<String>,
    pub at: i64,
}

/// One recorded run.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub id: i64,
    pub kind: String,
    pub recorded_at: String,
    pub seed: Option<u64>,
    pub options: serde_json::Value,
    pub results: serde_json::Value,
    pub version: String,
}

impl Store {
    /// Opens (creating if needed) the store in `dir` and brings its schema up to date. Many
    /// processes may open and write the same store at once: each waits its turn for the lock.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join(FILE_NAME);
        let dir_err = |reason: String| StoreError::Dir {
            path: dir.to_path_buf(),
            reason,
        };
        if dir.exists() && !dir.is_dir() {
            return Err(dir_err("it is a file, not a directory".to_string()));
        }
        std::fs::create_dir_all(dir).map_err(|err| {
            if is_read_only_io(&err) {
                StoreError::ReadOnly {
                    path: path.clone(),
                    reason: format!("cannot create the data directory ({err})"),
                }
            } else {
                dir_err(err.to_string())
            }
        })?;
        let open_err = |cause: rusqlite::Error| {
            if is_locked(&cause) {
                StoreError::Locked {
                    path: path.clone(),
                    waited: BUSY_TIMEOUT,
                }
            } else if !path.exists() && is_read_only(&cause) {
                StoreError::ReadOnly {
                    path: path.clone(),
                    reason: "the data directory does not let msgwork create the file".to_string(),
                }
            } else {
                StoreError::Open {
                    path: path.clone(),
                    cause,
                }
            }
        };
        let conn = Connection::open(&path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        // Reading the schema version touches the file: a directory we cannot read fails here.
        let user_version = |conn: &Connection| -> rusqlite::Result<i64> {
            conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        };
        let (conn, version) = match user_version(&conn) {
            Ok(version) => (conn, version),
            // A store in WAL mode is read through a shared-memory file beside it, which a
            // directory msgwork cannot write cannot hold: read the file as it stands instead.
            Err(err) if path.exists() && is_read_only(&err) => {
                let conn = open_as_it_stands(&path).map_err(open_err)?;
                let version = user_version(&conn).map_err(open_err)?;
                (conn, version)
            }
            Err(err) => return Err(open_err(err)),
        };
        write_ahead(&conn).map_err(open_err)?;
        let mut store = Store { conn, path };
        store.migrate(version)?;
        Ok(store)
    }

    /// A private in-memory store, for tests.
    pub fn in_memory() -> Result<Store, StoreError> {
        let mut store = Store {
            conn: Connection::open_in_memory()?,
            path: PathBuf::from(":memory:"),
        };
        store.migrate(0)?;
        Ok(store)
    }

    /// A store in `dir` brought only up to schema `version`, as an older msgwork left it: for
    /// tests of what migrating it keeps.
    #[cfg(test)]
    pub(crate) fn at_schema(dir: &Path, version: usize) -> Store {
        let path = dir.join(FILE_NAME);
        let conn = Connection::open(&path).unwrap();
        for sql in &MIGRATIONS[..version] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", version as i64)
            .unwrap();
        Store { conn, path }
    }

    /// Brings the schema from `seen` up to date. `seen` was read without a lock, so another
    /// process may be migrating the same file: the version is read again under the write lock
    /// (`BEGIN IMMEDIATE`) and only what is still missing is applied, all in one transaction.
    fn migrate(&mut self, seen: i64) -> Result<(), StoreError> {
        let known = MIGRATIONS.len() as i64;
        self.refuse_newer(seen)?;
        if seen == known {
            return Ok(());
        }
        let path = self.path.clone();
        let write = |err| writing(&path, err);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(write)?;
        let from: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(write)?;
        if from > known {
            return Err(StoreError::TooNew {
                path,
                found: from,
                known,
            });
        }
        for sql in MIGRATIONS.iter().skip(from as usize) {
            tx.execute_batch(sql).map_err(write)?;
        }
        if from < FSRS_SCHEMA {
            review::seed_from_sm2(&tx).map_err(write)?;
        }
        tx.pragma_update(None, "user_version", known)
            .map_err(write)?;
        tx.commit().map_err(write)
    }

    /// A failed write, said as what it is.
    fn writing(&self, err: rusqlite::Error) -> StoreError {
        writing(&self.path, err)
    }

    fn refuse_newer(&self, found: i64) -> Result<(), StoreError> {
        let known = MIGRATIONS.len() as i64;
        if found > known {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found,
                known,
            });
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records a run; returns its id.
    pub fn record(
        &self,
        kind: &str,
        seed: Option<u64>,
        options: &impl Serialize,
        results: &impl Serialize,
    ) -> Result<i64, StoreError> {
        self.conn
            .execute(
                "INSERT INTO runs (kind, recorded_at, seed, options, results, version)
             VALUES (?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?2, ?3, ?4, ?5)",
                params![
                    kind,
                    seed.map(|s| s as i64),
                    serde_json::to_string(options)?,
                    serde_json::to_string(results)?,
                    env!("CARGO_PKG_VERSION"),
                ],
            )
            .map_err(|err| self.writing(err))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Opens a drill session; returns its id.
    pub fn start_session(&self, mode: &str, plan: &[String]) -> Result<i64, StoreError> {
        self.conn.execute(
            "INSERT INTO drill_sessions (started_at, mode, plan) VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?1, ?2)",
            params![mode, serde_json::to_string(plan)?],
        )
        .map_err(|err| self.writing(err))?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn finish_session(&self, session: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE drill_sessions SET finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1",
            [session],
        )
        .map_err(|err| self.writing(err))?;
        Ok(())
    }

    /// Records one graded answer at once, in its own transaction, and drops its drafts.
    pub fn record_answer(&self, session: i64, answer: &Answer<'_>) -> Result<i64, StoreError> {
        let ids = self.record_answers(session, std::slice::from_ref(answer))?;
        Ok(ids[0])
    }

    /// Records many graded answers in one transaction, all or none, and drops their drafts:
    /// one commit for a whole answers file instead of one per answer. Returns their ids, in order.
    pub fn record_answers(
        &self,
        session: i64,
        answers: &[Answer<'_>],
    ) -> Result<Vec<i64>, StoreError> {
        let write = |err| self.writing(err);
        // Encoded before the lock is taken, so the lock is held only for the writes.
        let encoded = answers
            .iter()
            .map(|a| {
                Ok((
                    serde_json::to_string(a.given)?,
                    serde_json::to_string(a.result)?,
                ))
            })
            .collect::<Result<Vec<_>, serde_json::Error>>()?;
        // Immediate: the write lock is taken (or waited for) before anything is read.
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(write)?;
        let mut ids = Vec::with_capacity(answers.len());
        {
            let mut drop_drafts = tx
                .prepare_cached("DELETE FROM drill_drafts WHERE session_id = ?1 AND item_id = ?2")
                .map_err(write)?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO drill_answers
                         (session_id, item_id, section, answer, verdict, self_verdict, score, max, result, answered_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(write)?;
            for (answer, (given, result)) in answers.iter().zip(&encoded) {
                drop_drafts
                    .execute(params![session, answer.item_id])
                    .map_err(write)?;
                ids.push(
                    insert
                        .insert(params![
                            session,
                            answer.item_id,
                            answer.section,
                            given,
                            answer.verdict,
                            answer.self_verdict,
                            answer.score,
                            answer.max,
                            result,
                            answer.at,
                        ])
                        .map_err(write)?,
                );
            }
        }
        tx.commit().map_err(write)?;
        Ok(ids)
    }

    /// The learner's own verdict on an answer, when they overrule the grader.
    pub fn set_self_verdict(&self, answer: i64, verdict: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE drill_answers SET self_verdict = ?2 WHERE id = ?1",
                params![answer, verdict],
            )
            .map_err(|err| self.writing(err))?;
        Ok(())
    }

    /// Keeps one part of an item's answer until the item is graded.
    pub fn save_draft(
        &self,
        session: i64,
        item: &str,
        field: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO drill_drafts (session_id, item_id, field, value) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (session_id, item_id, field) DO UPDATE SET value = excluded.value",
            params![session, item, field, value],
        )
        .map_err(|err| self.writing(err))?;
        Ok(())
    }

    /// The parts of an item already answered in a session.
    pub fn drafts(&self, session: i64, item: &str) -> Result<BTreeMap<String, String>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT field, value FROM drill_drafts WHERE session_id = ?1 AND item_id = ?2",
        )?;
        let rows = stmt.query_map(params![session, item], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The newest interactive session that was never finished: its id and planned item ids.
    pub fn unfinished_session(&self) -> Result<Option<(i64, Vec<String>)>, StoreError> {
        let found: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT id, plan FROM drill_sessions
                  WHERE finished_at IS NULL AND mode = 'interactive' ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match found {
            Some((id, plan)) => Ok(Some((id, serde_json::from_str(&plan)?))),
            None => Ok(None),
        }
    }

    /// The items already graded in a session.
    pub fn answered_in(&self, session: i64) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT item_id FROM drill_answers WHERE session_id = ?1 ORDER BY id")?;
        let rows = stmt.query_map([session], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every graded answer to one item, oldest first, with what was given.
    pub fn answers_with_given(&self, item_id: &str) -> Result<Vec<GivenAnswer>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, session_id, answer, verdict, self_verdict, answered_at
               FROM drill_answers WHERE item_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([item_id], |r| {
            let given: String = r.get(2)?;
            Ok(GivenAnswer {
                id: r.get(0)?,
                session: r.get(1)?,
                given: serde_json::from_str(&given).unwrap_or(serde_json::Value::Null),
                verdict: r.get(3)?,
                self_verdict: r.get(4)?,
                at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every graded answer, oldest first, and the SM-2 seeds, for review scheduling and progress.
    /// Read in one transaction, so an answer recorded meanwhile is in both or in neither.
    pub fn history(&self) -> Result<History, StoreError> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Deferred)?;
        let answers = {
            let mut stmt = tx.prepare(
                "SELECT id, item_id, section, verdict, self_verdict, answered_at
                   FROM drill_answers ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(Past {
                    id: r.get(0)?,
                    item_id: r.get(1)?,
                    section: r.get(2)?,
                    verdict: r.get(3)?,
                    self_verdict: r.get(4)?,
                    at: r.get(5)?,
                })
            })?;
            rows.collect::<Result<_, _>>()?
        };
        let seeds = review::seeds(&tx)?;
        tx.finish()?;
        Ok(History { answers, seeds })
    }

    /// Every recorded answer to an item, oldest first: `(verdict, self verdict, unix seconds)`.
    pub fn answers_to(
        &self,
        item_id: &str,
    ) -> Result<Vec<(String, Option<String>, i64)>, StoreError> {
        Ok(self
            .answers_with_given(item_id)?
            .into_iter()
            .map(|a| (a.verdict, a.self_verdict, a.at))
            .collect())
    }

    /// Every run of a kind, oldest first.
    pub fn runs(&self, kind: &str) -> Result<Vec<Run>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, kind, recorded_at, seed, options, results, version FROM runs WHERE kind = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([kind], row_to_run)?;
        let mut runs = Vec::new();
        for row in rows {
            runs.push(row??);
        }
        Ok(runs)
    }

    /// One run by id.
    pub fn run(&self, id: i64) -> Result<Option<Run>, StoreError> {
        let found = self
            .conn
            .query_row(
                "SELECT id, kind, recorded_at, seed, options, results, version FROM runs WHERE id = ?1",
                [id],
                row_to_run,
            )
            .optional()?;
        Ok(found.transpose()?)
    }
}

fn row_to_run(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Run, serde_json::Error>> {
    let options: String = row.get(4)?;
    let results: String = row.get(5)?;
    let seed: Option<i64> = row.get(3)?;
    Ok((|| {
        Ok(Run {
            id: row.get(0).unwrap_or_default(),
            kind: row.get(1).unwrap_or_default(),
            recorded_at: row.get(2).unwrap_or_default(),
            seed: seed.map(|s| s as u64),
            options: serde_json::from_str(&options)?,
            results: serde_json::from_str(&results)?,
            version: row.get(6).unwrap_or_default(),
        })
    })())
}

#[cfg(test)]
pub(crate) mod tests;
