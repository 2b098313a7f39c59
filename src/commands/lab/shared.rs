//! What every lab command shares: checking a figure against its target, reading durations, and
//! recording a run in the learner's store.

use std::path::Path;

use anyhow::{Result, bail};

use crate::commands::context::emit_json;

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

/// A duration such as `500ms`, `5s`, `2m` or `1h` (a bare number is seconds), in milliseconds.
pub(super) fn parse_duration_ms(flag: &str, text: &str) -> Result<u64> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number
        .parse()
        .map_err(|_| anyhow::anyhow!("{flag}: '{text}' is not a duration like 500ms, 5s or 2m"))?;
    let factor = match unit {
        "ms" => 1,
        "s" | "" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        other => bail!("{flag}: unknown unit '{other}' in '{text}'; use ms, s, m or h"),
    };
    n.checked_mul(factor)
        .ok_or_else(|| anyhow::anyhow!("{flag}: '{text}' is too long a duration"))
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

/// A lab result as `--json` prints it when the lab can draw a chart: every key of the result,
/// then `"plot"`, the SVG file written or `null`.
#[derive(serde::Serialize)]
struct Charted<'a, T: serde::Serialize> {
    #[serde(flatten)]
    result: &'a T,
    plot: Option<String>,
}

/// [`record`] for a lab with `--plot`: the store keeps the result alone, and `--json` says
/// where the chart went.
pub(super) fn record_charted(
    store: &crate::store::Store,
    kind: &str,
    seed: u64,
    options: &impl serde::Serialize,
    result: &impl serde::Serialize,
    plot: Option<&Path>,
    json: bool,
) -> Result<Option<i64>> {
    let run = store.record(kind, Some(seed), options, result)?;
    if json {
        emit_json(&Charted {
            result,
            plot: plot.map(|p| p.display().to_string()),
        })?;
        return Ok(None);
    }
    Ok(Some(run))
}
