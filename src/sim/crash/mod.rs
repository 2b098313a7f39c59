//! The outbox crash lab: a naive dual write and a transactional outbox, run side by side under the
//! same seeded crash schedule, with relay replicas, an in-process broker and a billing consumer.
//!
//! `options` checks what was asked for; `run` sets up a pipeline's world and actors; `runner` is
//! the one seeded scheduler that interleaves them, and `drive` runs them in real time instead;
//! `observer` watches every step and `report` judges what it saw; `process` runs the same actors
//! as child processes killed with SIGKILL; `power` cuts a machine's power, and its database's log.

pub mod bell;
pub mod fault;
pub mod gate;
pub mod mutant;
pub mod observer;
pub mod options;
pub mod power;
pub mod process;
pub mod report;
pub mod run;
pub mod runner;
pub mod schedule;
pub mod seen;
pub mod tally;
pub mod world;

pub(crate) mod consumer;
pub(crate) mod drive;
pub(crate) mod guarded;
pub(crate) mod relay;
pub(crate) mod service;

pub use options::{CrashMode, SimOptions};
pub use run::run;
pub use world::ClaimMode;
