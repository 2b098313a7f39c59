//! `lab retention`: how long the inbox must remember processed event ids. Late duplicates arrive
//! on a long-tailed delay; a sweep every hour (or every window, when shorter) deletes ids older than
//! N hours from a real SQLite inbox.
//! Too short a window re-applies a very late duplicate; too long a one bloats the dedupe table.

use rand::{RngExt, SeedableRng};
use rusqlite::{Connection, params};
use serde::Serialize;

use crate::sim::storage::sqlite::sql as db;

/// Bumped when a key of the `--json` output changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;

const HOUR: i64 = 3_600_000;

/// A retention window in hours, which may be a fraction (`0.5` keeps ids for 30 minutes). It
/// reads and serialises as written: a whole number of hours stays an integer in `--json`.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Hours(pub f64);

impl Hours {
    /// The window in milliseconds of simulated time.
    fn ms(self) -> i64 {
        (self.0 * HOUR as f64).round() as i64
    }
}

impl std::fmt::Display for Hours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for Hours {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.fract() == 0.0 && (0.0..=1e15).contains(&self.0) {
            s.serialize_u64(self.0 as u64)
        } else {
            s.serialize_f64(self.0)
        }
    }
}

/// One retention window's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct Window {
    pub hours: Hours,
    /// Duplicates that arrived after their id was swept, and were applied a second time.
    pub reapplied: u64,
    /// Duplicates the inbox still remembered and skipped.
    pub skipped: u64,
    /// The inbox's largest size, in rows.
    pub max_inbox_rows: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct RetentionReport {
    pub schema_version: u32,
    pub seed: u64,
    pub events: u32,
    pub duplicate_rate: f64,
    pub duplicates: u64,
    pub windows: Vec<Window>,
}

/// A duplicate's delay after the original, in ms: mostly seconds to minutes (a redelivery), some
/// hours (a relay that was down), a few days (a replay from an old backup).
fn late_delay(rng: &mut rand::rngs::ChaCha8Rng) -> i64 {
    let r: f64 = rng.random();
    let u: f64 = rng.random();
    if r < 0.80 {
        (u * 10.0 * 60_000.0) as i64
    } else if r < 0.97 {
        (u * 12.0 * HOUR as f64) as i64
    } else {
        (u * 96.0 * HOUR as f64) as i64
    }
}

pub fn run(
    seed: u64,
    events: u32,
    duplicate_rate: f64,
    hours: &[Hours],
    progress: &dyn crate::sim::progress::Progress,
) -> rusqlite::Result<RetentionReport> {
    // The same arrivals for every window: (time, event number).
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed ^ 0x7e7e_7104);
    let span = 72 * HOUR;
    let mut arrivals: Vec<(i64, u32)> = Vec::new();
    for n in 0..events {
        let t = (f64::from(n) / f64::from(events) * span as f64) as i64;
        arrivals.push((t, n));
        if rng.random_bool(duplicate_rate) {
            arrivals.push((t + late_delay(&mut rng), n));
        }
    }
    arrivals.sort_unstable();
    let duplicates = (arrivals.len() - events as usize) as u64;
    let mut windows = Vec::new();
    for &h in hours {
        progress.advance(1);
        let conn = Connection::open_in_memory()?;
        db::create_inbox(&conn)?;
        // The sweep's index on age, and a bare record of each charge made.
        conn.execute_batch(
            "CREATE INDEX inbox_age ON inbox (processed_at);
             CREATE TABLE charges (event_id TEXT NOT NULL);",
        )?;
        let mut window = Window {
            hours: h,
            reapplied: 0,
            skipped: 0,
            max_inbox_rows: 0,
        };
        let mut applied_once = std::collections::HashSet::new();
        // The sweep runs hourly, or once per window when the window is shorter than an hour.
        let every = h.ms().clamp(1, HOUR);
        let mut next_sweep = every;
        let mut rows: u64 = 0;
        let tx = conn.unchecked_transaction()?;
        for (t, n) in &arrivals {
            while *t >= next_sweep {
                rows -= tx.execute(
                    "DELETE FROM inbox WHERE processed_at < ?1",
                    [next_sweep - h.ms()],
                )? as u64;
                next_sweep += every;
            }
            let id = format!("evt-{n:08}");
            let fresh = tx.execute(
                "INSERT INTO inbox (event_id, processed_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![id, t],
            )? == 1;
            if fresh {
                rows += 1;
                tx.execute("INSERT INTO charges (event_id) VALUES (?1)", [&id])?;
                if !applied_once.insert(*n) {
                    window.reapplied += 1;
                }
            } else {
                window.skipped += 1;
            }
            window.max_inbox_rows = window.max_inbox_rows.max(rows);
        }
        tx.commit()?;
        windows.push(window);
    }
    Ok(RetentionReport {
        schema_version: SCHEMA_VERSION,
        seed,
        events,
        duplicate_rate,
        duplicates,
        windows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_longer_window_reapplies_fewer_duplicates_and_keeps_more_rows() {
        for seed in 0..5 {
            let r = run(
                seed,
                4000,
                0.2,
                &[1.0, 4.0, 12.0, 48.0, 120.0].map(Hours),
                &crate::sim::progress::NoProgress,
            )
            .unwrap();
            let w = &r.windows;
            for pair in w.windows(2) {
                assert!(
                    pair[1].reapplied <= pair[0].reapplied,
                    "seed {seed}: {pair:?}"
                );
                assert!(
                    pair[1].max_inbox_rows >= pair[0].max_inbox_rows,
                    "seed {seed}"
                );
            }
            assert!(
                w[0].reapplied > w[4].reapplied,
                "seed {seed}: the window matters"
            );
            assert_eq!(
                w[4].reapplied, 0,
                "seed {seed}: longer than any delay, nothing re-applied"
            );
            for x in w {
                assert_eq!(
                    x.reapplied + x.skipped,
                    r.duplicates,
                    "every duplicate is accounted for"
                );
            }
        }
    }
}
