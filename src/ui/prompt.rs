//! The drill's prompts on a real terminal, with dialoguer. Prompts and feedback go to stderr,
//! so stdout carries only the result (the scorecard, or `--json`).

use std::io;

use console::Term;
use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};
use dialoguer::{Input, Select};

use super::Paint;
use crate::drill::entry::Entry;
use crate::drill::prompter::{Prompter, Reply};
use crate::grade::Verdict;
use crate::grade::item::Graded;

pub struct TerminalPrompter {
    term: Term,
    theme: Box<dyn Theme>,
    paint: Paint,
}

impl TerminalPrompter {
    pub fn new(paint: Paint) -> Self {
        let theme: Box<dyn Theme> = if paint.enabled() {
            Box::new(ColorfulTheme::default())
        } else {
            Box::new(SimpleTheme)
        };
        TerminalPrompter {
            term: Term::stderr(),
            theme,
            paint,
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

fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    for paragraph in text.split("\n\n") {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            if !line.is_empty() && line.len() + word.len() + 1 > width {
                out.push_str(&line);
                out.push('\n');
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        out.push_str(&line);
        out.push_str("\n\n");
    }
    out.trim_end().to_string()
}

impl Prompter for TerminalPrompter {
    fn begin(&mut self, entry: Entry<'_>, position: usize, total: usize) {
        let width = (self.term.size().1 as usize).clamp(40, 100) - 2;
        self.say("");
        self.say(&self.paint.bold(&format!(
            "{} · {}  ({position}/{total}, {})",
            entry.id(),
            entry.title(),
            entry.section()
        )));
        match entry {
            Entry::Scenario(s) => self.say(&wrap(&s.situation, width)),
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
        let picked = Select::with_theme(self.theme.as_ref())
            .with_prompt(question)
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
        let width = (self.term.size().1 as usize).clamp(40, 100) - 2;
        self.say(&wrap(question, width));
        let help = if hints_left {
            "your answer (? for a hint, empty to skip)"
        } else {
            "your answer (empty to skip)"
        };
        let text: String = Input::with_theme(self.theme.as_ref())
            .with_prompt(help)
            .allow_empty(true)
            .interact_text_on(&self.term)
            .map_err(into_io)?;
        Ok(match text.trim() {
            "?" => Reply::Hint,
            "" => Reply::Skip,
            answer => Reply::Answer(answer.to_string()),
        })
    }

    fn hint(&mut self, hint: &str, number: usize, of: usize) {
        self.say(&format!(
            "{} {hint}",
            self.paint.dim(&format!("Hint {number}/{of}:"))
        ));
    }

    fn graded(&mut self, graded: &Graded) {
        let verdict = match graded.verdict {
            Verdict::Correct => self.paint.good("correct"),
            Verdict::Partial => self.paint.bold("partial"),
            Verdict::Incorrect => self.paint.bad("incorrect"),
        };
        let width = (self.term.size().1 as usize).clamp(40, 100) - 6;
        self.say(&format!("{verdict}  {}/{}", graded.score, graded.max));
        for line in graded.feedback.lines() {
            for wrapped in wrap(line, width).lines() {
                self.say(&format!("    {wrapped}"));
            }
        }
        if graded.text.is_some() && graded.choices.is_empty() {
            self.say(&self.paint.dim("Model answer:"));
            for line in wrap(&graded.expected, width).lines() {
                self.say(&format!("    {line}"));
            }
        }
    }

    fn overrule(&mut self, graded: &Graded) -> io::Result<Option<Verdict>> {
        let keep = format!("Agree: {}", graded.verdict.name());
        let choices = [
            keep.as_str(),
            "I was right: correct",
            "Partly right: partial",
            "I was wrong: incorrect",
        ];
        let picked = Select::with_theme(self.theme.as_ref())
            .with_prompt("Your own verdict, after seeing the model answer?")
            .items(choices)
            .default(0)
            .interact_on_opt(&self.term)
            .map_err(into_io)?;
        Ok(match picked {
            Some(1) => Some(Verdict::Correct),
            Some(2) => Some(Verdict::Partial),
            Some(3) => Some(Verdict::Incorrect),
            _ => None,
        })
    }
}

fn into_io(err: dialoguer::Error) -> io::Error {
    match err {
        dialoguer::Error::IO(err) => err,
    }
}
