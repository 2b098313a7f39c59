//! The rewrite exercise in a terminal: choose each consumer's form, spot the sensitive fields,
//! write the payload; each step is compared with the model rewrite as you go.

use std::io;

use console::Term;
use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};
use dialoguer::{Editor, MultiSelect, Select};
use serde_json::{Map, Value};

use super::Paint;
use crate::rewrite::catalogue::Form;
use crate::rewrite::check::Checked;
use crate::rewrite::practice::{Practice, PracticePrompter};
use crate::rewrite::{Excluded, Rewrite};

/// The exercise's prompts on stderr, with dialoguer, and the learner's editor for the payload.
pub struct TerminalPractice {
    term: Term,
    theme: Box<dyn Theme>,
    paint: Paint,
}

impl TerminalPractice {
    pub fn new(paint: Paint) -> Self {
        let theme: Box<dyn Theme> = if paint.enabled() {
            Box::new(ColorfulTheme::default())
        } else {
            Box::new(SimpleTheme)
        };
        TerminalPractice {
            term: Term::stderr(),
            theme,
            paint,
        }
    }

    fn say(&self, text: &str) {
        let _ = self.term.write_line(text);
    }
}

fn into_io(err: dialoguer::Error) -> io::Error {
    match err {
        dialoguer::Error::IO(err) => err,
    }
}

impl PracticePrompter for TerminalPractice {
    fn begin(&mut self, event_type: &str) {
        self.say(&self.paint.bold(&format!(
            "The exercise: rewrite the thin {} event.",
            event_type
        )));
        self.say(
            "Step 1 of 3: for each consumer, would it rather get a notification or the state (ECST)?",
        );
    }

    fn choose_form(&mut self, consumer: &str) -> io::Result<Form> {
        let picked = Select::with_theme(self.theme.as_ref())
            .with_prompt(format!("{}: which form?", consumer))
            .items([
                "notification (ids only; it calls back)",
                "ECST (the state it needs, on the event)",
            ])
            .default(0)
            .interact_on(&self.term)
            .map_err(into_io)?;
        Ok(if picked == 0 {
            Form::Notification
        } else {
            Form::Ecst
        })
    }

    fn form_marked(&mut self, right: bool, reason: &str) {
        if right {
            self.say(&format!("  {} {}", self.paint.good("right."), reason));
        } else {
            self.say(&format!("  {} {}", self.paint.bad("not quite."), reason));
        }
    }

    fn mark_sensitive(&mut self, fields: &[&str]) -> io::Result<Vec<usize>> {
        self.say("");
        self.say(
            "Step 2 of 3: which fields of the record must stay off the event (secrets, or personal data nobody needs)?",
        );
        MultiSelect::with_theme(self.theme.as_ref())
            .with_prompt("space to mark, enter when done")
            .items(fields)
            .interact_on(&self.term)
            .map_err(into_io)
    }

    fn sensitive_marked(
        &mut self,
        found: usize,
        of: usize,
        missed: &[&Excluded],
        false_alarms: &[String],
    ) {
        self.say(&format!(
            "  You found {} of {} fields to keep off.",
            found, of
        ));
        for e in missed {
            self.say(&format!(
                "  {} {}: {}",
                self.paint.bad("missed"),
                e.path,
                e.reason
            ));
        }
        for path in false_alarms {
            self.say(&format!(
                "  {} {path} is ordinary data its consumers need",
                self.paint.dim("fine to send:")
            ));
        }
    }

    fn write_payload(&mut self, start: &str) -> io::Result<Option<String>> {
        self.say("");
        self.say("Step 3 of 3: write the payload you would publish.");
        let action = Select::with_theme(self.theme.as_ref())
            .with_prompt("Write it now?")
            .items([
                "open my editor with the notification as a start",
                "skip to the model rewrite",
            ])
            .default(0)
            .interact_on(&self.term)
            .map_err(into_io)?;
        if action != 0 {
            return Ok(None);
        }
        Editor::new()
            .extension(".json")
            .edit(start)
            .map_err(into_io)
    }

    fn payload_checked(&mut self, checked: &Checked) {
        self.say(super::checked::render(checked, self.paint, None).trim_end());
    }

    fn payload_unreadable(&mut self) {
        self.say("  That is not a JSON object, so it could not be checked.");
    }

    fn end(&mut self) {
        self.say("");
    }
}

/// Walks the learner through the exercise for `model` (the model rewrite of the same event).
pub fn run(model: &Rewrite, record: &Map<String, Value>, paint: Paint) -> io::Result<Practice> {
    crate::rewrite::practice::run(model, record, &mut TerminalPractice::new(paint))
}
