//! Terminal presentation: colour that respects NO_COLOR and pipes, tables, progress bars, and
//! charts (SVG files and their terminal versions).
//! Nothing here decides anything; it only shows what the core computed.

pub mod checked;
pub mod plot;
pub mod practice;
pub mod prompt;
pub mod sequence;

use std::io::IsTerminal;
use std::time::Duration;

use anstyle::{AnsiColor, Style};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Attribute, Cell, CellAlignment, Color, ContentArrangement, Table};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::ColorChoice;
use crate::sim::progress::Progress;

/// Whether to colour, decided once from `--color`, `NO_COLOR` and where stdout goes.
#[derive(Clone, Copy, Debug)]
pub struct Paint {
    enabled: bool,
}

impl Paint {
    pub fn new(choice: ColorChoice) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let enabled = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                !no_color
                    && std::io::stdout().is_terminal()
                    && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
            }
        };
        Paint { enabled }
    }

    /// The same decision for stderr, where interactive prompts go.
    pub fn for_stderr(choice: ColorChoice) -> Self {
        let mut paint = Paint::new(choice);
        if choice == ColorChoice::Auto {
            paint.enabled = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
                && std::env::var_os("TERM").is_none_or(|t| t != "dumb");
        }
        paint
    }

    pub fn enabled(self) -> bool {
        self.enabled
    }

    fn style(self, style: Style, text: &str) -> String {
        if self.enabled {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }

    pub fn good(self, text: &str) -> String {
        self.style(AnsiColor::Green.on_default().bold(), text)
    }

    pub fn bad(self, text: &str) -> String {
        self.style(AnsiColor::Red.on_default().bold(), text)
    }

    pub fn bold(self, text: &str) -> String {
        self.style(Style::new().bold(), text)
    }

    pub fn dim(self, text: &str) -> String {
        self.style(Style::new().dimmed(), text)
    }

    /// A table in the house style, coloured only when colour is on.
    pub fn table(self, header: &[&str]) -> Table {
        let mut table = Table::new();
        table
            .load_style(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(header.iter().map(Cell::new));
        if self.enabled {
            table.enforce_styling();
        } else {
            // No terminal to measure: wrap long cells at a width that reads well anywhere.
            table.force_no_tty().set_width(100);
        }
        table
    }

    /// A table cell in green and bold. Cells are coloured through the table's own styling, never
    /// with colour codes inside the text, so that colour never changes a column's width.
    pub fn good_cell(self, text: impl ToString) -> Cell {
        self.cell_in(
            Cell::new(text)
                .fg(Color::Green)
                .add_attribute(Attribute::Bold),
        )
    }

    /// A table cell in red and bold, coloured the way `good_cell` is.
    pub fn bad_cell(self, text: impl ToString) -> Cell {
        self.cell_in(
            Cell::new(text)
                .fg(Color::Red)
                .add_attribute(Attribute::Bold),
        )
    }

    /// A dimmed table cell, styled the way `good_cell` is.
    pub fn dim_cell(self, text: impl ToString) -> Cell {
        self.cell_in(Cell::new(text).add_attribute(Attribute::Dim))
    }

    /// A bold table cell, styled the way `good_cell` is.
    pub fn bold_cell(self, text: impl ToString) -> Cell {
        self.cell_in(Cell::new(text).add_attribute(Attribute::Bold))
    }

    /// The styled cell when colour is on, and the same text unstyled when it is off.
    fn cell_in(self, styled: Cell) -> Cell {
        if self.enabled {
            styled
        } else {
            Cell::new(styled.content())
        }
    }

    /// A right-aligned numeric cell, green when it is what you want and red when it is not.
    pub fn number(self, value: u64, verdict: Verdict) -> Cell {
        let cell = Cell::new(value).set_alignment(CellAlignment::Right);
        if !self.enabled {
            return cell;
        }
        match verdict {
            Verdict::Good => cell.fg(Color::Green),
            Verdict::Bad => cell.fg(Color::Red),
            Verdict::Plain => cell,
        }
    }
}

/// How a figure should read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Good,
    Bad,
    Plain,
}

/// Progress on stderr, when the caller wants it: a bar in a terminal, and elsewhere (a pipe, a
/// CI log) a one-line status per phase once the command has run for a second, so a long run is
/// never silent and a quick one stays quiet.
pub struct Bar(Shown);

enum Shown {
    Off,
    Drawn(ProgressBar),
    Lines(std::sync::Arc<Status>),
}

/// The plain-text status of a run without a terminal.
struct Status {
    started: std::time::Instant,
    /// The phase now, and whether its line is out.
    phase: std::sync::Mutex<(String, bool)>,
    done: std::sync::atomic::AtomicBool,
}

/// How long a command runs before its status lines start.
const QUIET_FOR: Duration = Duration::from_secs(1);

impl Status {
    fn set(&self, phase: String) {
        let mut now = self
            .phase
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if now.0 == phase {
            return;
        }
        *now = (phase, false);
        if self.started.elapsed() >= QUIET_FOR {
            Self::say(&mut now);
        }
    }

    fn say(phase: &mut (String, bool)) {
        if !phase.1 && !phase.0.is_empty() {
            eprintln!("msgwork: {}", phase.0);
            phase.1 = true;
        }
    }
}

impl Bar {
    pub fn new(total: u64, unit: &str, wanted: bool) -> Self {
        if !wanted {
            return Bar(Shown::Off);
        }
        if !std::io::stderr().is_terminal() {
            let status = std::sync::Arc::new(Status {
                started: std::time::Instant::now(),
                phase: std::sync::Mutex::new((String::new(), false)),
                done: std::sync::atomic::AtomicBool::new(false),
            });
            // A first phase that outlasts the quiet second is said when the second is up.
            let late = std::sync::Arc::clone(&status);
            std::thread::spawn(move || {
                std::thread::sleep(QUIET_FOR);
                if !late.done.load(std::sync::atomic::Ordering::SeqCst) {
                    let mut phase = late
                        .phase
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    Status::say(&mut phase);
                }
            });
            return Bar(Shown::Lines(status));
        }
        let bar =
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(12));
        let template =
            format!("{{spinner}} {{msg}} [{{bar:32}}] {{pos}}/{{len}} {unit} ({{elapsed}})");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        Bar(Shown::Drawn(bar))
    }

    pub fn message(&self, message: &'static str) {
        match &self.0 {
            Shown::Drawn(bar) => bar.set_message(message),
            Shown::Lines(status) => status.set(message.to_string()),
            Shown::Off => {}
        }
    }

    pub fn message_owned(&self, message: String) {
        match &self.0 {
            Shown::Drawn(bar) => {
                bar.set_message(message);
                bar.inc(1);
            }
            Shown::Lines(status) => status.set(message),
            Shown::Off => {}
        }
    }

    pub fn finish(&self) {
        match &self.0 {
            Shown::Drawn(bar) => bar.finish_and_clear(),
            Shown::Lines(status) => status.done.store(true, std::sync::atomic::Ordering::SeqCst),
            Shown::Off => {}
        }
    }
}

impl Progress for Bar {
    fn advance(&self, n: u64) {
        if let Shown::Drawn(bar) = &self.0 {
            bar.inc(n);
        }
    }
}

/// A sentence saying the machine was busy while figures were measured, when it was.
pub fn busy_note(machine: &crate::sim::lab::cleanup::Machine) -> Option<String> {
    machine.busy_load().map(|load| {
        format!(
            "The machine was busy (load {load:.1} on {}): other work shares the cores these figures were taken on.",
            plural(machine.cores as u64, "core", "cores")
        )
    })
}

/// Where `--keep-db` left a run's SQLite databases, and one query to try on one of them:
/// `(database file name, SQL, what it shows)`.
pub fn kept_databases(dir: &std::path::Path, query: (&str, &str, &str)) -> String {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".db"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut out = format!(
        "Databases kept in {}: {}.\n",
        dir.display(),
        if names.is_empty() {
            "none were written".to_string()
        } else {
            names.join(", ")
        }
    );
    let (file, sql, shows) = query;
    if names.iter().any(|n| n == file) {
        let path = dir.join(file);
        out.push_str(&format!(
            "Try, to see {shows}:\n  sqlite3 {} \"{sql}\"\n",
            shell_word(&path.display().to_string())
        ));
    }
    out
}

/// The `--keep-db` note for a lab's human output: where the databases went and one query to
/// try. Under `--json` it goes to stderr instead, so stdout stays one JSON object, and nothing is
/// left to append.
pub fn kept_note(dir: Option<&std::path::Path>, json: bool, query: (&str, &str, &str)) -> String {
    let Some(dir) = dir else {
        return String::new();
    };
    let note = kept_databases(dir, query);
    if json {
        eprint!("{note}");
        return String::new();
    }
    note
}

/// `text` as one word a POSIX shell reads back as it is: bare when that is safe, single-quoted
/// when it holds anything a shell would split or expand.
pub fn shell_word(text: &str) -> String {
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%,=".contains(c));
    if plain && !text.is_empty() {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// `text` as it reads on screen: without its ANSI escape sequences.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        }
    }
    out
}

/// `1 event`, `2 events`: a count with its noun, for sentences built from a run's figures.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `a`, `a and b`, `a, b and c`.
pub fn and_list(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Wraps `text` at word boundaries to `width` columns, each line starting with `indent`. Widths
/// are display widths, so colour codes and wide characters are measured as they show. A word
/// longer than a line gets a line of its own, whole.
pub fn wrap(text: &str, width: usize, indent: &str) -> String {
    let count = console::measure_text_width;
    let mut out = String::new();
    let mut line = String::from(indent);
    for word in text.split_whitespace() {
        if count(&line) > count(indent) && count(&line) + 1 + count(word) > width {
            out.push_str(&line);
            out.push('\n');
            line = String::from(indent);
        }
        if count(&line) > count(indent) {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out
}

/// Wraps each line of `text` on its own (a line break in the text is kept), with `indent`.
pub fn wrap_lines(text: &str, width: usize, indent: &str) -> String {
    text.lines()
        .map(|line| wrap(line, width, indent))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The width to wrap prose to on this terminal: its columns, at most 100 for reading, and
/// never less than 20. `None` when it is not a terminal, so piped text is left unwrapped.
pub fn text_width(term: &console::Term) -> Option<usize> {
    term.size_checked()
        .map(|(_, columns)| usize::from(columns).clamp(20, 100))
}

#[cfg(test)]
mod wrap_tests {
    use super::*;

    #[test]
    fn coloured_cells_take_the_width_of_their_text() {
        let paint = Paint::new(ColorChoice::Always);
        let mut table = paint.table(&["mark", "what"]);
        table.add_row(vec![paint.good_cell("met"), Cell::new("a")]);
        table.add_row(vec![paint.bad_cell("missed"), Cell::new("b")]);
        table.add_row(vec![paint.dim_cell("optional"), paint.bold_cell("c")]);
        table.add_row(vec![Cell::new("plain"), Cell::new("d")]);
        let text = table.to_string();
        assert!(text.contains('\x1b'), "colour was not on: {text}");
        let plain = strip_ansi(&text);
        let widths: Vec<usize> = plain.lines().map(|l| l.chars().count()).collect();
        assert!(widths.iter().all(|w| *w == widths[0]), "{plain}");
    }

    #[test]
    fn cells_carry_no_style_with_colour_off() {
        let paint = Paint::new(ColorChoice::Never);
        let mut table = paint.table(&["mark"]);
        table.add_row(vec![paint.bad_cell("missed")]);
        assert!(!table.to_string().contains('\x1b'));
    }

    #[test]
    fn wrapping_keeps_words_whole() {
        let text = wrap("aaa bbb ccc ddd", 9, "  ");
        assert_eq!(text, "  aaa bbb\n  ccc ddd");
    }

    #[test]
    fn wrapped_lines_fit_and_lose_no_word_at_every_width() {
        let text = "channel: queue is wrong, expected topic. A single queue gives each message \
                    to one consumer only, so billing, inventory, email and analytics would race \
                    for each order.\nreason: incorrect. Missing: the event carries the order.";
        for width in 20..=100 {
            let wrapped = wrap_lines(text, width, "    ");
            for line in wrapped.lines() {
                assert!(
                    console::measure_text_width(line) <= width,
                    "{width}: {line:?}"
                );
            }
            let words = |t: &str| t.split_whitespace().map(str::to_string).collect::<Vec<_>>();
            assert_eq!(words(&wrapped), words(text), "at {width}");
            assert_eq!(wrapped.lines().filter(|l| l.contains("reason:")).count(), 1);
        }
    }

    #[test]
    fn colour_codes_do_not_count_towards_the_width() {
        let red = "\u{1b}[31mred\u{1b}[0m";
        let text = format!("{red} {red} {red}");
        assert_eq!(wrap(&text, 7, "").lines().count(), 2);
    }
}
