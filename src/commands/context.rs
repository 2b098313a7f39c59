//! What every command is handed: the global options as a [`Context`], and the one way output
//! reaches stdout.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context as _, Result};

use super::output::Outputs;
use super::recording::{Missed, Recorder};
use crate::store::Store;
use crate::ui::Paint;

/// What every command may need from the global options.
pub struct Context {
    pub(super) data_dir: Option<PathBuf>,
    pub paint: Paint,
    pub color: crate::cli::ColorChoice,
    /// Why a run was not recorded, said once after the command's output.
    pub(super) missed: Missed,
}

impl Context {
    /// The learner's data directory: `--data-dir`, `MSGWORK_HOME`, or the platform default.
    pub fn data_dir(&self) -> Result<PathBuf> {
        if let Some(dir) = &self.data_dir {
            return Ok(dir.clone());
        }
        directories::ProjectDirs::from("", "", "msgwork")
            .map(|dirs| dirs.data_dir().to_path_buf())
            .context("cannot find a home directory for msgwork's data; pass --data-dir DIR or set MSGWORK_HOME")
    }

    /// `command` (starting `msgwork `) as the learner should type it next: with `--data-dir` when
    /// they named one on this command line. One set by `MSGWORK_HOME` stays in their environment.
    pub fn suggest(&self, command: &str) -> String {
        let Some(dir) = &self.data_dir else {
            return command.to_string();
        };
        let from_env =
            std::env::var_os("MSGWORK_HOME").is_some_and(|env| std::path::Path::new(&env) == dir);
        match command.strip_prefix("msgwork ") {
            Some(rest) if !from_env => format!(
                "msgwork --data-dir {} {rest}",
                super::replay::shell_word(&dir.to_string_lossy())
            ),
            _ => command.to_string(),
        }
    }

    /// What files the command may write: never the store, and existing ones only with `force`.
    pub fn outputs(&self, force: bool) -> Result<Outputs> {
        Ok(Outputs::new(&self.data_dir()?, force))
    }

    /// Opens the store a command records its finished run in: a store that cannot be written
    /// lets the command run and show its result, and is said once at the end.
    pub fn recorder(&self) -> Result<Recorder<'_>> {
        Recorder::open(&self.data_dir()?, &self.missed)
    }

    /// Opens the progress store; commands that record call this once, before doing any work.
    pub fn open_store(&self) -> Result<Store> {
        Ok(Store::open(&self.data_dir()?)?)
    }
}

/// Writes a command's output to stdout in one go.
pub fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Pretty JSON with a trailing newline.
pub fn emit_json(value: &impl serde::Serialize) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    emit(&text)
}
