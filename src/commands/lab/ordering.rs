//! `msgwork lab ordering`: per-aggregate order across partitions.

use std::fmt::Write as _;

use anyhow::Result;
use serde_json::json;

use super::shared::{record, within};
use crate::Outcome;
use crate::commands::context::{Context, emit};
use crate::sim::lab::ordering;

/// A table row: label, the figure, and whether zero is the good value.
type OrderingRow = (&'static str, fn(&ordering::OrderingRun) -> u64, bool);

pub(super) fn ordering_lab(
    orders: u32,
    partitions: u32,
    seed: Option<u64>,
    db: Option<String>,
    json: bool,
    ctx: &Context,
) -> Result<Outcome> {
    within("--orders", orders, 1, 1_000_000)?;
    within("--partitions", partitions, 1, 256)?;
    if let Some(url) = &db {
        crate::sim::storage::postgres::connect::config(url)?;
    }
    let store = ctx.open_store()?;
    let options = ordering::OrderingOptions {
        seed: seed.unwrap_or_else(crate::sim::model::random_seed),
        orders,
        partitions,
        db,
    };
    let seed = options.seed;
    let bar = crate::ui::Bar::new(2 * 4 * u64::from(orders), "events", !json);
    bar.message("keyed by aggregate id, then scattered");
    let r = ordering::run(&options, &bar);
    bar.finish();
    let r = r?;
    let Some(run) = record(
        &store,
        "lab-ordering",
        seed,
        &json!({"orders": orders, "partitions": partitions, "backend": r.backend}),
        &r,
        json,
    )?
    else {
        return Ok(Outcome::Success);
    };
    let paint = ctx.paint;
    let backend = match &options.db {
        Some(url) => format!(
            "PostgreSQL {}",
            crate::sim::storage::postgres::connect::redact(url)
        ),
        None => "SQLite".to_string(),
    };
    let mut out = format!(
        "{}  {backend} · seed {seed} · {orders} orders × 4 events · {partitions} partitions, a relay and a worker each\n\n",
        paint.bold("msgwork lab ordering")
    );
    let mut table = paint.table(&["", "keyed by aggregate id", "not keyed"]);
    let rows: [OrderingRow; 7] = [
        ("events", |r| r.events, false),
        ("out-of-order arrivals", |r| r.violations, true),
        ("orders affected", |r| r.orders_affected, true),
        (
            "skipped by sequence number",
            |r| r.duplicates_skipped,
            false,
        ),
        ("worker crashes (redelivered)", |r| r.crashes, false),
        ("relay crashes", |r| r.relay_crashes, false),
        ("events lost", |r| r.lost, true),
    ];
    for (label, get, judged) in rows {
        let cell = |run: &ordering::OrderingRun| {
            let n = get(run);
            let verdict = match (judged, n) {
                (false, _) => crate::ui::Verdict::Plain,
                (true, 0) => crate::ui::Verdict::Good,
                (true, _) => crate::ui::Verdict::Bad,
            };
            paint.number(n, verdict)
        };
        table.add_row(vec![
            comfy_table::Cell::new(label),
            cell(&r.keyed),
            cell(&r.unkeyed),
        ]);
    }
    let _ = writeln!(out, "{table}\n");
    let _ = writeln!(out, "{}", paint.bold("What this shows"));
    let _ = writeln!(
        out,
        "  • Keyed by aggregate id, all of an order's events share one partition, one relay and one worker, so \
         they arrive in the order they happened however the {partitions} partitions interleave. A crash only \
         repeats what was not yet acknowledged or marked sent, and the sequence number skips it."
    );
    let _ = writeln!(
        out,
        "  • Not keyed, an order's events scatter across partitions and a faster partition overtakes a slower one: \
         {} events arrived before an earlier event of the same order ({} orders affected). Shipped before Paid.",
        r.unkeyed.violations, r.unkeyed.orders_affected
    );
    let claim = if options.db.is_some() {
        "on PostgreSQL with FOR UPDATE SKIP LOCKED, keeping only the rows that continue the head: SKIP LOCKED \
         alone would let a restarted relay publish past rows its dead predecessor still holds"
    } else {
        "on SQLite with a lease under BEGIN IMMEDIATE that stops at the first row a live lease holds, so \
         nothing overtakes a dead relay's rows"
    };
    let _ = writeln!(
        out,
        "  • Each relay claims only the oldest unsent rows of its own partition, in id order: {claim}."
    );
    let _ = writeln!(
        out,
        "  • Keying buys order per aggregate, not overall, and that is all most consumers need; a sequence number \
         per aggregate lets a consumer detect anything that still slips."
    );
    let mut replay =
        format!("msgwork lab ordering --seed {seed} --orders {orders} --partitions {partitions}");
    let note = match &options.db {
        Some(url) => {
            let _ = write!(
                replay,
                " --db {}",
                crate::sim::storage::postgres::connect::redact(url)
            );
            "  ·  on PostgreSQL a crashed relay's locks go when the server notices, so a replay may differ a little"
        }
        None => "",
    };
    let _ = writeln!(
        out,
        "{}",
        paint.dim(&format!("Replay: {replay}  ·  recorded as run {run}{note}"))
    );
    emit(&out)?;
    Ok(Outcome::Success)
}
