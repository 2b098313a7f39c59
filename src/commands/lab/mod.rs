//! `msgwork lab`: the stretch labs.

mod cleanup;
mod dlq;
mod fanout;
mod ordering;
mod retention;

use anyhow::{Result, bail};

use super::{Context, emit_json};
use crate::Outcome;
use crate::cli::LabCommand;

/// A bad value for a lab option is bad input: one line, exit 2.
pub(super) fn within<T: PartialOrd + std::fmt::Display>(
    flag: &str,
    value: T,
    lo: T,
    hi: T,
) -> Result<()> {
    if value < lo || value > hi {
        bail!("{flag} must be between {lo} and {hi} (got {value})");
    }
    Ok(())
}

/// Records a lab run. With `--json` it also prints the result and returns `None`: the caller is
/// done. Otherwise it returns the run id for the human report to cite.
pub(super) fn record(
    store: &crate::store::Store,
    kind: &str,
    seed: u64,
    options: &impl serde::Serialize,
    result: &impl serde::Serialize,
    json: bool,
) -> Result<Option<i64>> {
    let run = store.record(kind, Some(seed), options, result)?;
    if json {
        emit_json(result)?;
        return Ok(None);
    }
    Ok(Some(run))
}

pub fn run(command: LabCommand, ctx: &Context) -> Result<Outcome> {
    match command {
        LabCommand::Fanout {
            orders,
            instances,
            seed,
            json,
        } => fanout::fanout_lab(orders, instances, seed, json, ctx),
        LabCommand::Dlq(args) => dlq::dlq_lab(&args, ctx),
        LabCommand::Cleanup(args) => cleanup::cleanup_lab(&args, ctx),
        LabCommand::Ordering {
            orders,
            partitions,
            seed,
            json,
        } => ordering::ordering_lab(orders, partitions, seed, json, ctx),
        LabCommand::Retention {
            events,
            duplicate_rate,
            hours,
            seed,
            json,
        } => retention::retention_lab(events, duplicate_rate, &hours, seed, json, ctx),
    }
}
