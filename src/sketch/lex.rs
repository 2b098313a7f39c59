//! The lexer: a sketch's text as tokens and comments with byte offsets into the source, and the
//! few helpers every later stage uses to read names out of a run of tokens.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// Keyword or bare identifier, lowercased.
    Word,
    /// "Quoted" identifier, as written.
    Quoted,
    /// String literal, unescaped; `inner` is where its content lies in the source.
    Str,
    Num,
    /// `$1`, `?`, `?2`, `:name`, `@name`, `$name`.
    Param,
    Punct,
}

#[derive(Clone, Debug)]
pub(super) struct Tok {
    pub(super) kind: Kind,
    pub(super) text: String,
    pub(super) start: usize,
    pub(super) end: usize,
    /// First token on its line.
    pub(super) line_start: bool,
    pub(super) inner: (usize, usize),
}

impl Tok {
    pub(super) fn is_word(&self, w: &str) -> bool {
        self.kind == Kind::Word && self.text == w
    }

    pub(super) fn is_punct(&self, p: &str) -> bool {
        self.kind == Kind::Punct && self.text == p
    }

    pub(super) fn ident(&self) -> Option<String> {
        match self.kind {
            Kind::Word => Some(self.text.clone()),
            Kind::Quoted => Some(self.text.to_lowercase()),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub(super) struct Comment {
    pub(super) text: String,
    pub(super) start: usize,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

struct Lexer<'s> {
    src: &'s str,
    bytes: &'s [u8],
    to: usize,
    /// Dollar quotes that never closed. Each costs a scan to the end, so after a few of them
    /// `$tag$` is no longer taken as a quote.
    dollar_misses: std::cell::Cell<usize>,
}

const MAX_DOLLAR_MISSES: usize = 32;

impl<'s> Lexer<'s> {
    fn at(&self, i: usize) -> u8 {
        if i < self.to {
            self.bytes.get(i).copied().unwrap_or(0)
        } else {
            0
        }
    }

    fn slice(&self, a: usize, b: usize) -> &'s str {
        self.src.get(a..b.min(self.to)).unwrap_or("")
    }

    fn eol(&self, from: usize) -> usize {
        let mut j = from;
        while j < self.to && self.at(j) != b'\n' {
            j += 1;
        }
        j
    }

    /// A quoted run starting at `i` (the opening quote). Returns the unescaped content, the end
    /// (after the closing quote) and the content's range. An unterminated quote ends at the end
    /// of its line, so a stray apostrophe in pseudocode cannot swallow the rest of the sketch.
    fn quoted(&self, i: usize, q: u8, backslash: bool) -> (String, usize, (usize, usize)) {
        let mut content = String::new();
        let mut j = i + 1;
        let mut seg = j;
        while j < self.to {
            let c = self.at(j);
            if backslash && c == b'\\' {
                content.push_str(self.slice(seg, j));
                let next = self.at(j + 1);
                if next != 0 && next.is_ascii() {
                    content.push(char::from(next));
                    j += 2;
                } else {
                    j += 1;
                }
                seg = j;
                continue;
            }
            if c == q {
                if self.at(j + 1) == q {
                    content.push_str(self.slice(seg, j + 1));
                    j += 2;
                    seg = j;
                    continue;
                }
                content.push_str(self.slice(seg, j));
                return (content, j + 1, (i + 1, j));
            }
            j += 1;
        }
        let end = self.eol(i + 1);
        (self.slice(i + 1, end).to_string(), end, (i + 1, end))
    }
}

/// Tokens and comments of `src[from..to]`, with offsets into `src`.
pub(super) fn lex(src: &str, from: usize, to: usize) -> (Vec<Tok>, Vec<Comment>) {
    let lx = Lexer {
        src,
        bytes: src.as_bytes(),
        to: to.min(src.len()),
        dollar_misses: std::cell::Cell::new(0),
    };
    let mut toks = Vec::new();
    let mut comments = Vec::new();
    let mut i = from;
    let mut line_start = true;
    while i < lx.to {
        let c = lx.at(i);
        if c == b'\n' {
            line_start = true;
            i += 1;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let n1 = lx.at(i + 1);
        // Line comments: SQL's `--`, and `//` or a leading `#` that learners use in pseudocode.
        if (c == b'-' && n1 == b'-') || (c == b'/' && n1 == b'/') || (c == b'#' && line_start) {
            let end = lx.eol(i);
            comments.push(Comment {
                text: lx.slice(i, end).to_string(),
                start: i,
            });
            i = end;
            continue;
        }
        if c == b'/' && n1 == b'*' {
            let mut depth = 0usize;
            let mut j = i;
            while j < lx.to {
                if lx.at(j) == b'/' && lx.at(j + 1) == b'*' {
                    depth += 1;
                    j += 2;
                } else if lx.at(j) == b'*' && lx.at(j + 1) == b'/' {
                    depth = depth.saturating_sub(1);
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            let end = j.min(lx.to);
            comments.push(Comment {
                text: lx.slice(i, end).to_string(),
                start: i,
            });
            i = end;
            continue;
        }
        let start = i;
        let (kind, text, end, inner) = if c == b'\'' {
            let (s, end, inner) = lx.quoted(i, b'\'', false);
            (Kind::Str, s, end, inner)
        } else if c == b'"' || c == b'`' {
            let (s, end, inner) = lx.quoted(i, c, false);
            (Kind::Quoted, s, end, inner)
        } else if c == b'$' {
            lex_dollar(&lx, i)
        } else if c == b'?' {
            let mut k = i + 1;
            while lx.at(k).is_ascii_digit() {
                k += 1;
            }
            (Kind::Param, lx.slice(i, k).to_string(), k, (i, k))
        } else if c == b':' && n1 == b':' {
            (Kind::Punct, "::".to_string(), i + 2, (i, i + 2))
        } else if (c == b':' || c == b'@') && is_ident_start(n1) {
            let mut k = i + 1;
            while is_ident_char(lx.at(k)) {
                k += 1;
            }
            (Kind::Param, lx.slice(i, k).to_string(), k, (i, k))
        } else if c.is_ascii_digit() || (c == b'.' && n1.is_ascii_digit()) {
            let mut k = i + 1;
            loop {
                let b = lx.at(k);
                if b.is_ascii_alphanumeric() || b == b'.' || b == b'_' {
                    k += 1;
                } else if (b == b'+' || b == b'-')
                    && matches!(lx.at(k - 1), b'e' | b'E')
                    && lx.at(k + 1).is_ascii_digit()
                {
                    k += 2;
                } else {
                    break;
                }
            }
            (Kind::Num, lx.slice(i, k).to_string(), k, (i, k))
        } else if is_ident_start(c) {
            let mut k = i + 1;
            while is_ident_char(lx.at(k)) {
                k += 1;
            }
            let word = lx.slice(i, k);
            if (word == "e" || word == "E") && lx.at(k) == b'\'' {
                let (s, end, inner) = lx.quoted(k, b'\'', true);
                (Kind::Str, s, end, inner)
            } else {
                (Kind::Word, word.to_lowercase(), k, (i, k))
            }
        } else {
            let three = lx.slice(i, i + 3);
            let two = lx.slice(i, i + 2);
            let len = if matches!(three, "->>" | "#>>") {
                3
            } else if matches!(
                two,
                ":=" | "<=" | ">=" | "<>" | "!=" | "||" | "->" | "#>" | "=>" | "<<" | ">>"
            ) {
                2
            } else {
                1
            };
            let text = if c.is_ascii() {
                lx.slice(i, i + len).to_string()
            } else {
                String::new()
            };
            (Kind::Punct, text, i + len, (i, i + len))
        };
        toks.push(Tok {
            kind,
            text,
            start,
            end: end.max(start + 1).min(lx.to.max(start + 1)),
            line_start,
            inner,
        });
        line_start = false;
        i = end.max(i + 1);
    }
    (toks, comments)
}

/// `$1`, `$name`, or a dollar-quoted string `$tag$ ... $tag$`.
fn lex_dollar(lx: &Lexer<'_>, i: usize) -> (Kind, String, usize, (usize, usize)) {
    let n1 = lx.at(i + 1);
    if n1.is_ascii_digit() {
        let mut k = i + 1;
        while lx.at(k).is_ascii_digit() {
            k += 1;
        }
        return (Kind::Param, lx.slice(i, k).to_string(), k, (i, k));
    }
    if n1 == b'$' || n1.is_ascii_alphabetic() || n1 == b'_' {
        let mut k = i + 1;
        while lx.at(k).is_ascii_alphanumeric() || lx.at(k) == b'_' {
            k += 1;
        }
        if lx.at(k) == b'$' && lx.dollar_misses.get() < MAX_DOLLAR_MISSES {
            let tag = lx.slice(i, k + 1);
            let body = k + 1;
            if let Some(rel) = lx.slice(body, lx.to).find(tag) {
                let close = body + rel;
                return (
                    Kind::Str,
                    lx.slice(body, close).to_string(),
                    close + tag.len(),
                    (body, close),
                );
            }
            lx.dollar_misses.set(lx.dollar_misses.get() + 1);
            return (Kind::Punct, "$".to_string(), i + 1, (i, i + 1));
        }
        return (Kind::Param, lx.slice(i, k).to_string(), k, (i, k));
    }
    (Kind::Punct, "$".to_string(), i + 1, (i, i + 1))
}

pub(super) fn word_at(toks: &[Tok], i: usize) -> &str {
    toks.get(i)
        .filter(|t| t.kind == Kind::Word)
        .map_or("", |t| t.text.as_str())
}

/// A possibly qualified name at `j`: its last part, lowercased, and the index after it.
pub(super) fn qname(toks: &[Tok], j: usize) -> Option<(String, usize)> {
    let mut name = toks.get(j)?.ident()?;
    let mut k = j + 1;
    while toks.get(k).is_some_and(|t| t.is_punct("."))
        && let Some(next) = toks.get(k + 1).and_then(Tok::ident)
    {
        name = next;
        k += 2;
    }
    Some((name, k))
}

/// Tokens from `j` up to (not including) a depth-0 token for which `stop` holds.
pub(super) fn until_depth0<'t>(
    toks: &'t [Tok],
    j: usize,
    stop: &dyn Fn(&Tok) -> bool,
) -> &'t [Tok] {
    let mut depth = 0usize;
    let mut k = j;
    while let Some(t) = toks.get(k) {
        if t.is_punct("(") {
            depth += 1;
        } else if t.is_punct(")") {
            if depth == 0 {
                break;
            }
            depth -= 1;
        } else if depth == 0 && stop(t) {
            break;
        }
        k += 1;
    }
    toks.get(j.min(k)..k).unwrap_or(&[])
}
