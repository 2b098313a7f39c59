//! A day of the outbox: the table that holds it and the range of `created_at` it covers, named
//! the same way on SQLite and on PostgreSQL.

use super::options::DAY_MS;
use crate::sim::model::timestamp;

/// A day's table and the range of `created_at` it holds, `[start, end)`.
pub(super) struct Day {
    pub(super) table: String,
    pub(super) start: i64,
    pub(super) end: i64,
}

impl Day {
    /// The day that begins at simulated time `start`.
    pub(super) fn starting(start: i64) -> Day {
        Day {
            table: day_table(start),
            start,
            end: start + DAY_MS,
        }
    }
}

/// The table name of the day partition that holds simulated time `at_ms`: `outbox_2026_01_06`.
pub fn day_table(at_ms: i64) -> String {
    format!("outbox_{}", timestamp(at_ms as u64)[..10].replace('-', "_"))
}
