//! The sandbox-run item: the sketch run in the sandbox, and what that showed. It is reported but
//! never required, since the sandbox is SQLite standing in for PostgreSQL.

use super::design::{Judge, item};
use super::shared::WriteScope;
use crate::sketch::model::Flavor;
use crate::sketch::report::{Item, Status};
use crate::sketch::sandbox::{SandboxRun, run_sandbox};

impl<'m> Judge<'m> {
    pub(crate) fn sandbox_item(&self) -> Item {
        let run = run_sandbox(self.m, &self.write_groups);
        let mut it = self.sandbox_verdict(&run);
        it.facts.insert(
            "sandbox-write",
            format!("{} of {} ran", run.write, run.write_total),
        );
        it
    }

    fn sandbox_verdict(&self, run: &SandboxRun) -> Item {
        let id = "sandbox-run";
        if let Some(e) = &run.setup_error {
            return item(
                id,
                Status::NotJudged,
                false,
                format!("The sandbox could not be set up, so nothing was run: {e}."),
            );
        }
        let skipped = if run.skipped.is_empty() {
            String::new()
        } else {
            let shown: Vec<&str> = run.skipped.iter().take(6).map(String::as_str).collect();
            let more = run.skipped.len().saturating_sub(shown.len());
            format!(
                " Could not run here, so not judged: {}{}.",
                shown.join("; "),
                if more > 0 {
                    format!("; and {more} more")
                } else {
                    String::new()
                }
            )
        };
        let mut problems = Vec::new();
        if !run.refused.is_empty() {
            problems.push(format!(
                "refused {}: a sketch has no business reaching outside its own database",
                run.refused.join(", ")
            ));
        }
        if let Some(s) = &run.stopped {
            problems.push(s.clone());
        }
        problems.extend(run.failures.iter().cloned());
        if !problems.is_empty() {
            return item(
                id,
                Status::Wrong,
                false,
                format!(
                    "In the in-memory SQLite sandbox: {}.{skipped}",
                    problems.join("; ")
                ),
            );
        }
        if run.ddl == 0 {
            return item(
                id,
                Status::NotJudged,
                false,
                format!(
                    "No DDL could run in the SQLite sandbox, so nothing was tried here; that is a \
                     limit of the sandbox, not a fault in the sketch.{skipped}"
                ),
            );
        }
        // What the write path is called and what running it shows, from the shared scope.
        let (path, rows) = match &self.write_scope {
            s if s.atomic() => (
                "the write transaction",
                "the booking and its outbox row insert cleanly against your own tables",
            ),
            WriteScope::Separate { .. } => (
                "the booking and outbox writes",
                "both insert cleanly against your own tables, though in separate transactions \
                 (see write-transaction)",
            ),
            WriteScope::NoOutboxWrite { .. } => (
                "the booking write",
                "the booking inserts cleanly against your own tables",
            ),
            _ => ("the writes", "they insert cleanly against your own tables"),
        };
        let write = if run.write_total == 0 {
            "There was no write transaction to run.".to_string()
        } else if run.write_skipped > 0 {
            format!(
                "Of {path}, {} of {} statements ran; the rest use syntax the sandbox cannot \
                 emulate, so check those against PostgreSQL itself.",
                run.write, run.write_total
            )
        } else {
            let mut p = path.chars();
            let path = p
                .next()
                .map_or_else(String::new, |c| c.to_uppercase().chain(p).collect());
            format!(
                "{path} ran too ({} statement{}), so {rows}.",
                run.write,
                if run.write == 1 { "" } else { "s" }
            )
        };
        let mapped = match self.m.flavor {
            Flavor::Postgres => {
                " with PostgreSQL types and functions mapped (uuid, jsonb, timestamptz, \
                 bigserial, now(), gen_random_uuid())"
            }
            Flavor::Mysql => {
                " with MySQL's table options, AUTO_INCREMENT and inline indexes left out, which \
                 SQLite does not read"
            }
            Flavor::Sqlite => "",
        };
        item(
            id,
            Status::Ok,
            false,
            format!(
                "Ran {} in a throwaway in-memory SQLite database{mapped}: {} executed. \
                 {write}{skipped}",
                statements(run.ran),
                if run.ddl == 1 {
                    "the one DDL statement".to_string()
                } else {
                    format!("all {} DDL statements", run.ddl)
                }
            ),
        )
    }
}

/// "1 statement", "3 statements".
fn statements(n: usize) -> String {
    if n == 1 {
        "1 statement".to_string()
    } else {
        format!("{n} statements")
    }
}
