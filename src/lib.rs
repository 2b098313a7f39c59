//! msgwork: learn messaging patterns by doing them.
//!
//! The core (`broker`, `content`, `grade`, `drill`, `rewrite`, `sketch`, `evidence`, `sim`, `store`,
//! `userfile`, `verify`) never touches the terminal; the edges (`cli`, `commands`, `ui`) never decide
//! anything. `main` calls [`run`] and turns its result into the process's exit status.

pub mod broker;
pub mod cli;
pub mod commands;
pub mod content;
pub mod drill;
pub mod evidence;
pub mod grade;
pub mod kit;
pub mod rewrite;
pub mod sim;
pub mod sketch;
pub mod store;
pub mod ui;
pub mod userfile;
pub mod verify;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

/// How a successful invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: a check the user asked for did not pass.
    CheckFailed,
    /// Exit 2: the command line was wrong; clap has already said how.
    Usage,
    /// Exit 130: the learner pressed Ctrl-C; what they answered is saved.
    Interrupted,
}

impl Outcome {
    pub fn exit_code(self) -> ExitCode {
        match self {
            Outcome::Success => ExitCode::SUCCESS,
            Outcome::CheckFailed => ExitCode::from(1),
            Outcome::Usage => ExitCode::from(2),
            Outcome::Interrupted => ExitCode::from(130),
        }
    }
}

/// Parses the arguments and runs the command. Errors are bad input or an unusable environment
/// (exit 2); the caller prints them.
pub fn run<I, T>(args: I) -> anyhow::Result<Outcome>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version come through here too, with exit code 0.
            let code = err.exit_code();
            err.print()?;
            return Ok(if code == 0 {
                Outcome::Success
            } else {
                Outcome::Usage
            });
        }
    };
    commands::dispatch(cli)
}
