//! One module per subcommand: check the arguments, call the core, render the result.

mod actor;
mod bench;
mod broker_actor;
mod content;
mod context;
mod doctor;
mod drill;
mod evidence;
mod interrupt;
mod lab;
mod next;
mod output;
mod progress;
mod recording;
mod replay;
mod rewrite;
mod simulate;
mod sketch;
mod starter;
mod verify;

use anyhow::Result;
use clap::CommandFactory;

// `drill` still names these through this module; it moves to `context` with its own change.
use crate::Outcome;
use crate::cli::{Cli, Command};
use crate::sim::storage::sqlite::files as scratch;
use crate::ui::Paint;
pub use context::{Context, emit, emit_json};

pub fn dispatch(cli: Cli) -> Result<Outcome> {
    let ctx = Context {
        data_dir: cli.data_dir,
        paint: Paint::new(cli.color),
        color: cli.color,
        missed: recording::Missed::default(),
    };
    // One Ctrl-C handler for every command; a lab's child process keeps the default and dies.
    if !matches!(
        cli.command,
        Some(Command::Actor { .. } | Command::BrokerActor { .. })
    ) {
        interrupt::install();
        // The labs' scratch files go under the data directory, where a killed run's are found
        // and removed the next time msgwork starts.
        if let Ok(dir) = ctx.data_dir() {
            scratch::use_scratch_root(dir.join("cache"));
        }
        scratch::sweep_stale();
    }
    let Some(command) = cli.command else {
        // A bare `msgwork` in a terminal says where to go next; anywhere else it is a usage
        // error, as it always was, so scripts notice.
        if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            return next::run(false, &ctx);
        }
        eprintln!("{}", Cli::command().render_help());
        return Ok(Outcome::Usage);
    };
    let result = match command {
        Command::Next { json } => next::run(json, &ctx),
        Command::Simulate(args) => simulate::run(&args, &ctx),
        Command::Bench(args) => bench::run(&args, &ctx),
        Command::Verify(args) => verify::run(&args, &ctx),
        Command::Drill(args) => drill::run(&args, &ctx),
        Command::Content(command) => content::run(&command, &ctx),
        Command::Progress { json, plot, force } => {
            progress::run(json, plot.as_deref(), force, &ctx)
        }
        Command::Evidence { writeup, json } => evidence::run(writeup.as_deref(), json, &ctx),
        Command::Report {
            format,
            output,
            force,
        } => evidence::report(format, output.as_deref(), force, &ctx),
        Command::RewriteEvent(args) => rewrite::run(&args, &ctx),
        Command::Lab(command) => lab::run(command, &ctx),
        Command::Sketch(crate::cli::SketchCommand::Check {
            file,
            dialect,
            only,
            json,
        }) => sketch::check(&file, dialect, only, json, &ctx),
        Command::Sketch(crate::cli::SketchCommand::Template { output }) => {
            sketch::template(output.as_deref(), &ctx)
        }
        Command::Doctor { db, broker, json } => {
            doctor::run(db.as_deref(), broker.as_deref(), json, &ctx)
        }
        Command::Actor { name } => actor::run(&name),
        Command::BrokerActor { name } => broker_actor::run(&name),
        Command::Starter(args) => starter::run(&args),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "msgwork", &mut out);
            emit(&String::from_utf8_lossy(&out))?;
            Ok(Outcome::Success)
        }
    };
    interrupt::wait_if_interrupted();
    if let Some(warning) = ctx.missed.warning() {
        eprintln!("{warning}");
    }
    result
}
