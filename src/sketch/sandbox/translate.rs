//! Statements rebuilt for SQLite from the checker's own tokens: comments dropped, literals
//! re-quoted, PostgreSQL types and functions mapped, PostgreSQL-only clauses left out.

use std::collections::BTreeSet;

use crate::sketch::lex::{Kind, Tok, qname, word_at};
use crate::sketch::model::Unit;
use crate::sketch::schema::{inline_index, paren_elements, paren_names};
use crate::sketch::statements::{BeginMode, Head};

fn quote_str(s: &str) -> String {
    format!("'{}'", s.replace('\0', "").replace('\'', "''"))
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('\0', "").replace('"', "\"\""))
}

/// Index after a type name starting at `j` (after a `::` cast).
fn skip_type(toks: &[Tok], j: usize) -> usize {
    let Some((first, mut k)) = qname(toks, j) else {
        return j;
    };
    match first.as_str() {
        "double" if word_at(toks, k) == "precision" => k += 1,
        "character" if word_at(toks, k) == "varying" => k += 1,
        _ => {}
    }
    if matches!(word_at(toks, k), "with" | "without")
        && word_at(toks, k + 1) == "time"
        && word_at(toks, k + 2) == "zone"
    {
        k += 3;
    }
    if toks.get(k).is_some_and(|t| t.is_punct("(")) {
        let (_, close) = paren_elements(toks, k);
        k = close + 1;
    }
    while toks.get(k).is_some_and(|t| t.is_punct("["))
        && toks.get(k + 1).is_some_and(|t| t.is_punct("]"))
    {
        k += 2;
    }
    k
}

fn empty_call(toks: &[Tok], i: usize) -> bool {
    toks.get(i + 1).is_some_and(|t| t.is_punct("("))
        && toks.get(i + 2).is_some_and(|t| t.is_punct(")"))
}

/// `- interval '7 days'`, `+ '30 seconds'::interval` or `+ ('30 seconds')::interval` after a
/// time expression: the SQLite modifier and the index after it.
fn interval_after(toks: &[Tok], j: usize) -> Option<(String, usize)> {
    let sign = toks.get(j).filter(|t| t.is_punct("-") || t.is_punct("+"))?;
    let is_str = |k: usize| toks.get(k).filter(|t| t.kind == Kind::Str);
    let cast = |k: usize| {
        toks.get(k).is_some_and(|t| t.is_punct("::")) && word_at(toks, k + 1) == "interval"
    };
    let (s, next) = if word_at(toks, j + 1) == "interval" {
        (is_str(j + 2)?, j + 3)
    } else if let Some(s) = is_str(j + 1).filter(|_| cast(j + 2)) {
        (s, j + 4)
    } else if toks.get(j + 1).is_some_and(|t| t.is_punct("("))
        && toks.get(j + 3).is_some_and(|t| t.is_punct(")"))
        && cast(j + 4)
    {
        (is_str(j + 2)?, j + 6)
    } else {
        return None;
    };
    Some((format!("{}{}", sign.text, s.text.trim()), next))
}

/// Tokens to leave out of a CREATE TABLE or CREATE INDEX for SQLite.
fn drop_mask(u: &Unit) -> Vec<bool> {
    let toks = &u.toks;
    let mut drop = vec![false; toks.len()];
    let mark = |range: std::ops::Range<usize>, drop: &mut Vec<bool>| {
        for k in range {
            if let Some(d) = drop.get_mut(k) {
                *d = true;
            }
        }
    };
    match u.head {
        Head::CreateTable => {
            let Some(open) = toks.iter().position(|t| t.is_punct("(")) else {
                return drop;
            };
            if toks.iter().take(open).any(|t| t.is_word("as")) {
                return drop;
            }
            let (elems, close) = paren_elements(toks, open);
            let mut at = open + 1;
            for e in elems {
                let len = e.len();
                let skip = if word_at(e, 0) == "constraint" { 2 } else { 0 };
                if matches!(word_at(e, skip), "exclude" | "like") || inline_index(e).is_some() {
                    // Drop the element and the comma before it (or after it, if it is first).
                    let from = if at > open + 1 { at - 1 } else { at };
                    let to = if at > open + 1 {
                        at + len
                    } else {
                        at + len + 1
                    };
                    mark(from..to, &mut drop);
                }
                at += len + 1;
            }
            // After the column list only SQLite's own options may stay.
            for (k, t) in toks.iter().enumerate().skip(close + 1) {
                let keep = t.is_word("strict")
                    || t.is_word("without")
                    || t.is_word("rowid")
                    || t.is_punct(",");
                if !keep {
                    mark(k..k + 1, &mut drop);
                }
            }
        }
        Head::CreateIndex => {
            let mut k = 0;
            let mut seen_cols = false;
            while let Some(t) = toks.get(k) {
                if t.is_word("using") && !seen_cols {
                    mark(k..k + 2, &mut drop);
                    k += 2;
                    continue;
                }
                if t.is_punct("(") && !seen_cols {
                    seen_cols = true;
                    let (_, close) = paren_elements(toks, k);
                    for j in k..close {
                        if word_at(toks, j) == "nulls"
                            && matches!(word_at(toks, j + 1), "first" | "last")
                        {
                            mark(j..j + 2, &mut drop);
                        }
                    }
                    k = close + 1;
                    continue;
                }
                if seen_cols
                    && (t.is_word("include") || t.is_word("with"))
                    && toks.get(k + 1).is_some_and(|p| p.is_punct("("))
                {
                    let (_, close) = paren_elements(toks, k + 1);
                    mark(k..close + 1, &mut drop);
                    k = close + 1;
                    continue;
                }
                if seen_cols && t.is_word("tablespace") {
                    mark(k..k + 2, &mut drop);
                }
                k += 1;
            }
        }
        _ => {}
    }
    drop
}

/// `ALTER TABLE t ADD [CONSTRAINT c] UNIQUE|PRIMARY KEY (cols)` as a unique index.
fn alter_to_index(toks: &[Tok]) -> Option<String> {
    let mut j = 2;
    while matches!(word_at(toks, j), "if" | "exists" | "only") {
        j += 1;
    }
    let (table, k) = qname(toks, j)?;
    if word_at(toks, k) != "add" {
        return None;
    }
    let mut c = k + 1;
    let mut name = format!("{table}_key");
    if word_at(toks, c) == "constraint" {
        name = toks.get(c + 1)?.ident()?;
        c += 2;
    }
    let open = match word_at(toks, c) {
        "unique" => c + 1,
        "primary" if word_at(toks, c + 1) == "key" => c + 2,
        _ => return None,
    };
    let cols = paren_names(toks, open);
    if cols.is_empty() {
        return None;
    }
    let cols: Vec<String> = cols.iter().map(|c| quote_ident(c)).collect();
    Some(format!(
        "CREATE UNIQUE INDEX IF NOT EXISTS {} ON {} ({})",
        quote_ident(&name),
        quote_ident(&table),
        cols.join(", ")
    ))
}

/// The statement rewritten for SQLite from its tokens, so SQLite sees exactly the statement
/// that was split out: comments are dropped and every literal is re-quoted.
pub(super) fn to_sqlite(u: &Unit, schemas: &BTreeSet<String>) -> String {
    match u.head {
        Head::Begin(BeginMode::Deferred) => return "BEGIN".to_string(),
        Head::Begin(BeginMode::Immediate) => return "BEGIN IMMEDIATE".to_string(),
        Head::Begin(BeginMode::Exclusive) => return "BEGIN EXCLUSIVE".to_string(),
        Head::Commit => return "COMMIT".to_string(),
        Head::Rollback => return "ROLLBACK".to_string(),
        Head::AlterTable => {
            if let Some(sql) = alter_to_index(&u.toks) {
                return sql;
            }
        }
        _ => {}
    }
    let toks = &u.toks;
    let drop = drop_mask(u);
    let mut pieces: Vec<String> = Vec::new();
    let mut prev_end: Option<usize> = None;
    let mut last_int_type: Option<usize> = None;
    let mut i = 0;
    while let Some(t) = toks.get(i) {
        if drop.get(i).copied().unwrap_or(false) {
            i += 1;
            continue;
        }
        let prev = i.checked_sub(1).map_or("", |k| word_at(toks, k));
        let (text, next): (String, usize) = match t.kind {
            Kind::Punct if t.text == "::" => {
                i = skip_type(toks, i + 1).max(i + 1);
                continue;
            }
            Kind::Punct
                if t.text == "="
                    && word_at(toks, i + 1) == "any"
                    && toks.get(i + 2).is_some_and(|n| n.is_punct("(")) =>
            {
                ("IN".to_string(), i + 2)
            }
            Kind::Punct if t.text == "[" && toks.get(i + 1).is_some_and(|n| n.is_punct("]")) => {
                i += 2;
                continue;
            }
            Kind::Word => {
                let w = t.text.as_str();
                let schema_dot =
                    schemas.contains(w) && toks.get(i + 1).is_some_and(|n| n.is_punct("."));
                match w {
                    _ if schema_dot => {
                        i += 2;
                        continue;
                    }
                    "now" | "clock_timestamp" | "statement_timestamp" | "transaction_timestamp"
                        if empty_call(toks, i) =>
                    {
                        match interval_after(toks, i + 3) {
                            Some((m, next)) => {
                                (format!("(datetime('now', {}))", quote_str(&m)), next)
                            }
                            None => ("(CURRENT_TIMESTAMP)".to_string(), i + 3),
                        }
                    }
                    "current_timestamp" | "localtimestamp" => match interval_after(toks, i + 1) {
                        Some((m, next)) => (format!("(datetime('now', {}))", quote_str(&m)), next),
                        None => ("CURRENT_TIMESTAMP".to_string(), i + 1),
                    },
                    "gen_random_uuid" | "uuid_generate_v4" | "uuidv4" | "uuidv7"
                    | "uuid_generate_v7"
                        if empty_call(toks, i) =>
                    {
                        ("(lower(hex(randomblob(16))))".to_string(), i + 3)
                    }
                    "char_length" | "character_length" => ("length".to_string(), i + 1),
                    "jsonb_build_object" | "json_build_object" => {
                        ("json_object".to_string(), i + 1)
                    }
                    "jsonb_build_array" | "json_build_array" => ("json_array".to_string(), i + 1),
                    "to_jsonb" | "to_json" => ("json_quote".to_string(), i + 1),
                    "jsonb_agg" | "json_agg" => ("json_group_array".to_string(), i + 1),
                    "bigserial" | "serial" | "serial8" | "serial4" | "smallserial" | "serial2" => {
                        ("INTEGER".to_string(), i + 1)
                    }
                    "with" | "without"
                        if word_at(toks, i + 1) == "time" && word_at(toks, i + 2) == "zone" =>
                    {
                        i += 3;
                        continue;
                    }
                    "auto_increment" if u.head == Head::CreateTable => {
                        i += 1;
                        continue;
                    }
                    "unlogged" if word_at(toks, i + 1) == "table" => {
                        i += 1;
                        continue;
                    }
                    "concurrently" if u.head == Head::CreateIndex => {
                        i += 1;
                        continue;
                    }
                    "on" if u.head == Head::CreateIndex
                        && matches!(prev, "index" | "concurrently") =>
                    {
                        // SQLite wants a name where PostgreSQL can make one up.
                        (format!("\"sketch_index_{}\" on", t.start), i + 1)
                    }
                    "only" if matches!(prev, "on" | "table" | "from" | "update") => {
                        i += 1;
                        continue;
                    }
                    "generated"
                        if (word_at(toks, i + 1) == "always"
                            && word_at(toks, i + 2) == "as"
                            && word_at(toks, i + 3) == "identity")
                            || (word_at(toks, i + 1) == "by"
                                && word_at(toks, i + 2) == "default"
                                && word_at(toks, i + 3) == "as"
                                && word_at(toks, i + 4) == "identity") =>
                    {
                        let mut k = i + 1;
                        while word_at(toks, k) != "identity" && k < toks.len() {
                            k += 1;
                        }
                        k += 1;
                        if toks.get(k).is_some_and(|p| p.is_punct("(")) {
                            k = paren_elements(toks, k).1 + 1;
                        }
                        if let Some(p) = last_int_type.and_then(|p| pieces.get_mut(p)) {
                            *p = if p.starts_with(' ') {
                                " INTEGER".to_string()
                            } else {
                                "INTEGER".to_string()
                            };
                        }
                        i = k;
                        continue;
                    }
                    _ => (t.text.clone(), i + 1),
                }
            }
            Kind::Quoted => {
                if schemas.contains(&t.text.to_lowercase())
                    && toks.get(i + 1).is_some_and(|n| n.is_punct("."))
                {
                    i += 2;
                    continue;
                }
                (quote_ident(&t.text), i + 1)
            }
            Kind::Str => (quote_str(&t.text), i + 1),
            Kind::Param => match t.text.strip_prefix('$') {
                Some(n) if n.chars().all(|c| c.is_ascii_digit()) => (format!("?{n}"), i + 1),
                _ => (t.text.clone(), i + 1),
            },
            Kind::Num | Kind::Punct => (t.text.clone(), i + 1),
        };
        if t.kind == Kind::Word
            && matches!(
                t.text.as_str(),
                "bigint" | "int" | "int8" | "int4" | "integer" | "smallint" | "int2"
            )
        {
            last_int_type = Some(pieces.len());
        }
        if t.is_punct(",") {
            last_int_type = None;
        }
        let space = prev_end.is_some_and(|e| e < t.start);
        pieces.push(if space { format!(" {text}") } else { text });
        prev_end = toks.get(next.saturating_sub(1)).map(|x| x.end);
        i = next.max(i + 1);
    }
    pieces.concat()
}
