//! The learner's progress store: one SQLite file in the data directory, opened once per process
//! and migrated on open. Every recorded run lands here so `msgwork evidence` can verify it later.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

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
        "cannot open the progress store {}: {cause}; if the file is damaged, move it aside, or pass --data-dir DIR to use another directory",
        path.display()
    )]
    Open {
        path: PathBuf,
        cause: rusqlite::Error,
    },
    #[error(
        "the progress store {} was written by a newer msgwork (schema {found}, this one knows up to {known}); upgrade msgwork",
        path.display()
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("the progress store failed: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("a recorded run could not be encoded: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Each entry moves the schema one version on; never edit one that has shipped.
const MIGRATIONS: &[&str] = &["
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
"];

pub struct Store {
    conn: Connection,
    path: PathBuf,
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
    /// Opens (creating if needed) the store in `dir` and brings its schema up to date.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let dir_err = |reason: String| StoreError::Dir {
            path: dir.to_path_buf(),
            reason,
        };
        if dir.exists() && !dir.is_dir() {
            return Err(dir_err("it is a file, not a directory".to_string()));
        }
        std::fs::create_dir_all(dir).map_err(|err| dir_err(err.to_string()))?;
        let path = dir.join(FILE_NAME);
        let open_err = |cause| StoreError::Open {
            path: path.clone(),
            cause,
        };
        let conn = Connection::open(&path).map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(open_err)?;
        // Reading the schema version touches the file: a directory we cannot read fails here.
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(open_err)?;
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

    fn migrate(&mut self, from: i64) -> Result<(), StoreError> {
        let known = MIGRATIONS.len() as i64;
        if from > known {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found: from,
                known,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(from as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
            tx.commit()?;
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
        self.conn.execute(
            "INSERT INTO runs (kind, recorded_at, seed, options, results, version)
             VALUES (?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?2, ?3, ?4, ?5)",
            params![
                kind,
                seed.map(|s| s as i64),
                serde_json::to_string(options)?,
                serde_json::to_string(results)?,
                env!("CARGO_PKG_VERSION"),
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
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
mod tests {
    use super::*;

    #[test]
    fn records_survive_reopening_and_keep_their_json() {
        let dir = tempfile::tempdir().unwrap();
        let id = {
            let store = Store::open(dir.path()).unwrap();
            store
                .record(
                    "simulate",
                    Some(u64::MAX),
                    &serde_json::json!({"orders": 5}),
                    &serde_json::json!({"ok": true}),
                )
                .unwrap()
        };
        let store = Store::open(dir.path()).unwrap();
        let runs = store.runs("simulate").unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].id, id);
        assert_eq!(runs[0].seed, Some(u64::MAX));
        assert_eq!(runs[0].results["ok"], true);
        assert!(store.run(id).unwrap().is_some());
        assert!(store.run(id + 1).unwrap().is_none());
    }

    #[test]
    fn a_store_from_a_newer_msgwork_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        Store::open(dir.path()).unwrap();
        Connection::open(dir.path().join(FILE_NAME))
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let err = Store::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("newer msgwork"), "{err}");
    }

    #[test]
    fn a_data_dir_that_is_a_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, "x").unwrap();
        let err = Store::open(&file).err().unwrap().to_string();
        assert!(err.contains("cannot use data directory"), "{err}");
        assert!(err.contains("--data-dir"), "{err}");
    }
}
