//! Notification vs event-carried state transfer: rewriting a thin event, keeping secrets and
//! needless personal data off the wire, and checking a learner's own rewrite.

pub mod catalogue;
pub mod check;
pub mod classify;
pub mod input;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value, json};

use catalogue::{Consumer, EventSpec, Form};
use classify::{Class, Finding};

/// Bumped when a key of the `--json` output changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;

/// A problem with the event or record that is not about JSON syntax.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{file}: {message}")]
pub struct FieldError {
    pub file: String,
    pub message: String,
}

/// A consumer as the output shows it.
#[derive(Clone, Debug, Serialize)]
pub struct ConsumerView {
    pub name: String,
    pub prefers: Form,
    pub reason: String,
    pub needs: Vec<String>,
    pub stale_risk: String,
}

/// A field kept off the ECST form.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Excluded {
    pub path: String,
    pub class: Class,
    pub reason: String,
}

/// Personal data that does travel, because a named consumer needs it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Flagged {
    pub path: String,
    pub reason: String,
    pub needed_by: Vec<String>,
}

/// Call-backs to the source a consumer needs per event, under each form.
#[derive(Clone, Debug, Serialize)]
pub struct CallBacks {
    pub consumer: String,
    pub notification: u32,
    pub ecst: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct Metrics {
    pub notification_bytes: usize,
    pub ecst_bytes: Option<usize>,
    pub callbacks: Vec<CallBacks>,
    /// ECST fields that are copies and can go stale at the consumers.
    pub stale_fields: Vec<String>,
}

/// The whole rewrite, as `--json` prints it.
#[derive(Clone, Debug, Serialize)]
pub struct Rewrite {
    pub schema_version: u32,
    pub event_type: String,
    pub consumers: Vec<ConsumerView>,
    /// True when the event type is not in the catalogue and the consumers were reasoned from it.
    pub consumers_reasoned: bool,
    /// Where the entity's state came from.
    pub record_source: String,
    pub notification: Value,
    pub ecst: Option<Value>,
    pub excluded_fields: Vec<Excluded>,
    pub flagged_pii: Vec<Flagged>,
    pub metrics: Metrics,
    pub notes: Vec<String>,
}

/// The fields of a thin event this rewrite needs.
struct Thin {
    event_type: String,
    id_field: String,
    id: String,
    occurred_at: String,
    correlation_id: Option<String>,
    source: Option<String>,
}

fn string_field(
    file: &str,
    event: &Map<String, Value>,
    key: &str,
) -> Result<Option<String>, FieldError> {
    match event.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(FieldError {
            file: file.to_string(),
            message: format!("{key} is empty"),
        }),
        Some(Value::Number(n)) if key.ends_with("id") => Ok(Some(n.to_string())),
        Some(other) => Err(FieldError {
            file: file.to_string(),
            message: format!("{key} must be a string (found {})", input::kind(other)),
        }),
    }
}

/// The fields a thin event may name its type with, in the order they are read.
const EVENT_TYPE_KEYS: [&str; 3] = ["event_type", "type", "eventType"];

/// The event's type, when one of the type fields holds a string.
pub fn event_type_of(event: &Map<String, Value>) -> Option<&str> {
    EVENT_TYPE_KEYS
        .iter()
        .find_map(|k| event.get(*k).and_then(Value::as_str))
}

fn read_thin(
    file: &str,
    event: &Map<String, Value>,
    spec: Option<&EventSpec>,
) -> Result<Thin, FieldError> {
    let mut event_type = None;
    for key in EVENT_TYPE_KEYS {
        if let Some(t) = string_field(file, event, key)? {
            event_type = Some(t);
            break;
        }
    }
    let event_type = event_type.ok_or_else(|| FieldError {
        file: file.to_string(),
        message: "no event_type (or type) field: a thin event names what happened, e.g. \"event_type\": \"OrderPlaced\"".to_string(),
    })?;
    let spec_id = spec.map(|s| s.id_field.clone());
    let id_field = spec_id
        .filter(|f| event.contains_key(f))
        .or_else(|| {
            event
                .keys()
                .find(|k| (k.ends_with("_id") || k.ends_with("Id")) && !k.starts_with("event") && !k.starts_with("correlation"))
                .cloned()
        })
        .ok_or_else(|| FieldError {
            file: file.to_string(),
            message: "no entity id field (such as order_id): a thin event must say which entity it is about".to_string(),
        })?;
    let id = string_field(file, event, &id_field)?.ok_or_else(|| FieldError {
        file: file.to_string(),
        message: format!("{id_field} is empty"),
    })?;
    if classify::classify(&Value::String(id.clone()))
        .iter()
        .any(|f| f.class == Class::Secret)
    {
        return Err(FieldError {
            file: file.to_string(),
            message: format!(
                "{id_field} looks like a secret (a card number or key), not an entity id; use the entity's own id"
            ),
        });
    }
    Ok(Thin {
        event_type,
        id_field,
        id,
        occurred_at: string_field(file, event, "occurred_at")?
            .unwrap_or_else(|| crate::sim::model::rfc3339_utc(crate::drill::now())),
        correlation_id: string_field(file, event, "correlation_id")?,
        source: string_field(file, event, "source")?,
    })
}

/// Consumers for an event type the catalogue does not know, reasoned from its name and fields.
fn reasoned_consumers(event_type: &str, entity: &str, record_fields: &[String]) -> Vec<Consumer> {
    let ordinary: Vec<String> = record_fields.to_vec();
    vec![
        Consumer {
            name: "audit-log".to_string(),
            prefers: Form::Ecst,
            reason: format!(
                "An audit trail records the {entity} as it was when {event_type} happened; fetching it later would record a later state."
            ),
            needs: ordinary.clone(),
            stale_risk: "Nothing: an audit record is meant to be a snapshot.".to_string(),
        },
        Consumer {
            name: "analytics".to_string(),
            prefers: Form::Ecst,
            reason: format!(
                "Analytics processes {event_type} in bulk and must not call the {entity} service back once per event."
            ),
            needs: ordinary,
            stale_risk: "Figures built from the copy lag any later correction to the source."
                .to_string(),
        },
        Consumer {
            name: "notifier".to_string(),
            prefers: Form::Notification,
            reason: format!(
                "A message to a person should use the {entity}'s latest details, fetched when it is sent, rather than a copy carried on the event."
            ),
            needs: Vec::new(),
            stale_risk: "Nothing: it reads the source at send time.".to_string(),
        },
    ]
}

/// The value at a dotted path of a JSON object.
pub(crate) fn get_path<'v>(root: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
    let mut parts = path.split('.');
    let mut current = root.get(parts.next()?)?;
    for part in parts {
        current = current.as_object()?.get(part)?;
    }
    Some(current)
}

fn set_path(root: &mut Map<String, Value>, path: &str, value: Value) {
    let parts: Vec<&str> = path.split('.').collect();
    let mut current = root;
    for part in &parts[..parts.len() - 1] {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else { return };
        current = next;
    }
    if let Some(last) = parts.last() {
        current.insert((*last).to_string(), value);
    }
}

/// Removes the value at a path like `customer.email` or `items[2].card`.
fn remove_path(value: &mut Value, path: &str) {
    let mut steps: Vec<Step> = Vec::new();
    for part in path.split('.') {
        let (key, rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            steps.push(Step::Key(key.to_string()));
        }
        for index in rest.split('[') {
            if let Ok(i) = index.trim_end_matches(']').parse::<usize>() {
                steps.push(Step::Index(i));
            }
        }
    }
    fn go(value: &mut Value, steps: &[Step]) {
        match (steps, value) {
            ([Step::Key(k)], Value::Object(map)) => {
                map.remove(k);
            }
            ([Step::Index(i)], Value::Array(items)) if *i < items.len() => {
                items[*i] = Value::Null;
            }
            ([Step::Key(k), rest @ ..], Value::Object(map)) => {
                if let Some(next) = map.get_mut(k) {
                    go(next, rest);
                }
            }
            ([Step::Index(i), rest @ ..], Value::Array(items)) => {
                if let Some(next) = items.get_mut(*i) {
                    go(next, rest);
                }
            }
            _ => {}
        }
    }
    go(value, &steps);
}

enum Step {
    Key(String),
    Index(usize),
}

/// Whether `path` is `need` itself or lies beneath it (`customer.email` under `customer`).
pub(crate) fn within(path: &str, need: &str) -> bool {
    path == need || path.starts_with(&format!("{need}.")) || path.starts_with(&format!("{need}["))
}

/// A UUID-shaped id derived from the event, so the same input gives the same output.
fn derived_id(parts: &[&str]) -> String {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for part in parts {
        for b in part.bytes().chain([0xff]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    let hi = crate::sim::model::mix(h);
    let lo = crate::sim::model::mix(hi ^ h);
    let hi = (hi & 0xffff_ffff_ffff_0fff) | 0x4000;
    let lo = (lo & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    crate::sim::model::uuid_text(hi, lo)
}

fn envelope(thin: &Thin, entity: &str, data: Map<String, Value>) -> Value {
    json!({
        "event_id": derived_id(&[&thin.event_type, &thin.id, &thin.occurred_at]),
        "type": thin.event_type,
        "occurred_at": thin.occurred_at,
        "source": thin.source.clone().unwrap_or_else(|| format!("{entity}-service")),
        "schema_version": 1,
        "correlation_id": thin.correlation_id.clone().unwrap_or_else(|| derived_id(&["correlation", &thin.event_type, &thin.id, &thin.occurred_at])),
        "data": data,
    })
}

/// Rewrites a thin event as notification and ECST. `record` is the entity's state with where it
/// came from; without one, the shipped sample records are searched.
pub fn rewrite(
    file: &str,
    event: &Map<String, Value>,
    record: Option<(String, Map<String, Value>)>,
) -> Result<Rewrite, FieldError> {
    let spec = event_type_of(event).and_then(catalogue::find);
    let thin = read_thin(file, event, spec.as_ref())?;
    let entity = spec.as_ref().map_or_else(
        || {
            thin.id_field
                .trim_end_matches("_id")
                .trim_end_matches("Id")
                .to_string()
        },
        |s| s.entity.clone(),
    );
    let mut notes = Vec::new();
    let (record_source, record) = match record {
        Some((source, record)) => (source, Some(record)),
        None => match catalogue::sample_record(&entity, &thin.id) {
            Some(record) => {
                notes.push(format!(
                    "No --source given: the {entity} record {} was taken from msgwork's sample records (fixtures/records).",
                    thin.id
                ));
                (
                    "sample record in fixtures/records".to_string(),
                    Some(record),
                )
            }
            None => {
                notes.push(format!(
                    "No record for {} {} was found: the ECST form carries only what the thin event holds. Pass --source RECORD.json.",
                    entity, thin.id
                ));
                ("none".to_string(), None)
            }
        },
    };
    let record = record.unwrap_or_else(|| {
        event
            .iter()
            .filter(|(k, _)| {
                ![
                    "event_type",
                    "type",
                    "eventType",
                    "occurred_at",
                    "correlation_id",
                    "source",
                ]
                .contains(&k.as_str())
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    });
    let findings: Vec<Finding> = classify::classify(&Value::Object(record.clone()));
    let class_of: BTreeMap<&str, &Finding> =
        findings.iter().map(|f| (f.path.as_str(), f)).collect();
    let (consumers, reasoned) = match &spec {
        Some(spec) => (spec.consumers.clone(), false),
        None => {
            let fields: Vec<String> = record
                .keys()
                .filter(|k| {
                    findings
                        .iter()
                        .filter(|f| within(&f.path, k))
                        .all(|f| f.class == Class::Ordinary)
                })
                .cloned()
                .collect();
            notes.push(format!(
                "{} is not in msgwork's consumer catalogue: these consumers were reasoned from its name and fields.",
                thin.event_type
            ));
            (reasoned_consumers(&thin.event_type, &entity, &fields), true)
        }
    };

    let mut id_only = Map::new();
    id_only.insert(thin.id_field.clone(), Value::String(thin.id.clone()));
    let notification = envelope(&thin, &entity, id_only.clone());

    let ecst_consumers: Vec<&Consumer> = consumers
        .iter()
        .filter(|c| c.prefers == Form::Ecst)
        .collect();
    let mut excluded = Vec::new();
    let mut flagged = Vec::new();
    let ecst = if ecst_consumers.len() >= 2 {
        let mut data = id_only.clone();
        for consumer in &ecst_consumers {
            for need in &consumer.needs {
                match get_path(&record, need) {
                    Some(value) => set_path(&mut data, need, value.clone()),
                    None => notes.push(format!(
                        "{} needs {need}, which the record does not have.",
                        consumer.name
                    )),
                }
            }
        }
        let mut data = Value::Object(data);
        for f in findings.iter().filter(|f| f.class != Class::Ordinary) {
            let carried = get_path(
                data.as_object().unwrap_or(&Map::new()),
                f.path.split('[').next().unwrap_or(&f.path),
            )
            .is_some();
            // Personal data travels only for a consumer that names it: the field itself, or a
            // parent that is personal as a whole (an address). Asking for all of `customer` does
            // not carry the customer's phone number along.
            let needed_by: Vec<String> = ecst_consumers
                .iter()
                .filter(|c| {
                    c.needs.iter().any(|n| {
                        n == &f.path
                            || (within(&f.path, n)
                                && class_of
                                    .get(n.as_str())
                                    .is_some_and(|p| p.class == Class::Pii))
                    })
                })
                .map(|c| c.name.clone())
                .collect();
            match f.class {
                Class::Pii if carried && !needed_by.is_empty() => flagged.push(Flagged {
                    path: f.path.clone(),
                    reason: f.reason.clone(),
                    needed_by,
                }),
                _ => {
                    if carried {
                        remove_path(&mut data, &f.path);
                    }
                    let why = match f.class {
                        Class::Secret => format!("{}; secrets never go on an event", f.reason),
                        _ => format!("{}; no consumer of this event needs it", f.reason),
                    };
                    excluded.push(Excluded {
                        path: f.path.clone(),
                        class: f.class,
                        reason: why,
                    });
                }
            }
        }
        Some(envelope(
            &thin,
            &entity,
            data.as_object().cloned().unwrap_or_default(),
        ))
    } else {
        notes.push(format!(
            "Fewer than two consumers prefer ECST, so the notification is the event to publish; consumers fetch what they need from the {entity} service."
        ));
        for f in findings.iter().filter(|f| f.class != Class::Ordinary) {
            excluded.push(Excluded {
                path: f.path.clone(),
                class: f.class,
                reason: format!("{}; the notification carries identifiers only", f.reason),
            });
        }
        None
    };
    // An excluded object stands for its fields: list the address, not each of its lines.
    let parents: Vec<(String, Class)> =
        excluded.iter().map(|e| (e.path.clone(), e.class)).collect();
    excluded.retain(|e| {
        !parents
            .iter()
            .any(|(p, class)| *class == e.class && p != &e.path && within(&e.path, p))
    });
    excluded.dedup_by(|a, b| a.path == b.path);

    let ecst_data = ecst
        .as_ref()
        .and_then(|e| e.get("data"))
        .and_then(Value::as_object)
        .cloned();
    let callbacks = consumers
        .iter()
        .map(|c| {
            let needs_more_than_id = c.needs.iter().any(|n| n != &thin.id_field);
            let carried =
                |data: &Map<String, Value>| c.needs.iter().all(|n| get_path(data, n).is_some());
            CallBacks {
                consumer: c.name.clone(),
                notification: u32::from(needs_more_than_id),
                ecst: match &ecst_data {
                    Some(data) => u32::from(needs_more_than_id && !carried(data)),
                    None => u32::from(needs_more_than_id),
                },
            }
        })
        .collect();
    let stale_fields = ecst_data
        .as_ref()
        .map(|d| d.keys().filter(|k| **k != thin.id_field).cloned().collect())
        .unwrap_or_default();
    let size = |v: &Value| serde_json::to_string(v).map_or(0, |s| s.len());
    Ok(Rewrite {
        schema_version: SCHEMA_VERSION,
        event_type: thin.event_type.clone(),
        consumers: consumers
            .iter()
            .map(|c| ConsumerView {
                name: c.name.clone(),
                prefers: c.prefers,
                reason: c.reason.clone(),
                needs: c.needs.clone(),
                stale_risk: c.stale_risk.clone(),
            })
            .collect(),
        consumers_reasoned: reasoned,
        record_source,
        metrics: Metrics {
            notification_bytes: size(&notification),
            ecst_bytes: ecst.as_ref().map(size),
            callbacks,
            stale_fields,
        },
        notification,
        ecst,
        excluded_fields: excluded,
        flagged_pii: flagged,
        notes,
    })
}
