//! The rubric pattern language: words in order, small gaps, prefixes, alternatives, negation.
//!
//! `publish* inside|within transaction` matches a sentence where a word starting with `publish`
//! is followed, with at most three other words between each, by `inside` or `within`, then by
//! `transaction` (or `transactions`). A match whose first word has a negator (`not`, `never`,
//! `without`, …) up to three words before it in the same clause is negated.

use super::text::{Token, is_negator};

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

/// Where a pattern matched in an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// The words that matched, as the learner wrote them.
    pub words: String,
    pub negated: bool,
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

    /// The first match in the answer that is not negated, or else the first negated one.
    pub fn find(&self, sentences: &[Vec<Token>]) -> Option<Hit> {
        let mut negated_hit = None;
        for sentence in sentences {
            let mut found = None;
            self.search(sentence, 0, &mut Vec::new(), &mut |indexes| {
                let hit = Hit {
                    words: indexes
                        .iter()
                        .map(|&i| sentence[i].word.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                    negated: negated(sentence, indexes),
                };
                if hit.negated {
                    negated_hit.get_or_insert(hit);
                    false
                } else {
                    found = Some(hit);
                    true
                }
            });
            if found.is_some() {
                return found;
            }
        }
        negated_hit
    }

    /// Whether the pattern matches somewhere without being negated.
    pub fn asserted(&self, sentences: &[Vec<Token>]) -> bool {
        self.find(sentences).is_some_and(|hit| !hit.negated)
    }

    /// Depth-first search over placements of the terms; `visit` returns true to stop.
    fn search(
        &self,
        sentence: &[Token],
        from: usize,
        placed: &mut Vec<usize>,
        visit: &mut dyn FnMut(&[usize]) -> bool,
    ) -> bool {
        let term = placed.len();
        if term == self.terms.len() {
            return visit(placed);
        }
        let end = if term == 0 {
            sentence.len()
        } else {
            sentence.len().min(from + MAX_GAP + 1)
        };
        for i in from..end {
            if self.terms[term]
                .iter()
                .any(|alt| alt.matches(&sentence[i].word))
            {
                placed.push(i);
                if self.search(sentence, i + 1, placed, visit) {
                    return true;
                }
                placed.pop();
            }
        }
        false
    }
}

/// How far before a match a negator still reaches: a negation scopes over its verb phrase
/// ("it is not safe enough to just publish after commit").
pub const NEGATION_REACH: usize = 5;

/// A negator before the match in its clause, or in a gap between its terms ("consumers don't
/// call back" does not assert "consumers call back").
fn negated(sentence: &[Token], matched: &[usize]) -> bool {
    let first = matched[0];
    let clause = sentence[first].clause;
    let before = sentence[first.saturating_sub(NEGATION_REACH)..first]
        .iter()
        .any(|t| t.clause == clause && is_negator(&t.word));
    let within = (first..=*matched.last().unwrap_or(&first))
        .filter(|i| !matched.contains(i))
        .any(|i| is_negator(&sentence[i].word));
    before || within
}

#[cfg(test)]
mod tests {
    use super::super::text::sentences;
    use super::*;

    fn hit(pattern: &str, text: &str) -> Option<Hit> {
        Pattern::parse(pattern).unwrap().find(&sentences(text))
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
    fn negation_before_the_first_term_in_the_same_clause() {
        assert!(
            hit("need* outbox", "you do not need an outbox")
                .unwrap()
                .negated
        );
        assert!(
            !hit("need* outbox", "no, you need an outbox")
                .unwrap()
                .negated
        );
        assert!(hit("atomic", "it cannot be atomic").unwrap().negated);
        assert!(
            hit("consumer* call* back", "ecst consumers do not call back")
                .unwrap()
                .negated
        );
        assert!(
            hit(
                "publish* after commit",
                "it is not safe enough to just publish after commit"
            )
            .unwrap()
            .negated
        );
        // A later, un-negated occurrence wins.
        assert!(
            !hit("need* outbox", "not sure. you need an outbox")
                .unwrap()
                .negated
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
