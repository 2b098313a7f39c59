//! One child process of `simulate --broker --crash-mode process`: the order service, the relay or
//! the consumer, with its own connections to the broker and the lab's database. It reports each
//! publish, commit and ack to its parent, and at a crash point it waits for the SIGKILL that ends
//! it. It stops when its input closes, which is also how it outlives neither its run nor a parent
//! that was killed.

use std::cell::RefCell;
use std::collections::HashSet;
use std::io::{self, BufRead, BufWriter, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use super::inprocess::{billable, msg_id};
use super::report::{BATCH, BrokeredError};
use super::wire::{Bug, Crash, Down, Point, Role, Spec, Up};
use crate::broker::{BrokerUrl, Session};
use crate::sim::clock::{EpochClock, SharedClock};
use crate::sim::crash::process::pipes;
use crate::sim::crash::process::wire;
use crate::sim::error::{SimError, WireError};
use crate::sim::model::{Envelope, Order, Pipeline};
use crate::sim::storage::{Db, Storage};

/// How long an idle relay waits before it reads the outbox again.
const RELAY_IDLE: Duration = Duration::from_millis(5);
/// How long a consumer's fetch waits for the first message.
const FETCH_WAIT: Duration = Duration::from_millis(200);

/// Runs the actor the parent's first line names, until it is done, its input closes, or the
/// parent kills it. Returns quietly when the parent has gone: an orphan has nothing left to do.
pub fn run<R, W>(mut input: R, output: W) -> Result<(), BrokeredError>
where
    R: BufRead + Send + 'static,
    W: Write,
{
    let mut buf = Vec::new();
    let spec: Spec = wire::read_limited(&mut input, &mut buf, wire::MAX_SPEC)
        .map_err(SimError::from)?
        .ok_or_else(|| {
            SimError::Invalid(
                "`msgwork __broker-actor` runs one actor of `msgwork simulate --broker \
                 --crash-mode process`, which writes its instructions to the actor's input; none \
                 came"
                    .to_string(),
            )
        })?;
    let (replies, closed) = pipes::hear::<Down, _>(input);
    let pipe = Pipe {
        out: RefCell::new(BufWriter::new(output)),
        closed,
        replies,
        crashes: spec.crashes.iter().copied().collect(),
    };
    let result = match spec.role {
        Role::Service => service(&spec, &pipe),
        Role::Relay => relay(&spec, &pipe),
        Role::Consumer => consumer(&spec, &pipe),
    };
    match result {
        Err(BrokeredError::Sim(SimError::ParentGone)) => Ok(()),
        other => other,
    }
}

/// The parent, as the actor sees it.
struct Pipe<W: Write> {
    out: RefCell<W>,
    closed: Arc<AtomicBool>,
    replies: Receiver<Result<Down, WireError>>,
    crashes: HashSet<Crash>,
}

impl<W: Write> Pipe<W> {
    fn send(&self, up: &Up) -> Result<(), BrokeredError> {
        let mut out = self.out.borrow_mut();
        wire::write(&mut *out, up)
            .and_then(|()| out.flush())
            .map_err(|err| match err.kind() {
                io::ErrorKind::BrokenPipe => SimError::ParentGone,
                _ => SimError::Pipe(WireError::Io(err)),
            })?;
        Ok(())
    }

    /// The parent closed this actor's input: time to stop.
    fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// At a crash planned here the actor says so and waits; the parent kills it.
    /// Whether the parent will kill this actor at `point` for `order`.
    fn strikes(&self, point: Point, order: u32) -> bool {
        self.crashes.contains(&Crash { point, order })
    }

    fn crash_point(&self, point: Point, order: u32) -> Result<(), BrokeredError> {
        if !self.strikes(point, order) {
            return Ok(());
        }
        let crash = Crash { point, order };
        self.send(&Up::Crash(crash))?;
        match self.replies.recv() {
            Ok(Ok(Down::Live)) => Ok(()),
            Ok(Err(err)) => Err(SimError::Pipe(err).into()),
            Err(_) => Err(SimError::ParentGone.into()),
        }
    }

    fn stopped(&self) -> Result<(), BrokeredError> {
        self.send(&Up::Stopped)
    }
}

fn broker(spec: &Spec) -> Result<Session, BrokeredError> {
    Ok(Session::connect(&BrokerUrl::parse(&spec.broker)?)?)
}

fn database(spec: &Spec, db: Db) -> Result<Box<dyn Storage>, BrokeredError> {
    let clock: SharedClock = Arc::new(EpochClock::start());
    Ok(spec.location.connect(db, &clock)?)
}

fn publish<W: Write>(
    session: &Session,
    spec: &Spec,
    event: Envelope,
    pipe: &Pipe<W>,
) -> Result<(), BrokeredError> {
    let payload = serde_json::to_vec(&event).unwrap_or_default();
    let ack = session.publish(&spec.subject, msg_id(&event, spec.dedupe), &payload)?;
    pipe.send(&Up::Published {
        event,
        duplicate: ack.duplicate,
    })
}

/// Places orders from `spec.next` on: the order and, on the outbox pipeline, its event in one
/// transaction; the naive service publishes after its commit.
fn service<W: Write>(spec: &Spec, pipe: &Pipe<W>) -> Result<(), BrokeredError> {
    let naive = spec.pipeline == Pipeline::Naive;
    let session = if naive { Some(broker(spec)?) } else { None };
    let mut db = database(spec, Db::Service)?;
    for n in spec.next..=spec.orders {
        if pipe.closed() {
            return pipe.stopped();
        }
        let order = Order::generate(spec.seed, n);
        let event = Envelope::order_placed(spec.seed, spec.pipeline, &order, u64::from(n));
        db.begin()?;
        db.insert_order(&order, u64::from(n))?;
        if !naive {
            db.insert_outbox(&event, u64::from(n))?;
        }
        if pipe.strikes(Point::ServiceMidTransaction, n) {
            // The transaction reaches the database before the kill, so it dies open there.
            db.open_on_server()?;
        }
        pipe.crash_point(Point::ServiceMidTransaction, n)?;
        db.commit()?;
        if let Some(session) = &session {
            pipe.crash_point(Point::ServiceAfterCommit, n)?;
            publish(session, spec, event, pipe)?;
        }
    }
    pipe.send(&Up::Done)
}

/// Publishes unsent rows with an ack, then marks them sent; with [`Bug::MarkBeforePublish`] it
/// marks them first.
fn relay<W: Write>(spec: &Spec, pipe: &Pipe<W>) -> Result<(), BrokeredError> {
    let session = broker(spec)?;
    let mut db = database(spec, Db::Service)?;
    let mark_first = spec.bug == Bug::MarkBeforePublish;
    loop {
        if pipe.closed() {
            return pipe.stopped();
        }
        let rows = db.select_unsent(BATCH)?;
        if rows.is_empty() {
            std::thread::sleep(RELAY_IDLE);
            continue;
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        if mark_first {
            db.mark_sent(&ids, 0)?;
        }
        for row in rows {
            let order = row.event.order_number().unwrap_or_default();
            if mark_first {
                pipe.crash_point(Point::RelayBeforePublish, order)?;
            }
            publish(&session, spec, row.event, pipe)?;
            if !mark_first {
                pipe.crash_point(Point::RelayAfterPublish, order)?;
            }
        }
        if !mark_first {
            db.mark_sent(&ids, 0)?;
        }
    }
}

/// Pulls, applies each event in a transaction with its inbox row, and acks after the commit;
/// with [`Bug::AckBeforeCommit`] it acks first, and with [`Bug::MemoryDedupe`] it remembers event
/// ids in memory, which die with the process.
fn consumer<W: Write>(spec: &Spec, pipe: &Pipe<W>) -> Result<(), BrokeredError> {
    let session = broker(spec)?;
    let mut db = database(spec, Db::Billing)?;
    let mut seen: HashSet<String> = HashSet::new();
    let ack_first = spec.bug == Bug::AckBeforeCommit;
    loop {
        if pipe.closed() {
            return pipe.stopped();
        }
        for delivery in session.fetch(&spec.stream, "billing", BATCH as usize, FETCH_WAIT)? {
            let (event, payload) = billable(&delivery)?;
            let order = event.order_number().unwrap_or_default();
            let acked = Up::Acked {
                sequence: delivery.stream_sequence,
            };
            if ack_first {
                session.ack(&delivery)?;
                pipe.send(&acked)?;
                pipe.crash_point(Point::ConsumerAfterAck, order)?;
            }
            db.begin()?;
            let first = match spec.bug {
                Bug::MemoryDedupe => seen.insert(event.event_id.clone()),
                _ => db.inbox_record(&event.event_id, 0)?,
            };
            if first {
                db.insert_charge(&payload.order_id, payload.amount_cents, &event.event_id, 0)?;
            }
            db.commit()?;
            pipe.send(&Up::Applied {
                redelivered: delivery.delivered > 1,
                absorbed: !first,
            })?;
            if !ack_first {
                pipe.crash_point(Point::ConsumerAfterCommit, order)?;
                session.ack(&delivery)?;
                pipe.send(&acked)?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_on(input: &'static [u8]) -> String {
        let mut out = Vec::new();
        match run(input, &mut out) {
            Ok(()) => panic!("the actor ran on {input:?}"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn an_actor_without_instructions_says_who_starts_it() {
        let err = run_on(b"");
        assert!(err.contains("--crash-mode process"), "{err}");
    }

    #[test]
    fn instructions_that_are_not_the_protocol_are_an_error_quoting_them() {
        let err = run_on(b"{\"role\":\"juggler\"}\n");
        assert!(err.contains("juggler"), "{err}");
        let err = run_on(b"{\"role\":\"relay\"");
        assert!(err.contains("role"), "{err}");
    }

    /// An idle relay says nothing to its parent, so only its closed input can stop it: that is
    /// how it outlives neither its run nor a parent killed outright.
    #[test]
    fn an_idle_relay_stops_when_its_input_closes() {
        let Ok(broker) = std::env::var("MSGWORK_TEST_BROKER") else {
            eprintln!("skipped: no NATS server; `eval \"$(bash .ci/nats)\"` sets one");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let backend = crate::sim::storage::Backend::sqlite(
            dir.path(),
            "idle",
            crate::sim::storage::sqlite::sql::Durability::Off,
        );
        backend.create_with(true, true).unwrap();
        let spec = Spec {
            role: Role::Relay,
            pipeline: Pipeline::Outbox,
            seed: 1,
            orders: 3,
            next: 1,
            location: backend.location().clone(),
            broker,
            stream: "unused".to_string(),
            subject: "msgwork.idle.unused".to_string(),
            dedupe: true,
            bug: Bug::None,
            crashes: Vec::new(),
        };
        let mut input = Vec::new();
        wire::write(&mut input, &spec).unwrap();
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut out = Vec::new();
            let result = run(io::Cursor::new(input), &mut out);
            let _ = done.send((result.map_err(|e| e.to_string()), out));
        });
        let (result, out) = finished
            .recv_timeout(Duration::from_secs(20))
            .expect("the relay kept running after its input closed");
        result.unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "\"stopped\"\n");
    }
}
