//! Where the labs keep their tables: embedded SQLite files, or a PostgreSQL server. Beneath every
//! lab, it uses nothing above it but the shared pieces (errors, the event model and the clock).
//!
//! The experiments, the crash schedules and the checker are written once, against [`Storage`]
//! (one component's connection) and [`ChangeFeed`] (a CDC relay's view of committed outbox rows).
//! [`Backend`] makes them for either database; only this layer knows which one it is.
//!
//! The two keep the same ideas in their own terms. A relay's claim on SQLite is a lease written
//! under `BEGIN IMMEDIATE` and committed at once, fenced by the pass's token when it marks rows
//! sent; on PostgreSQL it is a set of row locks taken with `FOR UPDATE SKIP LOCKED` and held by
//! the relay's open transaction until it marks them. The change feed on SQLite comes from the
//! hooks on the service's connection and a position the relay saves itself; on PostgreSQL from a
//! logical replication slot, which keeps the position on the server.

pub mod backend;
pub mod postgres;
pub mod seam;
pub mod sqlite;

pub use backend::{Backend, Location, backend_name};
pub use seam::{ChangeFeed, Claim, Db, FeedBatch, OutboxRow, Storage};
