//! The rubric pattern language: words in order, small gaps, prefixes, alternatives, negation.
//!
//! `publish* inside|within transaction` matches a clause where a word starting with `publish`
//! is followed, with at most three other words between each, by `inside` or `within`, then by
//! `transaction` (or `transactions`). A match counts only where the answer asserts it: not under
//! a denial (`not`, `never`, `without`, `instead of`, …), not in a bare list of terms, not in
//! quotation marks.

use serde::Serialize;

use super::lexicon::{is_auxiliary, is_negative_auxiliary};
use super::text::{Answer, Sentence, denied, denies, is_light};

/// How many unmatched words may stand between two consecutive terms.
pub const MAX_GAP: usize = 3;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Alt {
    /// The word itself, or its plural.
    Word(String),
    /// Any word that starts with this.
    Prefix(String),
}

impl Alt {
    fn matches(&self, word: &str) -> bool {
        match self {
            Alt::Prefix(p) => word.starts_with(p.as_str()),
            Alt::Word(w) => {
                word == w
                    || word
                        .strip_prefix(w.as_str())
                        .is_some_and(|rest| rest == "s" || rest == "es")
                    || (w.ends_with('y') && word.strip_suffix("ies") == Some(&w[..w.len() - 1]))
            }
        }
    }
}

/// A compiled pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    source: String,
    terms: Vec<Vec<Alt>>,
}

/// How an answer stands to the words a pattern matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Standing {
    /// A clause of the answer says it.
    Asserted,
    /// The words are there, but under `not`, `never`, `without`, `instead of`, `unless`...
    Denied,
    /// The words are there, but only as terms in a list, with nothing said about them.
    Listed,
    /// The words are there, but only inside quotation marks.
    Quoted,
}

/// Where a pattern matched in an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// The words that matched, as the learner wrote them.
    pub words: String,
    /// The clause they stand in, as the learner wrote it.
    pub clause: String,
    pub standing: Standing,
    /// Where: the sentence, and the matched tokens in it.
    pub sentence: usize,
    pub at: Vec<usize>,
}

impl Hit {
    pub fn asserted(&self) -> bool {
        self.standing == Standing::Asserted
    }
}

impl Pattern {
    /// Compiles a pattern, or says what is wrong with it.
    pub fn parse(source: &str) -> Result<Pattern, String> {
        if source.trim().is_empty() {
            return Err("the pattern is empty".to_string());
        }
        if source != source.trim() || source.contains("  ") {
            return Err(
                "separate terms with single spaces, no leading or trailing space".to_string(),
            );
        }
        let mut terms = Vec::new();
        for term in source.split(' ') {
            let mut alts = Vec::new();
            for alt in term.split('|') {
                let (stem, prefix) = match alt.strip_suffix('*') {
                    Some(stem) => (stem, true),
                    None => (alt, false),
                };
                if stem.is_empty() {
                    return Err(format!("'{term}' has an empty alternative"));
                }
                if let Some(bad) = stem
                    .chars()
                    .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
                {
                    return Err(format!(
                        "'{alt}' contains '{bad}': write lowercase letters and digits only, with `*` at the end for a prefix and `|` between alternatives"
                    ));
                }
                if prefix && stem.len() < 2 {
                    return Err(format!(
                        "'{alt}' is too short a prefix: it would match almost any word"
                    ));
                }
                alts.push(if prefix {
                    Alt::Prefix(stem.to_string())
                } else {
                    Alt::Word(stem.to_string())
                });
            }
            terms.push(alts);
        }
        Ok(Pattern {
            source: source.to_string(),
            terms,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The first match in the answer that a clause asserts, or else the first match that
    /// stands in some other way (denied before listed before quoted).
    pub fn find(&self, answer: &Answer) -> Option<Hit> {
        self.find_apart(answer, &[])
    }

    /// Like [`Pattern::find`], but no match may share a word with any of `taken`.
    pub fn find_apart(&self, answer: &Answer, taken: &[Hit]) -> Option<Hit> {
        let mut other: Option<Hit> = None;
        for (number, sentence) in answer.sentences.iter().enumerate() {
            for clause in &sentence.clauses {
                let mut asserted = None;
                let from = clause.label.unwrap_or(clause.first);
                self.search(sentence, from, clause.end, 0, &mut Vec::new(), &mut |at| {
                    if taken
                        .iter()
                        .any(|t| t.sentence == number && at.iter().any(|i| t.at.contains(i)))
                    {
                        return false;
                    }
                    let standing = standing(sentence, at);
                    if standing == Standing::Asserted
                        || other.as_ref().is_none_or(|o| standing < o.standing)
                    {
                        let hit = Hit {
                            words: at
                                .iter()
                                .map(|&i| sentence.tokens[i].word.as_str())
                                .collect::<Vec<_>>()
                                .join(" "),
                            clause: answer
                                .span(&sentence.tokens[clause.first..clause.end])
                                .to_string(),
                            standing,
                            sentence: number,
                            at: at.to_vec(),
                        };
                        if standing == Standing::Asserted {
                            asserted = Some(hit);
                            return true;
                        }
                        other = Some(hit);
                    }
                    false
                });
                if asserted.is_some() {
                    return asserted;
                }
            }
        }
        other
    }

    /// Whether a clause of the answer asserts what the pattern matches.
    pub fn asserted(&self, answer: &Answer) -> bool {
        self.find(answer).is_some_and(|hit| hit.asserted())
    }

    /// Depth-first search over placements of the terms in `from..end`; `visit` returns true to
    /// stop.
    fn search(
        &self,
        sentence: &Sentence,
        from: usize,
        end: usize,
        term: usize,
        placed: &mut Vec<usize>,
        visit: &mut dyn FnMut(&[usize]) -> bool,
    ) -> bool {
        if term == self.terms.len() {
            return visit(placed);
        }
        let last = if term == 0 {
            end
        } else {
            end.min(from + MAX_GAP + 1)
        };
        // After a denial the pattern names itself (`no|not need* outbox`), only light words may
        // come before the next term: `not the bytes`, but not `no need for a single owner`.
        let after_denial = placed.last().is_some_and(|&p| denies(sentence, p));
        for i in from..last {
            if after_denial && i > from && !is_light(&sentence.tokens[i - 1].word) {
                break;
            }
            if self.terms[term]
                .iter()
                .any(|alt| alt.matches(&sentence.tokens[i].word))
            {
                placed.push(i);
                if self.search(sentence, i + 1, end, term + 1, placed, visit) {
                    return true;
                }
                placed.pop();
            }
        }
        false
    }
}

/// Whether the words ending at `last` are the subject of a denied predicate: `queue depth
/// doesn't matter`, `the outbox never loses events`.
fn subject_of_denial(sentence: &Sentence, last: usize) -> bool {
    let clause = sentence.tokens[last].clause;
    let word = |i: usize| {
        sentence
            .tokens
            .get(i)
            .filter(|t| t.clause == clause)
            .map(|t| t.word.as_str())
    };
    let negates = |i: usize| {
        word(i).is_some_and(|w| matches!(w, "not" | "never") || is_negative_auxiliary(w))
            && denies(sentence, i)
    };
    negates(last + 1) || (word(last + 1).is_some_and(is_auxiliary) && negates(last + 2))
}

/// How the sentence stands to the words at `at`: quoted, denied (by a denial that is not one
/// of the matched words themselves, or one standing between them: `outbox is not needed
/// because`), in a clause that only lists terms, or asserted.
fn standing(sentence: &Sentence, at: &[usize]) -> Standing {
    if at.iter().any(|&i| sentence.tokens[i].quoted) {
        Standing::Quoted
    } else if at.iter().any(|&i| denied(sentence, i, at))
        || (at[0]..at[at.len() - 1]).any(|i| !at.contains(&i) && denies(sentence, i))
        || subject_of_denial(sentence, at[at.len() - 1])
    {
        Standing::Denied
    } else if at
        .iter()
        .any(|&i| !sentence.clauses[sentence.tokens[i].clause].asserts)
    {
        Standing::Listed
    } else {
        Standing::Asserted
    }
}

#[cfg(test)]
mod tests {
    use super::super::text::Answer;
    use super::*;

    fn hit(pattern: &str, text: &str) -> Option<Hit> {
        Pattern::parse(pattern).unwrap().find(&Answer::read(text))
    }

    fn standing(pattern: &str, text: &str) -> Option<Standing> {
        hit(pattern, text).map(|h| h.standing)
    }

    #[test]
    fn terms_match_in_order_with_small_gaps() {
        assert!(hit("same transaction", "in the very same local db transaction").is_some());
        assert!(
            hit(
                "same transaction",
                "the same thing happens in one big transaction"
            )
            .is_none()
        );
        assert!(hit("transaction same", "same transaction").is_none());
    }

    #[test]
    fn prefixes_plurals_and_alternatives() {
        assert!(hit("publish* event", "publishing events").is_some());
        assert!(hit("queue|topic consumer", "topics have consumers").is_some());
        assert!(hit("entry", "two entries").is_some());
        assert!(hit("broadcast", "broadcasting").is_none());
    }

    #[test]
    fn a_match_stays_inside_its_clause() {
        // The X12 answer: `give ... exactly once` spans two clauses and says nothing wrong.
        let answer = "brokers give at-least-once; exactly-once processing is built by the app";
        assert!(hit("give* exactly once", answer).is_none());
        assert!(hit("exactly once processing", answer).is_some());
    }

    #[test]
    fn denials_reach_to_the_end_of_their_clause() {
        use Standing::*;
        assert_eq!(
            standing("need* outbox", "you do not need an outbox"),
            Some(Denied)
        );
        assert_eq!(
            standing("need* outbox", "no, you need an outbox"),
            Some(Asserted)
        );
        assert_eq!(
            standing("need* outbox", "no you need an outbox"),
            Some(Asserted)
        );
        assert_eq!(standing("atomic", "it cannot be atomic"), Some(Denied));
        assert_eq!(
            standing("consumer* call* back", "ecst consumers do not call back"),
            Some(Denied)
        );
        assert_eq!(
            standing(
                "same transaction",
                "the outbox row does not need to be in the same transaction as the order"
            ),
            Some(Denied)
        );
        assert_eq!(
            standing(
                "publish* after commit",
                "write an outbox row instead of publishing after commit"
            ),
            Some(Denied)
        );
        assert_eq!(
            standing(
                "publish* after commit",
                "rather than publish after commit, use an outbox"
            ),
            Some(Denied)
        );
        assert_eq!(
            standing(
                "relay publish*",
                "the row does not need the same transaction and a relay publishes it"
            ),
            Some(Asserted)
        );
        assert_eq!(
            standing(
                "keep* local copy",
                "consumers don't call back and keep a local copy"
            ),
            Some(Asserted)
        );
        // A later, asserted occurrence wins.
        assert_eq!(
            standing("need* outbox", "not sure. you need an outbox"),
            Some(Asserted)
        );
        // A pattern that holds its own denial asserts the denial.
        assert_eq!(
            standing("no|not need* outbox", "you do not need an outbox"),
            Some(Asserted)
        );
        assert_eq!(
            standing("need* outbox", "I don't think that you need an outbox"),
            Some(Denied)
        );
        assert_eq!(
            standing("need* outbox", "I don't think you need an outbox"),
            Some(Denied)
        );
    }

    #[test]
    fn lists_and_quotations_assert_nothing() {
        assert_eq!(
            standing(
                "competing consumer*",
                "queue, topic, competing consumers, copy, broadcast"
            ),
            Some(Standing::Listed)
        );
        assert_eq!(
            standing(
                "just publish* after commit",
                "the team's \"just publish after commit\" loses events on a crash"
            ),
            Some(Standing::Quoted)
        );
        assert_eq!(
            standing(
                "same transaction",
                "\"the event is written in the same transaction\""
            ),
            Some(Standing::Asserted)
        );
    }

    #[test]
    fn bad_patterns_say_what_is_wrong() {
        assert!(Pattern::parse("Publish").unwrap_err().contains("lowercase"));
        assert!(Pattern::parse("a*").unwrap_err().contains("too short"));
        assert!(Pattern::parse("a  b").is_err());
        assert!(
            Pattern::parse("a||b")
                .unwrap_err()
                .contains("empty alternative")
        );
        assert!(Pattern::parse("").is_err());
    }
}
