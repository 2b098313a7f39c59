//! The rewrite itself: a thin event as a notification and, when enough consumers want state, as
//! ECST, with secrets and needless personal data kept off and the cost of each form measured.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value, json};

use super::catalogue::{self, Consumer, Form};
use super::classify::{self, Class, Finding};
use super::envelope;
use super::output::{
    CallBacks, ConsumerView, Excluded, Flagged, Metrics, NoEcst, Rewrite, SCHEMA_VERSION,
};
use super::paths::{ancestors, get_path, remove_path, set_path, within};
use super::redact::{self, Scope};
use super::thin::{FieldError, Thin, event_type_of, read_thin};

/// The entity's full record, handed in with `--source`.
#[derive(Clone, Debug)]
pub struct Source {
    /// The file it came from, for messages.
    pub file: String,
    pub record: Map<String, Value>,
    /// Use it even when its id names a different entity than the event's (`--force-source`).
    pub force: bool,
}

/// The id a record gives itself: its own id field, else `id`, as text.
fn record_id(record: &Map<String, Value>, id_field: &str) -> Option<String> {
    [id_field, "id"].iter().find_map(|k| match record.get(*k) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// A `--source` record wrapped as `{"order": {...}}` (one key holding an object, and no id of its
/// own) is read as the object inside; the note says so.
fn unwrap_record(source: &mut Source, thin: &Thin, entity: &str) -> Option<String> {
    if source.record.len() != 1 || record_id(&source.record, &thin.id_field).is_some() {
        return None;
    }
    let (key, inner) = source.record.iter().next()?;
    let inner = inner.as_object()?.clone();
    let note = format!(
        "The --source record is wrapped as {{\"{}\": {{...}}}}: the object inside was read as the {entity} record.",
        redact::text(key)
    );
    source.record = inner;
    Some(note)
}

/// Refuses a record about a different entity than the event, unless the learner forced it; the
/// note says what was used.
fn match_source(source: &Source, thin: &Thin, entity: &str) -> Result<Option<String>, FieldError> {
    let id = redact::text(&thin.id);
    let Some(own) = record_id(&source.record, &thin.id_field) else {
        return Ok(Some(format!(
            "The --source record has no {} or id field, so msgwork could not check that it is the record of {entity} {id}.",
            thin.id_field
        )));
    };
    if own == thin.id {
        return Ok(None);
    }
    let own = redact::text(&own);
    if source.force {
        return Ok(Some(format!(
            "The --source record is for {entity} {own}, not {id}: used for {id} because --force-source asks for it; both forms carry {id}."
        )));
    }
    Err(FieldError {
        file: source.file.clone(),
        message: format!(
            "this record is for {entity} {own}, but the event is about {entity} {id}; pass the record of {id} with --source, or add --force-source to use this one for {id}"
        ),
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

/// How deep the reasoned consumers look for ordinary fields inside an object that also holds
/// personal data or secrets.
const MAX_NEED_DEPTH: usize = 3;

/// The record's fields that hold nothing sensitive, as dotted paths: a whole object when all of
/// it is ordinary, else its ordinary fields one level down (`issue.title` beside `issue.user`),
/// so one personal object inside does not take the rest of the state off the event.
fn ordinary_paths(
    record: &Map<String, Value>,
    prefix: &str,
    findings: &[Finding],
    out: &mut Vec<String>,
) {
    for (key, value) in record {
        if key.contains('.') || key.contains('[') {
            continue;
        }
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let clean = findings
            .iter()
            .filter(|f| within(&f.path, &path))
            .all(|f| f.class == Class::Ordinary);
        // An object with a sensitive field of its own stays off whole (`tax` holding an id and
        // its kind); one whose sensitive fields sit deeper lends its other fields.
        let own_sensitive = findings.iter().any(|f| {
            f.class != Class::Ordinary
                && f.path
                    .strip_prefix(&path)
                    .and_then(|rest| rest.strip_prefix('.'))
                    .is_some_and(|rest| !rest.contains(['.', '[']))
        });
        if clean {
            out.push(path);
        } else if let Value::Object(inner) = value
            && !own_sensitive
            && path.matches('.').count() + 1 < MAX_NEED_DEPTH
        {
            ordinary_paths(inner, &path, findings, out);
        }
    }
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

/// Rewrites a thin event as notification and ECST. `source` is the entity's state; without one,
/// the shipped sample records are searched.
pub fn rewrite(
    file: &str,
    event: &Map<String, Value>,
    source: Option<Source>,
) -> Result<Rewrite, FieldError> {
    let opened = envelope::open(file, event)?;
    let event = opened.as_ref().map_or(event, |o| &o.thin);
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
    if let Some(o) = &opened {
        notes.push(format!("Read as {}.", o.said));
    }
    let carried = opened.as_ref().and_then(|o| o.record.clone());
    let (record_source, record) = match (source, carried) {
        (Some(mut source), _) => {
            if let Some(note) = unwrap_record(&mut source, &thin, &entity) {
                notes.push(note);
            }
            notes.extend(match_source(&source, &thin, &entity)?);
            (format!("--source {}", source.file), Some(source.record))
        }
        (None, Some(record)) => (
            format!(
                "the {} envelope's own state",
                opened.as_ref().map_or("", |o| o.name)
            ),
            Some(record),
        ),
        (None, None) => match catalogue::sample_record(&entity, &thin.id) {
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
    let record_found = record.is_some();
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
    // A key that looks sensitive would carry what it holds through the field's name; the
    // findings above already list the object holding it.
    let mut record = record;
    redact::drop_sensitive_keys(&mut record);
    let class_of: BTreeMap<&str, &Finding> =
        findings.iter().map(|f| (f.path.as_str(), f)).collect();
    let (consumers, reasoned) = match &spec {
        Some(spec) => (spec.consumers.clone(), false),
        None => {
            let mut fields = Vec::new();
            ordinary_paths(&record, "", &findings, &mut fields);
            notes.push(format!(
                "{} is not in msgwork's consumer catalogue: these consumers were reasoned from its name and fields.",
                thin.event_type
            ));
            (reasoned_consumers(&thin.event_type, &entity, &fields), true)
        }
    };

    let mut id_only = Map::new();
    id_only.insert(thin.id_field.clone(), thin.id_value.clone());
    let notification = envelope(&thin, &entity, id_only.clone());

    let ecst_consumers: Vec<&Consumer> = consumers
        .iter()
        .filter(|c| c.prefers == Form::Ecst)
        .collect();
    let mut excluded = Vec::new();
    let mut flagged = Vec::new();
    let mut ecst_absent = None;
    let ecst = if ecst_consumers.len() >= 2 {
        let mut data = id_only.clone();
        for consumer in &ecst_consumers {
            // The events are about the event's entity: a forced record's own id does not travel.
            for need in consumer.needs.iter().filter(|n| **n != thin.id_field) {
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
                    // Who still needs it, though they do not take it from the event.
                    let fetched_by: Vec<&str> = consumers
                        .iter()
                        .filter(|c| c.prefers != Form::Ecst && c.needs.contains(&f.path))
                        .map(|c| c.name.as_str())
                        .collect();
                    let why = match f.class {
                        Class::Secret => format!("{}; secrets never go on an event", f.reason),
                        _ if !fetched_by.is_empty() => format!(
                            "{}; {} {} it, and {} it over an authorised call to the {entity} \
                             service instead of from the event",
                            f.reason,
                            fetched_by.join(" and "),
                            if fetched_by.len() == 1 {
                                "needs"
                            } else {
                                "need"
                            },
                            if fetched_by.len() == 1 {
                                "reads"
                            } else {
                                "read"
                            },
                        ),
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
        let data = data.as_object().cloned().unwrap_or_default();
        if data == id_only && !record_found {
            notes.push(format!(
                "Without the {entity}'s record, an ECST form could carry only the ids the thin \
                 event already holds, which is the notification again."
            ));
            ecst_absent = Some(NoEcst::NeedsTheRecord);
            None
        } else if data == id_only {
            notes.push(format!(
                "The record holds nothing the ECST consumers ask for beyond the {entity}'s id, so \
                 an ECST form would be the notification again: the notification is the event to \
                 publish."
            ));
            ecst_absent = Some(NoEcst::NothingBeyondTheId);
            None
        } else {
            Some(envelope(&thin, &entity, data))
        }
    } else {
        ecst_absent = Some(NoEcst::FewWantIt);
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
    let parents: HashSet<(String, Class)> =
        excluded.iter().map(|e| (e.path.clone(), e.class)).collect();
    excluded.retain(|e| {
        !ancestors(&e.path)
            .into_iter()
            .any(|p| parents.contains(&(p.to_string(), e.class)))
    });
    excluded.dedup_by(|a, b| a.path == b.path);
    let dropped_from_event = dropped_from(event, &thin, &excluded);

    let ecst_data = ecst
        .as_ref()
        .and_then(|e| e.get("data"))
        .and_then(Value::as_object)
        .cloned();
    let callbacks = consumers
        .iter()
        .map(|c| {
            // A consumer that prefers the notification reads the source when it acts, whatever
            // the event carries: it calls back under either form.
            let reads_at_use = c.prefers == Form::Notification;
            let needs_more_than_id = c.needs.iter().any(|n| n != &thin.id_field);
            let carried =
                |data: &Map<String, Value>| c.needs.iter().all(|n| get_path(data, n).is_some());
            let notification = u32::from(reads_at_use || needs_more_than_id);
            CallBacks {
                consumer: c.name.clone(),
                notification,
                ecst: match &ecst_data {
                    Some(data) => u32::from(reads_at_use || needs_more_than_id && !carried(data)),
                    None => notification,
                },
            }
        })
        .collect();
    let stale_fields = ecst_data
        .as_ref()
        .map(|d| d.keys().filter(|k| **k != thin.id_field).cloned().collect())
        .unwrap_or_default();
    // The last guard: whatever slipped past the field-by-field weighing, no secret is printed.
    let mut notification = notification;
    let mut ecst = ecst;
    redact::scrub(&mut notification, Scope::Secrets);
    if let Some(ecst) = ecst.as_mut() {
        redact::scrub(ecst, Scope::Secrets);
    }
    let notes = notes
        .iter()
        .map(|note| redact::text(note).into_owned())
        .collect();
    let size = |v: &Value| serde_json::to_string(v).map_or(0, |s| s.len());
    Ok(Rewrite {
        schema_version: SCHEMA_VERSION,
        event_type: thin.event_type.clone(),
        envelope: opened.map(|o| o.name.to_string()),
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
        ecst_absent,
        excluded_fields: excluded,
        dropped_from_event,
        flagged_pii: flagged,
        notes,
    })
}

/// The thin event's own fields that look like secrets and travel on neither form: its envelope
/// fields replaced, and any other field (`customer_id` holding a card number) the record stands
/// in for. Fields already listed as kept off are not listed again.
fn dropped_from(event: &Map<String, Value>, thin: &Thin, excluded: &[Excluded]) -> Vec<Excluded> {
    let mut dropped = thin.dropped.clone();
    let mut listed: HashSet<String> = dropped
        .iter()
        .chain(excluded)
        .map(|e| e.path.clone())
        .collect();
    for f in classify::classify(&Value::Object(event.clone())) {
        let seen =
            listed.contains(&f.path) || ancestors(&f.path).into_iter().any(|p| listed.contains(p));
        if f.class == Class::Secret && !seen {
            listed.insert(f.path.clone());
            dropped.push(Excluded {
                path: f.path,
                class: f.class,
                reason: format!("{}; left out, secrets never go on an event", f.reason),
            });
        }
    }
    dropped
}

#[cfg(test)]
mod tests;
