//! One module per subcommand: check the arguments, call the core, render the result.

mod actor;
mod bench;
mod content;
mod doctor;
mod drill;
mod evidence;
mod lab;
mod progress;
mod rewrite;
mod simulate;
mod sketch;

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::CommandFactory;

use crate::Outcome;
use crate::cli::{Cli, Command};
use crate::store::Store;
use crate::ui::Paint;

/// What every command may need from the global options.
pub struct Context {
    data_dir: Option<PathBuf>,
    pub paint: Paint,
    pub color: crate::cli::ColorChoice,
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

    /// Opens the progress store; commands that record call this once, before doing any work.
    pub fn open_store(&self) -> Result<Store> {
        Ok(Store::open(&self.data_dir()?)?)
    }
}

pub fn dispatch(cli: Cli) -> Result<Outcome> {
    let ctx = Context {
        data_dir: cli.data_dir,
        paint: Paint::new(cli.color),
        color: cli.color,
    };
    match cli.command {
        Command::Simulate(args) => simulate::run(&args, &ctx),
        Command::Bench(args) => bench::run(&args, &ctx),
        Command::Drill(args) => drill::run(&args, &ctx),
        Command::Content(command) => content::run(&command, &ctx),
        Command::Progress { json } => progress::run(json, &ctx),
        Command::Evidence { writeup, json } => evidence::run(writeup.as_deref(), json, &ctx),
        Command::Report { format, output } => evidence::report(format, output.as_deref(), &ctx),
        Command::RewriteEvent(args) => rewrite::run(&args, &ctx),
        Command::Lab(command) => lab::run(command, &ctx),
        Command::Sketch(crate::cli::SketchCommand::Check { file, json }) => {
            sketch::check(&file, json, &ctx)
        }
        Command::Doctor { db, json } => doctor::run(db.as_deref(), json, &ctx),
        Command::Actor { name } => actor::run(&name),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "msgwork", &mut out);
            emit(&String::from_utf8_lossy(&out))?;
            Ok(Outcome::Success)
        }
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
