//! `msgwork lab cleanup`: outbox cleanup that leaves the write path alone.

use std::fmt::Write as _;

use anyhow::{Result, anyhow};
use comfy_table::{Cell, CellAlignment};

use super::shared::{Request, check_outputs, list_word, record_charted, within};
use crate::Outcome;
use crate::cli::CleanupArgs;
use crate::commands::bench::figure;
use crate::commands::context::{Context, emit};
use crate::commands::recording::RunNote;
use crate::commands::replay::Replay;
use crate::sim::lab::cleanup::{self, CleanupOptions, CleanupReport};
use crate::sim::stats::Spread;
use crate::ui::plot::LineChart;
use crate::ui::{Bar, Paint};

/// A count as people write it: `1000000`, `1_000_000`, `1,000,000`, `250k`, `1m`.
fn parse_count(flag: &str, text: &str) -> Result<u32> {
    let bad = || anyhow!("{flag} takes a count like 20000, 250k or 1m (got '{text}')");
    let lower = text.trim().to_ascii_lowercase();
    let (number, factor) = match lower.strip_suffix('k') {
        Some(n) => (n, 1_000),
        None => match lower.strip_suffix('m') {
            Some(n) => (n, 1_000_000),
            None => (lower.as_str(), 1),
        },
    };
    // Commas only between groups of three digits; underscores anywhere between digits.
    let groups: Vec<&str> = number.split(',').collect();
    if groups[1..].iter().any(|g| g.len() != 3) {
        return Err(bad());
    }
    let digits: String = groups.concat().chars().filter(|c| *c != '_').collect();
    if digits.is_empty()
        || !digits.chars().all(|c| c.is_ascii_digit())
        || number.starts_with('_')
        || number.ends_with('_')
    {
        return Err(bad());
    }
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(bad)
}

/// Raw arguments to checked options; every problem is one line naming its option.
fn options(args: &CleanupArgs) -> Result<CleanupOptions> {
    let rows = parse_count("--rows", &args.rows)?;
    within("--rows", rows, cleanup::MIN_ROWS, cleanup::MAX_ROWS)?;
    let batch = parse_count("--batch", &args.batch)?;
    within("--batch", batch, cleanup::MIN_BATCH, cleanup::MAX_BATCH)?;
    let sizes = match &args.sizes {
        None => cleanup::default_sizes(rows),
        Some(list) => {
            let mut sizes = list
                .split(',')
                .map(|s| parse_count("--sizes", s))
                .collect::<Result<Vec<_>>>()
                .map_err(|_| {
                    anyhow!(
                        "--sizes takes counts separated by commas, like 10k,100k (got '{list}')"
                    )
                })?;
            if let Some(&last) = sizes.last()
                && last + cleanup::MIN_STEP > rows
            {
                anyhow::bail!(
                    "--sizes are measured on the way to --rows, so each must be at least {} rows \
                     below --rows {rows} (got {last}); raise --rows or drop that size",
                    cleanup::MIN_STEP
                );
            }
            sizes.push(rows);
            sizes
        }
    };
    let page_size = match &args.page_size {
        None => crate::sim::storage::sqlite::sql::PAGE_SIZE,
        Some(_) if args.db.is_some() => anyhow::bail!(
            "--page-size sets the page size of SQLite files; a PostgreSQL server's block size is \
             fixed when the server is built, so leave --page-size out with --db (or MSGWORK_DB)"
        ),
        Some(text) => text.trim().parse::<u32>().map_err(|_| {
            anyhow!(
                "--page-size must be a power of two from 512 to 65536, like 4096 (got '{text}')"
            )
        })?,
    };
    if let Some(url) = &args.db {
        crate::sim::storage::postgres::connect::config(url)?;
    }
    let options = CleanupOptions {
        seed: args.seed.unwrap_or_else(crate::sim::model::random_seed),
        rows,
        sizes,
        batch,
        page_size,
        keep_dir: args.keep_db.clone(),
        db: args.db.clone(),
    };
    options.validate()?;
    Ok(options)
}

/// The command that replays the run: the seed, the server, and every option that differs from
/// the lab's default. The timings are this machine's at this moment and will differ; the table,
/// its sizes and what the checks found will not.
fn replay(o: &CleanupOptions) -> Replay {
    let mut replay = Replay::new(&["lab", "cleanup"]);
    replay.option("--seed", o.seed);
    if let Some(url) = &o.db {
        replay.db(url);
    }
    if o.rows != cleanup::DEFAULT_ROWS {
        replay.option("--rows", o.rows);
    }
    if o.sizes != cleanup::default_sizes(o.rows) {
        let below = &o.sizes[..o.sizes.len().saturating_sub(1)];
        replay.option("--sizes", list_word(below));
    }
    if o.batch != cleanup::DEFAULT_BATCH {
        replay.option("--batch", o.batch);
    }
    if o.db.is_none() && o.page_size != crate::sim::storage::sqlite::sql::PAGE_SIZE {
        replay.option("--page-size", o.page_size);
    }
    replay
}

/// Poll time against table size, one line per index, on log scales.
fn poll_curve(r: &CleanupReport) -> LineChart {
    let mut chart = LineChart::new(r.chart.title, r.chart.x, r.chart.y)
        .log_x()
        .log_y();
    for series in &r.chart.series {
        chart = chart.series(series.name, series.points.iter().map(|[x, y]| (*x, *y)));
    }
    chart
}

pub(super) fn cleanup_lab(args: &CleanupArgs, ctx: &Context) -> Result<Outcome> {
    let options = options(args)?;
    let keep = options.keep_dir.as_deref().filter(|_| options.db.is_none());
    check_outputs(ctx, args.plot.as_deref(), keep, args.force)?;
    let replay = replay(&options);
    let recorder = ctx.recorder()?;
    let bar = Bar::new(cleanup::rows_to_write(&options), "rows", !args.json);
    let report = cleanup::run(&options, &bar, &|phase| bar.message(phase));
    bar.finish();
    let report = report?;
    let chart = poll_curve(&report);
    if let Some(path) = &args.plot {
        LineChart {
            title: format!("lab cleanup, seed {}: {}", report.seed, chart.title),
            ..chart.clone()
        }
        .save(path)?;
    }
    let kept = crate::ui::kept_note(
        keep,
        args.json,
        (
            "cleanup-outbox.db",
            "EXPLAIN QUERY PLAN SELECT id FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT 100",
            "which index the relay's poll reads",
        ),
    );
    let request = Request {
        seed: options.seed,
        options: &options,
        replay: &replay,
    };
    let Some(run) = record_charted(
        &recorder,
        "lab-cleanup",
        &request,
        &report,
        args.plot.as_deref(),
        args.json,
    )?
    else {
        return Ok(Outcome::Success);
    };
    // The human report draws its own bars, on one scale for both indexes.
    let mut out = render(&report, &replay, ctx.paint, run);
    if let Some(path) = &args.plot {
        out.push_str(&format!("Chart written to {}\n", path.display()));
    }
    out.push_str(&kept);
    emit(&out)?;
    Ok(Outcome::Success)
}

/// The poll's p50 at each size and index, as bars on one scale.
fn poll_bars(r: &CleanupReport) -> String {
    let mut out = String::new();
    let widest = r
        .by_size
        .iter()
        .flat_map(|s| [s.partial.poll_us.p50, s.plain.poll_us.p50])
        .fold(f64::MIN_POSITIVE, f64::max);
    let _ = writeln!(out, "  poll p50:");
    for size in &r.by_size {
        for (i, run) in [&size.partial, &size.plain].into_iter().enumerate() {
            let label = if i == 0 {
                format!("{} rows", grouped(u64::from(size.rows)))
            } else {
                String::new()
            };
            let bar = "█".repeat(((run.poll_us.p50 / widest) * 40.0).round().max(1.0) as usize);
            let _ = writeln!(
                out,
                "  {label:>16}  {:<8} {bar} {}",
                run.index,
                figure(run.poll_us.p50, "µs")
            );
        }
    }
    out
}

/// What one poll read at each size, through each index and through none; `None` where the pages
/// were not counted.
fn pages_read(r: &CleanupReport) -> Option<String> {
    let mut out = String::from("  pages one poll reads, index + table:\n");
    for size in &r.by_size {
        let ways = [
            ("partial", size.partial.poll_reads?),
            ("plain", size.plain.poll_reads?),
            ("no index", size.no_index_reads?),
        ];
        for (i, (way, reads)) in ways.into_iter().enumerate() {
            let label = if i == 0 {
                format!("{} rows", grouped(u64::from(size.rows)))
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  {label:>16}  {way:<8}  {:>5} + {}",
                grouped(reads.index),
                grouped(reads.table)
            );
        }
    }
    Some(out)
}

/// `1234567` as `1,234,567`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn rate(value: f64) -> String {
    grouped(value.round() as u64)
}

fn right(text: String) -> Cell {
    Cell::new(text).set_alignment(CellAlignment::Right)
}

/// `1024` as `1 KiB`.
fn page_size(bytes: u32) -> String {
    if bytes >= 1024 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes}-byte")
    }
}

/// A row of figures: poll p50 and p99, write p50 and p99, writes per second.
fn figures_row(label: &str, poll: &Spread, write: &Spread, per_s: f64) -> Vec<Cell> {
    vec![
        Cell::new(label),
        right(figure(poll.p50, "µs")),
        right(figure(poll.p99, "µs")),
        right(figure(write.p50, "µs")),
        right(figure(write.p99, "µs")),
        right(rate(per_s)),
    ]
}

fn tick(paint: Paint, ok: bool) -> String {
    if ok {
        paint.good("✓")
    } else {
        paint.bad("✗")
    }
}

/// A small count as a word, as a heading reads it.
fn number_word(n: usize) -> String {
    const WORDS: [&str; 10] = [
        "no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    WORDS
        .get(n)
        .map_or_else(|| n.to_string(), |w| (*w).to_string())
}

/// The same mark as a table cell, coloured through the table so the column keeps its width.
fn tick_cell(paint: Paint, ok: bool) -> Cell {
    if ok {
        paint.good_cell("✓")
    } else {
        paint.bad_cell("✗")
    }
}

fn render(r: &CleanupReport, replay: &Replay, paint: Paint, run: RunNote) -> String {
    let rows = grouped(u64::from(r.rows));
    let server = r.server.as_ref();
    let database = match server {
        Some(s) => format!("PostgreSQL {}", s.url),
        None => "SQLite".to_string(),
    };
    let mut out = format!(
        "{}  {database} · seed {} · {rows} rows on {} pages · {} unsent, {} of them stuck · deletes of {}\n\n",
        paint.bold("msgwork lab cleanup"),
        r.seed,
        page_size(r.page_size),
        r.unsent_rows,
        cleanup::STUCK,
        grouped(u64::from(r.delete_batch)),
    );

    let _ = writeln!(
        out,
        "{}",
        paint.bold("The relay's poll and the service's write, by table size")
    );
    let mut table = paint.table(&[
        "rows",
        "index",
        "index pages",
        "poll p50",
        "poll p99",
        "write p50",
        "write p99",
        "writes/s",
    ]);
    for size in &r.by_size {
        for (i, run) in [&size.partial, &size.plain].into_iter().enumerate() {
            let mut cells = figures_row(run.index, &run.poll_us, &run.insert_us, run.inserts_per_s);
            cells.insert(1, right(grouped(run.index_pages)));
            let label = if i == 0 {
                grouped(u64::from(size.rows))
            } else {
                String::new()
            };
            cells.insert(0, right(label));
            table.add_row(cells);
        }
    }
    let _ = writeln!(out, "{table}");
    match pages_read(r) {
        Some(pages) => out.push_str(&pages),
        None => out.push_str(&poll_bars(r)),
    }
    out.push('\n');

    let large = &r.by_size[r.by_size.len() - 1];
    let (a, d, p) = (&r.alongside, &r.deletes, &r.partition);
    let mut table = paint.table(&[
        "",
        "poll p50",
        "poll p99",
        "write p50",
        "write p99",
        "writes/s",
    ]);
    let ways = [
        figures_row(
            "plain index, nothing deleted",
            &large.plain.poll_us,
            &large.plain.insert_us,
            large.plain.inserts_per_s,
        ),
        figures_row(
            "partial index, nothing deleted",
            &large.partial.poll_us,
            &large.partial.insert_us,
            large.partial.inserts_per_s,
        ),
        figures_row(
            "partial index, cleaner paused",
            &a.poll_us_alone,
            &a.insert_us_alone,
            a.inserts_per_s_alone,
        ),
        figures_row(
            "partial index, cleaner deleting",
            &a.poll_us_with_cleanup,
            &a.insert_us_with_cleanup,
            a.inserts_per_s_with_cleanup,
        ),
        figures_row(
            if server.is_some() {
                "daily partitions of a partitioned table"
            } else {
                "daily partitions behind a view"
            },
            &p.poll_us,
            &p.insert_us,
            p.inserts_per_s,
        ),
    ];
    // The heading counts the rows it heads, so the two cannot disagree.
    let _ = writeln!(
        out,
        "{}",
        paint.bold(&format!(
            "At {rows} rows, {} ways to keep the outbox",
            number_word(ways.len())
        ))
    );
    for way in ways {
        table.add_row(way);
    }
    let _ = writeln!(out, "{table}");
    let _ = write!(
        out,
        "  Deleted {} old rows alone in {} batches ({:.2} s) and {} beside the service's writes",
        grouped(d.rows_deleted),
        grouped(d.batches),
        d.seconds,
        grouped(a.cleaner_rows_deleted),
    );
    match (&d.vacuum, p.vacuum_same_rows_ms) {
        (Some(v), Some(vacuum_ms)) => {
            let _ = writeln!(
                out,
                "; VACUUM then took {} to clear the dead rows, and the outbox still took {} on disk. \
                 Dropping yesterday's {}-row partition took {}, after moving its {} unsent rows \
                 to today's; deleting those rows in batches would take about {}, and VACUUM \
                 about {} more.\n",
                figure(v.ms, "ms"),
                megabytes(v.outbox_bytes_after),
                grouped(p.rows),
                figure(p.drop_ms, "ms"),
                p.unsent_moved,
                figure(p.delete_same_rows_ms, "ms"),
                figure(vacuum_ms, "ms"),
            );
        }
        _ => {
            let _ = writeln!(
                out,
                ". Dropping yesterday's {}-row table took {}, after moving its {} unsent rows to \
                 today's; deleting those rows in batches would take about {}.\n",
                grouped(p.rows),
                figure(p.drop_ms, "ms"),
                p.unsent_moved,
                figure(p.delete_same_rows_ms, "ms"),
            );
        }
    }

    let _ = writeln!(out, "{}", paint.bold("Against the targets"));
    let mut table = paint.table(&["", "measured", "target", ""]);
    for m in r.targets.list() {
        let show = |v: f64| {
            if m.unit == "rows/s" {
                format!("{} rows/s", rate(v))
            } else {
                figure(v, m.unit)
            }
        };
        table.add_row(vec![
            Cell::new(&m.description),
            right(show(m.value)),
            right(format!(
                "{} {}",
                if m.lower_is_better { "≤" } else { "≥" },
                show(m.target)
            )),
            tick_cell(paint, m.meets),
        ]);
    }
    let _ = writeln!(out, "{table}");
    if let (Some(s), Some(trip)) = (server, &r.round_trip_us) {
        let _ = writeln!(
            out,
            "  On PostgreSQL a round trip to the server is part of every figure: a bare SELECT 1 \
             took {} at p50 here, a poll is one round trip and a write four (BEGIN, two INSERTs, \
             COMMIT). The targets were set for SQLite, inside the process.",
            figure(trip.p50, "µs"),
        );
        if s.fsync == "off" {
            let _ = writeln!(
                out,
                "  This server runs with fsync off: no commit waits for the disk, so a production \
                 server's writes cost more than these."
            );
        }
        if s.kept {
            let _ = writeln!(out, "  Kept the schemas {}.", s.schemas.join(" and "));
        }
    }
    if a.cleaner_ran_out {
        let _ = writeln!(
            out,
            "  The cleaner ran out of old rows during the windows: the table is too small for a fair slowdown figure."
        );
    }
    if r.rows < cleanup::DEFAULT_ROWS {
        let _ = writeln!(
            out,
            "  The targets are stated for 1,000,000 rows; this run grew the table to {rows}."
        );
    }
    if !r.machine.release_build {
        let _ = writeln!(
            out,
            "  This is a debug build: the targets are for a release build (cargo run --release -- lab cleanup)."
        );
    }
    if let Some(note) = crate::ui::busy_note(&r.machine) {
        let _ = writeln!(out, "  {note}");
    }
    out.push('\n');

    let c = &r.checks;
    let _ = writeln!(out, "{}", paint.bold("Checked on this run"));
    for (ok, what) in [
        (
            c.same_rows_both_indexes,
            "both indexes polled the same unsent rows, at every size",
        ),
        (
            c.partial_index_used && c.plain_plan_differs,
            "the poll's plan uses the partial index; with the plain index, that one instead",
        ),
        (
            c.poll_unchanged_during_cleanup,
            "the poll found the same rows while the cleaner deleted around them",
        ),
        (
            c.deleted_exactly_old_sent_rows && c.unsent_rows_kept,
            "the deletes removed exactly the old sent rows, and every unsent row is still there",
        ),
        (
            c.drop_removed_exactly_its_rows,
            "the drop removed exactly the day's rows; its unsent ones moved to today's table first",
        ),
        (c.rows_add_up, "rows written, deleted and left add up"),
    ] {
        let _ = writeln!(out, "  {} {what}", tick(paint, ok));
    }
    out.push('\n');

    let _ = writeln!(out, "{}", paint.bold("What this shows"));
    match &d.vacuum {
        Some(vacuum) => shows_on_postgres(&mut out, r, vacuum),
        None => shows_on_sqlite(&mut out, r),
    }
    let _ = writeln!(
        out,
        "{}",
        paint.dim(&format!(
            "Replay: {replay}  ·  took {:.1} s{run}",
            r.timings.total_ms / 1e3
        ))
    );
    out
}

/// The partial index's poll against table size: flat, as the target asks, or not this time.
fn poll_sentence(r: &CleanupReport, unsent: &str, trip: Option<f64>) -> String {
    let rows = grouped(u64::from(r.rows));
    let (small, large) = (&r.by_size[0], &r.by_size[r.by_size.len() - 1]);
    let pages = if small.partial.index_pages == large.partial.index_pages {
        format!("the same {} pages at every size", large.partial.index_pages)
    } else {
        format!(
            "{} pages at {} rows and {} at {rows}",
            small.partial.index_pages,
            grouped(u64::from(small.rows)),
            large.partial.index_pages
        )
    };
    let figures = format!(
        "{} at {rows} rows against {} at {} ({:.2}×){}",
        figure(large.partial.poll_us.p50, "µs"),
        figure(small.partial.poll_us.p50, "µs"),
        grouped(u64::from(small.rows)),
        r.poll_ratio.partial,
        trip.map_or(String::new(), |t| format!(
            ", {} of it the round trip",
            figure(t, "µs")
        )),
    );
    let flat = &r.targets.poll_flat;
    let read = reads_sentence(r);
    if flat.meets {
        format!(
            "The partial index holds only {unsent}, {pages}, so the relay's poll does the same work \
             at any size: {figures}.{read}"
        )
    } else {
        format!(
            "The partial index holds only {unsent}, {pages}, so the relay's poll should do the same \
             work at any size; here it took {figures}, more than the {}× the target allows (see \
             the notes above on this machine).{read}",
            flat.target
        )
    }
}

/// `3 index and 36 table pages`.
fn reads_phrase(reads: &cleanup::PageReads) -> String {
    format!(
        "{} index and {} table pages",
        grouped(reads.index),
        grouped(reads.table)
    )
}

/// What the poll read at the smallest and largest sizes, through the partial index and through no
/// index, as counted; empty where the pages were not counted.
fn reads_sentence(r: &CleanupReport) -> String {
    let (small, large) = (&r.by_size[0], &r.by_size[r.by_size.len() - 1]);
    let (Some(partial_small), Some(partial_large), Some(none_small), Some(none_large)) = (
        small.partial.poll_reads,
        large.partial.poll_reads,
        small.no_index_reads,
        large.no_index_reads,
    ) else {
        return String::new();
    };
    let (from, to) = (
        grouped(u64::from(small.rows)),
        grouped(u64::from(large.rows)),
    );
    let through = if partial_small == partial_large {
        format!("{} at every size", reads_phrase(&partial_large))
    } else {
        format!(
            "{} at {from} rows and {} at {to}",
            reads_phrase(&partial_small),
            reads_phrase(&partial_large)
        )
    };
    format!(
        " Counted, one poll read {through}; with no index to use, the same poll read {} pages of \
         the table at {from} rows and {} at {to}.",
        grouped(none_small.table),
        grouped(none_large.table)
    )
}

/// What the cleaner beside the service cost it, as measured: a slowdown, or none to see.
fn slowdown(a: &cleanup::Alongside) -> String {
    if a.slowdown_percent > 0.0 {
        format!("cost it {:.1}% of its write rate", a.slowdown_percent)
    } else {
        format!(
            "cost it nothing measurable (the service wrote {:.1}% faster with it, within the noise)",
            -a.slowdown_percent
        )
    }
}

/// Whether the stuck rows in the deleted range survived, as the checks found.
fn stuck_rows(r: &CleanupReport) -> String {
    if r.checks.unsent_rows_kept && r.checks.deleted_exactly_old_sent_rows {
        format!(
            "the {} stuck rows in the deleted range survived because the delete only matches sent \
             rows",
            cleanup::STUCK
        )
    } else {
        "yet the check of which rows went failed (see above): this is a bug in msgwork, please \
         report it with the replay command below"
            .to_string()
    }
}

/// The drop against deleting the same rows: faster, as it should be, or not this time.
fn drop_figures(p: &cleanup::Partition, deletes_and_vacuum: &str) -> String {
    if p.drop_ms < p.delete_same_rows_ms {
        format!(
            "a day goes in {} rather than about {}{deletes_and_vacuum}",
            figure(p.drop_ms, "ms"),
            figure(p.delete_same_rows_ms, "ms"),
        )
    } else {
        format!(
            "yet here the drop took {} against about {} for deleting the same rows: the day was \
             too small for the difference to show",
            figure(p.drop_ms, "ms"),
            figure(p.delete_same_rows_ms, "ms"),
        )
    }
}

/// The bullets of "What this shows" for a run on SQLite files.
fn shows_on_sqlite(out: &mut String, r: &CleanupReport) {
    let rows = grouped(u64::from(r.rows));
    let (small, large) = (&r.by_size[0], &r.by_size[r.by_size.len() - 1]);
    let (a, d, p) = (&r.alongside, &r.deletes, &r.partition);
    let unsent = format!("the {} unsent rows", r.unsent_rows);
    let _ = writeln!(out, "  • {}", poll_sentence(r, &unsent, None));
    let _ = writeln!(
        out,
        "  • A plain index on sent_at answers the same query ({} to {} here{}), since the unsent rows sit \
         together at its start, but it keeps an entry for every row ever written: {} pages at {rows} rows, \
         deeper with every sent row, and maintained by every write and every mark-sent.",
        figure(small.plain.poll_us.p50, "µs"),
        figure(large.plain.poll_us.p50, "µs"),
        large
            .plain
            .poll_reads
            .map_or(String::new(), |reads| format!(
                ", {} per poll at {rows} rows",
                reads_phrase(&reads)
            )),
        grouped(large.plain.index_pages),
    );
    let _ = writeln!(
        out,
        "  • Deleting {} rows per transaction held the write lock {} at p99{}, so a write waits at most \
         one batch. Keeping pace with the service, the cleaner {}, and {}.",
        grouped(u64::from(r.delete_batch)),
        figure(d.batch_ms.p99, "ms"),
        if r.targets.delete_batch_p99.meets {
            String::new()
        } else {
            format!(
                ", longer than the {} the target allows",
                figure(r.targets.delete_batch_p99.target, "ms")
            )
        },
        slowdown(a),
        stuck_rows(r),
    );
    let larger = if r.page_size < 4096 {
        " (try --page-size 4096)".to_string()
    } else {
        format!(" (this run used {} pages)", page_size(r.page_size))
    };
    let _ = writeln!(
        out,
        "  • Each deleted row still comes out of the table and its event_id index one at a time, and \
         half-empty pages are re-balanced as they go: {} rows/s on {} pages. Larger pages hold more rows \
         to each page touched and delete faster{larger}, at the price of more bytes in every commit of \
         the write path.",
        rate(d.rows_per_s),
        page_size(r.page_size),
    );
    let _ = writeln!(
        out,
        "  • A drop does not delete rows one by one. It hands the table's pages to the free list whole, with no \
         per-row index work and almost no WAL, so {}. A day can only go once nothing in it is waiting \
         to be sent.",
        drop_figures(p, ""),
    );
}

/// The bullets of "What this shows" for a run on a PostgreSQL server.
fn shows_on_postgres(out: &mut String, r: &CleanupReport, v: &cleanup::Vacuum) {
    let rows = grouped(u64::from(r.rows));
    let (small, large) = (&r.by_size[0], &r.by_size[r.by_size.len() - 1]);
    let (a, d, p) = (&r.alongside, &r.deletes, &r.partition);
    let trip = r.round_trip_us.map_or(0.0, |t| t.p50);
    let unsent = format!(
        "the unsent rows ({} of them, plus the entries of rows marked sent until VACUUM clears them)",
        r.unsent_rows
    );
    let _ = writeln!(out, "  • {}", poll_sentence(r, &unsent, Some(trip)));
    let sorts = if large.plain.plan.contains("Sort") {
        ", but it does not keep the unsent rows in id order, so PostgreSQL sorts them for every poll"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "  • A plain index on sent_at answers the same query ({} to {} here{}){sorts}; it also keeps an entry \
         for every row ever written: {} pages at {rows} rows, maintained by every write and every mark-sent.",
        figure(small.plain.poll_us.p50, "µs"),
        figure(large.plain.poll_us.p50, "µs"),
        large
            .plain
            .poll_reads
            .map_or(String::new(), |reads| format!(
                ", {} per poll at {rows} rows",
                reads_phrase(&reads)
            )),
        grouped(large.plain.index_pages),
    );
    let _ = writeln!(
        out,
        "  • Each batch of {} rows was one DELETE in its own transaction, {} at p99. It locks only the rows it \
         deletes, which no insert touches, so the service never waits for it; they share the CPU, the WAL \
         and the buffer cache. Deleting {} rows/s while the service wrote {}/s, the cleaner {}, and {}.",
        grouped(u64::from(r.delete_batch)),
        figure(d.batch_ms.p99, "ms"),
        rate(a.cleaner_rows_per_s),
        rate(a.inserts_per_s_alone),
        slowdown(a),
        stuck_rows(r),
    );
    let space = if v.outbox_bytes_after >= v.outbox_bytes_before {
        format!(
            "It makes their space reusable by new rows but does not give it back: the outbox took {} \
             before it and {} after.",
            megabytes(v.outbox_bytes_before),
            megabytes(v.outbox_bytes_after),
        )
    } else {
        format!(
            "It makes their space reusable by new rows and gives back only empty pages at the end \
             of the table: the outbox took {} before it and {} after.",
            megabytes(v.outbox_bytes_before),
            megabytes(v.outbox_bytes_after),
        )
    };
    let _ = writeln!(
        out,
        "  • A DELETE on PostgreSQL does not take a row out: it marks the row's version dead, {} rows/s \
         here. VACUUM does the rest later, removing dead versions and their index entries: {} for these \
         rows. {space} The poll never meets the dead rows, since a sent row has left the \
         partial index: {} before VACUUM, {} after.",
        rate(d.rows_per_s),
        figure(v.ms, "ms"),
        figure(v.poll_us_before.p50, "µs"),
        figure(v.poll_us_after.p50, "µs"),
    );
    let vacuum = format!(
        " of deletes and {} of VACUUM",
        figure(p.vacuum_same_rows_ms.unwrap_or(0.0), "ms")
    );
    let _ = writeln!(
        out,
        "  • DROP TABLE of a partition never visits its rows: the server unlinks its files at commit and \
         leaves nothing dead behind, so {}. The price: a partitioned table's unique keys must include \
         created_at, so an event id is unique within its day only; a row's partition follows its \
         created_at, so carrying an unsent row over re-stamps it (its event keeps occurred_at); and a \
         day can only go once nothing in it is waiting to be sent.",
        drop_figures(p, &vacuum),
    );
}

/// Bytes as megabytes: `293.5 MB`.
fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::super::shared::testing::assert_replays;
    use super::*;
    use crate::cli::LabCommand;

    #[test]
    fn the_replay_gives_back_every_option_that_changes_the_result() {
        assert_replays(
            "cleanup",
            &[
                &["--seed", "3"],
                &[
                    "--seed",
                    "3",
                    "--rows",
                    "20k",
                    "--batch",
                    "500",
                    "--page-size",
                    "4096",
                ],
                &["--seed", "3", "--rows", "300000", "--sizes", "10k,50k"],
                &[
                    "--seed",
                    "3",
                    "--rows",
                    "1m",
                    "--sizes",
                    "100000",
                    "--db",
                    "postgres://u@h/db",
                ],
            ],
            |lab| match lab {
                LabCommand::Cleanup(args) => options(&args).unwrap(),
                other => panic!("{other:?}"),
            },
            replay,
        );
    }

    #[test]
    fn counts_read_the_way_people_write_them() {
        for (text, n) in [
            ("20000", 20_000),
            ("1_000_000", 1_000_000),
            ("1,000,000", 1_000_000),
            ("250k", 250_000),
            ("1M", 1_000_000),
        ] {
            assert_eq!(parse_count("--rows", text).unwrap(), n, "{text}");
        }
        for text in [
            "",
            "k",
            "lots",
            "1.5m",
            "-3",
            "99999999999",
            "5,0k",
            "1,00",
            "_5",
            ",",
        ] {
            let err = parse_count("--rows", text).unwrap_err().to_string();
            assert!(err.starts_with("--rows takes a count"), "{text}: {err}");
        }
    }

    #[test]
    fn grouped_digits() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }
}
