//! Statements: the token stream split on semicolons, each run handed to sqlparser (PostgreSQL
//! and SQLite), and each named by its head (BEGIN, CREATE TABLE, INSERT, pseudocode ...).

use sqlparser::ast::Statement;
use sqlparser::dialect::{MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::{Parser, ParserError};

use super::lex::{Kind, Tok};

/// Splits tokens into statements on `;`, keeping trigger bodies and `BEGIN ATOMIC ... END`
/// together.
pub(super) fn split(toks: Vec<Tok>) -> Vec<Vec<Tok>> {
    let mut out = Vec::new();
    let mut cur: Vec<Tok> = Vec::new();
    let mut block = 0usize;
    let mut iter = toks.into_iter().peekable();
    while let Some(t) = iter.next() {
        if t.is_punct(";") {
            if block > 0
                && iter.peek().is_some_and(|n| {
                    n.line_start
                        && ["create", "alter", "drop", "begin", "commit", "pragma"]
                            .iter()
                            .any(|w| n.is_word(w))
                })
            {
                // A block that was never closed: do not let it swallow the rest.
                block = 0;
            }
            if block == 0 {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                continue;
            }
        }
        if t.kind == Kind::Word {
            let creating = cur.first().is_some_and(|f| f.is_word("create"));
            match t.text.as_str() {
                "begin"
                    if creating
                        && (cur.iter().any(|x| x.is_word("trigger"))
                            || iter.peek().is_some_and(|n| n.is_word("atomic"))) =>
                {
                    block += 1;
                }
                "case" if block > 0 => block += 1,
                "end" if block > 0 => block -= 1,
                _ => {}
            }
        }
        cur.push(t);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

const SQL_STARTS: &[&str] = &[
    "select",
    "insert",
    "update",
    "delete",
    "begin",
    "commit",
    "end",
    "rollback",
    "create",
    "alter",
    "with",
    "drop",
    "start",
    "attach",
    "detach",
    "pragma",
    "replace",
    "values",
    "do",
    "notify",
    "vacuum",
    "grant",
    "lock",
    "truncate",
    "call",
    "explain",
    "comment",
    "abort",
    "savepoint",
    "release",
    "set",
];

pub(super) fn is_sql_start(t: &Tok) -> bool {
    t.kind == Kind::Word && SQL_STARTS.contains(&t.text.as_str())
}

/// Valid statements that sqlparser does not read; they are judged by tokens without a problem.
pub(super) fn parser_gap(toks: &[Tok]) -> bool {
    let w = |i: usize| toks.get(i).map_or("", |t| t.text.as_str());
    matches!(w(0), "pragma" | "do" | "copy" | "listen" | "unlisten")
        || (matches!(w(0), "create" | "alter") && matches!(w(1), "publication" | "subscription"))
        || toks.windows(2).any(|p| {
            p.first().is_some_and(|a| a.is_word("begin"))
                && p.get(1).is_some_and(|b| b.is_word("atomic"))
        })
}

#[derive(Clone, Debug)]
pub(super) struct ParseErr {
    pub(super) message: String,
    pub(super) at: Option<(usize, usize)>,
}

fn parse_err(e: &ParserError) -> ParseErr {
    let raw = match e {
        ParserError::ParserError(s) | ParserError::TokenizerError(s) => s.clone(),
        ParserError::RecursionLimitExceeded => "nested too deeply to read".to_string(),
    };
    if let Some(k) = raw.rfind(" at Line: ") {
        let tail = raw.get(k + 10..).unwrap_or("");
        let mut parts = tail.split(", Column: ");
        let line = parts.next().and_then(|s| s.trim().parse::<usize>().ok());
        let column = parts.next().and_then(|s| s.trim().parse::<usize>().ok());
        if let (Some(line), Some(column)) = (line, column) {
            return ParseErr {
                message: raw.get(..k).unwrap_or("").to_string(),
                at: Some((line, column)),
            };
        }
    }
    ParseErr {
        message: raw,
        at: None,
    }
}

/// The source text of a token run, with `FOR NO KEY UPDATE` / `FOR KEY SHARE` blanked to the
/// forms sqlparser reads (offsets are kept, so error positions still match the source).
fn parse_text(src: &str, toks: &[Tok]) -> String {
    let (Some(first), Some(last)) = (toks.first(), toks.last()) else {
        return String::new();
    };
    let base = first.start;
    let mut text = src.get(base..last.end).unwrap_or("").to_string();
    let mut blanks = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if !t.is_word("for") {
            continue;
        }
        let a = toks.get(i + 1);
        let b = toks.get(i + 2);
        if a.is_some_and(|x| x.is_word("no")) && b.is_some_and(|x| x.is_word("key")) {
            blanks.extend([a, b].into_iter().flatten().map(|x| (x.start, x.end)));
        } else if a.is_some_and(|x| x.is_word("key")) && b.is_some_and(|x| x.is_word("share")) {
            blanks.extend(a.map(|x| (x.start, x.end)));
        }
    }
    for (s, e) in blanks {
        let (s, e) = (s.saturating_sub(base), e.saturating_sub(base));
        if text.is_char_boundary(s) && text.is_char_boundary(e) && s <= e && e <= text.len() {
            text.replace_range(s..e, &" ".repeat(e - s));
        }
    }
    text
}

type ParseOutcome = Result<Statement, ParseErr>;

/// Which parser reads a statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Parse {
    Postgres,
    Mysql,
    Sqlite,
}

fn parse_one(text: &str, with: Parse) -> ParseOutcome {
    let parsed = match with {
        Parse::Sqlite => Parser::parse_sql(&SQLiteDialect {}, text),
        Parse::Mysql => Parser::parse_sql(&MySqlDialect {}, text),
        Parse::Postgres => Parser::parse_sql(&PostgreSqlDialect {}, text),
    };
    match parsed {
        Ok(v) => v.into_iter().next().ok_or(ParseErr {
            message: "empty statement".to_string(),
            at: None,
        }),
        Err(e) => Err(parse_err(&e)),
    }
}

/// The statement read by the server dialect (MySQL when `mysql`, else PostgreSQL) and by SQLite.
pub(super) fn parse_both(src: &str, toks: &[Tok], mysql: bool) -> (ParseOutcome, ParseOutcome) {
    let text = parse_text(src, toks);
    let server = if mysql { Parse::Mysql } else { Parse::Postgres };
    (parse_one(&text, server), parse_one(&text, Parse::Sqlite))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BeginMode {
    Deferred,
    Immediate,
    Exclusive,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Head {
    Begin(BeginMode),
    Commit,
    Rollback,
    CreateTable,
    CreateIndex,
    CreateTrigger,
    CreateRoutine,
    CreateOther,
    Do,
    AlterTable,
    Insert,
    Update,
    Delete,
    Select,
    With,
    Attach,
    Detach,
    Pragma,
    Vacuum,
    Other,
    /// Not SQL at all: pseudocode or prose.
    Pseudo,
}

impl Head {
    /// Whether the statement declares schema (a table, an index, a trigger, a routine, a `DO`
    /// block) rather than doing something to rows: it has no effects of its own to read.
    pub(super) fn declares(self) -> bool {
        matches!(
            self,
            Head::CreateTable
                | Head::CreateIndex
                | Head::CreateTrigger
                | Head::CreateRoutine
                | Head::CreateOther
                | Head::AlterTable
                | Head::Do
        )
    }
}

pub(super) fn head_of(toks: &[Tok], parsed: bool) -> Head {
    let words: Vec<&str> = toks
        .iter()
        .map(|t| {
            if t.kind == Kind::Word {
                t.text.as_str()
            } else {
                ""
            }
        })
        .collect();
    let w = |i: usize| words.get(i).copied().unwrap_or("");
    let rest_in = |from: usize, allowed: &[&str]| {
        toks.len() <= 10
            && toks
                .iter()
                .skip(from)
                .all(|t| t.kind == Kind::Word && allowed.contains(&t.text.as_str()))
    };
    const TXN_WORDS: &[&str] = &[
        "transaction",
        "work",
        "deferred",
        "immediate",
        "exclusive",
        "isolation",
        "level",
        "read",
        "write",
        "only",
        "committed",
        "uncommitted",
        "repeatable",
        "serializable",
        "not",
        "deferrable",
    ];
    match w(0) {
        "begin" if rest_in(1, TXN_WORDS) => {
            let mode = if words.contains(&"immediate") {
                BeginMode::Immediate
            } else if words.contains(&"exclusive") {
                BeginMode::Exclusive
            } else {
                BeginMode::Deferred
            };
            Head::Begin(mode)
        }
        "start" if w(1) == "transaction" => Head::Begin(BeginMode::Deferred),
        "commit" | "end" if rest_in(1, &["transaction", "work", "and", "no", "chain"]) => {
            Head::Commit
        }
        "rollback" | "abort" if !words.contains(&"to") => Head::Rollback,
        "create" => {
            let mut j = 1;
            while matches!(
                w(j),
                "or" | "replace"
                    | "temp"
                    | "temporary"
                    | "unlogged"
                    | "global"
                    | "local"
                    | "unique"
                    | "constraint"
                    | "materialized"
                    | "recursive"
            ) {
                j += 1;
            }
            match w(j) {
                "table" => Head::CreateTable,
                "index" => Head::CreateIndex,
                "trigger" => Head::CreateTrigger,
                "function" | "procedure" => Head::CreateRoutine,
                _ => Head::CreateOther,
            }
        }
        "do" => Head::Do,
        "alter" if w(1) == "table" => Head::AlterTable,
        "insert" => Head::Insert,
        "replace" if w(1) == "into" => Head::Insert,
        "update" => Head::Update,
        "delete" => Head::Delete,
        "select" | "values" => Head::Select,
        "with" => Head::With,
        "attach" => Head::Attach,
        "detach" => Head::Detach,
        "pragma" => Head::Pragma,
        "vacuum" => Head::Vacuum,
        _ if parsed || toks.first().is_some_and(is_sql_start) => Head::Other,
        _ => Head::Pseudo,
    }
}
