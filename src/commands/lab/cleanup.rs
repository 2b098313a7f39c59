//! `msgwork lab cleanup`: outbox cleanup that leaves the write path alone.

use std::fmt::Write as _;

use anyhow::{Result, anyhow};
use comfy_table::{Cell, CellAlignment};

use super::{record_charted, within};
use crate::Outcome;
use crate::cli::CleanupArgs;
use crate::commands::bench::figure;
use crate::commands::{Context, emit};
use crate::sim::cleanup::{self, CleanupOptions, CleanupReport};
use crate::sim::stats::Spread;
use crate::ui::plot::{self, LineChart};
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
    let page_size = args.page_size.trim().parse::<u32>().map_err(|_| {
        anyhow!(
            "--page-size must be a power of two from 512 to 65536, like 4096 (got '{}')",
            args.page_size
        )
    })?;
    let options = CleanupOptions {
        seed: args.seed.unwrap_or_else(crate::sim::random_seed),
        rows,
        sizes,
        batch,
        page_size,
        keep_dir: args.keep_db.clone(),
    };
    options.validate()?;
    Ok(options)
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
    if let Some(path) = &args.plot {
        plot::check_svg_path(path)?;
    }
    let store = ctx.open_store()?;
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
    let Some(run) = record_charted(
        &store,
        "lab-cleanup",
        options.seed,
        &options,
        &report,
        args.plot.as_deref(),
        args.json,
    )?
    else {
        return Ok(Outcome::Success);
    };
    // The human report draws its own bars, on one scale for both indexes.
    let mut out = render(&report, &options, args, ctx.paint, run);
    if let Some(path) = &args.plot {
        out.push_str(&format!("Chart written to {}\n", path.display()));
    }
    emit(&out)?;
    Ok(Outcome::Success)
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

fn render(
    r: &CleanupReport,
    options: &CleanupOptions,
    args: &CleanupArgs,
    paint: Paint,
    run: i64,
) -> String {
    let rows = grouped(u64::from(r.rows));
    let mut out = format!(
        "{}  seed {} · {rows} rows on {} pages · {} unsent, {} of them stuck · deletes of {}\n\n",
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
    out.push('\n');

    let large = &r.by_size[r.by_size.len() - 1];
    let (a, d, p) = (&r.alongside, &r.deletes, &r.partition);
    let _ = writeln!(
        out,
        "{}",
        paint.bold(&format!("At {rows} rows, four ways to keep the outbox"))
    );
    let mut table = paint.table(&[
        "",
        "poll p50",
        "poll p99",
        "write p50",
        "write p99",
        "writes/s",
    ]);
    table.add_row(figures_row(
        "plain index, nothing deleted",
        &large.plain.poll_us,
        &large.plain.insert_us,
        large.plain.inserts_per_s,
    ));
    table.add_row(figures_row(
        "partial index, nothing deleted",
        &large.partial.poll_us,
        &large.partial.insert_us,
        large.partial.inserts_per_s,
    ));
    table.add_row(figures_row(
        "partial index, cleaner paused",
        &a.poll_us_alone,
        &a.insert_us_alone,
        a.inserts_per_s_alone,
    ));
    table.add_row(figures_row(
        "partial index, cleaner deleting",
        &a.poll_us_with_cleanup,
        &a.insert_us_with_cleanup,
        a.inserts_per_s_with_cleanup,
    ));
    table.add_row(figures_row(
        "daily partitions behind a view",
        &p.poll_us,
        &p.insert_us,
        p.inserts_per_s,
    ));
    let _ = writeln!(out, "{table}");
    let _ = writeln!(
        out,
        "  Deleted {} old rows alone in {} batches ({:.2} s) and {} beside the service's writes. \
         Dropping yesterday's {}-row table took {}, after moving its {} unsent rows to today's; \
         deleting those rows in batches would take about {}.\n",
        grouped(d.rows_deleted),
        grouped(d.batches),
        d.seconds,
        grouped(a.cleaner_rows_deleted),
        grouped(p.rows),
        figure(p.drop_ms, "ms"),
        p.unsent_moved,
        figure(p.delete_same_rows_ms, "ms"),
    );

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
            Cell::new(tick(paint, m.meets)),
        ]);
    }
    let _ = writeln!(out, "{table}");
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
    if let Some(load) = r
        .machine
        .load_average
        .filter(|l| *l > r.machine.cores as f64 * 0.75)
    {
        let _ = writeln!(
            out,
            "  The machine was busy (load {load:.1} on {} cores): other work shares the cores these figures were taken on.",
            r.machine.cores
        );
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

    let small = &r.by_size[0];
    let _ = writeln!(out, "{}", paint.bold("What this shows"));
    let _ = writeln!(
        out,
        "  • The partial index holds only the {} unsent rows, {} pages however big the table gets, so the \
         relay's poll does the same work at any size: {} at {rows} rows against {} at {} ({:.2}×).",
        r.unsent_rows,
        large.partial.index_pages,
        figure(large.partial.poll_us.p50, "µs"),
        figure(small.partial.poll_us.p50, "µs"),
        grouped(u64::from(small.rows)),
        r.poll_ratio.partial,
    );
    let _ = writeln!(
        out,
        "  • A plain index on sent_at answers the same query ({} to {} here), since the unsent rows sit \
         together at its start, but it keeps an entry for every row ever written: {} pages at {rows} rows, \
         deeper with every sent row, and maintained by every write and every mark-sent.",
        figure(small.plain.poll_us.p50, "µs"),
        figure(large.plain.poll_us.p50, "µs"),
        grouped(large.plain.index_pages),
    );
    let _ = writeln!(
        out,
        "  • Deleting {} rows per transaction held the write lock {} at p99, so a write never waits longer \
         than one short batch. Keeping pace with the service, the cleaner cost it {:.1}% of its write rate, \
         and the {} stuck rows in the deleted range survived because the delete only matches sent rows.",
        grouped(u64::from(r.delete_batch)),
        figure(d.batch_ms.p99, "ms"),
        a.slowdown_percent,
        cleanup::STUCK,
    );
    let _ = writeln!(
        out,
        "  • Each deleted row still comes out of the table and its event_id index one at a time, and \
         half-empty pages are re-balanced as they go: {} rows/s on {} pages. Larger pages hold more rows \
         to each page touched and delete faster (try --page-size 4096), at the price of more bytes in \
         every commit of the write path.",
        rate(d.rows_per_s),
        page_size(r.page_size),
    );
    let _ = writeln!(
        out,
        "  • A drop does not delete rows one by one. It hands the table's pages to the free list whole, with no \
         per-row index work and almost no WAL, so a day goes in {} rather than about {}. A day can only go \
         once nothing in it is waiting to be sent.",
        figure(p.drop_ms, "ms"),
        figure(p.delete_same_rows_ms, "ms"),
    );
    let mut replay = format!("msgwork lab cleanup --seed {}", r.seed);
    if options.rows != cleanup::DEFAULT_ROWS {
        let _ = write!(replay, " --rows {}", options.rows);
    }
    if let Some(sizes) = &args.sizes {
        let _ = write!(replay, " --sizes {sizes}");
    }
    if options.batch != cleanup::DEFAULT_BATCH {
        let _ = write!(replay, " --batch {}", options.batch);
    }
    if options.page_size != crate::sim::db::PAGE_SIZE {
        let _ = write!(replay, " --page-size {}", options.page_size);
    }
    let _ = writeln!(
        out,
        "{}",
        paint.dim(&format!(
            "Replay: {replay}  ·  took {:.1} s  ·  recorded as run {run}",
            r.timings.total_ms / 1e3
        ))
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
