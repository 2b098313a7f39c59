//! The parent side of `simulate --crash-mode process`: the order service and each relay replica
//! run as child processes of msgwork, and die by SIGKILL at their crash points.
//!
//! The parent keeps everything that must outlive a child: the broker, the crash trigger (which
//! crashes already fired), the checker's observer and claim log, and the billing consumer, on a
//! thread of its own with its in-process crashes. Each child's lines are read in order, so what a
//! child published before it reached a crash point is in the broker before it is killed. What the
//! killed child had not committed is gone the way a real crash loses it: its write lock died with
//! the process, and SQLite never shows the WAL frames of a transaction that has no commit record.
//!
//! No child outlives the run: the parent kills the ones still running when it stops, even on an
//! error, and a child whose input closes (its parent died, even by SIGKILL) exits by itself.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use crate::sim::crash::drive::{self, Life};
use crate::sim::crash::process::pipes::{self, Running, killed_by_sigkill, said};
use crate::sim::crash::process::wire::{self, Down, Role, Spec, Up};
use crate::sim::crash::report::ProcessStats;
use crate::sim::crash::runner::Settled;
use crate::sim::crash::schedule::{Component, CrashPoint, Schedule, ScheduledCrash};
use crate::sim::crash::world::{Outside, World};
use crate::sim::error::{SimError, WireError};

/// How often the parent asks whether the pipeline has drained, once the service is done.
const SETTLE_POLL: Duration = Duration::from_millis(2);
/// How long a child may take to exit once its input is closed or its output has ended.
const EXIT_GRACE: Duration = Duration::from_secs(5);
/// How to start a child: this msgwork binary as `msgwork __actor NAME`.
pub struct Launcher {
    program: PathBuf,
    args: Vec<OsString>,
}

impl Launcher {
    /// The running msgwork binary; the actor's name goes last, for `ps` to show.
    pub fn this_binary() -> Result<Self, SimError> {
        let program = std::env::current_exe().map_err(|cause| SimError::Child {
            actor: "the lab".to_string(),
            problem: format!("cannot find its own executable to start children from: {cause}"),
        })?;
        Ok(Launcher {
            program,
            args: vec!["__actor".into()],
        })
    }

    /// Any program, with these arguments before the actor's name: a stand-in child for tests.
    #[cfg(test)]
    pub fn new(program: impl Into<PathBuf>, args: &[&str]) -> Self {
        Launcher {
            program: program.into(),
            args: args.iter().map(OsString::from).collect(),
        }
    }

    fn command(&self, actor: &str) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .arg(actor)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }
}

/// Runs one pipeline with the service and relays as child processes and `consumer` on a thread,
/// until the service is done and `settled` says the pipeline has drained. Returns the steps taken.
pub fn run(
    fleet: &mut Fleet<'_>,
    mut consumer: Life,
    settled: &Settled<'_>,
    timeout: Duration,
) -> Result<u64, SimError> {
    let stop = AtomicBool::new(false);
    let world = fleet.world;
    std::thread::scope(|scope| {
        let stop = &stop;
        let consumer = scope.spawn(move || {
            let result = drive::drive(&mut consumer, world, stop);
            if result.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
            result
        });
        let supervised = fleet.supervise(settled, stop, timeout);
        stop.store(true, Ordering::Relaxed);
        let (consumer_steps, _) = consumer
            .join()
            .map_err(|_| SimError::Internal("the consumer thread panicked"))??;
        supervised.map(|steps| steps + consumer_steps)
    })
}

/// The child processes of one pipeline's run, and what the parent knows about each.
pub struct Fleet<'a> {
    world: &'a World<'a>,
    launcher: &'a Launcher,
    epoch_us: u64,
    trace: bool,
    service_crashes: Vec<ScheduledCrash>,
    relay_crashes: Vec<ScheduledCrash>,
    slots: Vec<Slot>,
    events: Receiver<Event>,
    sender: Sender<Event>,
    stats: ProcessStats,
    steps: u64,
}

/// One actor, across its incarnations.
struct Slot {
    name: String,
    role: Role,
    incarnation: u32,
    running: Option<Running>,
    restart_at: Option<Instant>,
    /// The relay pass the running child holds, as the claim log knows it.
    open_pass: Option<u64>,
    /// The service said it placed every order.
    done: bool,
}

/// What a child's listening thread hands the parent's loop.
type Event = pipes::Event<Up>;

impl<'a> Fleet<'a> {
    /// The service and `relays` replicas, none started yet. `epoch_us` is the run's shared clock.
    pub fn new(
        world: &'a World<'a>,
        launcher: &'a Launcher,
        schedule: &Schedule,
        relays: u32,
        epoch_us: u64,
        trace: bool,
    ) -> Self {
        let crashes_of = |component| -> Vec<ScheduledCrash> {
            schedule
                .crashes()
                .into_iter()
                .filter(|c| c.point.component() == component && c.point.applies_to(world.pipeline))
                .collect()
        };
        let mut slots = vec![Slot::new("service".to_string(), Role::Service { next: 1 })];
        slots.extend(
            (1..=relays).map(|index| Slot::new(format!("relay-{index}"), Role::Relay { index })),
        );
        let (sender, events) = mpsc::channel();
        Fleet {
            world,
            launcher,
            epoch_us,
            trace,
            service_crashes: crashes_of(Component::Service),
            relay_crashes: crashes_of(Component::Relay),
            slots,
            events,
            sender,
            stats: ProcessStats::default(),
            steps: 0,
        }
    }

    pub fn stats(&self) -> &ProcessStats {
        &self.stats
    }

    fn supervise(
        &mut self,
        settled: &Settled<'_>,
        stop: &AtomicBool,
        timeout: Duration,
    ) -> Result<u64, SimError> {
        let deadline = Instant::now() + timeout;
        for slot in 0..self.slots.len() {
            self.spawn(slot)?;
        }
        let mut next_check = Instant::now();
        loop {
            if stop.load(Ordering::Relaxed) {
                return Err(SimError::Internal("the run was stopped"));
            }
            let now = Instant::now();
            if now > deadline {
                return Err(SimError::Stuck { steps: self.steps });
            }
            for slot in 0..self.slots.len() {
                if self.slots[slot].restart_at.is_some_and(|at| at <= now) {
                    self.spawn(slot)?;
                }
            }
            // No pass open means every row marked sent was published by a pass whose lines have
            // all been read: nothing the database calls sent is still in a pipe.
            if self.slots[0].done
                && now >= next_check
                && self.slots.iter().all(|s| s.open_pass.is_none())
            {
                if settled()? {
                    return self.shutdown();
                }
                next_check = now + SETTLE_POLL;
            }
            let wait = self
                .slots
                .iter()
                .filter_map(|s| s.restart_at)
                .map(|at| at.saturating_duration_since(now))
                .fold(SETTLE_POLL, Duration::min);
            match self.events.recv_timeout(wait) {
                Ok(event) => self.handle(event)?,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(SimError::Internal("the children's event channel closed"));
                }
            }
        }
    }

    fn spawn(&mut self, index: usize) -> Result<(), SimError> {
        let spec = self.spec(index);
        let slot = &mut self.slots[index];
        slot.restart_at = None;
        let running = pipes::start(
            self.launcher.command(&slot.name),
            &slot.name,
            (index, slot.incarnation),
            &spec,
            &self.sender,
            &mut slot.running,
        )?;
        self.stats.spawned += 1;
        self.stats.pids.push(running.child.id());
        Ok(())
    }

    fn spec(&self, index: usize) -> Spec {
        let slot = &self.slots[index];
        let world = self.world;
        Spec {
            role: slot.role,
            incarnation: slot.incarnation,
            pipeline: world.pipeline,
            config: world.config.clone(),
            location: world.location.clone(),
            epoch_us: self.epoch_us,
            crashes: match slot.role {
                Role::Service { .. } => self.service_crashes.clone(),
                Role::Relay { .. } => self.relay_crashes.clone(),
            },
            trace: self.trace,
        }
    }

    /// Whether an event comes from the incarnation now running in `slot` (not one killed before).
    fn current(&self, slot: usize, incarnation: u32) -> bool {
        let slot = &self.slots[slot];
        slot.running.is_some() && slot.incarnation == incarnation
    }

    fn handle(&mut self, event: Event) -> Result<(), SimError> {
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
                    Err(WireError::Io(err)) => {
                        Err(self.child_error(slot, format!("could not be read from: {err}")))
                    }
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
                if self.slots[slot].done && status.success() {
                    return Ok(());
                }
                Err(SimError::Child {
                    actor: self.slots[slot].name.clone(),
                    problem: format!(
                        "exited by itself ({status}) where only the lab's SIGKILL should stop it{}",
                        said(&stderr)
                    ),
                })
            }
        }
    }

    /// Carries out one line from the running child in `slot`.
    fn obey(&mut self, index: usize, up: Up) -> Result<(), SimError> {
        let world = self.world;
        let slot = &mut self.slots[index];
        let is_relay = matches!(slot.role, Role::Relay { .. });
        match up {
            Up::Publish { event, order } => world.publish(&slot.name, event, order)?,
            Up::CrashPoint { point, order } => {
                let component = match slot.role {
                    Role::Service { .. } => Component::Service,
                    Role::Relay { .. } => Component::Relay,
                };
                if point.component() != component {
                    return Err(self.child_error(index, format!("claimed to reach {point}")));
                }
                if world.crash_here(&slot.name, point, order)? {
                    return self.kill(index, point, order);
                }
                self.answer(index, &Down::Live);
            }
            Up::PassStarted { rows, lease_until } if is_relay && slot.open_pass.is_none() => {
                let id = world.obs.pass_started(&slot.name, &rows, lease_until);
                slot.open_pass = Some(id);
                self.answer(index, &Down::Pass { id });
            }
            Up::PassEnded { pass } if slot.open_pass == Some(pass) => {
                world.obs.pass_ended(pass);
                slot.open_pass = None;
            }
            Up::Marked {
                pass,
                marked,
                fenced,
            } if slot.open_pass == Some(pass) => world.obs.marked(&slot.name, pass, marked, fenced),
            Up::Trace { step, detail } => world.obs.trace(&slot.name, &step, detail.borrowed()),
            Up::OrderHandled if !is_relay => world.obs.order_handled(),
            Up::Done { steps } if !is_relay => {
                slot.done = true;
                self.steps += steps;
            }
            Up::Stopped { steps } => self.steps += steps,
            other => {
                return Err(self.child_error(index, format!("sent {other:?} out of turn")));
            }
        }
        Ok(())
    }

    /// Answers the running child in `slot`. A child that can no longer hear has died, and its
    /// closed output reports that.
    fn answer(&mut self, slot: usize, down: &Down) {
        if let Some(stdin) = self.slots[slot]
            .running
            .as_mut()
            .and_then(|r| r.stdin.as_mut())
        {
            let _ = wire::write(stdin, down);
        }
    }

    /// The crash strikes: SIGKILL, reap, and a new incarnation after the restart delay.
    fn kill(&mut self, index: usize, point: CrashPoint, order: u32) -> Result<(), SimError> {
        let restart = Duration::from_millis(self.world.config.restart_ms);
        let slot = &mut self.slots[index];
        let Some(mut running) = slot.running.take() else {
            return Ok(());
        };
        if let Some(pass) = slot.open_pass.take() {
            self.world.obs.pass_ended(pass);
        }
        let pid = running.child.id();
        let status = running
            .child
            .kill()
            .and_then(|()| running.child.wait())
            .map_err(|cause| SimError::Child {
                actor: format!("{} (pid {pid})", slot.name),
                problem: format!("could not be killed: {cause}"),
            })?;
        if !killed_by_sigkill(&status) {
            return Err(SimError::Child {
                actor: format!("{} (pid {pid})", slot.name),
                problem: format!("was to die by SIGKILL at {point} but ended with {status}"),
            });
        }
        self.stats.killed += 1;
        *self.stats.killed_by_point.entry(point).or_insert(0) += 1;
        if let Role::Service { next } = &mut slot.role {
            // The client does not retry the request that died with the service.
            *next = order + 1;
        }
        slot.incarnation += 1;
        slot.restart_at = Some(Instant::now() + restart);
        Ok(())
    }

    /// Waits for the child in `slot`, whose output has ended, to exit.
    fn reap(&mut self, slot: usize) -> Result<ExitStatus, SimError> {
        let Some(mut running) = self.slots[slot].running.take() else {
            return Err(SimError::Internal("reaping a child that is not running"));
        };
        let gave_up = Instant::now() + EXIT_GRACE;
        loop {
            match running.child.try_wait() {
                Ok(Some(status)) => return Ok(status),
                Ok(None) if Instant::now() < gave_up => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                Ok(None) => {
                    pipes::end(&mut running.child);
                    self.slots[slot].running = None;
                    return Err(self.child_error_pid(
                        slot,
                        running.child.id(),
                        format!(
                            "did not exit within {} s of closing its output, and was killed",
                            EXIT_GRACE.as_secs()
                        ),
                    ));
                }
                Err(cause) => {
                    return Err(self.child_error_pid(
                        slot,
                        running.child.id(),
                        format!("could not be waited for: {cause}"),
                    ));
                }
            }
        }
    }

    /// Closes every child's input, collects their goodbyes and reaps them. Returns the steps.
    fn shutdown(&mut self) -> Result<u64, SimError> {
        for slot in &mut self.slots {
            slot.restart_at = None;
            if let Some(running) = &mut slot.running {
                running.stdin = None;
            }
        }
        let gave_up = Instant::now() + EXIT_GRACE;
        while self.slots.iter().any(|s| s.running.is_some()) {
            let left = gave_up.saturating_duration_since(Instant::now());
            let Ok(event) = self.events.recv_timeout(left) else {
                break;
            };
            match event {
                Event::Line {
                    slot,
                    incarnation,
                    line: Ok(Up::Stopped { steps }),
                } if self.current(slot, incarnation) => self.steps += steps,
                // Anything else a stopping child says changes nothing now.
                Event::Line { .. } => {}
                Event::Closed {
                    slot,
                    incarnation,
                    stderr,
                } if self.current(slot, incarnation) => {
                    let status = self.reap(slot)?;
                    if !status.success() {
                        return Err(SimError::Child {
                            actor: self.slots[slot].name.clone(),
                            problem: format!("failed as it stopped ({status}){}", said(&stderr)),
                        });
                    }
                }
                Event::Closed { .. } => {}
            }
        }
        if let Some(slot) = self.slots.iter().position(|s| s.running.is_some()) {
            return Err(self.child_error(
                slot,
                format!(
                    "did not stop within {} s of its input closing, and was killed",
                    EXIT_GRACE.as_secs()
                ),
            ));
        }
        Ok(self.steps)
    }

    fn child_error(&self, slot: usize, problem: String) -> SimError {
        let pid = self.slots[slot].running.as_ref().map(|r| r.child.id());
        match pid {
            Some(pid) => self.child_error_pid(slot, pid, problem),
            None => SimError::Child {
                actor: self.slots[slot].name.clone(),
                problem,
            },
        }
    }

    fn child_error_pid(&self, slot: usize, pid: u32, problem: String) -> SimError {
        SimError::Child {
            actor: format!("{} (pid {pid})", self.slots[slot].name),
            problem,
        }
    }
}

impl Slot {
    fn new(name: String, role: Role) -> Self {
        Slot {
            name,
            role,
            incarnation: 0,
            running: None,
            restart_at: None,
            open_pass: None,
            done: false,
        }
    }
}

impl Drop for Fleet<'_> {
    /// Whatever ended the run, no child outlives it.
    fn drop(&mut self) {
        for slot in &mut self.slots {
            if let Some(mut running) = slot.running.take() {
                pipes::end(&mut running.child);
            }
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::sim::broker::Broker;
    use crate::sim::clock::EpochClock;
    use crate::sim::crash::consumer::Consumer;
    use crate::sim::crash::fault::FaultRates;
    use crate::sim::crash::mutant::Mutant;
    use crate::sim::crash::observer::Observer;
    use crate::sim::crash::schedule::{CrashPlan, NaiveOrder, Trigger};
    use crate::sim::crash::world::ClaimMode;
    use crate::sim::crash::world::Config;
    use crate::sim::error::SimError;
    use crate::sim::model::Pipeline;
    use crate::sim::progress::NoProgress;
    use crate::sim::storage::Backend;
    use crate::sim::storage::sqlite::sql::Durability;
    use std::sync::atomic::AtomicU32;

    struct Ran {
        result: Result<u64, SimError>,
        stats: ProcessStats,
    }

    /// Runs an outbox pipeline with one relay, each child a shell script (`$0` is the actor's
    /// name), against a schedule that crashes the service after committing order 5.
    fn run_script(script: &str, settles: bool) -> Ran {
        let dir = tempfile::tempdir().unwrap();
        let backend = Backend::sqlite(dir.path(), "outbox", Durability::Off);
        backend.create(true).unwrap();
        let config = Config {
            seed: 1,
            orders: 20,
            naive_order: NaiveOrder::CommitFirst,
            claim: ClaimMode::Lease,
            batch: 10,
            consumer_batch: 1,
            lease_ms: 1000,
            poll_ms: 2,
            restart_ms: 5,
            faults: FaultRates::OFF,
            mutant: Mutant::None,
            release_dead_claims: true,
        };
        let plan = CrashPlan::Exact {
            at: vec!["service-after-commit:5".parse().unwrap()],
            rate: 0.0,
        };
        let schedule = Schedule::build(&plan, 20, NaiveOrder::CommitFirst, 1);
        let epoch = EpochClock::start();
        let clock: crate::sim::clock::SharedClock = std::sync::Arc::new(epoch);
        let trigger = Trigger::new(&schedule, Pipeline::Outbox);
        let broker = Broker::new();
        let obs = Observer::new((1, Pipeline::Outbox, 20), &epoch, None, &NoProgress);
        let world = World {
            pipeline: Pipeline::Outbox,
            config: &config,
            clock: &clock,
            clocks: &[],
            own: Default::default(),
            broker: &broker,
            bell: &Default::default(),
            trigger: &trigger,
            obs: &obs,
            location: backend.location(),
            client: &AtomicU32::new(1),
            gate: None,
        };
        let launcher = Launcher::new("sh", &["-c", script]);
        let mut fleet = Fleet::new(&world, &launcher, &schedule, 1, epoch.unix_us(), false);
        let settled = || Ok(settles);
        let result = run(
            &mut fleet,
            Life::new(Box::new(|n| Box::new(Consumer::reborn(n)))),
            &settled,
            Duration::from_secs(2),
        );
        let stats = fleet.stats().clone();
        drop(fleet);
        for pid in &stats.pids {
            assert!(
                !Path::new(&format!("/proc/{pid}")).exists(),
                "child {pid} outlived its fleet"
            );
        }
        Ran { result, stats }
    }

    fn error_of(ran: Ran) -> String {
        match ran.result {
            Ok(steps) => panic!("the run succeeded ({steps} steps)"),
            Err(err) => err.to_string(),
        }
    }

    /// The service reaches its crash point, is killed, and its next incarnation starts at order 6
    /// and finishes; the relay idles until its input closes.
    const WELL_BEHAVED: &str = r#"
        read spec
        case "$0" in
        service)
            case "$spec" in
            *'"incarnation":1'*'"next":6'*|*'"next":6'*'"incarnation":1'*)
                echo '{"done":{"steps":3}}' ;;
            *)
                echo '{"crash-point":{"point":"service-after-commit","order":5}}'
                exec sleep 30 ;;
            esac ;;
        *)
            cat >/dev/null
            echo '{"stopped":{"steps":4}}' ;;
        esac
    "#;

    #[test]
    fn a_child_at_its_crash_point_is_killed_and_reborn_at_the_next_order() {
        let ran = run_script(WELL_BEHAVED, true);
        let steps = ran.result.expect("the run succeeds");
        assert!(steps >= 3 + 4, "{steps}");
        assert_eq!(ran.stats.spawned, 3);
        assert_eq!(ran.stats.killed, 1);
        assert_eq!(
            ran.stats
                .killed_by_point
                .get(&CrashPoint::ServiceAfterCommit),
            Some(&1)
        );
    }

    #[test]
    fn a_line_that_is_not_the_protocol_is_an_error_naming_the_child() {
        let err = error_of(run_script("read spec; echo garbage; exec sleep 30", true));
        assert!(err.contains("a child process of the lab"), "{err}");
        assert!(err.contains("(pid "), "{err}");
        assert!(err.contains("not the lab's protocol"), "{err}");
        assert!(err.contains("garbage"), "{err}");
    }

    #[test]
    fn a_child_that_exits_by_itself_is_an_error_with_what_it_said() {
        let err = error_of(run_script(
            "read spec; echo 'no database' >&2; exit 3",
            true,
        ));
        assert!(
            err.starts_with("service") || err.starts_with("relay-1"),
            "{err}"
        );
        assert!(err.contains("exited by itself"), "{err}");
        assert!(err.contains("exit status: 3"), "{err}");
        assert!(err.contains("it said: no database"), "{err}");
    }

    #[test]
    fn a_message_out_of_turn_is_an_error() {
        let err = error_of(run_script(
            r#"read spec; echo '{"pass-ended":{"pass":7}}'; exec sleep 30"#,
            true,
        ));
        assert!(err.contains("out of turn"), "{err}");
        let err = error_of(run_script(
            r#"read spec; echo '{"crash-point":{"point":"consumer-after-commit","order":1}}'; exec sleep 30"#,
            true,
        ));
        assert!(
            err.contains("claimed to reach consumer-after-commit"),
            "{err}"
        );
    }

    #[test]
    fn a_silent_child_times_out_and_is_killed_rather_than_waited_for() {
        let started = Instant::now();
        let ran = run_script("exec sleep 30", false);
        assert!(started.elapsed() < Duration::from_secs(10));
        let err = error_of(ran);
        assert!(err.contains("did not settle"), "{err}");
    }
}
