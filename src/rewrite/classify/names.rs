//! What a field's name says: a key split into words and read against the secret and
//! personal-data word lists, the last word naming the thing.

use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SecretKind {
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
    /// A URL that opens a private document to whoever holds it (a receipt, an invoice).
    BearerLink,
}

impl SecretKind {
    pub(super) fn noun(self) -> &'static str {
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
            Self::BearerLink => "a link that opens a private document to whoever holds it",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PiiKind {
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
    Picture,
}

impl PiiKind {
    pub(super) fn noun(self) -> &'static str {
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
            Self::Picture => "a picture of a person",
        }
    }
}

/// What a key says about the value under it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Named {
    Secret(SecretKind),
    Pii(PiiKind),
    /// Describes a sensitive field without holding it: `password_updated_at`, `token_type`.
    Metadata,
    #[default]
    Plain,
}

#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Field {
    pub(super) named: Named,
    /// The sensitive word was plural (`tokens`): with a number it is a count.
    pub(super) plural: bool,
    /// Named like a version: an IP-shaped value is a version number.
    pub(super) version_like: bool,
}

/// What a key says about the fields inside its value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Ctx {
    person: bool,
    card: bool,
    /// A key on the way here names AWS (`aws`, `amazon`): a 40-character base64 value is a
    /// secret access key. Inherited all the way down.
    pub(super) aws: bool,
    /// The key names a thing that is not a person (`repository`): a name inside it is the
    /// thing's name.
    thing: bool,
}

pub(super) struct KeyInfo {
    pub(super) field: Field,
    pub(super) ctx: Ctx,
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

pub(super) fn analyze_key(key: &str, parent: Ctx) -> KeyInfo {
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
    // A lone `login` is the account's username.
    if n == 1 && !parent.thing && last == "login" {
        hits.push(Hit {
            start: 0,
            end: 1,
            named: Named::Pii(PiiKind::Username),
            plural: false,
        });
    }
    let (mut named, plural) = choose(&hits, &tokens);
    if parent.thing && named == Named::Pii(PiiKind::PersonName) {
        named = Named::Plain;
    }
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
    let person = plural_is(head, is_person) || (generic && any(is_person));
    let own = Ctx {
        person,
        card: plural_is(head, is_card) || (generic && any(is_card)),
        aws: false,
        thing: !person && (plural_is(head, is_thing) || (generic && any(is_thing))),
    };
    let mut ctx = if generic && own == Ctx::default() {
        parent
    } else {
        own
    };
    ctx.aws = parent.aws
        || tokens
            .iter()
            .any(|t| matches!(t.as_str(), "aws" | "amazon" | "amz"));
    ctx
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
    (
        SecretKind::BearerLink,
        "receipturl hostedinvoiceurl invoicepdf magiclink signedurl presignedurl",
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
    (
        PiiKind::Picture,
        "avatar avatarurl gravatar gravatarid profilephoto profilepicture profileimage photourl",
    ),
    (PiiKind::Picture, "headshot selfie"),
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
    visible visibility brand network issuer check checks result outcome";

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

/// Objects that are not people, whose `name` and `full_name` name the thing: a repository's
/// `full_name` is owner/name.
const THING_WORDS: &str = "repository repositories repo repos organization organisation org \
    project team product company business shop store merchant app application package workspace \
    channel group room venue hotel property category";

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

fn is_thing(t: &str) -> bool {
    listed(THING_WORDS, t)
}

fn is_card(t: &str) -> bool {
    listed(CARD_WORDS, t)
}

#[cfg(test)]
mod tests;
