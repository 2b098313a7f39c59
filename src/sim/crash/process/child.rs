//! One child process of `simulate --crash-mode process`: one incarnation of the order service or a
//! relay replica. It steps against the pipe to its parent, which owns the broker, the crash
//! schedule and the checker, until it is done, its input closes, or the parent kills it.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::{self, BufRead, BufWriter, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use crate::sim::clock::{Clock, EpochClock, SharedClock};
use crate::sim::crash::observer::Detail;
use crate::sim::crash::process::pipes;
use crate::sim::crash::process::wire::{self, Down, Role, Spec, TraceDetail, Up};
use crate::sim::crash::relay::Relay;
use crate::sim::crash::runner::Poll;
use crate::sim::crash::schedule::CrashPoint;
use crate::sim::crash::service::Service;
use crate::sim::crash::world::{Config, Outside};
use crate::sim::error::{SimError, WireError};
use crate::sim::model::{Envelope, Pipeline};
use crate::sim::storage::Location;

/// Runs the actor the parent's first line names. Returns quietly when the parent goes away: an
/// orphan has nothing left to do.
pub fn run<R, W>(mut input: R, output: W) -> Result<(), SimError>
where
    R: BufRead + Send + 'static,
    W: Write,
{
    let mut buf = Vec::new();
    let spec: Spec =
        wire::read_limited(&mut input, &mut buf, wire::MAX_SPEC)?.ok_or(SimError::Invalid(
            "`msgwork __actor` runs one actor for `msgwork simulate --crash-mode process`, which \
             writes its instructions to the actor's input; none came"
                .to_string(),
        ))?;
    let (replies, closed) = pipes::hear::<Down, _>(input);
    let mut actor = match spec.role {
        Role::Service { .. } => Incarnation::Service(Service::reborn(spec.incarnation)),
        Role::Relay { index } => Incarnation::Relay(Relay::reborn(index, spec.incarnation)),
    };
    let pipe = Pipe::new(spec, BufWriter::new(output), replies);
    match step_until_told(&mut actor, &pipe, &closed) {
        Err(SimError::ParentGone) => Ok(()),
        other => other,
    }
}

enum Incarnation {
    Service(Service),
    Relay(Relay),
}

fn step_until_told<W: Write>(
    actor: &mut Incarnation,
    pipe: &Pipe<W>,
    closed: &AtomicBool,
) -> Result<(), SimError> {
    let mut steps = 0u64;
    loop {
        if closed.load(Ordering::Acquire) {
            pipe.send(&Up::Stopped { steps });
            return pipe.flush();
        }
        let poll = match actor {
            Incarnation::Service(service) => service.step_in(pipe)?,
            Incarnation::Relay(relay) => relay.step_in(pipe)?,
        };
        steps += 1;
        pipe.flush()?;
        match poll {
            Poll::Ready => {}
            Poll::Sleep(until) | Poll::Idle(until) | Poll::Crashed(until) => {
                let wait = until.saturating_sub(pipe.now()).max(1);
                std::thread::sleep(Duration::from_millis(wait));
            }
            Poll::Done => {
                pipe.send(&Up::Done { steps });
                return pipe.flush();
            }
        }
    }
}

/// The parent, as the actor sees it: reports go out as lines, questions wait for an answer.
struct Pipe<W: Write> {
    spec: Spec,
    clock: EpochClock,
    /// The same clock, as the databases time leases by it.
    db_clock: SharedClock,
    /// The crash scheduled at each order, among this actor's points.
    crashes: HashMap<u32, CrashPoint>,
    /// The client's next request, for a service: it starts where the parent says.
    next: Cell<u32>,
    out: RefCell<W>,
    /// The first failed write, reported when the step ends.
    failed: RefCell<Option<io::Error>>,
    replies: Receiver<Result<Down, WireError>>,
}

impl<W: Write> Pipe<W> {
    fn new(spec: Spec, out: W, replies: Receiver<Result<Down, WireError>>) -> Self {
        Pipe {
            clock: EpochClock::from_unix_us(spec.epoch_us),
            db_clock: Arc::new(EpochClock::from_unix_us(spec.epoch_us)),
            crashes: spec.crashes.iter().map(|c| (c.order, c.point)).collect(),
            next: Cell::new(match spec.role {
                Role::Service { next } => next,
                Role::Relay { .. } => u32::MAX,
            }),
            spec,
            out: RefCell::new(out),
            failed: RefCell::new(None),
            replies,
        }
    }

    fn send(&self, message: &Up) {
        let written = wire::write(&mut *self.out.borrow_mut(), message);
        if let Err(err) = written {
            self.failed.borrow_mut().get_or_insert(err);
        }
    }

    fn flush(&self) -> Result<(), SimError> {
        let failed = self.failed.borrow_mut().take();
        let result = match failed {
            Some(err) => Err(err),
            None => self.out.borrow_mut().flush(),
        };
        result.map_err(|err| match err.kind() {
            io::ErrorKind::BrokenPipe => SimError::ParentGone,
            _ => SimError::Pipe(WireError::Io(err)),
        })
    }

    fn ask(&self, question: &Up) -> Result<Down, SimError> {
        self.send(question);
        self.flush()?;
        match self.replies.recv() {
            Ok(answer) => Ok(answer?),
            Err(_) => Err(SimError::ParentGone),
        }
    }
}

fn unexpected(question: &str, answer: &Down) -> SimError {
    SimError::Pipe(WireError::Unexpected(format!("{answer:?} to {question}")))
}

impl<W: Write> Outside for Pipe<W> {
    fn config(&self) -> &Config {
        &self.spec.config
    }

    fn pipeline(&self) -> Pipeline {
        self.spec.pipeline
    }

    fn now(&self) -> u64 {
        self.clock.now()
    }

    fn location(&self) -> &Location {
        &self.spec.location
    }

    fn db_clock(&self) -> &SharedClock {
        &self.db_clock
    }

    fn crash_due(&self, point: CrashPoint, order: u32) -> bool {
        self.crashes.get(&order) == Some(&point)
    }

    fn crash_here(&self, _actor: &str, point: CrashPoint, order: u32) -> Result<bool, SimError> {
        if !self.crash_due(point, order) {
            return Ok(false);
        }
        // Where the crash strikes, the parent never answers: it kills this process.
        match self.ask(&Up::CrashPoint { point, order })? {
            Down::Live => Ok(false),
            other => Err(unexpected("a crash point", &other)),
        }
    }

    fn next_request(&self) -> Option<u32> {
        let next = self.next.get();
        self.next.set(next + 1);
        (next <= self.spec.config.orders).then_some(next)
    }

    fn publish(&self, _actor: &str, event: Envelope, order: Option<u32>) -> Result<(), SimError> {
        self.send(&Up::Publish { event, order });
        Ok(())
    }

    fn pass_started(&self, _actor: &str, rows: &[i64], lease_until: u64) -> Result<u64, SimError> {
        match self.ask(&Up::PassStarted {
            rows: rows.to_vec(),
            lease_until,
        })? {
            Down::Pass { id } => Ok(id),
            other => Err(unexpected("a claim", &other)),
        }
    }

    fn pass_ended(&self, pass: u64) {
        self.send(&Up::PassEnded { pass });
    }

    fn marked(&self, _actor: &str, pass: u64, marked: usize, fenced: usize) {
        self.send(&Up::Marked {
            pass,
            marked,
            fenced,
        });
    }

    fn trace(&self, _actor: &str, step: &str, detail: Detail<'_>) {
        if self.spec.trace {
            self.send(&Up::Trace {
                step: step.to_string(),
                detail: TraceDetail::owned(&detail),
            });
        }
    }

    fn order_handled(&self) {
        self.send(&Up::OrderHandled);
    }
}
