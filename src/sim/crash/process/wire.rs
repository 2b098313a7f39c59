//! The line protocol between `simulate --crash-mode process` and its child processes: one JSON
//! object per line, the child's reports and questions on its stdout, the parent's answers on its
//! stdin. The first line a child reads is its [`Spec`].
//!
//! The parent treats what a child writes as untrusted: lines are bounded, and anything that is not
//! one of these messages is an error that names the line, never a panic.

use std::io::{self, BufRead, Read, Write};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::sim::error::WireError;

use crate::sim::storage::Location;

use crate::sim::crash::observer::Detail;
use crate::sim::crash::schedule::{CrashPoint, ScheduledCrash};
use crate::sim::crash::world::Config;
use crate::sim::model::{Envelope, Pipeline};

/// The longest message line either side accepts, newline included: a claim of 10,000 rows fits.
pub const MAX_LINE: usize = 1 << 20;

/// The longest spec a child accepts: its crash list grows with `--orders` and `--crash-rate`.
pub const MAX_SPEC: usize = 64 << 20;

/// Which actor a child process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Role {
    /// The order service, taking requests from order `next` on (the client never retries one).
    Service { next: u32 },
    /// Relay replica `index`.
    Relay { index: u32 },
}

/// The first line the parent writes to a child: which actor to be, and what it needs to be it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub role: Role,
    /// How many earlier processes of this actor were killed; part of a relay's claim token.
    pub incarnation: u32,
    pub pipeline: Pipeline,
    pub config: Config,
    /// Where the run's databases are.
    pub location: Location,
    /// The run's clock, shared by every process: see [`crate::sim::clock::EpochClock`].
    pub epoch_us: u64,
    /// The crashes scheduled at this actor's crash points. The child asks about these only; the
    /// parent, which remembers which crashes already fired, decides.
    pub crashes: Vec<ScheduledCrash>,
    /// Whether to send trace lines at all.
    pub trace: bool,
}

/// A line from a child to the parent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Up {
    /// Hand this event to the broker.
    Publish {
        event: Envelope,
        order: Option<u32>,
    },
    /// A question: the actor is at `point` for `order`, where the schedule has a crash. The parent
    /// answers [`Down::Live`], or kills the child with SIGKILL right there.
    CrashPoint {
        point: CrashPoint,
        order: u32,
    },
    /// A question: a relay pass claimed these rows. The parent answers [`Down::Pass`].
    PassStarted {
        rows: Vec<i64>,
        /// When the pass's lease runs out, on the run's clock.
        #[serde(default)]
        lease_until: u64,
    },
    PassEnded {
        pass: u64,
    },
    Marked {
        pass: u64,
        marked: usize,
        fenced: usize,
    },
    Trace {
        step: String,
        detail: TraceDetail,
    },
    OrderHandled,
    /// The service has placed every order; the process exits next.
    Done {
        steps: u64,
    },
    /// The parent closed the child's input; the process exits next.
    Stopped {
        steps: u64,
    },
}

/// A line from the parent to a child, after the spec: the answer to its last question.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Down {
    /// The crash point passed without a crash: carry on.
    Live,
    /// The id of the pass just started.
    Pass { id: u64 },
}

/// A trace line's details, owned so they can cross the pipe.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point: Option<CrashPoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<Vec<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

impl TraceDetail {
    pub fn owned(detail: &Detail<'_>) -> Self {
        TraceDetail {
            order: detail.order,
            event_id: detail.event_id.map(str::to_string),
            point: detail.point,
            rows: detail.rows.map(<[i64]>::to_vec),
            pass: detail.pass,
            count: detail.count,
            fault: detail.fault.map(str::to_string),
        }
    }

    pub fn borrowed(&self) -> Detail<'_> {
        Detail {
            order: self.order,
            event_id: self.event_id.as_deref(),
            point: self.point,
            rows: self.rows.as_deref(),
            pass: self.pass,
            fault: self.fault.as_deref(),
            count: self.count,
        }
    }
}

/// Reads the next message line as a `T`; `None` when the stream ends cleanly, between lines.
pub fn read<T: DeserializeOwned>(
    input: &mut impl BufRead,
    buf: &mut Vec<u8>,
) -> Result<Option<T>, WireError> {
    read_limited(input, buf, MAX_LINE)
}

/// Reads the next line, of at most `limit` bytes, as a `T`; `None` at a clean end of the stream.
pub fn read_limited<T: DeserializeOwned>(
    input: &mut impl BufRead,
    buf: &mut Vec<u8>,
    limit: usize,
) -> Result<Option<T>, WireError> {
    buf.clear();
    let n = input.by_ref().take(limit as u64).read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.pop() != Some(b'\n') {
        return Err(if n == limit {
            WireError::TooLong(limit)
        } else {
            WireError::Truncated(shown(buf))
        });
    }
    decode(buf).map(Some)
}

/// Parses one line, without its newline.
pub fn decode<T: DeserializeOwned>(line: &[u8]) -> Result<T, WireError> {
    serde_json::from_slice(line).map_err(|cause| WireError::Malformed {
        line: shown(line),
        cause,
    })
}

/// Writes one message as a line. Unflushed: the caller flushes before it waits.
pub fn write(out: &mut impl Write, message: &impl Serialize) -> io::Result<()> {
    let mut line = serde_json::to_vec(message)?;
    line.push(b'\n');
    out.write_all(&line)
}

/// A line as an error message shows it: lossy, and cut short.
fn shown(line: &[u8]) -> String {
    const SHOWN: usize = 120;
    let text = String::from_utf8_lossy(line);
    match text.char_indices().nth(SHOWN) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::crash::schedule::NaiveOrder;
    use crate::sim::crash::world::ClaimMode;
    use crate::sim::model::Order;
    use crate::sim::storage::sqlite::sql::Durability;

    fn round_trip<T>(message: &T) -> T
    where
        T: Serialize + DeserializeOwned,
    {
        let mut bytes = Vec::new();
        write(&mut bytes, message).unwrap();
        assert_eq!(bytes.iter().filter(|b| **b == b'\n').count(), 1);
        let mut input = bytes.as_slice();
        let mut buf = Vec::new();
        let back = read(&mut input, &mut buf).unwrap().expect("one line");
        assert!(read::<T>(&mut input, &mut buf).unwrap().is_none());
        back
    }

    #[test]
    fn every_message_survives_the_pipe() {
        let spec = Spec {
            role: Role::Relay { index: 2 },
            incarnation: 3,
            pipeline: Pipeline::Outbox,
            config: Config {
                seed: 7,
                orders: 200,
                naive_order: NaiveOrder::Alternate,
                claim: ClaimMode::Lease,
                batch: 10,
                consumer_batch: 1,
                lease_ms: 1000,
                poll_ms: 2,
                restart_ms: 5,
                faults: crate::sim::crash::fault::FaultRates::OFF,
                mutant: crate::sim::crash::mutant::Mutant::None,
                release_dead_claims: true,
            },
            location: Location::Sqlite {
                service: "/tmp/a dir/outbox-orders.db".into(),
                billing: "/tmp/a dir/outbox-billing.db".into(),
                relay: "/tmp/a dir/outbox-relay.db".into(),
                durability: Durability::Off,
                power_loss: false,
            },
            epoch_us: 1_767_603_600_000_000,
            crashes: vec![ScheduledCrash {
                order: 17,
                point: CrashPoint::RelayAfterPublish,
            }],
            trace: true,
        };
        assert_eq!(round_trip(&spec), spec);
        let event = Envelope::order_placed(7, Pipeline::Outbox, &Order::generate(7, 3), 12);
        let ups = [
            Up::Publish {
                event,
                order: Some(3),
            },
            Up::CrashPoint {
                point: CrashPoint::ServiceAfterCommit,
                order: 3,
            },
            Up::PassStarted {
                lease_until: 1000,
                rows: vec![1, 2, 3],
            },
            Up::PassEnded { pass: 4 },
            Up::Marked {
                pass: 4,
                marked: 2,
                fenced: 1,
            },
            Up::Trace {
                step: "commit".to_string(),
                detail: TraceDetail {
                    order: Some(3),
                    ..TraceDetail::default()
                },
            },
            Up::OrderHandled,
            Up::Done { steps: 9 },
            Up::Stopped { steps: 10 },
        ];
        for up in ups {
            assert_eq!(round_trip(&up), up);
        }
        for down in [Down::Live, Down::Pass { id: 5 }] {
            assert_eq!(round_trip(&down), down);
        }
    }

    #[test]
    fn trace_details_cross_unchanged() {
        let rows = [4, 5];
        let detail = Detail {
            fault: None,
            order: Some(1),
            event_id: Some("e"),
            point: Some(CrashPoint::RelayAfterClaim),
            rows: Some(&rows),
            pass: Some(2),
            count: Some(3),
        };
        let owned = round_trip(&TraceDetail::owned(&detail));
        let back = owned.borrowed();
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&detail).unwrap()
        );
    }

    #[test]
    fn a_line_that_is_not_a_message_is_an_error_naming_it() {
        for line in [
            "garbage",
            "{\"publish\":{}}",
            "{\"pass-ended\":{\"pass\":1,\"extra\":2}}",
            "\"no-such-message\"",
            "{\"crash-point\":{\"point\":\"relay-after-lunch\",\"order\":1}}",
        ] {
            let mut input = format!("{line}\n").into_bytes();
            let err = read::<Up>(&mut input.as_slice(), &mut Vec::new()).unwrap_err();
            let text = err.to_string();
            assert!(text.contains("not the lab's protocol"), "{text}");
            assert!(text.contains(line), "{text}");
            input.clear();
        }
        let err = decode::<Up>(&[0xff, 0xfe]).unwrap_err();
        assert!(matches!(err, WireError::Malformed { .. }));
    }

    #[test]
    fn half_lines_and_endless_lines_are_errors_not_waits() {
        let err = read::<Up>(&mut &b"\"order-handled\""[..], &mut Vec::new()).unwrap_err();
        assert!(matches!(err, WireError::Truncated(_)), "{err}");
        let endless = vec![b'x'; MAX_LINE + 10];
        let err = read::<Up>(&mut endless.as_slice(), &mut Vec::new()).unwrap_err();
        assert!(matches!(err, WireError::TooLong(MAX_LINE)), "{err}");
        assert!(
            read::<Up>(&mut &b""[..], &mut Vec::new())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn long_lines_are_shown_cut_short() {
        let line = "x".repeat(500);
        let err = decode::<Up>(line.as_bytes()).unwrap_err().to_string();
        assert!(err.len() < 300, "{err}");
        assert!(err.ends_with('…'));
    }
}
