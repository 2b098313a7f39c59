//! The crash lab's two pipelines on a real NATS JetStream broker, in real time: the relay
//! publishes with an ack and a `Nats-Msg-Id`, the consumer pulls from a durable consumer and
//! acknowledges after its transaction. Crashes are drawn from the seed: a relay that dies after
//! the broker stored its message but before it marked the row sends it again; a consumer that
//! dies after its commit but before its ack gets the message again after `AckWait`. The report
//! says which duplicates the broker's dedupe window absorbed and which the inbox did, and shows a
//! late duplicate, outside the window, that only the inbox stops. The actors run as threads that
//! reconnect after a crash, or as child processes of msgwork that die by SIGKILL.

pub mod actor;
mod counts;
mod inprocess;
mod plan;
mod process;
pub mod report;
mod wire;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::broker::run::{RunStreams, names as stream_names, run_tag};
use crate::broker::{BrokerUrl, Retention, Session, StreamSpec};
use crate::sim::model::{Envelope, Pipeline, order_ref};
use crate::sim::storage::Db;
use crate::sim::storage::backend::Backend;
use crate::sim::storage::sqlite::sql::Durability;
use counts::Counts;
use plan::Plan;
use report::STALL_LIMIT;
pub use report::{
    ACK_WAIT, BROKER_MUTANTS, BrokeredError, BrokeredOptions, BrokeredPipeline, BrokeredReport,
    DUPLICATE_WINDOW, LateDuplicate, Processes, SCHEMA_VERSION,
};

/// Runs the naive pipeline, then the outbox, each on a stream of its own.
pub fn run(url: &BrokerUrl, options: &BrokeredOptions) -> Result<BrokeredReport, BrokeredError> {
    let session = Session::connect(url)?;
    let tag = run_tag("sim");
    let keep = options.keep_dir.is_some();
    // A scratch directory the Ctrl-C handler removes too, unless the databases are kept.
    let (_scratch, dir) = crate::sim::storage::sqlite::files::lab_dir(options.keep_dir.as_deref())?;
    let dir: &Path = &dir;
    let mut streams = RunStreams::new(&session, keep);
    let naive = run_pipeline(
        url,
        &session,
        &mut streams,
        &tag,
        dir,
        Pipeline::Naive,
        options,
    )?;
    let outbox = run_pipeline(
        url,
        &session,
        &mut streams,
        &tag,
        dir,
        Pipeline::Outbox,
        options,
    )?;
    streams.finish()?;
    Ok(BrokeredReport {
        schema_version: SCHEMA_VERSION,
        seed: options.seed,
        orders: options.orders,
        broker: url.to_string(),
        dedupe: options.dedupe,
        crash_mode: if options.processes {
            "process"
        } else {
            "in-process"
        },
        storage: crate::sim::storage::backend::backend_name(options.db.as_deref()),
        ack_wait_ms: ACK_WAIT.as_millis() as u64,
        duplicate_window_ms: DUPLICATE_WINDOW.as_millis() as u64,
        naive,
        outbox,
        streams_deleted: !keep,
    })
}

fn run_pipeline(
    url: &BrokerUrl,
    session: &Session,
    streams: &mut RunStreams<'_>,
    tag: &str,
    dir: &Path,
    pipeline: Pipeline,
    options: &BrokeredOptions,
) -> Result<BrokeredPipeline, BrokeredError> {
    let name = match pipeline {
        Pipeline::Naive => "naive",
        Pipeline::Outbox => "outbox",
    };
    let (stream, subject) = stream_names(tag, name);
    streams.create(&StreamSpec {
        name: &stream,
        subject: &subject,
        retention: Retention::Limits,
        duplicate_window: DUPLICATE_WINDOW,
    })?;
    session.create_consumer(&stream, "billing", ACK_WAIT)?;
    let backend = match &options.db {
        // The lab crashes its own connections, never the server: commits need not wait for WAL.
        Some(db) => Backend::postgres(db, tag, name, options.keep_dir.is_some())?.lazy_commits(),
        None => Backend::sqlite(dir, &format!("broker-{name}"), Durability::Off),
    };
    // Both pipelines' consumers dedupe here: the broker's redeliveries are the lesson, and the
    // naive run's losses show through them.
    backend.create_with(pipeline == Pipeline::Outbox, true)?;
    let plan = Plan::draw(
        options.seed,
        pipeline,
        options.orders,
        options.crash,
        options.crash_rate,
        options.processes,
    );
    let counts = Counts::default();
    counts.moved();
    let processes = if options.processes {
        let lane = process::Lane {
            url,
            backend: &backend,
            stream: &stream,
            subject: &subject,
            pipeline,
            options,
            plan: &plan,
            counts: &counts,
        };
        Some(process::drive(&lane)?)
    } else {
        inprocess::drive(
            url, &backend, &stream, &subject, pipeline, options, &plan, &counts,
        )?;
        None
    };

    let late = match (pipeline, counts.first_sent()) {
        (Pipeline::Outbox, Some((event, at))) => Some(late_duplicate(
            url,
            &backend,
            &stream,
            &subject,
            &event,
            at,
            options.dedupe,
        )?),
        _ => None,
    };
    let (lost, phantom, double_applied, committed) = check(&backend)?;
    Ok(BrokeredPipeline {
        pipeline,
        orders_committed: committed,
        publishes: Counts::get(&counts.publishes),
        service_crashes: Counts::get(&counts.service_crashes),
        publisher_crashes: Counts::get(&counts.publisher_crashes),
        absorbed_by_broker: Counts::get(&counts.absorbed_by_broker),
        consumer_crashes: Counts::get(&counts.consumer_crashes),
        redelivered: Counts::get(&counts.redelivered),
        absorbed_by_inbox: Counts::get(&counts.absorbed_by_inbox),
        late_duplicate: late,
        lost,
        phantom,
        double_applied,
        stream,
        processes,
    })
}

/// Sends the first event again once the window has passed, and has the consumer take it.
fn late_duplicate(
    url: &BrokerUrl,
    backend: &Backend,
    stream: &str,
    subject: &str,
    event: &Envelope,
    first: Instant,
    dedupe: bool,
) -> Result<LateDuplicate, BrokeredError> {
    let session = Session::connect(url)?;
    let wait = (DUPLICATE_WINDOW + Duration::from_millis(200)).saturating_sub(first.elapsed());
    std::thread::sleep(wait);
    let after_ms = first.elapsed().as_millis() as u64;
    let payload = serde_json::to_vec(event).unwrap_or_default();
    let id = inprocess::msg_id(event, dedupe);
    let ack = session.publish(subject, id, &payload)?;
    let mut db = backend.connect(Db::Billing)?;
    let deadline = Instant::now() + STALL_LIMIT;
    let mut stopped = false;
    let mut seen = false;
    while !seen && !ack.duplicate && Instant::now() < deadline {
        for delivery in session.fetch(stream, "billing", 1, Duration::from_millis(200))? {
            seen = true;
            db.begin()?;
            stopped = !db.inbox_record(&event.event_id, 0)?;
            db.commit()?;
            session.ack(&delivery)?;
        }
    }
    Ok(LateDuplicate {
        event_id: event.event_id.clone(),
        after_ms,
        stored_by_broker: !ack.duplicate,
        stopped_by_inbox: stopped,
    })
}

/// Compares what the service committed with what billing charged.
fn check(backend: &Backend) -> Result<(u64, u64, u64, u64), BrokeredError> {
    let committed: HashMap<String, i64> = backend
        .connect(Db::Service)?
        .committed_orders()?
        .into_iter()
        .map(|(n, amount)| (order_ref(n), amount))
        .collect();
    let charges = backend.connect(Db::Billing)?.charges()?;
    let charged: HashMap<&str, u64> = charges.iter().map(|(id, _, n)| (id.as_str(), *n)).collect();
    let lost = committed
        .keys()
        .filter(|id| !charged.contains_key(id.as_str()))
        .count() as u64;
    let phantom = charged
        .keys()
        .filter(|id| !committed.contains_key(**id))
        .count() as u64;
    let double = charged.values().filter(|n| **n > 1).count() as u64;
    Ok((lost, phantom, double, committed.len() as u64))
}
