//! `msgwork lab dlq`: retries, backoff and dead letters.

use std::fmt::Write as _;

use anyhow::{Result, bail};

use super::shared::{
    Request, check_outputs, duration_word, parse_duration_ms, record_charted, within,
};
use crate::Outcome;
use crate::cli::DlqArgs;
use crate::commands::context::{Context, emit};
use crate::commands::replay::Replay;
use crate::sim::lab::dlq;
use crate::ui::plot::LineChart;
use crate::ui::plural;

/// `1s,5s,30s,5m` to milliseconds.
/// The longest delay `--backoff` takes: a day of simulated time.
const MAX_BACKOFF_MS: u64 = 24 * 3_600_000;

fn parse_backoff(list: &str) -> Result<Vec<u64>> {
    list.split(',')
        .map(|part| {
            let ms = parse_duration_ms("--backoff", part)?;
            if ms > MAX_BACKOFF_MS {
                bail!(
                    "--backoff: each delay must be at most 24h (got '{}')",
                    part.trim()
                );
            }
            Ok(ms)
        })
        .collect()
}

/// The unit a span of simulated time reads best in, and its length in ms.
fn unit(ms: u64) -> (&'static str, f64) {
    match ms {
        0..=59_999 => ("s", 1_000.0),
        60_000..=3_599_999 => ("min", 60_000.0),
        _ => ("h", 3_600_000.0),
    }
}

fn duration(ms: u64) -> String {
    let (name, length) = unit(ms);
    format!("{:.1} {name}", ms as f64 / length)
}

/// Retry-queue and dead-letter depth against simulated time, in the unit the run's length reads
/// best in.
fn depth_chart(r: &dlq::DlqReport) -> LineChart {
    let (name, length) = unit(r.finished_at_ms);
    let at = |d: &dlq::Depth| d.t_ms as f64 / length;
    LineChart::new(
        &format!(
            "Queue depth over {} of simulated time",
            duration(r.finished_at_ms)
        ),
        &format!("simulated time ({name})"),
        "messages",
    )
    .series(
        "retry queue",
        r.timeline.iter().map(|d| (at(d), d.retry as f64)),
    )
    .series(
        "dead letters",
        r.timeline.iter().map(|d| (at(d), d.dead as f64)),
    )
}

/// Raw arguments to checked options; every problem is one line naming its option.
fn options(args: &DlqArgs) -> Result<dlq::DlqOptions> {
    within("--messages", args.messages, 1, 1_000_000)?;
    within("--max-attempts", args.max_attempts, 1, 20)?;
    for (name, rate) in [
        ("--poison-rate", args.poison_rate),
        ("--transient-rate", args.transient_rate),
    ] {
        within(name, rate, 0.0, 1.0)?;
    }
    if args.poison_rate + args.transient_rate > 1.0 {
        bail!("--poison-rate and --transient-rate add up to more than 1");
    }
    let mut options =
        dlq::DlqOptions::new(args.seed.unwrap_or_else(crate::sim::model::random_seed));
    options.messages = args.messages;
    options.max_attempts = args.max_attempts;
    options.backoff_ms = parse_backoff(&args.backoff)?;
    options.poison_rate = args.poison_rate;
    options.transient_rate = args.transient_rate;
    Ok(options)
}

/// The command that replays the run: the seed, and every option that differs from the lab's
/// default.
fn replay(o: &dlq::DlqOptions) -> Replay {
    let defaults = dlq::DlqOptions::new(o.seed);
    let mut replay = Replay::new(&["lab", "dlq"]);
    replay.option("--seed", o.seed);
    if o.messages != defaults.messages {
        replay.option("--messages", o.messages);
    }
    if o.max_attempts != defaults.max_attempts {
        replay.option("--max-attempts", o.max_attempts);
    }
    if o.backoff_ms != defaults.backoff_ms {
        let words: Vec<String> = o.backoff_ms.iter().map(|ms| duration_word(*ms)).collect();
        replay.option("--backoff", words.join(","));
    }
    if o.poison_rate != defaults.poison_rate {
        replay.option("--poison-rate", o.poison_rate);
    }
    if o.transient_rate != defaults.transient_rate {
        replay.option("--transient-rate", o.transient_rate);
    }
    replay
}

pub(super) fn dlq_lab(args: &DlqArgs, ctx: &Context) -> Result<Outcome> {
    let options = options(args)?;
    check_outputs(ctx, args.plot.as_deref(), None, args.force)?;
    let replay = replay(&options);
    let recorder = ctx.recorder()?;
    let r = dlq::run(&options);
    let chart = depth_chart(&r);
    if let Some(path) = &args.plot {
        LineChart {
            title: format!(
                "lab dlq, seed {}: retries with backoff {} and at most {} attempts",
                options.seed, args.backoff, options.max_attempts
            ),
            ..chart.clone()
        }
        .save(path)?;
    }
    let request = Request {
        seed: options.seed,
        options: &options,
        replay: &replay,
    };
    let Some(run) = record_charted(
        &recorder,
        "lab-dlq",
        &request,
        &r,
        args.plot.as_deref(),
        args.json,
    )?
    else {
        return Ok(Outcome::Success);
    };
    let paint = ctx.paint;
    let mut out = format!(
        "{}  seed {} · {} messages · {} attempts at most · backoff {}\n\n",
        paint.bold("msgwork lab dlq"),
        options.seed,
        options.messages,
        options.max_attempts,
        args.backoff
    );
    let mut table = paint.table(&["", "messages"]);
    for (label, n) in [
        (
            "applied on the first attempt",
            r.applied - r.applied_after_retry,
        ),
        ("applied after retrying", r.applied_after_retry),
        ("dead-lettered", r.dead_lettered),
        ("retries scheduled", r.retries),
        ("lost", r.lost),
    ] {
        let verdict = if label == "lost" {
            if n == 0 {
                crate::ui::Verdict::Good
            } else {
                crate::ui::Verdict::Bad
            }
        } else {
            crate::ui::Verdict::Plain
        };
        table.add_row(vec![
            comfy_table::Cell::new(label),
            paint.number(n, verdict),
        ]);
    }
    let _ = writeln!(out, "{table}\n");
    let _ = writeln!(out, "{}", chart.terminal(paint));
    // The chart samples the queues once a simulated second; the peak is exact.
    let _ = writeln!(
        out,
        "Peak retry-queue depth {} · {} dead letters at the end",
        r.max_retry_depth, r.dead_lettered
    );
    if let Some(path) = &args.plot {
        let _ = writeln!(out, "Chart written to {}", path.display());
    }
    out.push('\n');
    if !r.dead_letters.is_empty() {
        let mut t = paint.table(&["message", "attempts", "why it is in the dead-letter queue"]);
        for d in r.dead_letters.iter().take(8) {
            t.add_row(vec![
                format!("#{}", d.message),
                d.attempts.to_string(),
                d.reason.clone(),
            ]);
        }
        let _ = writeln!(out, "{t}");
        if r.dead_letters.len() > 8 {
            let _ = writeln!(
                out,
                "  … and {} more (--json lists them all)",
                r.dead_letters.len() - 8
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "{}", paint.bold("What this shows"));
    for sentence in explain(&r, &options) {
        let _ = writeln!(out, "  • {sentence}");
    }
    let _ = writeln!(out, "{}", paint.dim(&format!("Replay: {replay}{run}")));
    emit(&out)?;
    Ok(Outcome::Success)
}

/// The findings about retries and dead letters, each stated only when this run's figures bear it
/// out.
fn explain(r: &dlq::DlqReport, o: &dlq::DlqOptions) -> Vec<String> {
    let mut lines = Vec::new();
    lines.push(if r.applied_after_retry > 0 {
        format!(
            "Backoff turned {} that failed at first into successes: a dependency that was down for \
             a while got time to recover instead of a retry storm.",
            plural(r.applied_after_retry, "message", "messages")
        )
    } else if o.max_attempts == 1 {
        "With --max-attempts 1 nothing is retried: every failure went straight to the dead-letter \
         queue."
            .to_string()
    } else if o.transient_rate == 0.0 {
        "No message failed only for a while (--transient-rate 0), so no retry had anything to \
         save."
            .to_string()
    } else {
        "No message succeeded on a retry this run.".to_string()
    });
    let poison = r
        .dead_letters
        .iter()
        .filter(|d| d.reason.contains("payload"))
        .count() as u64;
    let stayed_down = r.dead_letters.len() as u64 - poison;
    if r.dead_lettered > 0 {
        let mut kinds = Vec::new();
        if poison > 0 {
            kinds.push(format!("{poison} poison (no retry could save them)"));
        }
        if stayed_down > 0 {
            kinds.push(format!(
                "{stayed_down} whose dependency stayed down longer than the retries lasted"
            ));
        }
        lines.push(format!(
            "{} did not succeed within {}: {}. Each went to the dead-letter queue with its reason, \
             where an alert and a person should look at it. Retrying poison forever would burn \
             worker time on messages that can never succeed and hide the failure from everyone; \
             on an ordered queue (a FIFO queue, a Kafka partition) it would also block every \
             message behind it.",
            plural(r.dead_lettered, "message", "messages"),
            plural(u64::from(o.max_attempts), "attempt", "attempts"),
            kinds.join(" and ")
        ));
    } else {
        lines.push(format!(
            "No message needed the dead-letter queue: every one succeeded within {}.",
            plural(u64::from(o.max_attempts), "attempt", "attempts")
        ));
    }
    let accounted = r.applied + r.dead_lettered;
    lines.push(if r.lost == 0 && accounted == u64::from(o.messages) {
        format!(
            "Applied {} + dead-lettered {} = {}: nothing was lost, and every message is accounted \
             for.",
            r.applied, r.dead_lettered, o.messages
        )
    } else {
        format!(
            "Applied {} + dead-lettered {} of {} messages, {} lost: this is a bug in msgwork, please \
             report it with the replay command below.",
            r.applied, r.dead_lettered, o.messages, r.lost
        )
    });
    lines
}

#[cfg(test)]
mod tests {
    use super::super::shared::testing::assert_replays;
    use super::*;
    use crate::cli::LabCommand;

    #[test]
    fn the_replay_gives_back_every_option_that_changes_the_result() {
        assert_replays(
            "dlq",
            &[
                &["--seed", "3"],
                &[
                    "--seed",
                    "3",
                    "--max-attempts",
                    "3",
                    "--backoff",
                    "1500ms,10s,2m,1h",
                    "--poison-rate",
                    "0.05",
                ],
                &[
                    "--seed",
                    "3",
                    "--messages",
                    "90",
                    "--transient-rate",
                    "0.3",
                    "--backoff",
                    "5s",
                ],
            ],
            |lab| match lab {
                LabCommand::Dlq(args) => options(&args).unwrap(),
                other => panic!("{other:?}"),
            },
            replay,
        );
    }
}
