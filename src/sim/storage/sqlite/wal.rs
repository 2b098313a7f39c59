//! SQLite's write-ahead log as a power loss leaves it: which committed transactions a log cut at
//! some byte still holds, and the cut itself.
//!
//! A power loss keeps what had reached the disk. For a lab database whose checkpoints are held
//! back ([`hold_checkpoints`]) that is the main file as it was before the run plus a prefix of the
//! `-wal` file. SQLite's recovery reads the log from its header frame by frame, each frame's salts
//! matching the header's and its checksum chaining on from the frame before, and keeps every frame
//! up to the last valid commit frame: a cut anywhere keeps a prefix of whole transactions. [`scan`]
//! applies the same rules, so the lab can say how many commits a cut took before SQLite reopens
//! the file.

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use rusqlite::config::DbConfig;

/// The log's header: magic, format version, page size, checkpoint sequence, two salts and the
/// header's checksum.
const HEADER: usize = 32;
/// Each frame's header: page number, database size after a commit (0 inside a transaction), the
/// two salts and the checksum so far.
const FRAME_HEADER: usize = 24;
/// The magic number, whose lowest bit says whether checksums read words big-endian.
const MAGIC: u32 = 0x377f_0682;
const VERSION: u32 = 3_007_000;

/// What recovery would keep of a log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// Bytes up to the end of the last valid commit frame; 0 when the log holds no transaction.
    pub committed_end: u64,
    /// Committed transactions kept: valid commit frames up to there.
    pub commits: u64,
}

/// A cut log, before and after.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cut {
    /// The log as it was on the way to the disk.
    pub before: Scan,
    /// What the disk kept of it.
    pub after: Scan,
}

impl Cut {
    /// Committed transactions the cut took.
    pub fn commits_lost(&self) -> u64 {
        self.before.commits.saturating_sub(self.after.commits)
    }
}

/// The `-wal` file beside the database at `db`.
pub fn wal_path(db: &Path) -> PathBuf {
    let mut path = db.as_os_str().to_owned();
    path.push("-wal");
    PathBuf::from(path)
}

fn shm_path(db: &Path) -> PathBuf {
    let mut path = db.as_os_str().to_owned();
    path.push("-shm");
    PathBuf::from(path)
}

/// Holds back every checkpoint on `conn`, automatic or when the last connection closes: the main
/// file then stays as it was synced before the run, and every commit since lives in the log.
pub fn hold_checkpoints(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .map(drop)
}

fn word(bytes: &[u8], at: usize, big_endian: bool) -> u32 {
    let b = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
    if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }
}

/// SQLite's log checksum: over pairs of 32-bit words, each sum feeding the other, carried on from
/// `sums`. `data` is a multiple of 8 bytes long (frame headers and pages are).
fn checksum(data: &[u8], big_endian: bool, sums: (u32, u32)) -> (u32, u32) {
    let (mut s1, mut s2) = sums;
    for pair in data.chunks_exact(8) {
        s1 = s1.wrapping_add(word(pair, 0, big_endian)).wrapping_add(s2);
        s2 = s2.wrapping_add(word(pair, 4, big_endian)).wrapping_add(s1);
    }
    (s1, s2)
}

/// What SQLite's recovery keeps of the log `bytes`.
pub fn scan(bytes: &[u8]) -> Scan {
    let none = Scan::default();
    if bytes.len() < HEADER {
        return none;
    }
    let be = |at| word(bytes, at, true);
    let magic = be(0);
    if magic & !1 != MAGIC || be(4) != VERSION {
        return none;
    }
    let big_endian = magic & 1 == 1;
    let page = be(8) as usize;
    if !page.is_power_of_two() || !(512..=65_536).contains(&page) {
        return none;
    }
    let mut sums = checksum(&bytes[..24], big_endian, (0, 0));
    if sums != (be(24), be(28)) {
        return none;
    }
    let salts = (be(16), be(20));
    let frame = FRAME_HEADER + page;
    let mut kept = none;
    let mut at = HEADER;
    while at + frame <= bytes.len() {
        let head = &bytes[at..at + FRAME_HEADER];
        let fw = |i| word(head, i, true);
        if fw(0) == 0 || (fw(8), fw(12)) != salts {
            break;
        }
        sums = checksum(&head[..8], big_endian, sums);
        sums = checksum(&bytes[at + FRAME_HEADER..at + frame], big_endian, sums);
        if sums != (fw(16), fw(20)) {
            break;
        }
        at += frame;
        if fw(4) != 0 {
            kept.commits += 1;
            kept.committed_end = at as u64;
        }
    }
    kept
}

/// What recovery would keep of the log of the database at `db` as it is now.
pub fn scan_file(db: &Path) -> io::Result<Scan> {
    read(&wal_path(db)).map(|bytes| scan(&bytes))
}

fn read(path: &Path) -> io::Result<Vec<u8>> {
    match std::fs::read(path) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        other => other,
    }
}

/// The log's length in bytes; 0 when there is none.
pub fn length(db: &Path) -> io::Result<u64> {
    match std::fs::metadata(wal_path(db)) {
        Ok(meta) => Ok(meta.len()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(err) => Err(err),
    }
}

/// Cuts the log of the closed database at `db` where a power loss stopped the disk, `at` bytes
/// in, and removes the shared-memory index, which lives in RAM and does not outlive the power.
/// The log is then trimmed to its last whole transaction, as recovery reads it, so that what a
/// later writer appends follows on from what survived.
///
/// Every connection to the database must be closed first: an open one keeps a view of the log
/// in the index this removes.
pub fn cut(db: &Path, at: u64) -> io::Result<Cut> {
    let wal = wal_path(db);
    let bytes = read(&wal)?;
    let at = usize::try_from(at).unwrap_or(usize::MAX).min(bytes.len());
    let cut = Cut {
        before: scan(&bytes),
        after: scan(&bytes[..at]),
    };
    if !bytes.is_empty() {
        OpenOptions::new()
            .write(true)
            .open(&wal)?
            .set_len(cut.after.committed_end)?;
    }
    match std::fs::remove_file(shm_path(db)) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
        _ => {}
    }
    Ok(cut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::storage::sqlite::sql::{Durability, open};

    /// A database whose schema is in the main file and whose `rows` one-row transactions are
    /// only in the log: the state a power loss finds.
    fn logged(dir: &Path, rows: i64) -> PathBuf {
        let db = dir.join("t.db");
        let conn = open(&db, Durability::Off).unwrap();
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, pad TEXT NOT NULL)")
            .unwrap();
        drop(conn);
        let conn = open(&db, Durability::Off).unwrap();
        hold_checkpoints(&conn).unwrap();
        for id in 1..=rows {
            // Some rows span two pages: transactions of one and of several frames.
            let pad = "x".repeat(if id % 3 == 0 { 1500 } else { 10 });
            conn.execute("INSERT INTO t (id, pad) VALUES (?1, ?2)", (id, pad))
                .unwrap();
        }
        drop(conn);
        db
    }

    fn ids(db: &Path) -> Vec<i64> {
        let conn = Connection::open(db).unwrap();
        conn.prepare("SELECT id FROM t ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn held_checkpoints_leave_every_commit_in_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let db = logged(dir.path(), 9);
        let scan = scan_file(&db).unwrap();
        assert_eq!(scan.commits, 9);
        assert_eq!(scan.committed_end, length(&db).unwrap());
    }

    #[test]
    fn a_log_cut_anywhere_reopens_as_a_prefix_of_its_transactions() {
        let dir = tempfile::tempdir().unwrap();
        let db = logged(dir.path(), 9);
        let main = std::fs::read(&db).unwrap();
        let log = std::fs::read(wal_path(&db)).unwrap();
        let frame = (FRAME_HEADER + 1024) as u64;
        let frames = (log.len() as u64 - HEADER as u64) / frame;
        // Inside the header, then every frame boundary, one byte either side and mid-frame.
        let mut offsets = vec![0, 7, HEADER as u64 - 1];
        for f in 0..=frames {
            let edge = HEADER as u64 + f * frame;
            offsets.extend([edge, edge + 1, edge + frame / 2, edge + frame - 1]);
        }
        let mut seen = std::collections::BTreeSet::new();
        for at in offsets {
            let case = tempfile::tempdir().unwrap();
            let copy = case.path().join("t.db");
            std::fs::write(&copy, &main).unwrap();
            std::fs::write(wal_path(&copy), &log).unwrap();
            let cut = cut(&copy, at).unwrap();
            let kept = cut.after.commits as i64;
            assert_eq!(cut.before.commits, 9);
            assert_eq!(
                ids(&copy),
                (1..=kept).collect::<Vec<_>>(),
                "cut at byte {at}"
            );
            assert!(cut.after.committed_end <= at, "cut at byte {at}");
            seen.insert(kept);
        }
        // Every prefix, from nothing to everything, showed up.
        assert_eq!(seen, (0..=9).collect());
    }

    #[test]
    fn a_cut_log_takes_new_commits_after_what_survived() {
        let dir = tempfile::tempdir().unwrap();
        let db = logged(dir.path(), 6);
        let log = length(&db).unwrap();
        let cut = cut(&db, log / 2 + 3).unwrap();
        let kept = cut.after.commits as i64;
        assert!(kept > 0 && kept < 6, "{cut:?}");
        let conn = open(&db, Durability::Off).unwrap();
        hold_checkpoints(&conn).unwrap();
        conn.execute("INSERT INTO t (id, pad) VALUES (100, 'after')", [])
            .unwrap();
        drop(conn);
        assert_eq!(scan_file(&db).unwrap().commits, kept as u64 + 1);
        let mut wanted: Vec<i64> = (1..=kept).collect();
        wanted.push(100);
        assert_eq!(ids(&db), wanted);
    }

    #[test]
    fn a_damaged_or_missing_log_keeps_nothing() {
        assert_eq!(scan(&[]), Scan::default());
        assert_eq!(scan(&[0xff; 4096]), Scan::default());
        let dir = tempfile::tempdir().unwrap();
        let cut = cut(&dir.path().join("none.db"), 100).unwrap();
        assert_eq!(cut, Cut::default());
    }
}
