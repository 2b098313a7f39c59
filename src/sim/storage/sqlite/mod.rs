//! The labs on embedded SQLite: one file per component's database, opened with the lab's pragmas,
//! claims as leases under `BEGIN IMMEDIATE`, and a change feed from the connection's hooks.

pub mod feed;
pub mod files;
pub mod heap;
pub mod scan;
pub mod sql;
pub mod store;
pub mod wal;
