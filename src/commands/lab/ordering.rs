//! `msgwork lab ordering`: per-aggregate order across partitions.

use std::fmt::Write as _;

use anyhow::Result;
use serde_json::json;

use super::shared::{Request, record, within};
use crate::Outcome;
use crate::cli::{HandlingArg, OrderingArgs};
use crate::commands::context::{Context, emit};
use crate::commands::replay::Replay;
use crate::sim::lab::ordering::{self, Handling};
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
        handling: match args.handling {
            HandlingArg::Skip => Handling::Skip,
            HandlingArg::Park => Handling::Park,
            HandlingArg::Newest => Handling::Newest,
        },
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
        .option("--partitions", o.partitions)
        .option("--handling", o.handling.name());
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
    let recorded = json!({
        "orders": orders,
        "partitions": partitions,
        "handling": options.handling.name(),
        "backend": r.backend,
    });
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
        "{}  {backend} · seed {seed} · {orders} orders × 4 events · {partitions} partitions, a relay and a worker each\n{}\n\n",
        paint.bold("msgwork lab ordering"),
        handling_line(options.handling)
    );
    let mut table = paint.table(&["", "keyed by aggregate id", "not keyed"]);
    let rows = rows(options.handling);
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

/// What this run's events carry and how its workers treat an early one, in a line.
fn handling_line(handling: Handling) -> &'static str {
    match handling {
        Handling::Skip => {
            "Change events; a worker applies one if it is newer than the last applied and skips it otherwise (--handling skip)"
        }
        Handling::Park => {
            "Change events; a worker parks one that arrives early and retries it once its predecessor is applied (--handling park)"
        }
        Handling::Newest => {
            "Full-state events; a worker applies the newest version and drops older ones (--handling newest)"
        }
    }
}

/// The table's rows for a handling: only the counts it can make.
fn rows(handling: Handling) -> Vec<OrderingRow> {
    let mut rows: Vec<OrderingRow> = vec![
        ("events", |r| r.events, false),
        ("arrived before an earlier event", |r| r.violations, false),
    ];
    match handling {
        Handling::Skip => rows.extend([
            (
                "applied out of order",
                (|r: &ordering::OrderingRun| r.applied_out_of_order) as fn(&_) -> u64,
                true,
            ),
            (
                "discarded as late, never applied",
                |r| r.late_discarded,
                true,
            ),
            ("orders affected", |r| r.orders_affected, true),
        ]),
        Handling::Park => rows.push(("parked and retried", |r| r.parked, false)),
        Handling::Newest => rows.push(("older states dropped", |r| r.superseded, false)),
    }
    rows.extend([
        (
            "redeliveries skipped",
            (|r: &ordering::OrderingRun| r.redeliveries_skipped) as fn(&_) -> u64,
            false,
        ),
        ("worker crashes (redelivered)", |r| r.crashes, false),
        ("relay crashes", |r| r.relay_crashes, false),
        ("events lost in transit", |r| r.lost, true),
        ("orders wrong at the end", |r| r.orders_wrong_at_end, true),
    ]);
    rows
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
            "Keyed by aggregate id, {} still arrived before an earlier event of the same order: \
             this is a bug in msgwork, please report it with the replay command below.",
            plural(keyed.violations, "event", "events"),
        )
    };
    if keyed.crashes + keyed.relay_crashes > 0 {
        sentence.push_str(&format!(
            " {} and {} only repeated what was not yet acknowledged or marked sent",
            plural(keyed.crashes, "worker crash", "worker crashes"),
            plural(keyed.relay_crashes, "relay crash", "relay crashes"),
        ));
        sentence.push_str(&if keyed.redeliveries_skipped > 0 {
            format!(
                ", and the sequence number skipped the {} that came again.",
                plural(keyed.redeliveries_skipped, "redelivery", "redeliveries")
            )
        } else {
            ", and nothing came again this time.".to_string()
        });
    }
    lines.push(sentence);
    if unkeyed.violations == 0 {
        lines.push(if partitions == 1 {
            "Not keyed, an order's events would scatter across partitions, but with one partition \
             there is nowhere to scatter to and nothing overtook anything; try --partitions 4."
                .to_string()
        } else {
            format!(
                "Not keyed, an order's events scatter across the {partitions} partitions, yet none \
                 overtook an earlier one this run; more --orders make it show."
            )
        });
    } else {
        let early = format!(
            "Not keyed, an order's events scatter across partitions and a faster partition \
             overtakes a slower one: {} arrived before an earlier event of the same order.",
            plural(unkeyed.violations, "event", "events"),
        );
        lines.push(match r.handling {
            Handling::Skip => skipped(unkeyed, &early),
            Handling::Park => format!(
                "{early} The worker parked each early event at the back of its queue and retried \
                 it once the one before it was applied ({}), so {}. The price is the wait, and an \
                 event whose predecessor never comes needs a time limit and an alert.",
                plural(unkeyed.parked, "park", "parks"),
                if unkeyed.orders_wrong_at_end + unkeyed.applied_out_of_order == 0 {
                    "every change was applied, in order, and no order ended wrong".to_string()
                } else {
                    format!(
                        "yet {} ended wrong: this is a bug in msgwork, please report it with the \
                         replay command below",
                        plural(unkeyed.orders_wrong_at_end, "order", "orders")
                    )
                }
            ),
            Handling::Newest => format!(
                "{early} Each event carries the order's whole state, so the worker applied the \
                 newest version it had seen and dropped {} that came after a newer one; {}. This \
                 holds only because every event carries the whole state.",
                plural(unkeyed.superseded, "older state", "older states"),
                if unkeyed.orders_wrong_at_end == 0 {
                    "nothing was lost by dropping them, since the newer state includes the older \
                     change, and every order ended in its last state"
                        .to_string()
                } else {
                    format!(
                        "yet {} did not end in its last state: this is a bug in msgwork, please \
                         report it with the replay command below",
                        plural(unkeyed.orders_wrong_at_end, "order", "orders")
                    )
                }
            ),
        });
    }
    let lost = keyed.lost + unkeyed.lost;
    if lost > 0 {
        lines.push(format!(
            "{} lost: this is a bug in msgwork, please report it with the replay command below.",
            plural(lost, "event was", "events were")
        ));
    }
    lines
}

/// What skipping by sequence number did to change events that arrived out of order.
fn skipped(unkeyed: &ordering::OrderingRun, early: &str) -> String {
    let mut s = format!(
        "{early} Applying whatever is newer than the last sequence number applied {} out of \
         order (Shipped before Paid)",
        plural(unkeyed.applied_out_of_order, "event", "events"),
    );
    if unkeyed.late_discarded > 0 {
        s.push_str(&format!(
            ", and the {} they overtook then arrived at or below that number and {} discarded \
             as if redelivered, never applied: {} ended missing a change, though no event was \
             lost in transit",
            plural(unkeyed.late_discarded, "event", "events"),
            if unkeyed.late_discarded == 1 {
                "was"
            } else {
                "were"
            },
            plural(unkeyed.orders_wrong_at_end, "order", "orders"),
        ));
    }
    s.push_str(
        ". Skipping by sequence number is safe only for redeliveries, or for events that each \
         carry the whole state; every change event must be applied. Try --handling park, which \
         parks an early event and retries it, or --handling newest, with full-state events.",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::super::shared::testing::assert_replays;
    use super::*;
    use crate::cli::LabCommand;

    fn report(handling: Handling) -> ordering::OrderingReport {
        let options = ordering::OrderingOptions {
            seed: 4,
            orders: 300,
            partitions: 4,
            handling,
            db: None,
        };
        ordering::run(&options, &crate::sim::progress::NoProgress).unwrap()
    }

    #[test]
    fn skipping_by_sequence_reports_out_of_order_and_late_discards_apart() {
        let r = report(Handling::Skip);
        let said = explain(&r).join(" ");
        let u = &r.unkeyed;
        assert!(
            said.contains(&format!(
                "{} out of order",
                plural(u.applied_out_of_order, "event", "events")
            )),
            "{said}"
        );
        assert!(
            said.contains(&format!(
                "the {} they overtook",
                plural(u.late_discarded, "event", "events")
            )),
            "{said}"
        );
        assert!(said.contains("never applied"), "{said}");
        assert!(said.contains("safe only for redeliveries"), "{said}");
        let labels: Vec<&str> = rows(Handling::Skip).iter().map(|r| r.0).collect();
        assert!(labels.contains(&"applied out of order"));
        assert!(labels.contains(&"discarded as late, never applied"));
        assert!(!labels.iter().any(|l| l.contains("skipped by sequence")));
    }

    #[test]
    fn parking_and_newest_state_say_what_they_did_with_early_events() {
        let r = report(Handling::Park);
        let said = explain(&r).join(" ");
        assert!(
            said.contains(&plural(r.unkeyed.parked, "park", "parks")),
            "{said}"
        );
        assert!(
            said.contains("every change was applied, in order"),
            "{said}"
        );
        assert!(
            rows(Handling::Park)
                .iter()
                .any(|r| r.0 == "parked and retried")
        );
        let r = report(Handling::Newest);
        let said = explain(&r).join(" ");
        assert!(
            said.contains(&plural(r.unkeyed.superseded, "older state", "older states")),
            "{said}"
        );
        assert!(
            said.contains("every order ended in its last state"),
            "{said}"
        );
        assert!(!said.contains("never applied"), "{said}");
    }

    #[test]
    fn the_replay_gives_back_every_option_that_changes_the_result() {
        assert_replays(
            "ordering",
            &[
                &[
                    "--seed",
                    "3",
                    "--orders",
                    "2000",
                    "--partitions",
                    "4",
                    "--handling",
                    "skip",
                ],
                &["--seed", "3", "--orders", "90", "--partitions", "1"],
                &["--seed", "3", "--handling", "park"],
                &["--seed", "3", "--handling", "newest"],
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
