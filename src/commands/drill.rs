//! `msgwork drill`: the workshop's drills, graded. With `--answers` a file is graded and nothing
//! is asked; every graded answer is recorded in the progress store the moment it is graded.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;

use super::{Context, emit, emit_json};
use crate::Outcome;
use crate::cli::DrillArgs;
use crate::content::{self, Pack, Section};
use crate::drill;
use crate::grade::Verdict;
use crate::grade::item::{Graded, ScenarioAnswer, grade_item, grade_scenario, tidy};
use crate::store::{Answer, Store};

pub fn run(args: &DrillArgs, ctx: &Context) -> Result<Outcome> {
    let pack = load(args)?;
    if let Some(mark) = args.pass_mark
        && !(0.0..=100.0).contains(&mark)
    {
        bail!("--pass-mark must be a percentage between 0 and 100 (got {mark})");
    }
    if args.list {
        return list(&pack, args, ctx);
    }
    let Some(path) = &args.answers else {
        return interactive(&pack, args, ctx);
    };
    let answers = read_answers(path, &pack)?;
    let store = ctx.open_store()?;
    let selected: Vec<(Section, String)> = answers
        .keys()
        .filter(|(section, id)| selected_by(args, *section, id))
        .cloned()
        .collect();
    if selected.is_empty() {
        bail!(
            "{} has no answers for the items selected; nothing to grade",
            path.display()
        );
    }
    let plan: Vec<String> = selected.iter().map(|(_, id)| id.clone()).collect();
    let session = store.start_session("answers-file", &plan)?;
    let mut graded = Vec::new();
    for key in &selected {
        let given = &answers[key];
        let result = grade_one(&pack, key, given);
        record(&store, session, &result, given)?;
        graded.push(result);
    }
    store.finish_session(session)?;

    let (score, max) = totals(&graded);
    let percent = if max > 0.0 { score / max * 100.0 } else { 0.0 };
    if args.json {
        emit_results(&graded)?;
    } else {
        let mut text = render(&graded, ctx);
        text.push_str(&scorecard(&graded, &[], ctx));
        text.push_str(&ctx.paint.dim(&format!(
            "Recorded as drill session {session} in {}\n",
            store.path().display()
        )));
        emit(&text)?;
    }
    Ok(match args.pass_mark {
        Some(mark) if percent < mark => Outcome::CheckFailed,
        _ => Outcome::Success,
    })
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
        pack.overlay(extra);
    }
    Ok(pack)
}

fn selected_by(args: &DrillArgs, section: Section, id: &str) -> bool {
    (args.section.is_empty() || args.section.iter().any(|s| Section::from(*s) == section))
        && (args.only.is_empty() || args.only.iter().any(|o| o.eq_ignore_ascii_case(id)))
}

/// What the learner gave for one item.
#[derive(Clone, Debug)]
enum Given {
    Text(String),
    Scenario(ScenarioAnswer),
}

impl Given {
    fn to_json(&self) -> serde_json::Value {
        match self {
            Given::Text(text) => serde_json::Value::String(text.clone()),
            Given::Scenario(answer) => serde_json::to_value(answer).unwrap_or_default(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswersFile {
    #[serde(default)]
    scenarios: BTreeMap<String, ScenarioAnswerFile>,
    #[serde(default)]
    retrieval: BTreeMap<String, String>,
    #[serde(default)]
    compare: BTreeMap<String, String>,
    #[serde(default)]
    mistakes: BTreeMap<String, String>,
    #[serde(default)]
    concepts: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioAnswerFile {
    channel: Option<String>,
    payload: Option<String>,
    outbox: Option<YesNo>,
    reason: Option<String>,
}

/// `true`/`false` or a word for it.
#[derive(Deserialize)]
#[serde(untagged)]
enum YesNo {
    Bool(bool),
    Text(String),
}

/// Reads and checks an answers file: every id must name an item of its section.
fn read_answers(path: &Path, pack: &Pack) -> Result<BTreeMap<(Section, String), Given>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the answers file {}", path.display()))?;
    let file: AnswersFile = serde_json::from_str(&text).map_err(|err| {
        anyhow::anyhow!(
            "{}:{}:{}: {} (the format is in `msgwork drill --help`)",
            path.display(),
            err.line(),
            err.column(),
            strip_position(&err.to_string())
        )
    })?;
    let mut out = BTreeMap::new();
    let mut problems = Vec::new();
    for (id, answer) in file.scenarios {
        match pack
            .scenarios
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(&id))
        {
            Some(s) => {
                let outbox = answer.outbox.map(|o| match o {
                    YesNo::Bool(true) => "yes".to_string(),
                    YesNo::Bool(false) => "no".to_string(),
                    YesNo::Text(t) => t,
                });
                out.insert(
                    (Section::Scenarios, s.id.clone()),
                    Given::Scenario(ScenarioAnswer {
                        channel: answer.channel,
                        payload: answer.payload,
                        outbox,
                        reason: answer.reason,
                    }),
                );
            }
            None => problems.push(unknown(&id, Section::Scenarios, pack)),
        }
    }
    let texts = [
        (Section::Retrieval, file.retrieval),
        (Section::Compare, file.compare),
        (Section::Mistakes, file.mistakes),
        (Section::Concepts, file.concepts),
    ];
    for (section, answers) in texts {
        for (id, text) in answers {
            match pack
                .items
                .iter()
                .find(|i| i.section == section && i.id.eq_ignore_ascii_case(&id))
            {
                Some(item) => {
                    out.insert((section, item.id.clone()), Given::Text(text));
                }
                None => problems.push(unknown(&id, section, pack)),
            }
        }
    }
    if !problems.is_empty() {
        bail!("{}: {}", path.display(), problems.join("; "));
    }
    Ok(out)
}

fn unknown(id: &str, section: Section, pack: &Pack) -> String {
    let known: Vec<&str> = if section == Section::Scenarios {
        pack.scenarios.iter().map(|s| s.id.as_str()).collect()
    } else {
        pack.items
            .iter()
            .filter(|i| i.section == section)
            .map(|i| i.id.as_str())
            .collect()
    };
    let elsewhere = pack
        .items
        .iter()
        .find(|i| i.id.eq_ignore_ascii_case(id))
        .map(|i| i.section);
    match elsewhere {
        Some(other) => {
            format!("'{id}' is a {other} item, not {section}: move it under \"{other}\"")
        }
        None => format!(
            "no item '{id}' in {section} (its items are {})",
            known.join(", ")
        ),
    }
}

/// serde_json appends " at line L column C"; the position is already at the front.
fn strip_position(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

fn grade_one(pack: &Pack, (section, id): &(Section, String), given: &Given) -> Graded {
    match given {
        Given::Scenario(answer) => {
            let scenario = pack
                .scenarios
                .iter()
                .find(|s| &s.id == id)
                .expect("checked when read");
            grade_scenario(scenario, &pack.misconceptions, answer)
        }
        Given::Text(text) => {
            let item = pack
                .items
                .iter()
                .find(|i| i.section == *section && &i.id == id)
                .expect("checked when read");
            grade_item(item, &pack.misconceptions, text)
        }
    }
}

fn record(store: &Store, session: i64, graded: &Graded, given: &Given) -> Result<()> {
    store.record_answer(
        session,
        &Answer {
            item_id: &graded.id,
            section: graded.section.name(),
            given: &given.to_json(),
            verdict: graded.verdict.name(),
            self_verdict: None,
            score: graded.score,
            max: graded.max,
            result: &serde_json::to_value(graded)?,
            at: crate::drill::now(),
        },
    )?;
    Ok(())
}

fn list(pack: &Pack, args: &DrillArgs, ctx: &Context) -> Result<Outcome> {
    let mut rows: Vec<(Section, &str, &str)> = pack
        .scenarios
        .iter()
        .map(|s| (Section::Scenarios, s.id.as_str(), s.title.as_str()))
        .chain(
            pack.items
                .iter()
                .map(|i| (i.section, i.id.as_str(), i.title.as_str())),
        )
        .filter(|(section, id, _)| selected_by(args, *section, id))
        .collect();
    rows.sort_by_key(|(section, _, _)| *section);
    if args.json {
        let items: Vec<_> = rows
            .iter()
            .map(|(section, id, title)| serde_json::json!({"id": id, "section": section, "title": title}))
            .collect();
        emit_json(&serde_json::json!({"schema_version": 1, "items": items}))?;
        return Ok(Outcome::Success);
    }
    let mut table = ctx.paint.table(&["section", "id", "title"]);
    for (section, id, title) in &rows {
        table.add_row(vec![
            section.name().to_string(),
            ctx.paint.bold(id),
            (*title).to_string(),
        ]);
    }
    emit(&format!("{table}\n{} items.\n", rows.len()))?;
    Ok(Outcome::Success)
}

/// Marks earned and marks available.
fn totals(graded: &[Graded]) -> (f64, f64) {
    (
        graded.iter().map(|g| g.score).sum(),
        graded.iter().map(|g| g.max).sum(),
    )
}

/// The `--json` result of a drill, however it was played.
fn emit_results(graded: &[Graded]) -> Result<()> {
    let (score, max) = totals(graded);
    emit_json(&serde_json::json!({
        "schema_version": 1,
        "items": graded,
        "score": score,
        "max": max,
    }))
}

/// Each item's verdict and feedback.
fn render(graded: &[Graded], ctx: &Context) -> String {
    let paint = ctx.paint;
    let mut out = String::new();
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
        for line in g.feedback.lines() {
            let _ = writeln!(out, "    {line}");
        }
        if g.verdict != Verdict::Correct && g.section != Section::Scenarios {
            let _ = writeln!(
                out,
                "    {} {}",
                paint.dim("Model answer:"),
                tidy(&g.expected)
            );
        }
        let _ = writeln!(out);
    }
    out
}

/// The table per section, the total, what to review and how to continue.
fn scorecard(graded: &[Graded], skipped: &[String], ctx: &Context) -> String {
    let paint = ctx.paint;
    let mut out = String::new();
    let (score, max) = totals(graded);
    let mut table = paint.table(&["section", "items", "score", "%"]);
    for section in Section::ALL {
        let in_section: Vec<&Graded> = graded.iter().filter(|g| g.section == section).collect();
        if in_section.is_empty() {
            continue;
        }
        let s: f64 = in_section.iter().map(|g| g.score).sum();
        let m: f64 = in_section.iter().map(|g| g.max).sum();
        table.add_row(vec![
            section.name().to_string(),
            in_section.len().to_string(),
            format!("{}/{}", marks(s), marks(m)),
            format!("{:.0}", s / m * 100.0),
        ]);
    }
    if !graded.is_empty() {
        let _ = writeln!(out, "{table}");
        let _ = writeln!(
            out,
            "{} {}/{} ({:.0}%)",
            paint.bold("Total:"),
            marks(score),
            marks(max),
            if max > 0.0 { score / max * 100.0 } else { 0.0 }
        );
    }
    let review: Vec<&str> = graded
        .iter()
        .filter(|g| g.verdict != Verdict::Correct)
        .map(|g| g.id.as_str())
        .chain(skipped.iter().map(String::as_str))
        .collect();
    if !review.is_empty() {
        let only: String = review.iter().map(|id| format!(" --only {id}")).collect();
        let _ = writeln!(out, "{} {}", paint.bold("To review:"), review.join(", "));
        let _ = writeln!(out, "{} msgwork drill{only}", paint.dim("Continue with:"));
    } else if !graded.is_empty() {
        let _ = writeln!(
            out,
            "{} msgwork drill --due, when spaced repetition brings them back",
            paint.dim("Continue with:")
        );
    }
    out
}

/// The interactive session: in a terminal, one item at a time, each answer saved as it is given.
fn interactive(pack: &Pack, args: &DrillArgs, ctx: &Context) -> Result<Outcome> {
    let terminal = std::io::stdin().is_terminal();
    if !terminal && !args.due {
        bail!(
            "msgwork drill asks its questions in a terminal, and standard input is not one; \
             to grade without prompts, write your answers to a JSON file and run \
             `msgwork drill --answers FILE` (the format is in `msgwork drill --help`)"
        );
    }
    let store = ctx.open_store()?;
    let (session, entries) = if args.resume {
        let Some((id, plan)) = store.unfinished_session()? else {
            bail!("there is no stopped drill session to resume; start one with `msgwork drill`");
        };
        let answered = store.answered_in(id)?;
        let entries: Vec<drill::Entry<'_>> = plan
            .iter()
            .filter(|id| !answered.contains(id))
            .filter_map(|id| drill::find(pack, id))
            .collect();
        (id, entries)
    } else {
        let unknown: Vec<&String> = args
            .only
            .iter()
            .filter(|id| drill::find(pack, id).is_none())
            .collect();
        if !unknown.is_empty() {
            bail!("no item {unknown:?}; `msgwork drill --list` shows them all");
        }
        let mut entries: Vec<drill::Entry<'_>> = drill::entries(pack)
            .into_iter()
            .filter(|e| selected_by(args, e.section(), e.id()))
            .collect();
        if args.due {
            let cards = drill::cards(&store.history()?);
            let now = drill::now();
            entries.retain(|e| cards.get(e.id()).is_some_and(|c| c.due <= now));
            if entries.is_empty() {
                let text = match cards.iter().min_by_key(|(_, c)| c.due) {
                    Some((id, card)) => format!(
                        "Nothing is due for review yet; {id} is next, in {}.\n",
                        humanize(card.due - now)
                    ),
                    None => "Nothing is due: you have not answered any drill yet. Start with `msgwork drill`.\n"
                        .to_string(),
                };
                emit(&text)?;
                return Ok(Outcome::Success);
            }
        }
        if entries.is_empty() {
            bail!("no items match --section/--only; `msgwork drill --list` shows them all");
        }
        if !terminal {
            bail!(
                "{} item(s) are due, and msgwork drill asks its questions in a terminal; \
                 run it in one, or grade a JSON file with `msgwork drill --answers FILE`",
                entries.len()
            );
        }
        let plan: Vec<String> = entries.iter().map(|e| e.id().to_string()).collect();
        (store.start_session("interactive", &plan)?, entries)
    };
    let stderr_paint = crate::ui::Paint::for_stderr(ctx.color);
    // Ctrl-C: every answer given is already in the store; restore the terminal and say so.
    let stopped = stderr_paint.bold("Stopped.");
    let _ = ctrlc::set_handler(move || {
        let term = console::Term::stderr();
        let _ = term.show_cursor();
        eprintln!(
            "\n{stopped} Your answers so far are saved. Continue with: msgwork drill --resume"
        );
        std::process::exit(130);
    });
    eprintln!(
        "{}",
        stderr_paint.dim(&format!(
            "msgwork drill: {} item(s). Esc or Ctrl-C stops; every answer is saved as you give it.",
            entries.len()
        ))
    );
    let mut prompter = crate::ui::prompt::TerminalPrompter::new(stderr_paint);
    let played = drill::play(&entries, pack, &store, session, &mut prompter)?;
    drop(prompter);
    let graded: Vec<Graded> = played.graded.iter().map(|(g, _)| g.clone()).collect();
    if args.json {
        emit_results(&graded)?;
    } else {
        let mut text = String::from("\n");
        text.push_str(&scorecard(&graded, &played.skipped, ctx));
        match played.stopped {
            Some(drill::Stop::Asked) => text.push_str(&format!(
                "{} {} answer(s) saved in this session. Continue with: msgwork drill --resume\n",
                ctx.paint.bold("Stopped."),
                store.answered_in(session)?.len()
            )),
            // The Ctrl-C handler says it and exits; this is the fallback if it has not yet.
            Some(drill::Stop::Interrupted) => {
                std::thread::sleep(std::time::Duration::from_millis(300))
            }
            None => {}
        }
        emit(&text)?;
    }
    Ok(match played.stopped {
        Some(drill::Stop::Interrupted) => Outcome::Interrupted,
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
