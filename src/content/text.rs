//! An answer as the grader reads it: sentences of lowercase words, cut into clauses at
//! punctuation; which clauses make a claim and which only list terms; which words a `not`,
//! `without` or `instead of` reaches; and which words are only quoted.

use super::lexicon::{
    self, Denial, Form, denial, ends_scope, is_adjective, is_auxiliary, is_coordinator,
    is_determiner, is_negative_auxiliary, is_predicative, is_preposition, is_subject_pronoun,
    licenses_base, verb_form,
};

/// One word of an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub word: String,
    /// The clause of its sentence the word stands in.
    pub clause: usize,
    /// Where the word is in the answer, in bytes.
    pub start: usize,
    pub end: usize,
    /// Inside quotation marks: mentioned, not said.
    pub quoted: bool,
}

/// A stretch of a sentence between punctuation: `a queue`, `each message goes to one worker`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clause {
    /// The clause's tokens: `first..end` in its sentence.
    pub first: usize,
    pub end: usize,
    /// It has a verb (or `=`, `->`): it says something about something.
    pub predicate: bool,
    /// One item of a list of terms.
    pub listed: bool,
    /// How many items the comma-joined run of clauses it stands in holds.
    pub run_items: usize,
    /// Terms in it (`database and broker` is two).
    pub items: usize,
    /// Wholly inside brackets.
    pub bracket: bool,
    /// It opens with `but`, `so`, `because`...
    pub connective: bool,
    /// The first token of a label it continues (`Write model: handles commands`): a match may
    /// start in the label.
    pub label: Option<usize>,
    /// It makes a claim: it is not an item of a list of terms, and the answer says something
    /// somewhere (has a predicate, or a denial outside a list), so that its fragments are
    /// notes, not terms (`queue (work distribution); thumbnails; no outbox needed`).
    pub asserts: bool,
}

/// A denial in a sentence: the word at `at` reaches the words up to `last`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scope {
    pub at: usize,
    pub last: usize,
    pub kind: Denial,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sentence {
    pub tokens: Vec<Token>,
    pub clauses: Vec<Clause>,
    pub scopes: Vec<Scope>,
}

/// A read answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    pub text: String,
    pub sentences: Vec<Sentence>,
}

impl Answer {
    /// Reads an answer.
    pub fn read(text: &str) -> Answer {
        let mut sentences: Vec<Sentence> = split(text).into_iter().map(analyse).collect();
        // A clause says something when it has a predicate, or denies something outside a list
        // (`not an event`, `no outbox`); then every clause of the answer that is not an item
        // of a list asserts.
        list_bare_terms(&mut sentences);
        let says_something = sentences.iter().any(|s| {
            let words: Vec<&str> = s.tokens.iter().map(|t| t.word.as_str()).collect();
            s.clauses.iter().any(|c| {
                !c.listed
                    && (c.predicate
                        || (c.run_items <= 2
                            && (c.first..c.end).any(|i| denial(&words, i).is_some())))
            })
        });
        for sentence in &mut sentences {
            for clause in &mut sentence.clauses {
                clause.asserts = !clause.listed && says_something;
            }
        }
        Answer {
            text: text.to_string(),
            sentences,
        }
    }

    /// The learner's own words for a clause, as written.
    pub fn clause_text(&self, sentence: usize, clause: usize) -> &str {
        let s = &self.sentences[sentence];
        let c = &s.clauses[clause];
        self.span(&s.tokens[c.first..c.end])
    }

    /// The learner's own words from the first to the last of some tokens.
    pub fn span(&self, tokens: &[Token]) -> &str {
        match (tokens.first(), tokens.last()) {
            (Some(a), Some(b)) => &self.text[a.start..b.end],
            _ => "",
        }
    }
}

/// Whether the word at `i` of a sentence is denied: reached by an odd number of denials that
/// are not among `own` (a pattern's own words, as in `no need* outbox`).
pub fn denied(sentence: &Sentence, i: usize, own: &[usize]) -> bool {
    sentence
        .scopes
        .iter()
        .filter(|s| s.at < i && i <= s.last && !own.contains(&s.at))
        .count()
        % 2
        == 1
}

/// What separates two clauses of a sentence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Cut {
    /// A comma: the clauses may be items of one list.
    Comma,
    /// A colon or a spaced dash: what comes before may be a label for what follows
    /// (`Polling: simple`).
    Label,
    /// A semicolon or a bracket.
    Hard,
}

impl Sentence {
    /// Whether a clause is a prohibition (`never put secrets on events`, `don't retry
    /// forever`): it tells the reader what not to do, and denies nothing about the world.
    pub fn prohibits(&self, clause: usize) -> bool {
        let c = &self.clauses[clause];
        let words: Vec<&str> = self.tokens[c.first..c.end]
            .iter()
            .map(|t| t.word.as_str())
            .skip_while(|w| matches!(*w, "so" | "and" | "then" | "just" | "please" | "but"))
            .collect();
        let verb = match words.as_slice() {
            ["never" | "dont", verb, ..] | ["do", "not", verb, ..] => *verb,
            _ => return false,
        };
        verb_form(verb).is_some_and(|v| v.form == Form::Base)
    }

    /// The proposition the words `first..=last` stand in: their clause, cut down to the words
    /// between the nearest `because`, `so`, `which`, `but`... on either side.
    pub fn proposition(&self, first: usize, last: usize) -> std::ops::Range<usize> {
        let clause = &self.clauses[self.tokens[first].clause];
        let start = (clause.first..=first)
            .rev()
            .find(|&i| ends_scope(&self.tokens[i].word))
            .unwrap_or(clause.first);
        let end = (last + 1..clause.end)
            .find(|&i| ends_scope(&self.tokens[i].word))
            .unwrap_or(clause.end);
        start..end
    }
}

/// Marks lists of terms across the whole answer, whatever separates their items (commas,
/// semicolons, new lines): a run of clauses with three or more bare terms (verbless, denying
/// nothing, four words or fewer) is a list, and its short items (three words or fewer, `retry
/// later`, `no atomicity`) are listed with them. Labels (`Polling:`) and brackets neither count
/// nor break a run; a longer clause (`exponential backoff with jitter for transient failures`),
/// or one opening with `but`, `so`..., ends it.
fn list_bare_terms(sentences: &mut [Sentence]) {
    let mut run: Vec<(usize, usize)> = Vec::new();
    let mut bare = 0;
    let close = |run: &mut Vec<(usize, usize)>, bare: &mut usize, sentences: &mut [Sentence]| {
        if *bare >= 3 {
            for &(s, c) in run.iter() {
                sentences[s].clauses[c].listed = true;
            }
        }
        run.clear();
        *bare = 0;
    };
    for s in 0..sentences.len() {
        for c in 0..sentences[s].clauses.len() {
            let sentence = &sentences[s];
            let clause = &sentence.clauses[c];
            let label = sentence
                .clauses
                .get(c + 1)
                .is_some_and(|next| next.label == Some(clause.first));
            let words: Vec<&str> = sentence.tokens[clause.first..clause.end]
                .iter()
                .map(|t| t.word.as_str())
                .collect();
            let denies = (0..words.len()).any(|i| denial(&words, i).is_some());
            let size = words.iter().filter(|w| !is_coordinator(w)).count();
            if clause.bracket || label {
                continue;
            }
            if clause.connective {
                close(&mut run, &mut bare, sentences);
            } else if !clause.predicate && !denies && size <= 4 {
                run.push((s, c));
                bare += clause.items;
            } else if size <= 3 {
                run.push((s, c));
            } else {
                close(&mut run, &mut bare, sentences);
            }
        }
    }
    close(&mut run, &mut bare, sentences);
}

/// Whether the word at `i` of a sentence is a denial with some reach.
pub fn denies(sentence: &Sentence, i: usize) -> bool {
    sentence.scopes.iter().any(|s| s.at == i)
}

/// A sentence before analysis.
#[derive(Default)]
struct Raw {
    tokens: Vec<Token>,
    /// Token indexes where a new clause starts, and what cuts it there.
    cuts: Vec<(usize, Cut)>,
    /// Clauses (by index) that hold `=`, `->` or `=>`.
    symbols: Vec<usize>,
    /// Clauses (by index) that are wholly inside brackets.
    brackets: Vec<usize>,
    /// Token indexes that follow a hyphen inside a compound (`append-only`).
    hyphens: Vec<usize>,
}

/// Contractions with an apostrophe, expanded so `don't` reads as `do not`.
fn expand(word: &str) -> Vec<String> {
    let w = word.replace(['\u{2019}', '\u{2018}'], "'");
    let fixed: &[(&str, &[&str])] = &[
        ("can't", &["can", "not"]),
        ("won't", &["will", "not"]),
        ("shan't", &["shall", "not"]),
        ("let's", &["let", "us"]),
    ];
    if let Some((_, words)) = fixed.iter().find(|(c, _)| *c == w) {
        return words.iter().map(|s| s.to_string()).collect();
    }
    let Some((head, tail)) = w.split_once('\'') else {
        return vec![w];
    };
    let head = head.to_string();
    match tail {
        "t" if head.ends_with('n') => vec![head[..head.len() - 1].to_string(), "not".into()],
        "re" => vec![head, "are".into()],
        "ll" => vec![head, "will".into()],
        "ve" => vec![head, "have".into()],
        "m" => vec![head, "am".into()],
        "d" => vec![head, "would".into()],
        "s" if matches!(
            head.as_str(),
            "it" | "that" | "there" | "what" | "he" | "she" | "here" | "who" | "where"
        ) =>
        {
            vec![head, "is".into()]
        }
        // A possessive: the owner is the word.
        _ => vec![head],
    }
}

/// Byte ranges of the answer inside quotation marks.
fn quotes(text: &str) -> Vec<(usize, usize)> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let alnum = |k: Option<&(usize, char)>| k.is_some_and(|(_, c)| c.is_alphanumeric());
    let mut spans = Vec::new();
    let mut open: Option<(usize, char)> = None;
    for (k, &(at, c)) in chars.iter().enumerate() {
        let prev = k.checked_sub(1).and_then(|p| chars.get(p));
        let next = chars.get(k + 1);
        match (open, c) {
            (None, '"' | '\u{201c}') => open = Some((at, c)),
            (None, '\'' | '\u{2018}') if !alnum(prev) && alnum(next) => open = Some((at, c)),
            (Some((from, '"')), '"') | (Some((from, '\u{201c}')), '\u{201d}' | '"') => {
                spans.push((from, at));
                open = None;
            }
            (Some((from, '\'' | '\u{2018}')), '\'' | '\u{2019}') if !alnum(next) => {
                spans.push((from, at));
                open = None;
            }
            (Some((_, '\'' | '\u{2018}')), '\n') => open = None,
            _ => {}
        }
    }
    // Quotation marks around the whole answer are not a quotation.
    let words = |a: usize, b: usize| text[a..b].chars().any(char::is_alphanumeric);
    if let [(from, to)] = spans[..]
        && !words(0, from)
        && !words(to, text.len())
    {
        return Vec::new();
    }
    spans
}

/// Splits an answer into sentences of tokens, marking clause cuts, symbols and brackets.
fn split(text: &str) -> Vec<Raw> {
    let quoted = quotes(text);
    let in_quote = |at: usize| quoted.iter().any(|&(a, b)| a < at && at < b);
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut raw = Raw::default();
    let mut clause = 0;
    let mut word = String::new();
    let mut word_start = 0;
    let mut depth = 0usize;
    let mut bracket_clause: Option<usize> = None;
    let flush = |word: &mut String, raw: &mut Raw, clause: usize, start: usize, end: usize| {
        if word.is_empty() {
            return;
        }
        for w in expand(&word.to_lowercase()) {
            raw.tokens.push(Token {
                word: w,
                clause,
                start,
                end,
                quoted: in_quote(start),
            });
        }
        word.clear();
    };
    let cut = |raw: &mut Raw, clause: &mut usize, kind: Cut| {
        if raw.tokens.is_empty() {
            return;
        }
        match raw.cuts.last_mut() {
            Some((at, was)) if *at == raw.tokens.len() => *was = (*was).max(kind),
            _ => {
                raw.cuts.push((raw.tokens.len(), kind));
                *clause += 1;
            }
        }
    };
    for (k, &(at, c)) in chars.iter().enumerate() {
        let prev = k.checked_sub(1).map(|p| chars[p].1);
        let next = chars.get(k + 1).map(|n| n.1);
        let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
        let letter = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        if c.is_ascii_alphanumeric() {
            if word.is_empty() {
                word_start = at;
            }
            word.push(c);
            continue;
        }
        // An apostrophe inside a word belongs to it (`don't`, `team's`).
        if matches!(c, '\'' | '\u{2019}') && !word.is_empty() && letter(next) {
            word.push('\'');
            continue;
        }
        match c {
            // 1,000 and 545.00 stay one number.
            '.' | ',' if digit(prev) && digit(next) => {}
            // good.sql, e.g., i.e.: no sentence ends inside a word or an abbreviation.
            '.' if letter(next) || abbreviation(&text[..at]) => {
                flush(&mut word, &mut raw, clause, word_start, at);
            }
            '.' | '!' | '?' | '\n' => {
                flush(&mut word, &mut raw, clause, word_start, at);
                if !raw.tokens.is_empty() {
                    out.push(std::mem::take(&mut raw));
                }
                clause = 0;
                depth = 0;
                bracket_clause = None;
            }
            '(' | '[' => {
                flush(&mut word, &mut raw, clause, word_start, at);
                cut(&mut raw, &mut clause, Cut::Hard);
                depth += 1;
                bracket_clause = Some(clause);
            }
            ')' | ']' => {
                flush(&mut word, &mut raw, clause, word_start, at);
                if let Some(opened) = bracket_clause.filter(|_| depth > 0) {
                    raw.brackets.extend(opened..=clause);
                }
                depth = depth.saturating_sub(1);
                cut(&mut raw, &mut clause, Cut::Hard);
            }
            ',' => {
                flush(&mut word, &mut raw, clause, word_start, at);
                cut(&mut raw, &mut clause, Cut::Comma);
            }
            ';' => {
                flush(&mut word, &mut raw, clause, word_start, at);
                cut(&mut raw, &mut clause, Cut::Hard);
            }
            ':' | '\u{2014}' | '\u{2013}' => {
                flush(&mut word, &mut raw, clause, word_start, at);
                cut(&mut raw, &mut clause, Cut::Label);
            }
            '-' if prev == Some(' ') && matches!(next, Some(' ') | Some('-')) => {
                flush(&mut word, &mut raw, clause, word_start, at);
                cut(&mut raw, &mut clause, Cut::Label);
            }
            '-' if letter(prev) && letter(next) => {
                flush(&mut word, &mut raw, clause, word_start, at);
                raw.hyphens.push(raw.tokens.len());
            }
            // `polling / CDC`: a spaced slash separates items; `pub/sub` is one term.
            '/' if prev == Some(' ') && next == Some(' ') => {
                flush(&mut word, &mut raw, clause, word_start, at);
                cut(&mut raw, &mut clause, Cut::Comma);
            }
            '=' | '\u{2192}' | '\u{21d2}' => {
                flush(&mut word, &mut raw, clause, word_start, at);
                raw.symbols.push(clause);
            }
            '>' if matches!(prev, Some('-') | Some('=')) => raw.symbols.push(clause),
            _ => flush(&mut word, &mut raw, clause, word_start, at),
        }
    }
    flush(&mut word, &mut raw, clause, word_start, text.len());
    if !raw.tokens.is_empty() {
        out.push(raw);
    }
    out
}

/// Whether the text before a full stop ends in an abbreviation (`e.g`, `i.e`, `vs`, `etc`).
fn abbreviation(before: &str) -> bool {
    let tail: String = before
        .chars()
        .rev()
        .take(4)
        .collect::<String>()
        .chars()
        .rev()
        .collect::<String>()
        .to_lowercase();
    let last_word = tail.rsplit(|c: char| !c.is_ascii_alphanumeric() && c != '.');
    let last = last_word.into_iter().next().unwrap_or("");
    matches!(last, "e.g" | "i.e" | "vs" | "etc" | "approx" | "cf")
}

/// Builds a sentence's clauses, which of them are items of a list, and the reach of its
/// denials.
///
/// Clauses joined by commas form a run. A run of four or more short items (`queue, topic,
/// competing consumers, copy`), at least half of them verbless, is a list of terms: its verbless
/// items, and any item of three words or fewer, are listed. A clause that opens with `but`,
/// `so`, `because`... starts a new run.
fn analyse(raw: Raw) -> Sentence {
    let Raw {
        mut tokens,
        cuts,
        symbols,
        brackets,
        hyphens,
    } = raw;
    let mut bounds: Vec<usize> = vec![0];
    let mut before: Vec<Cut> = vec![Cut::Hard];
    for &(at, kind) in &cuts {
        if at > bounds[bounds.len() - 1] && at < tokens.len() {
            bounds.push(at);
            before.push(kind);
        }
    }
    bounds.push(tokens.len());
    for (index, w) in bounds.windows(2).enumerate() {
        for t in &mut tokens[w[0]..w[1]] {
            t.clause = index;
        }
    }
    let words: Vec<&str> = tokens.iter().map(|t| t.word.as_str()).collect();
    let shape = shape(&words, &hyphens);
    let mut clauses: Vec<Clause> = bounds
        .windows(2)
        .enumerate()
        .map(|(index, w)| Clause {
            first: w[0],
            end: w[1],
            predicate: symbols.contains(&index) || has_predicate(&shape[w[0]..w[1]]),
            listed: false,
            run_items: 0,
            items: 1 + words[w[0]..w[1]]
                .iter()
                .filter(|w| matches!(**w, "and" | "or" | "plus" | "vs" | "versus"))
                .count(),
            bracket: brackets.contains(&index),
            connective: ends_scope(words[w[0]]),
            label: None,
            asserts: false,
        })
        .collect();
    for c in 1..clauses.len() {
        if before[c] == Cut::Label && !clauses[c - 1].predicate {
            clauses[c].label = Some(clauses[c - 1].first);
        }
    }
    let size = |c: &Clause| {
        words[c.first..c.end]
            .iter()
            .filter(|w| !is_coordinator(w))
            .count()
    };
    let mut start = 0;
    while start < clauses.len() {
        let mut end = start + 1;
        while end < clauses.len() && before[end] == Cut::Comma && !clauses[end].connective {
            end += 1;
        }
        let run = start..end;
        // `partition key = order id` is notation, not a verb: in a run of terms it is one more
        // term.
        let verbal = |c: &Clause| has_predicate(&shape[c.first..c.end]);
        let items_of: Vec<bool> = run
            .clone()
            .map(|c| {
                let size = size(&clauses[c]);
                !brackets.contains(&c) && (size <= 3 || (!verbal(&clauses[c]) && size <= 4))
            })
            .collect();
        let count: usize = run
            .clone()
            .zip(&items_of)
            .filter(|(_, item)| **item)
            .map(|(c, _)| clauses[c].items)
            .sum();
        let verbless = run.clone().filter(|&c| !verbal(&clauses[c])).count();
        // Three or more terms and nothing else, not one verb among them, are a list too.
        let only_terms = run.len() >= 3 && verbless == run.len() && items_of.iter().all(|i| *i);
        let listed = (count >= 4 && verbless * 2 >= run.len()) || only_terms;
        for (c, item) in run.zip(items_of) {
            clauses[c].run_items = count;
            clauses[c].listed = listed && item;
        }
        start = end;
    }
    let scopes = scopes(&tokens, &words, &shape, &clauses);
    Sentence {
        tokens,
        clauses,
        scopes,
    }
}

/// How far each denial reaches: to the end of its clause, to a word that opens a new clause
/// (`but`, `because`, `so`, …), to an `and`, `or` or `that` followed by a new predicate, to a
/// new subject with its own verb (`they never got it we had nothing`), or to the end of the
/// quotation it stands in.
fn scopes(tokens: &[Token], words: &[&str], shape: &[&str], clauses: &[Clause]) -> Vec<Scope> {
    let mut out = Vec::new();
    for clause in clauses {
        for at in clause.first..clause.end {
            let Some(kind) = denial(words, at) else {
                continue;
            };
            // `no, you need it`, `no you need it`: an interjection, not a denial.
            if words[at] == "no"
                && at == clause.first
                && words
                    .get(at + 1)
                    .is_some_and(|w| matches!(*w, "you" | "it" | "they" | "we" | "i" | "that"))
            {
                continue;
            }
            let mut last = at;
            for j in at + 1..clause.end {
                let w = words[j];
                let new_predicate = || has_predicate(&shape[j + 1..clause.end]);
                // `places that all do the same thing`, `an event we had`, but not `do not
                // think that you need it`, `do not think you need it`.
                let after_noun = j > at + 1 && !is_verb(shape, j - 1) && !closed(words[j - 1]);
                if tokens[j].quoted != tokens[at].quoted
                    || ends_scope(w)
                    || (w == "nor" && words[at] != "nor")
                    || (is_coordinator(w) && new_predicate())
                    || (w == "that" && after_noun && new_predicate())
                    || (matches!(w, "i" | "you" | "we" | "they" | "he" | "she")
                        && after_noun
                        && has_predicate(&shape[j..clause.end]))
                {
                    break;
                }
                last = j;
            }
            if last > at {
                out.push(Scope { at, last, kind });
            }
        }
    }
    out
}

/// The words as predicates are looked for in them: a word inside a hyphenated compound
/// (`append-only`, `fire-and-forget`, `event-carried`) is never a verb, so it stands as `x`;
/// a prefix (`re-send`) and `dead-letter` keep their words.
fn shape<'w>(words: &[&'w str], hyphens: &[usize]) -> Vec<&'w str> {
    let mut out = words.to_vec();
    for &h in hyphens {
        let (Some(&before), Some(&after)) = (h.checked_sub(1).map(|b| &words[b]), words.get(h))
        else {
            continue;
        };
        if matches!(before, "re" | "pre" | "co" | "un" | "de" | "non")
            || (before == "dead" && after == "letter")
        {
            continue;
        }
        out[h - 1] = "x";
        out[h] = "x";
    }
    out
}

/// Whether some words (one clause, or the rest of one) have a verb, an auxiliary or a
/// predicative word: whether they say something rather than name something.
pub fn has_predicate(words: &[&str]) -> bool {
    (0..words.len()).any(|i| is_verb(words, i))
}

/// Whether the word at `i` works as a verb here (or as a predicate without one: `consumers
/// idempotent on the event id`).
fn is_verb(words: &[&str], i: usize) -> bool {
    let w = words[i];
    let prev = i.checked_sub(1).map(|p| words[p]);
    let prev2 = i.checked_sub(2).map(|p| words[p]);
    let next = words.get(i + 1).copied();
    if is_auxiliary(w) || is_predicative(w) || is_negative_auxiliary(w) {
        return true;
    }
    let number = |w: &str| w.chars().all(|c| c.is_ascii_digit());
    let open = |w: &str| !closed(w) && !number(w);
    // `consumers idempotent on the event id`, `the write atomic`: an adjective after its noun
    // says something about it; before a noun (`idempotent consumers`) it only names.
    // `dead-letter it`.
    if w == "letter" && prev == Some("dead") {
        return next.is_some_and(|n| is_determiner(n) || matches!(n, "it" | "them"));
    }
    if is_post_nominal(w) {
        return prev.is_some_and(open)
            && next.is_none_or(|n| is_preposition(n) || matches!(n, "and" | "or" | "so"));
    }
    let Some(verb) = verb_form(w) else {
        return false;
    };
    let subject = |p: Option<&str>| p.is_some_and(|p| is_subject_pronoun(p) || open(p));
    // What may follow a verb that is just as often a noun, for it to read as a verb:
    // `retry with backoff`, `log the id`, but not `crash in between`, `lag of minutes`.
    let object_cue = |at: usize| {
        let Some(n) = words.get(at).copied() else {
            return false;
        };
        if matches!(n, "out" | "up" | "off" | "down" | "back") {
            // A particle: `fan out to every queue`, not `fan out` alone.
            return words
                .get(at + 1)
                .is_some_and(|m| is_determiner(m) || is_preposition(m) || is_subject_pronoun(m));
        }
        is_determiner(n)
            || (is_preposition(n)
                && !matches!(
                    n,
                    "in" | "of" | "between" | "at" | "per" | "after" | "before" | "over"
                ))
            || is_subject_pronoun(n)
            || is_adjective(n)
            || (n.len() > 4 && n.ends_with("ly") && verb_form(n).is_none())
            || number(n)
            || matches!(n, "them" | "him" | "me" | "us" | "it" | "everything")
    };
    let starts = prev.is_none_or(|p| {
        is_coordinator(p)
            || ends_scope(p)
            || matches!(
                p,
                "also" | "instead" | "first" | "simply" | "always" | "never" | "please" | "just"
            )
    });
    let quantifier = |p: &str| {
        number(p)
            || matches!(
                p,
                "all" | "both" | "many" | "several" | "few" | "most" | "some"
            )
    };
    match verb.form {
        // `workers taking jobs off it`, `CDC tailing the WAL`, `polling the outbox table`; not
        // `competing consumers`, `log tailing`.
        Form::Ing => object_cue(i + 1),
        Form::Third if prev.is_some_and(is_subject_pronoun) => true,
        Form::Third if !verb.nounish => prev.is_none_or(|p| !is_determiner(p) && !is_adjective(p)),
        Form::Third => subject(prev) && (prev2.is_some_and(is_determiner) || object_cue(i + 1)),
        Form::Past => {
            subject(prev)
                && !prev.is_some_and(is_adjective)
                && !next.is_some_and(|n| open(n) && verb_form(n).is_none())
        }
        Form::Base => {
            let fits = !verb.nounish || object_cue(i + 1);
            prev.is_some_and(licenses_base)
                || (starts && next.is_some() && fits)
                || (prev.is_some_and(|p| open(p) && p.ends_with('s') && !p.ends_with("ss")) && fits)
                || (prev.is_some_and(quantifier) && next.is_some() && fits)
        }
    }
}

/// Adjectives that say something when they follow their noun.
fn is_post_nominal(word: &str) -> bool {
    matches!(
        word,
        "idempotent" | "atomic" | "durable" | "harmless" | "stale" | "lost" | "unnecessary"
    )
}

/// Words that may stand between a denial and the words it denies without changing what is
/// denied: `not the image bytes`, `never be lost`, but not `no need for a single owner`.
pub fn is_light(word: &str) -> bool {
    is_determiner(word)
        || is_adjective(word)
        || matches!(
            word,
            "be" | "been"
                | "being"
                | "get"
                | "got"
                | "even"
                | "just"
                | "only"
                | "really"
                | "ever"
                | "always"
                | "actually"
                | "of"
                | "a"
        )
        || (word.len() > 4 && word.ends_with("ly") && verb_form(word).is_none())
}

/// Closed-class words: never the subject noun of a verb.
fn closed(word: &str) -> bool {
    is_determiner(word)
        || is_preposition(word)
        || is_auxiliary(word)
        || is_subject_pronoun(word)
        || is_adjective(word)
        || is_coordinator(word)
        || ends_scope(word)
        || lexicon::denial(&[word], 0).is_some()
        || matches!(word, "as" | "than" | "vs" | "versus" | "like" | "e" | "g")
}

#[cfg(test)]
mod tests;
