//! An answer as the pattern language reads it: lowercase words in sentences and clauses, and the
//! words that negate what follows them.

/// One word of an answer and the clause it stands in (clauses are counted per sentence).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub word: String,
    pub clause: usize,
}

/// Contractions expanded before matching, so `don't` reads as `do not`.
const CONTRACTIONS: &[(&str, &str)] = &[
    ("can't", "can not"),
    ("won't", "will not"),
    ("shan't", "shall not"),
    ("n't", " not"),
    ("'re", " are"),
    ("'ll", " will"),
    ("'ve", " have"),
    ("'m", " am"),
    ("'d", " would"),
    ("it's", "it is"),
    ("that's", "that is"),
    ("there's", "there is"),
    ("let's", "let us"),
    ("what's", "what is"),
];

/// Splits an answer into sentences of tokens.
pub fn sentences(text: &str) -> Vec<Vec<Token>> {
    let mut text = text.to_lowercase().replace(['\u{2019}', '\u{2018}'], "'");
    for (from, to) in CONTRACTIONS {
        text = text.replace(from, to);
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut sentence: Vec<Token> = Vec::new();
    let mut clause = 0;
    let mut word = String::new();
    let flush = |word: &mut String, sentence: &mut Vec<Token>, clause: usize| {
        if !word.is_empty() {
            sentence.push(Token {
                word: std::mem::take(word),
                clause,
            });
        }
    };
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1).copied();
        let between_digits =
            prev.is_some_and(|p| p.is_ascii_digit()) && next.is_some_and(|n| n.is_ascii_digit());
        match c {
            'a'..='z' | '0'..='9' => word.push(c),
            // 1,000 and 545.00 stay one number.
            '.' | ',' if between_digits => {}
            '.' | '!' | '?' | '\n' => {
                flush(&mut word, &mut sentence, clause);
                if !sentence.is_empty() {
                    out.push(std::mem::take(&mut sentence));
                }
                clause = 0;
            }
            ',' | ';' | ':' | '(' | ')' | '\u{2014}' | '\u{2013}' => {
                flush(&mut word, &mut sentence, clause);
                clause += 1;
            }
            '-' if prev == Some(' ') && matches!(next, Some(' ') | Some('-')) => {
                flush(&mut word, &mut sentence, clause);
                clause += 1;
            }
            _ => flush(&mut word, &mut sentence, clause),
        }
    }
    flush(&mut word, &mut sentence, clause);
    if !sentence.is_empty() {
        out.push(sentence);
    }
    out
}

/// Words that negate what follows them in the same clause.
pub fn is_negator(word: &str) -> bool {
    matches!(
        word,
        "not" | "no" | "never" | "without" | "neither" | "nor" | "cannot"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<Vec<String>> {
        sentences(text)
            .into_iter()
            .map(|s| s.into_iter().map(|t| t.word).collect())
            .collect()
    }

    #[test]
    fn lowercases_expands_contractions_and_splits_sentences() {
        assert_eq!(
            words("You DON'T need it. It's fine!"),
            vec![
                vec!["you", "do", "not", "need", "it"],
                vec!["it", "is", "fine"]
            ]
        );
        assert_eq!(words("can\u{2019}t"), vec![vec!["can", "not"]]);
    }

    #[test]
    fn hyphens_and_underscores_split_words_numbers_stay_whole() {
        assert_eq!(
            words("point-to-point published_at"),
            vec![vec!["point", "to", "point", "published", "at"]]
        );
        assert_eq!(
            words("a balance of 1,545.00"),
            vec![vec!["a", "balance", "of", "154500"]]
        );
    }

    #[test]
    fn commas_and_semicolons_start_new_clauses() {
        let s = &sentences("no, the outbox; works")[0];
        assert_eq!(
            s.iter().map(|t| t.clause).collect::<Vec<_>>(),
            vec![0, 1, 1, 2]
        );
    }
}
