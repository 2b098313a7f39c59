//! Feedback in two layers, each thing said once: a short layer that leads with the most
//! important reason, and the details (the full reasoning) that a learner asks for.

use super::free_text::{Gap, TextGrade};
use super::verdict::Verdict;
use crate::content::pattern::Standing;

/// Feedback on one answer: the short lines shown by default, and the rest on request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Feedback {
    pub short: Vec<String>,
    pub details: Vec<String>,
}

/// Collapses the line breaks of TOML multi-line strings.
pub fn tidy(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Splits tidied text after its first sentence: the sentence, and what follows (maybe empty).
pub fn first_sentence(text: &str) -> (String, String) {
    let text = tidy(text);
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        // Only ASCII bytes are compared, so every index sliced at is a character boundary.
        let ends = matches!(b, b'.' | b'?' | b'!')
            && bytes.get(i + 1) == Some(&b' ')
            && bytes
                .get(i + 2)
                .is_some_and(|c| c.is_ascii_uppercase() || *c == b'"' || *c == b'\'');
        // `e.g. Kafka` and `i.e. X` do not end a sentence.
        if ends && !text[..i].ends_with("e.g") && !text[..i].ends_with("i.e") {
            return (text[..=i].to_string(), text[i + 2..].to_string());
        }
    }
    (text, String::new())
}

/// What a free-text grade means, in two layers. The lead is the one thing that matters most: a
/// misconception asserted, else the opposite of a point stated, else a required point left
/// out; everything else goes to the details, once. Misconceptions in `explained` were
/// explained elsewhere in the same feedback and are only named. `brief` keeps even the lead to
/// a pointer (for a scenario's reason, after its three choices), its point in the details.
pub fn text_feedback(text: &TextGrade, answer: &str, explained: &[&str], brief: bool) -> Feedback {
    let mut out = Feedback::default();
    if answer.trim().is_empty() {
        out.short.push("No answer given.".to_string());
        return out;
    }
    let mut lines: Vec<Line> = Vec::new();
    for m in &text.misconceptions {
        let again = explained.contains(&m.id.as_str());
        let named = format!(
            "You wrote \"{}\": the '{}' misconception{}.",
            m.clause,
            m.name,
            if again { " again" } else { "" }
        );
        // Said in full, the lead carries why it is wrong in a sentence, and the details the rest.
        let (lead, more) = if again {
            (named, None)
        } else if brief {
            let more = format!("The '{}' misconception: {}", m.name, tidy(&m.explain));
            (named, Some(more))
        } else {
            let (why, rest) = first_sentence(&m.explain);
            let more = (!rest.is_empty())
                .then(|| format!("More on the '{}' misconception: {rest}", m.name));
            (format!("{named} {why}"), more)
        };
        lines.push(Line {
            lead,
            more,
            brief: None,
            issue: true,
        });
    }
    // One clause against several points is quoted once, with all of them.
    let mut against: Vec<(bool, &str, Vec<String>)> = Vec::new();
    for gap in &text.contradicted {
        let said = gap.clause.as_deref().or(gap.words.as_deref()).unwrap_or("");
        let denied = gap.standing == Some(Standing::Denied);
        match against
            .iter_mut()
            .find(|(d, s, _)| *d == denied && *s == said)
        {
            Some((_, _, says)) => says.push(tidy(&gap.says)),
            None => against.push((denied, said, vec![tidy(&gap.says)])),
        }
    }
    for (denied, said, says) in against {
        let (how, short) = match (denied, says.len()) {
            (true, 1) => (
                "You denied a point that matters",
                "denies a point that matters",
            ),
            (true, _) => ("You denied points that matter", "denies points that matter"),
            (false, 1) => (
                "You stated the opposite",
                "states the opposite of a point that matters",
            ),
            (false, _) => (
                "You stated the opposite of these points",
                "states the opposite of points that matter",
            ),
        };
        lines.push(Line {
            brief: Some(format!("\"{said}\" {short}.")),
            ..Line::one(format!("{how} (\"{said}\"): {}", says.join(" ")), true)
        });
    }
    let missing_required: Vec<&Gap> = text.missing.iter().filter(|g| g.required).collect();
    for gap in &missing_required {
        lines.push(Line {
            brief: Some(format!(
                "It leaves out that {}",
                lower_first(&tidy(&gap.says))
            )),
            ..Line::one(format!("Missing: {}", with_why_not(gap)), true)
        });
    }
    let issues = lines.len();
    if text.verdict == Verdict::Correct {
        lines.insert(0, Line::one("You covered what matters.".to_string(), false));
        let further: Vec<String> = text
            .missing
            .iter()
            .filter(|g| !g.required)
            .map(|g| tidy(&g.says))
            .collect();
        if !further.is_empty() {
            lines.push(Line::one(
                format!("To go further: {}", further.join(" ")),
                false,
            ));
        }
    } else if issues == 0 && !text.missing.is_empty() {
        let also: Vec<String> = text.missing.iter().map(with_why_not).collect();
        lines.push(Line::one(
            format!("Also worth saying: {}", also.join(" ")),
            true,
        ));
    }
    let mut lines = lines.into_iter();
    if let Some(first) = lines.next() {
        match first.brief.filter(|_| brief) {
            Some(pointer) => {
                out.short.push(pointer);
                out.details.push(first.lead);
            }
            None => out.short.push(first.lead),
        }
        out.details.extend(first.more);
    }
    let rest: Vec<Line> = lines.collect();
    let more_issues = rest.iter().filter(|l| l.issue).count();
    if more_issues > 0 {
        out.short.push(format!(
            "{} to fix, in the details.",
            count(more_issues, "more point", "more points")
        ));
    }
    for line in rest {
        out.details.push(line.lead);
        out.details.extend(line.more);
    }
    // One clause that makes several points is quoted once, with all of them.
    let mut shown: Vec<(&str, Vec<String>)> = Vec::new();
    for met in &text.met {
        match shown.iter_mut().find(|(clause, _)| *clause == met.clause) {
            Some((_, says)) => says.push(tidy(&met.says)),
            None => shown.push((&met.clause, vec![tidy(&met.says)])),
        }
    }
    for (clause, says) in shown {
        out.details
            .push(format!("\"{clause}\" shows: {}", says.join(" ")));
    }
    out
}

/// One thing feedback says: its sentence, any explanation that belongs to the details, a
/// pointer to it for brief feedback, and whether it is something to fix.
struct Line {
    lead: String,
    more: Option<String>,
    brief: Option<String>,
    issue: bool,
}

impl Line {
    fn one(lead: String, issue: bool) -> Line {
        Line {
            lead,
            more: None,
            brief: None,
            issue,
        }
    }
}

/// The hints, less any sentence the feedback, its details or the model answer in `said`
/// already says; a hint with nothing left is dropped.
pub fn unsaid_hints(hints: &[String], said: &[&str]) -> Vec<String> {
    let said = tidy(&said.join(" ")).to_lowercase();
    hints
        .iter()
        .filter_map(|hint| {
            let mut rest = tidy(hint);
            let mut kept = Vec::new();
            while !rest.is_empty() {
                let (sentence, after) = first_sentence(&rest);
                if !said.contains(&sentence.to_lowercase()) {
                    kept.push(sentence);
                }
                rest = after;
            }
            (!kept.is_empty()).then(|| kept.join(" "))
        })
        .collect()
}

/// `1 point`, `2 points`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A missing point, with why words that would have made it did not count.
fn with_why_not(gap: &Gap) -> String {
    let says = tidy(&gap.says);
    let words = gap.words.as_deref().unwrap_or("");
    let why = match gap.standing {
        Some(Standing::Listed) => {
            format!(" (\"{words}\" is only a term in a list: say what it does or why)")
        }
        Some(Standing::Denied) => format!(
            " (you wrote \"{}\", but denied it)",
            gap.clause.as_deref().unwrap_or(words)
        ),
        Some(Standing::Quoted) => {
            format!(" (\"{words}\" is only inside quotation marks)")
        }
        _ => return says,
    };
    format!("{}{why}.", says.trim_end_matches('.'))
}

/// A sentence made to follow "that": its first letter lower-cased, unless its first word is a
/// name or an acronym (another capital in it: "OrderPlaced", "SQS").
fn lower_first(sentence: &str) -> String {
    let first_word = sentence.split_whitespace().next().unwrap_or("");
    let is_name = first_word.chars().skip(1).any(char::is_uppercase);
    let mut chars = sentence.chars();
    match chars.next() {
        Some(first) if first.is_uppercase() && !is_name => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => sentence.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_sentence_ends_at_a_full_stop_before_a_capital() {
        assert_eq!(
            first_sentence("One thing, e.g. Kafka. Then\n another.  "),
            (
                "One thing, e.g. Kafka.".to_string(),
                "Then another.".to_string()
            )
        );
        assert_eq!(
            first_sentence("No end here"),
            ("No end here".to_string(), String::new())
        );
        // Any text, learner's words included, splits without panicking on a wide character.
        let (first, rest) = first_sentence("'Ѩ*\"🫗' is not one. Of உU. Ѩ. Ѩ");
        assert_eq!(
            (first.as_str(), rest.as_str()),
            ("'Ѩ*\"🫗' is not one.", "Of உU. Ѩ. Ѩ")
        );
        assert_eq!(
            first_sentence("Version 1.5 works. Yes."),
            ("Version 1.5 works.".to_string(), "Yes.".to_string())
        );
    }
}
