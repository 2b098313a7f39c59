//! `msgwork doctor`: can this machine, and a named PostgreSQL server or NATS broker, run the labs?

use std::fmt::Write as _;

use anyhow::Result;
use comfy_table::Cell;
use serde::Serialize;

use super::context::{Context, emit, emit_json};
use crate::Outcome;
use crate::broker::BrokerUrl;
use crate::sim::error::PgError;
use crate::sim::storage::postgres::connect::redact;
use crate::sim::storage::postgres::doctor::{Check, diagnose};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Diagnosis {
    schema_version: u32,
    ok: bool,
    /// The PostgreSQL URL checked, password hidden; null when none was given.
    db: Option<String>,
    local: Vec<Check>,
    postgres: Option<Vec<Check>>,
    /// The NATS URL checked, password hidden; null when none was given.
    broker: Option<String>,
    nats: Option<Vec<Check>>,
}

fn check(id: &'static str, result: Result<String, String>, fix: &str) -> Check {
    match result {
        Ok(detail) => Check {
            id,
            ok: true,
            detail,
            fix: None,
        },
        Err(detail) => Check {
            id,
            ok: false,
            detail,
            fix: Some(fix.to_string()),
        },
    }
}

/// What the SQLite labs need: a data directory to record in, and an embedded SQLite that does WAL.
fn local_checks(ctx: &Context) -> Vec<Check> {
    let store = ctx
        .data_dir()
        .map_err(|e| e.to_string())
        .and_then(|dir| match ctx.open_store() {
            Ok(_) => Ok(format!("records runs in {}", dir.display())),
            Err(e) => Err(format!("{e:#}")),
        });
    let wal = tempfile::tempdir()
        .map_err(|e| format!("no temporary directory: {e}"))
        .and_then(|dir| {
            let conn = crate::sim::storage::sqlite::sql::open(
                &dir.path().join("probe.db"),
                crate::sim::storage::sqlite::sql::Durability::Normal,
            )
            .map_err(|e| e.to_string())?;
            let mode: String = conn
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .map_err(|e| e.to_string())?;
            if mode == "wal" {
                Ok(format!(
                    "SQLite {} (built in), WAL mode works in {}",
                    rusqlite::version(),
                    std::env::temp_dir().display()
                ))
            } else {
                Err(format!(
                    "the temporary directory's file system refused WAL mode (got {mode})"
                ))
            }
        });
    vec![
        check(
            "data-dir",
            store,
            "Pass --data-dir DIR or set MSGWORK_HOME to a directory you can write.",
        ),
        check(
            "sqlite",
            wal,
            "Set TMPDIR to a local disk: WAL needs shared memory, which some network file systems lack.",
        ),
    ]
}

pub fn run(db: Option<&str>, broker: Option<&str>, json: bool, ctx: &Context) -> Result<Outcome> {
    // A URL that cannot be a broker's is bad input, found before any check runs.
    let broker = broker.map(BrokerUrl::parse).transpose()?;
    let local = local_checks(ctx);
    let postgres = match db {
        Some(url) => match diagnose(url) {
            Ok(checks) => Some(checks),
            Err(err @ PgError::Url { .. }) => return Err(err.into()),
            Err(err) => Some(vec![Check {
                id: "connect",
                ok: false,
                detail: err.to_string(),
                fix: Some("See the README's PostgreSQL section.".into()),
            }]),
        },
        None => None,
    };
    let nats = broker.as_ref().map(|url| {
        crate::broker::doctor::diagnose(url)
            .into_iter()
            .map(|c| Check {
                id: c.id,
                ok: c.ok,
                detail: c.detail,
                fix: c.fix,
            })
            .collect::<Vec<_>>()
    });
    let ok = local
        .iter()
        .chain(postgres.iter().flatten())
        .chain(nats.iter().flatten())
        .all(|c| c.ok);
    let diagnosis = Diagnosis {
        schema_version: SCHEMA_VERSION,
        ok,
        db: db.map(redact),
        local,
        postgres,
        broker: broker.as_ref().map(ToString::to_string),
        nats,
    };
    if json {
        emit_json(&diagnosis)?;
    } else {
        emit(&render(&diagnosis, ctx))?;
    }
    Ok(if ok {
        Outcome::Success
    } else {
        Outcome::CheckFailed
    })
}

fn render(d: &Diagnosis, ctx: &Context) -> String {
    let paint = ctx.paint;
    let mut out = format!("{}\n\n", paint.bold("msgwork doctor"));
    let mut table = paint.table(&["", "check", "found"]);
    let mut fixes = Vec::new();
    let sections = [
        ("this machine", Some(&d.local)),
        ("PostgreSQL", d.postgres.as_ref()),
        ("NATS", d.nats.as_ref()),
    ];
    for (section, checks) in sections {
        let Some(checks) = checks else { continue };
        for c in checks {
            let mark = if c.ok {
                paint.good_cell("✓")
            } else {
                paint.bad_cell("✗")
            };
            table.add_row(vec![
                mark,
                Cell::new(format!("{section}: {}", c.id)),
                Cell::new(&c.detail),
            ]);
            if let Some(fix) = &c.fix {
                fixes.push(format!("  • {}: {fix}", c.id));
            }
        }
    }
    let _ = writeln!(out, "{table}\n");
    match &d.db {
        None => {
            let _ = writeln!(
                out,
                "{}",
                paint.dim("PostgreSQL not checked: pass --db postgres://USER@HOST:PORT/DB or set MSGWORK_DB.")
            );
        }
        Some(url) if d.ok => {
            let _ = writeln!(out, "{} is ready for the labs' --db.", url);
        }
        Some(_) => {}
    }
    match &d.broker {
        None => {
            let _ = writeln!(
                out,
                "{}",
                paint.dim(
                    "Broker not checked: pass --broker nats://HOST:PORT or set MSGWORK_BROKER."
                )
            );
        }
        Some(url) if d.nats.iter().flatten().all(|c| c.ok) => {
            let _ = writeln!(out, "{url} is ready for the labs' --broker.");
        }
        Some(_) => {}
    }
    if !fixes.is_empty() {
        let _ = writeln!(out, "{}", paint.bold("To fix"));
        for fix in fixes {
            let _ = writeln!(out, "{fix}");
        }
    }
    out
}
