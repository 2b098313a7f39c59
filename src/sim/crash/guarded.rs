//! An actor's database connection seen through the gate: every statement is a point where the
//! actor may crash or, under the seeded scheduler, wait while another actor runs.

use std::sync::{Arc, Mutex};

use super::fault::{Op, Phase};
use super::gate::Gate;
use super::power::{self, Socket};
use crate::sim::error::SimError;
use crate::sim::model::{Envelope, Order};
use crate::sim::storage::seam::{Claim, OutboxRow, Storage};

pub struct Guarded {
    /// The connection itself, which a power loss on the actor's host closes under it.
    inner: Socket,
    gate: Arc<Gate>,
    slot: usize,
}

impl Guarded {
    pub fn new(
        mut inner: Box<dyn Storage>,
        gate: Arc<Gate>,
        slot: usize,
    ) -> Result<Self, SimError> {
        if gate.is_seeded() {
            inner.no_wait()?;
        }
        let host = gate.power().and_then(|power| power.host_of(slot));
        let inner = match (gate.power(), host) {
            (Some(power), Some(host)) => power.plug(host, inner),
            _ => Arc::new(Mutex::new(Some(inner))),
        };
        Ok(Guarded { inner, gate, slot })
    }

    /// Makes one call: a point before it, the call (tried again while another actor holds the
    /// lock it needs), and a point after it.
    fn call<T>(
        &mut self,
        op: Op,
        mut f: impl FnMut(&mut dyn Storage) -> Result<T, SimError>,
    ) -> Result<T, SimError> {
        loop {
            self.point(op, Phase::Before)?;
            self.gate.enter_call(self.slot);
            // A connection the power took is gone: the call dies with the actor.
            let result = match power::lock(&self.inner).as_deref_mut() {
                Some(conn) => f(conn),
                None => Err(SimError::Crashed),
            };
            self.gate.leave_call(self.slot)?;
            match result {
                Err(err) if err.is_busy() && self.gate.is_seeded() => {
                    self.gate.blocked(self.slot)?
                }
                result => {
                    let value = result?;
                    self.point(op, Phase::After)?;
                    return Ok(value);
                }
            }
        }
    }

    /// A point where faults strike. When a crash strikes, whatever the connection holds back
    /// for the commit goes to the database first: without holding it would be there already,
    /// so the transaction dies open on the server, as the crash point means.
    fn point(&mut self, op: Op, phase: Phase) -> Result<(), SimError> {
        let result = self.gate.point(self.slot, op, phase);
        if matches!(result, Err(SimError::Crashed))
            && let Some(conn) = power::lock(&self.inner).as_deref_mut()
        {
            // The actor dies either way; a failure here changes nothing it leaves behind.
            let _ = conn.open_on_server();
        }
        result
    }
}

impl Storage for Guarded {
    fn begin(&mut self) -> Result<(), SimError> {
        self.call(Op::Begin, |s| s.begin())
    }

    fn commit(&mut self) -> Result<(), SimError> {
        self.call(Op::Commit, |s| s.commit())
    }

    /// Not a point where faults strike, so a seed schedules the same faults whether or not the
    /// connection holds anything: it only sends sooner what the next statement would send.
    fn open_on_server(&mut self) -> Result<(), SimError> {
        match power::lock(&self.inner).as_deref_mut() {
            Some(conn) => conn.open_on_server(),
            None => Err(SimError::Crashed),
        }
    }

    fn insert_order(&mut self, order: &Order, now: u64) -> Result<(), SimError> {
        self.call(Op::InsertOrder, |s| s.insert_order(order, now))
    }

    fn insert_outbox(&mut self, event: &Envelope, now: u64) -> Result<(), SimError> {
        self.call(Op::InsertOutbox, |s| s.insert_outbox(event, now))
    }

    fn claim_batch(&mut self, owner: &str, lease_ms: u64, limit: u32) -> Result<Claim, SimError> {
        self.call(Op::Claim, |s| s.claim_batch(owner, lease_ms, limit))
    }

    fn claim_batch_by_own_clock(
        &mut self,
        owner: &str,
        now: u64,
        lease_until: u64,
        limit: u32,
    ) -> Result<Claim, SimError> {
        self.call(Op::Claim, |s| {
            s.claim_batch_by_own_clock(owner, now, lease_until, limit)
        })
    }

    fn mark_claimed_sent(&mut self, owner: &str, ids: &[i64], now: u64) -> Result<usize, SimError> {
        self.call(Op::Mark, |s| s.mark_claimed_sent(owner, ids, now))
    }

    fn release_claims(&mut self, prefix: &str) -> Result<(), SimError> {
        self.call(Op::Release, |s| s.release_claims(prefix))
    }

    fn select_unsent(&mut self, limit: u32) -> Result<Vec<OutboxRow>, SimError> {
        self.call(Op::Select, |s| s.select_unsent(limit))
    }

    fn select_unleased(&mut self, limit: u32) -> Result<Vec<OutboxRow>, SimError> {
        self.call(Op::Select, |s| s.select_unleased(limit))
    }

    fn mark_sent(&mut self, ids: &[i64], now: u64) -> Result<usize, SimError> {
        self.call(Op::Mark, |s| s.mark_sent(ids, now))
    }

    fn unsent_count(&mut self) -> Result<u64, SimError> {
        self.call(Op::Read, |s| s.unsent_count())
    }

    fn committed_orders(&mut self) -> Result<Vec<(u32, i64)>, SimError> {
        self.call(Op::Read, |s| s.committed_orders())
    }

    fn inbox_record(&mut self, event_id: &str, now: u64) -> Result<bool, SimError> {
        self.call(Op::Inbox, |s| s.inbox_record(event_id, now))
    }

    fn insert_charge(
        &mut self,
        order_id: &str,
        amount_cents: i64,
        event_id: &str,
        now: u64,
    ) -> Result<(), SimError> {
        self.call(Op::Charge, |s| {
            s.insert_charge(order_id, amount_cents, event_id, now)
        })
    }

    fn charges(&mut self) -> Result<Vec<(String, i64, u64)>, SimError> {
        self.call(Op::Read, |s| s.charges())
    }

    fn inbox_has(&mut self, event_id: &str) -> Result<bool, SimError> {
        self.call(Op::Inbox, |s| s.inbox_has(event_id))
    }

    fn claim_ids(&mut self, owner: &str, ids: &[i64], lease_ms: u64) -> Result<Claim, SimError> {
        self.call(Op::Claim, |s| s.claim_ids(owner, ids, lease_ms))
    }

    fn insert_sequenced(
        &mut self,
        event: &Envelope,
        partition: u32,
        sequence: u32,
        now: u64,
    ) -> Result<(), SimError> {
        self.call(Op::InsertOutbox, |s| {
            s.insert_sequenced(event, partition, sequence, now)
        })
    }

    fn claim_partition(
        &mut self,
        partition: u32,
        owner: &str,
        lease_ms: u64,
        limit: u32,
    ) -> Result<Claim, SimError> {
        self.call(Op::Claim, |s| {
            s.claim_partition(partition, owner, lease_ms, limit)
        })
    }

    fn applied_sequence(&mut self, aggregate_id: &str) -> Result<u32, SimError> {
        self.call(Op::Read, |s| s.applied_sequence(aggregate_id))
    }

    fn apply_sequence(
        &mut self,
        aggregate_id: &str,
        sequence: u32,
        event_type: &str,
        now: u64,
    ) -> Result<(), SimError> {
        self.call(Op::Charge, |s| {
            s.apply_sequence(aggregate_id, sequence, event_type, now)
        })
    }
}
