//! The schema a sketch declares: tables, indexes and triggers, taken from the parse tree where
//! there is one and from tokens where there is not, with ALTER TABLE applied.

use std::collections::HashMap;

use sqlparser::ast::{
    ColumnOption, CreateIndex, CreateTable, Expr, IndexColumn, ObjectName, TableConstraint,
};

use super::facts::facts_of;
use super::lex::{Kind, Tok, qname, until_depth0, word_at};

#[derive(Clone, Debug, Default)]
pub(super) struct Column {
    pub(super) name: String,
    pub(super) ty: String,
    pub(super) not_null: bool,
    pub(super) pk: bool,
    pub(super) unique: bool,
    pub(super) default: Option<String>,
    pub(super) identity: bool,
}

#[derive(Clone, Debug, Default)]
pub(super) struct Table {
    pub(super) name: String,
    pub(super) start: usize,
    pub(super) columns: Vec<Column>,
    pub(super) pk: Vec<String>,
    pub(super) uniques: Vec<Vec<String>>,
}

impl Table {
    pub(super) fn col(&self, i: Option<usize>) -> Option<&Column> {
        i.and_then(|i| self.columns.get(i))
    }

    pub(super) fn find(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

#[derive(Clone, Debug)]
pub(super) struct Index {
    pub(super) name: String,
    pub(super) table: String,
    pub(super) columns: Vec<String>,
    pub(super) unique: bool,
    pub(super) predicate: Option<String>,
    pub(super) start: usize,
}

#[derive(Clone, Debug)]
pub(super) struct Trigger {
    pub(super) table: String,
    pub(super) inserts: Vec<String>,
    pub(super) function: Option<String>,
}

pub(super) fn index_label(ix: &Index) -> String {
    if ix.name.is_empty() {
        "The unnamed index".to_string()
    } else {
        format!("`{}`", ix.name)
    }
}

pub(super) fn unquote(s: &str) -> String {
    s.trim_matches(|c| matches!(c, '"' | '`' | '[' | ']'))
        .to_lowercase()
}

fn object_last(n: &ObjectName) -> String {
    n.0.last()
        .map(|p| unquote(&p.to_string()))
        .unwrap_or_default()
}

fn index_col(c: &IndexColumn) -> String {
    match &c.column.expr {
        Expr::Identifier(i) => i.value.to_lowercase(),
        Expr::CompoundIdentifier(v) => v.last().map(|i| i.value.to_lowercase()).unwrap_or_default(),
        e => e.to_string().to_lowercase(),
    }
}

pub(super) fn table_from_ast(ct: &CreateTable, start: usize) -> Table {
    let mut t = Table {
        name: object_last(&ct.name),
        start,
        ..Table::default()
    };
    for c in &ct.columns {
        let mut col = Column {
            name: c.name.value.to_lowercase(),
            ty: c.data_type.to_string().to_lowercase(),
            ..Column::default()
        };
        for o in &c.options {
            match &o.option {
                ColumnOption::NotNull => col.not_null = true,
                ColumnOption::Default(e) => col.default = Some(e.to_string().to_lowercase()),
                ColumnOption::PrimaryKey(_) => {
                    col.pk = true;
                    col.not_null = true;
                }
                ColumnOption::Unique(_) => col.unique = true,
                ColumnOption::Generated { .. } | ColumnOption::Identity(_) => col.identity = true,
                ColumnOption::DialectSpecific(toks)
                    if toks.iter().any(|t| {
                        let t = t.to_string();
                        t.eq_ignore_ascii_case("autoincrement")
                            || t.eq_ignore_ascii_case("auto_increment")
                    }) =>
                {
                    col.identity = true;
                }
                _ => {}
            }
        }
        t.columns.push(col);
    }
    for c in &ct.constraints {
        match c {
            TableConstraint::PrimaryKey(pk) => t.pk = pk.columns.iter().map(index_col).collect(),
            TableConstraint::Unique(u) => t.uniques.push(u.columns.iter().map(index_col).collect()),
            _ => {}
        }
    }
    finish_table(t)
}

fn finish_table(mut t: Table) -> Table {
    if let [only] = t.pk.as_slice() {
        let only = only.clone();
        if let Some(c) = t.columns.iter_mut().find(|c| c.name == only) {
            c.pk = true;
            c.not_null = true;
        }
    }
    for c in &mut t.columns {
        if c.ty.contains("serial") || (c.pk && c.ty == "integer") {
            c.identity = true;
        }
    }
    t
}

pub(super) fn index_from_ast(ci: &CreateIndex, start: usize) -> Index {
    Index {
        name: ci.name.as_ref().map(object_last).unwrap_or_default(),
        table: object_last(&ci.table_name),
        columns: ci.columns.iter().map(index_col).collect(),
        unique: ci.unique,
        predicate: ci.predicate.as_ref().map(|e| e.to_string().to_lowercase()),
        start,
    }
}

/// Splits the parenthesised list opening at `open` into its depth-1 elements.
pub(super) fn paren_elements(toks: &[Tok], open: usize) -> (Vec<&[Tok]>, usize) {
    let mut elems = Vec::new();
    let mut depth = 0usize;
    let mut from = open + 1;
    let mut k = open;
    while let Some(t) = toks.get(k) {
        if t.is_punct("(") {
            depth += 1;
        } else if t.is_punct(")") {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                elems.push(toks.get(from..k).unwrap_or(&[]));
                return (elems, k);
            }
        } else if depth == 1 && t.is_punct(",") {
            elems.push(toks.get(from..k).unwrap_or(&[]));
            from = k + 1;
        }
        k += 1;
    }
    elems.push(toks.get(from.min(k)..k).unwrap_or(&[]));
    (elems, k)
}

pub(super) fn paren_names(toks: &[Tok], open: usize) -> Vec<String> {
    if !toks.get(open).is_some_and(|t| t.is_punct("(")) {
        return Vec::new();
    }
    paren_elements(toks, open)
        .0
        .iter()
        .filter_map(|e| e.first().and_then(Tok::ident))
        .collect()
}

const COLUMN_WORDS: &[&str] = &[
    "not",
    "null",
    "primary",
    "unique",
    "default",
    "references",
    "check",
    "generated",
    "constraint",
    "collate",
    "autoincrement",
    "identity",
];

fn column_from_tokens(e: &[Tok]) -> Option<Column> {
    let name = e.first()?.ident()?;
    let mut col = Column {
        name,
        ..Column::default()
    };
    let mut ty = Vec::new();
    let mut k = 1;
    let mut depth = 0usize;
    while let Some(t) = e.get(k) {
        if depth == 0 && t.kind == Kind::Word && COLUMN_WORDS.contains(&t.text.as_str()) {
            break;
        }
        if t.is_punct("(") {
            depth += 1;
        } else if t.is_punct(")") {
            depth = depth.saturating_sub(1);
        }
        ty.push(t.text.to_lowercase());
        k += 1;
    }
    col.ty = ty.join(" ");
    while let Some(t) = e.get(k) {
        match t.text.as_str() {
            "primary" if t.kind == Kind::Word => {
                col.pk = true;
                col.not_null = true;
            }
            "unique" if t.kind == Kind::Word => col.unique = true,
            "not" if e.get(k + 1).is_some_and(|n| n.is_word("null")) => col.not_null = true,
            "identity" | "autoincrement" if t.kind == Kind::Word => col.identity = true,
            "generated" if t.kind == Kind::Word => col.identity = true,
            "default" if t.kind == Kind::Word => {
                let value = until_depth0(e, k + 1, &|x: &Tok| {
                    x.kind == Kind::Word
                        && COLUMN_WORDS.contains(&x.text.as_str())
                        && x.text != "null"
                });
                col.default = Some(
                    value
                        .iter()
                        .map(|x| x.text.to_lowercase())
                        .collect::<Vec<_>>()
                        .join(" "),
                );
                k += value.len();
            }
            _ => {}
        }
        k += 1;
    }
    Some(col)
}

/// Table constraint from an element's tokens: primary key or unique columns.
fn constraint_from_tokens(e: &[Tok], t: &mut Table) -> bool {
    let mut k = 0;
    if word_at(e, 0) == "constraint" {
        k = 2;
    }
    match word_at(e, k) {
        "primary" => {
            t.pk = paren_names(e, k + 2);
            true
        }
        "unique" => {
            let mut open = k + 1;
            if matches!(word_at(e, open), "key" | "index") {
                open += 1;
                if !e.get(open).is_some_and(|p| p.is_punct("(")) {
                    open += 1;
                }
            }
            t.uniques.push(paren_names(e, open));
            true
        }
        "index" | "key" | "fulltext" | "spatial" => inline_index(e).is_some(),
        "foreign" | "check" | "exclude" => true,
        _ => k > 0,
    }
}

/// An index declared inside CREATE TABLE, as MySQL writes it: `[UNIQUE] INDEX|KEY [name] (cols)`
/// (or FULLTEXT, SPATIAL). Its name, columns and whether it is unique. A column that happens
/// to be called `key` is told apart by what follows: an index lists names, a type has numbers.
pub(super) fn inline_index(e: &[Tok]) -> Option<(String, Vec<String>, bool)> {
    let mut k = 0;
    if word_at(e, 0) == "constraint" {
        k = 2;
    }
    let unique = word_at(e, k) == "unique";
    if unique {
        k += 1;
    }
    match word_at(e, k) {
        "index" | "key" => k += 1,
        "fulltext" | "spatial" if !unique => {
            k += 1;
            if matches!(word_at(e, k), "index" | "key") {
                k += 1;
            }
        }
        _ => return None,
    }
    let mut name = String::new();
    if !e.get(k).is_some_and(|t| t.is_punct("(")) {
        name = e.get(k)?.ident()?;
        k += 1;
    }
    if !e.get(k).is_some_and(|t| t.is_punct("(")) {
        return None;
    }
    let (elems, close) = paren_elements(e, k);
    let mut cols = Vec::new();
    for el in elems {
        let first = el.first()?.ident()?;
        let rest_ok = el.iter().skip(1).all(|t| {
            t.is_word("asc")
                || t.is_word("desc")
                || t.is_punct("(")
                || t.is_punct(")")
                || t.kind == Kind::Num
        });
        if !rest_ok {
            return None;
        }
        cols.push(first);
    }
    let tail_ok = e
        .iter()
        .skip(close + 1)
        .all(|t| t.kind == Kind::Word || t.is_punct("=") || t.kind == Kind::Str);
    (!cols.is_empty() && tail_ok).then_some((name, cols, unique))
}

/// The indexes declared inside a CREATE TABLE's column list, on `table`.
pub(super) fn inline_indexes(toks: &[Tok], table: &str) -> Vec<Index> {
    let Some(ti) = toks.iter().position(|t| t.is_word("table")) else {
        return Vec::new();
    };
    let Some(open) = toks
        .iter()
        .skip(ti)
        .position(|t| t.is_punct("("))
        .map(|p| p + ti)
    else {
        return Vec::new();
    };
    paren_elements(toks, open)
        .0
        .into_iter()
        .filter_map(|e| {
            let (name, columns, unique) = inline_index(e)?;
            Some(Index {
                name,
                table: table.to_string(),
                columns,
                unique,
                predicate: None,
                start: e.first().map_or(0, |t| t.start),
            })
        })
        .collect()
}

pub(super) fn table_from_tokens(toks: &[Tok]) -> Option<Table> {
    let ti = toks.iter().position(|t| t.is_word("table"))?;
    let mut j = ti + 1;
    if word_at(toks, j) == "if" {
        j += 3;
    }
    let (name, nj) = qname(toks, j)?;
    let mut t = Table {
        name,
        start: toks.first().map_or(0, |f| f.start),
        ..Table::default()
    };
    if toks.get(nj).is_some_and(|p| p.is_punct("(")) {
        for e in paren_elements(toks, nj).0 {
            if e.is_empty() || constraint_from_tokens(e, &mut t) {
                continue;
            }
            if let Some(c) = column_from_tokens(e) {
                t.columns.push(c);
            }
        }
    }
    Some(finish_table(t))
}

pub(super) fn index_from_tokens(toks: &[Tok]) -> Option<Index> {
    let on = toks.iter().position(|t| t.is_word("on"))?;
    let name = on
        .checked_sub(1)
        .and_then(|k| toks.get(k))
        .filter(|t| {
            t.ident().is_some() && !["index", "exists", "concurrently"].contains(&t.text.as_str())
        })
        .and_then(Tok::ident)
        .unwrap_or_default();
    let mut j = on + 1;
    if word_at(toks, j) == "only" {
        j += 1;
    }
    let (table, mut k) = qname(toks, j)?;
    if word_at(toks, k) == "using" {
        k += 2;
    }
    let (elems, close) = if toks.get(k).is_some_and(|t| t.is_punct("(")) {
        paren_elements(toks, k)
    } else {
        (Vec::new(), k)
    };
    let columns = elems
        .iter()
        .map(|e| match e {
            [one] | [one, _] if one.ident().is_some() => one.ident().unwrap_or_default(),
            _ => e
                .iter()
                .map(|t| t.text.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        })
        .collect();
    let rest = toks.get(close..).unwrap_or(&[]);
    let predicate = rest.iter().position(|t| t.is_word("where")).map(|w| {
        rest.iter()
            .skip(w + 1)
            .map(|t| match t.kind {
                Kind::Str => format!("'{}'", t.text.to_lowercase()),
                _ => t.text.to_lowercase(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    });
    Some(Index {
        name,
        table,
        columns,
        unique: toks.iter().take(on).any(|t| t.is_word("unique")),
        predicate,
        start: toks.first().map_or(0, |f| f.start),
    })
}

/// `ALTER TABLE t ADD [CONSTRAINT c] PRIMARY KEY|UNIQUE (...)` and `ADD [COLUMN] ...`.
pub(super) fn apply_alter(toks: &[Tok], tables: &mut [Table], by_name: &HashMap<String, usize>) {
    let mut j = 2;
    while matches!(word_at(toks, j), "if" | "exists" | "only") {
        j += 1;
    }
    let Some((name, k)) = qname(toks, j) else {
        return;
    };
    let Some(t) = by_name.get(&name).and_then(|&i| tables.get_mut(i)) else {
        return;
    };
    if word_at(toks, k) != "add" {
        return;
    }
    let rest = toks.get(k + 1..).unwrap_or(&[]);
    if constraint_from_tokens(rest, t) {
        let updated = finish_table(std::mem::take(t));
        *t = updated;
        return;
    }
    let rest = if word_at(rest, 0) == "column" {
        rest.get(1..).unwrap_or(&[])
    } else {
        rest
    };
    if let Some(c) = column_from_tokens(rest) {
        t.columns.push(c);
    }
}

pub(super) fn trigger_from_tokens(toks: &[Tok]) -> Option<Trigger> {
    let on = toks.iter().position(|t| t.is_word("on"))?;
    let (table, _) = qname(toks, on + 1)?;
    let function = toks
        .iter()
        .position(|t| t.is_word("execute"))
        .and_then(|e| {
            let k = if matches!(word_at(toks, e + 1), "function" | "procedure") {
                e + 2
            } else {
                e + 1
            };
            qname(toks, k).map(|(n, _)| n)
        });
    let inserts = toks
        .iter()
        .position(|t| t.is_word("begin"))
        .map(|b| facts_of(toks.get(b + 1..).unwrap_or(&[])).inserts)
        .unwrap_or_default();
    Some(Trigger {
        table,
        inserts,
        function,
    })
}
