//! The labs: the outbox crash lab, the stretch labs and the benchmark, on one floor of shared
//! pieces (errors, the event model, clocks, the broker, statistics) with storage beneath them.
//!
//! Arrows point down: `lab` uses `crash` and `storage`; `crash` uses `storage`; `storage` uses only
//! the shared pieces in this folder, which use nothing of the labs.

pub mod broker;
pub mod brokered;
pub mod clock;
pub mod crash;
pub mod error;
pub mod lab;
pub mod model;
pub mod progress;
pub mod stats;
pub mod storage;
