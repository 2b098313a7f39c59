//! What a secret looks like as a value: password hashes, JWTs, API keys, credentials in URLs and
//! authorization headers, and Luhn-valid card numbers.

use super::names::{Ctx, Named, analyze_key};

/// Luhn checksum over a string of digits (spaces and dashes ignored); false for non-digits or length outside 13..=19.
pub fn luhn_valid(number: &str) -> bool {
    let mut digits = [0u8; 19];
    let mut count = 0usize;
    for c in number.chars() {
        if c == ' ' || c == '-' {
            continue;
        }
        let Some(d) = c.to_digit(10) else {
            return false;
        };
        let Some(slot) = digits.get_mut(count) else {
            return false;
        };
        *slot = u8::try_from(d).unwrap_or(0);
        count += 1;
    }
    count >= 13 && digits.get(..count).is_some_and(luhn)
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

const PASSWORD_HASHES: &[(&str, &str)] = &[
    ("$argon2id$", "an Argon2 password hash"),
    ("$argon2i$", "an Argon2 password hash"),
    ("$argon2d$", "an Argon2 password hash"),
    ("argon2$argon2", "an Argon2 password hash"),
    ("$2a$", "a bcrypt password hash"),
    ("$2b$", "a bcrypt password hash"),
    ("$2y$", "a bcrypt password hash"),
    ("$2x$", "a bcrypt password hash"),
    ("bcrypt$", "a bcrypt password hash"),
    ("bcrypt_sha256$", "a bcrypt password hash"),
    ("$scrypt$", "an scrypt password hash"),
    ("scrypt$", "an scrypt password hash"),
    ("$7$", "an scrypt password hash"),
    ("$pbkdf2", "a PBKDF2 password hash"),
    ("pbkdf2_sha256$", "a PBKDF2 password hash"),
    ("pbkdf2_sha1$", "a PBKDF2 password hash"),
    ("$6$", "a SHA-512-crypt password hash"),
    ("$5$", "a SHA-256-crypt password hash"),
    ("$1$", "an MD5-crypt password hash"),
    ("$apr1$", "an MD5-crypt password hash"),
    ("$y$", "a yescrypt password hash"),
];

pub(super) fn password_hash(w: &str) -> Option<&'static str> {
    if w.len() < 20 || w.contains(char::is_whitespace) {
        return None;
    }
    PASSWORD_HASHES
        .iter()
        .find(|(prefix, _)| {
            w.strip_prefix(prefix)
                .is_some_and(|rest| rest.contains('$'))
        })
        .map(|(_, noun)| *noun)
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// A JWT (three base64url segments, the header starting `eyJ`) or a JWE (five).
pub(super) fn jwt(w: &str) -> Option<&'static str> {
    if !w.starts_with("eyJ") {
        return None;
    }
    let mut segments: Vec<&str> = w.split('.').collect();
    if segments.len() == 4 && segments.last().is_some_and(|s| s.is_empty()) {
        segments.pop();
    }
    let header = segments.first().copied().unwrap_or_default();
    let payload = segments.get(1).copied().unwrap_or_default();
    let shaped = match segments.len() {
        3 => header.len() >= 10 && payload.len() >= 2,
        5 => header.len() >= 10,
        _ => false,
    };
    (shaped && segments.iter().all(|s| s.bytes().all(is_base64url))).then_some("a JWT")
}

const KEY_PREFIXES: &[(&str, usize, &str)] = &[
    ("sk_live_", 10, "a Stripe secret key"),
    ("sk_test_", 10, "a Stripe secret key"),
    ("rk_live_", 10, "a Stripe restricted key"),
    ("rk_test_", 10, "a Stripe restricted key"),
    ("whsec_", 10, "a webhook signing secret"),
    ("github_pat_", 20, "a GitHub token"),
    ("ghp_", 20, "a GitHub token"),
    ("gho_", 20, "a GitHub token"),
    ("ghu_", 20, "a GitHub token"),
    ("ghs_", 20, "a GitHub token"),
    ("ghr_", 20, "a GitHub token"),
    ("xoxb-", 10, "a Slack token"),
    ("xoxp-", 10, "a Slack token"),
    ("xoxa-", 10, "a Slack token"),
    ("xoxs-", 10, "a Slack token"),
    ("xoxe-", 10, "a Slack token"),
    ("xapp-", 10, "a Slack token"),
    ("glpat-", 20, "a GitLab token"),
    ("npm_", 30, "an npm token"),
    ("sk-ant-", 20, "an API secret key"),
    ("sk-", 32, "an API secret key"),
];

pub(super) fn api_key(w: &str) -> Option<&'static str> {
    let w = w.trim_end_matches('.');
    if aws_access_key_id(w) {
        return Some("an AWS access key id");
    }
    if let Some(body) = w.strip_prefix("AIza")
        && body.len() == 35
        && body.bytes().all(is_base64url)
    {
        return Some("a Google API key");
    }
    KEY_PREFIXES
        .iter()
        .find(|(prefix, min, _)| {
            w.strip_prefix(prefix)
                .is_some_and(|body| body.len() >= *min && body.bytes().all(is_base64url))
        })
        .map(|(_, _, noun)| *noun)
}

/// `AKIA` or `ASIA` and 16 capitals or digits, standing alone or ending a key's first word
/// (`AKIAIOSFODNN7EXAMPLE_id`).
pub(super) fn aws_access_key_id(w: &str) -> bool {
    let b = w.as_bytes();
    let capital_or_digit = |c: &u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    (b.starts_with(b"AKIA") || b.starts_with(b"ASIA"))
        && b.get(4..20)
            .is_some_and(|body| body.iter().all(capital_or_digit))
        && b.get(20).is_none_or(|c| !c.is_ascii_alphanumeric())
}

/// Forty characters of base64 with capitals, small letters and digits: the shape of an AWS
/// secret access key. Too common a shape to mean a key on its own; the walk asks for it only
/// beside an access key id or under a name that says AWS.
pub(super) fn aws_secret_access_key(w: &str) -> bool {
    let b = w.as_bytes();
    b.len() == 40
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'/' || *c == b'+')
        && b.iter().any(u8::is_ascii_uppercase)
        && b.iter().any(u8::is_ascii_lowercase)
        && b.iter().any(u8::is_ascii_digit)
}

/// The text a base64 (or base64url) word decodes to, when it decodes to printable text: a
/// card number or key hidden by encoding it is still found. Words under 16 characters encode
/// too little to hide a card number and are not decoded.
pub(super) fn base64_text(w: &str) -> Option<String> {
    if w.len() < 16 {
        return None;
    }
    let bytes = decode_base64(w)?;
    let text = String::from_utf8(bytes).ok()?;
    let printable = text
        .chars()
        .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'));
    (printable && !text.trim().is_empty()).then_some(text)
}

/// Standard or URL-safe base64, padded or not; `None` for anything else.
fn decode_base64(w: &str) -> Option<Vec<u8>> {
    let body = w.trim_end_matches('=');
    if w.len() - body.len() > 2 || body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let mut bits = 0u32;
    let mut pending = 0u32;
    for b in body.bytes() {
        let value = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        pending += 6;
        if pending >= 8 {
            pending -= 8;
            out.push(u8::try_from((bits >> pending) & 0xff).unwrap_or(0));
            bits &= (1 << pending) - 1;
        }
    }
    Some(out)
}

/// `scheme://user:password@host` or a URL whose query carries a secret-named parameter.
pub(super) fn url_secret(w: &str) -> Option<&'static str> {
    let (before, rest) = w.split_once("://")?;
    if !before.ends_with(|c: char| c.is_ascii_alphanumeric()) {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..end).unwrap_or_default();
    if let Some((userinfo, _host)) = authority.rsplit_once('@')
        && userinfo
            .split_once(':')
            .is_some_and(|(_, password)| !password.is_empty())
    {
        return Some("a URL with embedded credentials");
    }
    let (_, query) = rest.split_once('?')?;
    let query = query.split('#').next().unwrap_or_default();
    query
        .split('&')
        .any(|pair| {
            pair.split_once('=').is_some_and(|(name, value)| {
                !value.is_empty()
                    && matches!(
                        analyze_key(name, Ctx::default()).field.named,
                        Named::Secret(_)
                    )
            })
        })
        .then_some("a URL carrying a secret query parameter")
}

/// `Bearer <token>` or `Basic <credentials>` as the whole value (`Some(false)`), or a bearer
/// token inside longer text (`Some(true)`). A bearer token has a digit in it, and basic
/// credentials decode to `user:password`, so "Bearer bonds" and "Basic settings" stay prose.
pub(super) fn authorization_value(t: &str) -> Option<bool> {
    let bearer = |w: &str, min: usize| {
        w.len() >= min
            && w.bytes().any(|b| b.is_ascii_digit())
            && w.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b))
    };
    let mut parts = t.split_whitespace();
    if let (Some(scheme), Some(credentials), None) = (parts.next(), parts.next(), parts.next())
        && ((scheme.eq_ignore_ascii_case("bearer") && bearer(credentials, 12))
            || (scheme.eq_ignore_ascii_case("basic") && basic_credentials(credentials)))
    {
        return Some(false);
    }
    let mut previous = "";
    for word in t.split_whitespace() {
        if previous.eq_ignore_ascii_case("bearer") && bearer(word, 16) {
            return Some(true);
        }
        previous = word;
    }
    None
}

/// Base64 that decodes to something with a colon in it: `user:password`.
fn basic_credentials(w: &str) -> bool {
    w.len() >= 8
        && w.len().is_multiple_of(4)
        && !w.contains(['-', '_'])
        && decode_base64(w).is_some_and(|bytes| bytes.contains(&b':'))
}

#[derive(Clone, Copy, Debug)]
pub(super) struct CardHit {
    pub(super) digits: usize,
    pub(super) whole: bool,
}

/// The first card number in `t`: a Luhn-valid run of 13 to 19 digits starting with 2 to 6,
/// standing alone, with single spaces or dashes between its groups. A longer run of groups
/// (`0 4111 1111 1111 1111 0`) is searched for a card inside it, grouped as cards print them and
/// not flanked by more four-digit groups, so a list of years stays a list of years.
pub(super) fn card_scan(t: &str) -> Option<CardHit> {
    let bytes = t.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
            continue;
        }
        // One run: groups of digits, each `(start, end)`, joined by single separators.
        let mut groups: Vec<(usize, usize)> = Vec::new();
        let mut start = i;
        let mut end = i;
        while let Some(&b) = bytes.get(end) {
            if b.is_ascii_digit() {
                end += 1;
            } else if (b == b' ' || b == b'-') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit)
            {
                groups.push((start, end));
                start = end + 1;
                end += 1;
            } else {
                break;
            }
        }
        groups.push((start, end));
        i = end;
        let alone_before = |at: usize| {
            at.checked_sub(1)
                .and_then(|p| bytes.get(p))
                .is_none_or(|b| !b.is_ascii_alphanumeric())
        };
        let alone_after = |at: usize| bytes.get(at).is_none_or(|b| !b.is_ascii_alphanumeric());
        let width = |g: Option<&(usize, usize)>| g.map(|(s, e)| e - s);
        for a in 0..groups.len() {
            let mut digits = Vec::with_capacity(19);
            for b in a..groups.len() {
                let Some(&(gs, ge)) = groups.get(b) else {
                    break;
                };
                digits.extend(
                    bytes
                        .get(gs..ge)
                        .unwrap_or_default()
                        .iter()
                        .map(|d| d - b'0'),
                );
                if digits.len() > 19 {
                    break;
                }
                if digits.len() < 13 || !matches!(digits.first(), Some(2..=6)) || !luhn(&digits) {
                    continue;
                }
                let Some(&(first, _)) = groups.get(a) else {
                    break;
                };
                let whole_run = a == 0 && b + 1 == groups.len();
                if whole_run && first == 0 && ge == bytes.len() {
                    return Some(CardHit {
                        digits: digits.len(),
                        whole: true,
                    });
                }
                let widths: Vec<usize> = groups
                    .get(a..=b)
                    .unwrap_or_default()
                    .iter()
                    .map(|(s, e)| e - s)
                    .collect();
                let flanked = a
                    .checked_sub(1)
                    .is_some_and(|p| width(groups.get(p)) == Some(4))
                    || width(groups.get(b + 1)) == Some(4);
                if alone_before(first) && alone_after(ge) && card_grouping(&widths) && !flanked {
                    return Some(CardHit {
                        digits: digits.len(),
                        whole: false,
                    });
                }
            }
        }
    }
    None
}

/// Digits printed as cards print them: ungrouped, in fours, or 4-6-5 / 4-6-4.
fn card_grouping(groups: &[usize]) -> bool {
    match groups {
        [_] | [4, 6, 5] | [4, 6, 4] => true,
        [rest @ .., last] => rest.iter().all(|&g| g == 4) && (1..=4).contains(last),
        [] => false,
    }
}

#[cfg(test)]
mod tests;
