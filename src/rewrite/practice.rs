//! The rewrite exercise as a flow: each consumer's form, the fields to keep off, the learner's own
//! payload, each scored against the model rewrite and asked through a [`PracticePrompter`], so the
//! exercise runs the same in a terminal and in a test.

use std::io;

use serde::Serialize;
use serde_json::{Map, Value};

use super::catalogue::Form;
use super::check::{Checked, check};
use super::classify::{self, Class};
use super::output::{Excluded, Rewrite};
use super::paths::{set_path, within};
use super::redact;

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

/// The exercise as the learner meets it: dialoguer in a terminal, a script in tests.
pub trait PracticePrompter {
    /// The exercise on a thin event of this type begins, with step 1: each consumer's form.
    fn begin(&mut self, event_type: &str);
    /// Which form `consumer` would rather get.
    fn choose_form(&mut self, consumer: &str) -> io::Result<Form>;
    /// Whether the form chosen was the one the consumer prefers, and why it prefers it.
    fn form_marked(&mut self, right: bool, reason: &str);
    /// Step 2: which of `fields` must stay off the event; the indexes of those the learner marks.
    fn mark_sensitive(&mut self, fields: &[&str]) -> io::Result<Vec<usize>>;
    /// How the marking went: `found` of `of` fields to keep off, each one missed with the reason
    /// it stays off, and each ordinary field marked.
    fn sensitive_marked(
        &mut self,
        found: usize,
        of: usize,
        missed: &[&Excluded],
        false_alarms: &[String],
    );
    /// Step 3: the payload the learner would publish, starting from `start`; `None` when they
    /// skip it or leave it unsaved.
    fn write_payload(&mut self, start: &str) -> io::Result<Option<String>>;
    /// The learner's payload, graded.
    fn payload_checked(&mut self, checked: &Checked);
    /// The learner's payload is not a JSON object, so it could not be graded.
    fn payload_unreadable(&mut self);
    /// The exercise is over.
    fn end(&mut self);
}

/// The record as the exercise shows it before asking: every field in place, each secret's value
/// replaced by what it is, so the learner sees what to keep off without a secret being echoed.
pub fn record_as_shown(record: &Map<String, Value>) -> Value {
    let mut shown = record.clone();
    for f in classify::classify(&Value::Object(record.clone())) {
        if f.class == Class::Secret && !f.path.is_empty() && !f.path.contains('[') {
            set_path(
                &mut shown,
                &f.path,
                Value::String(redact::placeholder(&f.reason)),
            );
        }
    }
    let mut shown = Value::Object(shown);
    redact::scrub(&mut shown, redact::Scope::Secrets);
    shown
}

/// Walks the learner through the exercise for `model` (the model rewrite of the same event), with
/// `record` the entity's state the sensitive fields are picked from.
pub fn run(
    model: &Rewrite,
    record: &Map<String, Value>,
    prompter: &mut impl PracticePrompter,
) -> io::Result<Practice> {
    let mut result = Practice::default();

    prompter.begin(&model.event_type);
    for consumer in &model.consumers {
        let chosen = prompter.choose_form(&consumer.name)?;
        result.forms_asked += 1;
        let right = chosen == consumer.prefers;
        if right {
            result.forms_right += 1;
        }
        prompter.form_marked(right, &consumer.reason);
    }

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
                .any(|e| e.path != f.path && within(&f.path, &e.path))
        })
        .collect();
    let labels: Vec<&str> = candidates.iter().map(|f| f.path.as_str()).collect();
    let picked = prompter.mark_sensitive(&labels)?;
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
    let missed: Vec<&Excluded> = result
        .sensitive_missed
        .iter()
        .filter_map(|path| model.excluded_fields.iter().find(|e| &e.path == path))
        .collect();
    prompter.sensitive_marked(
        result.sensitive_found,
        sensitive.len(),
        &missed,
        &result.false_alarms,
    );

    let start = serde_json::to_string_pretty(&model.notification).unwrap_or_default();
    if let Some(text) = prompter.write_payload(&start)? {
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(payload)) => {
                let checked = check(&payload, Some(&model.event_type));
                prompter.payload_checked(&checked);
                result.payload = Some(checked);
            }
            Ok(_) | Err(_) => prompter.payload_unreadable(),
        }
    }
    prompter.end();
    Ok(result)
}

#[cfg(test)]
mod tests;
