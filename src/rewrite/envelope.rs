//! The standard envelopes events really come in (CloudEvents, EventBridge, Stripe, GitHub and
//! Shopify webhooks, Debezium change events and the outbox event router's output), each opened
//! into the thin event it announces and the state it carries, and named so the learner knows
//! which one was read.

use serde_json::{Map, Value};

use super::thin::FieldError;
use super::{input, timestamp};

/// An envelope opened: which one it was, the thin event it stands for and the entity's state.
#[derive(Debug)]
pub(super) struct Opened {
    /// A stable name for `--json`: `cloudevents`, `eventbridge`, `stripe-event` ...
    pub(super) name: &'static str,
    /// What was read, in words, for the notes.
    pub(super) said: String,
    /// `event_type`, the entity id field, and `occurred_at` and `source` when the envelope has them.
    pub(super) thin: Map<String, Value>,
    /// The state the envelope carries, when it carries any.
    pub(super) record: Option<Map<String, Value>>,
}

fn str_at<'v>(v: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

fn obj_at<'v>(v: &'v Map<String, Value>, key: &str) -> Option<&'v Map<String, Value>> {
    v.get(key).and_then(Value::as_object)
}

/// An id value as events carry it: a non-empty string or an integer.
fn id_value(v: &Value) -> Option<Value> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(v.clone()),
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(v.clone()),
        _ => None,
    }
}

/// The entity id a state object names: a field like `order_id`, else its own `id` under the
/// name `{entity}_id`.
fn entity_id(state: &Map<String, Value>, entity: &str) -> Option<(String, Value)> {
    let named = state.iter().find_map(|(k, v)| {
        let names_id = (k.ends_with("_id") || k.ends_with("Id"))
            && !k.starts_with("event")
            && !k.starts_with("correlation");
        names_id
            .then(|| id_value(v).map(|v| (k.clone(), v)))
            .flatten()
    });
    named.or_else(|| {
        let id = state.get("id").and_then(id_value)?;
        Some((format!("{}_id", snake(entity)), id))
    })
}

/// `OrderLine` -> `order_line`, `customers` -> `customer`: a field name for an entity.
fn snake(entity: &str) -> String {
    let mut out = String::new();
    for (i, c) in entity.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    let out: String = out
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect();
    match out.strip_suffix("ies") {
        Some(stem) => format!("{stem}y"),
        None => out
            .strip_suffix('s')
            .filter(|s| !s.ends_with('s'))
            .unwrap_or(&out)
            .to_string(),
    }
}

fn thin(
    event_type: &str,
    id: (String, Value),
    occurred_at: Option<String>,
    source: Option<&str>,
) -> Map<String, Value> {
    let mut t = Map::new();
    t.insert("event_type".to_string(), Value::from(event_type));
    t.insert(id.0, id.1);
    if let Some(at) = occurred_at.filter(|s| timestamp::is_rfc3339(s)) {
        t.insert("occurred_at".to_string(), Value::from(at));
    }
    if let Some(source) = source {
        t.insert("source".to_string(), Value::from(source));
    }
    t
}

fn unix_time(v: Option<&Value>, per_second: i64) -> Option<String> {
    let n = v?.as_i64()?;
    Some(crate::sim::model::rfc3339_utc(n.div_euclid(per_second)))
}

/// Opens `event` if it is one of the standard envelopes; `None` for a plain thin event.
pub(super) fn open(file: &str, event: &Map<String, Value>) -> Result<Option<Opened>, FieldError> {
    let refuse = |message: String| FieldError {
        file: file.to_string(),
        message,
    };
    let no_id = |what: &str, entity: &str| {
        refuse(format!(
            "this is {what}, but its state has no id to name the {entity} by; add the entity's id \
             (such as \"id\" or \"{}_id\") to it",
            snake(entity)
        ))
    };

    // Kafka Connect's JSON converter with schemas: the message is under `payload`.
    if let (Some(Value::Object(_)), Some(payload)) = (event.get("schema"), event.get("payload"))
        && event.len() == 2
    {
        let inner = match payload {
            Value::Object(m) => m.clone(),
            Value::String(s) => input::parse_object(&format!("{file} (its payload)"), s)
                .map_err(|e| refuse(format!("the payload string is not one JSON object: {e}")))?,
            other => {
                return Err(refuse(format!(
                    "the payload beside the schema must be a JSON object or a JSON string (found {})",
                    input::kind(other)
                )));
            }
        };
        if let Some(opened) = debezium(&inner, &refuse)? {
            return Ok(Some(opened));
        }
        return Ok(Some(Opened {
            name: "outbox-router",
            said: "the Kafka Connect JSON envelope (schema and payload) that Debezium's outbox \
                   event router emits: the outbox row's payload was read as the event"
                .to_string(),
            thin: inner,
            record: None,
        }));
    }
    if let Some(opened) = debezium(event, &refuse)? {
        return Ok(Some(opened));
    }

    // CloudEvents 1.0, structured JSON mode.
    if str_at(event, "specversion").is_some()
        && let (Some(kind), Some(source)) = (str_at(event, "type"), str_at(event, "source"))
    {
        let data = obj_at(event, "data").cloned();
        let entity = kind.rsplit('.').nth(1).unwrap_or("entity");
        let id = data
            .as_ref()
            .and_then(|d| entity_id(d, entity))
            .or_else(|| str_at(event, "subject").map(|s| ("subject".to_string(), s.into())))
            .ok_or_else(|| no_id("a CloudEvents event", entity))?;
        return Ok(Some(Opened {
            name: "cloudevents",
            said: format!(
                "a CloudEvents {} event: its type, time and source were read from the envelope \
                 and the state from `data`",
                str_at(event, "specversion").unwrap_or("")
            ),
            thin: thin(
                kind,
                id,
                str_at(event, "time").map(str::to_string),
                Some(source),
            ),
            record: data,
        }));
    }

    // Amazon EventBridge.
    if let (Some(kind), Some(detail)) = (str_at(event, "detail-type"), obj_at(event, "detail")) {
        let entity = kind.split_whitespace().next().unwrap_or("entity");
        let id = entity_id(detail, entity).ok_or_else(|| no_id("an EventBridge event", entity))?;
        return Ok(Some(Opened {
            name: "eventbridge",
            said: "an Amazon EventBridge event: its type from `detail-type` and the state from \
                   `detail`"
                .to_string(),
            thin: thin(
                kind,
                id,
                str_at(event, "time").map(str::to_string),
                str_at(event, "source"),
            ),
            record: Some(detail.clone()),
        }));
    }

    // Stripe: an event wraps an API object; an object on its own is a record.
    if let Some(object) = str_at(event, "object") {
        let stripe_id = str_at(event, "id").is_some_and(|id| {
            id.split_once('_')
                .is_some_and(|(p, rest)| !p.is_empty() && !rest.is_empty())
        });
        if object == "event"
            && let (Some(kind), Some(state)) = (
                str_at(event, "type"),
                obj_at(event, "data").and_then(|d| obj_at(d, "object")),
            )
        {
            let entity = str_at(state, "object").unwrap_or("object");
            let id = state
                .get("id")
                .and_then(id_value)
                .map(|v| (format!("{}_id", snake(entity)), v))
                .ok_or_else(|| no_id("a Stripe event", entity))?;
            return Ok(Some(Opened {
                name: "stripe-event",
                said: format!(
                    "a Stripe event: its type and creation time from the envelope and the {entity} \
                     from `data.object`"
                ),
                thin: thin(kind, id, unix_time(event.get("created"), 1), Some("stripe")),
                record: Some(state.clone()),
            }));
        }
        if stripe_id && object != "event" && !event.contains_key("type") {
            return Err(refuse(format!(
                "this is a Stripe {object} object, not an event: it holds the state but says \
                 nothing happened; pass it with --source to an event about it, or give the \
                 Stripe event (\"object\": \"event\") that carries it"
            )));
        }
    }

    // GitHub: the event name travels in the X-GitHub-Event header; the body names its objects.
    if obj_at(event, "sender").is_some_and(|s| s.contains_key("login"))
        && (event.contains_key("repository") || event.contains_key("organization"))
    {
        const OBJECTS: &[(&str, &str)] = &[
            ("comment", "issue_comment"),
            ("pull_request", "pull_request"),
            ("issue", "issues"),
            ("release", "release"),
            ("check_run", "check_run"),
            ("check_suite", "check_suite"),
            ("workflow_run", "workflow_run"),
            ("deployment", "deployment"),
            ("discussion", "discussion"),
            ("repository", "repository"),
        ];
        let (object, name) = OBJECTS
            .iter()
            .find(|(o, _)| obj_at(event, o).is_some())
            .copied()
            .unwrap_or(("repository", "repository"));
        let name = if object == "comment" && !event.contains_key("issue") {
            "commit_comment"
        } else {
            name
        };
        let state = obj_at(event, object).cloned().unwrap_or_default();
        let id = state
            .get("id")
            .and_then(id_value)
            .map(|v| (format!("{object}_id"), v))
            .ok_or_else(|| no_id("a GitHub webhook delivery", object))?;
        let kind = match str_at(event, "action") {
            Some(action) => format!("{name}.{action}"),
            None => name.to_string(),
        };
        let mut record = event.clone();
        record.remove("action");
        return Ok(Some(Opened {
            name: "github-webhook",
            said: format!(
                "a GitHub webhook delivery: GitHub names the event in the X-GitHub-Event header, \
                 so `{kind}` was read from the body's `{object}` and `action`"
            ),
            thin: thin(
                &kind,
                id,
                str_at(&state, "updated_at")
                    .or_else(|| str_at(&state, "created_at"))
                    .map(str::to_string),
                Some("github"),
            ),
            record: Some(record),
        }));
    }

    // Shopify: the topic travels in the X-Shopify-Topic header; the body is the resource.
    if let Some(gid) = str_at(event, "admin_graphql_api_id")
        && let Some(resource) = gid
            .strip_prefix("gid://shopify/")
            .and_then(|r| r.split('/').next())
        && let Some(id) = event.get("id").and_then(id_value)
    {
        let entity = snake(resource);
        return Ok(Some(Opened {
            name: "shopify-webhook",
            said: format!(
                "a Shopify webhook body: Shopify names the topic (such as {entity}s/create) in the \
                 X-Shopify-Topic header, so the event is named after the {resource} it carries"
            ),
            thin: thin(
                &format!("shopify.{entity}"),
                (format!("{entity}_id"), id),
                str_at(event, "updated_at")
                    .or_else(|| str_at(event, "created_at"))
                    .map(str::to_string),
                Some("shopify"),
            ),
            record: Some(event.clone()),
        }));
    }
    Ok(None)
}

/// A Debezium change event (`before`, `after`, `source`, `op`), named `{table}.{what happened}`.
fn debezium(
    event: &Map<String, Value>,
    refuse: &dyn Fn(String) -> FieldError,
) -> Result<Option<Opened>, FieldError> {
    let (Some(op), Some(source)) = (str_at(event, "op"), obj_at(event, "source")) else {
        return Ok(None);
    };
    if !(event.contains_key("after") || event.contains_key("before")) {
        return Ok(None);
    }
    let table = str_at(source, "table").unwrap_or("row");
    let (what, side) = match op {
        "c" => ("created", "after"),
        "u" => ("updated", "after"),
        "d" => ("deleted", "before"),
        "r" => ("read", "after"),
        "t" => ("truncated", "after"),
        other => {
            return Err(refuse(format!(
                "this is a Debezium change event with op \"{}\", which is none of c, u, d, r or t",
                other.chars().take(8).collect::<String>()
            )));
        }
    };
    let state = obj_at(event, side).cloned();
    let id = state
        .as_ref()
        .and_then(|s| entity_id(s, table))
        .ok_or_else(|| {
            refuse(format!(
                "this is a Debezium change event ({table}, op {op}), but its `{side}` row has no \
                 id; the key of the row travels in the message key, so add it to the row"
            ))
        })?;
    Ok(Some(Opened {
        name: "debezium-change-event",
        said: format!(
            "a Debezium change event: `{op}` on table `{table}`, with the row from `{side}`"
        ),
        thin: thin(
            &format!("{table}.{what}"),
            id,
            unix_time(event.get("ts_ms"), 1000),
            str_at(source, "connector").map(|_| "debezium"),
        ),
        record: state,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opened(v: serde_json::Value) -> Result<Option<Opened>, FieldError> {
        open("e.json", v.as_object().unwrap())
    }

    #[test]
    fn a_plain_thin_event_is_no_envelope() {
        let thin = serde_json::json!({"event_type": "OrderPlaced", "order_id": "o1"});
        assert!(opened(thin).unwrap().is_none());
    }

    #[test]
    fn an_envelope_without_an_id_for_its_entity_is_a_clear_error() {
        let cloud = serde_json::json!({"specversion": "1.0", "type": "com.x.order.placed",
            "source": "/x", "id": "e1", "data": {"status": "placed"}});
        let err = opened(cloud).unwrap_err().message;
        assert!(
            err.contains("CloudEvents") && err.contains("order_id"),
            "{err}"
        );
        let change = serde_json::json!({"op": "x", "after": {"id": 1}, "source": {"table": "t"}});
        let err = opened(change).unwrap_err().message;
        assert!(err.contains("op \"x\""), "{err}");
        let wrapped = serde_json::json!({"schema": {}, "payload": "{not json"});
        let err = opened(wrapped).unwrap_err().message;
        assert!(err.contains("payload string"), "{err}");
    }

    #[test]
    fn ids_keep_their_json_type_and_times_come_from_the_envelope() {
        let change = serde_json::json!({"op": "u", "before": null,
            "after": {"id": 7, "sku": "A"}, "source": {"table": "products", "connector": "mysql"},
            "ts_ms": 1_773_480_413_000_i64});
        let o = opened(change).unwrap().unwrap();
        assert_eq!(o.thin["product_id"], 7);
        assert_eq!(o.thin["event_type"], "products.updated");
        assert_eq!(o.thin["occurred_at"], "2026-03-14T09:26:53Z");
    }

    #[test]
    fn entity_names_become_id_fields() {
        assert_eq!(snake("Order"), "order");
        assert_eq!(snake("OrderLine"), "order_line");
        assert_eq!(snake("customers"), "customer");
        assert_eq!(snake("categories"), "category");
        assert_eq!(snake("address"), "address");
    }
}
