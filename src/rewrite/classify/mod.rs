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
//! - Every key and string is first folded to the ASCII it stands for: full-width and other
//!   Unicode digits and letters as NFKC maps them, invisible characters (zero-width spaces,
//!   joiners, soft hyphens, direction marks) removed, odd spaces and dashes made plain. A card
//!   number in full-width digits or split by zero-width spaces is still a card number.
//! - A base64 word (16 characters or more) that decodes to printable text is read again,
//!   decoded: a card number or key hidden by encoding it is a secret ("base64 holding ...").
//! - Some values are told by their neighbours. Forty base64 characters are an AWS secret access
//!   key beside an access key id, or anywhere under a name that says AWS; alone they are too
//!   common a shape to call secret. Nine bare digits are a social security number under an
//!   SSN-like name, after "SSN" in text, or beside a value labelling them "SSN"; alone they are
//!   an order number or an amount. A PEM private key spread over the strings of one array or
//!   object (read joined, so a split inside its `BEGIN` line is found too) makes every piece
//!   from `BEGIN` to `END` secret.
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

mod class;
mod names;
mod neighbours;
mod normalize;
mod pii_shapes;
mod secret_shapes;
mod values;
mod walk;

pub use class::{Class, Finding};
pub use secret_shapes::luhn_valid;
pub use values::describe;
pub use walk::classify;

#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;
