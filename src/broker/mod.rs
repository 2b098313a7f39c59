//! A real message broker for the labs: NATS JetStream behind a small synchronous client, the
//! checks `msgwork doctor --broker` runs, and what an interrupted run must delete on the server.
//! It names nothing from the labs, so the labs can use it without a circle.

pub mod doctor;
pub mod error;
pub mod leftovers;
pub mod nats;
pub mod run;
pub mod url;

pub use error::BrokerError;
pub use nats::{Delivery, Retention, Session, StreamSpec};
pub use url::BrokerUrl;
