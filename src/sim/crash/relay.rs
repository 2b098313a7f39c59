//! A relay replica: claim a batch of unsent outbox rows, publish each, mark them sent.

use crate::sim::crash::mutant::Mutant;
use crate::sim::crash::runner::Poll;
use crate::sim::crash::schedule::CrashPoint;
use crate::sim::crash::world::{Actor, ClaimMode, Db, Link, Outside, World};
use crate::sim::error::SimError;
use crate::sim::storage::seam::{Claim, OutboxRow};

pub struct Relay {
    name: String,
    link: Link,
    pass: Option<Pass>,
    passes: u64,
    /// Rows read but not yet claimed, for a relay that selects in one step and claims in the next.
    selected: Option<Vec<i64>>,
    /// Whether this incarnation still owes its dead predecessors' claims back (see
    /// [`Config::release_dead_claims`](crate::sim::crash::world::Config)).
    owes_release: bool,
}

/// The batch a relay is working through. Lives in memory only: a crash forgets it.
struct Pass {
    id: u64,
    /// The claim token written into the rows: relay, incarnation and pass, so the fence is exact.
    token: String,
    rows: Vec<OutboxRow>,
    published: usize,
    /// Already marked sent, by a relay that marks before it publishes.
    marked: bool,
}

impl Relay {
    /// Replica `index` started after `incarnation` deaths: a new owner for every claim it makes.
    pub fn reborn(index: u32, incarnation: u32) -> Self {
        Relay {
            name: format!("relay-{index}"),
            link: Link::reborn(Db::Service, incarnation),
            pass: None,
            passes: 0,
            selected: None,
            owes_release: incarnation > 0,
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

    /// Claims a batch, timed by the database's clock: the relay's own says how long to wait
    /// before it looks again, never whose lease has run out.
    fn claim(&mut self, world: &impl Outside) -> Result<Poll, SimError> {
        let token = self.next_token();
        let now = world.now();
        let config = world.config();
        let (lease, batch) = (config.lease_ms, config.batch);
        let conn = self.link.get(world, &self.name)?;
        if self.owes_release && config.release_dead_claims && config.claim == ClaimMode::Lease {
            // Its earlier incarnations are dead: nobody will publish what they held. Every
            // token of this replica starts with its name, and this incarnation holds nothing yet.
            conn.release_claims(&format!("{}.", self.name))?;
        }
        self.owes_release = false;
        let claim = match (config.claim, config.mutant) {
            (ClaimMode::None, _) => Claim {
                rows: conn.select_unsent(batch)?,
                lease_until: Some(0),
            },
            (ClaimMode::Lease, Mutant::ClaimIgnoringLease) => conn.claim_batch_by_own_clock(
                &token,
                i64::MAX as u64,
                now.saturating_add(lease),
                batch,
            )?,
            (ClaimMode::Lease, Mutant::LeaseFromOwnClock) => {
                conn.claim_batch_by_own_clock(&token, now, now.saturating_add(lease), batch)?
            }
            (ClaimMode::Lease, Mutant::SelectThenClaim) => {
                let ids: Vec<i64> = conn.select_unleased(batch)?.iter().map(|r| r.id).collect();
                conn.claim_ids(&token, &ids, lease)?
            }
            (ClaimMode::Lease, Mutant::SelectThenClaimTwoSteps) => match self.selected.take() {
                Some(ids) => conn.claim_ids(&token, &ids, lease)?,
                None => {
                    let ids: Vec<i64> = conn.select_unleased(batch)?.iter().map(|r| r.id).collect();
                    if ids.is_empty() {
                        return Ok(Poll::Sleep(now + config.poll_ms));
                    }
                    self.selected = Some(ids);
                    return Ok(Poll::Ready);
                }
            },
            (ClaimMode::Lease, _) => conn.claim_batch(&token, lease, batch)?,
        };
        let Claim { rows, lease_until } = claim;
        if rows.is_empty() {
            return Ok(Poll::Sleep(now + config.poll_ms));
        }
        if config.mutant == Mutant::CommitClaimEarly
            && config.mutant.applies(world.location().is_postgres())
        {
            conn.commit()?;
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        // Without claims nothing is held; row locks are held until the pass ends.
        let pass = world.pass_started(&self.name, &ids, lease_until.unwrap_or(u64::MAX))?;
        for order in rows.iter().filter_map(|r| r.event.order_number()) {
            if world.crash_here(&self.name, CrashPoint::RelayAfterClaim, order)? {
                return Ok(self.crash(world, pass));
            }
        }
        let mut pass = Pass {
            id: pass,
            token,
            rows,
            published: 0,
            marked: false,
        };
        if config.mutant == Mutant::MarkBeforePublish {
            self.mark(world, &mut pass)?;
        }
        self.pass = Some(pass);
        Ok(Poll::Ready)
    }

    /// Marks the pass's rows sent, fenced by its claim token.
    fn mark(&mut self, world: &impl Outside, pass: &mut Pass) -> Result<(), SimError> {
        let ids: Vec<i64> = pass.rows.iter().map(|r| r.id).collect();
        let now = world.now();
        let config = world.config();
        let conn = self.link.get(world, &self.name)?;
        let (marked, fenced) = match (config.claim, config.mutant) {
            (ClaimMode::Lease, Mutant::MarkRangeWithoutFence) => {
                let lo = ids.iter().min().copied().unwrap_or(0);
                let hi = ids.iter().max().copied().unwrap_or(-1);
                let range: Vec<i64> = (lo..=hi).collect();
                (conn.mark_sent(&range, now)?, 0)
            }
            (ClaimMode::Lease, _) => {
                let marked = conn.mark_claimed_sent(&pass.token, &ids, now)?;
                (marked, ids.len() - marked)
            }
            // Without claims nothing is fenced: a row another replica marked first is skipped.
            (ClaimMode::None, _) => (conn.mark_sent(&ids, now)?, 0),
        };
        pass.marked = true;
        world.marked(&self.name, pass.id, marked, fenced);
        Ok(())
    }

    /// Publishes the pass's next row, or marks the whole pass sent.
    pub fn step_in(&mut self, world: &impl Outside) -> Result<Poll, SimError> {
        let Some(mut pass) = self.pass.take() else {
            return self.claim(world);
        };
        if let Some(row) = pass.rows.get(pass.published) {
            let order = row.event.order_number();
            match world.publish(&self.name, row.event.clone(), order) {
                Ok(()) => {}
                // No acknowledgement: the pass is abandoned unmarked, and its rows go out again
                // once the lease runs out. The connection is dropped, which on PostgreSQL ends the
                // claim's transaction and frees its rows at once.
                Err(SimError::Unacknowledged) => {
                    world.pass_ended(pass.id);
                    self.link.reconnect();
                    if world.config().release_dead_claims
                        && world.config().claim == ClaimMode::Lease
                    {
                        // Nobody will work on the pass any more: its rows go out again now
                        // rather than when the lease runs out. Later passes of this relay have
                        // longer tokens but none exists yet.
                        self.link
                            .get(world, &self.name)?
                            .release_claims(&pass.token)?;
                    }
                    return Ok(Poll::Sleep(world.now() + world.config().poll_ms));
                }
                Err(err) => return Err(err),
            }
            pass.published += 1;
            if let Some(order) = order
                && world.crash_here(&self.name, CrashPoint::RelayAfterPublish, order)?
            {
                return Ok(self.crash(world, pass.id));
            }
            self.pass = Some(pass);
            return Ok(Poll::Ready);
        }
        if !pass.marked {
            self.mark(world, &mut pass)?;
        }
        world.pass_ended(pass.id);
        Ok(Poll::Ready)
    }
}

impl Actor for Relay {
    fn step(&mut self, world: &World<'_>) -> Result<Poll, SimError> {
        self.step_in(world)
    }

    fn name(&self) -> &str {
        &self.name
    }
}
