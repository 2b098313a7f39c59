//! `msgwork lab`: the stretch labs.

mod cdc;
mod cleanup;
mod dlq;
mod fanout;
mod ordering;
mod retention;
mod shared;

use anyhow::Result;

use super::context::Context;
use crate::Outcome;
use crate::cli::LabCommand;

pub fn run(command: LabCommand, ctx: &Context) -> Result<Outcome> {
    match command {
        LabCommand::Fanout(args) => fanout::fanout_lab(&args, ctx),
        LabCommand::Cdc(args) => cdc::cdc_lab(&args, ctx),
        LabCommand::Dlq(args) => dlq::dlq_lab(&args, ctx),
        LabCommand::Cleanup(args) => cleanup::cleanup_lab(&args, ctx),
        LabCommand::Ordering(args) => ordering::ordering_lab(&args, ctx),
        LabCommand::Retention(args) => retention::retention_lab(&args, ctx),
    }
}
