//! `bench --baseline --db`: the PostgreSQL backlog drain through msgwork's path beside a minimal
//! loop that sends the same statements with nothing between them, so how close the lab comes to
//! what the server allows is a figure measured in the same run.

use std::sync::mpsc;
use std::time::Instant;

use super::bench::{Measurement, drain};
use crate::sim::error::{PgContext, SimError};
use crate::sim::model::{Envelope, Order, Pipeline};
use crate::sim::storage::postgres::store::{CLAIM_BATCH, MARK_SENT, PgConn, RECORD_AND_CHARGE};
use crate::sim::storage::{Backend, Db, Location};

/// Rows a claim takes, in the minimal loop as in the lab's drain.
const BATCH: i64 = 1000;

/// The drain the issue asks of PostgreSQL on a two-core machine, in events per second.
pub const DRAIN_TARGET: f64 = 50_000.0;

/// The share of the minimal loop's rate the lab's drain must reach.
pub const RATIO_TARGET: f64 = 0.8;

/// Drains a backlog of `rows` through the lab's path and through the minimal loop, alternating,
/// three times each, on schemas of their own dropped afterwards; medians, and their ratio.
pub fn run(url: &str, rows: u32) -> Result<Vec<Measurement>, SimError> {
    let run = format!("bench{}", std::process::id());
    let lab_backend = Backend::postgres(url, &run, "drainlab", false)?;
    let minimal_backend = Backend::postgres(url, &run, "drainmin", false)?;
    let (mut lab, mut minimal) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        minimal.push(minimal_drain(&minimal_backend, rows)?);
        lab.push(drain(&lab_backend, rows)?);
    }
    let (lab, minimal) = (median(lab), median(minimal));
    let what = format!("PostgreSQL: {rows}-row backlog, claim, publish, inbox + charge, mark");
    Ok(vec![
        Measurement::new(
            "postgres_drain_lab",
            format!("{what}: msgwork's path (median of 3)"),
            lab,
            "events/s",
            DRAIN_TARGET,
            false,
        ),
        Measurement::new(
            "postgres_drain_minimal",
            format!("{what}: the same SQL in a minimal loop (median of 3)"),
            minimal,
            "events/s",
            f64::NEG_INFINITY,
            false,
        ),
        Measurement::new(
            "postgres_drain_ratio",
            "PostgreSQL drain: msgwork ÷ minimal loop, in one run".to_string(),
            lab / minimal,
            "×",
            RATIO_TARGET,
            false,
        ),
    ])
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// What the consumer reads from a payload.
#[derive(serde::Deserialize)]
struct Billable<'a> {
    #[serde(borrow)]
    order_id: std::borrow::Cow<'a, str>,
    amount_cents: i64,
}

/// The minimal drain: one thread claims a batch, hands its event ids and payloads over a channel,
/// marks it sent and commits; another reads each payload and applies the batch with the
/// consumer's one statement, a transaction per batch. The lab's statements and connection
/// settings, prepared once, and nothing else: no actors, no broker, no observer.
fn minimal_drain(backend: &Backend, rows: u32) -> Result<f64, SimError> {
    backend.create(true)?;
    let Location::Postgres {
        url,
        service,
        billing,
        synchronous_commit,
        ..
    } = backend.location()
    else {
        return Err(SimError::Internal(
            "a PostgreSQL backend without its schemas",
        ));
    };
    let mut fill = backend.connect(Db::Service)?;
    fill.begin()?;
    for n in 1..=rows {
        let order = Order::generate(9, n);
        fill.insert_outbox(&Envelope::order_placed(9, Pipeline::Outbox, &order, 0), 0)?;
    }
    fill.commit()?;
    drop(fill);
    let mut outbox = PgConn::open_with(url, service, *synchronous_commit)?;
    let mut inbox = PgConn::open_with(url, billing, *synchronous_commit)?;
    // Unbounded, as the broker is: the relay never waits for the consumer.
    let (send, receive) = mpsc::channel::<Vec<(String, String)>>();
    let started = Instant::now();
    let (relayed, applied) = std::thread::scope(|scope| {
        let relay = scope.spawn(move || -> Result<(), postgres::Error> {
            let client = outbox.client();
            let claim = client.prepare(CLAIM_BATCH)?;
            let mark = client.prepare(MARK_SENT)?;
            loop {
                client.batch_execute("BEGIN")?;
                let claimed = client.query(&claim, &[&BATCH])?;
                if claimed.is_empty() {
                    client.batch_execute("COMMIT")?;
                    return Ok(());
                }
                let ids: Vec<i64> = claimed.iter().map(|r| r.get(0)).collect();
                let events = claimed.iter().map(|r| (r.get(1), r.get(5))).collect();
                if send.send(events).is_err() {
                    return Ok(());
                }
                client.execute(&mark, &[&2i64, &ids])?;
                client.batch_execute("COMMIT")?;
            }
        });
        let consumed = (|| -> Result<u64, SimError> {
            let client = inbox.client();
            let apply = client
                .prepare(RECORD_AND_CHARGE)
                .pg("preparing the consumer's statement")?;
            let mut applied = 0u64;
            for events in receive.iter() {
                let billables = events
                    .iter()
                    .map(|(event_id, payload)| {
                        serde_json::from_str::<Billable<'_>>(payload).map_err(|err| {
                            SimError::Payload {
                                event_id: event_id.clone(),
                                err,
                            }
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let ids: Vec<&str> = events.iter().map(|(id, _)| id.as_str()).collect();
                let orders: Vec<&str> = billables.iter().map(|b| &*b.order_id).collect();
                let amounts: Vec<i64> = billables.iter().map(|b| b.amount_cents).collect();
                let result = client.batch_execute("BEGIN").and_then(|()| {
                    let charged = client.query(&apply, &[&ids, &orders, &amounts, &1i64])?;
                    client.batch_execute("COMMIT")?;
                    Ok(charged.len() as u64)
                });
                applied += result.pg("applying in the minimal drain")?;
            }
            Ok(applied)
        })();
        let relayed = relay
            .join()
            .map_err(|_| SimError::Internal("the minimal relay thread panicked"))
            .and_then(|r| Ok(r.pg("relaying in the minimal drain")?));
        (relayed, consumed)
    });
    relayed?;
    let applied = applied?;
    let elapsed = started.elapsed().as_secs_f64();
    if applied != u64::from(rows) {
        return Err(SimError::Internal(
            "the minimal drain did not apply every event once",
        ));
    }
    Ok(f64::from(rows) / elapsed)
}
