//! One verify run: msgwork starts the learner's service, relays and consumer, plays the client and
//! the broker to them, kills them where the schedule says, and keeps the trace the checker and the
//! report read. One thread decides everything; each process has a thread that only listens.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use crate::verify::broker::Broker;
use crate::verify::child::{Heard, Proc, Tail};
use crate::verify::error::VerifyError;
use crate::verify::schedule::{Point, Schedule, Strike};
use crate::verify::trace::{Trace, What};
use crate::verify::wire::{self, Event, PublishAnswer, Request, Role, Up};

/// What a run needs.
#[derive(Clone, Debug)]
pub struct Setup {
    pub command: Vec<OsString>,
    pub orders: u32,
    pub relays: u32,
    /// How long a process may take to answer one request.
    pub timeout: Duration,
    pub schedule: Schedule,
    pub service_db: PathBuf,
    pub consumer_db: PathBuf,
}

/// An event two live relays both published.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Overlap {
    pub event_id: String,
    pub order: u32,
    pub first: String,
    pub second: String,
}

/// Why a run ended before the pipeline went quiet.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Unsettled {
    pub reason: String,
}

/// What a run leaves for the checker and the report.
#[derive(Debug)]
pub struct Ran<'s> {
    pub trace: Trace,
    pub broker: Broker<'s>,
    /// Orders the service answered `order_placed` for.
    pub promised: BTreeSet<u32>,
    /// The strikes that happened, in order.
    pub fired: Vec<Strike>,
    pub unsettled: Option<Unsettled>,
    pub overlaps: Vec<Overlap>,
    /// Events a relay published again with no kill in between, after a confirmed publish.
    pub republished: u32,
    pub service_published: bool,
    pub relays_published: bool,
    pub started: u32,
    pub errors: Vec<(String, String)>,
    pub elapsed: Duration,
}

/// A publish the broker has decided on, its answer not yet written.
struct Held {
    msg_id: u64,
    event: Event,
    answer: PublishAnswer,
    /// Whether the broker stored the event, whatever it answers.
    stored: bool,
    at: Instant,
    kill_after: Option<Strike>,
}

enum State {
    Down,
    Waiting {
        request: Request,
        msg_id: u64,
        sent: Instant,
        held: Option<Box<Held>>,
        published: bool,
    },
    Idle,
}

struct Node {
    name: String,
    role: Role,
    incarnation: u32,
    proc: Option<Proc>,
    state: State,
    tail: Tail,
    next_msg: u64,
    requests: u32,
    publishes: u32,
    acks: u32,
    /// A kill during the request `msg_id`, at this instant.
    kill_at: Option<(Instant, u64, Strike)>,
    /// How long this node usually takes to answer, in microseconds.
    usual_us: f64,
    next_tick: Instant,
    quiet: u32,
}

/// The longest a relay's publish answer is held back, giving other relays a turn meanwhile.
const MAX_HOLD_MS: u64 = 20;
const HOLD_PERCENT: u64 = 30;
/// The most the broker keeps in one run: a program that publishes without end is stopped before
/// it fills msgwork's memory.
const MAX_BROKER_BYTES: usize = 256 << 20;
/// How many deliveries in a row the consumer may refuse before the run stops.
const MAX_REFUSALS: u32 = 50;
/// A quiet relay's next tick, while orders still come and once they are done.
const TICK_GAP: Duration = Duration::from_millis(2);
/// How long the pipeline may take to go quiet after the last order, at least.
const SETTLE: Duration = Duration::from_secs(60);
/// How long msgwork waits, with no publish anywhere, for committed orders' events to appear.
const LEASE_WAIT: Duration = Duration::from_secs(5);
/// How often it reads the service's `orders` table meanwhile.
const LOOK_GAP: Duration = Duration::from_millis(100);

/// Runs the pipeline with `broker` between the processes: msgwork's own, or a real stream.
pub fn run<'s>(setup: &Setup, broker: Broker<'s>) -> Result<Ran<'s>, VerifyError> {
    let (tx, rx) = mpsc::channel();
    let mut run = Run::new(setup, tx, broker);
    let result = run.go(&rx);
    run.finish();
    result?;
    Ok(run.into_ran())
}

struct Run<'a, 's> {
    setup: &'a Setup,
    heard: Sender<Heard>,
    start: Instant,
    nodes: Vec<Node>,
    broker: Broker<'s>,
    trace: Trace,
    next_order: u32,
    promised: BTreeSet<u32>,
    fired: Vec<Strike>,
    unsettled: Option<Unsettled>,
    overlaps: Vec<Overlap>,
    overlapped: BTreeSet<String>,
    confirmed: BTreeMap<String, Vec<(usize, u32)>>,
    republished: u32,
    service_published: bool,
    relays_published: bool,
    started: u32,
    errors: Vec<(String, String)>,
    publishes: u64,
    deliveries: u32,
    client_done: Option<Instant>,
    /// Deliveries the consumer answered with `error` since it last acked one.
    refusals_in_a_row: u32,
    last_publish: Instant,
    /// When the service last answered an order: a relay's pass asked for before then may have
    /// looked before that order's outbox row was there, so it does not count towards quiet.
    last_placed: Instant,
    /// How far msgwork's clock (`now` on the wire) has been moved ahead of real time, to let
    /// leases timed by it run out sooner while the pipeline waits on them.
    skew_ms: u64,
    /// When the databases were last read for orders with no event yet.
    looked: Option<Instant>,
}

impl<'a, 's> Run<'a, 's> {
    fn new(setup: &'a Setup, heard: Sender<Heard>, broker: Broker<'s>) -> Run<'a, 's> {
        let now = Instant::now();
        let mut nodes = Vec::new();
        let mut add = |name: String, role| {
            nodes.push(Node {
                name,
                role,
                incarnation: 0,
                proc: None,
                state: State::Down,
                tail: Tail::default(),
                next_msg: 0,
                requests: 0,
                publishes: 0,
                acks: 0,
                kill_at: None,
                usual_us: 2_000.0,
                next_tick: now,
                quiet: 0,
            })
        };
        add("service".into(), Role::Service);
        for i in 1..=setup.relays {
            add(format!("relay-{i}"), Role::Relay);
        }
        add("consumer".into(), Role::Consumer);
        Run {
            setup,
            heard,
            start: now,
            nodes,
            broker,
            trace: Trace::default(),
            next_order: 1,
            promised: BTreeSet::new(),
            fired: Vec::new(),
            unsettled: None,
            overlaps: Vec::new(),
            overlapped: BTreeSet::new(),
            confirmed: BTreeMap::new(),
            republished: 0,
            service_published: false,
            relays_published: false,
            started: 0,
            errors: Vec::new(),
            publishes: 0,
            deliveries: 0,
            client_done: None,
            refusals_in_a_row: 0,
            last_publish: now,
            last_placed: now,
            skew_ms: 0,
            looked: None,
        }
    }

    fn ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64 + self.skew_ms
    }

    fn go(&mut self, rx: &Receiver<Heard>) -> Result<(), VerifyError> {
        loop {
            let now = Instant::now();
            self.timers(now)?;
            self.act(now)?;
            if self.quiet() && self.nothing_left(now) {
                return Ok(());
            }
            if let Some(reason) = self.stuck(now) {
                self.unsettled = Some(Unsettled { reason });
                return Ok(());
            }
            let wait = self
                .next_timer(now)
                .saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait.min(Duration::from_millis(50))) {
                Ok(heard) => self.hear(heard)?,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(VerifyError::Setup("lost every process's output".into()));
                }
            }
            while let Ok(heard) = rx.try_recv() {
                self.hear(heard)?;
            }
        }
    }

    /// Kills that are due, held publish answers that are due, and requests nobody answered.
    fn timers(&mut self, now: Instant) -> Result<(), VerifyError> {
        for i in 0..self.nodes.len() {
            if let Some((at, msg, _)) = &self.nodes[i].kill_at {
                let still =
                    matches!(&self.nodes[i].state, State::Waiting { msg_id, .. } if msg_id == msg);
                if !still {
                    self.nodes[i].kill_at = None;
                } else if *at <= now {
                    let (_, _, strike) = self.nodes[i].kill_at.take().expect("checked above");
                    self.kill(i, strike);
                    continue;
                }
            }
            let due =
                matches!(&self.nodes[i].state, State::Waiting { held: Some(h), .. } if h.at <= now);
            if due {
                self.answer_publish(i);
            }
            if let State::Waiting {
                request,
                msg_id,
                sent,
                held: None,
                ..
            } = &self.nodes[i].state
                && now.duration_since(*sent) > self.setup.timeout
            {
                let hint = if matches!(request, Request::Init { .. }) {
                    "; is each line flushed as it is written (Python: print(..., flush=True))?"
                } else {
                    ""
                };
                let problem = format!(
                    "did not answer `{}` {msg_id} within {} s (--timeout){hint}",
                    request.type_name(),
                    self.setup.timeout.as_secs_f64()
                );
                return Err(self.program_error(i, None, problem));
            }
        }
        Ok(())
    }

    /// Starts what is down and gives work to what is idle.
    fn act(&mut self, now: Instant) -> Result<(), VerifyError> {
        for i in 0..self.nodes.len() {
            if matches!(self.nodes[i].state, State::Down) {
                self.start_node(i)?;
                continue;
            }
            if !matches!(self.nodes[i].state, State::Idle) {
                continue;
            }
            match self.nodes[i].role {
                Role::Service if self.next_order <= self.setup.orders => {
                    let order_id = self.next_order;
                    self.next_order += 1;
                    let s = &self.setup.schedule;
                    let request = Request::PlaceOrder {
                        order_id,
                        customer_id: format!("c-{}", 1 + s.draw("client", 1, order_id, 40)),
                        amount_cents: 500 + s.draw("client", 2, order_id, 19_500) as i64,
                    };
                    self.trace.push(
                        self.ms(),
                        "service",
                        self.nodes[i].incarnation,
                        Some(order_id),
                        What::OrderSent,
                    );
                    self.send(i, request, now);
                }
                Role::Service => {
                    self.client_done.get_or_insert(now);
                }
                Role::Relay if self.nodes[i].next_tick <= now => self.send(i, Request::Tick, now),
                Role::Relay => {}
                Role::Consumer => {
                    self.deliveries += 1;
                    let skip = match self.setup.schedule.draw("broker", 3, self.deliveries, 10) {
                        0 => 1 + self.setup.schedule.draw("broker", 4, self.deliveries, 3) as usize,
                        _ => 0,
                    };
                    let Some((_, event, delivery)) = self.broker.next(skip)? else {
                        self.deliveries -= 1;
                        continue;
                    };
                    let (event_id, order) = (event.event_id.clone(), event.order_id);
                    let request = Request::Deliver {
                        delivery,
                        event: event.body.clone(),
                    };
                    let inc = self.nodes[i].incarnation;
                    self.trace.push(
                        self.ms(),
                        "consumer",
                        inc,
                        Some(order),
                        What::Deliver { event_id, delivery },
                    );
                    self.send(i, request, now);
                }
            }
        }
        Ok(())
    }

    fn start_node(&mut self, i: usize) -> Result<(), VerifyError> {
        let node = &mut self.nodes[i];
        let proc = Proc::start(
            &self.setup.command,
            i,
            node.incarnation,
            self.heard.clone(),
            node.tail.clone(),
        )
        .map_err(|cause| VerifyError::Start {
            command: self
                .setup
                .command
                .iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" "),
            cause: cause.to_string(),
        })?;
        node.proc = Some(proc);
        node.next_msg = 0;
        self.started += 1;
        let request = Request::Init {
            role: node.role,
            node: node.name.clone(),
            incarnation: node.incarnation,
            service_db: self.setup.service_db.display().to_string(),
            consumer_db: self.setup.consumer_db.display().to_string(),
        };
        self.send(i, request, Instant::now());
        Ok(())
    }

    /// Writes `request` to node `i`, and arms a kill during it if the schedule has one.
    fn send(&mut self, i: usize, request: Request, now: Instant) {
        let ms = self.ms();
        let node = &mut self.nodes[i];
        node.next_msg += 1;
        let msg_id = node.next_msg;
        let line = request.line(msg_id, ms);
        if !matches!(request, Request::Init { .. } | Request::Tick) {
            node.requests += 1;
            if let Some(strike) =
                self.setup
                    .schedule
                    .strike(&node.name, Point::During, node.requests)
            {
                let after = node.usual_us * f64::from(strike.percent) / 100.0;
                node.kill_at = Some((now + Duration::from_micros(after as u64), msg_id, strike));
            }
        }
        if let Some(proc) = node.proc.as_mut() {
            proc.send(&line);
        }
        node.state = State::Waiting {
            request,
            msg_id,
            sent: now,
            held: None,
            published: false,
        };
    }

    fn hear(&mut self, heard: Heard) -> Result<(), VerifyError> {
        match heard {
            Heard::Line {
                node,
                incarnation,
                number,
                bytes,
            } => {
                if !self.current(node, incarnation) {
                    return Ok(());
                }
                let n = &self.nodes[node];
                let parsed = match &n.state {
                    State::Waiting { held: Some(_), .. } => Err(wire::LineError(
                        "wrote a line while its publish was not answered yet; wait for \
                         `publish_ok` or `publish_failed` first"
                            .into(),
                    )),
                    State::Waiting {
                        request, msg_id, ..
                    } => wire::parse(&bytes, Some((request, *msg_id)), n.role != Role::Consumer),
                    _ => wire::parse(&bytes, None, n.role != Role::Consumer),
                };
                match parsed {
                    Ok(Up::Reply { .. }) => self.replied(node),
                    Ok(Up::Error { text, .. }) => self.failed(node, text),
                    Ok(Up::Publish { msg_id, event }) => {
                        if self.broker.bytes() > MAX_BROKER_BYTES {
                            return Err(self.program_error(
                                node,
                                Some(number),
                                format!(
                                    "published more than {} MiB of events in one run; an event \
                                     is published once and again only when it was not confirmed",
                                    MAX_BROKER_BYTES >> 20
                                ),
                            ));
                        }
                        self.publish(node, msg_id, event)
                    }
                    Err(e) => Err(self.program_error(node, Some(number), format!("wrote {}", e.0))),
                }
            }
            Heard::Bad {
                node,
                incarnation,
                number,
                error,
            } => {
                if !self.current(node, incarnation) {
                    return Ok(());
                }
                Err(self.program_error(node, Some(number), format!("wrote {}", error.0)))
            }
            Heard::Closed { node, incarnation } => {
                if !self.current(node, incarnation) {
                    return Ok(());
                }
                let status = self.nodes[node].proc.as_mut().and_then(|p| {
                    for _ in 0..100 {
                        if let Some(status) = p.exited() {
                            return Some(status);
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    None
                });
                let doing = match &self.nodes[node].state {
                    State::Waiting {
                        request, msg_id, ..
                    } => format!(" while handling `{}` {msg_id}", request.type_name()),
                    _ => String::new(),
                };
                let how =
                    status.map_or("closed its output".to_string(), |s| format!("exited ({s})"));
                Err(self.program_error(
                    node,
                    None,
                    format!("{how} on its own{doing}; a process must keep running until its stdin closes"),
                ))
            }
        }
    }

    fn current(&self, node: usize, incarnation: u32) -> bool {
        let n = &self.nodes[node];
        n.incarnation == incarnation && n.proc.is_some()
    }

    fn program_error(&self, i: usize, line: Option<u64>, problem: String) -> VerifyError {
        let n = &self.nodes[i];
        VerifyError::Program {
            node: n.name.clone(),
            incarnation: n.incarnation,
            line,
            problem,
            stderr: n.tail.lines(),
        }
    }

    /// Node `i` answered the request it was handling.
    fn replied(&mut self, i: usize) -> Result<(), VerifyError> {
        let ms = self.ms();
        let last_placed = self.last_placed;
        let node = &mut self.nodes[i];
        let State::Waiting {
            request,
            sent,
            published,
            ..
        } = std::mem::replace(&mut node.state, State::Idle)
        else {
            return Ok(());
        };
        let took = sent.elapsed().as_micros() as f64;
        node.usual_us = 0.8 * node.usual_us + 0.2 * took;
        let inc = node.incarnation;
        match request {
            Request::Init { .. } => {
                let name = node.name.clone();
                self.trace.push(ms, &name, inc, None, What::Started);
            }
            Request::PlaceOrder { order_id, .. } => {
                self.promised.insert(order_id);
                self.trace
                    .push(ms, "service", inc, Some(order_id), What::OrderPlaced);
                self.last_placed = Instant::now();
                for other in &mut self.nodes {
                    other.quiet = 0;
                }
            }
            Request::Tick => {
                let counts = !published && sent >= last_placed;
                node.quiet = if counts { node.quiet + 1 } else { 0 };
                node.next_tick = Instant::now() + if published { Duration::ZERO } else { TICK_GAP };
            }
            Request::Deliver { .. } => {
                self.refusals_in_a_row = 0;
                node.acks += 1;
                let k = node.acks;
                let name = node.name.clone();
                let schedule = &self.setup.schedule;
                if let Some(strike) = schedule.strike(&name, Point::Ack, k) {
                    let event = self
                        .broker
                        .in_flight()
                        .map(|e| (e.event_id.clone(), e.order_id));
                    if let Some((event_id, order)) = event.clone() {
                        self.trace
                            .push(ms, &name, inc, Some(order), What::AckLost { event_id });
                    }
                    self.kill_about(i, strike, event.map(|e| e.1));
                    return Ok(());
                }
                let mut acked = None;
                let again = schedule.strike(&name, Point::Redeliver, k);
                if let Some(index) = self.broker.ack(again.is_some())? {
                    let event = &self.broker.message(index).event;
                    let (event_id, order) = (event.event_id.clone(), event.order_id);
                    acked = Some(order);
                    self.trace.push(
                        ms,
                        &name,
                        inc,
                        Some(order),
                        What::Acked {
                            event_id: event_id.clone(),
                        },
                    );
                    if let Some(strike) = again {
                        self.fired.push(strike);
                        self.trace
                            .push(ms, "broker", 0, Some(order), What::Redeliver { event_id });
                    }
                }
                if let Some(strike) = schedule.strike(&name, Point::Acked, k) {
                    self.kill_about(i, strike, acked);
                }
            }
        }
        Ok(())
    }

    /// Node `i` answered `error`.
    fn failed(&mut self, i: usize, text: String) -> Result<(), VerifyError> {
        let ms = self.ms();
        let node = &mut self.nodes[i];
        let State::Waiting { request, .. } = std::mem::replace(&mut node.state, State::Idle) else {
            return Ok(());
        };
        let (name, inc) = (node.name.clone(), node.incarnation);
        let order = match &request {
            Request::PlaceOrder { order_id, .. } => Some(*order_id),
            _ => None,
        };
        match request {
            Request::Init { .. } => {
                node.state = State::Waiting {
                    request,
                    msg_id: 0,
                    sent: Instant::now(),
                    held: None,
                    published: false,
                };
                return Err(self.program_error(
                    i,
                    None,
                    format!("answered `init` with an error: {text}"),
                ));
            }
            Request::Deliver { .. } => {
                self.broker.give_back(true);
                self.refusals_in_a_row += 1;
            }
            Request::Tick => node.next_tick = Instant::now() + TICK_GAP,
            Request::PlaceOrder { .. } => {}
        }
        self.trace
            .push(ms, &name, inc, order, What::Error { text: text.clone() });
        if self.errors.len() < 20 {
            self.errors.push((name, text));
        }
        Ok(())
    }

    /// Node `i` asked the broker to publish `event`.
    fn publish(&mut self, i: usize, msg_id: u64, event: Event) -> Result<(), VerifyError> {
        let ms = self.ms();
        let now = Instant::now();
        self.publishes += 1;
        self.last_publish = now;
        for node in &mut self.nodes {
            node.quiet = 0;
        }
        let node = &mut self.nodes[i];
        node.publishes += 1;
        let (k, name, inc, role) = (
            node.publishes,
            node.name.clone(),
            node.incarnation,
            node.role,
        );
        match role {
            Role::Service => self.service_published = true,
            _ => self.relays_published = true,
        }
        let order = Some(event.order_id);
        let event_id = event.event_id.clone();
        self.trace.push(
            ms,
            &name,
            inc,
            order,
            What::Publish {
                event_id: event_id.clone(),
            },
        );
        let schedule = &self.setup.schedule;
        if let Some(strike) = schedule.strike(&name, Point::Publish, k) {
            self.kill(i, strike);
            return Ok(());
        }
        let lose = schedule.strike(&name, Point::Lose, k);
        let timeout = schedule.strike(&name, Point::Timeout, k);
        let answer = if lose.is_some() || timeout.is_some() {
            PublishAnswer::Failed
        } else {
            PublishAnswer::Ok
        };
        self.fired.extend(lose.clone());
        if lose.is_none() {
            self.fired.extend(timeout);
            let stored = self.broker.store(event.clone())?;
            let what = match stored.duplicate {
                true => What::Deduped { event_id },
                false => What::Stored {
                    event_id,
                    message: stored.message,
                },
            };
            self.trace.push(ms, "broker", 0, order, what);
        }
        let hold = role == Role::Relay && schedule.draw(&name, 5, k, 100) < HOLD_PERCENT;
        let at = if hold {
            now + Duration::from_millis(1 + schedule.draw(&name, 6, k, MAX_HOLD_MS))
        } else {
            now
        };
        let kill_after = match answer {
            PublishAnswer::Ok => schedule.strike(&name, Point::Published, k),
            PublishAnswer::Failed => None,
        };
        if let State::Waiting { held, .. } = &mut self.nodes[i].state {
            *held = Some(Box::new(Held {
                msg_id,
                event,
                answer,
                stored: lose.is_none(),
                at,
                kill_after,
            }));
        }
        if !hold {
            self.answer_publish(i);
        }
        Ok(())
    }

    /// Writes the broker's answer to node `i`'s held publish.
    fn answer_publish(&mut self, i: usize) {
        let ms = self.ms();
        let node = &mut self.nodes[i];
        let State::Waiting {
            held, published, ..
        } = &mut node.state
        else {
            return;
        };
        let Some(h) = held.take() else {
            return;
        };
        *published = true;
        if let Some(proc) = node.proc.as_mut() {
            proc.send(&h.answer.line(h.msg_id, ms));
        }
        let (name, inc, role) = (node.name.clone(), node.incarnation, node.role);
        let event_id = h.event.event_id.clone();
        let order = Some(h.event.order_id);
        match h.answer {
            PublishAnswer::Ok => {
                self.trace.push(
                    ms,
                    &name,
                    inc,
                    order,
                    What::PublishOk {
                        event_id: event_id.clone(),
                    },
                );
                if role == Role::Relay {
                    self.confirm(i, &h.event);
                }
            }
            PublishAnswer::Failed => {
                self.trace.push(
                    ms,
                    &name,
                    inc,
                    order,
                    What::PublishFailed {
                        event_id,
                        stored: h.stored,
                    },
                );
            }
        }
        if let Some(strike) = h.kill_after {
            self.kill_about(i, strike, order);
        }
    }

    /// Relay `i`'s publish of `event` was confirmed: an overlap if another relay that has not died
    /// since also had it confirmed, a needless republish if this same process did.
    fn confirm(&mut self, i: usize, event: &Event) {
        let inc = self.nodes[i].incarnation;
        let earlier = self.confirmed.entry(event.event_id.clone()).or_default();
        for &(other, other_inc) in earlier.iter() {
            let alive = self.nodes[other].incarnation == other_inc;
            if other == i && other_inc == inc {
                self.republished += 1;
            } else if other != i && alive && self.overlapped.insert(event.event_id.clone()) {
                self.overlaps.push(Overlap {
                    event_id: event.event_id.clone(),
                    order: event.order_id,
                    first: self.nodes[other].name.clone(),
                    second: self.nodes[i].name.clone(),
                });
            }
        }
        earlier.push((i, inc));
    }

    /// SIGKILL node `i` for `strike`; it is started again on the next turn.
    fn kill(&mut self, i: usize, strike: Strike) {
        self.kill_about(i, strike, None);
    }

    /// As [`Run::kill`], for a kill that concerns `about` when the request in hand does not say.
    fn kill_about(&mut self, i: usize, strike: Strike, about: Option<u32>) {
        let ms = self.ms();
        let node = &mut self.nodes[i];
        let Some(proc) = node.proc.take() else {
            return;
        };
        proc.kill();
        let (doing, order) = match &node.state {
            State::Waiting { request, held, .. } => {
                let order = match (request, held) {
                    (_, Some(h)) => Some(h.event.order_id),
                    (Request::PlaceOrder { order_id, .. }, _) => Some(*order_id),
                    (Request::Deliver { event, .. }, _) => event
                        .get("order_id")
                        .and_then(|v| v.as_u64())
                        .map(|v| v as u32),
                    _ => None,
                };
                (format!("handling `{}`", request.type_name()), order)
            }
            _ => ("between requests".to_string(), None),
        };
        let order = about.or(order);
        if node.role == Role::Consumer {
            self.broker.give_back(false);
        }
        let (name, inc) = (node.name.clone(), node.incarnation);
        node.incarnation += 1;
        node.state = State::Down;
        node.kill_at = None;
        self.trace.push(
            ms,
            &name,
            inc,
            order,
            What::Killed {
                strike: strike.to_string(),
                doing,
            },
        );
        self.fired.push(strike);
    }

    /// Every order placed, every process idle, nothing left to deliver, and every relay has
    /// taken two passes that published nothing since the last publish anywhere.
    fn quiet(&self) -> bool {
        self.client_done.is_some()
            && self.broker.is_idle()
            && self
                .nodes
                .iter()
                .all(|n| matches!(n.state, State::Idle) && (n.role != Role::Relay || n.quiet >= 2))
    }

    /// Once everything looks quiet: whether every committed order's event has reached the broker,
    /// or no relay will send the rest. Rows a killed relay still holds come back when its lease
    /// runs out, so msgwork waits for them while relays publish, moving its clock ahead to help
    /// leases timed by `now`, and gives up after [`LEASE_WAIT`] with no publish.
    fn nothing_left(&mut self, now: Instant) -> bool {
        if !self.relays_published || now.duration_since(self.last_publish) > LEASE_WAIT {
            return true;
        }
        if self
            .looked
            .is_some_and(|at| now.duration_since(at) < LOOK_GAP)
        {
            return false;
        }
        self.looked = Some(now);
        let Ok(committed) = crate::verify::tables::committed_orders(&self.setup.service_db) else {
            return true;
        };
        let missing = committed.iter().any(|o| !self.broker.has_order(*o));
        if missing {
            self.skew_ms += LOOK_GAP.as_millis() as u64 * 10;
        }
        !missing
    }

    /// Why the pipeline will not go quiet, once it had its time.
    fn stuck(&self, now: Instant) -> Option<String> {
        if self.refusals_in_a_row >= MAX_REFUSALS {
            return Some(format!(
                "the consumer answered `error` to {MAX_REFUSALS} deliveries in a row, so the \
                 broker kept delivering the same event"
            ));
        }
        let runaway = 20 * u64::from(self.setup.orders) + 200;
        if self.publishes > runaway {
            return Some(format!(
                "the relays published {} times for {} orders without going quiet: a relay that \
                 never marks its rows sent publishes them on every pass",
                self.publishes, self.setup.orders
            ));
        }
        let since = self.client_done?;
        if now.duration_since(since) < SETTLE.max(self.setup.timeout) {
            return None;
        }
        if !self.broker.is_idle() {
            return Some(format!(
                "{} messages were still waiting for the consumer {} s after the last order",
                self.broker.waiting(),
                SETTLE.as_secs()
            ));
        }
        Some(format!(
            "the relays were still publishing {} s after the last order",
            SETTLE.as_secs()
        ))
    }

    fn next_timer(&self, now: Instant) -> Instant {
        let mut next = now + Duration::from_millis(50);
        next = next.min(self.broker.next_poll().unwrap_or(next));
        for n in &self.nodes {
            if let Some((at, _, _)) = &n.kill_at {
                next = next.min(*at);
            }
            if let State::Waiting { held: Some(h), .. } = &n.state {
                next = next.min(h.at);
            }
            if n.role == Role::Relay && matches!(n.state, State::Idle) {
                next = next.min(n.next_tick);
            }
        }
        next
    }

    /// Closes every process's stdin and reaps it; a process that does not exit is killed.
    fn finish(&mut self) {
        let procs: Vec<Proc> = self
            .nodes
            .iter_mut()
            .filter_map(|n| n.proc.take())
            .collect();
        for proc in procs {
            proc.finish(Duration::from_millis(1_000));
        }
    }

    fn into_ran(self) -> Ran<'s> {
        Ran {
            elapsed: self.start.elapsed(),
            trace: self.trace,
            broker: self.broker,
            promised: self.promised,
            fired: self.fired,
            unsettled: self.unsettled,
            overlaps: self.overlaps,
            republished: self.republished,
            service_published: self.service_published,
            relays_published: self.relays_published,
            started: self.started,
            errors: self.errors,
        }
    }
}
