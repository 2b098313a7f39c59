//! Pages a query reads from a SQLite file, counted by the operating system: a fresh connection
//! with no memory map reads every page it needs once, with one read call, so the read calls this
//! thread makes while the query runs are the pages it touched. Linux counts them per thread in
//! `/proc/thread-self/io`; elsewhere nothing is counted and the lab says so.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::sim::error::{SimError, SqlContext};

/// Read calls this thread has made so far, where the platform counts them.
fn read_calls() -> Option<u64> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let text = std::fs::read_to_string("/proc/thread-self/io").ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix("syscr:"))
        .and_then(|n| n.trim().parse().ok())
}

/// What reading the counter costs in read calls of its own, the least of a few tries.
fn counter_cost() -> Option<u64> {
    (0..5)
        .map(|_| {
            let before = read_calls()?;
            let after = read_calls()?;
            Some(after - before)
        })
        .min()
        .flatten()
}

/// A connection that reads through the file system and starts with an empty page cache: the
/// schema is read before anything is counted, so only the query's own pages are.
fn cold_connection(path: &Path) -> Result<Connection, SimError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .sql("opening the lab database to count pages")?;
    conn.pragma_update(None, "mmap_size", 0)
        .sql("turning the memory map off")?;
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
        .sql("reading the schema")?;
    Ok(conn)
}

/// The pages `sql` reads from the database at `path`, run to its last row on a connection of its
/// own; `None` where the platform does not count read calls.
pub(super) fn pages_read(path: &Path, sql: &str) -> Result<Option<u64>, SimError> {
    let Some(cost) = counter_cost() else {
        return Ok(None);
    };
    let conn = cold_connection(path)?;
    let mut stmt = conn.prepare(sql).sql("preparing a counted query")?;
    let Some(before) = read_calls() else {
        return Ok(None);
    };
    let mut rows = stmt.query([]).sql("running a counted query")?;
    while rows.next().sql("reading a counted query's rows")?.is_some() {}
    let Some(after) = read_calls() else {
        return Ok(None);
    };
    Ok(Some((after - before).saturating_sub(cost)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table of `rows` rows with an index on `k`, and the index's size in pages.
    fn table(dir: &Path, rows: i64) -> (std::path::PathBuf, u64) {
        let path = dir.join("reads.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA page_size = 1024; PRAGMA journal_mode = WAL;
             CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER, pad TEXT);
             CREATE INDEX t_k ON t (k);",
        )
        .unwrap();
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
             INSERT INTO t SELECT i, i % 97, printf('%040d', i) FROM n",
            [rows],
        )
        .unwrap();
        let pages: i64 = conn
            .query_row("SELECT count(*) FROM dbstat WHERE name = 't_k'", [], |r| {
                r.get(0)
            })
            .unwrap();
        (path, pages as u64)
    }

    #[test]
    fn a_whole_index_scan_reads_exactly_the_index() {
        if read_calls().is_none() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let (path, pages) = table(dir.path(), 20_000);
        assert!(pages > 20, "{pages}");
        let read = pages_read(&path, "SELECT count(*) FROM t INDEXED BY t_k WHERE k >= 0")
            .unwrap()
            .unwrap();
        // The scan reads every page of the index once; the descent is among them.
        assert_eq!(read, pages);
        // A lookup reads a path from the root to one leaf, a few pages whatever the size.
        let lookup = pages_read(&path, "SELECT id FROM t INDEXED BY t_k WHERE k = 5 LIMIT 1")
            .unwrap()
            .unwrap();
        assert!((1..=4).contains(&lookup), "{lookup}");
    }
}
