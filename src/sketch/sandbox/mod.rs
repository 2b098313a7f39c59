//! The sandbox: the sketch's DDL and write transaction run in a sealed in-memory SQLite database,
//! one statement at a time, each rebuilt from the checker's own tokens so SQLite cannot read it
//! differently from the checker.

mod lockdown;
mod run;
mod translate;

pub(super) use run::{SandboxRun, run_sandbox};

#[cfg(test)]
mod tests;
