//! Connecting to a PostgreSQL server: parsing its URL, hiding its password, and saying what to do
//! when the connection fails.

use std::str::FromStr;
use std::time::Duration;

use postgres::{Client, Config, NoTls};

use crate::sim::error::{PgError, describe};

/// The oldest server the labs run on: `pg_replication_slot_advance` arrived in 11.
pub const MIN_SERVER_VERSION: i32 = 110_000;

/// A connection string with every password hidden, fit to print and to record: the URL's
/// `user:password@`, and any `password=` in a query string or in the `key=value` form.
pub fn redact(url: &str) -> String {
    let url = redact_authority(url);
    let lower = url.to_ascii_lowercase();
    let mut out = String::with_capacity(url.len());
    let mut rest = 0;
    let mut from = 0;
    while let Some(found) = lower[from..].find("password") {
        let key_end = from + found + "password".len();
        from = key_end;
        let after_key = &url[key_end..];
        let spaces = after_key.len() - after_key.trim_start().len();
        let Some(value) = after_key.trim_start().strip_prefix('=') else {
            continue;
        };
        let value = value.trim_start();
        let start = url.len() - value.len();
        let end = start + value_len(value);
        out.push_str(&url[rest..start]);
        out.push_str("***");
        rest = end;
        from = end.max(key_end + spaces);
    }
    out.push_str(&url[rest..]);
    out
}

/// How long a `password=` value runs: to the closing quote of a quoted value, else to the next
/// `&` (query string) or blank (`key=value` form).
fn value_len(value: &str) -> usize {
    if let Some(quoted) = value.strip_prefix('\'') {
        let mut escaped = false;
        for (i, c) in quoted.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '\'' if !escaped => return i + 2,
                _ => escaped = false,
            }
        }
        return value.len();
    }
    value
        .find(|c: char| c == '&' || c.is_whitespace())
        .unwrap_or(value.len())
}

/// The password of a URL's `user:password@`, hidden.
fn redact_authority(url: &str) -> String {
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

    #[test]
    fn no_password_survives_in_any_form_of_connection_string() {
        for (url, want) in [
            (
                "postgres://msgwork:s3cret@db:5432/lab",
                "postgres://msgwork:***@db:5432/lab",
            ),
            (
                "postgres://msgwork@db/lab?sslmode=disable&password=s3cret&x=1",
                "postgres://msgwork@db/lab?sslmode=disable&password=***&x=1",
            ),
            (
                "host=db user=msgwork password=s3cret dbname=lab",
                "host=db user=msgwork password=*** dbname=lab",
            ),
            (
                "host=db PASSWORD = 's3 cr\\'et' dbname=lab",
                "host=db PASSWORD = *** dbname=lab",
            ),
            ("postgres://msgwork@db/lab", "postgres://msgwork@db/lab"),
            ("host=db passwordless=1", "host=db passwordless=1"),
        ] {
            let redacted = redact(url);
            assert_eq!(redacted, want, "{url}");
            assert!(!redacted.contains("s3"), "{redacted}");
        }
    }
}
