//! The command that reproduces a run: built once per command from its checked options, shown
//! quoted for a shell on the "Replay:" line, and carried by `--json` as an argv array.

use std::fmt;

use serde::Serialize;

use crate::sim::storage::postgres::connect::redact;

/// `msgwork …` as an argv: every option that changes the result, and nothing that does not
/// (`--json`, `--plot`, `--trace`, `--keep-db`, `--check`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Replay(Vec<String>);

impl Replay {
    /// `msgwork` and the subcommand's words, such as `["lab", "dlq"]`.
    pub fn new(command: &[&str]) -> Self {
        let mut argv = vec!["msgwork".to_string()];
        argv.extend(command.iter().map(|w| (*w).to_string()));
        Replay(argv)
    }

    pub fn flag(&mut self, name: &str) -> &mut Self {
        self.0.push(name.to_string());
        self
    }

    pub fn option(&mut self, name: &str, value: impl fmt::Display) -> &mut Self {
        self.0.push(name.to_string());
        self.0.push(value.to_string());
        self
    }

    /// `--db URL` with any password in the URL replaced by `***`: a replay line is shown, copied
    /// and recorded, and a secret must never travel with it.
    pub fn db(&mut self, url: &str) -> &mut Self {
        self.option("--db", redact(url))
    }

    #[cfg(test)]
    pub fn argv(&self) -> &[String] {
        &self.0
    }
}

/// The argv quoted for a POSIX shell: words with nothing special stay bare, the rest go in single
/// quotes.
impl fmt::Display for Replay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<String> = self.0.iter().map(|w| shell_word(w)).collect();
        f.write_str(&words.join(" "))
    }
}

/// One word as a POSIX shell reads it back; the one definition lives with the other text helpers.
pub(super) use crate::ui::shell_word;

/// A result as `--json` prints it: every key of the result, then `"replay"`.
#[derive(Serialize)]
pub struct WithReplay<'a, T: Serialize> {
    #[serde(flatten)]
    pub result: &'a T,
    pub replay: &'a Replay,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_a_shell_would_split_or_expand_are_quoted() {
        assert_eq!(shell_word("my-outbox/shop.py"), "my-outbox/shop.py");
        assert_eq!(shell_word("my outbox/shop.py"), "'my outbox/shop.py'");
        assert_eq!(shell_word("it's/shop.py"), r"'it'\''s/shop.py'");
        assert_eq!(shell_word("$HOME/*"), "'$HOME/*'");
        assert_eq!(shell_word("~/kit"), "'~/kit'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn words_are_quoted_only_when_a_shell_would_read_them_otherwise() {
        let mut r = Replay::new(&["lab", "dlq"]);
        r.option("--backoff", "1s,5s")
            .option("--db", "host=x password='a b'")
            .option("--x", "it's")
            .option("--e", "");
        assert_eq!(
            r.to_string(),
            r#"msgwork lab dlq --backoff 1s,5s --db 'host=x password='\''a b'\''' --x 'it'\''s' --e ''"#
        );
    }
}
