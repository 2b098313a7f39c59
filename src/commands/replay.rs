//! The command that reproduces a run: built once per command from its checked options, shown
//! quoted for a shell on the "Replay:" line, and carried by `--json` as an argv array.

use std::fmt;

use serde::Serialize;

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
        self.option("--db", redact_db(url))
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

fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:,=@%+".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// A connection string with its passwords masked: the URL's `user:password@`, and any
/// `password=` in a query string or in the `key=value` form.
pub fn redact_db(url: &str) -> String {
    let url = crate::sim::storage::postgres::connect::redact(url);
    let lower = url.to_ascii_lowercase();
    let mut out = String::with_capacity(url.len());
    let mut rest = 0;
    let mut from = 0;
    while let Some(found) = lower[from..].find("password") {
        let key_end = from + found + "password".len();
        from = key_end;
        let after_key = &url[key_end..];
        let spaces = after_key.len() - after_key.trim_start().len();
        let Some(value) = after_key.trim_start().strip_prefix('=') else {
            continue;
        };
        let value = value.trim_start();
        let start = url.len() - value.len();
        let end = start + value_len(value);
        out.push_str(&url[rest..start]);
        out.push_str("***");
        rest = end;
        from = end.max(key_end + spaces);
    }
    out.push_str(&url[rest..]);
    out
}

/// How long a `password=` value runs: to the closing quote of a quoted value, else to the next
/// `&` (query string) or blank (`key=value` form).
fn value_len(value: &str) -> usize {
    if let Some(quoted) = value.strip_prefix('\'') {
        let mut escaped = false;
        for (i, c) in quoted.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '\'' if !escaped => return i + 2,
                _ => escaped = false,
            }
        }
        return value.len();
    }
    value
        .find(|c: char| c == '&' || c.is_whitespace())
        .unwrap_or(value.len())
}

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

    #[test]
    fn no_password_survives_in_any_form_of_connection_string() {
        for (url, want) in [
            (
                "postgres://msgwork:s3cret@db:5432/lab",
                "postgres://msgwork:***@db:5432/lab",
            ),
            (
                "postgres://msgwork@db/lab?sslmode=disable&password=s3cret&x=1",
                "postgres://msgwork@db/lab?sslmode=disable&password=***&x=1",
            ),
            (
                "host=db user=msgwork password=s3cret dbname=lab",
                "host=db user=msgwork password=*** dbname=lab",
            ),
            (
                "host=db PASSWORD = 's3 cr\\'et' dbname=lab",
                "host=db PASSWORD = *** dbname=lab",
            ),
            ("postgres://msgwork@db/lab", "postgres://msgwork@db/lab"),
            ("host=db passwordless=1", "host=db passwordless=1"),
        ] {
            let redacted = redact_db(url);
            assert_eq!(redacted, want, "{url}");
            assert!(!redacted.contains("s3"), "{redacted}");
        }
    }
}
