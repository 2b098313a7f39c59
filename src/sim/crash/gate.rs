//! The gate every call of an actor passes through: where faults are drawn and, under the seeded
//! scheduler, where one actor hands the run to another in the middle of its step.
//!
//! Under the seeded scheduler each actor runs on its own thread, but only the one holding the
//! turn moves: at every call to its database or the broker it may be told to wait while another
//! actor runs, so two relays' statements interleave one by one, not only their whole steps. Every
//! choice (whose turn, which fault) comes from one seeded generator drawn by whoever holds the
//! turn, so a seed still replays exactly. In real time (`--threads`) the gate only draws faults.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use super::fault::{Fault, FaultRates, Op, Phase};
use super::power::{Host, Power, PowerLoss};
use super::runner::Poll;
use std::sync::Arc;

use crate::sim::clock::SimClock;
use crate::sim::error::SimError;

/// Chance that a seeded actor hands over the turn at a call: often enough that statements of
/// different actors interleave everywhere, rarely enough that most steps still run whole.
const SWITCH: f64 = 0.25;

/// How long a call may wait inside the database before the others are let on. The lab's own
/// statements never wait for a lock under the seeded scheduler, so this is a safety net for code
/// that does (on PostgreSQL, an UPDATE of a row another actor, waiting for its turn, has locked),
/// set long enough that a merely slow statement on a busy machine does not trip it.
const STUCK_CALL: Duration = Duration::from_secs(1);

pub struct Gate {
    /// The run's simulated time, which the seeded scheduler moves on.
    clock: Arc<SimClock>,
    rates: FaultRates,
    seeded: bool,
    /// Whether a call that waits too long inside the database gives up the turn (PostgreSQL).
    watchdog: bool,
    state: Mutex<State>,
    /// One condition per actor, so that passing the turn wakes only the actor that gets it.
    turns: Vec<Condvar>,
    /// Signalled when the run ends.
    ended: Condvar,
    /// The machines' power, when the run models power loss (seeded runs only).
    power: Option<Arc<Power>>,
}

struct State {
    rng: ChaCha8Rng,
    /// Real time only: one generator per actor, so that what one actor draws does not depend on
    /// how the threads happened to take turns.
    rngs: Vec<ChaCha8Rng>,
    slots: Vec<Slot>,
    holder: usize,
    now: u64,
    steps: u64,
    limit: u64,
    /// Steps in a row that found nothing to do.
    idle: usize,
    /// Set once the run is over: the steps it took, or why it failed.
    end: Option<Result<u64, SimError>>,
    over: bool,
    /// The holder's call into the database, and since when, while it is being made.
    in_call: Option<(usize, Instant)>,
    /// Faults that struck each actor without killing it, for its driver to report.
    noted: Vec<Vec<Fault>>,
}

#[derive(Clone, Copy, Default)]
struct Slot {
    /// The crash that struck the actor in this slot, until it is reborn: every call fails.
    struck: Option<Fault>,
    wake: u64,
    /// Waiting at a call in the middle of a step.
    mid: bool,
    /// Inside a call that waits on the database: it takes its turn again once the call returns.
    blocked: bool,
    done: bool,
    /// Its host lost power: every call fails until it is reborn.
    powered_off: bool,
}

/// What the scheduler asks between steps: whether the pipeline has drained.
pub struct Ticks<'a> {
    pub settled: &'a (dyn Fn() -> Result<bool, SimError> + Sync + 'a),
    /// Told of each power loss, once its host's log is cut.
    pub lost_power: &'a (dyn Fn(&PowerLoss) + Sync + 'a),
}

/// The shortest and longest pause a paused actor sits out, in simulated milliseconds: up to three
/// times the default lease, so a relay paused mid-pass wakes to find its rows taken.
const PAUSE_MS: (u64, u64) = (200, 3000);

impl Gate {
    /// A gate for the seeded scheduler over `actors` actors, the first of which is the service.
    pub fn seeded(
        actors: usize,
        seed: u64,
        rates: FaultRates,
        limit: u64,
        clock: Arc<SimClock>,
        watchdog: bool,
    ) -> Self {
        let mut gate = Gate::new(actors, seed, rates, limit, true);
        gate.clock = clock;
        gate.watchdog = watchdog;
        gate
    }

    /// A gate that only draws faults, for actors running in real time.
    pub fn free(actors: usize, seed: u64, rates: FaultRates) -> Self {
        Gate::new(actors, seed, rates, u64::MAX, false)
    }

    fn new(actors: usize, seed: u64, rates: FaultRates, limit: u64, seeded: bool) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let rngs = (0..actors)
            .map(|i| ChaCha8Rng::seed_from_u64(seed ^ (i as u64 + 1).wrapping_mul(0x9e37)))
            .collect();
        let holder = rng.random_range(0..actors.max(1));
        Gate {
            clock: Arc::default(),
            rates,
            seeded,
            watchdog: false,
            state: Mutex::new(State {
                rng,
                rngs,
                slots: vec![Slot::default(); actors],
                holder,
                now: 0,
                steps: 0,
                limit,
                idle: 0,
                end: None,
                over: false,
                in_call: None,
                noted: vec![Vec::new(); actors],
            }),
            turns: (0..actors).map(|_| Condvar::new()).collect(),
            ended: Condvar::new(),
            power: None,
        }
    }

    /// The same gate, cutting the power of `power`'s machines now and then between steps.
    pub fn with_power(mut self, power: Option<Arc<Power>>) -> Self {
        self.power = power.filter(|_| self.seeded);
        self
    }

    pub fn power(&self) -> Option<&Arc<Power>> {
        self.power.as_ref()
    }

    pub fn is_seeded(&self) -> bool {
        self.seeded
    }

    pub fn rates(&self) -> FaultRates {
        self.rates
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait_for<'g>(
        &'g self,
        mut state: MutexGuard<'g, State>,
        slot: usize,
    ) -> MutexGuard<'g, State> {
        while !state.over && state.holder != slot {
            if !self.watchdog {
                state = self.turns[slot]
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            state = self.turns[slot]
                .wait_timeout(state, STUCK_CALL / 4)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            let holder = state.holder;
            if state
                .in_call
                .is_some_and(|(who, since)| who == holder && since.elapsed() > STUCK_CALL)
            {
                self.unblock_others(&mut state);
            }
        }
        state
    }

    /// The holder waits inside the database, for a lock another actor holds while it waits for
    /// its turn: let the others move until the call returns.
    fn unblock_others(&self, state: &mut State) {
        let holder = state.holder;
        let now = state.now;
        let others: Vec<usize> = (0..state.slots.len())
            .filter(|&i| i != holder && state.slots[i].ready(now))
            .collect();
        if others.is_empty() {
            return;
        }
        state.slots[holder].blocked = true;
        state.in_call = None;
        state.holder = others[state.rng.random_range(0..others.len())];
        self.wake(state);
    }

    /// `slot` is about to make a call into its database.
    pub fn enter_call(&self, slot: usize) {
        if self.watchdog {
            self.state().in_call = Some((slot, Instant::now()));
        }
    }

    /// `slot`'s call returned. If the others moved on meanwhile, it waits for its turn again.
    pub fn leave_call(&self, slot: usize) -> Result<(), SimError> {
        if !self.watchdog {
            return Ok(());
        }
        let mut state = self.state();
        if state.in_call.is_some_and(|(who, _)| who == slot) {
            state.in_call = None;
        }
        if !state.slots[slot].blocked {
            return Ok(());
        }
        state.slots[slot].blocked = false;
        state.slots[slot].mid = true;
        let mut state = self.wait_for(state, slot);
        state.slots[slot].mid = false;
        if state.over {
            return Err(SimError::Stopped);
        }
        Ok(())
    }

    /// Wakes whoever holds the turn now, or everyone once the run is over.
    fn wake(&self, state: &State) {
        if state.over {
            for turn in &self.turns {
                turn.notify_all();
            }
            self.ended.notify_all();
        } else if let Some(turn) = self.turns.get(state.holder) {
            turn.notify_one();
        }
    }

    /// Waits until `slot` may start a step under the seeded scheduler; false once the run is over.
    pub fn wait_turn(&self, slot: usize) -> bool {
        !self.wait_for(self.state(), slot).over
    }

    /// Draws with chance `p` for `slot`: from the run's generator when seeded, else its own.
    pub fn draw(&self, slot: usize, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        self.state().rng(self.seeded, slot).random_bool(p.min(1.0))
    }

    /// Picks a number below `n` for `slot`, as [`Gate::draw`] does.
    pub fn pick(&self, slot: usize, n: usize) -> usize {
        self.state()
            .rng(self.seeded, slot)
            .random_range(0..n.max(1))
    }

    /// A call of `slot`'s is about to be made, or has just returned. Fails with
    /// [`SimError::Crashed`] when a crash strikes here, and from then on until the actor is
    /// reborn; under the seeded scheduler the actor may first wait here while others run.
    pub fn point(&self, slot: usize, op: Op, phase: Phase) -> Result<(), SimError> {
        let mut state = self.state();
        if state.over {
            return Err(SimError::Stopped);
        }
        if state.slots[slot].dead() {
            return Err(SimError::Crashed);
        }
        if self.rates.crash > 0.0
            && state
                .rng(self.seeded, slot)
                .random_bool(self.rates.crash.min(1.0))
        {
            state.slots[slot].struck = Some(Fault::Crash { phase, op });
            return Err(SimError::Crashed);
        }
        if !self.seeded || phase == Phase::After {
            return Ok(());
        }
        if self.rates.pause > 0.0 && state.rng.random_bool(self.rates.pause.min(1.0)) {
            let pause = state.rng.random_range(PAUSE_MS.0..=PAUSE_MS.1);
            let now = state.now;
            state.slots[slot].wake = now + pause;
            state.noted[slot].push(Fault::Pause);
            return self.hand_over(state, slot);
        }
        if state.rng.random_bool(SWITCH) {
            self.hand_over(state, slot)?;
        }
        Ok(())
    }

    /// Faults that struck `slot` without killing it since it was last asked.
    pub fn take_noted(&self, slot: usize) -> Vec<Fault> {
        std::mem::take(&mut self.state().noted[slot])
    }

    /// The actor in `slot` is being rebuilt: returns the fault that killed it, if the gate's. A
    /// power loss is reported once, for its host, not for each actor it killed.
    pub fn reborn(&self, slot: usize) -> Option<Fault> {
        let mut state = self.state();
        state.slots[slot].powered_off = false;
        state.slots[slot].struck.take()
    }

    /// `slot`'s call could not go on because another actor, waiting mid-step, holds a lock it
    /// needs: let the others run, then try again.
    pub fn blocked(&self, slot: usize) -> Result<(), SimError> {
        if !self.seeded {
            return Ok(());
        }
        let state = self.state();
        self.hand_over(state, slot)
    }

    /// Hands the turn to another actor that can move, if any, and waits for it to come back.
    fn hand_over<'g>(
        &'g self,
        mut state: MutexGuard<'g, State>,
        slot: usize,
    ) -> Result<(), SimError> {
        let n = state.slots.len();
        loop {
            let now = state.now;
            let ready: Vec<usize> = (0..n).filter(|&i| state.slots[i].ready(now)).collect();
            let others: Vec<usize> = ready.iter().copied().filter(|&i| i != slot).collect();
            if !others.is_empty() {
                state.holder = others[state.rng.random_range(0..others.len())];
                break;
            }
            if ready.contains(&slot) {
                return Ok(());
            }
            // Nobody can move, this actor included (it is paused): time jumps.
            let next = state
                .slots
                .iter()
                .filter(|s| !s.done && !s.blocked)
                .map(|s| s.wake)
                .min();
            match next {
                Some(next) => {
                    state.now = next.max(now + 1);
                    self.clock.set(state.now);
                }
                None => return Ok(()),
            }
        }
        state.slots[slot].mid = true;
        self.wake(&state);
        let mut state = self.wait_for(state, slot);
        state.slots[slot].mid = false;
        if state.over {
            return Err(SimError::Stopped);
        }
        // Its host may have lost power while it waited: it must not make the call.
        if state.slots[slot].dead() {
            return Err(SimError::Crashed);
        }
        Ok(())
    }

    /// `slot` finished a step with `poll`. Under the seeded scheduler, moves time on and passes
    /// the turn to the next actor, or ends the run once the service is done and the rest drained.
    pub fn step_ended(&self, slot: usize, poll: Poll, ticks: &Ticks<'_>) {
        if !self.seeded {
            return;
        }
        let mut state = self.state();
        let now = state.now;
        state.idle = if matches!(poll, Poll::Idle(_)) {
            state.idle + 1
        } else {
            0
        };
        let s = &mut state.slots[slot];
        match poll {
            Poll::Ready => s.wake = now + 1,
            Poll::Sleep(until) | Poll::Idle(until) | Poll::Crashed(until) => {
                s.wake = until.max(now + 1)
            }
            Poll::Done => s.done = true,
        }
        state.steps += 1;
        if state.steps > state.limit {
            let steps = state.steps;
            self.finish(&mut state, Err(SimError::Stuck { steps }));
            return;
        }
        state.now += 1;
        self.clock.set(state.now);
        let scheduled = self
            .lose_power(&mut state, ticks)
            .and_then(|()| self.schedule(&mut state, ticks));
        if let Err(err) = scheduled {
            self.finish(&mut state, Err(err));
        }
        self.wake(&state);
    }

    /// Between two steps, with the seeded chance, one host loses power: every component on it
    /// dies at once (one parked mid-step included), and its database keeps what reached the disk.
    fn lose_power(&self, state: &mut State, ticks: &Ticks<'_>) -> Result<(), SimError> {
        let Some(power) = &self.power else {
            return Ok(());
        };
        if !power.may_fail() || !state.rng.random_bool(super::power::POWER_LOSS_RATE) {
            return Ok(());
        }
        let host = Host::ALL[state.rng.random_range(0..Host::ALL.len())];
        let now = state.now;
        for (i, slot) in state.slots.iter_mut().enumerate() {
            if power.host_of(i) == Some(host) {
                slot.powered_off = true;
                // It dies as soon as it next gets the turn, and restarts from there.
                slot.wake = slot.wake.min(now);
            }
        }
        let rng = &mut state.rng;
        let loss = power.fail(host, now, |synced, length| {
            rng.random_range(synced..=length)
        })?;
        (ticks.lost_power)(&loss);
        Ok(())
    }

    /// Chooses whose turn it is, jumping time to the next wake-up when nobody can move.
    fn schedule(&self, state: &mut State, ticks: &Ticks<'_>) -> Result<(), SimError> {
        let n = state.slots.len();
        loop {
            let now = state.now;
            let ready: Vec<usize> = (0..n).filter(|&i| state.slots[i].ready(now)).collect();
            if (ready.is_empty() || state.idle >= n)
                && state.slots.first().is_some_and(|s| s.done)
                && !state.slots.iter().any(|s| s.mid || s.blocked)
                && (ticks.settled)()?
            {
                let steps = state.steps;
                self.finish(state, Ok(steps));
                return Ok(());
            }
            if state.idle >= n {
                state.idle = 0;
            }
            if ready.is_empty() {
                match state.slots.iter().filter(|s| !s.done).map(|s| s.wake).min() {
                    Some(next) => state.now = next.max(now + 1),
                    None => {
                        let steps = state.steps;
                        self.finish(state, Ok(steps));
                        return Ok(());
                    }
                }
                self.clock.set(state.now);
                continue;
            }
            state.holder = ready[state.rng.random_range(0..ready.len())];
            return Ok(());
        }
    }

    fn finish(&self, state: &mut State, end: Result<u64, SimError>) {
        if !state.over {
            state.end = Some(end);
            state.over = true;
        }
        self.wake(state);
    }

    /// Ends the run with `err`, the first failure winning.
    pub fn fail(&self, err: SimError) {
        let mut state = self.state();
        self.finish(&mut state, Err(err));
    }

    /// Ends a real-time run: every actor stops at its next call or step.
    pub fn stop(&self) {
        let mut state = self.state();
        let steps = state.steps;
        self.finish(&mut state, Ok(steps));
    }

    /// Waits for the seeded run to end; returns its steps.
    pub fn wait_end(&self) -> Result<u64, SimError> {
        let mut state = self.state();
        while !state.over {
            state = self
                .ended
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state
            .end
            .take()
            .unwrap_or(Err(SimError::Internal("the run ended twice")))
    }
}

impl State {
    /// The generator `slot` draws from: the run's one when seeded, else its own.
    fn rng(&mut self, seeded: bool, slot: usize) -> &mut ChaCha8Rng {
        if seeded {
            &mut self.rng
        } else {
            &mut self.rngs[slot]
        }
    }
}

impl Slot {
    /// Whether every call of the actor fails until it is reborn: a crash struck it, or its host
    /// lost power.
    fn dead(&self) -> bool {
        self.struck.is_some() || self.powered_off
    }

    /// Whether the actor can move now: a paused one waits for its wake-up even mid-step.
    fn ready(&self, now: u64) -> bool {
        !self.done && !self.blocked && self.wake <= now
    }
}
