//! A synchronous client for NATS JetStream: one connection and one current-thread tokio runtime
//! per [`Session`], so the labs call the broker like any other blocking store. Streams and
//! consumers are made and deleted by name; publishes wait for the stream's acknowledgement;
//! fetches pull from a durable consumer and every delivery is acknowledged explicitly.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use futures_util::StreamExt as _;

use super::error::BrokerError;
use super::url::BrokerUrl;

/// Publishes awaiting their ack at once. The client lends out 5,000 such places and blocks the
/// next publish until an ack is awaited, so a batch that awaited its acks only at the end would
/// hang past that many messages.
const ACKS_IN_FLIGHT: usize = 1_000;

/// How long one request to the server may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// What a stream keeps, the broker's words for queue and topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retention {
    /// Every message until a limit: a log any number of consumers read at their own pace.
    Limits,
    /// A message is gone once one consumer acknowledged it: a queue.
    WorkQueue,
    /// A message is gone once every consumer acknowledged it: a topic with a copy per consumer.
    Interest,
}

/// A stream to create: its name, the one subject it captures, and its dedupe window.
#[derive(Clone, Debug)]
pub struct StreamSpec<'a> {
    pub name: &'a str,
    pub subject: &'a str,
    pub retention: Retention,
    /// Within this window a second publish with the same `Nats-Msg-Id` is acknowledged but not
    /// stored. JetStream's own default is two minutes.
    pub duplicate_window: Duration,
}

/// The stream's acknowledgement of one publish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Published {
    pub sequence: u64,
    /// The stream had already stored a message with this `Nats-Msg-Id` inside its window.
    pub duplicate: bool,
}

/// One message pulled from a durable consumer, to acknowledge once it is handled.
pub struct Delivery {
    pub payload: Vec<u8>,
    /// The `Nats-Msg-Id` it was published with, if any.
    pub msg_id: Option<String>,
    /// How many times the consumer has now delivered it: above 1 it is a redelivery.
    pub delivered: u64,
    pub stream_sequence: u64,
    message: jetstream::Message,
}

/// What the account may do with JetStream, as the server reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountSummary {
    pub streams: usize,
    pub consumers: usize,
    /// None when unlimited.
    pub max_streams: Option<i64>,
}

/// One connection to a NATS server with JetStream, with the runtime that drives it.
pub struct Session {
    url: BrokerUrl,
    runtime: tokio::runtime::Runtime,
    client: async_nats::Client,
    js: jetstream::Context,
    consumers: RefCell<HashMap<(String, String), consumer::PullConsumer>>,
}

impl Session {
    /// Connects, failing fast with a hint when nothing answers or the credentials are refused.
    pub fn connect(url: &BrokerUrl) -> Result<Session, BrokerError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(BrokerError::Runtime)?;
        // The client reads no credentials from the URL itself: they are handed over here.
        let options = match url.credentials() {
            Some((user, Some(password))) => {
                async_nats::ConnectOptions::with_user_and_password(user.into(), password.into())
            }
            Some((token, None)) => async_nats::ConnectOptions::with_token(token.into()),
            None => async_nats::ConnectOptions::new(),
        };
        let options = options
            .name("msgwork")
            .connection_timeout(CONNECT_TIMEOUT)
            .request_timeout(Some(REQUEST_TIMEOUT))
            .ignore_discovered_servers();
        let client = runtime
            .block_on(options.connect(url.address()))
            .map_err(|err| {
                use async_nats::ConnectErrorKind as Kind;
                let hint = match err.kind() {
                    Kind::Authentication | Kind::AuthorizationViolation => {
                        "Check the user and password (or token) in the URL."
                    }
                    Kind::Tls => "The server asks for TLS, which msgwork does not speak: give it a plain listener.",
                    _ => "Check that a NATS server runs there (nats-server --jetstream) and that the host and port are right.",
                };
                BrokerError::Connect {
                    url: url.to_string(),
                    why: url.scrub(&err.to_string()),
                    hint,
                }
            })?;
        // The context spawns its publish-ack task on the runtime, so it must be built inside it.
        let _inside = runtime.enter();
        let js = jetstream::ContextBuilder::new()
            .timeout(REQUEST_TIMEOUT)
            .build(client.clone());
        Ok(Session {
            url: url.clone(),
            runtime,
            client,
            js,
            consumers: RefCell::new(HashMap::new()),
        })
    }

    /// The server this session talks to, password hidden.
    pub fn url(&self) -> &BrokerUrl {
        &self.url
    }

    /// The server's version, as it announced itself.
    pub fn server_version(&self) -> String {
        self.client.server_info().version
    }

    fn call(&self, doing: impl Into<String>, err: impl std::fmt::Display) -> BrokerError {
        BrokerError::Call {
            url: self.url.to_string(),
            doing: doing.into(),
            why: self.url.scrub(&err.to_string()),
        }
    }

    /// The account's JetStream usage and limits; an error if JetStream is off for it. Read as
    /// plain JSON: the client's own account type expects fields a 2.9 server does not send.
    pub fn account(&self) -> Result<AccountSummary, BrokerError> {
        let no_jetstream = |why: String| BrokerError::NoJetStream {
            url: self.url.to_string(),
            why: self.url.scrub(&why),
        };
        let info: serde_json::Value = self
            .runtime
            .block_on(self.js.request("INFO", &()))
            .map_err(|err| no_jetstream(err.to_string()))?;
        if let Some(error) = info.get("error") {
            return Err(no_jetstream(error.to_string()));
        }
        let count = |key: &str| info.get(key).and_then(serde_json::Value::as_u64);
        let (Some(streams), Some(consumers)) = (count("streams"), count("consumers")) else {
            return Err(no_jetstream(format!(
                "the server's account report lacks stream and consumer counts: {info}"
            )));
        };
        Ok(AccountSummary {
            streams: usize::try_from(streams).unwrap_or(usize::MAX),
            consumers: usize::try_from(consumers).unwrap_or(usize::MAX),
            max_streams: info
                .pointer("/limits/max_streams")
                .and_then(serde_json::Value::as_i64)
                .filter(|n| *n >= 0),
        })
    }

    /// Creates the stream; one of the same name and settings is taken over as it is.
    pub fn create_stream(&self, spec: &StreamSpec<'_>) -> Result<(), BrokerError> {
        let config = stream::Config {
            name: spec.name.to_string(),
            subjects: vec![spec.subject.to_string()],
            retention: match spec.retention {
                Retention::Limits => stream::RetentionPolicy::Limits,
                Retention::WorkQueue => stream::RetentionPolicy::WorkQueue,
                Retention::Interest => stream::RetentionPolicy::Interest,
            },
            storage: stream::StorageType::File,
            duplicate_window: spec.duplicate_window,
            ..Default::default()
        };
        self.runtime
            .block_on(self.js.create_stream(config))
            .map_err(|err| self.call(format!("creating stream {}", spec.name), err))?;
        Ok(())
    }

    /// Deletes the stream and its consumers; true if there was one.
    pub fn delete_stream(&self, name: &str) -> Result<bool, BrokerError> {
        self.consumers.borrow_mut().retain(|(s, _), _| s != name);
        match self.runtime.block_on(self.js.delete_stream(name)) {
            Ok(_) => Ok(true),
            Err(err)
                if matches!(
                    err.kind(),
                    jetstream::context::DeleteStreamErrorKind::JetStream(ref e)
                        if e.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
                ) =>
            {
                Ok(false)
            }
            Err(err) => Err(self.call(format!("deleting stream {name}"), err)),
        }
    }

    /// The names of every stream on the account.
    pub fn stream_names(&self) -> Result<Vec<String>, BrokerError> {
        self.runtime.block_on(async {
            let mut names = self.js.stream_names();
            let mut all = Vec::new();
            while let Some(name) = names.next().await {
                all.push(name.map_err(|err| self.call("listing streams", err))?);
            }
            Ok(all)
        })
    }

    /// Creates a durable pull consumer with explicit acks: a message not acknowledged within
    /// `ack_wait` is delivered again.
    pub fn create_consumer(
        &self,
        stream_name: &str,
        durable: &str,
        ack_wait: Duration,
    ) -> Result<(), BrokerError> {
        let doing = || format!("creating consumer {durable} on stream {stream_name}");
        let consumer = self.runtime.block_on(async {
            let stream = self
                .js
                .get_stream_no_info(stream_name)
                .await
                .map_err(|err| self.call(doing(), err))?;
            stream
                .create_consumer(consumer::pull::Config {
                    durable_name: Some(durable.to_string()),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait,
                    ..Default::default()
                })
                .await
                .map_err(|err| self.call(doing(), err))
        })?;
        self.consumers
            .borrow_mut()
            .insert((stream_name.to_string(), durable.to_string()), consumer);
        Ok(())
    }

    /// Publishes one message and waits for the stream to store it (or to call it a duplicate).
    pub fn publish(
        &self,
        subject: &str,
        msg_id: Option<&str>,
        payload: &[u8],
    ) -> Result<Published, BrokerError> {
        Ok(self.publish_many(subject, [(msg_id, payload)])?[0])
    }

    /// Publishes without waiting for each acknowledgement: up to [`ACKS_IN_FLIGHT`] messages are
    /// on their way at once, and the oldest ack is awaited before the next goes out. One round
    /// trip's latency for a window of messages rather than one per message. Acks come back in
    /// order, one per message.
    pub fn publish_many<'a>(
        &self,
        subject: &str,
        messages: impl IntoIterator<Item = (Option<&'a str>, &'a [u8])>,
    ) -> Result<Vec<Published>, BrokerError> {
        self.runtime.block_on(async {
            let mut pending = std::collections::VecDeque::new();
            let mut acks = Vec::new();
            let settle = |ack: async_nats::jetstream::context::PublishAckFuture| async move {
                let ack = ack.await.map_err(|err| {
                    self.call(format!("waiting for {subject}'s publish ack"), err)
                })?;
                Ok::<_, BrokerError>(Published {
                    sequence: ack.sequence,
                    duplicate: ack.duplicate,
                })
            };
            for (msg_id, payload) in messages {
                if pending.len() >= ACKS_IN_FLIGHT
                    && let Some(oldest) = pending.pop_front()
                {
                    acks.push(settle(oldest).await?);
                }
                let mut headers = async_nats::HeaderMap::new();
                if let Some(id) = msg_id {
                    headers.insert(async_nats::header::NATS_MESSAGE_ID, id);
                }
                let ack = self
                    .js
                    .publish_with_headers(subject.to_string(), headers, payload.to_vec().into())
                    .await
                    .map_err(|err| self.call(format!("publishing to {subject}"), err))?;
                pending.push_back(ack);
            }
            for ack in pending {
                acks.push(settle(ack).await?);
            }
            Ok(acks)
        })
    }

    /// Pulls up to `max` messages from a consumer made by [`Session::create_consumer`] (or an
    /// existing durable one), waiting up to `wait` for the first.
    pub fn fetch(
        &self,
        stream_name: &str,
        durable: &str,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<Delivery>, BrokerError> {
        let doing = || format!("fetching from consumer {durable} on stream {stream_name}");
        let key = (stream_name.to_string(), durable.to_string());
        let known = self.consumers.borrow().get(&key).cloned();
        let consumer = match known {
            Some(c) => c,
            None => {
                let c: consumer::PullConsumer = self
                    .runtime
                    .block_on(self.js.get_consumer_from_stream(durable, stream_name))
                    .map_err(|err| self.call(doing(), err))?;
                self.consumers.borrow_mut().insert(key, c.clone());
                c
            }
        };
        self.runtime.block_on(async {
            let mut batch = consumer
                .fetch()
                .max_messages(max)
                .expires(wait)
                .messages()
                .await
                .map_err(|err| self.call(doing(), err))?;
            let mut out = Vec::new();
            while let Some(message) = batch.next().await {
                let message = message.map_err(|err| self.call(doing(), err))?;
                let (delivered, stream_sequence) = match message.info() {
                    Ok(info) => (
                        u64::try_from(info.delivered).unwrap_or(0),
                        info.stream_sequence,
                    ),
                    Err(err) => return Err(self.call(doing(), err)),
                };
                let msg_id = message
                    .headers
                    .as_ref()
                    .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
                    .map(|v| v.as_str().to_string());
                out.push(Delivery {
                    payload: message.payload.to_vec(),
                    msg_id,
                    delivered,
                    stream_sequence,
                    message,
                });
            }
            Ok(out)
        })
    }

    /// Acknowledges a delivery and waits for the server to confirm it, so an ack that returned
    /// can never be redelivered.
    pub fn ack(&self, delivery: &Delivery) -> Result<(), BrokerError> {
        self.runtime
            .block_on(delivery.message.double_ack())
            .map_err(|err| self.call("acknowledging a message", err))
    }

    /// Tells the server a delivery was not handled, so it is delivered again at once rather
    /// than after the consumer's ack wait.
    pub fn nak(&self, delivery: &Delivery) -> Result<(), BrokerError> {
        self.runtime
            .block_on(delivery.message.ack_with(jetstream::AckKind::Nak(None)))
            .map_err(|err| self.call("handing a message back", err))
    }

    /// Messages the stream holds now.
    pub fn stream_messages(&self, stream_name: &str) -> Result<u64, BrokerError> {
        self.runtime.block_on(async {
            let mut stream = self
                .js
                .get_stream(stream_name)
                .await
                .map_err(|err| self.call(format!("reading stream {stream_name}"), err))?;
            let info = stream
                .info()
                .await
                .map_err(|err| self.call(format!("reading stream {stream_name}"), err))?;
            Ok(info.state.messages)
        })
    }
}
