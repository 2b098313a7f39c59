//! The classifier's verdicts: how sensitive a field is, and where and why.

/// How sensitive a field is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
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
