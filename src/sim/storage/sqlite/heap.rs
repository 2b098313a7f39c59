//! One ceiling on the memory SQLite keeps for the whole process. Each connection has its own page
//! cache, sized for one busy writer; a crash-lab run opens half a dozen over databases that grow
//! with the run, and every cache would fill to its size. Under the ceiling the caches give back
//! their oldest clean pages instead of growing, so the run's memory stays flat.

use rusqlite::Connection;

use crate::sim::error::{SimError, SqlContext};

/// The ceiling for a crash-lab run, in bytes: room for every connection's working set (the
/// pages around the end of each table, where the lab writes and reads), not for whole tables.
pub const LAB_HEAP_BYTES: i64 = 16 << 20;

/// Sets the ceiling for every SQLite connection of this process, open or yet to be opened, to
/// `bytes` (0 for none); returns the ceiling it replaced.
pub fn limit(bytes: i64) -> Result<i64, SimError> {
    let conn = Connection::open_in_memory().sql("opening SQLite to limit its memory")?;
    let before = conn
        .query_row("PRAGMA soft_heap_limit", [], |row| row.get(0))
        .sql("reading SQLite's memory limit")?;
    conn.query_row(&format!("PRAGMA soft_heap_limit = {bytes}"), [], |row| {
        row.get::<_, i64>(0)
    })
    .sql("limiting SQLite's memory")?;
    Ok(before)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_is_set_for_the_process_and_given_back() {
        let before = limit(LAB_HEAP_BYTES).unwrap();
        assert_eq!(limit(before).unwrap(), LAB_HEAP_BYTES);
    }
}
