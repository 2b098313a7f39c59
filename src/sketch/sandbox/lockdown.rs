//! The sandbox's walls: an in-memory SQLite connection whose authorizer refuses ATTACH, DETACH,
//! `load_extension`, virtual tables and all but a few pragmas, whose size and depth are capped,
//! and whose progress handler stops it after two million VM steps or half a second.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use rusqlite::config::DbConfig;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::limits::Limit;
use rusqlite::{Connection, OpenFlags};

use crate::sketch::limits::{SANDBOX_DEADLINE, SANDBOX_MAX_TICKS, SANDBOX_STEPS_PER_TICK};

#[derive(Debug, thiserror::Error)]
pub(super) enum SandboxError {
    #[error("could not open an in-memory database ({0})")]
    Open(#[source] rusqlite::Error),
    #[error("could not lock the database down ({what}: {source})")]
    Lockdown {
        what: &'static str,
        #[source]
        source: rusqlite::Error,
    },
}

pub(super) const ALLOWED_PRAGMAS: &[&str] = &[
    "foreign_keys",
    "busy_timeout",
    "journal_mode",
    "synchronous",
    "defer_foreign_keys",
    "recursive_triggers",
    "table_info",
    "table_xinfo",
    "index_list",
    "index_info",
    "foreign_key_list",
];

const BLOCKED_FUNCTIONS: &[&str] = &[
    "load_extension",
    "fts3_tokenizer",
    "readfile",
    "writefile",
    "edit",
    "fts5",
];

pub(super) type Refusals = Arc<Mutex<Vec<String>>>;

fn authorize(ctx: &AuthContext<'_>, log: &Refusals) -> Authorization {
    let refuse = |what: String| {
        if let Ok(mut l) = log.lock() {
            l.push(what);
        }
        Authorization::Deny
    };
    if let Some(db) = ctx.database_name
        && db != "main"
        && db != "temp"
    {
        return refuse(format!("access to database `{db}`"));
    }
    match ctx.action {
        AuthAction::Attach { filename } => refuse(format!("ATTACH of '{filename}'")),
        AuthAction::Detach { database_name } => refuse(format!("DETACH of `{database_name}`")),
        AuthAction::Function { function_name }
            if BLOCKED_FUNCTIONS.contains(&function_name.to_lowercase().as_str()) =>
        {
            refuse(format!("{}()", function_name.to_lowercase()))
        }
        AuthAction::Pragma { pragma_name, .. }
            if !ALLOWED_PRAGMAS.contains(&pragma_name.to_lowercase().as_str()) =>
        {
            refuse(format!("PRAGMA {pragma_name}"))
        }
        AuthAction::CreateVtable { module_name, .. } => {
            refuse(format!("virtual table module {module_name}"))
        }
        AuthAction::DropVtable { .. } => refuse("dropping a virtual table".to_string()),
        AuthAction::Unknown { code, .. } => refuse(format!("unknown action {code}")),
        _ => Authorization::Allow,
    }
}

pub(super) fn open_sandbox(log: Refusals) -> Result<Connection, SandboxError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_MEMORY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_in_memory_with_flags(flags).map_err(SandboxError::Open)?;
    let lock = |what: &'static str, r: rusqlite::Result<()>| {
        r.map_err(|source| SandboxError::Lockdown { what, source })
    };
    for (limit, value) in [
        (Limit::SQLITE_LIMIT_ATTACHED, 0),
        (Limit::SQLITE_LIMIT_LENGTH, 32 * 1024),
        (Limit::SQLITE_LIMIT_SQL_LENGTH, 200_000),
        (Limit::SQLITE_LIMIT_EXPR_DEPTH, 200),
        (Limit::SQLITE_LIMIT_COMPOUND_SELECT, 50),
        (Limit::SQLITE_LIMIT_TRIGGER_DEPTH, 10),
        (Limit::SQLITE_LIMIT_VARIABLE_NUMBER, 999),
    ] {
        lock("limits", conn.set_limit(limit, value).map(|_| ()))?;
    }
    for (config, on) in [
        (DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true),
        (DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false),
        (DbConfig::SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, false),
        (DbConfig::SQLITE_DBCONFIG_ENABLE_ATTACH_CREATE, false),
        (DbConfig::SQLITE_DBCONFIG_ENABLE_ATTACH_WRITE, false),
    ] {
        lock("config", conn.set_db_config(config, on).map(|_| ()))?;
    }
    lock(
        "storage",
        // Temporary data stays in memory, and neither database (4 KiB pages) can outgrow
        // 64 MiB.
        conn.execute_batch(
            "PRAGMA temp_store = MEMORY; PRAGMA main.max_page_count = 16384; \
             PRAGMA temp.max_page_count = 16384;",
        ),
    )?;
    lock(
        "authorizer",
        conn.authorizer(Some(move |ctx: AuthContext<'_>| authorize(&ctx, &log))),
    )?;
    let started = Instant::now();
    let mut ticks: u64 = 0;
    lock(
        "progress handler",
        conn.progress_handler(
            SANDBOX_STEPS_PER_TICK,
            Some(move || {
                ticks += 1;
                ticks > SANDBOX_MAX_TICKS || started.elapsed() > SANDBOX_DEADLINE
            }),
        ),
    )?;
    Ok(conn)
}
