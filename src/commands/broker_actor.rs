//! `msgwork __broker-actor NAME`: one child process of `simulate --broker --crash-mode process`.
//! Hidden: the run starts it, writes its instructions to its stdin and reads its reports from its
//! stdout.

use std::io::BufReader;

use anyhow::{Context as _, Result};

use crate::Outcome;
use crate::sim::brokered::actor;

pub fn run(name: &str) -> Result<Outcome> {
    let input = BufReader::new(std::io::stdin());
    actor::run(input, std::io::stdout().lock()).with_context(|| format!("{name} failed"))?;
    Ok(Outcome::Success)
}
