//! Running a sketch in the sandbox: which statements are sent, each one prepared and run in
//! order, and every error sorted into a refusal, a real mistake in the sketch or PostgreSQL-only
//! syntax the sandbox skips.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rusqlite::{Connection, ErrorCode};

use super::lockdown::{ALLOWED_PRAGMAS, Refusals, open_sandbox};
use super::translate::to_sqlite;
use crate::sketch::lex::{Tok, qname, word_at};
use crate::sketch::limits::{SANDBOX_DEADLINE, SANDBOX_MAX_ROWS, SANDBOX_MAX_STATEMENTS};
use crate::sketch::model::{Model, Unit};
use crate::sketch::statements::Head;

#[derive(Debug, Default)]
pub(crate) struct SandboxRun {
    pub(crate) ran: usize,
    pub(crate) ddl: usize,
    pub(crate) write: usize,
    pub(crate) write_total: usize,
    pub(crate) write_skipped: usize,
    pub(crate) failures: Vec<String>,
    pub(crate) refused: Vec<String>,
    pub(crate) skipped: Vec<String>,
    pub(crate) stopped: Option<String>,
    pub(crate) setup_error: Option<String>,
}

/// Why a statement is not sent to the sandbox at all.
fn sandbox_skip(u: &Unit) -> Option<&'static str> {
    if u.facts.skip_locked || u.facts.for_update {
        return Some("row locks are PostgreSQL-only");
    }
    if u.toks.iter().any(|t| t.is_word("recursive")) {
        return Some("recursive queries are not part of an outbox sketch");
    }
    match u.head {
        Head::Pseudo => Some("pseudocode"),
        Head::CreateRoutine | Head::Do => Some("routine bodies run only in PostgreSQL"),
        Head::Vacuum => Some("maintenance is not part of the sketch"),
        Head::Pragma if !ALLOWED_PRAGMAS.contains(&word_at(&u.toks, 1)) => {
            Some("pragma not needed for the sketch")
        }
        Head::CreateTrigger if u.toks.iter().any(|t| t.is_word("execute")) => {
            Some("the trigger calls a PostgreSQL routine")
        }
        Head::CreateOther => Some("PostgreSQL-only object"),
        Head::Other
            if matches!(
                word_at(&u.toks, 0),
                "comment"
                    | "grant"
                    | "revoke"
                    | "set"
                    | "reset"
                    | "show"
                    | "notify"
                    | "listen"
                    | "unlisten"
                    | "lock"
                    | "copy"
                    | "analyze"
                    | "explain"
                    | "truncate"
                    | "cluster"
                    | "reindex"
                    | "refresh"
                    | "call"
                    | "prepare"
                    | "execute"
                    | "deallocate"
                    | "declare"
                    | "fetch"
                    | "close"
                    | "checkpoint"
                    | "discard"
                    | "security"
                    | "import"
                    | "alter"
            ) =>
        {
            Some("PostgreSQL-only statement")
        }
        _ => None,
    }
}

/// Prepares the statement (which is when the authorizer decides) and runs it, except plain
/// reads: a SELECT changes nothing the sketch is judged on, so it is only compiled.
fn exec(conn: &Connection, sql: &str, read: bool) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(sql)?;
    if read && stmt.readonly() {
        return Ok(());
    }
    for i in 1..=stmt.parameter_count() {
        stmt.raw_bind_parameter(i, i64::try_from(i).unwrap_or(0))?;
    }
    let mut rows = stmt.raw_query();
    let mut n = 0;
    while rows.next()?.is_some() {
        n += 1;
        if n >= SANDBOX_MAX_ROWS {
            break;
        }
    }
    Ok(())
}

/// SQLite's own message, without the statement echoed back.
fn sqlite_message(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        rusqlite::Error::SqliteFailure(_, Some(msg)) => msg.clone(),
        other => other.to_string(),
    }
}

/// Errors that show a real mistake in the sketch, as opposed to PostgreSQL-only syntax the
/// sandbox does not emulate.
fn real_error(e: &rusqlite::Error) -> bool {
    if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) {
        return true;
    }
    let m = sqlite_message(e);
    [
        "no such table",
        "no such column",
        "has no column named",
        "already exists",
        "duplicate column",
        "datatype mismatch",
        "foreign key mismatch",
        "values for",
    ]
    .iter()
    .any(|k| m.contains(k))
}

/// Whether the authorizer turned the statement down (SQLite reports a refused function as a
/// plain error, a refused ATTACH as an authorization error).
fn refused(log: &Refusals, e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(ErrorCode::AuthorizationForStatementDenied)
        || log.lock().is_ok_and(|l| !l.is_empty())
}

/// The table a CREATE TABLE or ALTER TABLE statement defines, if it is one.
fn defined_table(u: &Unit) -> Option<String> {
    let at = match u.head {
        Head::CreateTable | Head::AlterTable => u.toks.iter().position(|t| t.is_word("table"))?,
        _ => return None,
    };
    let mut j = at + 1;
    while matches!(word_at(&u.toks, j), "if" | "not" | "exists" | "only") {
        j += 1;
    }
    qname(&u.toks, j).map(|(name, _)| name)
}

/// Records that the table `u` defines could not be made here.
fn note_unrun(u: &Unit, line: usize, unrun: &mut BTreeMap<String, usize>) {
    if let Some(table) = defined_table(u) {
        unrun.entry(table).or_insert(line);
    }
}

/// Why `u` cannot be judged here: it names a table the sandbox could not create.
fn depends_on_unrun(u: &Unit, unrun: &BTreeMap<String, usize>) -> Option<String> {
    u.toks.iter().filter_map(Tok::ident).find_map(|name| {
        let at = unrun.get(&name)?;
        Some(format!(
            "it needs `{name}`, which the sandbox could not create at line {at}"
        ))
    })
}

pub(crate) fn run_sandbox(m: &Model, write_groups: &BTreeSet<usize>) -> SandboxRun {
    let mut run = SandboxRun::default();
    let log: Refusals = Arc::new(Mutex::new(Vec::new()));
    let conn = match open_sandbox(Arc::clone(&log)) {
        Ok(c) => c,
        Err(e) => {
            run.setup_error = Some(e.to_string());
            return run;
        }
    };
    let started = Instant::now();
    let mut sent = 0usize;
    // Tables whose CREATE or ALTER could not run here, with the line that says so: what
    // fails on them afterwards fails because of the sandbox, not the sketch.
    let mut unrun: BTreeMap<String, usize> = BTreeMap::new();
    for u in m.units.iter().filter(|u| !u.in_body) {
        let line = m.line(u.start);
        if let Some(why) = sandbox_skip(u) {
            if u.head != Head::Pseudo {
                run.skipped.push(format!("line {line} ({why})"));
            }
            note_unrun(u, line, &mut unrun);
            continue;
        }
        if sent >= SANDBOX_MAX_STATEMENTS || started.elapsed() > SANDBOX_DEADLINE {
            run.stopped = Some(format!(
                "stopped at line {line}: the sandbox runs at most {SANDBOX_MAX_STATEMENTS} \
                 statements and half a second"
            ));
            break;
        }
        sent += 1;
        let ddl = matches!(
            u.head,
            Head::CreateTable | Head::CreateIndex | Head::CreateTrigger | Head::AlterTable
        );
        let write = write_groups.contains(&u.group);
        if write {
            run.write_total += 1;
        }
        if matches!(u.head, Head::Begin(_)) && !conn.is_autocommit() {
            // An earlier transaction was left open; close it so this one can start.
            let _ = conn.execute_batch("ROLLBACK");
        }
        let sql = to_sqlite(u, &m.schemas);
        if let Ok(mut l) = log.lock() {
            l.clear();
        }
        let read = matches!(u.head, Head::Select | Head::With);
        match exec(&conn, &sql, read) {
            Ok(()) => {
                run.ran += 1;
                if ddl {
                    run.ddl += 1;
                }
                if write {
                    run.write += 1;
                }
            }
            Err(e) => match e.sqlite_error_code() {
                _ if refused(&log, &e) => {
                    let what = log
                        .lock()
                        .map(|mut l| std::mem::take(&mut *l))
                        .unwrap_or_default();
                    let what = if what.is_empty() {
                        "a statement the sandbox does not allow".to_string()
                    } else {
                        what.join(" and ")
                    };
                    run.refused.push(format!("{what} (line {line})"));
                }
                Some(ErrorCode::OperationInterrupted) => {
                    run.stopped = Some(format!(
                        "line {line} was stopped when it ran past the sandbox's budget (two \
                         million VM steps or half a second); a sketch's statements finish at once"
                    ));
                    break;
                }
                _ if let Some(why) = depends_on_unrun(u, &unrun) => {
                    if write {
                        run.write_skipped += 1;
                    }
                    note_unrun(u, line, &mut unrun);
                    run.skipped.push(format!("line {line} ({why})"));
                }
                _ if (ddl || write)
                    && real_error(&e)
                    && (!u.has_params()
                        || e.sqlite_error_code() != Some(ErrorCode::ConstraintViolation)) =>
                {
                    run.failures
                        .push(format!("line {line} fails: {}", sqlite_message(&e)));
                }
                _ => {
                    if write {
                        run.write_skipped += 1;
                    }
                    note_unrun(u, line, &mut unrun);
                    let short: String = sqlite_message(&e).chars().take(80).collect();
                    run.skipped.push(format!("line {line} ({short})"));
                }
            },
        }
    }
    run
}
