//! A relay replica: claim a batch of unsent outbox rows, publish each, mark them sent.

use crate::sim::crash::runner::Poll;
use crate::sim::crash::schedule::CrashPoint;
use crate::sim::crash::world::{Actor, ClaimMode, Db, Link, Outside, World};
use crate::sim::error::SimError;
use crate::sim::storage::seam::OutboxRow;

pub struct Relay {
    name: String,
    link: Link,
    pass: Option<Pass>,
    passes: u64,
}

/// The batch a relay is working through. Lives in memory only: a crash forgets it.
struct Pass {
    id: u64,
    /// The claim token written into the rows: relay, incarnation and pass, so the fence is exact.
    token: String,
    rows: Vec<OutboxRow>,
    published: usize,
}

impl Relay {
    pub fn new(index: u32) -> Self {
        Relay::reborn(index, 0)
    }

    /// Replica `index` started after `incarnation` deaths: a new owner for every claim it makes.
    pub fn reborn(index: u32, incarnation: u32) -> Self {
        Relay {
            name: format!("relay-{index}"),
            link: Link::reborn(Db::Service, incarnation),
            pass: None,
            passes: 0,
        }
    }

    /// The token for the next claim: a restarted replica, and each of its passes, is a new owner.
    fn next_token(&mut self) -> String {
        self.passes += 1;
        format!("{}.{}.{}", self.name, self.link.incarnation, self.passes)
    }

    /// Dies holding `pass` (the crash is already recorded).
    fn crash(&mut self, world: &impl Outside, pass: u64) -> Poll {
        world.pass_ended(pass);
        self.pass = None;
        self.link.crash();
        Poll::Crashed(world.now() + world.config().restart_ms)
    }

    fn claim(&mut self, world: &impl Outside) -> Result<Poll, SimError> {
        let token = self.next_token();
        let now = world.now();
        let config = world.config();
        let conn = self.link.get(world, &self.name)?;
        let rows = match config.claim {
            ClaimMode::Lease => conn.claim_batch(
                &token,
                now,
                now.saturating_add(config.lease_ms),
                config.batch,
            )?,
            ClaimMode::None => conn.select_unsent(config.batch)?,
        };
        if rows.is_empty() {
            return Ok(Poll::Sleep(now + config.poll_ms));
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let pass = world.pass_started(&self.name, &ids)?;
        for order in rows.iter().filter_map(|r| r.event.order_number()) {
            if world.crash_here(&self.name, CrashPoint::RelayAfterClaim, order)? {
                return Ok(self.crash(world, pass));
            }
        }
        self.pass = Some(Pass {
            id: pass,
            token,
            rows,
            published: 0,
        });
        Ok(Poll::Ready)
    }

    /// Publishes the pass's next row, or marks the whole pass sent.
    pub fn step_in(&mut self, world: &impl Outside) -> Result<Poll, SimError> {
        let Some(mut pass) = self.pass.take() else {
            return self.claim(world);
        };
        if let Some(row) = pass.rows.get(pass.published) {
            let order = row.event.order_number();
            world.publish(&self.name, row.event.clone(), order);
            pass.published += 1;
            if let Some(order) = order
                && world.crash_here(&self.name, CrashPoint::RelayAfterPublish, order)?
            {
                return Ok(self.crash(world, pass.id));
            }
            self.pass = Some(pass);
            return Ok(Poll::Ready);
        }
        let ids: Vec<i64> = pass.rows.iter().map(|r| r.id).collect();
        let now = world.now();
        let claim = world.config().claim;
        let conn = self.link.get(world, &self.name)?;
        let (marked, fenced) = match claim {
            ClaimMode::Lease => {
                let marked = conn.mark_claimed_sent(&pass.token, &ids, now)?;
                (marked, ids.len() - marked)
            }
            // Without claims nothing is fenced: a row another replica marked first is skipped.
            ClaimMode::None => (conn.mark_sent(&ids, now)?, 0),
        };
        world.marked(&self.name, pass.id, marked, fenced);
        world.pass_ended(pass.id);
        Ok(Poll::Ready)
    }
}

impl Actor for Relay {
    fn step(&mut self, world: &World<'_>) -> Result<Poll, SimError> {
        self.step_in(world)
    }
}
