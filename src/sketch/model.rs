//! The model of a sketch: its statements as units, grouped into transactions (BEGIN ... COMMIT,
//! a routine body, or a statement on its own), with the schema they declare, the comments around
//! them, the dialect that read more of them and the statements that did not parse.

use std::collections::{BTreeSet, HashMap};

use sqlparser::ast::Statement;

use super::facts::{Facts, facts_of};
use super::lex::{Comment, Kind, Tok, lex, qname, word_at};
use super::limits::{
    MAX_PARSE_PROBLEMS, MAX_PARSED_STATEMENTS, MAX_RECOVERY_BYTES, MAX_RECOVERY_PARSES,
};
use super::lines::Lines;
use super::report::ParseProblem;
use super::schema::{
    Index, Table, Trigger, apply_alter, index_from_ast, index_from_tokens, inline_indexes,
    table_from_ast, table_from_tokens, trigger_from_tokens, unquote,
};
use super::statements::{
    BeginMode, Head, ParseErr, head_of, is_sql_start, parse_both, parser_gap, split,
};
use super::steps::{Step, of_prose, of_statement};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flavor {
    Postgres,
    Mysql,
    Sqlite,
}

impl Flavor {
    pub(super) fn name(self) -> &'static str {
        match self {
            Flavor::Postgres => "postgresql",
            Flavor::Mysql => "mysql",
            Flavor::Sqlite => "sqlite",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Flavor::Postgres => "PostgreSQL",
            Flavor::Mysql => "MySQL",
            Flavor::Sqlite => "SQLite",
        }
    }
}

/// What only MySQL writes, and where: backquoted names, `ENGINE =`, `AUTO_INCREMENT`, or an
/// index declared inside CREATE TABLE. Only statements that define schema or write rows are
/// read, so a backquote in pseudocode says nothing.
fn mysql_signal(lines: &Lines, src: &str, segments: &[Vec<Tok>]) -> Option<String> {
    let at = |t: &Tok| lines.line(t.start);
    for seg in segments {
        if !matches!(word_at(seg, 0), "create" | "alter" | "insert" | "replace") {
            continue;
        }
        for (i, t) in seg.iter().enumerate() {
            if t.kind == Kind::Quoted && src.as_bytes().get(t.start) == Some(&b'`') {
                return Some(format!("the backquoted name at line {}", at(t)));
            }
            if t.is_word("engine") && seg.get(i + 1).is_some_and(|n| n.is_punct("=")) {
                return Some(format!("ENGINE = at line {}", at(t)));
            }
            if t.is_word("auto_increment") {
                return Some(format!("AUTO_INCREMENT at line {}", at(t)));
            }
        }
        if word_at(seg, 0) == "create"
            && let Some(ix) = inline_indexes(seg, "").first()
        {
            return Some(format!(
                "the index declared inside CREATE TABLE at line {}",
                lines.line(ix.start)
            ));
        }
    }
    None
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum GroupKind {
    /// BEGIN ... COMMIT.
    Explicit(BeginMode),
    /// A routine body: one transaction whatever it contains.
    Routine,
    /// A statement on its own (autocommit).
    Single,
}

#[derive(Clone, Debug)]
pub(super) struct Group {
    pub(super) kind: GroupKind,
    pub(super) start: usize,
    pub(super) end: usize,
}

pub(super) struct Unit {
    pub(super) toks: Vec<Tok>,
    pub(super) start: usize,
    pub(super) end: usize,
    /// Boxed: a parse tree is kilobytes and most units are small.
    pub(super) ast: Option<Box<Statement>>,
    pub(super) in_body: bool,
    pub(super) routine: Option<String>,
    pub(super) head: Head,
    pub(super) facts: Facts,
    pub(super) group: usize,
}

impl Unit {
    fn new(toks: Vec<Tok>, ast: Option<Box<Statement>>, in_body: bool) -> Unit {
        let start = toks.first().map_or(0, |t| t.start);
        let end = toks.last().map_or(start, |t| t.end);
        let head = head_of(&toks, ast.is_some());
        let facts = if head.declares() {
            Facts::default()
        } else {
            facts_of(&toks)
        };
        Unit {
            toks,
            start,
            end,
            ast,
            in_body,
            routine: None,
            head,
            facts,
            group: 0,
        }
    }

    /// The statement's tokens joined by spaces, for reading it as words.
    pub(super) fn text(&self) -> String {
        self.toks
            .iter()
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub(super) fn has_params(&self) -> bool {
        self.toks.iter().any(|t| t.kind == Kind::Param)
    }
}

struct Failure {
    start: usize,
    pg: ParseErr,
    lite: ParseErr,
    pseudo: bool,
}

pub(super) struct Model {
    pub(super) lines: Lines,
    pub(super) units: Vec<Unit>,
    pub(super) groups: Vec<Group>,
    pub(super) comments: Vec<Comment>,
    pub(super) tables: Vec<Table>,
    pub(super) indexes: Vec<Index>,
    pub(super) triggers: Vec<Trigger>,
    pub(super) schemas: BTreeSet<String>,
    pub(super) flavor: Flavor,
    /// Why the sketch was read in `flavor`: given, or what in the text chose it.
    pub(super) flavor_reason: String,
    pub(super) problems: Vec<ParseProblem>,
    /// What the statements and the prose do, in the order the text says it happens.
    pub(super) steps: Vec<Step>,
}

#[derive(Default)]
struct Counts {
    pg: usize,
    lite: usize,
    /// Statements are read as MySQL rather than PostgreSQL.
    mysql: bool,
}

fn read_segment(
    src: &str,
    seg: Vec<Tok>,
    out: &mut Vec<Unit>,
    failures: &mut Vec<Failure>,
    counts: &mut Counts,
) {
    let (pg, lite) = parse_both(src, &seg, counts.mysql);
    match (pg, lite) {
        (Ok(st), lite) => {
            counts.pg += 1;
            counts.lite += usize::from(lite.is_ok());
            out.push(Unit::new(seg, Some(Box::new(st)), false));
        }
        (Err(_), Ok(st)) => {
            counts.lite += 1;
            out.push(Unit::new(seg, Some(Box::new(st)), false));
        }
        (Err(pg), Err(lite)) => {
            if !parser_gap(&seg) {
                failures.push(Failure {
                    start: seg.first().map_or(0, |t| t.start),
                    pg,
                    lite,
                    pseudo: !seg.first().is_some_and(is_sql_start),
                });
            }
            recover(src, seg, out, counts);
        }
    }
}

/// Finds SQL statements inside a run that did not parse as a whole (pseudocode lines without
/// semicolons in between): starts at line starts that look like SQL, ends at line starts.
fn recover(src: &str, seg: Vec<Tok>, out: &mut Vec<Unit>, counts: &mut Counts) {
    let n = seg.len();
    let bytes = match (seg.first(), seg.last()) {
        (Some(a), Some(b)) => b.end.saturating_sub(a.start),
        _ => 0,
    };
    if bytes > MAX_RECOVERY_BYTES || parser_gap(&seg) {
        out.push(Unit::new(seg, None, false));
        return;
    }
    let starts: Vec<usize> = seg
        .iter()
        .enumerate()
        .filter(|(_, t)| t.line_start && is_sql_start(t))
        .map(|(i, _)| i)
        .collect();
    let ends: Vec<usize> = seg
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(_, t)| t.line_start)
        .map(|(i, _)| i)
        .chain(std::iter::once(n))
        .collect();
    let mut pieces: Vec<(usize, usize, Option<Box<Statement>>)> = Vec::new();
    let mut pos = 0;
    let mut attempts = 0;
    'starts: for &s in &starts {
        if s < pos {
            continue;
        }
        for &e in ends.iter().rev() {
            if e <= s {
                break;
            }
            if s == 0 && e == n {
                continue;
            }
            if attempts >= MAX_RECOVERY_PARSES {
                break 'starts;
            }
            attempts += 1;
            let part = seg.get(s..e).unwrap_or(&[]);
            let st = match parse_both(src, part, counts.mysql) {
                (Ok(a), lite) => {
                    counts.pg += 1;
                    counts.lite += usize::from(lite.is_ok());
                    Some(a)
                }
                (Err(_), Ok(b)) => {
                    counts.lite += 1;
                    Some(b)
                }
                _ => None,
            };
            if let Some(st) = st {
                if pos < s {
                    pieces.push((pos, s, None));
                }
                pieces.push((s, e, Some(Box::new(st))));
                pos = e;
                break;
            }
        }
    }
    if pos < n {
        pieces.push((pos, n, None));
    }
    let mut it = seg.into_iter();
    for (a, b, st) in pieces {
        let toks: Vec<Tok> = it.by_ref().take(b - a).collect();
        out.push(Unit::new(toks, st, false));
    }
}

/// The body of `CREATE FUNCTION ... AS $$ ... $$` or `DO $$ ... $$`: the routine's name and
/// where the body lies in the source.
fn routine_body(u: &Unit) -> Option<(String, (usize, usize))> {
    let name = if u.head == Head::CreateRoutine {
        let k = u
            .toks
            .iter()
            .position(|t| t.is_word("function") || t.is_word("procedure"))?;
        qname(&u.toks, k + 1).map(|(n, _)| n)?
    } else {
        "do".to_string()
    };
    let from = if u.head == Head::Do {
        0
    } else {
        u.toks.iter().position(|t| t.is_word("as"))?
    };
    let body = u.toks.iter().skip(from).find(|t| t.kind == Kind::Str)?;
    Some((name, body.inner))
}

impl Model {
    /// The model of `src`, read in `given` when the learner names a dialect, else in the one
    /// the text shows.
    pub(super) fn build(src: &str, given: Option<Flavor>) -> Model {
        let lines = Lines::new(src);
        let (toks, mut comments) = lex(src, 0, src.len());
        let mut top = Vec::new();
        let mut failures = Vec::new();
        let segments = split(toks);
        let mysql = match given {
            Some(Flavor::Mysql) => Some(String::new()),
            Some(_) => None,
            None => mysql_signal(&lines, src, &segments),
        };
        let mut counts = Counts {
            mysql: mysql.is_some(),
            ..Counts::default()
        };
        let mut unread: Option<usize> = None;
        for (n, seg) in segments.into_iter().enumerate() {
            if n < MAX_PARSED_STATEMENTS {
                read_segment(src, seg, &mut top, &mut failures, &mut counts);
            } else {
                unread.get_or_insert(seg.first().map_or(0, |t| t.start));
                top.push(Unit::new(seg, None, false));
            }
        }
        let unread_problem = unread.map(|at| {
            let (line, column) = lines.pos(src, at);
            ParseProblem {
                line,
                column,
                message: format!(
                    "the sketch has more than {MAX_PARSED_STATEMENTS} statements; from here on \
                     they were read token by token, without the parser"
                ),
            }
        });
        let mut flavor = if counts.mysql {
            Flavor::Mysql
        } else if counts.lite > counts.pg {
            Flavor::Sqlite
        } else {
            Flavor::Postgres
        };
        let flavor_reason = match (given, &mysql) {
            (Some(f), _) => {
                flavor = f;
                "given with --dialect".to_string()
            }
            (None, Some(why)) => format!("detected from {why}"),
            (None, None) if flavor == Flavor::Sqlite => {
                "detected: SQLite read more of its statements than PostgreSQL".to_string()
            }
            (None, None) => "detected: PostgreSQL reads its statements".to_string(),
        };
        let mut problems: Vec<ParseProblem> = failures
            .iter()
            .take(MAX_PARSE_PROBLEMS)
            .map(|f| problem(src, &lines, f, flavor))
            .collect();
        problems.extend(unread_problem);
        if failures.len() > MAX_PARSE_PROBLEMS
            && let Some(last) = failures.get(MAX_PARSE_PROBLEMS)
        {
            let (line, column) = lines.pos(src, last.start);
            problems.push(ParseProblem {
                line,
                column,
                message: format!(
                    "{} more statements from here on do not parse; fix the ones above first",
                    failures.len() - MAX_PARSE_PROBLEMS
                ),
            });
        }

        // Routine bodies become units of their own, each body one group; the rest are grouped
        // by BEGIN ... COMMIT.
        let mut units = Vec::new();
        let mut groups: Vec<Group> = Vec::new();
        let mut open: Option<usize> = None;
        for mut u in top {
            let body = if matches!(u.head, Head::CreateRoutine | Head::Do) {
                routine_body(&u)
            } else {
                None
            };
            u.group = match u.head {
                Head::Begin(mode) => match open {
                    Some(g) => g,
                    None => {
                        groups.push(Group {
                            kind: GroupKind::Explicit(mode),
                            start: u.start,
                            end: src.len(),
                        });
                        let g = groups.len() - 1;
                        open = Some(g);
                        g
                    }
                },
                Head::Commit | Head::Rollback if open.is_some() => {
                    let g = open.take().unwrap_or_default();
                    if let Some(grp) = groups.get_mut(g) {
                        grp.end = u.end;
                    }
                    g
                }
                _ => match open {
                    Some(g) => g,
                    None => {
                        groups.push(Group {
                            kind: GroupKind::Single,
                            start: u.start,
                            end: u.end,
                        });
                        groups.len() - 1
                    }
                },
            };
            units.push(u);
            if let Some((name, (a, b))) = body {
                let (btoks, bcomments) = lex(src, a, b);
                comments.extend(bcomments);
                groups.push(Group {
                    kind: GroupKind::Routine,
                    start: a,
                    end: b,
                });
                let g = groups.len() - 1;
                for seg in split(btoks) {
                    let mut bu = Unit::new(seg, None, true);
                    bu.routine = Some(name.clone());
                    bu.group = g;
                    units.push(bu);
                }
            }
        }
        comments.sort_by_key(|c| c.start);
        let steps = steps_of(src, &units, &comments);

        let mut tables: Vec<Table> = Vec::new();
        let mut table_at: HashMap<String, usize> = HashMap::new();
        let mut indexes = Vec::new();
        let mut triggers = Vec::new();
        let mut schemas = BTreeSet::from(["public".to_string()]);
        for u in units.iter().filter(|u| !u.in_body) {
            match u.head {
                Head::CreateTable => {
                    let t = match u.ast.as_deref() {
                        Some(Statement::CreateTable(ct)) => {
                            schemas.extend(
                                ct.name
                                    .0
                                    .iter()
                                    .rev()
                                    .skip(1)
                                    .map(|p| unquote(&p.to_string())),
                            );
                            Some(table_from_ast(ct, u.start))
                        }
                        _ => table_from_tokens(&u.toks),
                    };
                    if let Some(t) = t {
                        indexes.extend(inline_indexes(&u.toks, &t.name));
                        table_at.insert(t.name.clone(), tables.len());
                        tables.push(t);
                    }
                }
                Head::CreateIndex => {
                    let i = match u.ast.as_deref() {
                        Some(Statement::CreateIndex(ci)) => Some(index_from_ast(ci, u.start)),
                        _ => index_from_tokens(&u.toks),
                    };
                    indexes.extend(i);
                }
                Head::AlterTable => apply_alter(&u.toks, &mut tables, &table_at),
                Head::CreateTrigger => triggers.extend(trigger_from_tokens(&u.toks)),
                Head::CreateOther if word_at(&u.toks, 1) == "schema" => {
                    let mut k = 2;
                    while matches!(word_at(&u.toks, k), "if" | "not" | "exists") {
                        k += 1;
                    }
                    if let Some((n, _)) = qname(&u.toks, k) {
                        schemas.insert(n);
                    }
                }
                _ => {}
            }
        }
        Model {
            lines,
            units,
            groups,
            comments,
            tables,
            indexes,
            triggers,
            schemas,
            flavor,
            flavor_reason,
            problems,
            steps,
        }
    }

    pub(super) fn line(&self, off: usize) -> usize {
        self.lines.line(off)
    }

    pub(super) fn group(&self, u: &Unit) -> Option<&Group> {
        self.groups.get(u.group)
    }
}

/// Every step of the sketch in order: statements read from their facts, pseudocode and comments
/// read as prose. Definitions (tables, indexes, routines as a whole) do nothing by themselves.
fn steps_of(src: &str, units: &[Unit], comments: &[Comment]) -> Vec<Step> {
    let mut steps = Vec::new();
    for (i, u) in units.iter().enumerate() {
        match u.head {
            Head::Pseudo if u.ast.is_none() => {
                steps.extend(of_prose(src, u.start, u.end, true, Some(i)));
            }
            head if head.declares() => {}
            _ => steps.extend(of_statement(&u.facts, u.start, i)),
        }
    }
    for c in comments {
        steps.extend(of_prose(src, c.start, c.start + c.text.len(), false, None));
    }
    steps.sort_by_key(|s| s.key);
    steps
}

fn problem(src: &str, lines: &Lines, f: &Failure, flavor: Flavor) -> ParseProblem {
    let err = match flavor {
        Flavor::Postgres | Flavor::Mysql => &f.pg,
        Flavor::Sqlite => &f.lite,
    };
    let (base_line, base_col) = lines.pos(src, f.start);
    let (line, column) = match err.at {
        Some((1, c)) => (base_line, base_col + c.saturating_sub(1)),
        Some((l, c)) if l > 1 => (base_line + l - 1, c.max(1)),
        _ => (base_line, base_col),
    };
    let message = if f.pseudo {
        format!(
            "not SQL, read as pseudocode ({}); the statements around it were still checked",
            err.message
        )
    } else {
        format!(
            "{} does not read this statement: {}",
            flavor.title(),
            err.message
        )
    };
    ParseProblem {
        line,
        column,
        message,
    }
}

#[cfg(test)]
mod tests;
