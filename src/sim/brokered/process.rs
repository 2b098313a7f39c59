//! The parent side of `simulate --broker --crash-mode process`: the order service, the relay and
//! the consumer run as child processes of msgwork, each with its own connections to the broker
//! and the lab's database, and die by SIGKILL at their crash points.
//!
//! The parent keeps what must outlive a child: which crashes already struck, the counts, and the
//! stream sequences the consumer acknowledged. It reads each child's lines in order, so what a
//! child published before it reached a crash point is counted before it is killed. No child
//! outlives the run: the parent kills those still running when it stops, even on an error, and a
//! child whose input closes (its parent died, even by SIGKILL) stops by itself.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use super::counts::Counts;
use super::plan::Plan;
use super::report::{BrokeredError, BrokeredOptions, Processes, STALL_LIMIT};
use super::wire::{Bug, Crash, Down, Point, Role, Spec, Up};
use crate::broker::{BrokerError, BrokerUrl};
use crate::sim::crash::mutant::Mutant;
use crate::sim::crash::process::pipes::{self, Running, killed_by_sigkill, said};
use crate::sim::crash::process::wire;
use crate::sim::error::SimError;
use crate::sim::model::Pipeline;
use crate::sim::storage::backend::Backend;
use crate::sim::storage::{Db, Storage};

/// The hidden command a child runs as: `msgwork __broker-actor NAME`.
pub const ACTOR_COMMAND: &str = "__broker-actor";
/// How long a killed actor stays down before its next incarnation starts.
const RESTART: Duration = Duration::from_millis(20);
/// How often the parent looks at the outbox and its children when nothing is said.
const POLL: Duration = Duration::from_millis(10);
/// How long a child may take to exit once its output has ended.
const EXIT_GRACE: Duration = Duration::from_secs(5);
/// One pipeline's run: where it publishes and stores, and what it counts.
pub struct Lane<'a> {
    pub url: &'a BrokerUrl,
    pub backend: &'a Backend,
    pub stream: &'a str,
    pub subject: &'a str,
    pub pipeline: Pipeline,
    pub options: &'a BrokeredOptions,
    pub plan: &'a Plan,
    pub counts: &'a Counts,
}

/// Runs the pipeline's actors as child processes until the consumer has acknowledged everything
/// the stream stored and every child has stopped. Returns how many were started and killed.
pub fn drive(lane: &Lane<'_>) -> Result<Processes, BrokeredError> {
    let program = match &lane.options.actor_program {
        Some(program) => program.clone(),
        None => std::env::current_exe().map_err(|cause| SimError::Child {
            actor: "the broker run".to_string(),
            problem: format!("cannot find its own executable to start children from: {cause}"),
        })?,
    };
    let mut fleet = Fleet::new(lane, program)?;
    fleet.run()?;
    Ok(fleet.stats)
}

/// One actor, across its incarnations.
struct Slot {
    role: Role,
    incarnation: u32,
    running: Option<Running>,
    restart_at: Option<Instant>,
    /// The crashes still to strike it.
    pending: HashSet<Crash>,
    /// The first order a service's next incarnation places.
    next: u32,
    /// The service said it placed its last order.
    done: bool,
    /// Its input was closed: it is to stop, not to be restarted.
    stopping: bool,
    /// It exited as it was told to, or was killed while stopping.
    finished: bool,
}

/// What a child's listening thread hands the parent's loop.
type Event = pipes::Event<Up>;

struct Fleet<'l, 'a> {
    lane: &'l Lane<'a>,
    program: PathBuf,
    slots: Vec<Slot>,
    events: Receiver<Event>,
    sender: Sender<Event>,
    /// The stream sequences the consumer acknowledged.
    acked: HashSet<u64>,
    /// The parent's own connection to the service's database, to see the outbox drained.
    db: Box<dyn Storage>,
    stats: Processes,
}

impl<'l, 'a> Fleet<'l, 'a> {
    fn new(lane: &'l Lane<'a>, program: PathBuf) -> Result<Self, BrokeredError> {
        let plan = lane.plan;
        let mutant = lane.options.mutant;
        let at = |point: Point, orders: &HashSet<u32>| -> Vec<Crash> {
            orders.iter().map(|&order| Crash { point, order }).collect()
        };
        let mut service = at(Point::ServiceMidTransaction, &plan.service);
        if lane.pipeline == Pipeline::Naive {
            service.extend(at(Point::ServiceAfterCommit, &plan.publisher));
        }
        let relay_point = match mutant {
            Mutant::MarkBeforePublish => Point::RelayBeforePublish,
            _ => Point::RelayAfterPublish,
        };
        let consumer_point = match mutant {
            Mutant::AckBeforeCommit => Point::ConsumerAfterAck,
            _ => Point::ConsumerAfterCommit,
        };
        let mut slots = vec![
            Slot::new(Role::Consumer, at(consumer_point, &plan.consumer)),
            Slot::new(Role::Service, service),
        ];
        if lane.pipeline == Pipeline::Outbox {
            slots.push(Slot::new(Role::Relay, at(relay_point, &plan.publisher)));
        }
        let (sender, events) = mpsc::channel();
        Ok(Fleet {
            lane,
            program,
            slots,
            events,
            sender,
            acked: HashSet::new(),
            db: lane.backend.connect(Db::Service)?,
            stats: Processes::default(),
        })
    }

    fn slot_of(&self, role: Role) -> Option<usize> {
        self.slots.iter().position(|s| s.role == role)
    }

    fn run(&mut self) -> Result<(), BrokeredError> {
        let counts = self.lane.counts;
        for slot in 0..self.slots.len() {
            self.spawn(slot)?;
        }
        loop {
            let now = Instant::now();
            for slot in 0..self.slots.len() {
                if self.slots[slot].restart_at.is_some_and(|at| at <= now) {
                    self.spawn(slot)?;
                }
            }
            let stored = Counts::get(&counts.stored);
            if counts.stalled() {
                return Err(BrokerError::Stalled {
                    url: self.lane.url.to_string(),
                    missing: stored.saturating_sub(self.acked.len() as u64),
                    waited_secs: STALL_LIMIT.as_secs(),
                }
                .into());
            }
            if !counts.producers_done.load(Ordering::SeqCst) && self.producers_finished()? {
                counts.producers_done.store(true, Ordering::SeqCst);
            }
            if counts.producers_done.load(Ordering::SeqCst)
                && self.acked.len() as u64 >= stored
                && let Some(consumer) = self.slot_of(Role::Consumer)
            {
                self.stop(consumer);
            }
            if self.slots.iter().all(|s| s.finished) {
                return Ok(());
            }
            match self.events.recv_timeout(POLL) {
                Ok(event) => self.handle(event)?,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(SimError::Internal("the children's event channel closed").into());
                }
            }
        }
    }

    /// Whether everything the pipeline will ever publish has been published and counted: the
    /// service has finished, and on the outbox pipeline the relay, stopped once the outbox had
    /// no unsent row left, has exited with all its lines read.
    fn producers_finished(&mut self) -> Result<bool, BrokeredError> {
        let service_finished = self
            .slot_of(Role::Service)
            .is_some_and(|s| self.slots[s].finished);
        let Some(relay) = self.slot_of(Role::Relay) else {
            return Ok(service_finished);
        };
        let slot = &self.slots[relay];
        if slot.finished {
            return Ok(true);
        }
        if service_finished
            && !slot.stopping
            && slot.running.is_some()
            && self.db.select_unsent(1)?.is_empty()
        {
            self.stop(relay);
        }
        Ok(false)
    }

    /// Closes the child's input: it stops at its next turn and is not restarted.
    fn stop(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        if slot.stopping || slot.finished {
            return;
        }
        slot.stopping = true;
        slot.restart_at = None;
        match &mut slot.running {
            Some(running) => running.stdin = None,
            None => slot.finished = true,
        }
    }

    fn spawn(&mut self, index: usize) -> Result<(), BrokeredError> {
        let lane = self.lane;
        let slot = &mut self.slots[index];
        slot.restart_at = None;
        let name = slot.role.name();
        let spec = Spec {
            role: slot.role,
            pipeline: lane.pipeline,
            seed: lane.options.seed,
            orders: lane.options.orders,
            next: slot.next,
            location: lane.backend.location().clone(),
            broker: lane.url.with_credentials(),
            stream: lane.stream.to_string(),
            subject: lane.subject.to_string(),
            dedupe: lane.options.dedupe,
            bug: Bug::from(lane.options.mutant),
            crashes: slot.pending.iter().copied().collect(),
        };
        let mut command = Command::new(&self.program);
        command
            .arg(ACTOR_COMMAND)
            .arg(name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        pipes::start(
            command,
            name,
            (index, slot.incarnation),
            &spec,
            &self.sender,
            &mut slot.running,
        )?;
        self.stats.started += 1;
        Ok(())
    }

    fn current(&self, slot: usize, incarnation: u32) -> bool {
        let slot = &self.slots[slot];
        slot.running.is_some() && slot.incarnation == incarnation
    }

    fn handle(&mut self, event: Event) -> Result<(), BrokeredError> {
        match event {
            Event::Line {
                slot,
                incarnation,
                line,
            } => {
                if !self.current(slot, incarnation) {
                    return Ok(());
                }
                match line {
                    Ok(up) => self.obey(slot, up),
                    Err(err) => Err(self.child_error(slot, format!("wrote {err}"))),
                }
            }
            Event::Closed {
                slot,
                incarnation,
                stderr,
            } => {
                if !self.current(slot, incarnation) {
                    return Ok(());
                }
                let status = self.reap(slot)?;
                let s = &mut self.slots[slot];
                if (s.done || s.stopping) && status.success() {
                    s.finished = true;
                    return Ok(());
                }
                Err(SimError::Child {
                    actor: s.role.name().to_string(),
                    problem: format!(
                        "exited by itself ({status}) where only the run's SIGKILL or its \
                         closed input should stop it{}",
                        said(&stderr)
                    ),
                }
                .into())
            }
        }
    }

    /// Carries out one line from the running child in `index`.
    fn obey(&mut self, index: usize, up: Up) -> Result<(), BrokeredError> {
        let counts = self.lane.counts;
        let role = self.slots[index].role;
        match up {
            Up::Published { event, duplicate } if role != Role::Consumer => {
                counts.published(&event, duplicate);
            }
            Up::Crash(crash) if crash.point.role() == role => {
                if self.slots[index].pending.remove(&crash) {
                    self.kill(index, crash)?;
                } else {
                    self.answer(index, &Down::Live);
                }
            }
            Up::Applied {
                redelivered,
                absorbed,
            } if role == Role::Consumer => {
                if redelivered {
                    counts.redelivered.fetch_add(1, Ordering::SeqCst);
                }
                if absorbed {
                    counts.absorbed_by_inbox.fetch_add(1, Ordering::SeqCst);
                }
                counts.moved();
            }
            Up::Acked { sequence } if role == Role::Consumer => {
                self.acked.insert(sequence);
                counts.moved();
            }
            Up::Done if role == Role::Service => self.slots[index].done = true,
            Up::Stopped => {}
            other => {
                return Err(self.child_error(index, format!("sent {other:?} out of turn")));
            }
        }
        Ok(())
    }

    /// Answers the running child in `slot`; one that can no longer hear has died, and its closed
    /// output reports that.
    fn answer(&mut self, slot: usize, down: &Down) {
        if let Some(stdin) = self.slots[slot]
            .running
            .as_mut()
            .and_then(|r| r.stdin.as_mut())
        {
            let _ = wire::write(stdin, down);
        }
    }

    /// The crash strikes: SIGKILL, reap, count, and a new incarnation after the restart delay.
    fn kill(&mut self, index: usize, crash: Crash) -> Result<(), BrokeredError> {
        let counts = self.lane.counts;
        let slot = &mut self.slots[index];
        let Some(mut running) = slot.running.take() else {
            return Ok(());
        };
        let pid = running.child.id();
        let actor = format!("{} (pid {pid})", slot.role.name());
        let status = running
            .child
            .kill()
            .and_then(|()| running.child.wait())
            .map_err(|cause| SimError::Child {
                actor: actor.clone(),
                problem: format!("could not be killed: {cause}"),
            })?;
        if !killed_by_sigkill(&status) {
            return Err(SimError::Child {
                actor,
                problem: format!(
                    "was to die by SIGKILL at {:?} of order {} but ended with {status}",
                    crash.point, crash.order
                ),
            }
            .into());
        }
        self.stats.killed += 1;
        let counter = match crash.point {
            Point::ServiceMidTransaction => &counts.service_crashes,
            Point::ServiceAfterCommit | Point::RelayAfterPublish | Point::RelayBeforePublish => {
                &counts.publisher_crashes
            }
            Point::ConsumerAfterCommit | Point::ConsumerAfterAck => &counts.consumer_crashes,
        };
        counter.fetch_add(1, Ordering::SeqCst);
        counts.moved();
        if slot.role == Role::Service {
            // The client does not retry the request that died with the service.
            slot.next = crash.order + 1;
        }
        slot.incarnation += 1;
        if slot.stopping {
            slot.finished = true;
        } else {
            slot.restart_at = Some(Instant::now() + RESTART);
        }
        Ok(())
    }

    /// Waits for the child in `slot`, whose output has ended, to exit.
    fn reap(&mut self, slot: usize) -> Result<ExitStatus, BrokeredError> {
        let Some(mut running) = self.slots[slot].running.take() else {
            return Err(SimError::Internal("reaping a child that is not running").into());
        };
        let pid = running.child.id();
        let actor = format!("{} (pid {pid})", self.slots[slot].role.name());
        let gave_up = Instant::now() + EXIT_GRACE;
        loop {
            match running.child.try_wait() {
                Ok(Some(status)) => return Ok(status),
                Ok(None) if Instant::now() < gave_up => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Ok(None) => {
                    pipes::end(&mut running.child);
                    return Err(SimError::Child {
                        actor,
                        problem: format!(
                            "did not exit within {} s of closing its output, and was killed",
                            EXIT_GRACE.as_secs()
                        ),
                    }
                    .into());
                }
                Err(cause) => {
                    return Err(SimError::Child {
                        actor,
                        problem: format!("could not be waited for: {cause}"),
                    }
                    .into());
                }
            }
        }
    }

    fn child_error(&self, slot: usize, problem: String) -> BrokeredError {
        let slot = &self.slots[slot];
        let actor = match &slot.running {
            Some(running) => format!("{} (pid {})", slot.role.name(), running.child.id()),
            None => slot.role.name().to_string(),
        };
        SimError::Child { actor, problem }.into()
    }
}

impl Slot {
    fn new(role: Role, crashes: Vec<Crash>) -> Self {
        Slot {
            role,
            incarnation: 0,
            running: None,
            restart_at: None,
            pending: crashes.into_iter().collect(),
            next: 1,
            done: false,
            stopping: false,
            finished: false,
        }
    }
}

impl Drop for Fleet<'_, '_> {
    /// Whatever ended the run, no child outlives it.
    fn drop(&mut self) {
        for slot in &mut self.slots {
            if let Some(mut running) = slot.running.take() {
                pipes::end(&mut running.child);
            }
        }
    }
}
