//! Arbitrary bytes and arbitrary JSON (and TOML made from it), and documents shaped like the real
//! thing with arbitrary values, fed to rewrite-event, to answers files and to content packs: each
//! run ends in success or a clear exit 2, never a panic, and within the time bound the runner
//! enforces.

use std::process::Stdio;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use serde_json::{Map, Value};

use crate::inputs::run;

/// Cases per target: enough to meet every kind of input, few enough to keep the suite fast.
const CASES: u32 = 64;

fn config() -> Config {
    Config {
        cases: CASES,
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..Config::default()
    }
}

/// Any JSON value, nested a few levels, with keys drawn from small sets so that the keys the
/// commands know (and duplicates, and near misses) come up often.
fn json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("retrieval".to_string()),
        Just("scenarios".to_string()),
        Just("R1".to_string()),
        Just("A".to_string()),
        Just("event_type".to_string()),
        Just("order_id".to_string()),
        Just("format_version".to_string()),
        Just("id".to_string()),
        Just("prompt".to_string()),
        any::<String>(),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        Just(Value::String("OrderPlaced".into())),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// The bytes of a file: arbitrary, or JSON text, or that JSON as TOML where TOML can hold it.
fn file() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        json().prop_map(|v| v.to_string().into_bytes()),
        json().prop_map(|v| match toml::to_string(&v) {
            Ok(text) => format!("format_version = 1\n{text}").into_bytes(),
            Err(_) => v.to_string().into_bytes(),
        }),
    ]
}

/// A string that is sometimes one a command knows and sometimes anything at all.
fn word(known: &'static [&'static str]) -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        3 => prop::sample::select(known).prop_map(str::to_string),
        1 => any::<String>(),
    ]
}

/// An event with the fields a thin event has, each present or not, plus arbitrary others.
fn event() -> impl Strategy<Value = Vec<u8>> {
    let kinds = &[
        "OrderPlaced",
        "PaymentCaptured",
        "UserRegistered",
        "BookingCreated",
    ];
    (
        prop::option::of(word(kinds)),
        prop::option::of(word(&["ord_9f2a", "usr_1", "bkg_7"])),
        prop::option::of(word(&["2026-03-14T09:26:53Z"])),
        prop::collection::vec((any::<String>(), json()), 0..4),
    )
        .prop_map(|(kind, id, at, extra)| {
            let mut event: Map<String, Value> = extra.into_iter().collect();
            for (key, value) in [("event_type", kind), ("order_id", id), ("occurred_at", at)] {
                if let Some(value) = value {
                    event.insert(key.to_string(), Value::String(value));
                }
            }
            Value::Object(event).to_string().into_bytes()
        })
}

/// A scenario answer with each part present or not, in the words people use or any at all.
fn scenario_answer() -> impl Strategy<Value = Value> {
    (
        prop::option::of(word(&["queue", "topic", "pub/sub", "request-reply"])),
        prop::option::of(word(&["notification", "ecst", "none"])),
        prop::option::of(prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            word(&["yes", "no"]).prop_map(Value::String)
        ]),
        prop::option::of(any::<String>()),
    )
        .prop_map(|(channel, payload, outbox, reason)| {
            let parts = [
                ("channel", channel.map(Value::String)),
                ("payload", payload.map(Value::String)),
                ("outbox", outbox),
                ("reason", reason.map(Value::String)),
            ];
            let answer: Map<String, Value> = parts
                .into_iter()
                .filter_map(|(key, value)| Some((key.to_string(), value?)))
                .collect();
            Value::Object(answer)
        })
}

/// An answers file: mostly real sections with their own ids and the right kind of answer,
/// sometimes an id in the wrong section, an unknown one or the wrong kind of answer.
fn answers() -> impl Strategy<Value = Vec<u8>> {
    let text = || any::<String>().prop_map(Value::String);
    let entry = prop_oneof![
        4 => (word(&["R1", "R2", "r3"]), text()).prop_map(|(id, a)| ("retrieval".to_string(), id, a)),
        2 => (word(&["C1", "C5"]), text()).prop_map(|(id, a)| ("compare".to_string(), id, a)),
        4 => (word(&["A", "b", "E"]), scenario_answer()).prop_map(|(id, a)| ("scenarios".to_string(), id, a)),
        1 => (word(&["retrieval", "scenarios", "quiz"]), word(&["A", "R1"]), prop_oneof![text(), scenario_answer()]),
    ];
    prop::collection::vec(entry, 0..6).prop_map(|entries| {
        let mut file = Map::new();
        for (section, id, answer) in entries {
            let items = file
                .entry(section)
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(items) = items {
                items.insert(id, answer);
            }
        }
        Value::Object(file).to_string().into_bytes()
    })
}

/// A drill item with the fields a content file has, each usually present, with near-miss
/// spellings, unknown fields and arbitrary values now and then.
fn item() -> impl Strategy<Value = Vec<u8>> {
    let string = |known: &'static [&'static str]| word(known).prop_map(toml::Value::String);
    let usually = |s| prop::option::weighted(0.95, s);
    let extra = (
        word(&["hints", "hints", "misconceptions", "promt"]),
        prop_oneof![
            string(&["a hint"]),
            any::<i64>().prop_map(toml::Value::Integer),
            prop::collection::vec(string(&["queue-broadcasts", "nope"]), 0..3)
                .prop_map(toml::Value::Array),
        ],
    );
    let concept = (
        word(&["c1", "c2"]),
        any::<String>(),
        prop::collection::vec(
            string(&[
                "each consumer",
                "every|each subscriber* copy",
                "copy",
                "a  b",
            ]),
            1..3,
        ),
        prop::option::weighted(0.2, 0i64..3),
    )
        .prop_map(|(id, says, patterns, weight)| {
            let mut c = toml::Table::new();
            c.insert("id".into(), toml::Value::String(id));
            c.insert("says".into(), toml::Value::String(says));
            c.insert("match".into(), toml::Value::Array(patterns));
            if let Some(w) = weight {
                c.insert("weight".into(), toml::Value::Integer(w));
            }
            toml::Value::Table(c)
        });
    (
        usually(
            prop_oneof![9 => Just(1i64), 1 => any::<i64>()]
                .prop_map(toml::Value::Integer)
                .boxed(),
        ),
        (
            usually(string(&["X1", "Y2"]).boxed()),
            usually(string(&["retrieval", "concepts", "compare"]).boxed()),
            usually(string(&["A title"]).boxed()),
            usually(string(&["What is a topic?"]).boxed()),
            usually(string(&["A model answer."]).boxed()),
        ),
        prop::collection::vec(extra, 0..2),
        prop::collection::vec(concept, 1..3),
    )
        .prop_map(
            |(version, (id, section, title, prompt, model), extra, concepts)| {
                let mut item = toml::Table::new();
                if let Some(v) = version {
                    item.insert("format_version".into(), v);
                }
                let fields = [
                    ("id", id),
                    ("section", section),
                    ("title", title),
                    ("prompt", prompt),
                    ("model_answer", model),
                ];
                for (key, value) in fields {
                    if let Some(value) = value {
                        item.insert(key.into(), value);
                    }
                }
                item.extend(extra);
                if !concepts.is_empty() {
                    item.insert("concepts".into(), toml::Value::Array(concepts));
                }
                toml::to_string(&item).unwrap_or_default().into_bytes()
            },
        )
}

/// Runs msgwork on `bytes` written where `args` names `{}`; returns the exit code.
fn exit_code(bytes: &[u8], name: &str, args: &[&str]) -> i32 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let target = if name.ends_with(".toml") {
        dir.path().to_string_lossy().into_owned()
    } else {
        path.to_string_lossy().into_owned()
    };
    let args: Vec<&str> = args
        .iter()
        .map(|a| if *a == "{}" { target.as_str() } else { a })
        .collect();
    let ran = run(&args, Stdio::null());
    assert!(
        ran.code == 0 || ran.code == 2,
        "msgwork {args:?} exited {}:\n{}",
        ran.code,
        ran.stderr
    );
    if ran.code == 2 {
        assert!(ran.stderr.starts_with("error: "), "{}", ran.stderr);
    }
    ran.code
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn rewrite_event_takes_any_file(bytes in prop_oneof![file(), event()]) {
        exit_code(&bytes, "event.json", &["rewrite-event", "{}", "--json"]);
    }

    #[test]
    fn drill_takes_any_answers_file(bytes in prop_oneof![file(), answers()]) {
        exit_code(&bytes, "answers.json", &["drill", "--answers", "{}", "--json"]);
    }

    #[test]
    fn drill_takes_any_content_pack(bytes in prop_oneof![file(), item()]) {
        exit_code(&bytes, "x.toml", &["drill", "--list", "--no-builtin", "--content", "{}", "--json"]);
    }
}
