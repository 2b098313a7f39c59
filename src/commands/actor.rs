//! `msgwork __actor NAME`: one child process of `simulate --crash-mode process`. Hidden: the lab
//! starts it, writes its instructions to its stdin and reads its reports from its stdout.

use std::io::BufReader;

use anyhow::{Context as _, Result};

use crate::Outcome;
use crate::sim::crash::process::child;

pub fn run(name: &str) -> Result<Outcome> {
    let input = BufReader::new(std::io::stdin());
    child::run(input, std::io::stdout().lock()).with_context(|| format!("{name} failed"))?;
    Ok(Outcome::Success)
}
