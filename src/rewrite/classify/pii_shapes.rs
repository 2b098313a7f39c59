//! What personal data looks like as a value: email addresses, international phone numbers, IP
//! addresses, US social security numbers and IBANs.

use std::net::{IpAddr, SocketAddr};

pub(super) fn email(w: &str) -> bool {
    let w = w.strip_prefix("mailto:").unwrap_or(w);
    if w.len() > 254 {
        return false;
    }
    let Some((local, domain)) = w.split_once('@') else {
        return false;
    };
    if local.is_empty()
        || local.len() > 64
        || local.starts_with('.')
        || local.ends_with('.')
        || !local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c))
    {
        return false;
    }
    let mut labels = 0;
    let mut tld = "";
    for label in domain.split('.') {
        if label.is_empty()
            || label.len() > 63
            || label.starts_with('-')
            || label.ends_with('-')
            || !label.chars().all(|c| c.is_alphanumeric() || c == '-')
        {
            return false;
        }
        labels += 1;
        tld = label;
    }
    labels >= 2 && tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic)
}

/// An international phone number: `+`, then 8 to 15 digits with spaces, dashes, dots or brackets.
pub(super) fn phone(t: &str) -> bool {
    let t = t.strip_prefix("tel:").unwrap_or(t);
    let Some(rest) = t.strip_prefix('+') else {
        return false;
    };
    if !rest.starts_with(|c: char| c.is_ascii_digit() || c == '(') {
        return false;
    }
    let mut digits = 0;
    let mut dots = 0;
    for c in rest.chars() {
        match c {
            '0'..='9' => digits += 1,
            '.' => dots += 1,
            ' ' | '-' | '(' | ')' => {}
            _ => return false,
        }
        if digits > 15 {
            return false;
        }
    }
    (8..=15).contains(&digits) && dots != 1 && !signed_date(rest)
}

/// An international phone number standing alone in longer text: `call +44 20 7946 0958.`
pub(super) fn phone_in_text(t: &str) -> bool {
    let bytes = t.as_bytes();
    let mut i = 0;
    while let Some(offset) = t.get(i..).and_then(|rest| rest.find('+')) {
        let start = i + offset;
        let mut end = start + 1;
        while bytes
            .get(end)
            .is_some_and(|b| b.is_ascii_digit() || matches!(b, b' ' | b'-' | b'.' | b'(' | b')'))
        {
            end += 1;
        }
        let alone_before = start
            .checked_sub(1)
            .and_then(|p| bytes.get(p))
            .is_none_or(|b| !b.is_ascii_alphanumeric() && *b != b'+');
        let alone_after = bytes.get(end).is_none_or(|b| !b.is_ascii_alphanumeric());
        if alone_before
            && alone_after
            && t.get(start..end)
                .is_some_and(|candidate| phone(candidate.trim_end_matches([' ', '-', '.', '('])))
        {
            return true;
        }
        i = end;
    }
    false
}

/// A phone number written the national way inside free text: `(415) 555-0132`, `415-555-0132`,
/// `020 7946 0958`, `07700 900123`, or any 9 to 13 digits right after a word such as `call` or
/// `phone`. Digits in other groupings (dates, prices, ISBNs, card and order numbers) are not
/// phone numbers, nor are digits glued to a letter, `#`, `-` or `/` before them (`ORD-415-555-0132`,
/// `#415-555-0132`).
pub(super) fn national_phone_in_text(t: &str) -> bool {
    let chars: Vec<char> = t.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts_run = chars[i].is_ascii_digit() || chars[i] == '(';
        if !starts_run {
            i += 1;
            continue;
        }
        let glued = i.checked_sub(1).map(|p| chars[p]).is_some_and(|b| {
            b.is_alphanumeric() || matches!(b, '#' | '-' | '/' | '_' | '+' | '.' | '$' | '€' | '£')
        });
        let mut end = i;
        while end < chars.len()
            && (chars[end].is_ascii_digit() || matches!(chars[end], ' ' | '-' | '.' | '(' | ')'))
        {
            end += 1;
        }
        let run: String = chars[i..end].iter().collect();
        let run = run.trim_end_matches([' ', '-', '.', '(']);
        let run_end = i + run.chars().count();
        let glued_after = chars
            .get(run_end)
            .is_some_and(|a| a.is_alphanumeric() || matches!(a, '/' | ':' | '%' | '_'));
        if !glued && !glued_after && (national_shape(run) || cued_digits(&chars[..i], run)) {
            return true;
        }
        i = end.max(i + 1);
    }
    false
}

/// A run of digits and separators grouped as a national phone number is written.
fn national_shape(run: &str) -> bool {
    // One kind of separator between the groups, besides the brackets around an area code.
    let bracketed = run.starts_with('(');
    let body = if bracketed {
        match run[1..].split_once(')') {
            Some((area, rest)) if area.len() == 3 && area.bytes().all(|b| b.is_ascii_digit()) => {
                format!("{area} {}", rest.trim_start())
            }
            _ => return false,
        }
    } else {
        run.to_string()
    };
    let separators: std::collections::BTreeSet<char> =
        body.chars().filter(|c| !c.is_ascii_digit()).collect();
    let groups: Vec<usize> = body.split([' ', '-', '.']).map(str::len).collect();
    if groups.contains(&0) || groups.len() < 2 {
        return false;
    }
    if separators.len() > 1 && !(bracketed && separators.len() == 2 && separators.contains(&' ')) {
        return false;
    }
    let first_digit = body.chars().next();
    match groups.as_slice() {
        // North American: (415) 555-0132, 415-555-0132, 415.555.0132, 1-415-555-0132.
        [3, 3, 4] => true,
        [1, 3, 3, 4] => first_digit == Some('1'),
        // UK and other trunk-prefixed numbers: 020 7946 0958, 0161 496 0000, 07700 900123.
        [3, 4, 4] | [4, 3, 4] | [5, 6] | [5, 3, 3] | [4, 6] | [3, 3, 4, 1] => {
            first_digit == Some('0') && !separators.contains(&'.')
        }
        _ => false,
    }
}

/// Words that say the number after them is a phone number.
const PHONE_CUES: &[&str] = &[
    "call",
    "phone",
    "tel",
    "telephone",
    "mobile",
    "cell",
    "ring",
    "text",
    "sms",
    "whatsapp",
];

/// 9 to 13 digits right after a phone cue (`call 4155550132`, `mobile: 07700900123`).
fn cued_digits(before: &[char], run: &str) -> bool {
    let digits = run.chars().filter(char::is_ascii_digit).count();
    if !(9..=13).contains(&digits) || run.contains('(') && !run.starts_with('(') {
        return false;
    }
    let before: String = before.iter().collect();
    let words: Vec<String> = before
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let last_two = &words[words.len().saturating_sub(2)..];
    last_two.iter().any(|w| PHONE_CUES.contains(&w.as_str()))
        && before
            .trim_end()
            .chars()
            .last()
            .is_none_or(|c| !c.is_ascii_digit())
}

/// `2024-01-15` and `002024-01-15`, as an expanded ISO 8601 year writes them after a `+`.
fn signed_date(s: &str) -> bool {
    let mut parts = s.split('-');
    let (Some(year), Some(month), Some(day), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    (4..=6).contains(&year.len())
        && month.len() == 2
        && day.len() == 2
        && digits(year)
        && digits(month)
        && digits(day)
}

pub(super) fn ip(w: &str) -> bool {
    if w.len() > 64 || !w.contains(['.', ':']) {
        return false;
    }
    let addr = w
        .parse::<IpAddr>()
        .ok()
        .or_else(|| w.parse::<SocketAddr>().ok().map(|a| a.ip()));
    addr.is_some_and(|a| !a.is_loopback() && !a.is_unspecified())
}

/// `ddd-dd-dddd` or `ddd dd dddd`, with the area, group and serial numbers the SSA never
/// issues ruled out.
pub(super) fn ssn(w: &str) -> bool {
    let b = w.as_bytes();
    let separator = b.get(3).copied().filter(|c| *c == b'-' || *c == b' ');
    let Some(separator) = separator else {
        return false;
    };
    let shaped = b.len() == 11
        && b.iter().enumerate().all(|(i, c)| {
            if i == 3 || i == 6 {
                *c == separator
            } else {
                c.is_ascii_digit()
            }
        });
    shaped && issued(w.get(0..3), w.get(4..6), w.get(7..11))
}

/// Nine bare digits that could be an issued social security number.
pub(super) fn ssn_digits(w: &str) -> bool {
    w.len() == 9
        && w.bytes().all(|c| c.is_ascii_digit())
        && issued(w.get(0..3), w.get(3..5), w.get(5..9))
}

fn issued(area: Option<&str>, group: Option<&str>, serial: Option<&str>) -> bool {
    let (Some(area), Some(group), Some(serial)) = (area, group, serial) else {
        return false;
    };
    area != "000" && area != "666" && !area.starts_with('9') && group != "00" && serial != "0000"
}

/// Words that announce a social security number in text: `SSN 123456789`, `social security
/// number: 123 45 6789`.
const SSN_LABELS: &[&str] = &["ssn", "social security", "soc sec", "ss#", "ss no"];

/// A social security number in any of its spellings, bare digits included, right after a word
/// that announces one. Each label looks at most 32 characters ahead, so the cost stays linear.
pub(super) fn ssn_in_text(t: &str) -> bool {
    let lower = t.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    SSN_LABELS.iter().any(|label| {
        lower.match_indices(label).any(|(at, _)| {
            let starts_word = at
                .checked_sub(1)
                .and_then(|p| bytes.get(p))
                .is_none_or(|b| !b.is_ascii_alphanumeric());
            let after = at + label.len();
            let Some(gap) = lower.get(after..).and_then(|rest| {
                rest.char_indices()
                    .take(32)
                    .find(|(_, c)| c.is_ascii_digit())
                    .map(|(i, _)| i)
            }) else {
                return false;
            };
            let start = after + gap;
            let alone_at = |end: usize| bytes.get(end).is_none_or(|b| !b.is_ascii_alphanumeric());
            let spelled = |len: usize, shape: fn(&str) -> bool| {
                lower.get(start..start + len).is_some_and(shape) && alone_at(start + len)
            };
            starts_word && (spelled(11, ssn) || spelled(9, ssn_digits))
        })
    })
}

/// An IBAN printed in groups of four inside longer text: `pay to GB82 WEST 1234 5698 7654 32.`
pub(super) fn iban_in_text(t: &str) -> bool {
    let mut words = t.split_whitespace().peekable();
    while let Some(word) = words.next() {
        let b = word.as_bytes();
        let opens = b.len() == 4
            && b.iter().take(2).all(u8::is_ascii_uppercase)
            && b.iter().skip(2).all(u8::is_ascii_digit);
        if !opens {
            continue;
        }
        let mut compact = word.to_string();
        while let Some(next) = words.peek() {
            let group = next.trim_end_matches(['.', ',', ';', ')']);
            if group.is_empty()
                || group.len() > 4
                || !group.bytes().all(|c| c.is_ascii_alphanumeric())
            {
                break;
            }
            compact.push_str(group);
            if compact.len() > 34 {
                break;
            }
            if iban(&compact) {
                return true;
            }
            words.next();
        }
    }
    false
}

/// IBAN lengths by country, from the SWIFT IBAN registry: `GB22` is a 22-character British IBAN.
const IBAN_LENGTHS: &str = "\
    AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 \
    DK18 DO28 EE20 EG29 ES24 FI18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HR21 HU28 \
    IE22 IL23 IQ23 IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25 MC27 \
    MD24 ME22 MK19 MR27 MT31 MU30 NL18 NO15 PK24 PL28 PS29 PT25 QA29 RO24 RS22 SA24 \
    SC31 SD18 SE24 SI19 SK24 SM27 ST25 SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20";

/// An IBAN: a known country, its length, and the ISO 7064 mod-97 check.
pub(super) fn iban(t: &str) -> bool {
    if t.len() > 42 {
        return false;
    }
    let compact: Vec<u8> = t
        .bytes()
        .filter(|b| *b != b' ')
        .map(|b| b.to_ascii_uppercase())
        .collect();
    if !(15..=34).contains(&compact.len()) || !compact.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let (Some(country), Some(check), Some(bban)) =
        (compact.get(..2), compact.get(2..4), compact.get(4..))
    else {
        return false;
    };
    let known = IBAN_LENGTHS.split_ascii_whitespace().any(|entry| {
        entry.as_bytes().get(..2) == Some(country)
            && entry.get(2..).and_then(|n| n.parse::<usize>().ok()) == Some(compact.len())
    });
    if !known || !check.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut remainder = 0u32;
    for &b in bban.iter().chain(country).chain(check) {
        remainder = if b.is_ascii_digit() {
            (remainder * 10 + u32::from(b - b'0')) % 97
        } else {
            (remainder * 100 + u32::from(b - b'A') + 10) % 97
        };
    }
    remainder == 1
}

#[cfg(test)]
mod tests;
