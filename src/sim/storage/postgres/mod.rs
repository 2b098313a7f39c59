//! The labs on a PostgreSQL server: connecting, `msgwork doctor`'s checks, the lab's tables and
//! transactions in schemas of a run's own, the logical-decoding change feed, and what an
//! interrupted run must drop before it goes.

pub mod connect;
pub mod doctor;
pub mod feed;
pub mod held;
pub mod leftovers;
pub mod scan;
pub mod slot;
pub mod store;
