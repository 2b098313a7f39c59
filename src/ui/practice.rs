//! The rewrite exercise in a terminal: choose each consumer's form, spot the sensitive fields,
//! write the payload; each step is compared with the model rewrite as you go.

use std::io;

use console::Term;
use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};
use dialoguer::{Editor, MultiSelect, Select};
use serde::Serialize;
use serde_json::{Map, Value};

use super::Paint;
use crate::rewrite::Rewrite;
use crate::rewrite::catalogue::Form;
use crate::rewrite::check::{Checked, check};
use crate::rewrite::classify::{self, Class};

/// How the learner did, for the progress store.
#[derive(Debug, Default, Serialize)]
pub struct Practice {
    pub forms_right: usize,
    pub forms_asked: usize,
    pub sensitive_found: usize,
    pub sensitive_missed: Vec<String>,
    pub false_alarms: Vec<String>,
    pub payload: Option<Checked>,
}

fn into_io(err: dialoguer::Error) -> io::Error {
    match err {
        dialoguer::Error::IO(err) => err,
    }
}

/// Walks the learner through the exercise for `model` (the model rewrite of the same event).
pub fn run(model: &Rewrite, record: &Map<String, Value>, paint: Paint) -> io::Result<Practice> {
    let term = Term::stderr();
    let theme: Box<dyn Theme> = if paint.enabled() {
        Box::new(ColorfulTheme::default())
    } else {
        Box::new(SimpleTheme)
    };
    let say = |text: &str| {
        let _ = term.write_line(text);
    };
    let mut result = Practice::default();

    say(&paint.bold(&format!(
        "The exercise: rewrite the thin {} event.",
        model.event_type
    )));
    say("Step 1 of 3: for each consumer, would it rather get a notification or the state (ECST)?");
    for consumer in &model.consumers {
        let picked = Select::with_theme(theme.as_ref())
            .with_prompt(format!("{}: which form?", consumer.name))
            .items([
                "notification (ids only; it calls back)",
                "ECST (the state it needs, on the event)",
            ])
            .default(0)
            .interact_on(&term)
            .map_err(into_io)?;
        let chosen = if picked == 0 {
            Form::Notification
        } else {
            Form::Ecst
        };
        result.forms_asked += 1;
        if chosen == consumer.prefers {
            result.forms_right += 1;
            say(&format!("  {} {}", paint.good("right."), consumer.reason));
        } else {
            say(&format!(
                "  {} {}",
                paint.bad("not quite."),
                consumer.reason
            ));
        }
    }

    say("");
    say(
        "Step 2 of 3: which fields of the record must stay off the event (secrets, or personal data nobody needs)?",
    );
    let findings = classify::classify(&Value::Object(record.clone()));
    // The record's own fields, not every element of its arrays, and not the lines of an address
    // that is personal as a whole.
    let candidates: Vec<&classify::Finding> = findings
        .iter()
        .filter(|f| !f.path.contains('['))
        .filter(|f| {
            !model
                .excluded_fields
                .iter()
                .any(|e| e.path != f.path && crate::rewrite::within(&f.path, &e.path))
        })
        .collect();
    let labels: Vec<&str> = candidates.iter().map(|f| f.path.as_str()).collect();
    let picked = MultiSelect::with_theme(theme.as_ref())
        .with_prompt("space to mark, enter when done")
        .items(&labels)
        .interact_on(&term)
        .map_err(into_io)?;
    let sensitive: Vec<&str> = model
        .excluded_fields
        .iter()
        .map(|e| e.path.as_str())
        .collect();
    for (i, f) in candidates.iter().enumerate() {
        let marked = picked.contains(&i);
        let is_sensitive = sensitive.contains(&f.path.as_str());
        match (marked, is_sensitive) {
            (true, true) => result.sensitive_found += 1,
            (false, true) => result.sensitive_missed.push(f.path.clone()),
            (true, false) if f.class == Class::Ordinary => result.false_alarms.push(f.path.clone()),
            _ => {}
        }
    }
    say(&format!(
        "  You found {} of {} fields to keep off.",
        result.sensitive_found,
        sensitive.len()
    ));
    for path in &result.sensitive_missed {
        if let Some(e) = model.excluded_fields.iter().find(|e| &e.path == path) {
            say(&format!("  {} {path}: {}", paint.bad("missed"), e.reason));
        }
    }
    for path in &result.false_alarms {
        say(&format!(
            "  {} {path} is ordinary data its consumers need",
            paint.dim("fine to send:")
        ));
    }

    say("");
    say("Step 3 of 3: write the payload you would publish.");
    let action = Select::with_theme(theme.as_ref())
        .with_prompt("Write it now?")
        .items([
            "open my editor with the notification as a start",
            "skip to the model rewrite",
        ])
        .default(0)
        .interact_on(&term)
        .map_err(into_io)?;
    if action == 0 {
        let start = serde_json::to_string_pretty(&model.notification).unwrap_or_default();
        if let Some(text) = Editor::new()
            .extension(".json")
            .edit(&start)
            .map_err(into_io)?
        {
            match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(payload)) => {
                    let checked = check(&payload, Some(&model.event_type));
                    for f in &checked.findings {
                        say(&format!("  {:?}: {}", f.severity, f.message).to_lowercase());
                    }
                    result.payload = Some(checked);
                }
                Ok(_) | Err(_) => say("  That is not a JSON object, so it could not be checked."),
            }
        }
    }
    say("");
    Ok(result)
}
