//! What a string value holds: a scan for secrets and personal data, whole or inside free text,
//! described without quoting the value.

use super::class::Class;
use super::normalize::normalize;
use super::pii_shapes::{
    email, iban, iban_in_text, ip, national_phone_in_text, phone, phone_in_text, ssn, ssn_in_text,
};
use super::secret_shapes::{
    api_key, authorization_value, base64_text, card_scan, jwt, password_hash, url_secret,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum What {
    Noun(&'static str),
    /// A card number of this many digits.
    Card(usize),
}

impl What {
    fn phrase(self) -> String {
        match self {
            Self::Noun(noun) => noun.to_string(),
            Self::Card(digits) => format!("a Luhn-valid {digits}-digit number: a card number"),
        }
    }
}

/// A secret or personal datum found in a string, described without quoting it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Detection {
    pub(super) class: Class,
    what: What,
    /// Found inside longer text rather than as the whole string.
    embedded: bool,
    /// Found only once base64 was decoded.
    encoded: bool,
}

impl Detection {
    fn new(class: Class, what: What, embedded: bool) -> Self {
        Self {
            class,
            what,
            embedded,
            encoded: false,
        }
    }

    /// What was found, in a phrase that quotes none of it.
    pub(super) fn phrase(self) -> String {
        if self.encoded {
            format!("base64 holding {}", self.what.phrase())
        } else {
            self.what.phrase()
        }
    }

    pub(super) fn value_reason(self) -> String {
        if self.embedded {
            format!("text containing {}", self.phrase())
        } else {
            self.phrase()
        }
    }

    pub(super) fn key_reason(self) -> String {
        if self.embedded {
            format!("an object with a key containing {}", self.phrase())
        } else {
            format!("an object keyed by {}", self.phrase())
        }
    }
}

/// What a bare string (a key, an id, a line of text) gives away, with no name to go by: its
/// class and a phrase that quotes none of it, or `None` when it looks like neither a secret nor
/// personal data.
pub fn describe(s: &str) -> Option<(Class, String)> {
    scan_key(s).map(|found| (found.class, found.value_reason()))
}

/// A secret or personal datum in a key or bare string, also read with its underscores as
/// spaces: `ada@example.com_id` and `078-05-1120_ref` hide a value behind a suffix.
pub(super) fn scan_key(s: &str) -> Option<Detection> {
    let scan = |t: &str| scan_secret(t).or_else(|| scan_pii(t, false));
    scan(s).or_else(|| {
        s.contains('_')
            .then(|| s.replace('_', " "))
            .and_then(|spaced| scan(&spaced))
            .map(|found| Detection {
                embedded: true,
                ..found
            })
    })
}

/// A secret in `s`, read after folding Unicode look-alikes and invisible characters to ASCII,
/// and inside any base64 word of it.
pub(super) fn scan_secret(s: &str) -> Option<Detection> {
    let t = normalize(s);
    let t = t.trim();
    if let Some(found) = plain_secret(t) {
        return Some(found);
    }
    words(t)
        .find_map(|word| {
            let decoded = base64_text(word)?;
            plain_secret(normalize(&decoded).trim()).map(|found| (word, found))
        })
        .map(|(word, found)| Detection {
            embedded: word != t,
            encoded: true,
            ..found
        })
}

/// A secret in text already folded to ASCII, without decoding anything.
fn plain_secret(t: &str) -> Option<Detection> {
    if t.is_empty() {
        return None;
    }
    let found = |what, embedded| Some(Detection::new(Class::Secret, what, embedded));
    if let Some(start) = t.find("-----BEGIN")
        && t.get(start..)
            .is_some_and(|rest| rest.contains("PRIVATE KEY"))
    {
        return found(What::Noun("a PEM private key"), start > 0);
    }
    if !t.contains(char::is_whitespace)
        && let Some(noun) = secret_shape(t)
    {
        return found(What::Noun(noun), false);
    }
    let card = card_scan(t);
    if let Some(hit) = card
        && hit.whole
    {
        return found(What::Card(hit.digits), false);
    }
    if let Some(embedded) = authorization_value(t) {
        return found(What::Noun("an HTTP authorization header value"), embedded);
    }
    for word in words(t) {
        if let Some(noun) = password_hash(word).or_else(|| url_secret(word)) {
            return found(What::Noun(noun), true);
        }
    }
    for run in t.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))) {
        if let Some(noun) = jwt(run).or_else(|| api_key(run)) {
            return found(What::Noun(noun), true);
        }
    }
    card.map(|hit| Detection::new(Class::Secret, What::Card(hit.digits), true))
}

fn secret_shape(w: &str) -> Option<&'static str> {
    password_hash(w)
        .or_else(|| jwt(w))
        .or_else(|| api_key(w))
        .or_else(|| url_secret(w))
}

/// The whole value as a card number, for JSON numbers.
pub(super) fn card_number(digits: &str) -> Option<Detection> {
    card_scan(digits)
        .filter(|hit| hit.whole)
        .map(|hit| Detection::new(Class::Secret, What::Card(hit.digits), false))
}

/// Personal data in `s`, read after folding Unicode look-alikes and invisible characters.
pub(super) fn scan_pii(s: &str, version_like: bool) -> Option<Detection> {
    let t = normalize(s);
    let t = t.trim();
    if t.is_empty() {
        return None;
    }
    let found = |noun, embedded| Some(Detection::new(Class::Pii, What::Noun(noun), embedded));
    if let Some(noun) = pii_shape(t, version_like) {
        return found(noun, false);
    }
    if phone(t) {
        return found("an international phone number", false);
    }
    for word in words(t) {
        if let Some(noun) = pii_shape(word, version_like) {
            return found(noun, true);
        }
    }
    if phone_in_text(t) {
        return found("an international phone number", true);
    }
    if national_phone_in_text(t) {
        return found("a phone number", t.chars().any(char::is_alphabetic));
    }
    if iban_in_text(t) {
        return found("an IBAN", true);
    }
    if ssn_in_text(t) {
        return found(SSN, true);
    }
    None
}

const SSN: &str = "a US social security number";

/// A US social security number written as nine bare digits, which only the context (a name or
/// a label beside it) tells from an order number or an amount.
pub(super) fn bare_ssn() -> Detection {
    Detection::new(Class::Pii, What::Noun(SSN), false)
}

/// A secret the walk found from a value's neighbours rather than from the value alone.
pub(super) fn secret_in_context(noun: &'static str) -> Detection {
    Detection::new(Class::Secret, What::Noun(noun), false)
}

fn pii_shape(w: &str, version_like: bool) -> Option<&'static str> {
    if email(w) {
        Some("an email address")
    } else if !version_like && ip(w) {
        Some("an IP address")
    } else if ssn(w) {
        Some(SSN)
    } else if iban(w) {
        Some("an IBAN")
    } else {
        None
    }
}

/// The words of free text, without the punctuation around them.
fn words(t: &str) -> impl Iterator<Item = &str> {
    t.split(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '"' | '\'' | '`' | '(' | ')' | '<' | '>' | '{' | '}' | '|' | ',' | ';'
            )
    })
    .map(|w| {
        w.trim_start_matches('[')
            .trim_end_matches(['.', '!', '?', ']'])
    })
    .filter(|w| !w.is_empty())
}
