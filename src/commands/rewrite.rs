//! `msgwork rewrite-event`: a thin event as notification and ECST, and the practice checker.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde_json::{Map, Value};

use super::context::{Context, emit, emit_json};
use crate::Outcome;
use crate::cli::RewriteArgs;
use crate::rewrite::catalogue::Form;
use crate::rewrite::check::check;
use crate::rewrite::classify::Class;
use crate::rewrite::{NoEcst, Rewrite, Source, input, redact, rewrite};
use crate::ui::{Paint, Verdict};

fn load(path: &Path) -> Result<(String, Map<String, Value>)> {
    let (name, text) = input::read(path)?;
    let map = input::parse_object(&name, &text)?;
    Ok((name, map))
}

/// A shipped event, read as a file of the same name would be; recorded under its shipped path.
fn example(name: &str) -> Result<(String, Map<String, Value>)> {
    let Some((path, text)) = crate::evidence::samples::example_event(name) else {
        anyhow::bail!(
            "--example {name}: msgwork ships no event of that name; the examples are {}",
            crate::evidence::samples::example_names().join(", ")
        );
    };
    Ok((path.to_string(), input::parse_object(path, text)?))
}

pub fn run(args: &RewriteArgs, ctx: &Context) -> Result<Outcome> {
    let stdin = Path::new("-");
    if args.event.as_deref() == Some(stdin) && args.source.as_deref() == Some(stdin) {
        anyhow::bail!(
            "the event and --source cannot both come from standard input; write one to a file"
        );
    }
    let (event_name, event) = match (&args.example, &args.event) {
        (Some(name), _) => example(name)?,
        (None, Some(path)) => load(path)?,
        (None, None) => anyhow::bail!("name the thin event: a JSON file, -, or --example NAME"),
    };
    if let Some(mine) = &args.check {
        let (_, payload) = load(mine)?;
        let thin_type = crate::rewrite::event_type_of(&event);
        let checked = check(&payload, thin_type);
        let recorder = ctx.recorder()?;
        // The fingerprints let evidence tell the learner's own payload from a shipped sample or
        // a copy of msgwork's own rewrite of the event.
        let recorded = serde_json::json!({
            "event": event_name, "payload": mine.display().to_string(),
            "event_type": thin_type.map(|t| redact::text(t).into_owned()),
            "fingerprint": crate::evidence::fingerprint::json_object(&payload),
            "model_fingerprints": crate::evidence::samples::model_rewrites(&event_name, &event),
        });
        let run = recorder.record("rewrite-check", None, &recorded, &checked);
        if args.json {
            emit_json(&checked)?;
        } else {
            emit(&crate::ui::checked::render(&checked, ctx.paint, run))?;
        }
        return Ok(if checked.passed {
            Outcome::Success
        } else {
            Outcome::CheckFailed
        });
    }
    let source = match &args.source {
        Some(path) => Some(load(path).map(|(file, record)| Source {
            file,
            record,
            force: args.force_source,
        })?),
        None => None,
    };
    let record_for_practice = source.as_ref().map(|s| s.record.clone());
    let rewritten = rewrite(&event_name, &event, source)?;
    if args.practice {
        use std::io::IsTerminal;
        if !std::io::stdin().is_terminal() {
            anyhow::bail!(
                "--practice asks its questions in a terminal, and standard input is not one; \
                 write your payload to a file and grade it with --check MINE.json"
            );
        }
        let record = record_for_practice
            .or_else(|| {
                let entity =
                    crate::rewrite::catalogue::find(&rewritten.event_type).map(|s| s.entity)?;
                let id = rewritten
                    .notification
                    .get("data")?
                    .as_object()?
                    .values()
                    .next()
                    .and_then(|v| match v {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    })?;
                crate::rewrite::catalogue::sample_record(&entity, &id)
            })
            .unwrap_or_default();
        let stderr_paint = crate::ui::Paint::for_stderr(ctx.color);
        eprintln!("{}", practice_record(&record, &rewritten, stderr_paint));
        let practice = crate::ui::practice::run(&rewritten, &record, stderr_paint)?;
        ctx.recorder()?.record(
            "rewrite-practice",
            None,
            &serde_json::json!({"event": event_name, "event_type": rewritten.event_type}),
            &practice,
        );
        eprintln!("{}", stderr_paint.bold("The model rewrite:"));
    }
    if args.json {
        emit_json(&rewritten)?;
    } else {
        emit(&render(&rewritten, ctx.paint))?;
    }
    Ok(Outcome::Success)
}

/// The record the exercise is about, shown before the first question, secrets masked.
fn practice_record(record: &Map<String, Value>, r: &Rewrite, paint: Paint) -> String {
    if record.is_empty() {
        return format!(
            "{} no record of this {} was found, so step 2 has no fields to mark. Give one with \
             --source RECORD.json, or practise on --example order-placed.\n",
            paint.bold("The record:"),
            r.event_type
        );
    }
    format!(
        "{} (from {}; secrets masked). Its fields are what steps 2 and 3 ask about.\n{}\n",
        paint.bold("The record this event is about"),
        r.record_source,
        pretty(&crate::rewrite::practice::record_as_shown(record))
    )
}

fn form_name(form: Form) -> &'static str {
    match form {
        Form::Notification => "notification",
        Form::Ecst => "ECST",
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

fn render(r: &Rewrite, paint: Paint) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}  (state from: {}{})\n",
        paint.bold(&r.event_type),
        r.record_source,
        r.envelope
            .as_deref()
            .map(|e| format!("; envelope: {e}"))
            .unwrap_or_default()
    );

    let _ = writeln!(
        out,
        "{}",
        paint.bold("Who consumes it, and which form each would rather have")
    );
    let mut table = paint.table(&["consumer", "prefers", "why"]);
    for c in &r.consumers {
        table.add_row(vec![
            c.name.clone(),
            form_name(c.prefers).to_string(),
            c.reason.clone(),
        ]);
    }
    let _ = writeln!(out, "{table}\n");

    let _ = writeln!(
        out,
        "{} ({} bytes): identifiers only; consumers that need more call the source back.",
        paint.bold("Notification"),
        r.metrics.notification_bytes
    );
    let _ = writeln!(out, "{}\n", pretty(&r.notification));
    match (&r.ecst, r.metrics.ecst_bytes) {
        (Some(ecst), Some(bytes)) => {
            let wanting = r
                .consumers
                .iter()
                .filter(|c| c.prefers == Form::Ecst)
                .count();
            let _ = writeln!(
                out,
                "{} ({bytes} bytes): {wanting} of {} consumers prefer it; it carries the state they act on.",
                paint.bold("Event-carried state transfer"),
                r.consumers.len()
            );
            let _ = writeln!(out, "{}\n", pretty(ecst));
        }
        _ => {
            let _ = writeln!(out, "{} {}\n", paint.bold("ECST:"), no_ecst(r));
        }
    }

    let _ = writeln!(out, "{}", paint.bold("Kept off the event"));
    if r.excluded_fields.is_empty() {
        let _ = writeln!(out, "  nothing sensitive in the record\n");
    } else {
        let mut table = paint.table(&["field", "class", "why"]);
        for e in &r.excluded_fields {
            let class = match e.class {
                Class::Secret => paint.bad_cell("secret"),
                Class::Pii => comfy_table::Cell::new("personal"),
                Class::Ordinary => comfy_table::Cell::new("ordinary"),
            };
            table.add_row(vec![
                comfy_table::Cell::new(shown_path(&e.path, "(keys of the record)")),
                class,
                comfy_table::Cell::new(&e.reason),
            ]);
        }
        let _ = writeln!(out, "{table}\n");
    }
    if !r.dropped_from_event.is_empty() {
        let _ = writeln!(out, "{}", paint.bold("Dropped from the thin event"));
        for d in &r.dropped_from_event {
            let _ = writeln!(
                out,
                "  {}: {}",
                shown_path(&d.path, "(keys of the event)"),
                d.reason
            );
        }
        let _ = writeln!(out);
    }
    for f in &r.flagged_pii {
        let _ = writeln!(
            out,
            "{} {} travels ({}), because {} {} it.",
            paint.bold("Flagged:"),
            f.path,
            f.reason,
            f.needed_by.join(" and "),
            if f.needed_by.len() == 1 {
                "needs"
            } else {
                "need"
            }
        );
    }
    if !r.flagged_pii.is_empty() {
        let _ = writeln!(out);
    }

    let _ = writeln!(out, "{}", paint.bold("The trade-off"));
    let mut table = paint.table(&["consumer", "call-backs per event: notification", "ECST"]);
    for c in &r.metrics.callbacks {
        table.add_row(vec![
            comfy_table::Cell::new(&c.consumer),
            paint.number(
                u64::from(c.notification),
                if c.notification == 0 {
                    Verdict::Good
                } else {
                    Verdict::Plain
                },
            ),
            paint.number(
                u64::from(c.ecst),
                if c.ecst == 0 {
                    Verdict::Good
                } else {
                    Verdict::Bad
                },
            ),
        ]);
    }
    let _ = writeln!(out, "{table}");
    if let Some(bytes) = r.metrics.ecst_bytes {
        let _ = writeln!(
            out,
            "Size: {} bytes as a notification, {bytes} as ECST ({:.1}x).",
            r.metrics.notification_bytes,
            bytes as f64 / r.metrics.notification_bytes.max(1) as f64
        );
    }
    if !r.metrics.stale_fields.is_empty() {
        let _ = writeln!(
            out,
            "Can go stale at the consumers: {} (copies, fixed as of {}).",
            r.metrics.stale_fields.join(", "),
            r.notification
                .get("occurred_at")
                .and_then(Value::as_str)
                .unwrap_or("the event")
        );
    }
    for note in &r.notes {
        let _ = writeln!(out, "{} {note}", paint.dim("Note:"));
    }
    out
}

/// Why the rewrite shows no ECST form, and for a missing record, how to give it one.
fn no_ecst(r: &Rewrite) -> String {
    let wanting: Vec<&str> = r
        .consumers
        .iter()
        .filter(|c| c.prefers == Form::Ecst)
        .map(|c| c.name.as_str())
        .collect();
    match r.ecst_absent {
        Some(NoEcst::NeedsTheRecord) => format!(
            "not shown: {} want the state on the event, but ECST needs the entity's record and none \
             was found, so it would repeat the notification. Give the record with --source \
             RECORD.json (for example: msgwork rewrite-event EVENT.json --source record.json), \
             or try msgwork rewrite-event --example order-placed to see ECST with its record.",
            crate::ui::and_list(&wanting.iter().map(|w| w.to_string()).collect::<Vec<_>>())
        ),
        Some(NoEcst::NothingBeyondTheId) => {
            "not shown: the record holds nothing its ECST consumers ask for beyond the id, so it \
             would repeat the notification."
                .to_string()
        }
        Some(NoEcst::FewWantIt) | None => {
            "none: fewer than two consumers want the state on the event.".to_string()
        }
    }
}

/// A field's path as a table shows it; the empty path is the whole record, named by `whole`.
fn shown_path(path: &str, whole: &str) -> String {
    if path.is_empty() {
        whole.to_string()
    } else {
        path.to_string()
    }
}
