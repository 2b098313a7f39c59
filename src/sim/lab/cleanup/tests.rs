//! The lab's claims at small scale, on SQLite files: the options' checks, the poll through each
//! index, the cleaner across gaps, and the partition drop.

use std::path::Path;

use rand::SeedableRng;

use super::cleaner::Cleaner;
use super::day::day_table;
use super::measure::{Timeline, grow, poll_ids};
use super::options::{
    BACKLOG, CleanupOptions, DAY_MS, PARTIAL_INDEX, PLAIN_INDEX, POLL_BATCH, SPAN_DAYS, STUCK,
    default_sizes,
};
use super::partition;
use super::place::Place;
use super::seam::LabDb;
use super::sqlite::SqliteLab;
use crate::sim::progress::NoProgress;
use crate::sim::storage::sqlite::sql as db;

/// A small outbox the lab's way, in a SQLite file: `rows` sent rows over eight days, `stuck`
/// among them unsent, then a backlog of `BACKLOG` unsent rows.
fn small_outbox(dir: &Path, rows: i64, stuck: &[i64]) -> (SqliteLab, Timeline) {
    let mut lab = SqliteLab::outbox(&dir.join("outbox.db"), db::PAGE_SIZE).unwrap();
    let timeline = Timeline {
        start: 0,
        first: 0,
        span: SPAN_DAYS * DAY_MS,
        rows: rows + i64::from(BACKLOG),
    };
    let unsent = |id: i64| stuck.contains(&id) || id > rows;
    let all = 1..=rows + i64::from(BACKLOG);
    grow(&mut lab, "outbox", all, 7, &timeline, &unsent, &NoProgress).unwrap();
    (lab, timeline)
}

fn unsent_ids(lab: &SqliteLab) -> Vec<i64> {
    lab.conn()
        .prepare("SELECT id FROM outbox WHERE sent_at IS NULL ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn options_are_checked_in_the_words_of_the_command_line() {
    assert!(CleanupOptions::new(1).validate().is_ok());
    assert_eq!(default_sizes(20_000), vec![10_000, 20_000]);
    assert_eq!(default_sizes(1_000_000), vec![10_000, 100_000, 1_000_000]);
    assert_eq!(default_sizes(100_000), vec![10_000, 100_000]);
    let problem = |change: fn(&mut CleanupOptions)| {
        let mut options = CleanupOptions::new(1);
        change(&mut options);
        options.validate().unwrap_err().to_string()
    };
    assert!(problem(|o| o.rows = 10).starts_with("--rows must be between"));
    assert!(problem(|o| o.batch = 0).starts_with("--batch must be between"));
    assert!(problem(|o| o.page_size = 3000).starts_with("--page-size must be a power of two"));
    assert!(problem(|o| o.page_size = 256).starts_with("--page-size"));
    assert!(problem(|o| o.sizes = vec![5_000, 1_000_000]).contains("at least 10000"));
    assert!(problem(|o| o.sizes = vec![10_000, 12_000, 1_000_000]).contains("rise by"));
    assert!(problem(|o| o.sizes = vec![10_000]).contains("one size below --rows"));
}

#[test]
fn the_partial_index_serves_the_poll_and_a_plain_one_takes_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let (mut lab, _) = small_outbox(dir.path(), 3_000, &[17, 900]);
    let partial_plan = lab.poll_plan().unwrap();
    let partial_rows = poll_ids(&mut lab).unwrap();
    lab.use_plain_index().unwrap();
    let plain_plan = lab.poll_plan().unwrap();
    assert!(partial_plan.contains(PARTIAL_INDEX), "{partial_plan}");
    assert!(plain_plan.contains(PLAIN_INDEX), "{plain_plan}");
    assert!(!plain_plan.contains(PARTIAL_INDEX), "{plain_plan}");
    // The same rows, oldest first: the stuck ones, then the backlog's head.
    assert_eq!(poll_ids(&mut lab).unwrap(), partial_rows);
    assert_eq!(partial_rows.len(), POLL_BATCH as usize);
    assert_eq!(&partial_rows[..3], &[17, 900, 3_001]);
    lab.use_partial_index().unwrap();
    assert_eq!(lab.poll_plan().unwrap(), partial_plan);
    assert!(lab.index_pages(PARTIAL_INDEX).unwrap() < lab.index_pages("outbox").unwrap());
    assert!(
        lab.server().is_none(),
        "SQLite has no server to ping or vacuum"
    );
}

#[test]
fn the_cleaner_deletes_exactly_the_old_sent_rows_across_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let stuck = [5, 250, 251, 4_000];
    let (mut lab, timeline) = small_outbox(dir.path(), 6_000, &stuck);
    // A gap in the ids, as an earlier cleanup or a rolled-back insert leaves.
    lab.conn()
        .execute("DELETE FROM outbox WHERE id BETWEEN 1000 AND 2500", [])
        .unwrap();
    let cutoff = timeline.at(4_500);
    let mut count_where = |filter: &str| {
        lab.count(&format!("SELECT count(*) FROM outbox {filter}"))
            .unwrap()
    };
    let before = count_where("");
    let old = count_where(&format!("WHERE sent_at < {cutoff}"));
    let newer = count_where(&format!("WHERE sent_at >= {cutoff}"));
    let unsent_before = unsent_ids(&lab);
    let mut cleaner = Cleaner::new(lab.sweeper().unwrap(), cutoff, 300).unwrap();
    let (mut deleted, mut batches) = (0, 0);
    while let Some(b) = cleaner.step().unwrap() {
        deleted += b.rows;
        batches += 1;
        assert!(b.rows <= 300);
    }
    assert!(
        cleaner.step().unwrap().is_none(),
        "a finished cleaner stays finished"
    );
    assert!(
        cleaner.checkpoint.is_some(),
        "SQLite checkpoints after each batch"
    );
    let mut count_where = |filter: &str| {
        lab.count(&format!("SELECT count(*) FROM outbox {filter}"))
            .unwrap()
    };
    assert_eq!(deleted, old);
    assert_eq!(count_where(""), before - old);
    assert_eq!(count_where(&format!("WHERE sent_at < {cutoff}")), 0);
    assert_eq!(count_where(&format!("WHERE sent_at >= {cutoff}")), newer);
    assert_eq!(unsent_ids(&lab), unsent_before);
    // It stopped within a window of the cut-off, and jumped the gap rather than walking it.
    assert!(
        cleaner.cursor <= 4_500 + 300,
        "stopped at {}",
        cleaner.cursor
    );
    assert!(batches < 20, "{batches} batches");
}

#[test]
fn dropping_a_day_moves_its_unsent_rows_first_and_removes_exactly_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(3);
    let small = CleanupOptions {
        rows: 12_000,
        keep_dir: Some(dir.path().to_path_buf()),
        ..CleanupOptions::new(3)
    };
    let place = Place::open(&small).unwrap();
    let (partition, checks) = partition::run(&place, &small, &mut rng, &NoProgress).unwrap();
    assert!(checks.exact && checks.adds_up);
    assert_eq!(partition.table, "outbox_2026_01_06");
    assert_eq!(partition.today, "outbox_2026_01_07");
    assert_eq!(partition.rows, 12_000);
    assert_eq!(partition.unsent_moved, u64::from(STUCK));
    assert!(
        partition.plan.contains("outbox_2026_01_06_unsent"),
        "{}",
        partition.plan
    );
    let conn = rusqlite::Connection::open(dir.path().join("cleanup-partitions.db")).unwrap();
    let unsent: i64 = conn
        .query_row(
            "SELECT count(*) FROM outbox_2026_01_07 WHERE sent_at IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unsent, i64::from(STUCK + BACKLOG));
    assert!(
        conn.prepare("SELECT 1 FROM outbox_2026_01_06").is_err(),
        "the day's table is gone"
    );
}

#[test]
fn day_tables_are_named_for_their_day() {
    assert_eq!(day_table(0), "outbox_2026_01_05");
    assert_eq!(day_table(15 * 3_600_000), "outbox_2026_01_06");
    assert_eq!(day_table(15 * 3_600_000 + DAY_MS - 1), "outbox_2026_01_06");
}
