//! What can go wrong talking to the broker, each message naming the server with its password
//! hidden.

/// What went wrong talking to the broker. Every message names the server with its password
/// hidden, so none can echo a secret.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error(
        "'{url}' is not a NATS URL: {why}. Write it like nats://HOST:PORT or nats://USER:PASSWORD@HOST:PORT"
    )]
    Url { url: String, why: String },
    #[error("cannot connect to the broker at {url}: {why}. {hint}")]
    Connect {
        url: String,
        why: String,
        hint: &'static str,
    },
    #[error(
        "the broker at {url} has no JetStream for this account: {why}. Start the server with --jetstream (or `jetstream {{}}` in its config) and give the account JetStream"
    )]
    NoJetStream { url: String, why: String },
    #[error("the broker at {url} failed while {doing}: {why}")]
    Call {
        url: String,
        doing: String,
        why: String,
    },
    #[error("cannot start the broker client's runtime: {0}")]
    Runtime(std::io::Error),
    #[error(
        "the broker at {url} did not deliver {missing} of the messages within {waited_secs} s; check the server's log"
    )]
    Stalled {
        url: String,
        missing: u64,
        waited_secs: u64,
    },
}
