//! Connecting to a PostgreSQL server: parsing its URL, hiding its password, and saying what to do
//! when the connection fails.

use std::str::FromStr;
use std::time::Duration;

use postgres::{Client, Config, NoTls};

use crate::sim::error::{PgError, describe};

/// The oldest server the labs run on: `pg_replication_slot_advance` arrived in 11.
pub const MIN_SERVER_VERSION: i32 = 110_000;

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
}
