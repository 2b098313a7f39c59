//! A graded payload as a learner reads it: what it reads as, each finding with the field it is
//! about, and whether it passed.

use std::fmt::Write as _;

use super::Paint;
use crate::rewrite::catalogue::Form;
use crate::rewrite::check::{Checked, Severity};

/// The graded payload: what it reads as, every finding named by its field, then the verdict
/// (and the run it was recorded as, when it was).
pub fn render(c: &Checked, paint: Paint, run: Option<i64>) -> String {
    let mut out = String::new();
    let reads_as = if c.command {
        "a command, not an event".to_string()
    } else {
        let form = match c.form {
            Form::Notification => "a notification",
            Form::Ecst => "an event-carried state transfer",
        };
        let of = c
            .event_type
            .as_deref()
            .map(|t| format!(" of {t}"))
            .unwrap_or_default();
        format!("{form}{of}")
    };
    let _ = writeln!(
        out,
        "{} your payload reads as {reads_as}.\n",
        paint.bold("Checked:")
    );
    for f in &c.findings {
        let label = match f.severity {
            Severity::Fail => paint.bad("fail"),
            Severity::Warn => paint.bold("warn"),
            Severity::Ok => paint.good("ok"),
        };
        let path = f
            .path
            .as_deref()
            .map(|p| format!("{p}: "))
            .unwrap_or_default();
        let _ = writeln!(out, "  {label}  {path}{}", f.message);
    }
    let _ = writeln!(
        out,
        "\n{}{}",
        if c.passed {
            paint.good("Passed.")
        } else {
            paint.bad("Failed.")
        },
        run.map(|run| paint.dim(&format!(" Recorded as run {run}.")))
            .unwrap_or_default()
    );
    out
}
