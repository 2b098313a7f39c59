//! PostgreSQL: connecting, and checking that a server can run the labs (`msgwork doctor`).

use std::str::FromStr;
use std::time::Duration;

pub mod feed;
pub mod interrupt;
pub mod store;

use postgres::{Client, Config, NoTls};
use serde::Serialize;

/// The oldest server the labs run on: `pg_replication_slot_advance` arrived in 11.
pub const MIN_SERVER_VERSION: i32 = 110_000;

/// Why msgwork could not use a database URL.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error(
        "'{url}' is not a PostgreSQL URL: {why}. Write it like postgres://USER@HOST:PORT/DATABASE"
    )]
    Url { url: String, why: String },
    #[error("cannot connect to {url}: {why}. {hint}")]
    Connect {
        url: String,
        why: String,
        hint: &'static str,
    },
    #[error("PostgreSQL failed while {doing}: {}", describe(.cause))]
    Sql {
        doing: &'static str,
        cause: postgres::Error,
    },
}

/// Attaches what was being done to a PostgreSQL error.
pub trait PgContext<T> {
    fn pg(self, doing: &'static str) -> Result<T, PgError>;
}

impl<T> PgContext<T> for Result<T, postgres::Error> {
    fn pg(self, doing: &'static str) -> Result<T, PgError> {
        self.map_err(|cause| PgError::Sql { doing, cause })
    }
}

/// A database URL with any password hidden, fit to print and to record.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _password)) => format!("{scheme}://{name}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Parses a `postgres://` URL (the key=value form works too).
pub fn config(url: &str) -> Result<Config, PgError> {
    if url.contains("://") && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
    {
        return Err(PgError::Url {
            url: redact(url),
            why: "it should start with postgres:// or postgresql://".to_string(),
        });
    }
    let mut config = Config::from_str(url).map_err(|err| PgError::Url {
        url: redact(url),
        why: err.to_string(),
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(5));
    }
    if config.get_application_name().is_none() {
        config.application_name("msgwork");
    }
    Ok(config)
}

/// Opens a connection, explaining a failure in terms of what to do about it.
pub fn connect(url: &str) -> Result<Client, PgError> {
    config(url)?.connect(NoTls).map_err(|err| {
        let why = describe(&err);
        let hint = match err.as_db_error().map(|e| e.code().code()) {
            Some("28P01" | "28000") => {
                "Check the user name and password in the URL, and the server's pg_hba.conf."
            }
            Some("3D000") => "Create the database (createdb), or name one that exists.",
            _ if why.contains("refused") || why.contains("timed out") => {
                "Is the server running, on that host and port? The README says how to start one."
            }
            _ => "See the README's PostgreSQL section for a working setup.",
        };
        PgError::Connect {
            url: redact(url),
            why,
            hint,
        }
    })
}

/// An error's message with its cause: the driver's top line alone is often just "error connecting".
fn describe(err: &postgres::Error) -> String {
    if let Some(db) = err.as_db_error() {
        return db.message().to_string();
    }
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = cause.source();
    }
    text
}

/// One thing `msgwork doctor` checked.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub id: &'static str,
    pub ok: bool,
    /// What was found.
    pub detail: String,
    /// What to change, when it is not ok.
    pub fix: Option<String>,
}

impl Check {
    fn pass(id: &'static str, detail: String) -> Check {
        Check {
            id,
            ok: true,
            detail,
            fix: None,
        }
    }

    fn fail(id: &'static str, detail: String, fix: String) -> Check {
        Check {
            id,
            ok: false,
            detail,
            fix: Some(fix),
        }
    }
}

/// Checks a server for everything the labs need, in the order a newcomer would fix them.
/// A connection failure is the one check that stops the rest.
pub fn diagnose(url: &str) -> Result<Vec<Check>, PgError> {
    let mut checks = Vec::new();
    let mut client = match connect(url) {
        Ok(client) => client,
        Err(PgError::Connect { why, hint, .. }) => {
            checks.push(Check::fail("connect", why, hint.to_string()));
            return Ok(checks);
        }
        Err(err) => return Err(err),
    };
    let row = client
        .query_one(
            "SELECT current_setting('server_version_num')::int, current_setting('server_version'),
                    current_user, current_database(), current_setting('wal_level'),
                    current_setting('max_replication_slots')::int,
                    (SELECT count(*) FROM pg_replication_slots)::int,
                    (SELECT rolsuper OR rolreplication FROM pg_roles WHERE rolname = current_user),
                    has_database_privilege(current_database(), 'CREATE'),
                    has_schema_privilege(current_schema(), 'CREATE'), current_schema()",
            &[],
        )
        .pg("reading the server's settings")?;
    let version_num: i32 = row.get(0);
    let version: String = row.get(1);
    let user: String = row.get(2);
    let database: String = row.get(3);
    let wal_level: String = row.get(4);
    let max_slots: i32 = row.get(5);
    let used_slots: i32 = row.get(6);
    let can_replicate: bool = row.get::<_, Option<bool>>(7).unwrap_or(false);
    let schema_create: bool = row.get(9);
    let schema: String = row.get::<_, Option<String>>(10).unwrap_or_default();
    checks.push(Check::pass(
        "connect",
        format!("connected to database {database} as {user}"),
    ));
    checks.push(if version_num >= MIN_SERVER_VERSION {
        Check::pass("version", format!("PostgreSQL {version}"))
    } else {
        Check::fail(
            "version",
            format!("PostgreSQL {version}"),
            "Use PostgreSQL 11 or newer: the CDC relay confirms its position with pg_replication_slot_advance.".into(),
        )
    });
    checks.push(if schema_create {
        Check::pass(
            "create-tables",
            format!("{user} may create tables in schema {schema}"),
        )
    } else {
        Check::fail(
            "create-tables",
            format!("{user} may not create tables in schema {schema}"),
            format!(
                "As a superuser: ALTER DATABASE {database} OWNER TO {user}; or GRANT CREATE ON SCHEMA {schema} TO {user};"
            ),
        )
    });
    checks.push(if wal_level == "logical" {
        Check::pass("wal-level", "wal_level = logical".into())
    } else {
        Check::fail(
            "wal-level",
            format!("wal_level = {wal_level}: the server keeps no logical decoding information"),
            "As a superuser: ALTER SYSTEM SET wal_level = logical; then restart the server (sudo systemctl restart postgresql).".into(),
        )
    });
    checks.push(if used_slots < max_slots {
        Check::pass(
            "slots",
            format!("{used_slots} of {max_slots} replication slots in use"),
        )
    } else {
        Check::fail(
            "slots",
            format!("{used_slots} of {max_slots} replication slots in use: none free"),
            "Raise max_replication_slots (ALTER SYSTEM SET max_replication_slots = 10; restart), or drop slots nobody reads (SELECT pg_drop_replication_slot(name)).".into(),
        )
    });
    checks.push(if can_replicate {
        Check::pass(
            "replication-role",
            format!("{user} may create replication slots"),
        )
    } else {
        Check::fail(
            "replication-role",
            format!("{user} has neither REPLICATION nor SUPERUSER"),
            format!("As a superuser: ALTER ROLE {user} REPLICATION;"),
        )
    });
    // The proof of all of the above: make a slot with the decoder the CDC relay uses, then drop it.
    if wal_level == "logical" && can_replicate && used_slots < max_slots {
        let slot = format!("msgwork_doctor_{}", std::process::id());
        let made = client.query_one(
            "SELECT pg_create_logical_replication_slot($1, 'test_decoding', true)::text",
            &[&slot],
        );
        checks.push(match made {
            Ok(_) => {
                let _ = client.execute("SELECT pg_drop_replication_slot($1)", &[&slot]);
                Check::pass(
                    "decoding",
                    "made and dropped a temporary slot with the test_decoding plugin".into(),
                )
            }
            Err(err) => Check::fail(
                "decoding",
                format!("could not make a logical slot: {}", describe(&err)),
                "Install the server's contrib modules (Debian: they come with the postgresql package), which provide test_decoding.".into(),
            ),
        });
    }
    Ok(checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_the_screen() {
        assert_eq!(
            redact("postgres://ann:s3cret@db:5432/shop"),
            "postgres://ann:***@db:5432/shop"
        );
        assert_eq!(
            redact("postgres://ann@db/shop"),
            "postgres://ann@db/shop",
            "nothing to hide"
        );
        assert_eq!(
            redact("postgresql://ann:p@ss@db/shop"),
            "postgresql://ann:***@db/shop"
        );
    }

    #[test]
    fn a_url_of_another_kind_is_refused_with_the_form_to_use() {
        let err = config("mysql://root@localhost/shop")
            .unwrap_err()
            .to_string();
        assert!(err.contains("postgres://USER@HOST:PORT/DATABASE"), "{err}");
        let err = config("postgres://ann:secret@db:notaport/shop")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn nobody_listening_is_a_connect_failure_with_a_hint() {
        // Port 1 on loopback: nothing listens there.
        let checks = diagnose("postgres://msgwork@127.0.0.1:1/msgwork").unwrap();
        assert_eq!(checks.len(), 1);
        assert!(!checks[0].ok);
        assert!(
            checks[0].fix.as_deref().unwrap().contains("running"),
            "{checks:?}"
        );
    }
}
