//! `msgwork doctor --broker`: can the labs run on this NATS server? Connection, server version,
//! JetStream for the account, and the right to create (and delete) a stream, each with what to
//! change when it fails.

use std::time::Duration;

use serde::Serialize;

use super::error::BrokerError;
use super::nats::{Retention, Session, StreamSpec};
use super::url::BrokerUrl;

/// The oldest server the labs are tested on: Debian's nats-server.
pub const MIN_VERSION: (u32, u32) = (2, 9);

/// One check's result.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub id: &'static str,
    pub ok: bool,
    /// What was found.
    pub detail: String,
    /// What to change, when the check failed.
    pub fix: Option<String>,
}

fn passed(id: &'static str, detail: String) -> Check {
    Check {
        id,
        ok: true,
        detail,
        fix: None,
    }
}

fn failed(id: &'static str, detail: String, fix: &str) -> Check {
    Check {
        id,
        ok: false,
        detail,
        fix: Some(fix.to_string()),
    }
}

/// Runs every check it can: a failed connection ends the list, since nothing else can be asked.
pub fn diagnose(url: &BrokerUrl) -> Vec<Check> {
    let session = match Session::connect(url) {
        Ok(session) => session,
        Err(BrokerError::Connect { url, why, hint }) => {
            return vec![failed(
                "connect",
                format!("cannot connect to {url}: {why}"),
                hint,
            )];
        }
        Err(err) => {
            return vec![failed(
                "connect",
                err.to_string(),
                "See the README's section on the lab on a real broker.",
            )];
        }
    };
    let mut checks = vec![passed("connect", format!("connected to {url}"))];
    let version = session.server_version();
    checks.push(match parse_version(&version) {
        Some(v) if v >= MIN_VERSION => passed("version", format!("nats-server {version}")),
        Some(_) => failed(
            "version",
            format!(
                "nats-server {version} is older than {}.{}",
                MIN_VERSION.0, MIN_VERSION.1
            ),
            "Upgrade the server to 2.9 or later (Debian bookworm's nats-server is 2.9.10).",
        ),
        None => failed(
            "version",
            format!("the server announced the version '{version}', which msgwork cannot read"),
            "Run a released nats-server, 2.9 or later.",
        ),
    });
    match session.account() {
        Ok(account) => {
            let limit = match account.max_streams {
                None => "no limit on streams".to_string(),
                Some(n) => format!("at most {n} streams"),
            };
            checks.push(passed(
                "jetstream",
                format!(
                    "enabled for this account: {} streams, {} consumers, {limit}",
                    account.streams, account.consumers
                ),
            ));
        }
        Err(err) => {
            let detail = match err {
                BrokerError::NoJetStream { why, .. } => {
                    format!("JetStream does not answer for this account: {why}")
                }
                other => other.to_string(),
            };
            checks.push(failed(
                "jetstream",
                detail,
                "Start the server with --jetstream (or add `jetstream {}` to its config) and, with accounts, enable JetStream for this one.",
            ));
            return checks;
        }
    }
    checks.push(create_probe(&session));
    checks
}

/// Creates a small stream, publishes one message to it with an ack, and deletes it.
fn create_probe(session: &Session) -> Check {
    let name = format!("msgwork_doctor{}", std::process::id());
    let subject = format!("msgwork.doctor{}.probe", std::process::id());
    let spec = StreamSpec {
        name: &name,
        subject: &subject,
        retention: Retention::Limits,
        duplicate_window: Duration::from_secs(1),
    };
    let tried = session.create_stream(&spec).map(|()| {
        let published = session.publish(&subject, Some("probe"), b"probe");
        (published, session.delete_stream(&name))
    });
    let tried = tried.and_then(|(published, deleted)| published.and(deleted));
    match tried {
        Ok(_) => passed(
            "create-stream",
            "created a stream, published to it with an ack, and deleted it".to_string(),
        ),
        Err(err) => failed(
            "create-stream",
            err.to_string(),
            "Let this user publish to $JS.API.> (stream create, delete, info and consumer calls) and to msgwork.>, and raise the account's stream and storage limits if it is at one.",
        ),
    }
}

/// `2.9.10` or `v2.10.3-beta` as (major, minor).
fn parse_version(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.trim_start_matches('v').split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_read_with_or_without_a_v_and_a_suffix() {
        assert_eq!(parse_version("2.9.10"), Some((2, 9)));
        assert_eq!(parse_version("v2.10.3-beta"), Some((2, 10)));
        assert_eq!(parse_version("garbage"), None);
        assert!(parse_version("2.8.4").unwrap() < MIN_VERSION);
    }

    #[test]
    fn nothing_listening_fails_the_connect_check_with_a_fix_and_stops() {
        let url = BrokerUrl::parse("nats://ann:hunter2@127.0.0.1:1").unwrap();
        let checks = diagnose(&url);
        assert_eq!(checks.len(), 1);
        assert!(!checks[0].ok);
        assert!(
            checks[0]
                .fix
                .as_deref()
                .unwrap()
                .contains("NATS server runs")
        );
        assert!(
            !checks[0].detail.contains("hunter2"),
            "{}",
            checks[0].detail
        );
    }
}
