//! `msgwork lab ordering`: per-aggregate order across partitions.

use std::fmt::Write as _;

use anyhow::Result;
use serde_json::json;

use super::shared::{Request, record, within};
use crate::Outcome;
use crate::cli::OrderingArgs;
use crate::commands::context::{Context, emit};
use crate::commands::replay::Replay;
use crate::sim::lab::ordering;
use crate::ui::plural;

/// A table row: label, the figure, and whether zero is the good value.
type OrderingRow = (&'static str, fn(&ordering::OrderingRun) -> u64, bool);

fn options(args: &OrderingArgs) -> Result<ordering::OrderingOptions> {
    within("--orders", args.orders, 1, 1_000_000)?;
    within("--partitions", args.partitions, 1, 256)?;
    if let Some(url) = &args.db {
        crate::sim::storage::postgres::connect::config(url)?;
    }
    Ok(ordering::OrderingOptions {
        seed: args.seed.unwrap_or_else(crate::sim::model::random_seed),
        orders: args.orders,
        partitions: args.partitions,
        db: args.db.clone(),
    })
}

/// The command that replays the run: every option, since each one changes the result.
fn replay(o: &ordering::OrderingOptions) -> Replay {
    let mut replay = Replay::new(&["lab", "ordering"]);
    replay.option("--seed", o.seed);
    if let Some(url) = &o.db {
        replay.db(url);
    }
    replay
        .option("--orders", o.orders)
        .option("--partitions", o.partitions);
    replay
}

pub(super) fn ordering_lab(args: &OrderingArgs, ctx: &Context) -> Result<Outcome> {
    let options = options(args)?;
    let replay = replay(&options);
    let recorder = ctx.recorder()?;
    let (seed, orders, partitions) = (options.seed, options.orders, options.partitions);
    let bar = crate::ui::Bar::new(2 * 4 * u64::from(orders), "events", !args.json);
    bar.message("keyed by aggregate id, then scattered");
    let r = ordering::run(&options, &bar);
    bar.finish();
    let r = r?;
    let recorded = json!({"orders": orders, "partitions": partitions, "backend": r.backend});
    let request = Request {
        seed,
        options: &recorded,
        replay: &replay,
    };
    let Some(run) = record(&recorder, "lab-ordering", &request, &r, args.json)? else {
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
    for sentence in explain(&r) {
        let _ = writeln!(out, "  • {sentence}");
    }
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
    let note = if options.db.is_some() {
        "  ·  on PostgreSQL a crashed relay's locks go when the server notices, so a replay may differ a little"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "{}",
        paint.dim(&format!("Replay: {replay}{run}{note}"))
    );
    emit(&out)?;
    Ok(Outcome::Success)
}

/// The findings about order, each stated only when this run's figures bear it out.
fn explain(r: &ordering::OrderingReport) -> Vec<String> {
    let (keyed, unkeyed) = (&r.keyed, &r.unkeyed);
    let partitions = r.partitions;
    let mut lines = Vec::new();
    let mut sentence = if keyed.violations == 0 {
        format!(
            "Keyed by aggregate id, all of an order's events share one partition, one relay and one \
             worker, so all {} arrived in the order they happened{}.",
            keyed.events,
            if partitions > 1 {
                format!(" however the {partitions} partitions interleaved")
            } else {
                String::new()
            }
        )
    } else {
        format!(
            "Keyed by aggregate id, {} still arrived before an earlier event of the same order \
             ({} affected): this is a bug in msgwork, please report it with the replay command \
             below.",
            plural(keyed.violations, "event", "events"),
            plural(keyed.orders_affected, "order", "orders")
        )
    };
    if keyed.crashes + keyed.relay_crashes > 0 {
        sentence.push_str(&format!(
            " {} and {} only repeated what was not yet acknowledged or marked sent",
            plural(keyed.crashes, "worker crash", "worker crashes"),
            plural(keyed.relay_crashes, "relay crash", "relay crashes"),
        ));
        sentence.push_str(&if keyed.duplicates_skipped > 0 {
            format!(
                ", and the sequence number skipped the {} that came again.",
                plural(keyed.duplicates_skipped, "event", "events")
            )
        } else {
            ", and nothing came again this time.".to_string()
        });
    }
    lines.push(sentence);
    lines.push(if unkeyed.violations > 0 {
        format!(
            "Not keyed, an order's events scatter across partitions and a faster partition \
             overtakes a slower one: {} arrived before an earlier event of the same order ({} \
             affected). Shipped before Paid.",
            plural(unkeyed.violations, "event", "events"),
            plural(unkeyed.orders_affected, "order", "orders")
        )
    } else if partitions == 1 {
        "Not keyed, an order's events would scatter across partitions, but with one partition \
         there is nowhere to scatter to and nothing overtook anything; try --partitions 4."
            .to_string()
    } else {
        format!(
            "Not keyed, an order's events scatter across the {partitions} partitions, yet none \
             overtook an earlier one this run; more --orders make it show."
        )
    });
    let lost = keyed.lost + unkeyed.lost;
    if lost > 0 {
        lines.push(format!(
            "{} lost: this is a bug in msgwork, please report it with the replay command below.",
            plural(lost, "event was", "events were")
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::super::shared::testing::assert_replays;
    use super::*;
    use crate::cli::LabCommand;

    #[test]
    fn the_replay_gives_back_every_option_that_changes_the_result() {
        assert_replays(
            "ordering",
            &[
                &["--seed", "3", "--orders", "2000", "--partitions", "4"],
                &["--seed", "3", "--orders", "90", "--partitions", "1"],
                &["--seed", "3", "--db", "postgres://msgwork@db/lab"],
            ],
            |lab| match lab {
                LabCommand::Ordering(args) => options(&args).unwrap(),
                other => panic!("{other:?}"),
            },
            replay,
        );
    }
}
