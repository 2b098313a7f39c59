//! `msgwork doctor`'s checks: whether a server can run the labs, each failure with what to change.

use serde::Serialize;

use super::connect::{MIN_SERVER_VERSION, connect};
use crate::sim::error::{PgContext, PgError, describe};

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
