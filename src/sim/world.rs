//! What every actor steps against: the run's configuration, clock, broker, crash trigger and observer.

use std::path::Path;

use rusqlite::Connection;

use super::broker::Broker;
use super::clock::Clock;
use super::db::{self, Durability};
use super::model::Pipeline;
use super::observer::Observer;
use super::schedule::{NaiveOrder, Trigger};
use super::{ClaimMode, SimError};

/// The knobs a run's actors read.
#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    pub orders: u32,
    pub naive_order: NaiveOrder,
    pub claim: ClaimMode,
    pub batch: u32,
    pub consumer_batch: u32,
    pub lease_ms: u64,
    pub poll_ms: u64,
    pub restart_ms: u64,
    pub durability: Durability,
}

pub struct World<'a> {
    pub pipeline: Pipeline,
    pub config: &'a Config,
    pub clock: &'a dyn Clock,
    pub broker: &'a Broker,
    pub trigger: &'a Trigger<'a>,
    pub obs: &'a Observer<'a>,
    pub service_db: &'a Path,
    pub billing_db: &'a Path,
}

impl World<'_> {
    pub fn now(&self) -> u64 {
        self.clock.now()
    }
}

/// What an actor wants after a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Poll {
    /// It did some work and can go again at once.
    Ready,
    /// Nothing to do before this time.
    Sleep(u64),
    /// It died; it restarts from what is durable at this time.
    Crashed(u64),
    /// It has nothing left to do in this run.
    Done,
}

/// A component of the pipeline, run one step at a time by a scheduler.
pub trait Actor: Send {
    fn step(&mut self, world: &World<'_>) -> Result<Poll, SimError>;
}

/// A component's own database connection, dropped on a crash and reopened on restart.
pub struct Link {
    path_is_billing: bool,
    conn: Option<Connection>,
    /// How many times the component has restarted; part of a relay's owner token.
    pub incarnation: u32,
}

impl Link {
    pub fn service() -> Self {
        Link {
            path_is_billing: false,
            conn: None,
            incarnation: 0,
        }
    }

    pub fn billing() -> Self {
        Link {
            path_is_billing: true,
            conn: None,
            incarnation: 0,
        }
    }

    /// The live connection, opened (a restart, after a crash) when there is none.
    pub fn get(&mut self, world: &World<'_>, actor: &str) -> Result<&Connection, SimError> {
        if self.conn.is_none() {
            let path = if self.path_is_billing {
                world.billing_db
            } else {
                world.service_db
            };
            let conn = db::open(path, world.config.durability).sql("opening a connection")?;
            if self.incarnation > 0 {
                world.obs.trace(actor, "restart", Default::default());
            }
            self.conn = Some(conn);
        }
        // Just filled above.
        self.conn
            .as_ref()
            .ok_or(SimError::Internal("connection vanished"))
    }

    /// Dies: the connection is dropped without COMMIT, so SQLite rolls back whatever was open.
    pub fn crash(&mut self) {
        self.conn = None;
        self.incarnation += 1;
    }
}

/// Attaches what was being done to a SQLite error.
pub trait SqlContext<T> {
    fn sql(self, doing: &'static str) -> Result<T, SimError>;
}

impl<T> SqlContext<T> for rusqlite::Result<T> {
    fn sql(self, doing: &'static str) -> Result<T, SimError> {
        self.map_err(|cause| SimError::Sql { doing, cause })
    }
}
