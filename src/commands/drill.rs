//! `msgwork drill`: the workshop's drills, graded. With `--answers` a file is graded and nothing
//! is asked; every graded answer is recorded in the progress store the moment it is graded.

use std::fmt::Write as _;
use std::io::IsTerminal;

use anyhow::{Context as _, Result, bail};

use super::context::{Context, emit, emit_json};
use crate::Outcome;
use crate::cli::DrillArgs;
use crate::content::{self, Pack, Section};
use crate::drill::plan::{Listed, Plan, Selection};
use crate::drill::play::{Stop, play};
use crate::drill::summary::{Tally, by_section, counted, retried, to_review};
use crate::drill::{answers, plan, resume};
use crate::grade::Verdict;
use crate::grade::item::{Graded, tidy};

pub fn run(args: &DrillArgs, ctx: &Context) -> Result<Outcome> {
    let pack = load(args)?;
    if let Some(mark) = args.pass_mark
        && !(0.0..=100.0).contains(&mark)
    {
        bail!("--pass-mark must be a percentage between 0 and 100 (got {mark})");
    }
    known_ids(&pack, &args.only)?;
    let selection = Selection {
        sections: args.section.iter().map(|s| Section::from(*s)).collect(),
        only: args.only.clone(),
    };
    if args.due
        && (args.json || !std::io::stdin().is_terminal())
        && args.answers.is_none()
        && let Some(outcome) = due_list(&pack, &selection, args.json, ctx)?
    {
        return Ok(outcome);
    }
    if args.list {
        return list(&plan::listing(&pack, &selection), args.json, ctx);
    }
    let Some(path) = &args.answers else {
        return interactive(&pack, &selection, args, ctx);
    };
    let crate::userfile::Text { name: file, text } = answers::read(path)?;
    let answers = answers::parse(&file, &text, &pack)?;
    let store = ctx.open_store()?;
    let marked = answers::grade(&store, &pack, &answers, &selection, &file)?;
    if args.json {
        emit_results(&marked.graded)?;
    } else {
        let mut text = render(&marked.graded, args.details, ctx);
        text.push_str(&scorecard(&marked.graded, &[], ctx));
        text.push_str(&ctx.paint.dim(&format!(
            "Recorded as drill session {} in {}\n",
            marked.session,
            store.path().display()
        )));
        emit(&text)?;
    }
    Ok(match args.pass_mark {
        Some(mark) if !Tally::of(&marked.graded).passes(mark) => Outcome::CheckFailed,
        _ => Outcome::Success,
    })
}

/// Every `--only` id must name an item: a typo is bad input, with the nearest ids suggested.
fn known_ids(pack: &Pack, only: &[String]) -> Result<()> {
    let entries = crate::drill::entries(pack);
    let ids: Vec<&str> = entries.iter().map(|e| e.id()).collect();
    for wanted in only {
        if ids.contains(&wanted.as_str()) {
            continue;
        }
        let mut near: Vec<(usize, &str)> = ids
            .iter()
            .map(|id| (distance(&id.to_lowercase(), &wanted.to_lowercase()), *id))
            .filter(|(d, _)| *d <= 2)
            .collect();
        near.sort();
        let hint = match near.as_slice() {
            [] => String::new(),
            near => format!(
                "; did you mean {}?",
                near.iter()
                    .take(3)
                    .map(|(_, id)| *id)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        bail!(
            "--only {wanted}: there is no drill item with that id{hint} (`msgwork drill --list` shows all {})",
            ids.len()
        );
    }
    Ok(())
}

/// Edit distance between two short ids.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// What is due for review, as a list: for `--json`, and when there is no terminal to play in.
/// `None` when nothing is due and the words for that are the session's to say.
fn due_list(
    pack: &Pack,
    selection: &Selection,
    json: bool,
    ctx: &Context,
) -> Result<Option<Outcome>> {
    let store = ctx.open_store()?;
    let cards = crate::drill::cards(&store.history()?);
    let now = crate::drill::now();
    let mut due: Vec<(i64, Listed<'_>)> = plan::listing(pack, selection)
        .into_iter()
        .filter_map(|row| {
            let card = cards.get(row.id)?;
            (card.due <= now).then_some((card.due, row))
        })
        .collect();
    due.sort_by_key(|(at, row)| (*at, row.id));
    if json {
        let items: Vec<_> = due
            .iter()
            .map(|(at, row)| {
                serde_json::json!({"id": row.id, "section": row.section, "title": row.title, "due_at": at})
            })
            .collect();
        emit_json(&serde_json::json!({"schema_version": 1, "due": items}))?;
        return Ok(Some(Outcome::Success));
    }
    if due.is_empty() {
        return Ok(None);
    }
    let mut table = ctx.paint.table(&["section", "id", "title"]);
    for (_, row) in &due {
        table.add_row(vec![
            row.section.name().to_string(),
            row.id.to_string(),
            row.title.to_string(),
        ]);
    }
    emit(&format!(
        "{table}\n{} due for review; run `{}` in a terminal to answer them.\n",
        crate::ui::plural(due.len() as u64, "item", "items"),
        ctx.suggest("msgwork drill --due")
    ))?;
    Ok(Some(Outcome::Success))
}

/// The built-in pack, any instructor packs on top (their items replace built-in ones with the
/// same id), or only the instructor packs.
fn load(args: &DrillArgs) -> Result<Pack> {
    let mut pack = if args.no_builtin {
        Pack::default()
    } else {
        content::builtin().context("the built-in content pack is broken; reinstall msgwork")?
    };
    for dir in &args.content {
        let extra = super::content::load_pack_dir(dir).map_err(|err| {
            anyhow::anyhow!(
                "{} ({} problem(s); run `msgwork content check {}` to see them all)",
                err.problems
                    .first()
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
                err.problems.len(),
                dir.display()
            )
        })?;
        let replaced: Vec<&str> = extra
            .items
            .iter()
            .map(|i| i.id.as_str())
            .filter(|id| pack.items.iter().any(|b| b.id == *id))
            .chain(
                extra
                    .scenarios
                    .iter()
                    .map(|s| s.id.as_str())
                    .filter(|id| pack.scenarios.iter().any(|b| b.id == *id)),
            )
            .collect();
        if !replaced.is_empty() {
            // Said on stderr, so `--json` stays one object; a pack that means to replace items
            // still plays, but never silently.
            eprintln!(
                "note: {} replaces {} of the same id: {}",
                dir.display(),
                if replaced.len() == 1 {
                    "an item"
                } else {
                    "items"
                },
                replaced.join(", ")
            );
        }
        pack.overlay(extra);
    }
    Ok(pack)
}

fn list(rows: &[Listed<'_>], json: bool, ctx: &Context) -> Result<Outcome> {
    if json {
        let items: Vec<_> = rows
            .iter()
            .map(
                |row| serde_json::json!({"id": row.id, "section": row.section, "title": row.title}),
            )
            .collect();
        emit_json(&serde_json::json!({"schema_version": 1, "items": items}))?;
        return Ok(Outcome::Success);
    }
    let mut table = ctx.paint.table(&["section", "id", "title"]);
    for row in rows {
        table.add_row(vec![
            comfy_table::Cell::new(row.section.name()),
            ctx.paint.bold_cell(row.id),
            comfy_table::Cell::new(row.title),
        ]);
    }
    emit(&format!("{table}\n{} items.\n", rows.len()))?;
    Ok(Outcome::Success)
}

/// The `--json` result of a drill, however it was played.
fn emit_results(graded: &[Graded]) -> Result<()> {
    let tally = Tally::of(graded);
    emit_json(&serde_json::json!({
        "schema_version": 1,
        "items": graded,
        "score": tally.score,
        "max": tally.max,
    }))
}

/// Each item's verdict and short feedback; with `details`, the rest of the reasoning, the model
/// answer and the hints too. Wrapped to the terminal's width when stdout is one.
fn render(graded: &[Graded], details: bool, ctx: &Context) -> String {
    let paint = ctx.paint;
    let width = std::io::stdout()
        .is_terminal()
        .then(|| crate::ui::text_width(&console::Term::stdout()))
        .flatten()
        .unwrap_or(usize::MAX);
    let block = |out: &mut String, text: &str| {
        let _ = writeln!(out, "{}", crate::ui::wrap_lines(text, width, "    "));
    };
    let mut out = String::new();
    let mut more = false;
    for g in graded {
        let verdict = match g.verdict {
            Verdict::Correct => paint.good("correct"),
            Verdict::Partial => paint.bold("partial"),
            Verdict::Incorrect => paint.bad("incorrect"),
        };
        let _ = writeln!(
            out,
            "{} {}  {}  {}/{}",
            paint.bold(&g.id),
            g.title,
            verdict,
            marks(g.score),
            marks(g.max)
        );
        block(&mut out, &g.feedback);
        if details {
            if !g.details.is_empty() {
                let _ = writeln!(out, "  {}", paint.dim("Details:"));
                block(&mut out, &g.details);
            }
            let model = if g.choices.is_empty() {
                "Model answer:"
            } else {
                "Expected:"
            };
            let _ = writeln!(out, "  {}", paint.dim(model));
            block(&mut out, &tidy(&g.expected));
            let hints = g.hints_to_show();
            if !hints.is_empty() {
                let _ = writeln!(out, "  {}", paint.dim("Hints:"));
                for hint in &hints {
                    block(&mut out, &format!("- {}", tidy(hint)));
                }
            }
        } else {
            more |= g.verdict != Verdict::Correct || !g.details.is_empty();
        }
        let _ = writeln!(out);
    }
    if more {
        let _ = writeln!(
            out,
            "{}\n",
            paint.dim("Add --details for the full reasoning, the model answers and the hints.")
        );
    }
    out
}

/// The table per section, the total, what to review and how to continue.
fn scorecard(graded: &[Graded], skipped: &[String], ctx: &Context) -> String {
    let paint = ctx.paint;
    let mut out = String::new();
    let total = Tally::of(graded);
    let mut table = paint.table(&["section", "items", "score", "%"]);
    for (section, items, tally) in by_section(graded) {
        table.add_row(vec![
            section.name().to_string(),
            items.to_string(),
            format!("{}/{}", marks(tally.score), marks(tally.max)),
            format!("{:.0}", tally.percent()),
        ]);
    }
    if !graded.is_empty() {
        let _ = writeln!(out, "{table}");
        let _ = writeln!(
            out,
            "{} {}/{} ({:.0}%)",
            paint.bold("Total:"),
            marks(total.score),
            marks(total.max),
            total.percent()
        );
    }
    let review = to_review(graded, skipped);
    if !review.is_empty() {
        let only: String = review.iter().map(|id| format!(" --only {id}")).collect();
        let _ = writeln!(out, "{} {}", paint.bold("To review:"), review.join(", "));
        let next = ctx.suggest(&format!("msgwork drill{only}"));
        let _ = writeln!(out, "{} {next}", paint.dim("Continue with:"));
    } else if !graded.is_empty() {
        let _ = writeln!(
            out,
            "{} {}, when spaced repetition brings them back",
            paint.dim("Continue with:"),
            ctx.suggest("msgwork drill --due")
        );
    }
    out
}

/// The interactive session: in a terminal, one item at a time, each answer saved as it is given.
fn interactive(
    pack: &Pack,
    selection: &Selection,
    args: &DrillArgs,
    ctx: &Context,
) -> Result<Outcome> {
    let terminal = std::io::stdin().is_terminal();
    if !terminal && !args.due {
        bail!(
            "msgwork drill asks its questions in a terminal, and standard input is not one; \
             to grade without prompts, write your answers to a JSON file and run \
             `msgwork drill --answers FILE` (the format is in `msgwork drill --help`)"
        );
    }
    let store = ctx.open_store()?;
    let session = if args.resume {
        resume::resume(pack, &store)?
    } else {
        match plan::plan(pack, &store, selection, args.due)? {
            Plan::NothingDue { next } => {
                let text = match next {
                    Some((id, seconds)) => format!(
                        "Nothing is due for review yet; {id} is next, in {}.\n",
                        humanize(seconds)
                    ),
                    None => "Nothing is due: you have not answered any drill yet. Start with `msgwork drill`.\n"
                        .to_string(),
                };
                emit(&text)?;
                return Ok(Outcome::Success);
            }
            Plan::Play(entries) => {
                if !terminal {
                    bail!(
                        "{} item(s) are due, and msgwork drill asks its questions in a terminal; \
                         run it in one, or grade a JSON file with `msgwork drill --answers FILE`",
                        entries.len()
                    );
                }
                plan::start(&store, entries)?
            }
        }
    };
    let stderr_paint = crate::ui::Paint::for_stderr(ctx.color);
    // Ctrl-C: every answer given is already in the store; restore the terminal and say so.
    let stopped = stderr_paint.bold("Stopped.");
    super::interrupt::say_on_interrupt(format!(
        "\n{stopped} Your answers so far are saved. Continue with: {}",
        ctx.suggest("msgwork drill --resume")
    ));
    eprintln!(
        "{}",
        stderr_paint.dim(&format!(
            "msgwork drill: {} item(s). Esc or Ctrl-C stops; every answer is saved as you give it.",
            session.entries.len()
        ))
    );
    let mut prompter = crate::ui::prompt::TerminalPrompter::new(stderr_paint, args.details);
    let played = play(
        &session.entries,
        pack,
        &store,
        session.id,
        &mut prompter,
        !args.no_pause,
    )?;
    drop(prompter);
    let graded = counted(&played.graded);
    if args.json {
        emit_results(&graded)?;
    } else {
        let mut text = String::from("\n");
        text.push_str(&scorecard(&graded, &played.skipped, ctx));
        for (id, attempts) in retried(&played.graded) {
            text.push_str(&format!(
                "{id}: {attempts} attempts, each recorded; the last one counts here.\n"
            ));
        }
        match played.stopped {
            Some(Stop::Asked) => text.push_str(&format!(
                "{} {} answer(s) saved in this session. Continue with: {}\n",
                ctx.paint.bold("Stopped."),
                resume::saved(&store, session.id)?,
                ctx.suggest("msgwork drill --resume")
            )),
            // The Ctrl-C handler says it and exits; this is the fallback if it has not yet.
            Some(Stop::Interrupted) => std::thread::sleep(std::time::Duration::from_millis(300)),
            None => {}
        }
        emit(&text)?;
    }
    Ok(match played.stopped {
        Some(Stop::Interrupted) => Outcome::Interrupted,
        _ => Outcome::Success,
    })
}

/// A duration in words: "3 hour(s)", "2 day(s)".
pub fn humanize(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..=3599 => format!("{} minute(s)", s / 60 + 1),
        3600..=86_399 => format!("{} hour(s)", s / 3600),
        _ => format!("{} day(s)", s / 86_400),
    }
}

fn marks(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}
