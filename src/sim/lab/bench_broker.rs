//! `msgwork bench --broker`: what a real broker costs beside the in-process one, in the same run.
//! Publish with an ack one at a time and pipelined, and the end-to-end drain (publish, fetch, ack)
//! on NATS JetStream, with the in-process broker's drain of the same messages as the baseline.

use std::time::{Duration, Instant};

use super::bench::Measurement;
use crate::broker::run::{RunStreams, names as stream_names, run_tag};
use crate::broker::{BrokerError, BrokerUrl, Retention, Session, StreamSpec};
use crate::sim::broker::Broker;
use crate::sim::model::{Envelope, Order, Pipeline};

/// How long a drain may go without a delivery before the broker counts as stalled.
const STALL_LIMIT: Duration = Duration::from_secs(20);

/// No target: these figures compare two brokers, they do not pass or fail.
fn figure(name: &'static str, description: String, value: f64, unit: &'static str) -> Measurement {
    Measurement::new(name, description, value, unit, f64::NEG_INFINITY, false)
}

/// Measures `messages` events through the broker at `url`, on streams deleted afterwards.
pub fn run(
    url: &BrokerUrl,
    messages: u32,
    step: &dyn Fn(&str),
) -> Result<Vec<Measurement>, BrokerError> {
    let session = Session::connect(url)?;
    let tag = run_tag("bench");
    let mut streams = RunStreams::new(&session, false);
    let envelopes: Vec<Envelope> = (1..=messages)
        .map(|n| Envelope::order_placed(1, Pipeline::Outbox, &Order::generate(1, n), 0))
        .collect();
    let events: Vec<(String, Vec<u8>)> = envelopes
        .iter()
        .map(|e| {
            (
                e.event_id.clone(),
                serde_json::to_vec(e).unwrap_or_default(),
            )
        })
        .collect();
    let mut out = Vec::new();

    step("broker: publish with an ack, one at a time");
    let (stream, subject) = stream_names(&tag, "single");
    streams.create(&spec(&stream, &subject))?;
    let started = Instant::now();
    for (id, payload) in &events {
        session.publish(&subject, Some(id), payload)?;
    }
    let single = f64::from(messages) / started.elapsed().as_secs_f64();
    out.push(figure(
        "broker_publish_ack_per_s",
        format!("NATS JetStream: publish, wait for the ack, next ({messages} messages)"),
        single,
        "msg/s",
    ));

    step("broker: publish with acks pipelined");
    let (stream, subject) = stream_names(&tag, "drain");
    streams.create(&spec(&stream, &subject))?;
    session.create_consumer(&stream, "bench", Duration::from_secs(30))?;
    let started = Instant::now();
    session.publish_many(
        &subject,
        events
            .iter()
            .map(|(id, p)| (Some(id.as_str()), p.as_slice())),
    )?;
    let published = started.elapsed();
    let pipelined = f64::from(messages) / published.as_secs_f64();
    out.push(figure(
        "broker_publish_pipelined_per_s",
        format!("NATS JetStream: publish all, then wait for every ack ({messages} messages)"),
        pipelined,
        "msg/s",
    ));
    out.push(figure(
        "broker_pipelining_ratio",
        "pipelined ÷ one-at-a-time publish rate, same run".to_string(),
        pipelined / single,
        "×",
    ));

    step("broker: end-to-end drain, fetch and ack each");
    let mut drained = 0u32;
    let mut last = Instant::now();
    while drained < messages {
        let batch = session.fetch(&stream, "bench", 100, Duration::from_millis(200))?;
        if batch.is_empty() && last.elapsed() > STALL_LIMIT {
            return Err(BrokerError::Stalled {
                url: url.to_string(),
                missing: u64::from(messages - drained),
                waited_secs: STALL_LIMIT.as_secs(),
            });
        }
        for delivery in batch {
            session.ack(&delivery)?;
            drained += 1;
            last = Instant::now();
        }
    }
    let end_to_end = f64::from(messages) / started.elapsed().as_secs_f64();
    out.push(figure(
        "broker_drain_per_s",
        format!(
            "NATS JetStream end to end: publish pipelined, fetch, ack each ({messages} messages)"
        ),
        end_to_end,
        "msg/s",
    ));

    step("in-process broker: the same drain");
    let started = Instant::now();
    let local = Broker::new();
    for e in &envelopes {
        local.publish(e.clone());
    }
    let mut left = messages as usize;
    while left > 0 {
        let batch = local.fetch(100);
        let Some(last) = batch.last() else { break };
        local.ack(last.offset + 1);
        left = left.saturating_sub(batch.len());
    }
    let in_process = f64::from(messages) / started.elapsed().as_secs_f64();
    out.push(figure(
        "inprocess_drain_per_s",
        format!("in-process broker end to end: publish, fetch, ack ({messages} messages)"),
        in_process,
        "msg/s",
    ));
    out.push(figure(
        "broker_drain_ratio",
        "in-process ÷ NATS JetStream end-to-end rate, same run".to_string(),
        in_process / end_to_end,
        "×",
    ));
    streams.finish()?;
    Ok(out)
}

fn spec<'a>(name: &'a str, subject: &'a str) -> StreamSpec<'a> {
    StreamSpec {
        name,
        subject,
        retention: Retention::Limits,
        duplicate_window: Duration::from_secs(120),
    }
}
