//! The stretch labs, one file or folder each, and the benchmark: each adds its actors and checks on
//! top of the crash lab's pieces and the storage layer, never the other way round.

pub mod bench;
pub mod bench_broker;
pub mod bench_pg;
pub mod cdc;
pub mod cleanup;
pub mod dlq;
pub mod fanout;
pub mod ordering;
pub mod retention;
