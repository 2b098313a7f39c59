//! What every lab command shares: checking a figure against its target, reading durations, and
//! recording a run in the learner's store.

use std::path::Path;

use anyhow::{Result, bail};

use crate::commands::context::{Context, emit_json};
use crate::commands::recording::{Recorder, RunNote};
use crate::commands::replay::{Replay, WithReplay};

/// Checks the files a lab run is to write before it starts: the `--plot` chart (SVG, and no
/// existing file unless `--force`) and the `--keep-db` directory when the run is on SQLite.
pub(super) fn check_outputs(
    ctx: &Context,
    plot: Option<&Path>,
    keep_db: Option<&Path>,
    force: bool,
) -> Result<()> {
    let outputs = ctx.outputs(force)?;
    if let Some(path) = plot {
        crate::ui::plot::check_svg_path(path)?;
        outputs.check_file(path, "the chart")?;
    }
    if let Some(dir) = keep_db {
        outputs.check_dir(dir, "the lab's databases (--keep-db)")?;
    }
    Ok(())
}

/// A bad value for a lab option is bad input: one line, exit 2. A value that compares with
/// nothing (NaN) is outside every range.
pub(super) fn within<T: PartialOrd + std::fmt::Display>(
    flag: &str,
    value: T,
    lo: T,
    hi: T,
) -> Result<()> {
    let inside = value >= lo && value <= hi;
    if !inside {
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

/// A duration as `--backoff` and `--interval` take it, in the largest unit that keeps it whole:
/// `5m`, `30s`, `1500ms`.
pub(super) fn duration_word(ms: u64) -> String {
    match ms {
        0 => "0ms".to_string(),
        ms if ms.is_multiple_of(3_600_000) => format!("{}h", ms / 3_600_000),
        ms if ms.is_multiple_of(60_000) => format!("{}m", ms / 60_000),
        ms if ms.is_multiple_of(1_000) => format!("{}s", ms / 1_000),
        ms => format!("{ms}ms"),
    }
}

/// Numbers as a comma-separated list option takes them: `1000,10000`.
pub(super) fn list_word<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(T::to_string).collect::<Vec<_>>().join(",")
}

/// What a lab run was asked to do: the seed, the checked options, and the command that replays it.
pub(super) struct Request<'a, O: serde::Serialize> {
    pub seed: u64,
    pub options: &'a O,
    pub replay: &'a Replay,
}

impl<O: serde::Serialize> Request<'_, O> {
    /// Keeps the run in the store: the options with the replay beside them, and the result.
    fn record(
        &self,
        recorder: &Recorder<'_>,
        kind: &str,
        result: &impl serde::Serialize,
    ) -> RunNote {
        let requested = WithReplay {
            result: self.options,
            replay: self.replay,
        };
        RunNote(recorder.record(kind, Some(self.seed), &requested, result))
    }
}

/// Records a lab run. With `--json` it also prints the result, then `"replay"`, and returns
/// `None`: the caller is done. Otherwise it returns where the run was recorded, for the human
/// report to cite.
pub(super) fn record<O: serde::Serialize>(
    recorder: &Recorder<'_>,
    kind: &str,
    request: &Request<'_, O>,
    result: &impl serde::Serialize,
    json: bool,
) -> Result<Option<RunNote>> {
    let run = request.record(recorder, kind, result);
    if json {
        emit_json(&WithReplay {
            result,
            replay: request.replay,
        })?;
        return Ok(None);
    }
    Ok(Some(run))
}

/// A lab result as `--json` prints it when the lab can draw a chart: every key of the result,
/// then `"plot"`, the SVG file written or `null`, then `"replay"`.
#[derive(serde::Serialize)]
struct Charted<'a, T: serde::Serialize> {
    #[serde(flatten)]
    result: &'a T,
    plot: Option<String>,
    replay: &'a Replay,
}

/// [`record`] for a lab with `--plot`: the store keeps the result alone, and `--json` says
/// where the chart went.
pub(super) fn record_charted<O: serde::Serialize>(
    recorder: &Recorder<'_>,
    kind: &str,
    request: &Request<'_, O>,
    result: &impl serde::Serialize,
    plot: Option<&Path>,
    json: bool,
) -> Result<Option<RunNote>> {
    let run = request.record(recorder, kind, result);
    if json {
        emit_json(&Charted {
            result,
            plot: plot.map(|p| p.display().to_string()),
            replay: request.replay,
        })?;
        return Ok(None);
    }
    Ok(Some(run))
}

/// Checks every lab's replay the same way: parsed, checked, replayed, parsed and checked again.
#[cfg(test)]
pub(super) mod testing {
    use clap::Parser as _;

    use crate::cli::{Cli, Command, LabCommand};
    use crate::commands::replay::Replay;

    /// `msgwork lab …` parsed, ignoring any `MSGWORK_DB` the environment holds.
    pub fn parse(argv: &[&str]) -> LabCommand {
        let cli = Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
        let Some(Command::Lab(mut lab)) = cli.command else {
            panic!("{argv:?} is not a lab");
        };
        if !argv.contains(&"--db") {
            match &mut lab {
                LabCommand::Ordering(args) => args.db = None,
                LabCommand::Cdc(args) => args.db = None,
                LabCommand::Cleanup(args) => args.db = None,
                _ => {}
            }
        }
        lab
    }

    /// For each of `lines` (the words after `msgwork lab NAME`): the replay of its checked options
    /// checks to the same options. The first line is the bare lab with a seed, whose replay must
    /// be exactly that: a default the replay leaves out is the command line's default too.
    pub fn assert_replays<O: std::fmt::Debug>(
        lab: &str,
        lines: &[&[&str]],
        check: impl Fn(LabCommand) -> O,
        replay: impl Fn(&O) -> Replay,
    ) {
        for (i, line) in lines.iter().enumerate() {
            let argv: Vec<&str> = ["msgwork", "lab", lab]
                .iter()
                .chain(line.iter())
                .copied()
                .collect();
            let asked = check(parse(&argv));
            let replay = replay(&asked);
            if i == 0 {
                assert_eq!(replay.to_string(), argv.join(" "), "the bare lab");
            }
            let words: Vec<&str> = replay.argv().iter().map(String::as_str).collect();
            let replayed = check(parse(&words));
            assert_eq!(
                format!("{replayed:?}"),
                format!("{asked:?}"),
                "{line:?} replayed as {replay}"
            );
        }
    }
}
