//! The consumer catalogue and sample records shipped in `fixtures/`, compiled into the binary.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

static CONSUMERS: &str = include_str!("../../fixtures/consumers.toml");
static RECORDS: &[(&str, &str)] = &[
    ("orders", include_str!("../../fixtures/records/orders.json")),
    (
        "payments",
        include_str!("../../fixtures/records/payments.json"),
    ),
    (
        "shipments",
        include_str!("../../fixtures/records/shipments.json"),
    ),
    ("users", include_str!("../../fixtures/records/users.json")),
    (
        "bookings",
        include_str!("../../fixtures/records/bookings.json"),
    ),
];

/// Which form of an event a consumer would rather receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Form {
    Notification,
    Ecst,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consumer {
    pub name: String,
    pub prefers: Form,
    pub reason: String,
    /// Record fields (top level, or dotted paths) the consumer acts on.
    #[serde(default)]
    pub needs: Vec<String>,
    /// What can go stale for it if it works from a copy.
    #[serde(default)]
    pub stale_risk: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    #[serde(rename = "type")]
    pub event_type: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The entity its id names, e.g. `order`.
    pub entity: String,
    /// The thin event's field that holds the entity id.
    pub id_field: String,
    #[serde(rename = "consumer")]
    pub consumers: Vec<Consumer>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    #[allow(dead_code)]
    format_version: u32,
    event: Vec<EventSpec>,
}

#[derive(Debug, Deserialize)]
struct RecordsFile {
    records: Vec<Map<String, Value>>,
}

/// The shipped catalogue. Its validity is enforced by the test suite.
pub fn events() -> Vec<EventSpec> {
    toml::from_str::<CatalogueFile>(CONSUMERS).map_or_else(|_| Vec::new(), |c| c.event)
}

/// Squashes spelling: `order.placed`, `order_placed` and `OrderPlaced` all read `orderplaced`.
pub fn squash(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The catalogue entry for an event type, by name or alias.
pub fn find(event_type: &str) -> Option<EventSpec> {
    let key = squash(event_type);
    events()
        .into_iter()
        .find(|e| squash(&e.event_type) == key || e.aliases.iter().any(|a| squash(a) == key))
}

/// A shipped sample record with an id field (`id`, or any field ending in `_id`/`Id`) equal to
/// `id`: the entity's own file (`orders.json` for `order`) first, then the others.
pub fn sample_record(entity: &str, id: &str) -> Option<Map<String, Value>> {
    let own = |file: &str| squash(file).trim_end_matches('s') == squash(entity);
    let files = RECORDS
        .iter()
        .filter(|(f, _)| own(f))
        .chain(RECORDS.iter().filter(|(f, _)| !own(f)));
    files
        .filter_map(|(_, text)| serde_json::from_str::<RecordsFile>(text).ok())
        .flat_map(|f| f.records)
        .find(|r| {
            r.iter().any(|(k, v)| {
                (k == "id" || k.ends_with("_id") || k.ends_with("Id")) && v.as_str() == Some(id)
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_parses_and_covers_the_workshop_event() {
        let parsed: CatalogueFile =
            toml::from_str(CONSUMERS).expect("fixtures/consumers.toml parses");
        assert!(parsed.event.len() >= 6);
        for e in &parsed.event {
            assert_eq!(e.consumers.len(), 3, "{} has three consumers", e.event_type);
        }
        let order = find("order.placed").expect("OrderPlaced by its alias");
        assert!(
            order
                .consumers
                .iter()
                .filter(|c| c.prefers == Form::Ecst)
                .count()
                >= 2
        );
        for (file, text) in RECORDS {
            serde_json::from_str::<RecordsFile>(text).unwrap_or_else(|e| panic!("{file}: {e}"));
        }
        assert!(sample_record("order", "ord_9f2a").is_some());
    }
}
