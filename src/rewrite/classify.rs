//! Sensitive-data detection for event payloads: by field name and by value, walking nested objects and arrays.
//!
//! [`classify`] gives every field of a JSON record one of three classes: [`Class::Secret`] (never
//! travels on an event), [`Class::Pii`] (personal data: travels only for a consumer that needs it)
//! or [`Class::Ordinary`]. A field is judged by its name and by its value, and the more severe
//! verdict wins.
//!
//! # How names are read
//!
//! - A key is split into words whatever its style (`passwordHash`, `password_hash`, `X-API-KEY`,
//!   `PASSWORD`) and lower-cased. Trailing digits are dropped (`address_1` reads as `address`;
//!   `cvv2`, `ipv4` and `ipv6` keep theirs) and so are words that are only digits. Up to three
//!   adjacent words are also read joined, so `api_key`, `apiKey` and `apikey` all read as `apikey`.
//! - The last word names the thing: `password_reset_email` is an email address, `email_password`
//!   a password. A sensitive word earlier in the name still counts unless the last word says the
//!   field only describes it (`password_updated_at`, `token_type`, `card_number_last4`,
//!   `email_verified`) or the first word does (`has_password`, `max_tokens`): that is metadata,
//!   and ordinary.
//! - A plural sensitive name holding a number is a count (`input_tokens: 1200`): ordinary.
//! - `name` (and `first`, `last`, `given`, ...) is a person's name inside a person-like object
//!   (`customer`, `user`, `person`, `contact`, `recipient`, `billing`, `shipping`, `guest`, an
//!   address, ...) or right after a person-like word (`customer_name`). `product.name`,
//!   `items[0].name` and a top-level `name`, which says nothing about whose it is, stay ordinary.
//!   `number` inside a `card` object is a card number.
//!
//! # Decisions
//!
//! - National identifiers (SSN, NINO, passport, tax id) and bank account numbers (IBAN) are `Pii`,
//!   not `Secret`: they identify a person and must be kept to a minimum, but they are not
//!   credentials.
//! - A secret-named object or array (`credentials: {...}`, `tokens: [...]`) is one `Secret`
//!   finding; nothing inside it is listed.
//! - A PII-named object or array (`address: {...}`, `emails: [...]`) gets one `Pii` finding for
//!   the whole *and* one finding per leaf. Leaves inherit `Pii` unless they are secrets themselves,
//!   so a caller can carry or drop the whole and still never miss a secret hidden inside it.
//! - A person-like object (`customer: {...}`) is not personal as a whole: its fields are judged
//!   one by one, so asking for the customer does not drag the phone number along.
//! - Booleans are always ordinary: a flag cannot carry a secret, whatever it is called.
//! - A card number by value is a Luhn-valid run of 13 to 19 digits (single spaces or dashes
//!   between them) that starts with 2 to 6, the major industry identifiers of payment cards. That
//!   keeps millisecond, microsecond and nanosecond Unix timestamps, which start with 1, ordinary.
//!   Inside longer text the digits must also stand alone and be grouped as cards print them.
//! - A phone number by value must be international: `+` and 8 to 15 digits. Bare digit strings are
//!   too often order ids, amounts, timestamps or postcodes.
//! - Loopback and unspecified IP addresses are not personal, and an IP-shaped value in a field
//!   named like a version (`1.0.0.0`) is a version.
//! - Secrets and personal data inside free text (a JWT in a log line, a card number in a note, an
//!   email address in a comment) are found too; the reason then says "text containing ...".
//! - A key that itself looks like a secret or personal data (`{"ada@example.com": {...}}`) would
//!   leak through the path, so it is never written out: the object holding such keys gets one
//!   finding (its class escalated if a secret sits under them) and those entries are not listed.
//! - Paths use `.` for objects and `[i]` for arrays, from the root, which has the empty path. A key
//!   that is empty or contains `.`, `[` or `]` is written `["key"]`.
//! - A reason is a fixed phrase, at most with a digit count: never the value or any part of it.
//!
//! The walk keeps its own stack and every string is scanned a fixed number of times, so the cost
//! is linear in the size of the input and no nesting depth can exhaust the call stack.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;

use serde_json::Value;

/// How sensitive a field is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// Never travels on an event: passwords, keys, tokens, card data.
    Secret,
    /// Personal data: travels only when a consumer needs it.
    Pii,
    /// Neither.
    Ordinary,
}

/// The verdict on one field.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Finding {
    /// Where: `customer.email`, `items[2].card`, `password_hash`.
    pub path: String,
    /// How sensitive the field is.
    pub class: Class,
    /// Why, in a short phrase; NEVER contains the value or any part of it.
    pub reason: String,
}

/// Classifies every leaf (and every object whose name alone marks it, e.g. `credentials`) of `value`.
/// Ordinary leaves are included with class Ordinary, so callers see every field.
pub fn classify(value: &Value) -> Vec<Finding> {
    let mut walk = Walk {
        nodes: vec![Node {
            parent: None,
            segment: Segment::Root,
        }],
        findings: Vec::new(),
    };
    let mut stack = vec![Frame {
        value,
        node: 0,
        field: Field::default(),
        ctx: Ctx::default(),
        inherited: None,
        collapse: None,
    }];
    while let Some(frame) = stack.pop() {
        walk.visit(frame, &mut stack);
    }
    walk.findings
}

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

fn rank(class: Class) -> u8 {
    match class {
        Class::Ordinary => 0,
        Class::Pii => 1,
        Class::Secret => 2,
    }
}

// ---------------------------------------------------------------------------------------------
// The walk
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Segment<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

/// One step of a path; paths are built only for what is reported.
struct Node<'a> {
    parent: Option<usize>,
    segment: Segment<'a>,
}

struct Frame<'a> {
    value: &'a Value,
    node: usize,
    /// What the key this value sits under says.
    field: Field,
    /// What the key says about the fields inside this value.
    ctx: Ctx,
    /// The kind of personal data an enclosing PII-named object holds.
    inherited: Option<PiiKind>,
    /// The finding that stands for this whole entry, when its key itself is sensitive.
    collapse: Option<usize>,
}

struct Walk<'a> {
    nodes: Vec<Node<'a>>,
    findings: Vec<Finding>,
}

impl<'a> Walk<'a> {
    fn visit(&mut self, frame: Frame<'a>, stack: &mut Vec<Frame<'a>>) {
        match frame.value {
            Value::Object(map) => {
                let Some((inherited, own)) = self.open(&frame, map.is_empty(), "an empty object")
                else {
                    return;
                };
                let mut keyed = frame.collapse.or(own);
                for (key, value) in map.iter().rev() {
                    let node = self.node(frame.node, Segment::Key(key));
                    let mut collapse = frame.collapse;
                    if let Some(found) = scan_secret(key).or_else(|| scan_pii(key, false)) {
                        let index = match keyed {
                            Some(index) => {
                                self.escalate(index, found.class);
                                index
                            }
                            None => {
                                let path = self.path(frame.node);
                                self.findings.push(Finding {
                                    path,
                                    class: found.class,
                                    reason: found.key_reason(),
                                });
                                self.findings.len() - 1
                            }
                        };
                        keyed = Some(index);
                        collapse = Some(index);
                    }
                    let info = analyze_key(key, frame.ctx);
                    stack.push(Frame {
                        value,
                        node,
                        field: info.field,
                        ctx: info.ctx,
                        inherited,
                        collapse,
                    });
                }
            }
            Value::Array(items) => {
                let Some((inherited, _)) = self.open(&frame, items.is_empty(), "an empty array")
                else {
                    return;
                };
                let field = Field {
                    version_like: frame.field.version_like,
                    ..Field::default()
                };
                for (i, value) in items.iter().enumerate().rev() {
                    let node = self.node(frame.node, Segment::Index(i));
                    stack.push(Frame {
                        value,
                        node,
                        field,
                        ctx: frame.ctx,
                        inherited,
                        collapse: frame.collapse,
                    });
                }
            }
            leaf => {
                let (class, reason) = leaf_verdict(leaf, frame.field, frame.inherited);
                self.emit(&frame, class, reason);
            }
        }
    }

    /// Reports what a container's own name says. `None`: the container is reported whole and
    /// not entered. Otherwise the personal-data kind its fields inherit, and the index of the
    /// container's own finding, if it has one.
    fn open(
        &mut self,
        frame: &Frame<'a>,
        empty: bool,
        empty_reason: &str,
    ) -> Option<(Option<PiiKind>, Option<usize>)> {
        match frame.field.named {
            Named::Secret(kind) => {
                self.emit(frame, Class::Secret, named_reason(kind.noun()));
                None
            }
            Named::Pii(kind) => {
                let own = self.emit(frame, Class::Pii, named_reason(kind.noun()));
                Some((Some(kind), own))
            }
            Named::Metadata | Named::Plain => {
                // The root is the record, not a field: an empty record has nothing to report.
                if empty && frame.node != 0 {
                    match frame.inherited {
                        Some(kind) => self.emit(frame, Class::Pii, inside_reason(kind.noun())),
                        None => self.emit(frame, Class::Ordinary, empty_reason.to_string()),
                    };
                }
                Some((frame.inherited, None))
            }
        }
    }

    /// Reports a finding, or folds it into the finding that stands for a sensitive key. Returns
    /// the index of a new finding.
    fn emit(&mut self, frame: &Frame<'a>, class: Class, reason: String) -> Option<usize> {
        match frame.collapse {
            Some(index) => {
                self.escalate(index, class);
                None
            }
            None => {
                let path = self.path(frame.node);
                self.findings.push(Finding {
                    path,
                    class,
                    reason,
                });
                Some(self.findings.len() - 1)
            }
        }
    }

    fn escalate(&mut self, index: usize, class: Class) {
        if let Some(finding) = self.findings.get_mut(index)
            && rank(class) > rank(finding.class)
        {
            finding.class = class;
            finding.reason.push_str(match class {
                Class::Secret => ", holding a secret",
                Class::Pii | Class::Ordinary => ", holding personal data",
            });
        }
    }

    fn node(&mut self, parent: usize, segment: Segment<'a>) -> usize {
        self.nodes.push(Node {
            parent: Some(parent),
            segment,
        });
        self.nodes.len() - 1
    }

    fn path(&self, node: usize) -> String {
        let mut chain = Vec::new();
        let mut current = Some(node);
        while let Some(index) = current {
            let Some(n) = self.nodes.get(index) else {
                break;
            };
            chain.push(n.segment);
            current = n.parent;
        }
        let mut path = String::new();
        for segment in chain.iter().rev() {
            match segment {
                Segment::Root => {}
                Segment::Key(key) => push_key(&mut path, key),
                Segment::Index(i) => {
                    path.push('[');
                    path.push_str(&i.to_string());
                    path.push(']');
                }
            }
        }
        path
    }
}

fn push_key(path: &mut String, key: &str) {
    if key.is_empty() || key.contains(['.', '[', ']']) {
        path.push_str("[\"");
        for c in key.chars() {
            if c == '"' || c == '\\' {
                path.push('\\');
            }
            path.push(c);
        }
        path.push_str("\"]");
    } else {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    }
}

fn named_reason(noun: &str) -> String {
    format!("named like {noun}")
}

fn inside_reason(noun: &str) -> String {
    format!("inside a field named like {noun}")
}

fn leaf_verdict(value: &Value, field: Field, inherited: Option<PiiKind>) -> (Class, String) {
    if value.is_boolean() {
        return (Class::Ordinary, "a boolean flag".to_string());
    }
    let count = field.plural && value.is_number();
    let secret = match value {
        Value::String(s) => scan_secret(s),
        Value::Number(n) => n.as_u64().and_then(|u| card_number(&u.to_string())),
        _ => None,
    };
    if let Some(found) = secret {
        return (Class::Secret, found.value_reason());
    }
    match field.named {
        Named::Secret(kind) if !count => return (Class::Secret, named_reason(kind.noun())),
        Named::Pii(kind) if !count => return (Class::Pii, named_reason(kind.noun())),
        _ => {}
    }
    if let Value::String(s) = value
        && let Some(found) = scan_pii(s, field.version_like)
    {
        return (Class::Pii, found.value_reason());
    }
    if let Some(kind) = inherited {
        return (Class::Pii, inside_reason(kind.noun()));
    }
    let reason = if count {
        "a count"
    } else if field.named == Named::Metadata {
        "describes a sensitive field without holding it"
    } else {
        "nothing sensitive in its name or value"
    };
    (Class::Ordinary, reason.to_string())
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SecretKind {
    Password,
    Secret,
    Token,
    ApiKey,
    PrivateKey,
    Credentials,
    Auth,
    Session,
    Cookie,
    OneTimeCode,
    Pin,
    CardNumber,
    SecurityCode,
}

impl SecretKind {
    fn noun(self) -> &'static str {
        match self {
            Self::Password => "a password",
            Self::Secret => "a secret",
            Self::Token => "a token",
            Self::ApiKey => "an API key",
            Self::PrivateKey => "a private or signing key",
            Self::Credentials => "credentials",
            Self::Auth => "an authorization credential",
            Self::Session => "a session identifier",
            Self::Cookie => "a cookie",
            Self::OneTimeCode => "a one-time or recovery code",
            Self::Pin => "a PIN",
            Self::CardNumber => "a card number",
            Self::SecurityCode => "a card security code",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PiiKind {
    Email,
    Phone,
    Address,
    PersonName,
    Username,
    BirthDate,
    Ip,
    NationalId,
    BankAccount,
    Device,
}

impl PiiKind {
    fn noun(self) -> &'static str {
        match self {
            Self::Email => "an email address",
            Self::Phone => "a phone number",
            Self::Address => "a postal address",
            Self::PersonName => "a person's name",
            Self::Username => "a username",
            Self::BirthDate => "a date of birth",
            Self::Ip => "an IP address",
            Self::NationalId => "a national identifier",
            Self::BankAccount => "a bank account number",
            Self::Device => "a device identifier",
        }
    }
}

/// What a key says about the value under it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Named {
    Secret(SecretKind),
    Pii(PiiKind),
    /// Describes a sensitive field without holding it: `password_updated_at`, `token_type`.
    Metadata,
    #[default]
    Plain,
}

#[derive(Clone, Copy, Debug, Default)]
struct Field {
    named: Named,
    /// The sensitive word was plural (`tokens`): with a number it is a count.
    plural: bool,
    /// Named like a version: an IP-shaped value is a version number.
    version_like: bool,
}

/// What a key says about the fields inside its value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Ctx {
    person: bool,
    card: bool,
}

struct KeyInfo {
    field: Field,
    ctx: Ctx,
}

#[derive(Clone, Copy)]
struct Hit {
    start: usize,
    end: usize,
    named: Named,
    plural: bool,
}

impl Hit {
    fn rank(&self) -> u8 {
        match self.named {
            Named::Secret(_) => 2,
            Named::Pii(_) => 1,
            Named::Metadata | Named::Plain => 0,
        }
    }
}

fn analyze_key(key: &str, parent: Ctx) -> KeyInfo {
    let tokens = tokenize(key);
    let Some(last) = tokens.last().map(String::as_str) else {
        // A key of digits only (`{"17": {...}}`, a map keyed by id) says nothing: its
        // fields are read as its parent's.
        return KeyInfo {
            field: Field::default(),
            ctx: parent,
        };
    };
    let n = tokens.len();
    let mut hits = Vec::new();
    for start in 0..n {
        let mut term = String::new();
        for (offset, token) in tokens.iter().skip(start).take(3).enumerate() {
            term.push_str(token);
            let end = start + offset + 1;
            let exact = lookup(&term, |w| vocabulary().get(w).copied());
            if let Some(((named, last_word_only), plural)) = exact
                && (!last_word_only || end == n)
            {
                hits.push(Hit {
                    start,
                    end,
                    named,
                    plural,
                });
            }
            if offset == 0 && exact.is_none() {
                let fragment = lookup(&term, secret_fragment)
                    .map(|(kind, plural)| (Named::Secret(kind), plural))
                    .or_else(|| {
                        lookup(&term, pii_fragment).map(|(kind, plural)| (Named::Pii(kind), plural))
                    });
                if let Some((named, plural)) = fragment {
                    hits.push(Hit {
                        start,
                        end,
                        named,
                        plural,
                    });
                }
            }
        }
    }
    let person_name = Named::Pii(PiiKind::PersonName);
    if matches!(last, "name" | "names") {
        if n >= 2 && tokens.get(n - 2).is_some_and(|t| plural_is(t, is_person)) {
            hits.push(Hit {
                start: n - 2,
                end: n,
                named: person_name,
                plural: false,
            });
        }
        if n == 1 && (parent.person || parent.card) {
            hits.push(Hit {
                start: 0,
                end: 1,
                named: person_name,
                plural: false,
            });
        }
    }
    if n == 1
        && parent.person
        && matches!(
            last,
            "first" | "last" | "given" | "family" | "middle" | "full" | "maiden"
        )
    {
        hits.push(Hit {
            start: 0,
            end: 1,
            named: person_name,
            plural: false,
        });
    }
    if n == 1 && parent.card && matches!(last, "number" | "no" | "num") {
        hits.push(Hit {
            start: 0,
            end: 1,
            named: Named::Secret(SecretKind::CardNumber),
            plural: false,
        });
    }
    let (named, plural) = choose(&hits, &tokens);
    KeyInfo {
        field: Field {
            named,
            plural,
            version_like: matches!(
                last,
                "version" | "ver" | "build" | "release" | "revision" | "semver"
            ),
        },
        ctx: context_of(&tokens, parent),
    }
}

/// Picks the verdict among the words a key matched: the last word names the thing.
fn choose(hits: &[Hit], tokens: &[String]) -> (Named, bool) {
    let n = tokens.len();
    let first = tokens.first().map_or("", String::as_str);
    let last = tokens.last().map_or("", String::as_str);
    let prefix_meta = is_meta_prefix(first);
    // On a tie the word list wins over the person-name rule: `user_name` is a username.
    let head = hits
        .iter()
        .rev()
        .filter(|h| h.end == n)
        .max_by_key(|h| (h.end - h.start, h.rank()));
    if let Some(h) = head {
        return if h.start > 0 && prefix_meta {
            (Named::Metadata, false)
        } else {
            (h.named, h.plural)
        };
    }
    let live = hits
        .iter()
        .filter(|h| !(is_meta_suffix(last, h.named) || (h.start > 0 && prefix_meta)))
        .max_by_key(|h| (h.rank(), h.end - h.start));
    match live {
        Some(h) => (h.named, false),
        None if hits.is_empty() => (Named::Plain, false),
        None => (Named::Metadata, false),
    }
}

/// What a key says about the fields inside its value. A generic container (`details`, `info`)
/// is read through: `customer.details.name` is the customer's name.
fn context_of(tokens: &[String], parent: Ctx) -> Ctx {
    let Some(head) = tokens.last() else {
        return parent;
    };
    let generic = is_generic(head);
    let any = |f: fn(&str) -> bool| tokens.iter().any(|t| plural_is(t, f));
    let own = Ctx {
        person: plural_is(head, is_person) || (generic && any(is_person)),
        card: plural_is(head, is_card) || (generic && any(is_card)),
    };
    if generic && own == Ctx::default() {
        parent
    } else {
        own
    }
}

/// Splits a key into lower-case words: `XApiKey` -> `x api key`, `password_hash` -> `password hash`.
fn tokenize(key: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut previous: Option<char> = None;
    let mut chars = key.chars().peekable();
    while let Some(c) = chars.next() {
        if !c.is_alphanumeric() {
            flush(&mut tokens, &mut current);
            previous = None;
            continue;
        }
        if let Some(p) = previous
            && c.is_uppercase()
        {
            let next_lower = chars.peek().is_some_and(|n| n.is_lowercase());
            if p.is_lowercase() || p.is_numeric() || (p.is_uppercase() && next_lower) {
                flush(&mut tokens, &mut current);
            }
        }
        current.extend(c.to_lowercase());
        previous = Some(c);
    }
    flush(&mut tokens, &mut current);
    tokens
}

fn flush(tokens: &mut Vec<String>, current: &mut String) {
    let word = std::mem::take(current);
    if word.is_empty() || word.chars().all(char::is_numeric) {
        return;
    }
    let stripped = word.trim_end_matches(|c: char| c.is_ascii_digit());
    if matches!(word.as_str(), "cvv2" | "cvc2" | "ipv4" | "ipv6" | "last4") || stripped.is_empty() {
        tokens.push(word);
    } else {
        tokens.push(stripped.to_string());
    }
}

/// Looks a word up as written, then as a plural (`addresses`, `tokens`).
fn lookup<T>(term: &str, f: impl Fn(&str) -> Option<T>) -> Option<(T, bool)> {
    if let Some(found) = f(term) {
        return Some((found, false));
    }
    for suffix in ["es", "s"] {
        if let Some(stem) = term.strip_suffix(suffix)
            && !stem.is_empty()
            && let Some(found) = f(stem)
        {
            return Some((found, true));
        }
    }
    None
}

fn plural_is(word: &str, f: fn(&str) -> bool) -> bool {
    lookup(word, |w| f(w).then_some(())).is_some()
}

/// Words that make a key secret, by kind. Keys are matched word by word, and on runs of up to
/// three words joined: `api_key` and `apiKey` both read as `apikey`.
const SECRET_WORDS: &[(SecretKind, &str)] = &[
    (
        SecretKind::Password,
        "password passwd pwd pass passphrase passcode",
    ),
    (
        SecretKind::Secret,
        "secret clientsecret appsecret apisecret sharedsecret secretid",
    ),
    (
        SecretKind::Token,
        "token accesstoken refreshtoken idtoken authtoken bearertoken apitoken",
    ),
    (
        SecretKind::Token,
        "oauthtoken csrftoken xsrftoken jwt bearer",
    ),
    (
        SecretKind::ApiKey,
        "apikey accesskey secretaccesskey accesskeysecret",
    ),
    (
        SecretKind::PrivateKey,
        "privatekey privkey secretkey signingkey encryptionkey masterkey",
    ),
    (
        SecretKind::Credentials,
        "credential creds cred connectionstring dsn",
    ),
    (
        SecretKind::Auth,
        "auth authorization authorisation authentication authn authheader basicauth",
    ),
    (
        SecretKind::Session,
        "session sessionid sessionkey sessiontoken sessid jsessionid phpsessid",
    ),
    (SecretKind::Cookie, "cookie setcookie"),
    (
        SecretKind::OneTimeCode,
        "otp totp hotp otpcode mfacode twofactorcode verificationcode",
    ),
    (
        SecretKind::OneTimeCode,
        "recoverycode backupcode seedphrase",
    ),
    (SecretKind::Pin, "pin pincode pinnumber"),
    (
        SecretKind::CardNumber,
        "pan cardnumber creditcardnumber debitcardnumber ccnumber cardno",
    ),
    (
        SecretKind::CardNumber,
        "ccno ccnum cardnum primaryaccountnumber",
    ),
    (
        SecretKind::SecurityCode,
        "cvv cvc cvv2 cvc2 csc cvn securitycode cardsecuritycode cardcode",
    ),
    (
        SecretKind::SecurityCode,
        "cardverificationcode cardverificationvalue",
    ),
];

/// Words that make a key personal data, by kind.
const PII_WORDS: &[(PiiKind, &str)] = &[
    (PiiKind::Email, "email emailaddress mail mailaddress"),
    (
        PiiKind::Phone,
        "phone phonenumber phoneno telephone telephonenumber tel telno mobile",
    ),
    (
        PiiKind::Phone,
        "mobilenumber mobileno mobilephone cell cellphone cellnumber fax faxnumber",
    ),
    (PiiKind::Phone, "msisdn contactnumber telnumber"),
    (
        PiiKind::Address,
        "address addr streetaddress street streetname addressline housenumber",
    ),
    (
        PiiKind::Address,
        "houseno apartment apt city town postcode postalcode postal zip zipcode",
    ),
    (
        PiiKind::Address,
        "homeaddress billingaddress shippingaddress mailingaddress postaladdress",
    ),
    (PiiKind::Address, "deliveryaddress residentialaddress"),
    (
        PiiKind::PersonName,
        "firstname lastname fullname givenname familyname surname middlename",
    ),
    (
        PiiKind::PersonName,
        "forename maidenname nickname displayname legalname realname personname",
    ),
    (
        PiiKind::PersonName,
        "cardholdername holdername accountholdername cardholder accountholder",
    ),
    (PiiKind::PersonName, "fname lname"),
    (PiiKind::Username, "username loginname screenname"),
    (
        PiiKind::BirthDate,
        "dob dateofbirth birthdate birthday birthyear yearofbirth placeofbirth",
    ),
    (PiiKind::BirthDate, "birthplace"),
    (
        PiiKind::Ip,
        "ip ipaddress ipaddr ipv4 ipv6 clientip remoteip sourceip userip remoteaddr",
    ),
    (PiiKind::Ip, "remoteaddress forwardedfor xforwardedfor"),
    (
        PiiKind::NationalId,
        "ssn socialsecuritynumber socialsecurity socialsecurityno nino",
    ),
    (
        PiiKind::NationalId,
        "nationalinsurancenumber nationalinsurance nationalid passport",
    ),
    (
        PiiKind::NationalId,
        "passportnumber passportno taxid taxnumber taxpayerid tin idcard",
    ),
    (
        PiiKind::NationalId,
        "driverslicense driverlicense driverslicence driverlicence",
    ),
    (
        PiiKind::NationalId,
        "drivinglicence drivinglicense personalnumber cpf aadhaar nric dni pesel",
    ),
    (
        PiiKind::BankAccount,
        "iban bban accountnumber accountno bankaccount bankaccountnumber",
    ),
    (PiiKind::BankAccount, "bankaccountno"),
    (PiiKind::Device, "macaddress macaddr imei"),
];

/// Personal-data words that count only as the last word of a key: `mail_server`, `mobile_os`
/// and `zip_file` are not personal.
const PII_LAST_WORD_ONLY: &str = "mail tel mobile cell fax zip apt tin";

/// Last words that make an earlier sensitive word describe the field rather than fill it:
/// `password_updated_at`, `token_type`, `card_number_last4`.
const META_LAST_WORDS: &str = "type types kind count length len size expiry expires expiration \
    exp ttl in out at on ts time timestamp date updated changed change created rotated issued \
    modified set present exists enabled disabled required verified confirmed valid validated \
    attempts attempt retries failures policy strength hint format method methods scheme provider \
    status state mode level version algorithm alg scope scopes url uri endpoint path field fields \
    last4 four suffix prefix masked redacted consent preference preferences flag allowed locked \
    visible visibility brand network issuer";

/// Last words that describe a secret without holding it: `secret_name`, `api_key_id`.
const META_LAST_WORDS_SECRET: &str = "name names label description desc id ids arn ref reference";

/// Last words that describe personal data without holding it: `address_id`, `email_domain`.
const META_LAST_WORDS_PII: &str =
    "id ids uuid ref reference country domain region locale language label timezone";

/// First words that make the rest of the key describe the field: `has_password`, `max_tokens`.
const META_FIRST_WORDS: &str = "has is was should requires require needs can allow allows masked \
    redacted max min total num enable enabled disable show hide use";

/// Objects whose `name` is a person's name.
const PERSON_WORDS: &str = "customer user person people contact recipient billing shipping \
    sender receiver buyer owner member holder cardholder accountholder employee patient \
    beneficiary payer payee guest passenger traveler traveller driver shopper consignee applicant \
    subscriber attendee assignee reporter requester requestor signer student addressee billto \
    shipto address profile individual author visitor guardian spouse";

/// Last words that say nothing of their own, so the words before them decide: `billing_details`.
const GENERIC_WORDS: &str = "details detail info information data record identity object obj \
    entity attributes attrs properties props";

const CARD_WORDS: &str = "card creditcard debitcard paymentcard bankcard cc";

fn listed(list: &str, word: &str) -> bool {
    list.split_ascii_whitespace().any(|w| w == word)
}

/// Every secret and personal-data word, with whether it counts only as a key's last word.
fn vocabulary() -> &'static HashMap<&'static str, (Named, bool)> {
    static WORDS: OnceLock<HashMap<&'static str, (Named, bool)>> = OnceLock::new();
    WORDS.get_or_init(|| {
        let secret = SECRET_WORDS.iter().flat_map(|(kind, words)| {
            words
                .split_ascii_whitespace()
                .map(|w| (w, (Named::Secret(*kind), false)))
        });
        let pii = PII_WORDS.iter().flat_map(|(kind, words)| {
            words
                .split_ascii_whitespace()
                .map(|w| (w, (Named::Pii(*kind), listed(PII_LAST_WORD_ONLY, w))))
        });
        secret.chain(pii).collect()
    })
}

/// Secret words glued into a longer word: `userpassword`, `clientsecret`, `accesstoken`.
fn secret_fragment(t: &str) -> Option<SecretKind> {
    let kind = if t.contains("password") || t.contains("passwd") || t.contains("passphrase") {
        SecretKind::Password
    } else if t.contains("secret") && !t.contains("secretar") {
        SecretKind::Secret
    } else if t.len() > 5 && t.ends_with("token") {
        SecretKind::Token
    } else if t.contains("apikey") {
        SecretKind::ApiKey
    } else if t.contains("privatekey") {
        SecretKind::PrivateKey
    } else if t.contains("credential") {
        SecretKind::Credentials
    } else if t.contains("cardnumber") {
        SecretKind::CardNumber
    } else if t.contains("sessionid") {
        SecretKind::Session
    } else if t.contains("cookie") {
        SecretKind::Cookie
    } else {
        return None;
    };
    Some(kind)
}

/// Personal-data words glued into a longer word: `contactemail`, `homephone`, `billingaddress`.
fn pii_fragment(t: &str) -> Option<PiiKind> {
    let not_a_phone = "iphone smartphone headphone microphone megaphone earphone phoneme";
    let kind = if t.contains("email") {
        PiiKind::Email
    } else if t.contains("phone") && !listed(not_a_phone, t) {
        PiiKind::Phone
    } else if t.contains("birth") {
        PiiKind::BirthDate
    } else if t.ends_with("address") {
        PiiKind::Address
    } else {
        return None;
    };
    Some(kind)
}

fn is_meta_suffix(last: &str, named: Named) -> bool {
    listed(META_LAST_WORDS, last)
        || match named {
            Named::Secret(_) => listed(META_LAST_WORDS_SECRET, last),
            Named::Pii(_) => listed(META_LAST_WORDS_PII, last),
            Named::Metadata | Named::Plain => false,
        }
}

fn is_meta_prefix(first: &str) -> bool {
    listed(META_FIRST_WORDS, first)
}

fn is_person(t: &str) -> bool {
    listed(PERSON_WORDS, t)
}

fn is_generic(t: &str) -> bool {
    listed(GENERIC_WORDS, t)
}

fn is_card(t: &str) -> bool {
    listed(CARD_WORDS, t)
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

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
struct Detection {
    class: Class,
    what: What,
    /// Found inside longer text rather than as the whole string.
    embedded: bool,
}

impl Detection {
    fn value_reason(self) -> String {
        if self.embedded {
            format!("text containing {}", self.what.phrase())
        } else {
            self.what.phrase()
        }
    }

    fn key_reason(self) -> String {
        if self.embedded {
            format!("an object with a key containing {}", self.what.phrase())
        } else {
            format!("an object keyed by {}", self.what.phrase())
        }
    }
}

fn scan_secret(s: &str) -> Option<Detection> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    let found = |what, embedded| {
        Some(Detection {
            class: Class::Secret,
            what,
            embedded,
        })
    };
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
    card.map(|hit| Detection {
        class: Class::Secret,
        what: What::Card(hit.digits),
        embedded: true,
    })
}

fn secret_shape(w: &str) -> Option<&'static str> {
    password_hash(w)
        .or_else(|| jwt(w))
        .or_else(|| api_key(w))
        .or_else(|| url_secret(w))
}

/// The whole value as a card number, for JSON numbers.
fn card_number(digits: &str) -> Option<Detection> {
    card_scan(digits)
        .filter(|hit| hit.whole)
        .map(|hit| Detection {
            class: Class::Secret,
            what: What::Card(hit.digits),
            embedded: false,
        })
}

fn scan_pii(s: &str, version_like: bool) -> Option<Detection> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    let found = |noun, embedded| {
        Some(Detection {
            class: Class::Pii,
            what: What::Noun(noun),
            embedded,
        })
    };
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
    if iban_in_text(t) {
        return found("an IBAN", true);
    }
    None
}

fn pii_shape(w: &str, version_like: bool) -> Option<&'static str> {
    if email(w) {
        Some("an email address")
    } else if !version_like && ip(w) {
        Some("an IP address")
    } else if ssn(w) {
        Some("a US social security number")
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

fn password_hash(w: &str) -> Option<&'static str> {
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
fn jwt(w: &str) -> Option<&'static str> {
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

fn api_key(w: &str) -> Option<&'static str> {
    let w = w.trim_end_matches('.');
    for prefix in ["AKIA", "ASIA"] {
        if let Some(body) = w.strip_prefix(prefix)
            && body.len() == 16
            && body
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Some("an AWS access key id");
        }
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

/// `scheme://user:password@host` or a URL whose query carries a secret-named parameter.
fn url_secret(w: &str) -> Option<&'static str> {
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
fn authorization_value(t: &str) -> Option<bool> {
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
    if w.len() < 8 || !w.len().is_multiple_of(4) {
        return false;
    }
    let mut bits = 0u32;
    let mut pending = 0u32;
    let mut colon = false;
    for b in w.trim_end_matches('=').bytes() {
        let value = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return false,
        };
        bits = (bits << 6) | u32::from(value);
        pending += 6;
        if pending >= 8 {
            pending -= 8;
            colon |= (bits >> pending) & 0xff == u32::from(b':');
            bits &= (1 << pending) - 1;
        }
    }
    colon
}

#[derive(Clone, Copy, Debug)]
struct CardHit {
    digits: usize,
    whole: bool,
}

/// The first run of digits (single spaces or dashes between them) that is a card number.
fn card_scan(t: &str) -> Option<CardHit> {
    let bytes = t.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
            continue;
        }
        let start = i;
        let mut digits = [0u8; 19];
        let mut count = 0usize;
        let mut groups = [0usize; 19];
        let mut group_count = 0usize;
        let mut current = 0usize;
        let mut end = i;
        while let Some(&b) = bytes.get(end) {
            if b.is_ascii_digit() {
                if let Some(slot) = digits.get_mut(count) {
                    *slot = b - b'0';
                }
                count += 1;
                current += 1;
            } else if (b == b' ' || b == b'-') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit)
            {
                if let Some(slot) = groups.get_mut(group_count) {
                    *slot = current;
                }
                group_count += 1;
                current = 0;
            } else {
                break;
            }
            end += 1;
        }
        if let Some(slot) = groups.get_mut(group_count) {
            *slot = current;
        }
        group_count += 1;
        i = end;
        if !(13..=19).contains(&count) {
            continue;
        }
        let Some(digits) = digits.get(..count) else {
            continue;
        };
        if !matches!(digits.first(), Some(2..=6)) || !luhn(digits) {
            continue;
        }
        if start == 0 && end == bytes.len() {
            return Some(CardHit {
                digits: count,
                whole: true,
            });
        }
        let alone = start
            .checked_sub(1)
            .and_then(|p| bytes.get(p))
            .is_none_or(|b| !b.is_ascii_alphanumeric())
            && bytes.get(end).is_none_or(|b| !b.is_ascii_alphanumeric());
        if alone && groups.get(..group_count).is_some_and(card_grouping) {
            return Some(CardHit {
                digits: count,
                whole: false,
            });
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

fn email(w: &str) -> bool {
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
fn phone(t: &str) -> bool {
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
fn phone_in_text(t: &str) -> bool {
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

fn ip(w: &str) -> bool {
    if w.len() > 64 || !w.contains(['.', ':']) {
        return false;
    }
    let addr = w
        .parse::<IpAddr>()
        .ok()
        .or_else(|| w.parse::<SocketAddr>().ok().map(|a| a.ip()));
    addr.is_some_and(|a| !a.is_loopback() && !a.is_unspecified())
}

/// `ddd-dd-dddd`, with the area, group and serial numbers the SSA never issues ruled out.
fn ssn(w: &str) -> bool {
    let b = w.as_bytes();
    if b.len() != 11 {
        return false;
    }
    let shaped = b.iter().enumerate().all(|(i, c)| {
        if i == 3 || i == 6 {
            *c == b'-'
        } else {
            c.is_ascii_digit()
        }
    });
    let (Some(area), Some(group), Some(serial)) = (w.get(0..3), w.get(4..6), w.get(7..11)) else {
        return false;
    };
    shaped
        && area != "000"
        && area != "666"
        && !area.starts_with('9')
        && group != "00"
        && serial != "0000"
}

/// An IBAN printed in groups of four inside longer text: `pay to GB82 WEST 1234 5698 7654 32.`
fn iban_in_text(t: &str) -> bool {
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
fn iban(t: &str) -> bool {
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
mod tests {
    use super::*;
    use serde_json::json;

    fn at<'a>(findings: &'a [Finding], path: &str) -> Option<&'a Finding> {
        findings.iter().find(|f| f.path == path)
    }

    fn class_at(value: &Value, path: &str) -> Option<Class> {
        at(&classify(value), path).map(|f| f.class)
    }

    /// The class and reason of `{key: value}`.
    fn one(key: &str, value: Value) -> (Class, String) {
        let record = json!({ key: value });
        let findings = classify(&record);
        assert_eq!(findings.len(), 1, "{key}: {findings:?}");
        findings
            .into_iter()
            .next()
            .map(|f| (f.class, f.reason))
            .unwrap_or((Class::Ordinary, String::new()))
    }

    fn class_of(key: &str, value: Value) -> Class {
        one(key, value).0
    }

    // --- Luhn -------------------------------------------------------------------------------

    #[test]
    fn luhn_accepts_valid_card_numbers_in_any_spacing() {
        for number in [
            "4111 1111 1111 1111",
            "4111111111111111",
            "4111-1111-1111-1111",
            " 4111 1111 1111 1111 ",
            "5555555555554444",
            "378282246310005",
            "4222222222222",
            "6011111111111117",
            "3530111333300000",
            "30569309025904",
            "4000000000000000006",
        ] {
            assert!(luhn_valid(number), "{number}");
        }
    }

    #[test]
    fn luhn_rejects_bad_checksums_lengths_and_characters() {
        for number in [
            "4111 1111 1111 1112",
            "4111111111111112",
            "411111111119",
            "41111111111111111110",
            "",
            "   ",
            "4111 1111 1111 111a",
            "4111.1111.1111.1111",
            "٤١١١١١١١١١١١١١١١",
            "+4111111111111111",
        ] {
            assert!(!luhn_valid(number), "{number}");
        }
    }

    // --- Card numbers by value ----------------------------------------------------------------

    #[test]
    fn a_luhn_valid_number_is_a_card_number_whatever_the_field_is_called() {
        assert_eq!(
            one("ref", json!("4111111111111111")),
            (
                Class::Secret,
                "a Luhn-valid 16-digit number: a card number".to_string()
            )
        );
        assert_eq!(
            class_of("note", json!("4111 1111 1111 1111")),
            Class::Secret
        );
        assert_eq!(
            class_of("note", json!("5500-0055-5555-5559")),
            Class::Secret
        );
        assert_eq!(
            one("x", json!("378282246310005")).1,
            "a Luhn-valid 15-digit number: a card number"
        );
        assert_eq!(
            class_of("n", json!(4_111_111_111_111_111_u64)),
            Class::Secret
        );
        assert_eq!(class_of("n", json!("4000000000000000006")), Class::Secret);
    }

    #[test]
    fn numbers_that_fail_luhn_or_are_not_card_length_are_ordinary() {
        assert_eq!(
            class_of("order_id", json!("4111111111111112")),
            Class::Ordinary
        );
        assert_eq!(
            class_of("order_id", json!(4_111_111_111_111_112_u64)),
            Class::Ordinary
        );
        assert_eq!(class_of("ref", json!("4155550100")), Class::Ordinary);
        assert_eq!(class_of("ref", json!(4_155_550_100_u64)), Class::Ordinary);
        assert_eq!(class_of("ref", json!("411111111119")), Class::Ordinary);
        assert_eq!(
            class_of("ref", json!("41111111111111111116")),
            Class::Ordinary
        );
    }

    #[test]
    fn timestamps_that_pass_luhn_are_not_card_numbers() {
        // Luhn-valid, but starting with 1: epoch milliseconds and microseconds.
        assert!(luhn_valid("1700000000004"));
        assert!(luhn_valid("1718000000000001"));
        assert_eq!(
            class_of("created_at", json!(1_700_000_000_004_u64)),
            Class::Ordinary
        );
        assert_eq!(class_of("ts", json!("1718000000000001")), Class::Ordinary);
    }

    #[test]
    fn a_card_number_inside_text_is_found() {
        assert_eq!(
            one("note", json!("paid with 4111 1111 1111 1111 today")),
            (
                Class::Secret,
                "text containing a Luhn-valid 16-digit number: a card number".to_string()
            )
        );
        assert_eq!(
            class_of("note", json!("card=4111111111111111;")),
            Class::Secret
        );
        assert_eq!(class_of("id", json!("ord_4111111111111111")), Class::Secret);
    }

    #[test]
    fn digits_glued_to_letters_or_oddly_grouped_in_text_are_not_cards() {
        assert_eq!(
            class_of("digest", json!("ab4111111111111111cd")),
            Class::Ordinary
        );
        assert_eq!(
            class_of("note", json!("scores 41 11 11 11 11 11 11 11 today")),
            Class::Ordinary
        );
        assert_eq!(class_of("note", json!("ORD-2024-000123")), Class::Ordinary);
    }

    #[test]
    fn card_security_codes_are_secret_by_name_only() {
        assert_eq!(
            one("cvv", json!("737")),
            (Class::Secret, "named like a card security code".to_string())
        );
        for key in [
            "cvc",
            "CVV2",
            "cvc2",
            "security_code",
            "securityCode",
            "card_verification_value",
        ] {
            assert_eq!(class_of(key, json!(123)), Class::Secret, "{key}");
            assert_eq!(class_of(key, json!("4321")), Class::Secret, "{key}");
        }
        assert_eq!(class_of("quantity", json!(737)), Class::Ordinary);
        assert_eq!(class_of("code", json!("737")), Class::Ordinary);
        assert_eq!(class_of("ref", json!("737")), Class::Ordinary);
    }

    #[test]
    fn number_inside_a_card_object_is_a_card_number() {
        let record = json!({"payment": {"card": {"number": "4111 1111 1111 1112", "brand": "visa", "last4": "1112", "name": "ADA L"}}});
        let findings = classify(&record);
        assert_eq!(
            at(&findings, "payment.card.number").map(|f| f.class),
            Some(Class::Secret)
        );
        assert_eq!(
            at(&findings, "payment.card.brand").map(|f| f.class),
            Some(Class::Ordinary)
        );
        assert_eq!(
            at(&findings, "payment.card.last4").map(|f| f.class),
            Some(Class::Ordinary)
        );
        assert_eq!(
            at(&findings, "payment.card.name").map(|f| f.class),
            Some(Class::Pii)
        );
    }

    // --- Secrets by name ----------------------------------------------------------------------

    #[test]
    fn secret_names_in_every_style() {
        for key in [
            "passwordHash",
            "password_hash",
            "PASSWORD",
            "Password",
            "pwd",
            "passwd",
            "db-password",
            "userpassword",
            "passphrase",
            "secret",
            "client_secret",
            "clientSecret",
            "totp_secret",
            "token",
            "access_token",
            "accessToken",
            "refresh_token",
            "RefreshToken",
            "id_token",
            "card_token",
            "api_key",
            "apiKey",
            "apikey",
            "x-api-key",
            "X-API-KEY",
            "XApiKey",
            "private_key",
            "privateKey",
            "secret_key",
            "aws_secret_access_key",
            "AWS_SECRET_ACCESS_KEY",
            "credentials",
            "Credentials",
            "creds",
            "auth",
            "authorization",
            "Authorization",
            "proxy-authorization",
            "session",
            "session_id",
            "sessionId",
            "JSESSIONID",
            "cookie",
            "Set-Cookie",
            "otp",
            "totp",
            "verification_code",
            "pin",
            "PIN",
            "pin_code",
            "card_number",
            "cardNumber",
            "credit_card_number",
            "pan",
            "cc_number",
            "cvv",
            "cvc",
            "cvv2",
            "security_code",
            "connection_string",
            "password_2",
        ] {
            let (class, reason) = one(key, json!("opaque-value-1"));
            assert_eq!(class, Class::Secret, "{key}");
            assert!(reason.starts_with("named like "), "{key}: {reason}");
        }
    }

    #[test]
    fn secret_reasons_name_the_kind() {
        assert_eq!(one("passwordHash", json!("x")).1, "named like a password");
        assert_eq!(one("apiKey", json!("x")).1, "named like an API key");
        assert_eq!(one("refresh_token", json!("x")).1, "named like a token");
        assert_eq!(one("card_number", json!("x")).1, "named like a card number");
        assert_eq!(one("credentials", json!("x")).1, "named like credentials");
        assert_eq!(one("pin", json!(1234)).1, "named like a PIN");
    }

    #[test]
    fn the_last_word_names_the_thing() {
        assert_eq!(class_of("password_reset_email", json!("x")), Class::Pii);
        assert_eq!(class_of("email_password", json!("x")), Class::Secret);
        assert_eq!(class_of("session_ip", json!("x")), Class::Pii);
        assert_eq!(class_of("password_salt", json!("x")), Class::Secret);
        assert_eq!(class_of("auth_code", json!("x")), Class::Secret);
    }

    #[test]
    fn fields_that_describe_a_secret_without_holding_it_are_ordinary() {
        for (key, value) in [
            ("password_updated_at", json!("2026-01-01T00:00:00Z")),
            ("passwordChangedAt", json!("2026-01-01T00:00:00Z")),
            ("token_type", json!("Bearer")),
            ("token_expires_in", json!(3600)),
            ("card_number_last4", json!("1111")),
            ("card_last4", json!("1111")),
            ("card_last_four", json!("1111")),
            ("card_brand", json!("visa")),
            ("has_password", json!("yes")),
            ("max_tokens", json!(1024)),
            ("total_tokens", json!(1024)),
            ("masked_pan", json!("411111******1111")),
            ("secret_name", json!("prod/db")),
            ("api_key_id", json!("key_1")),
            ("session_started_at", json!("2026-01-01T00:00:00Z")),
            ("email_domain", json!("example.com")),
            ("address_id", json!("adr_1")),
            ("min_password_length", json!(12)),
            ("author", json!("lee")),
            ("authored_by", json!("lee")),
            ("secretary", json!("lee")),
            ("shipping", json!("ground")),
            ("company", json!("Acme")),
            ("tokenizer", json!("bpe")),
        ] {
            assert_eq!(class_of(key, value), Class::Ordinary, "{key}");
        }
        assert_eq!(
            one("token_type", json!("Bearer")).1,
            "describes a sensitive field without holding it"
        );
    }

    #[test]
    fn a_plural_secret_name_with_a_number_is_a_count() {
        assert_eq!(
            one("input_tokens", json!(1200)),
            (Class::Ordinary, "a count".to_string())
        );
        assert_eq!(class_of("output_tokens", json!(7)), Class::Ordinary);
        assert_eq!(class_of("tokens", json!(["a", "b"])), Class::Secret);
        assert_eq!(class_of("token", json!(123456)), Class::Secret);
    }

    #[test]
    fn booleans_are_ordinary_whatever_their_name() {
        for key in [
            "password",
            "email_verified",
            "mfa_enabled",
            "auth",
            "is_mobile",
            "zip",
        ] {
            assert_eq!(
                one(key, json!(true)),
                (Class::Ordinary, "a boolean flag".to_string()),
                "{key}"
            );
        }
    }

    #[test]
    fn null_under_a_sensitive_name_keeps_the_class() {
        assert_eq!(class_of("password", Value::Null), Class::Secret);
        assert_eq!(class_of("phone", Value::Null), Class::Pii);
        assert_eq!(class_of("captured_at", Value::Null), Class::Ordinary);
    }

    // --- Secrets by value -----------------------------------------------------------------------

    const BCRYPT: &str = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
    const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJlc2lnbmF0dXJl";

    #[test]
    fn password_hashes_by_value() {
        for (value, reason) in [
            (BCRYPT, "a bcrypt password hash"),
            (
                "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
                "a bcrypt password hash",
            ),
            (
                "$2y$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
                "a bcrypt password hash",
            ),
            (
                "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
                "an Argon2 password hash",
            ),
            (
                "$argon2i$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
                "an Argon2 password hash",
            ),
            (
                "$argon2d$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
                "an Argon2 password hash",
            ),
            (
                "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
                "an scrypt password hash",
            ),
            (
                "$pbkdf2-sha256$29000$N2YuJUWFsrjSxX2W$lQ1eJ8M8L1qY0h2N9Z0pKxqA",
                "a PBKDF2 password hash",
            ),
            (
                "pbkdf2_sha256$260000$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA=",
                "a PBKDF2 password hash",
            ),
            (
                "$6$rounds=5000$saltsalt$Qk7bXWmz0vX1yG3hJ7YwTqN9u0aR2cE5",
                "a SHA-512-crypt password hash",
            ),
            (
                "$5$saltsalt$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZF",
                "a SHA-256-crypt password hash",
            ),
            (
                "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/",
                "an MD5-crypt password hash",
            ),
        ] {
            assert_eq!(
                one("blob", json!(value)),
                (Class::Secret, reason.to_string()),
                "{value}"
            );
        }
    }

    #[test]
    fn short_dollar_strings_are_not_hashes() {
        assert_eq!(class_of("price", json!("$1$")), Class::Ordinary);
        assert_eq!(class_of("price", json!("$5")), Class::Ordinary);
        assert_eq!(
            class_of("note", json!("costs $5$ or $6$ in total, cash")),
            Class::Ordinary
        );
    }

    #[test]
    fn jwts_private_keys_and_api_keys_by_value() {
        for (value, reason) in [
            (JWT, "a JWT"),
            ("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MSJ9.", "a JWT"),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----",
                "a PEM private key",
            ),
            (
                "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----",
                "a PEM private key",
            ),
            (
                "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----",
                "a PEM private key",
            ),
            (
                "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
                "a PEM private key",
            ),
            ("AKIAIOSFODNN7EXAMPLE", "an AWS access key id"),
            ("ASIAIOSFODNN7EXAMPLE", "an AWS access key id"),
            ("sk_live_51HxYzAbCdEfGhIjKlMnOp", "a Stripe secret key"),
            ("sk_test_4eC39HqLyjWDarjtT1zdp7dc", "a Stripe secret key"),
            ("rk_live_51HxYzAbCdEfGhIjKlMnOp", "a Stripe restricted key"),
            ("ghp_16C7e42F292c6912E7710c838347Ae178B4a", "a GitHub token"),
            ("gho_16C7e42F292c6912E7710c838347Ae178B4a", "a GitHub token"),
            (
                "github_pat_11ABCDEFG0abcdefghijklmn_opqrstuvwxyz0123456789",
                "a GitHub token",
            ),
            (
                "xoxb-2234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
                "a Slack token",
            ),
            (
                "xoxp-2234567890-1234567890123-AbCdEfGhIjKlMnOp",
                "a Slack token",
            ),
            ("xoxa-2-1234567890-AbCdEfGhIjKl", "a Slack token"),
            ("xoxs-2234567890-AbCdEfGhIjKl", "a Slack token"),
            (
                "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe",
                "a Google API key",
            ),
            (
                "postgres://app:s3cr3t-pw@db.internal:5432/orders",
                "a URL with embedded credentials",
            ),
            (
                "https://api.example.com/cb?state=1&access_token=abc123def",
                "a URL carrying a secret query parameter",
            ),
            (
                "Bearer abcdef0123456789abcdef",
                "an HTTP authorization header value",
            ),
            (
                "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
                "an HTTP authorization header value",
            ),
        ] {
            assert_eq!(
                one("value", json!(value)),
                (Class::Secret, reason.to_string()),
                "{value}"
            );
        }
    }

    #[test]
    fn secrets_inside_free_text_are_found() {
        for (value, reason) in [
            (
                format!("Authorization: Bearer {JWT}"),
                "text containing an HTTP authorization header value",
            ),
            (
                format!("retry with token={JWT} later"),
                "text containing a JWT",
            ),
            (
                "boot failed, key AKIAIOSFODNN7EXAMPLE rejected".to_string(),
                "text containing an AWS access key id",
            ),
            (
                format!("user row: {BCRYPT} (migrated)"),
                "text containing a bcrypt password hash",
            ),
            (
                "dsn was mysql://root:hunter22@10.0.0.5/db, fix it".to_string(),
                "text containing a URL with embedded credentials",
            ),
            (
                "key below\n-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----"
                    .to_string(),
                "text containing a PEM private key",
            ),
        ] {
            assert_eq!(
                one("log", json!(value)),
                (Class::Secret, reason.to_string()),
                "{value}"
            );
        }
    }

    #[test]
    fn lookalikes_of_secret_shapes_stay_ordinary() {
        for value in [
            "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0C\n-----END PUBLIC KEY-----",
            "AKIAIOSFODNN7EXAMPL",
            "akiaiosfodnn7example",
            "eyJ",
            "eyJhbGciOiJIUzI1NiJ9",
            "sk_test_",
            "pk_live_51HxYzAbCdEfGhIjKlMnOp",
            "https://example.com/path?page=2&sort=asc",
            "https://user@example.com/",
            "https://example.com/cb?token_type=bearer",
            "Bearer",
            "a basic plan for the bearer of this voucher",
            "Basic settings",
            "Bearer bonds-and-shares",
            "bearer instrument",
            "tok_AnFDfHU4JecStjykSTarRkoe",
            "evt_01JPATVNZ1KTFGH9JBW7YTHHH2",
            "550e8400-e29b-41d4-a716-446655440000",
            "1Z999AA10123456784",
        ] {
            assert_eq!(class_of("value", json!(value)), Class::Ordinary, "{value}");
        }
    }

    // --- Personal data ------------------------------------------------------------------------

    #[test]
    fn pii_by_name() {
        for (key, reason) in [
            ("email", "named like an email address"),
            ("Email", "named like an email address"),
            ("customer_email", "named like an email address"),
            ("emailAddress", "named like an email address"),
            ("e_mail", "named like an email address"),
            ("contactemail", "named like an email address"),
            ("phone", "named like a phone number"),
            ("mobile", "named like a phone number"),
            ("tel", "named like a phone number"),
            ("phone_number", "named like a phone number"),
            ("phoneNumber", "named like a phone number"),
            ("mobile_phone", "named like a phone number"),
            ("homephone", "named like a phone number"),
            ("address", "named like a postal address"),
            ("street", "named like a postal address"),
            ("street_address", "named like a postal address"),
            ("address_line_1", "named like a postal address"),
            ("city", "named like a postal address"),
            ("postcode", "named like a postal address"),
            ("postal_code", "named like a postal address"),
            ("zip", "named like a postal address"),
            ("zipCode", "named like a postal address"),
            ("first_name", "named like a person's name"),
            ("firstName", "named like a person's name"),
            ("lastName", "named like a person's name"),
            ("full_name", "named like a person's name"),
            ("given_name", "named like a person's name"),
            ("family_name", "named like a person's name"),
            ("surname", "named like a person's name"),
            ("display_name", "named like a person's name"),
            ("cardholder_name", "named like a person's name"),
            ("customer_name", "named like a person's name"),
            ("recipientName", "named like a person's name"),
            ("username", "named like a username"),
            ("user_name", "named like a username"),
            ("dob", "named like a date of birth"),
            ("date_of_birth", "named like a date of birth"),
            ("dateOfBirth", "named like a date of birth"),
            ("birthday", "named like a date of birth"),
            ("birthDate", "named like a date of birth"),
            ("ip", "named like an IP address"),
            ("ip_address", "named like an IP address"),
            ("IPAddress", "named like an IP address"),
            ("client_ip", "named like an IP address"),
            ("signup_ip", "named like an IP address"),
            ("ssn", "named like a national identifier"),
            ("social_security_number", "named like a national identifier"),
            ("nino", "named like a national identifier"),
            ("passport", "named like a national identifier"),
            ("passport_number", "named like a national identifier"),
            ("tax_id", "named like a national identifier"),
            ("taxId", "named like a national identifier"),
            ("iban", "named like a bank account number"),
            ("IBAN", "named like a bank account number"),
            ("bank_account_number", "named like a bank account number"),
            ("account_number", "named like a bank account number"),
            ("mac_address", "named like a device identifier"),
        ] {
            assert_eq!(
                one(key, json!("opaque")),
                (Class::Pii, reason.to_string()),
                "{key}"
            );
        }
    }

    #[test]
    fn name_is_personal_only_in_a_person_like_object() {
        for parent in [
            "customer",
            "user",
            "person",
            "contact",
            "recipient",
            "billing",
            "shipping",
            "guest",
            "billing_details",
            "shippingAddress",
            "sender",
        ] {
            let record = json!({ parent: { "name": "Ada Lovelace" } });
            assert_eq!(
                class_at(&record, &format!("{parent}.name")),
                Some(Class::Pii),
                "{parent}"
            );
        }
        for parent in [
            "product",
            "sku",
            "company",
            "shipping_method",
            "event",
            "plan",
        ] {
            let record = json!({ parent: { "name": "Stoneware mug" } });
            assert_eq!(
                class_at(&record, &format!("{parent}.name")),
                Some(Class::Ordinary),
                "{parent}"
            );
        }
        let record = json!({
            "customers": [{"name": "Ada", "first": "Ada", "last": "Lovelace"}],
            "items": [{"name": "Mug"}],
            "name": "OrderPlaced",
            "user": {"details": {"name": "Ada"}, "company": {"name": "Acme"}},
            "users": {"17": {"name": "Grace"}},
            "product": {"info": {"name": "Mug"}}
        });
        let findings = classify(&record);
        for (path, class) in [
            ("user.details.name", Class::Pii),
            ("user.company.name", Class::Ordinary),
            ("users.17.name", Class::Pii),
            ("product.info.name", Class::Ordinary),
        ] {
            assert_eq!(at(&findings, path).map(|f| f.class), Some(class), "{path}");
        }
        assert_eq!(
            at(&findings, "customers[0].name").map(|f| f.class),
            Some(Class::Pii)
        );
        assert_eq!(
            at(&findings, "customers[0].first").map(|f| f.class),
            Some(Class::Pii)
        );
        assert_eq!(
            at(&findings, "customers[0].last").map(|f| f.class),
            Some(Class::Pii)
        );
        assert_eq!(
            at(&findings, "items[0].name").map(|f| f.class),
            Some(Class::Ordinary)
        );
        assert_eq!(
            at(&findings, "name").map(|f| f.class),
            Some(Class::Ordinary)
        );
        assert_eq!(
            class_at(&json!({"product_name": "Mug"}), "product_name"),
            Some(Class::Ordinary)
        );
    }

    #[test]
    fn pii_by_value() {
        for (value, reason) in [
            ("ada@example.com", "an email address"),
            (
                "mailto:ada.lovelace+orders@example.co.uk",
                "an email address",
            ),
            ("+44 20 7946 0958", "an international phone number"),
            ("+1-415-555-0100", "an international phone number"),
            ("+1 (415) 555-0100", "an international phone number"),
            ("+14155550100", "an international phone number"),
            ("tel:+33142685300", "an international phone number"),
            ("203.0.113.41", "an IP address"),
            ("2001:db8::1", "an IP address"),
            ("203.0.113.41:8443", "an IP address"),
            ("GB82 WEST 1234 5698 7654 32", "an IBAN"),
            ("DE89370400440532013000", "an IBAN"),
            ("078-05-1121", "a US social security number"),
        ] {
            assert_eq!(
                one("contact", json!(value)),
                (Class::Pii, reason.to_string()),
                "{value}"
            );
        }
    }

    #[test]
    fn pii_inside_free_text_is_found() {
        assert_eq!(
            one("note", json!("please reply to <ada@example.com>, thanks")),
            (Class::Pii, "text containing an email address".to_string())
        );
        assert_eq!(
            one("log", json!("login from 198.51.100.7.")),
            (Class::Pii, "text containing an IP address".to_string())
        );
    }

    #[test]
    fn lookalikes_of_personal_data_stay_ordinary() {
        for (key, value) in [
            ("order_id", json!("ORD-2024-000123")),
            ("amount", json!("+12.50")),
            ("amount", json!("+1234567.89")),
            ("delta", json!("+2024-01-15")),
            ("created_at", json!("2026-03-14T09:26:53Z")),
            ("check_in", json!("2026-04-03")),
            ("ref", json!("97202")),
            ("ref", json!("4155550100")),
            ("host", json!("127.0.0.1")),
            ("bind", json!("0.0.0.0")),
            ("bind", json!("::1")),
            ("version", json!("1.2.3")),
            ("version", json!("1.0.0.0")),
            ("tls_version", json!("1.0.0.0")),
            ("package", json!("@scope/pkg@1.2.3")),
            ("handle", json!("@ada")),
            ("code", json!("AB12CDEFGHIJKLMNOP")),
            ("sku", json!("GB82-WEST-1234")),
            ("time", json!("12:30:00")),
            ("serial", json!("000-12-3456")),
            ("mac_like", json!("00:1A:2B:3C:4D:5E")),
        ] {
            assert_eq!(
                class_of(key, value.clone()),
                Class::Ordinary,
                "{key}: {value}"
            );
        }
    }

    // --- Ordinary ----------------------------------------------------------------------------

    #[test]
    fn ordinary_fields_stay_ordinary() {
        let record = json!({
            "order_id": "ord_9f2a",
            "amount_cents": 5284,
            "currency": "USD",
            "sku": "MUG-CER-350",
            "quantity": 2,
            "qty": 2,
            "status": "placed",
            "created_at": "2026-03-14T09:26:53Z",
            "occurred_at": 1_773_480_413_000_u64,
            "version": 3,
            "schema_version": 1,
            "event_id": "evt_01JPATVNZ1KTFGH9JBW7YTHHH2",
            "correlation_id": "req_7f3c9a1e5b20",
            "source": "order-service",
            "type": "OrderPlaced",
            "product": {"name": "Stoneware mug, 350 ml", "price": 14.5},
            "tracking_number": "1Z999AA10123456784",
            "country_code": "US",
            "locale": "en-US",
            "timezone": "America/Los_Angeles",
            "special_requests": "Arriving late, around 23:30.",
            "weight_grams": 3120,
            "ratio": -0.5,
            "shipping_method": "ground"
        });
        for f in classify(&record) {
            assert_eq!(f.class, Class::Ordinary, "{f:?}");
            assert_eq!(f.reason, "nothing sensitive in its name or value", "{f:?}");
        }
    }

    // --- Nesting, arrays and paths --------------------------------------------------------------

    #[test]
    fn paths_use_dots_for_objects_and_brackets_for_arrays() {
        let record = json!({
            "customer": {"address": {"street": "1 Main St"}, "id": "cus_1"},
            "items": [{"card": "4111111111111111", "sku": "A"}, {"sku": "B"}],
            "matrix": [[1, 2], [3]]
        });
        let findings = classify(&record);
        let paths: Vec<&str> = findings.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "customer.address",
                "customer.address.street",
                "customer.id",
                "items[0].card",
                "items[0].sku",
                "items[1].sku",
                "matrix[0][0]",
                "matrix[0][1]",
                "matrix[1][0]"
            ]
        );
        assert_eq!(
            at(&findings, "customer.address.street").map(|f| f.class),
            Some(Class::Pii)
        );
        assert_eq!(
            at(&findings, "items[0].card").map(|f| f.class),
            Some(Class::Secret)
        );
    }

    #[test]
    fn a_root_array_and_a_root_scalar_have_bracket_and_empty_paths() {
        let findings = classify(&json!([{"email": "ada@example.com"}]));
        assert_eq!(
            at(&findings, "[0].email").map(|f| f.class),
            Some(Class::Pii)
        );
        let findings = classify(&json!("4111111111111111"));
        assert_eq!(findings.len(), 1);
        assert_eq!(at(&findings, "").map(|f| f.class), Some(Class::Secret));
        assert_eq!(class_at(&json!("ord_9f2a"), ""), Some(Class::Ordinary));
        assert_eq!(class_at(&json!(null), ""), Some(Class::Ordinary));
    }

    #[test]
    fn awkward_keys_are_quoted_in_paths() {
        let findings = classify(&json!({"a.b": 1, "": 2, "x": {"[0]": 3, "say \"hi\".": 4}}));
        let mut paths: Vec<&str> = findings.iter().map(|f| f.path.as_str()).collect();
        paths.sort_unstable();
        assert_eq!(
            paths,
            [
                "[\"\"]",
                "[\"a.b\"]",
                "x[\"[0]\"]",
                "x[\"say \\\"hi\\\".\"]"
            ]
        );
    }

    #[test]
    fn a_secret_named_object_is_one_finding() {
        let record = json!({
            "credentials": {"user": "svc", "password": "pw-1", "nested": {"key": "k"}},
            "tokens": ["t1", "t2"],
            "session": {"id": "s1", "expires_at": "2026-01-01T00:00:00Z"},
            "order_id": "ord_1"
        });
        let findings = classify(&record);
        let mut paths: Vec<(&str, Class)> = findings
            .iter()
            .map(|f| (f.path.as_str(), f.class))
            .collect();
        paths.sort_by(|a, b| a.0.cmp(b.0));
        assert_eq!(
            paths,
            [
                ("credentials", Class::Secret),
                ("order_id", Class::Ordinary),
                ("session", Class::Secret),
                ("tokens", Class::Secret)
            ]
        );
    }

    #[test]
    fn a_pii_named_object_is_reported_whole_and_leaf_by_leaf() {
        let record = json!({"shipping_address": {"name": "Alice", "line1": "1420 Alder Lane", "line2": null, "country": "US", "geo": {"lat": 45.5}}});
        let findings = classify(&record);
        let mut got: Vec<(&str, Class, &str)> = findings
            .iter()
            .map(|f| (f.path.as_str(), f.class, f.reason.as_str()))
            .collect();
        got.sort_by(|a, b| a.0.cmp(b.0));
        assert_eq!(
            got,
            [
                (
                    "shipping_address",
                    Class::Pii,
                    "named like a postal address"
                ),
                (
                    "shipping_address.country",
                    Class::Pii,
                    "inside a field named like a postal address"
                ),
                (
                    "shipping_address.geo.lat",
                    Class::Pii,
                    "inside a field named like a postal address"
                ),
                (
                    "shipping_address.line1",
                    Class::Pii,
                    "inside a field named like a postal address"
                ),
                (
                    "shipping_address.line2",
                    Class::Pii,
                    "inside a field named like a postal address"
                ),
                (
                    "shipping_address.name",
                    Class::Pii,
                    "named like a person's name"
                ),
            ]
        );
    }

    #[test]
    fn a_secret_inside_a_pii_object_stays_secret() {
        let record = json!({"address": {"street": "1 Main St", "door_pin": "4321", "note": "4111 1111 1111 1111"}});
        let findings = classify(&record);
        assert_eq!(at(&findings, "address").map(|f| f.class), Some(Class::Pii));
        assert_eq!(
            at(&findings, "address.door_pin").map(|f| f.class),
            Some(Class::Secret)
        );
        assert_eq!(
            at(&findings, "address.note").map(|f| f.class),
            Some(Class::Secret)
        );
        assert_eq!(
            at(&findings, "address.street").map(|f| f.class),
            Some(Class::Pii)
        );
    }

    #[test]
    fn pii_named_arrays_pass_their_kind_to_elements() {
        let record = json!({"emails": ["a@example.com", "not-an-email"], "phones": []});
        let findings = classify(&record);
        assert_eq!(at(&findings, "emails").map(|f| f.class), Some(Class::Pii));
        assert_eq!(
            at(&findings, "emails[1]").map(|f| f.reason.as_str()),
            Some("inside a field named like an email address")
        );
        assert_eq!(at(&findings, "phones").map(|f| f.class), Some(Class::Pii));
        assert_eq!(findings.len(), 4);
    }

    #[test]
    fn empty_containers_are_reported() {
        let findings = classify(&json!({"tags": [], "meta": {}, "address": {"extra": {}}}));
        let mut got: Vec<(&str, Class)> = findings
            .iter()
            .map(|f| (f.path.as_str(), f.class))
            .collect();
        got.sort_by(|a, b| a.0.cmp(b.0));
        assert_eq!(
            got,
            [
                ("address", Class::Pii),
                ("address.extra", Class::Pii),
                ("meta", Class::Ordinary),
                ("tags", Class::Ordinary)
            ]
        );
        assert_eq!(classify(&json!({})), Vec::new());
    }

    #[test]
    fn deep_nesting_is_walked_without_recursion() {
        let depth = 127;
        let text = format!(
            "{}{}{}",
            "{\"a\":".repeat(depth),
            "\"ada@example.com\"",
            "}".repeat(depth)
        );
        let parsed: Result<Value, _> = serde_json::from_str(&text);
        assert!(parsed.is_ok());
        let value = parsed.unwrap_or(Value::Null);
        let findings = classify(&value);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings.first().map(|f| f.class), Some(Class::Pii));
        assert_eq!(findings.first().map(|f| f.path.len()), Some(depth * 2 - 1));

        let mut built = json!({"password": "pw"});
        for _ in 0..400 {
            built = json!([built]);
        }
        let findings = classify(&built);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings.first().map(|f| f.class), Some(Class::Secret));
    }

    // --- Keys that are themselves sensitive ---------------------------------------------------

    #[test]
    fn a_key_that_is_personal_data_is_never_written_into_a_path() {
        let record = json!({"by_customer": {"ada@example.com": {"orders": 3}, "grace@example.com": {"orders": 1}}, "total": 4});
        let findings = classify(&record);
        let mut got: Vec<(&str, Class, &str)> = findings
            .iter()
            .map(|f| (f.path.as_str(), f.class, f.reason.as_str()))
            .collect();
        got.sort_by(|a, b| a.0.cmp(b.0));
        assert_eq!(
            got,
            [
                (
                    "by_customer",
                    Class::Pii,
                    "an object keyed by an email address"
                ),
                (
                    "total",
                    Class::Ordinary,
                    "nothing sensitive in its name or value"
                )
            ]
        );
    }

    #[test]
    fn a_pii_named_object_with_sensitive_keys_keeps_one_finding() {
        let record = json!({"by_email": {"ada@example.com": {"orders": 3}}, "by_ip": {"203.0.113.41": {"password": "pw"}}});
        let findings = classify(&record);
        let mut got: Vec<(&str, Class, &str)> = findings
            .iter()
            .map(|f| (f.path.as_str(), f.class, f.reason.as_str()))
            .collect();
        got.sort_by(|a, b| a.0.cmp(b.0));
        assert_eq!(
            got,
            [
                ("by_email", Class::Pii, "named like an email address"),
                (
                    "by_ip",
                    Class::Secret,
                    "named like an IP address, holding a secret"
                )
            ]
        );
    }

    #[test]
    fn a_secret_under_a_sensitive_key_escalates_the_holder() {
        let record = json!({"hosts": {"203.0.113.41": {"password": "pw"}, "n": 2}});
        let findings = classify(&record);
        assert_eq!(findings.len(), 2);
        assert_eq!(at(&findings, "hosts").map(|f| f.class), Some(Class::Secret));
        assert_eq!(
            at(&findings, "hosts").map(|f| f.reason.as_str()),
            Some("an object keyed by an IP address, holding a secret")
        );
        assert_eq!(
            at(&findings, "hosts.n").map(|f| f.class),
            Some(Class::Ordinary)
        );
        let findings = classify(&json!({"4111111111111111": "visa"}));
        assert_eq!(findings.len(), 1);
        assert_eq!(at(&findings, "").map(|f| f.class), Some(Class::Secret));
    }

    // --- Never echo ----------------------------------------------------------------------------

    const SECRETS: &[&str] = &[
        BCRYPT,
        "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
        "4111111111111111",
        "5500 0055 5555 5559",
        JWT,
        "sk_live_51HxYzAbCdEfGhIjKlMnOp",
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "xoxb-2234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe",
        "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----",
        "postgres://app:s3cr3t-pw@db.internal:5432/orders",
        "Bearer abcdef0123456789abcdef",
    ];

    fn assert_never_echoed(findings: &[Finding], value: &str) {
        let chars: Vec<char> = value.chars().collect();
        let window = 6.min(chars.len());
        for f in findings {
            for part in chars.windows(window) {
                let part: String = part.iter().collect();
                assert!(
                    !f.reason.contains(&part),
                    "reason {:?} echoes part of {value:?}",
                    f.reason
                );
                assert!(
                    !f.path.contains(&part),
                    "path {:?} echoes part of {value:?}",
                    f.path
                );
            }
        }
    }

    /// Secrets only their field name gives away.
    const NAMED_SECRETS: &[&str] = &["hunter2-Zq9!", "737", "correct horse battery staple"];

    #[test]
    fn no_reason_or_path_ever_contains_a_secret_value() {
        let names = [
            "password",
            "pwd",
            "passwordHash",
            "cvv",
            "apiKey",
            "accessToken",
            "client_secret",
            "pin",
        ];
        let innocent = ["ref", "note", "data", "card", "value", "id"];
        for value in SECRETS.iter().chain(NAMED_SECRETS) {
            let by_value = SECRETS.contains(value);
            for name in names.iter().chain(&innocent) {
                let mut records = vec![
                    json!({ *name: value }),
                    json!({ "customer": { *name: value } }),
                    json!({ "items": [{ "sku": "A-1" }, { *name: value }] }),
                    json!({ "payment": { "details": { *name: { "inner": [value] } } } }),
                    json!({ "address": { *name: value } }),
                    json!({ "a": { "b": { "c": [{ "d": { *name: value } }] } } }),
                ];
                if by_value {
                    records.extend([
                        json!({ "list": [[value]] }),
                        json!({ *name: format!("see {value} here") }),
                        json!({ "wrapper": { *value: { *name: value } } }),
                        json!({ *value: 1 }),
                        json!([value]),
                        json!(value),
                    ]);
                }
                for record in records {
                    let findings = classify(&record);
                    if by_value || names.contains(name) {
                        assert!(
                            findings.iter().any(|f| f.class == Class::Secret),
                            "{value:?} under {name} missed: {findings:?}"
                        );
                    }
                    assert_never_echoed(&findings, value);
                }
            }
        }
    }

    #[test]
    fn no_reason_or_path_contains_personal_data_either() {
        for value in [
            "ada.lovelace@example.com",
            "+44 20 7946 0958",
            "203.0.113.41",
            "GB82 WEST 1234 5698 7654 32",
        ] {
            let record = json!({"contact": value, "by": { value: 1 }, "list": [value], "note": format!("re: {value}")});
            let findings = classify(&record);
            assert!(
                findings.iter().all(|f| f.class == Class::Pii),
                "{findings:?}"
            );
            assert_never_echoed(&findings, value);
        }
    }

    // --- Robustness ----------------------------------------------------------------------------

    #[test]
    fn odd_values_never_panic() {
        let long_digits = "4".repeat(100_000);
        let long_dollars = "$".repeat(100_000);
        let long_jwtish = "eyJ.".repeat(50_000);
        let long_at = "@.".repeat(50_000);
        let long_plus = format!("+{}", "1 ".repeat(50_000));
        let long_key = "passwordHash_".repeat(10_000);
        let record = json!({
            "big": u64::MAX,
            "neg": i64::MIN,
            "float": 1e308,
            "tiny": -1e-308,
            "empty": "",
            "spaces": "   ",
            "unicode": "пароль 密码 🔑 ٤١١١",
            "ключ": "значение",
            "🔑": "🔒",
            "long_digits": long_digits,
            "long_dollars": long_dollars,
            "long_jwtish": long_jwtish,
            "long_at": long_at,
            "long_plus": long_plus,
            long_key: "x",
            "nul": "\u{0}\u{0}",
            "mixed": [null, true, 1, "s", [], {}],
        });
        let findings = classify(&record);
        assert!(findings.len() >= 20);
        assert_eq!(class_at(&record, "big"), Some(Class::Ordinary));
        assert_eq!(class_at(&record, "empty"), Some(Class::Ordinary));
    }

    #[test]
    fn word_lists_are_lower_case_and_never_both_secret_and_personal() {
        let mut seen = std::collections::HashSet::new();
        let secret = SECRET_WORDS.iter().map(|(_, words)| *words);
        let pii = PII_WORDS.iter().map(|(_, words)| *words);
        for words in secret.chain(pii) {
            for word in words.split_ascii_whitespace() {
                assert!(
                    word.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
                    "{word}"
                );
                assert!(seen.insert(word), "{word} is listed twice");
            }
        }
        for word in PII_LAST_WORD_ONLY.split_ascii_whitespace() {
            assert!(
                matches!(vocabulary().get(word), Some((Named::Pii(_), true))),
                "{word}"
            );
        }
    }

    #[test]
    fn tokenizer_reads_every_style() {
        assert_eq!(tokenize("XApiKey"), ["x", "api", "key"]);
        assert_eq!(tokenize("passwordHash"), ["password", "hash"]);
        assert_eq!(
            tokenize("AWS_SECRET_ACCESS_KEY"),
            ["aws", "secret", "access", "key"]
        );
        assert_eq!(tokenize("x-api-key"), ["x", "api", "key"]);
        assert_eq!(tokenize("IPAddress"), ["ip", "address"]);
        assert_eq!(tokenize("address_line1"), ["address", "line"]);
        assert_eq!(tokenize("cvv2"), ["cvv2"]);
        assert_eq!(tokenize("items_12"), ["items"]);
        assert_eq!(tokenize("--"), Vec::<String>::new());
    }

    #[test]
    fn classes_serialize_in_lower_case() {
        let finding = Finding {
            path: "a".to_string(),
            class: Class::Pii,
            reason: "r".to_string(),
        };
        assert_eq!(
            serde_json::to_value(&finding).ok(),
            Some(json!({"path": "a", "class": "pii", "reason": "r"}))
        );
        assert_eq!(
            serde_json::to_value(Class::Secret).ok(),
            Some(json!("secret"))
        );
        assert_eq!(
            serde_json::to_value(Class::Ordinary).ok(),
            Some(json!("ordinary"))
        );
    }

    // --- Records like the workshop's -------------------------------------------------------------

    #[test]
    fn an_order_record_is_classified_field_by_field() {
        let record = json!({
            "order_id": "ord_9f2a",
            "customer_id": "usr_7c31",
            "customer_email": "alice@example.com",
            "items": [{"sku": "MUG-CER-350", "name": "Stoneware mug, 350 ml", "qty": 2, "price_cents": 1450}],
            "shipping_method": "ground",
            "shipping_address": {"name": "Alice Moreau", "line1": "1420 Alder Lane", "city": "Portland", "postal_code": "97202", "country": "US"},
            "payment": {
                "method": "card",
                "card_brand": "visa",
                "card_number": "4111111111111111",
                "cvv": "123",
                "expiry": "09/28",
                "cardholder_name": "ALICE MOREAU",
                "card_token": "tok_AnFDfHU4JecStjykSTarRkoe"
            },
            "placed_at": "2026-03-14T09:26:53Z"
        });
        let findings = classify(&record);
        let expect = [
            ("order_id", Class::Ordinary),
            ("customer_id", Class::Ordinary),
            ("customer_email", Class::Pii),
            ("items[0].name", Class::Ordinary),
            ("items[0].sku", Class::Ordinary),
            ("shipping_method", Class::Ordinary),
            ("shipping_address", Class::Pii),
            ("shipping_address.name", Class::Pii),
            ("shipping_address.postal_code", Class::Pii),
            ("payment.method", Class::Ordinary),
            ("payment.card_brand", Class::Ordinary),
            ("payment.card_number", Class::Secret),
            ("payment.cvv", Class::Secret),
            ("payment.expiry", Class::Ordinary),
            ("payment.cardholder_name", Class::Pii),
            ("payment.card_token", Class::Secret),
            ("placed_at", Class::Ordinary),
        ];
        for (path, class) in expect {
            assert_eq!(at(&findings, path).map(|f| f.class), Some(class), "{path}");
        }
        assert_eq!(
            at(&findings, "payment.card_number").map(|f| f.reason.as_str()),
            Some("a Luhn-valid 16-digit number: a card number")
        );
    }

    #[test]
    fn a_user_record_is_classified_field_by_field() {
        let record = json!({
            "user_id": "usr_7c31",
            "email": "alice@example.com",
            "email_verified": true,
            "password_hash": "$2b$12$X4MU.jbxYx3FUOLdBceEYQqnmZpw2Q6E2oWmDJ6v7MIQl6x0pxYhI",
            "display_name": "Alice Moreau",
            "phone": "+1 503 555 0147",
            "date_of_birth": "1988-05-17",
            "address": {"line1": "1420 Alder Lane", "city": "Portland"},
            "country_code": "US",
            "signup_source": "organic_search",
            "signup_ip": "203.0.113.41",
            "marketing_opt_in": true,
            "mfa_enabled": true,
            "totp_secret": "JBSWY3DPEHPK3PXPQ4ZT6NAL",
            "gateway": {"provider": "acmepay", "api_key": "ak_test_iCzYaBxmjvADdEbU9PR4nQSP", "gateway_secret": "gs_test_kcyTyNYzpLJT0seQT8Mge5kO"},
            "status": "active"
        });
        let findings = classify(&record);
        let expect = [
            ("user_id", Class::Ordinary),
            ("email", Class::Pii),
            ("email_verified", Class::Ordinary),
            ("password_hash", Class::Secret),
            ("display_name", Class::Pii),
            ("phone", Class::Pii),
            ("date_of_birth", Class::Pii),
            ("address", Class::Pii),
            ("address.city", Class::Pii),
            ("country_code", Class::Ordinary),
            ("signup_source", Class::Ordinary),
            ("signup_ip", Class::Pii),
            ("marketing_opt_in", Class::Ordinary),
            ("mfa_enabled", Class::Ordinary),
            ("totp_secret", Class::Secret),
            ("gateway.provider", Class::Ordinary),
            ("gateway.api_key", Class::Secret),
            ("gateway.gateway_secret", Class::Secret),
            ("status", Class::Ordinary),
        ];
        for (path, class) in expect {
            assert_eq!(at(&findings, path).map(|f| f.class), Some(class), "{path}");
        }
        assert_eq!(
            at(&findings, "password_hash").map(|f| f.reason.as_str()),
            Some("a bcrypt password hash")
        );
    }
}
