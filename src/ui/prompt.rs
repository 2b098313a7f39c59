//! The drill's prompts on a real terminal, with dialoguer. Prompts and feedback go to stderr,
//! so stdout carries only the result (the scorecard, or `--json`).

use std::io;

use console::Key;
use console::Term;
use dialoguer::Select;
use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};

use super::Paint;
use crate::drill::entry::Entry;
use crate::drill::prompter::{Prompter, Reply, Then};
use crate::grade::Verdict;
use crate::grade::item::{Graded, tidy};

pub struct TerminalPrompter {
    term: Term,
    theme: Box<dyn Theme>,
    paint: Paint,
    /// Show the details with every feedback (`--details`), not only on request.
    always_details: bool,
    /// Whether this item's details are on screen already.
    details_shown: bool,
}

impl TerminalPrompter {
    pub fn new(paint: Paint, always_details: bool) -> Self {
        let theme: Box<dyn Theme> = if paint.enabled() {
            Box::new(ColorfulTheme::default())
        } else {
            Box::new(SimpleTheme)
        };
        TerminalPrompter {
            term: Term::stderr(),
            theme,
            paint,
            always_details,
            details_shown: false,
        }
    }

    fn say(&self, text: &str) {
        // A failed write to the terminal is not worth stopping a drill for.
        let _ = self.term.write_line(text);
    }
}

/// The cursor is hidden while a menu is up; put it back however the session ends.
impl Drop for TerminalPrompter {
    fn drop(&mut self) {
        let _ = self.term.show_cursor();
    }
}

/// Wraps prose with paragraphs (blank lines between them kept) to `width`, each line indented.
fn paragraphs(text: &str, width: usize, indent: &str) -> String {
    text.split("\n\n")
        .map(|p| super::wrap(p, width, indent))
        .collect::<Vec<_>>()
        .join("\n\n")
}

impl TerminalPrompter {
    /// The width prose is wrapped to.
    fn width(&self) -> usize {
        super::text_width(&self.term).unwrap_or(100)
    }

    /// Says `text` wrapped at word boundaries, each line of it on its own, indented.
    fn say_wrapped(&self, text: &str, indent: &str) {
        self.say(&super::wrap_lines(text, self.width(), indent));
    }

    /// Reads one line of text, echoing it; `None` when the learner presses Esc. Ctrl-C is an
    /// interruption, as in dialoguer's prompts.
    fn read_line(&self, prompt: &str) -> io::Result<Option<String>> {
        let shown = format!("{prompt}: ");
        self.term.write_str(&shown)?;
        let mut text = String::new();
        loop {
            match self.term.read_key()? {
                Key::Enter => {
                    self.term.write_line("")?;
                    return Ok(Some(text));
                }
                Key::Escape => {
                    self.term.write_line("")?;
                    return Ok(None);
                }
                Key::CtrlC => {
                    return Err(io::Error::new(io::ErrorKind::Interrupted, "Ctrl-C"));
                }
                Key::Backspace if !text.is_empty() => {
                    // Redraw from the prompt, however many rows the answer has wrapped onto.
                    let columns = usize::from(self.term.size().1).max(1);
                    let printed =
                        console::measure_text_width(&shown) + console::measure_text_width(&text);
                    let row = printed.saturating_sub(1) / columns;
                    text.pop();
                    if row > 0 {
                        self.term.move_cursor_up(row)?;
                    }
                    self.term.write_str("\r")?;
                    self.term.clear_to_end_of_screen()?;
                    self.term.write_str(&shown)?;
                    self.term.write_str(&text)?;
                }
                Key::Char(c) if !c.is_control() => {
                    text.push(c);
                    self.term.write_str(c.encode_utf8(&mut [0; 4]))?;
                }
                _ => {}
            }
        }
    }
}

/// The label of one thing the learner may do at the pause, with its key.
fn offer_label(then: Then, last: bool) -> Option<&'static str> {
    Some(match then {
        Then::Next if last => "Enter: finish",
        Then::Next => "Enter: next item",
        Then::Details => "d: details and the model answer",
        Then::Retry => "r: try this one again now",
        Then::Overrule(_) => return None,
        Then::Stop => return None,
    })
}

/// The keys at the pause, as many to a line as fit in `width`, none split across lines.
fn legend(keys: &[&str], width: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    for key in keys {
        match lines.last_mut() {
            Some(line)
                if console::measure_text_width(line) + 3 + console::measure_text_width(key)
                    <= width =>
            {
                line.push_str(" · ");
                line.push_str(key);
            }
            _ => lines.push(super::wrap(key, width, "")),
        }
    }
    lines.join("\n")
}

/// How an overrule reads in its menu: what the learner claims, then the verdict it records.
fn overrule_label(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Correct => "I was right: count it correct",
        Verdict::Partial => "I was partly right: count it partial",
        Verdict::Incorrect => "I was wrong: count it incorrect",
    }
}

impl Prompter for TerminalPrompter {
    fn begin(&mut self, entry: Entry<'_>, position: usize, total: usize) {
        self.say("");
        let title = format!(
            "{} · {}  ({position}/{total}, {})",
            entry.id(),
            entry.title(),
            entry.section()
        );
        self.say(&self.paint.bold(&super::wrap(&title, self.width(), "")));
        match entry {
            Entry::Scenario(s) => self.say(&paragraphs(&s.situation, self.width(), "")),
            Entry::Item(_) => {}
        }
    }

    fn choose(
        &mut self,
        question: &str,
        options: &[&str],
        hints_left: bool,
    ) -> io::Result<Reply<usize>> {
        let mut items: Vec<&str> = options.to_vec();
        if hints_left {
            items.push("(show a hint)");
        }
        // A question too long for one line is said wrapped, and the menu asks briefly.
        let prompt = if console::measure_text_width(question) + 4 > self.width() {
            self.say_wrapped(question, "");
            "your choice"
        } else {
            question
        };
        let picked = Select::with_theme(self.theme.as_ref())
            .with_prompt(prompt)
            .items(&items)
            .default(0)
            .interact_on_opt(&self.term)
            .map_err(into_io)?;
        Ok(match picked {
            None => Reply::Stop,
            Some(i) if i >= options.len() => Reply::Hint,
            Some(i) => Reply::Answer(i),
        })
    }

    fn write(&mut self, question: &str, hints_left: bool) -> io::Result<Reply<String>> {
        self.say(&paragraphs(question, self.width(), ""));
        let help = if hints_left {
            "your answer (? for a hint, empty to skip, Esc to stop)"
        } else {
            "your answer (empty to skip, Esc to stop)"
        };
        let Some(text) = self.read_line(help)? else {
            return Ok(Reply::Stop);
        };
        Ok(match text.trim() {
            "?" => Reply::Hint,
            "" => Reply::Skip,
            answer => Reply::Answer(answer.to_string()),
        })
    }

    fn hint(&mut self, hint: &str, number: usize, of: usize) {
        let label = format!("Hint {number}/{of}:");
        let text = super::wrap(&format!("{label} {}", tidy(hint)), self.width(), "");
        self.say(&text.replacen(&label, &self.paint.dim(&label), 1));
    }

    fn graded(&mut self, graded: &Graded) {
        let verdict = match graded.verdict {
            Verdict::Correct => self.paint.good("correct"),
            Verdict::Partial => self.paint.bold("partial"),
            Verdict::Incorrect => self.paint.bad("incorrect"),
        };
        self.say(&format!("{verdict}  {}/{}", graded.score, graded.max));
        self.say_wrapped(&graded.feedback, "    ");
        self.details_shown = false;
        if self.always_details {
            self.details(graded);
        }
    }

    fn details(&mut self, graded: &Graded) {
        if self.details_shown {
            return;
        }
        self.details_shown = true;
        if !graded.details.is_empty() {
            self.say(&self.paint.dim("Details:"));
            self.say_wrapped(&graded.details, "    ");
        }
        let model = if graded.choices.is_empty() {
            "Model answer:"
        } else {
            "Expected:"
        };
        self.say(&self.paint.dim(model));
        self.say_wrapped(&tidy(&graded.expected), "    ");
        let hints = graded.hints_to_show();
        if !hints.is_empty() {
            self.say(&self.paint.dim("Hints:"));
            for hint in &hints {
                self.say_wrapped(&format!("- {}", tidy(hint)), "    ");
            }
        }
    }

    fn then(&mut self, graded: &Graded, offers: &[Then], last: bool) -> io::Result<Then> {
        let overrules: Vec<Verdict> = offers
            .iter()
            .filter_map(|o| match o {
                Then::Overrule(v) => Some(*v),
                _ => None,
            })
            .collect();
        let mut keys: Vec<&str> = offers
            .iter()
            .filter(|o| !(self.details_shown && **o == Then::Details))
            .filter_map(|o| offer_label(*o, last))
            .collect();
        if !overrules.is_empty() {
            keys.push("o: overrule the verdict");
        }
        keys.push("Esc: stop");
        self.say(&self.paint.dim(&legend(&keys, self.width())));
        loop {
            let picked = match self.term.read_key()? {
                Key::Enter => Then::Next,
                Key::Char('d' | 'D' | '?') => Then::Details,
                Key::Char('r' | 'R') => Then::Retry,
                Key::Escape => Then::Stop,
                Key::CtrlC => {
                    return Err(io::Error::new(io::ErrorKind::Interrupted, "Ctrl-C"));
                }
                Key::Char('o' | 'O') if !overrules.is_empty() => {
                    // Overruling is a judgement on the model answer: show it first.
                    self.details(graded);
                    let labels: Vec<&str> = overrules.iter().map(|v| overrule_label(*v)).collect();
                    let picked = Select::with_theme(self.theme.as_ref())
                        .with_prompt(format!(
                            "Graded {}; your own verdict? (Esc stops)",
                            graded.verdict.name()
                        ))
                        .items(&labels)
                        .default(0)
                        .interact_on_opt(&self.term)
                        .map_err(into_io)?;
                    return Ok(match picked {
                        Some(i) => Then::Overrule(overrules[i]),
                        None => Then::Stop,
                    });
                }
                _ => continue,
            };
            if offers.contains(&picked) || picked == Then::Stop {
                return Ok(picked);
            }
        }
    }
}

fn into_io(err: dialoguer::Error) -> io::Error {
    match err {
        dialoguer::Error::IO(err) => err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_legend_keeps_each_key_whole_within_the_width() {
        let keys = [
            "Enter: next item",
            "d: details and the model answer",
            "Esc: stop",
        ];
        assert_eq!(
            legend(&keys, 40),
            "Enter: next item\nd: details and the model answer\nEsc: stop"
        );
        assert_eq!(legend(&keys[..1], 100), "Enter: next item");
        assert_eq!(
            legend(&[keys[0], keys[2]], 40),
            "Enter: next item · Esc: stop"
        );
    }

    #[test]
    fn the_pause_never_offers_an_option_twice() {
        let all = [
            Then::Next,
            Then::Details,
            Then::Retry,
            Then::Overrule(Verdict::Correct),
            Then::Overrule(Verdict::Partial),
            Then::Overrule(Verdict::Incorrect),
        ];
        let mut labels: Vec<&str> = all
            .iter()
            .filter_map(|t| offer_label(*t, false))
            .chain(
                [Verdict::Correct, Verdict::Partial, Verdict::Incorrect]
                    .into_iter()
                    .map(overrule_label),
            )
            .collect();
        let before = labels.len();
        labels.sort();
        labels.dedup();
        assert_eq!(labels.len(), before);
    }
}
