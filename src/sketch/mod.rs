//! Outbox sketch checker: judges a learner's outbox design item by item and runs what it can.
//!
//! A sketch is SQL for PostgreSQL, MySQL or SQLite mixed with comments and pseudocode. It is
//! split into statements on semicolons outside quotes, dollar quotes and comments. Each statement
//! is parsed with sqlparser, first as PostgreSQL (as MySQL when the learner says so or the schema
//! writes what only MySQL does) and then as SQLite; one that neither reads is reported with its
//! line and column and then cut at line starts that look like SQL, so the SQL around a line of
//! pseudocode still counts. Table shapes come from the parse tree where there is one and from
//! tokens where there is not. What statements do (insert into, update, claim, delete) is read
//! from tokens, so parsed SQL and half-SQL are judged alike.
//!
//! The DDL and the write transaction then run in an in-memory SQLite database. Its authorizer
//! refuses ATTACH, DETACH, `load_extension`, virtual tables and all but a few pragmas; it may
//! attach no database, keeps temporary data in memory and cannot grow past 64 MiB; and its
//! progress handler stops it after two million VM steps (a sketch needs a few thousand) or half
//! a second, whichever comes first. SQLite only ever sees statements rebuilt from the checker's
//! own tokens, one at a time, so it cannot read a statement differently from the checker.
//!
//! One file per stage, each using only the ones before it: `lex` -> `statements` -> `facts` ->
//! `steps` (the order of effects, read from statements and prose alike) -> `schema` -> `model`,
//! then the judge's vocabulary (`roles`), the `sandbox`, and the `judge` that reads them all (its
//! last item runs the sandbox). Beneath every stage sit the `report` types, the `limits`, the
//! `lines` and the `words` prose is read with; above them all, `check` is the entry point.

mod check;
mod facts;
mod judge;
mod lex;
mod limits;
mod lines;
mod model;
mod report;
mod roles;
mod sandbox;
mod schema;
mod statements;
mod steps;
mod words;

pub use check::{check, check_with, read};
pub use report::{Dialect, Item, Options, ParseProblem, SketchReport, Status};

#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;
