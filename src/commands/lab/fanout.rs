//! `msgwork lab fanout`: queue versus topic.

use std::fmt::Write as _;

use anyhow::Result;

use super::shared::{Request, record, within};
use crate::Outcome;
use crate::broker::BrokerUrl;
use crate::cli::FanoutArgs;
use crate::commands::context::{Context, emit};
use crate::commands::replay::Replay;
use crate::sim::lab::fanout;

const SERVICES: [&str; 3] = ["billing", "inventory", "email"];

/// The checked options: the seed drawn if it was left out.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
struct FanoutOptions {
    #[serde(skip)]
    seed: u64,
    orders: u32,
    instances: u32,
    /// The broker, checked; recorded only in its printable form.
    #[serde(skip)]
    broker: Option<BrokerUrl>,
    #[serde(rename = "broker")]
    broker_shown: Option<String>,
    keep_streams: bool,
}

fn options(args: &FanoutArgs) -> Result<FanoutOptions> {
    // Every delivery is kept to count, about 2 KB an order: a million took 2 GB.
    within("--orders", args.orders, 1, 100_000)?;
    let broker = args.broker.as_deref().map(BrokerUrl::parse).transpose()?;
    // On a broker every instance is a thread with its own connection.
    let most = if broker.is_some() { 16 } else { 64 };
    within("--instances", args.instances, 1, most)?;
    Ok(FanoutOptions {
        seed: args.seed.unwrap_or_else(crate::sim::model::random_seed),
        orders: args.orders,
        instances: args.instances,
        broker_shown: broker.as_ref().map(ToString::to_string),
        broker,
        keep_streams: args.keep_streams,
    })
}

/// The command that replays the run: every option, since each one changes the result.
fn replay(o: &FanoutOptions) -> Replay {
    let mut replay = Replay::new(&["lab", "fanout"]);
    replay
        .option("--seed", o.seed)
        .option("--orders", o.orders)
        .option("--instances", o.instances);
    if let Some(url) = &o.broker_shown {
        replay.option("--broker", url);
    }
    if o.keep_streams {
        replay.flag("--keep-streams");
    }
    replay
}

pub(super) fn fanout_lab(args: &FanoutArgs, ctx: &Context) -> Result<Outcome> {
    let o = options(args)?;
    let replay = replay(&o);
    let recorder = ctx.recorder()?;
    let (seed, orders) = (o.seed, o.orders);
    let result = match &o.broker {
        Some(url) => {
            fanout::run_on_broker(url, seed, orders, &SERVICES, o.instances, o.keep_streams)?
        }
        None => fanout::run(seed, orders, &SERVICES, o.instances),
    };
    let request = Request {
        seed,
        options: &o,
        replay: &replay,
    };
    let Some(run) = record(&recorder, "lab-fanout", &request, &result, args.json)? else {
        return Ok(Outcome::Success);
    };
    let paint = ctx.paint;
    let mut out = format!(
        "{}  seed {seed} · {orders} OrderPlaced events · 3 services\n\n",
        paint.bold("msgwork lab fanout")
    );
    let mut table = paint.table(&[
        "service",
        "one shared queue: orders seen",
        "missed",
        "topic, own subscription: orders seen",
        "split across its instances",
    ]);
    for (q, t) in result.queue.iter().zip(&result.topic) {
        table.add_row(vec![
            comfy_table::Cell::new(&q.service),
            paint.number(q.orders, crate::ui::Verdict::Plain),
            paint.number(
                q.missed,
                if q.missed == 0 {
                    crate::ui::Verdict::Good
                } else {
                    crate::ui::Verdict::Bad
                },
            ),
            paint.number(
                t.orders,
                if t.missed == 0 {
                    crate::ui::Verdict::Good
                } else {
                    crate::ui::Verdict::Bad
                },
            ),
            comfy_table::Cell::new(
                t.per_instance
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(" + "),
            ),
        ]);
    }
    let _ = writeln!(out, "{table}\n");
    if let Some(url) = &result.broker {
        let kept = if o.keep_streams {
            format!("kept: {}", result.streams.join(", "))
        } else {
            "deleted at the end".to_string()
        };
        let _ = writeln!(
            out,
            "{}\n",
            paint.dim(&format!(
                "On {url}: the queue is a work-queue stream with one durable consumer the services \
                 share; the topic an interest stream with a durable consumer per service. Streams \
                 {kept}."
            ))
        );
    }
    let _ = writeln!(out, "{}", paint.bold("What this shows"));
    for sentence in explain(&result) {
        let _ = writeln!(out, "  • {sentence}");
    }
    let _ = writeln!(
        out,
        "  • Queue for work one worker should do; topic for a fact several services care about. SNS + SQS \
         builds the topic from a queue per subscriber; Kafka from one log with a consumer group per service."
    );
    let _ = writeln!(out, "{}", paint.dim(&format!("Replay: {replay}{run}")));
    emit(&out)?;
    Ok(Outcome::Success)
}

/// The findings, each stated only when this run's figures bear it out.
fn explain(r: &fanout::Fanout) -> Vec<String> {
    let mut lines = Vec::new();
    let split: Vec<String> = r
        .queue
        .iter()
        .map(|s| format!("{} {}", s.service, s.orders))
        .collect();
    let missed: Vec<&fanout::Seen> = r.queue.iter().filter(|s| s.missed > 0).collect();
    let mut queue = format!(
        "On one queue the {} services are competing consumers: each message goes to whichever is \
         free, so they split the {} orders between them ({})",
        r.queue.len(),
        r.orders,
        split.join(", ")
    );
    match r.queue.iter().find(|s| s.service == "billing") {
        Some(billing) if billing.missed > 0 => queue.push_str(&format!(
            ", and billing never charged the {} it did not see",
            billing.missed
        )),
        _ => {}
    }
    queue.push('.');
    if !missed.is_empty() {
        queue.push_str(" This is the 'a queue broadcasts' misconception, made visible.");
    }
    lines.push(queue);

    let short: Vec<String> = r
        .topic
        .iter()
        .filter(|s| s.missed > 0)
        .map(|s| format!("{} missed {}", s.service, s.missed))
        .collect();
    let mut topic = if short.is_empty() {
        format!(
            "With a topic, each service has its own subscription and every one of them saw all {} \
             orders.",
            r.orders
        )
    } else {
        format!(
            "With a topic every service should see every order, yet {}: this is a bug in msgwork, \
             please report it with the replay command below.",
            short.join(", ")
        )
    };
    if r.instances > 1 {
        let shares: Vec<String> = r
            .topic
            .iter()
            .map(|s| {
                s.per_instance
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(" + ")
            })
            .collect();
        topic.push_str(&format!(
            " Inside a subscription, a service's {} instances shared the work ({}): competing \
             consumers again, now where they belong.",
            r.instances,
            shares.join("; ")
        ));
    } else {
        topic.push_str(
            " Each subscription had one instance here; with --instances 2 or more they would share \
             its work as competing consumers.",
        );
    }
    lines.push(topic);
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
            "fanout",
            &[
                &["--seed", "3", "--orders", "3000", "--instances", "2"],
                &["--seed", "3", "--orders", "90", "--instances", "1"],
                &[
                    "--seed",
                    "3",
                    "--orders",
                    "90",
                    "--instances",
                    "16",
                    "--broker",
                    "nats://127.0.0.1:4222",
                    "--keep-streams",
                ],
            ],
            |lab| match lab {
                LabCommand::Fanout(args) => options(&args).unwrap(),
                other => panic!("{other:?}"),
            },
            replay,
        );
    }
}
