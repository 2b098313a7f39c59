//! `--crash-mode process`: the service and the relays run as child processes of msgwork and are
//! killed with SIGKILL at their crash points, while the parent keeps the broker, the crash trigger,
//! the checker and the consumer, and talks to each child over a pipe of JSON lines.

pub mod child;
pub mod fleet;
pub mod pipes;
pub mod wire;
