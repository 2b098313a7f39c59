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
        LabCommand::Fanout {
            orders,
            instances,
            seed,
            json,
        } => fanout::fanout_lab(orders, instances, seed, json, ctx),
        LabCommand::Cdc(args) => cdc::cdc_lab(&args, ctx),
        LabCommand::Dlq(args) => dlq::dlq_lab(&args, ctx),
        LabCommand::Cleanup(args) => cleanup::cleanup_lab(&args, ctx),
        LabCommand::Ordering {
            orders,
            partitions,
            seed,
            db,
            json,
        } => ordering::ordering_lab(orders, partitions, seed, db, json, ctx),
        LabCommand::Retention {
            events,
            duplicate_rate,
            hours,
            seed,
            plot,
            json,
        } => retention::retention_lab(
            events,
            duplicate_rate,
            &hours,
            seed,
            plot.as_deref(),
            json,
            ctx,
        ),
    }
}
