//! The verify protocol's messages (docs/verify-protocol.md): what msgwork writes to a learner's
//! process, and the strict reading of what the process writes back.
//!
//! Everything a learner's program writes is untrusted: a line is bounded, and a line that is not
//! one of the messages below becomes a [`LineError`] that says what was expected, never a panic.

use std::io::{self, BufRead, Read};

use serde::Serialize;
use serde_json::{Map, Value};

/// The protocol version msgwork speaks.
pub const PROTOCOL: u32 = 1;

/// The longest line msgwork reads from a process, newline included.
pub const MAX_LINE: usize = 1 << 20;

/// The biggest event msgwork's broker takes, as JSON.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;

/// The longest event id msgwork accepts.
pub const MAX_EVENT_ID: usize = 200;

/// Which part of the pipeline a process plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Service,
    Relay,
    Consumer,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Service => "service",
            Role::Relay => "relay",
            Role::Consumer => "consumer",
        }
    }
}

/// A request msgwork sends; the process answers each with the reply [`Request::reply_type`] names.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    Init {
        role: Role,
        node: String,
        incarnation: u32,
        service_db: String,
        consumer_db: String,
    },
    PlaceOrder {
        order_id: u32,
        customer_id: String,
        amount_cents: i64,
    },
    Tick,
    Deliver {
        delivery: u32,
        event: Map<String, Value>,
    },
}

impl Request {
    /// The message type of the answer this request waits for.
    pub fn reply_type(&self) -> &'static str {
        match self {
            Request::Init { .. } => "init_ok",
            Request::PlaceOrder { .. } => "order_placed",
            Request::Tick => "tick_ok",
            Request::Deliver { .. } => "ack",
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Request::Init { .. } => "init",
            Request::PlaceOrder { .. } => "place_order",
            Request::Tick => "tick",
            Request::Deliver { .. } => "deliver",
        }
    }

    /// The line msgwork writes, without its newline.
    pub fn line(&self, msg_id: u64, now: u64) -> String {
        let mut body = Map::new();
        body.insert("type".into(), self.type_name().into());
        body.insert("msg_id".into(), msg_id.into());
        match self {
            Request::Init {
                role,
                node,
                incarnation,
                service_db,
                consumer_db,
            } => {
                body.insert("protocol".into(), PROTOCOL.into());
                body.insert("role".into(), role.name().into());
                body.insert("node".into(), node.as_str().into());
                body.insert("incarnation".into(), (*incarnation).into());
                // Each role is told only its own database: a service that reached into the
                // consumer's would be judged on charges no delivery made.
                if *role == Role::Consumer {
                    body.insert("consumer_db".into(), consumer_db.as_str().into());
                } else {
                    body.insert("service_db".into(), service_db.as_str().into());
                }
            }
            Request::PlaceOrder {
                order_id,
                customer_id,
                amount_cents,
            } => {
                let mut order = Map::new();
                order.insert("order_id".into(), (*order_id).into());
                order.insert("customer_id".into(), customer_id.as_str().into());
                order.insert("amount_cents".into(), (*amount_cents).into());
                body.insert("order".into(), Value::Object(order));
            }
            Request::Tick => {}
            Request::Deliver { delivery, event } => {
                body.insert("delivery".into(), (*delivery).into());
                body.insert("event".into(), Value::Object(event.clone()));
            }
        }
        body.insert("now".into(), now.into());
        Value::Object(body).to_string()
    }
}

/// The broker's answer to a `publish`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublishAnswer {
    Ok,
    /// Not confirmed: the broker may or may not have stored the event.
    Failed,
}

impl PublishAnswer {
    pub fn line(self, in_reply_to: u64, now: u64) -> String {
        let mut body = Map::new();
        match self {
            PublishAnswer::Ok => {
                body.insert("type".into(), "publish_ok".into());
            }
            PublishAnswer::Failed => {
                body.insert("type".into(), "publish_failed".into());
                body.insert("reason".into(), "timeout".into());
            }
        }
        body.insert("in_reply_to".into(), in_reply_to.into());
        body.insert("now".into(), now.into());
        Value::Object(body).to_string()
    }
}

/// An event as a process published it: its id and order, and the whole object to deliver.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub event_id: String,
    pub order_id: u32,
    pub body: Map<String, Value>,
}

/// A line a process wrote, once read and checked.
#[derive(Clone, Debug, PartialEq)]
pub enum Up {
    /// The answer to msgwork's request `in_reply_to`, of the type that request waits for.
    Reply { in_reply_to: u64 },
    /// The process could not handle request `in_reply_to`, and says why.
    Error { in_reply_to: u64, text: String },
    /// A request to the broker.
    Publish { msg_id: u64, event: Event },
}

/// What was wrong with a line, in words a learner can act on.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct LineError(pub String);

fn bad(text: impl Into<String>) -> LineError {
    LineError(text.into())
}

/// Reads one line of at most [`MAX_LINE`] bytes. `Ok(None)` at the end of the stream; a longer
/// line is an error, and the rest of it is not read.
pub fn read_line(
    input: &mut impl BufRead,
    buf: &mut Vec<u8>,
) -> io::Result<Option<Result<(), LineError>>> {
    buf.clear();
    let n = input
        .by_ref()
        .take(MAX_LINE as u64)
        .read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') && n == MAX_LINE {
        return Ok(Some(Err(bad(format!(
            "a line longer than {} bytes; each message must be one line of JSON",
            MAX_LINE
        )))));
    }
    Ok(Some(Ok(())))
}

/// Parses a line a process wrote, given the request it is handling (`pending`, with its
/// `msg_id`), if any. `publishes` says whether this role may publish.
pub fn parse(
    line: &[u8],
    pending: Option<(&Request, u64)>,
    publishes: bool,
) -> Result<Up, LineError> {
    let text = std::str::from_utf8(line).map_err(|_| bad("a line that is not UTF-8"))?;
    let text = text.trim_end_matches(['\n', '\r']);
    if text.trim().is_empty() {
        return Err(bad("an empty line; each message must be one JSON object"));
    }
    let value: Value = serde_json::from_str(text).map_err(|e| {
        bad(format!(
            "a line that is not JSON ({e}): `{}`",
            clip(text, 80)
        ))
    })?;
    let Value::Object(body) = value else {
        return Err(bad(format!(
            "JSON that is not an object: `{}`",
            clip(text, 80)
        )));
    };
    let kind = match body.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        Some(_) => return Err(bad("a `type` that is not a string")),
        None => return Err(bad("a message with no `type` field")),
    };
    if kind == "publish" {
        if !publishes {
            return Err(bad(
                "a `publish`, which only the service and the relays may send",
            ));
        }
        let Some((request, _)) = pending else {
            return Err(bad(
                "a `publish` while handling no request; publish only while handling one",
            ));
        };
        if matches!(request, Request::Init { .. }) {
            return Err(bad("a `publish` before answering `init`"));
        }
        let msg_id = positive(&body, "msg_id")?;
        let event = match body.get("event") {
            Some(Value::Object(event)) => event_of(event)?,
            Some(_) => return Err(bad("a `publish` whose `event` is not a JSON object")),
            None => return Err(bad("a `publish` with no `event`")),
        };
        return Ok(Up::Publish { msg_id, event });
    }
    let Some((request, msg_id)) = pending else {
        return Err(bad(format!(
            "a `{kind}` while msgwork was waiting for nothing; answer only the request you are handling"
        )));
    };
    let in_reply_to = positive(&body, "in_reply_to").map_err(|e| {
        bad(format!(
            "{e} (answering `{}` {msg_id})",
            request.type_name()
        ))
    })?;
    if in_reply_to != msg_id {
        return Err(bad(format!(
            "`in_reply_to` {in_reply_to}, but the request being handled is `{}` {msg_id}",
            request.type_name()
        )));
    }
    if kind == "error" {
        let text = match body.get("text") {
            Some(Value::String(text)) => clip(text, 400),
            _ => "(no text)".to_string(),
        };
        return Ok(Up::Error { in_reply_to, text });
    }
    if kind != request.reply_type() {
        return Err(bad(format!(
            "a `{kind}`, but `{}` {msg_id} is answered with `{}` (or `error`)",
            request.type_name(),
            request.reply_type()
        )));
    }
    Ok(Up::Reply { in_reply_to })
}

fn event_of(event: &Map<String, Value>) -> Result<Event, LineError> {
    let size = serde_json::to_string(event).map_or(usize::MAX, |text| text.len());
    if size > MAX_EVENT_BYTES {
        return Err(bad(format!(
            "an event of {size} bytes; the broker takes events of up to {MAX_EVENT_BYTES} bytes"
        )));
    }
    let event_id = match event.get("event_id") {
        Some(Value::String(id)) if !id.is_empty() && id.chars().count() <= MAX_EVENT_ID => {
            id.clone()
        }
        Some(Value::String(_)) => {
            return Err(bad(format!(
                "an `event_id` that is empty or longer than {MAX_EVENT_ID} characters"
            )));
        }
        Some(_) => return Err(bad("an `event_id` that is not a string")),
        None => return Err(bad("an event with no `event_id`")),
    };
    let order_id = match event.get("order_id").and_then(Value::as_u64) {
        Some(id) if id <= u64::from(u32::MAX) => id as u32,
        _ => {
            return Err(bad(
                "an event whose `order_id` is missing or not the order's number",
            ));
        }
    };
    Ok(Event {
        event_id,
        order_id,
        body: event.clone(),
    })
}

fn positive(body: &Map<String, Value>, field: &str) -> Result<u64, LineError> {
    match body.get(field).and_then(Value::as_u64) {
        Some(n) if n > 0 => Ok(n),
        _ => Err(bad(format!("no positive integer `{field}`"))),
    }
}

/// The first `max` characters of `text`, with an ellipsis when it was longer.
pub fn clip(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tick() -> Request {
        Request::Tick
    }

    #[test]
    fn a_reply_must_answer_the_request_in_hand() {
        let req = tick();
        assert_eq!(
            parse(
                br#"{"type":"tick_ok","in_reply_to":4}"#,
                Some((&req, 4)),
                true
            ),
            Ok(Up::Reply { in_reply_to: 4 })
        );
        let wrong = parse(
            br#"{"type":"tick_ok","in_reply_to":3}"#,
            Some((&req, 4)),
            true,
        );
        assert!(wrong.unwrap_err().0.contains("`tick` 4"));
        let kind = parse(br#"{"type":"ack","in_reply_to":4}"#, Some((&req, 4)), true);
        assert!(kind.unwrap_err().0.contains("answered with `tick_ok`"));
        let idle = parse(br#"{"type":"tick_ok","in_reply_to":4}"#, None, true);
        assert!(idle.unwrap_err().0.contains("waiting for nothing"));
    }

    #[test]
    fn a_publish_needs_an_event_id_and_an_order() {
        let req = tick();
        let ok = parse(
            br#"{"type":"publish","msg_id":9,"event":{"event_id":"e-1","order_id":3,"x":1}}"#,
            Some((&req, 1)),
            true,
        )
        .unwrap();
        let Up::Publish { msg_id, event } = ok else {
            panic!("not a publish")
        };
        assert_eq!(
            (msg_id, event.event_id.as_str(), event.order_id),
            (9, "e-1", 3)
        );
        assert_eq!(event.body.get("x"), Some(&Value::from(1)));
        for (line, says) in [
            (
                r#"{"type":"publish","msg_id":9,"event":{"order_id":3}}"#,
                "no `event_id`",
            ),
            (
                r#"{"type":"publish","msg_id":9,"event":{"event_id":7,"order_id":3}}"#,
                "not a string",
            ),
            (
                r#"{"type":"publish","msg_id":9,"event":{"event_id":"a","order_id":-1}}"#,
                "`order_id`",
            ),
            (
                r#"{"type":"publish","msg_id":0,"event":{"event_id":"a","order_id":1}}"#,
                "`msg_id`",
            ),
            (
                r#"{"type":"publish","msg_id":1,"event":[]}"#,
                "not a JSON object",
            ),
        ] {
            let err = parse(line.as_bytes(), Some((&req, 1)), true).unwrap_err();
            assert!(err.0.contains(says), "{line}: {err}");
        }
        let consumer = parse(
            br#"{"type":"publish","msg_id":9,"event":{"event_id":"e","order_id":3}}"#,
            Some((&req, 1)),
            false,
        );
        assert!(
            consumer
                .unwrap_err()
                .0
                .contains("only the service and the relays")
        );
    }

    #[test]
    fn an_event_too_big_for_the_broker_is_refused() {
        let big = "x".repeat(MAX_EVENT_BYTES);
        let line = format!(
            r#"{{"type":"publish","msg_id":1,"event":{{"event_id":"e","order_id":1,"pad":"{big}"}}}}"#
        );
        let err = parse(line.as_bytes(), Some((&Request::Tick, 1)), true).unwrap_err();
        assert!(err.0.contains("up to 65536 bytes"), "{err}");
    }

    #[test]
    fn garbage_is_named_not_panicked_on() {
        let req = tick();
        for (line, says) in [
            (&b"hello"[..], "not JSON"),
            (b"[1,2]", "not an object"),
            (b"{}", "no `type`"),
            (b"   ", "empty line"),
            (b"\xff\xfe", "not UTF-8"),
        ] {
            let err = parse(line, Some((&req, 1)), true).unwrap_err();
            assert!(err.0.contains(says), "{err}");
        }
    }

    #[test]
    fn an_error_answer_carries_its_text() {
        let req = tick();
        assert_eq!(
            parse(
                br#"{"type":"error","in_reply_to":2,"text":"boom"}"#,
                Some((&req, 2)),
                true
            ),
            Ok(Up::Error {
                in_reply_to: 2,
                text: "boom".into()
            })
        );
    }

    #[test]
    fn requests_are_one_line_of_json() {
        let line = Request::PlaceOrder {
            order_id: 17,
            customer_id: "c-5".into(),
            amount_cents: 1250,
        }
        .line(7, 412);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["type"], "place_order");
        assert_eq!(v["order"]["order_id"], 17);
        assert_eq!(v["msg_id"], 7);
        assert!(!line.contains('\n'));
    }

    #[test]
    fn long_lines_are_cut_off() {
        let mut input = io::Cursor::new(vec![b'a'; MAX_LINE + 10]);
        let mut buf = Vec::new();
        let got = read_line(&mut input, &mut buf).unwrap().unwrap();
        assert!(got.unwrap_err().0.contains("longer than"));
    }
}
