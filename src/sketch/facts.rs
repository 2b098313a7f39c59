//! What a statement does, read from its tokens rather than its parse tree, so parsed SQL and
//! half-SQL are judged alike: which tables it inserts into, updates, deletes from and reads, and
//! whether it locks, skips locked rows, orders, limits or returns.

use super::lex::{Kind, Tok, qname, until_depth0, word_at};

#[derive(Clone, Debug)]
pub(super) struct UpdateFact {
    pub(super) table: String,
    pub(super) sets: Vec<(String, Vec<Tok>)>,
    /// Where the UPDATE keyword is.
    pub(super) at: usize,
}

#[derive(Clone, Debug)]
pub(super) struct DeleteFact {
    pub(super) table: String,
    pub(super) filter: Vec<Tok>,
    /// Where the DELETE keyword is.
    pub(super) at: usize,
}

/// A function or method called, `broker.publish(...)`, and where its name starts.
#[derive(Clone, Debug)]
pub(super) struct Call {
    pub(super) name: String,
    pub(super) at: usize,
}

#[derive(Clone, Debug, Default)]
pub(super) struct Facts {
    pub(super) inserts: Vec<String>,
    pub(super) updates: Vec<UpdateFact>,
    pub(super) deletes: Vec<DeleteFact>,
    pub(super) reads: Vec<String>,
    pub(super) skip_locked: bool,
    pub(super) for_update: bool,
    pub(super) order_by: Vec<String>,
    pub(super) limit: bool,
    pub(super) returning: bool,
    pub(super) calls: Vec<Call>,
    pub(super) filter_words: Vec<String>,
}

const NOT_TABLES: &[&str] = &[
    "select",
    "lateral",
    "unnest",
    "generate_series",
    "values",
    "json_each",
    "jsonb_each",
];

pub(super) fn facts_of(toks: &[Tok]) -> Facts {
    let mut f = Facts::default();
    for (i, t) in toks.iter().enumerate() {
        if t.is_punct("(")
            && let Some(p) = i.checked_sub(1).and_then(|k| toks.get(k))
            && p.kind == Kind::Word
            && p.end == t.start
        {
            let mut name = p.text.clone();
            let mut at = p.start;
            let mut k = i.saturating_sub(1);
            while k >= 2
                && toks.get(k - 1).is_some_and(|d| d.is_punct("."))
                && let Some(q) = toks.get(k - 2).filter(|q| q.kind == Kind::Word)
            {
                name = format!("{}.{name}", q.text);
                at = q.start;
                k -= 2;
            }
            f.calls.push(Call { name, at });
        }
        if t.kind != Kind::Word {
            continue;
        }
        let prev = i.checked_sub(1).map_or("", |k| word_at(toks, k));
        match t.text.as_str() {
            "insert" => {
                let mut j = i + 1;
                if word_at(toks, j) == "or" {
                    j += 2;
                }
                if word_at(toks, j) == "into"
                    && let Some((name, _)) = qname(toks, j + 1)
                {
                    f.inserts.push(name);
                }
            }
            "replace" if word_at(toks, i + 1) == "into" && prev != "or" => {
                if let Some((name, _)) = qname(toks, i + 2) {
                    f.inserts.push(name);
                }
            }
            "update" if !matches!(prev, "for" | "key" | "do" | "no") => {
                let mut j = i + 1;
                if word_at(toks, j) == "only" {
                    j += 1;
                }
                let Some((table, mut k)) = qname(toks, j) else {
                    continue;
                };
                if word_at(toks, k) == "as" {
                    k += 2;
                } else if word_at(toks, k) != "set"
                    && toks.get(k).is_some_and(|x| x.ident().is_some())
                {
                    k += 1;
                }
                if word_at(toks, k) == "set" {
                    let sets = assignments(toks, k + 1);
                    f.updates.push(UpdateFact {
                        table,
                        sets,
                        at: t.start,
                    });
                }
            }
            "delete" if word_at(toks, i + 1) == "from" => {
                let mut j = i + 2;
                if word_at(toks, j) == "only" {
                    j += 1;
                }
                if let Some((table, k)) = qname(toks, j) {
                    let rest = toks.get(k..).unwrap_or(&[]);
                    let filter = match rest.iter().position(|x| x.is_word("where")) {
                        Some(w) => {
                            until_depth0(rest, w + 1, &|x: &Tok| x.is_word("returning")).to_vec()
                        }
                        None => Vec::new(),
                    };
                    f.deletes.push(DeleteFact {
                        table,
                        filter,
                        at: t.start,
                    });
                }
            }
            "from" | "join" if !matches!(prev, "distinct" | "delete") => {
                let mut j = i + 1;
                while matches!(word_at(toks, j), "only" | "lateral") {
                    j += 1;
                }
                if let Some((name, _)) = qname(toks, j)
                    && !NOT_TABLES.contains(&name.as_str())
                {
                    f.reads.push(name);
                }
            }
            "where" => {
                let part = until_depth0(toks, i + 1, &|x: &Tok| {
                    ["order", "limit", "for", "returning", "group", "union"]
                        .iter()
                        .any(|w| x.is_word(w))
                });
                f.filter_words.extend(
                    part.iter()
                        .filter_map(|x| x.ident().or(Some(x.text.clone()))),
                );
            }
            "skip" if word_at(toks, i + 1) == "locked" => f.skip_locked = true,
            "for"
                if word_at(toks, i + 1) == "update"
                    || (word_at(toks, i + 1) == "no" && word_at(toks, i + 3) == "update") =>
            {
                f.for_update = true;
            }
            "order" if word_at(toks, i + 1) == "by" => {
                let part = until_depth0(toks, i + 2, &|x: &Tok| {
                    ["limit", "for", "offset", "fetch", "returning", "union"]
                        .iter()
                        .any(|w| x.is_word(w))
                        || x.is_punct(";")
                });
                for (k, x) in part.iter().enumerate() {
                    let dotted = part.get(k + 1).is_some_and(|n| n.is_punct("."));
                    if let Some(name) = x.ident()
                        && !dotted
                        && !["asc", "desc", "nulls", "first", "last", "using", "collate"]
                            .contains(&name.as_str())
                    {
                        f.order_by.push(name);
                    }
                }
            }
            "limit" | "fetch" => f.limit = true,
            "returning" => f.returning = true,
            _ => {}
        }
    }
    f
}

fn assignments(toks: &[Tok], from: usize) -> Vec<(String, Vec<Tok>)> {
    let mut sets = Vec::new();
    let mut j = from;
    loop {
        let mut cols = Vec::new();
        if toks.get(j).is_some_and(|t| t.is_punct("(")) {
            j += 1;
            while let Some(t) = toks.get(j) {
                j += 1;
                if t.is_punct(")") {
                    break;
                }
                if let Some(n) = t.ident() {
                    cols.push(n);
                }
            }
        } else if let Some((name, k)) = qname(toks, j) {
            cols.push(name);
            j = k;
        } else {
            break;
        }
        if !toks.get(j).is_some_and(|t| t.is_punct("=")) {
            break;
        }
        let value = until_depth0(toks, j + 1, &|t: &Tok| {
            t.is_punct(",") || t.is_word("where") || t.is_word("from") || t.is_word("returning")
        });
        j += 1 + value.len();
        for c in cols {
            sets.push((c, value.to_vec()));
        }
        if toks.get(j).is_some_and(|t| t.is_punct(",")) {
            j += 1;
        } else {
            break;
        }
    }
    sets
}
