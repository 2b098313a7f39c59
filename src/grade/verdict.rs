//! The verdict on one answer, and the share of the marks it earns.

use serde::Serialize;

/// The verdict on one answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Incorrect,
    Partial,
    Correct,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Correct => "correct",
            Verdict::Partial => "partial",
            Verdict::Incorrect => "incorrect",
        }
    }

    /// The share of an item's marks this verdict earns.
    pub fn credit(self) -> f64 {
        match self {
            Verdict::Correct => 1.0,
            Verdict::Partial => 0.5,
            Verdict::Incorrect => 0.0,
        }
    }
}
