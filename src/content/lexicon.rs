//! The few word classes the grader needs to tell a claim from a list of terms: verbs and their
//! forms, auxiliaries, pronouns, determiners, prepositions, and the words that deny or set aside
//! what follows them.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// How a word can stand in a sentence, as far as finding a predicate goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// `publish`, `dedupe`: an imperative, or a verb after a plural subject or a modal.
    Base,
    /// `publishes`: a verb after a subject.
    Third,
    /// `published`, `sent`: a past tense after a subject, or a participle.
    Past,
    /// `publishing`: only a predicate after an auxiliary.
    Ing,
}

/// A word read as a form of a known verb.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerbForm {
    pub form: Form,
    /// The verb is also a common noun here (`retry`, `commit`, `copy`), so it needs a clearer
    /// cue before it counts as a verb.
    pub nounish: bool,
}

/// Verbs, in their base form, that learners use when they say what a system does.
#[rustfmt::skip]
const VERBS: &[&str] = &[
    "accept", "ack", "acknowledge", "act", "add", "address", "aggregate", "alert", "allow",
    "announce", "answer", "append", "apply", "archive", "arrive", "ask", "assign", "assume",
    "attach", "audit", "avoid", "await", "back", "balance", "batch", "become", "begin",
    "behave", "belong", "bind", "block", "bloat", "blow", "break", "bring", "broadcast",
    "buffer", "build", "bump", "buy", "cache", "call", "cancel", "capture", "care", "carry",
    "catch", "cause", "change", "charge", "check", "choose", "claim", "clean", "clear",
    "close", "collect", "come", "commit", "compare", "compensate", "compete", "complete",
    "compute", "configure", "confirm", "connect", "consider", "consist", "consume", "contain",
    "continue", "control", "convey", "coordinate", "copy", "correct", "correlate", "cost",
    "couple", "cover", "crash", "create", "cut", "deal", "debug", "decide", "decline",
    "decouple", "dedup", "dedupe", "deduplicate", "define", "delay", "delete", "deliver",
    "depend", "deploy", "derive", "describe", "design", "detect", "determine", "die", "differ",
    "disable", "discard", "discover", "dispatch", "display", "distribute", "divide", "do",
    "double", "drain", "draw", "drive", "drop", "duplicate", "email", "embed", "emit",
    "enable", "encrypt", "end", "enforce", "enqueue", "ensure", "enter", "evolve", "exceed",
    "execute", "exist", "expect", "expire", "explain", "expose", "extend", "fail", "fall",
    "fan", "feed", "fetch", "fill", "filter", "find", "finish", "fire", "fix", "flip", "flow",
    "flush", "fold", "follow", "force", "forget", "forward", "fulfil", "fulfill", "generate",
    "get", "give", "go", "grab", "group", "grow", "guarantee", "handle", "hang", "happen",
    "hash", "have", "hear", "help", "hide", "hit", "hold", "hurt", "identify", "ignore",
    "imagine", "implement", "include", "increase", "index", "inflate", "inform", "insert",
    "inspect", "instruct", "introduce", "invalidate", "invoke", "involve", "join", "keep",
    "key", "kill", "know", "lag", "land", "last", "lead", "leak", "learn", "leave", "let",
    "limit", "link", "list", "listen", "live", "load", "lock", "log", "look", "loop", "lose",
    "make", "manage", "mark", "match", "matter", "mean", "meet", "merge", "migrate", "mint",
    "mirror", "miss", "modify", "monitor", "move", "multiply", "need", "notice", "notify",
    "observe", "occur", "offer", "open", "order", "overload", "overtake", "overwrite", "own",
    "page", "park", "parse", "partition", "pass", "pause", "pay", "persist", "pick", "place",
    "plan", "poll", "pop", "populate", "post", "prefer", "prepare", "preserve", "prevent",
    "process", "produce", "project", "promise", "propagate", "protect", "prove", "provide",
    "publish", "pull", "purge", "push", "put", "query", "queue", "raise", "reach", "react",
    "read", "rebuild", "receive", "recognise", "recognize", "reconcile", "record", "recover",
    "redeliver", "redo", "redrive", "reduce", "refer", "refund", "regenerate", "register",
    "reject", "relay", "release", "rely", "remain", "remember", "remove", "rename", "render",
    "reorder", "repeat", "replace", "replay", "replicate", "reply", "report", "represent",
    "republish", "request", "require", "rerun", "reserve", "reset", "resend", "resize",
    "resolve", "respond", "restart", "restore", "resume", "retain", "retry", "return", "reuse",
    "reverse", "rewrite", "ride", "ring", "rise", "risk", "roll", "route", "run", "save",
    "say", "scale", "scan", "schedule", "score", "search", "see", "seek", "seem", "select",
    "sell", "send", "separate", "serve", "set", "share", "ship", "show", "shrink", "shut",
    "signal", "sit", "skip", "sleep", "slow", "solve", "sort", "speak", "spend", "spike",
    "split", "spread", "stall", "stamp", "stand", "start", "state", "stay", "stick", "stitch",
    "stop", "store", "stream", "strip", "subscribe", "succeed", "suffer", "suit", "supply",
    "support", "survive", "swap", "sweep", "switch", "sync", "tail", "take", "talk", "target",
    "teach", "tear", "tell", "tend", "test", "think", "throttle", "throw", "tick", "tie",
    "time", "touch", "trace", "track", "transfer", "trigger", "trim", "truncate", "trust",
    "try", "turn", "understand", "undo", "unlock", "update", "upgrade", "upload", "use",
    "validate", "verify", "version", "wait", "wake", "want", "warn", "watch", "win", "wipe",
    "withdraw", "wonder", "work", "worry", "wrap", "write",
];

/// Verbs that are just as often nouns in answers about messaging (`two writes`, `the retry
/// queue`, `consumer lag`).
#[rustfmt::skip]
const NOUNISH: &[&str] = &[
    "alert", "audit", "back", "own", "separate", "batch", "block", "buffer", "cache", "call", "change",
    "charge", "check", "claim", "commit", "control", "copy", "cost", "crash", "cut", "delay",
    "design", "double", "duplicate", "email", "end", "fan", "filter", "fire", "flow", "flush",
    "group", "hash", "hit", "index", "insert", "key", "lag", "land", "last", "lead", "leak",
    "limit", "link", "list", "load", "lock", "log", "look", "loop", "mark", "match", "matter",
    "offer", "order", "page", "partition", "pass", "pause", "place", "plan", "poll", "post",
    "process", "produce", "project", "promise", "query", "queue", "read", "record", "relay",
    "release", "replay", "reply", "report", "request", "reset", "retry", "return", "ring",
    "rise", "risk", "roll", "route", "run", "save", "scale", "scan", "schedule", "score",
    "search", "set", "share", "ship", "signal", "sort", "spike", "split", "spread", "stamp",
    "stand", "start", "state", "stop", "store", "stream", "supply", "support", "switch",
    "sync", "tail", "target", "test", "tick", "time", "touch", "trace", "track", "transfer",
    "trigger", "trim", "turn", "update", "upgrade", "upload", "version", "wait", "watch",
    "work", "write",
];

/// Irregular past tenses and participles: `(form, base)`.
#[rustfmt::skip]
const IRREGULAR: &[(&str, &str)] = &[
    ("became", "become"), ("began", "begin"), ("begun", "begin"), ("bound", "bind"),
    ("blew", "blow"), ("blown", "blow"), ("broke", "break"), ("broken", "break"),
    ("brought", "bring"), ("built", "build"), ("bought", "buy"), ("caught", "catch"),
    ("chose", "choose"), ("chosen", "choose"), ("came", "come"), ("dealt", "deal"),
    ("died", "die"), ("dying", "die"), ("did", "do"), ("done", "do"), ("drew", "draw"),
    ("drawn", "draw"), ("drove", "drive"), ("driven", "drive"), ("fell", "fall"),
    ("fallen", "fall"), ("fed", "feed"), ("found", "find"), ("forgot", "forget"),
    ("forgotten", "forget"), ("got", "get"), ("gotten", "get"), ("gave", "give"),
    ("given", "give"), ("went", "go"), ("gone", "go"), ("grew", "grow"), ("grown", "grow"),
    ("hung", "hang"), ("had", "have"), ("heard", "hear"), ("hid", "hide"), ("hidden", "hide"),
    ("held", "hold"), ("kept", "keep"), ("knew", "know"), ("known", "know"), ("led", "lead"),
    ("learnt", "learn"), ("left", "leave"), ("lost", "lose"), ("made", "make"),
    ("meant", "mean"), ("met", "meet"), ("overtook", "overtake"), ("overtaken", "overtake"),
    ("overwrote", "overwrite"), ("overwritten", "overwrite"), ("paid", "pay"),
    ("rebuilt", "rebuild"), ("redid", "redo"), ("redone", "redo"), ("reran", "rerun"),
    ("resent", "resend"), ("rewrote", "rewrite"), ("rewritten", "rewrite"), ("rode", "ride"),
    ("rang", "ring"), ("rung", "ring"), ("rose", "rise"), ("risen", "rise"), ("ran", "run"),
    ("said", "say"), ("saw", "see"), ("seen", "see"), ("sought", "seek"), ("sold", "sell"),
    ("sent", "send"), ("shown", "show"), ("shrank", "shrink"), ("shrunk", "shrink"),
    ("sat", "sit"), ("slept", "sleep"), ("spoke", "speak"), ("spoken", "speak"),
    ("spent", "spend"), ("stood", "stand"), ("stuck", "stick"), ("swept", "sweep"),
    ("took", "take"), ("taken", "take"), ("taught", "teach"), ("tore", "tear"),
    ("torn", "tear"), ("told", "tell"), ("thought", "think"), ("threw", "throw"),
    ("thrown", "throw"), ("understood", "understand"), ("undid", "undo"), ("undone", "undo"),
    ("woke", "wake"), ("woken", "wake"), ("won", "win"), ("withdrew", "withdraw"),
    ("withdrawn", "withdraw"), ("wrote", "write"), ("written", "write"),
];

fn nounish() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| NOUNISH.iter().copied().collect())
}

/// The word as a form of a known verb, if it is one.
pub fn verb_form(word: &str) -> Option<VerbForm> {
    forms().get(word).copied()
}

/// Every form of every known verb, built once: base, third person, past and participle, `-ing`.
fn forms() -> &'static HashMap<String, VerbForm> {
    static TABLE: OnceLock<HashMap<String, VerbForm>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = HashMap::new();
        let nounish = nounish();
        // Earlier entries win: an irregular past, then a base form (`read`, `put` are their
        // own past), then the regular inflections.
        for (word, base) in IRREGULAR {
            let form = VerbForm {
                form: Form::Past,
                nounish: nounish.contains(base),
            };
            table.insert(word.to_string(), form);
        }
        for base in VERBS {
            let nounish = nounish.contains(base);
            table.entry(base.to_string()).or_insert(VerbForm {
                form: Form::Base,
                nounish,
            });
        }
        for base in VERBS {
            let nounish = nounish.contains(base);
            for (word, form) in inflections(base) {
                table.entry(word).or_insert(VerbForm { form, nounish });
            }
        }
        table
    })
}

/// The regular inflections of a base form, generously: `drop` gives `dropped` and `droped`,
/// `use` gives `using`; a form no one writes is never looked up.
fn inflections(base: &str) -> Vec<(String, Form)> {
    let mut out = Vec::new();
    let last = base.chars().last().unwrap_or(' ');
    let vowel = |c: char| "aeiou".contains(c);
    let stem_y = base
        .strip_suffix('y')
        .filter(|s| s.chars().last().is_some_and(|c| !vowel(c)));
    let stem_e = base.strip_suffix('e').filter(|s| !s.ends_with('e'));
    // Third person.
    if let Some(stem) = stem_y {
        out.push((format!("{stem}ies"), Form::Third));
    } else if base.ends_with(['s', 'x', 'z', 'o']) || base.ends_with("sh") || base.ends_with("ch") {
        out.push((format!("{base}es"), Form::Third));
    } else {
        out.push((format!("{base}s"), Form::Third));
    }
    // Past and participle.
    if let Some(stem) = stem_y {
        out.push((format!("{stem}ied"), Form::Past));
    }
    if last == 'e' {
        out.push((format!("{base}d"), Form::Past));
    } else {
        out.push((format!("{base}ed"), Form::Past));
        out.push((format!("{base}{last}ed"), Form::Past));
    }
    // `-ing`.
    if let Some(stem) = base.strip_suffix("ie") {
        out.push((format!("{stem}ying"), Form::Ing));
    }
    match stem_e {
        Some(stem) => out.push((format!("{stem}ing"), Form::Ing)),
        None => {
            out.push((format!("{base}ing"), Form::Ing));
            out.push((format!("{base}{last}ing"), Form::Ing));
        }
    }
    out
}

/// Finite auxiliaries, modals and copulas: a clause that has one says something.
pub fn is_auxiliary(word: &str) -> bool {
    AUXILIARIES.contains(&word)
}

#[rustfmt::skip]
const AUXILIARIES: &[&str] = &[
    "is", "are", "was", "were", "am", "be", "been", "being", "has", "have", "had", "do",
    "does", "did", "can", "could", "will", "would", "shall", "should", "may", "might", "must",
    "need", "needs", "ought", "gets", "get", "got", "means", "mean",
];

/// Words that make a verbless fragment a statement on their own: `no outbox needed`.
pub fn is_predicative(word: &str) -> bool {
    PREDICATIVE.contains(&word)
}

#[rustfmt::skip]
const PREDICATIVE: &[&str] = &[
    "needed", "required", "necessary", "unnecessary", "unneeded", "enough", "fine", "ok",
    "okay", "safe", "unsafe", "harmless", "pointless", "overkill", "possible", "impossible",
    "expected", "acceptable", "better", "worse", "wrong",
];

/// Personal and relative pronouns and other words that stand as a subject.
pub fn is_subject_pronoun(word: &str) -> bool {
    SUBJECT_PRONOUNS.contains(&word)
}

#[rustfmt::skip]
const SUBJECT_PRONOUNS: &[&str] = &[
    "i", "you", "we", "they", "it", "he", "she", "that", "which", "who", "this", "these",
    "those", "one", "nobody", "noone", "nothing", "everyone", "everybody", "everything",
    "someone", "somebody", "something", "each", "both", "either", "neither", "all", "there",
];

/// Words after which a base-form verb is a verb (`to publish`, `you publish`, `should publish`).
pub fn licenses_base(word: &str) -> bool {
    matches!(
        word,
        "i" | "you" | "we" | "they" | "to" | "not" | "never" | "always" | "just"
    ) || (is_auxiliary(word) && !matches!(word, "gets" | "got" | "means" | "has" | "is"))
}

/// Determiners and quantifiers: a noun, not a verb, follows them.
pub fn is_determiner(word: &str) -> bool {
    DETERMINERS.contains(&word)
}

#[rustfmt::skip]
const DETERMINERS: &[&str] = &[
    "a", "an", "the", "each", "every", "all", "any", "some", "no", "its", "their", "your",
    "our", "my", "his", "her", "this", "that", "these", "those", "another", "other", "one",
    "two", "three", "four", "five", "six", "many", "several", "few", "more", "most", "less",
    "much", "both", "either", "such",
];

/// Prepositions and particles.
pub fn is_preposition(word: &str) -> bool {
    PREPOSITIONS.contains(&word)
}

#[rustfmt::skip]
const PREPOSITIONS: &[&str] = &[
    "to", "of", "in", "on", "at", "by", "for", "from", "with", "into", "onto", "over", "under",
    "after", "before", "until", "via", "per", "off", "out", "up", "down", "back", "through",
    "across", "within", "between", "among", "behind", "around", "about", "again", "away",
    "once", "twice", "later", "first", "only", "just", "immediately", "instead", "too",
    "anyway",
];

/// Adjectives that often stand before a noun, so the noun after them is not a verb.
pub fn is_adjective(word: &str) -> bool {
    ADJECTIVES.contains(&word)
}

#[rustfmt::skip]
const ADJECTIVES: &[&str] = &[
    "separate", "same", "different", "single", "multiple", "new", "old", "own", "duplicate",
    "idempotent", "local", "remote", "distributed", "atomic", "async", "asynchronous",
    "synchronous", "sync", "unpublished", "pending", "stale", "late", "early", "full", "thin",
    "fat", "small", "large", "big", "bigger", "larger", "concurrent", "parallel",
    "independent", "competing", "durable", "internal", "external", "sensitive", "whole",
    "entire", "second", "last", "next", "exact", "extra", "dead", "oldest", "newest",
    "processed", "published", "failed", "lost", "missing", "global", "low", "high", "real",
];

/// What a word does to the words after it in its clause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denial {
    /// `not`, `never`, `no`, `without`: denies what follows.
    Negates,
    /// `instead of`, `rather than`, `unless`, `as opposed to`, `avoid`: sets what follows aside
    /// as the rejected alternative or a mere condition.
    SetsAside,
}

/// Whether the word at `i` denies or sets aside what follows it, looking at its neighbours for
/// the two-word forms (`instead of`, `rather than`, `as opposed to`).
pub fn denial(words: &[&str], i: usize) -> Option<Denial> {
    let next = words.get(i + 1).copied();
    match words[i] {
        "not" if next == Some("only") => None,
        "not" | "never" | "no" | "without" | "neither" | "nor" | "cannot" | "nothing"
        | "nobody" | "none" | "noone" => Some(Denial::Negates),
        w if is_negative_auxiliary(w) => Some(Denial::Negates),
        "instead" if next == Some("of") => Some(Denial::SetsAside),
        "rather" if next == Some("than") => Some(Denial::SetsAside),
        "opposed" if i > 0 && words[i - 1] == "as" && next == Some("to") => Some(Denial::SetsAside),
        "unless" | "avoid" | "avoids" | "avoiding" => Some(Denial::SetsAside),
        _ => None,
    }
}

/// `dont`, `isnt`: negative contractions typed without the apostrophe.
pub fn is_negative_auxiliary(word: &str) -> bool {
    NEGATIVE_AUXILIARIES.contains(&word)
}

#[rustfmt::skip]
const NEGATIVE_AUXILIARIES: &[&str] = &[
    "dont", "doesnt", "didnt", "cant", "wont", "isnt", "arent", "wasnt", "werent", "shouldnt",
    "wouldnt", "couldnt", "havent", "hasnt", "aint", "mustnt", "neednt",
];

/// Words that open a new clause, so a denial before them does not reach past them.
pub fn ends_scope(word: &str) -> bool {
    SCOPE_ENDERS.contains(&word)
}

#[rustfmt::skip]
const SCOPE_ENDERS: &[&str] = &[
    "but", "because", "since", "although", "though", "whereas", "while", "which", "who", "so",
    "however", "otherwise", "unless", "when", "whenever", "if", "yet", "hence", "thus",
    "therefore",
];

/// Coordinators: they end a denial's reach only when a new predicate follows them.
pub fn is_coordinator(word: &str) -> bool {
    matches!(word, "and" | "or" | "then" | "plus")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(word: &str) -> Option<Form> {
        verb_form(word).map(|v| v.form)
    }

    #[test]
    fn inflections_lead_back_to_the_base() {
        assert_eq!(form("publishes"), Some(Form::Third));
        assert_eq!(form("copies"), Some(Form::Third));
        assert_eq!(form("dedupes"), Some(Form::Third));
        assert_eq!(form("published"), Some(Form::Past));
        assert_eq!(form("dropped"), Some(Form::Past));
        assert_eq!(form("stored"), Some(Form::Past));
        assert_eq!(form("retried"), Some(Form::Past));
        assert_eq!(form("sent"), Some(Form::Past));
        assert_eq!(form("using"), Some(Form::Ing));
        assert_eq!(form("polling"), Some(Form::Ing));
        assert_eq!(form("compete"), Some(Form::Base));
        assert_eq!(form("consumers"), None);
        assert_eq!(form("process"), Some(Form::Base));
        assert_eq!(form("subscribers"), None);
    }

    #[test]
    fn nounish_verbs_are_marked() {
        assert!(verb_form("retry").unwrap().nounish);
        assert!(verb_form("writes").unwrap().nounish);
        assert!(!verb_form("publishes").unwrap().nounish);
    }

    #[test]
    fn two_word_denials() {
        let words = ["use", "a", "topic", "instead", "of", "a", "queue"];
        assert_eq!(denial(&words, 3), Some(Denial::SetsAside));
        assert_eq!(denial(&["instead", "use"], 0), None);
        assert_eq!(denial(&["not", "only"], 0), None);
        assert_eq!(denial(&["as", "opposed", "to"], 1), Some(Denial::SetsAside));
    }
}
