//! What msgwork itself ships or prints, so evidence can refuse it as the learner's work: every file
//! under `fixtures/` (compiled in by the build script) and msgwork's own rewrite of an event.

use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::fingerprint;

/// Every text file under `fixtures/`: `(path, text)`.
static SHIPPED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/shipped_samples.rs"));

/// The shipped files' fingerprints: each as SQL, and as JSON when it parses as JSON.
fn known() -> &'static [(String, &'static str)] {
    static KNOWN: OnceLock<Vec<(String, &'static str)>> = OnceLock::new();
    KNOWN.get_or_init(|| {
        let mut known = Vec::new();
        for (path, text) in SHIPPED {
            known.push((fingerprint::sql(text), *path));
            if let Ok(value) = serde_json::from_str::<Value>(text) {
                known.push((fingerprint::json(&value), *path));
            }
        }
        known
    })
}

/// The shipped file an artifact's fingerprint matches, if any.
pub fn shipped(fingerprint: &str) -> Option<&'static str> {
    known()
        .iter()
        .find(|(f, _)| f == fingerprint)
        .map(|(_, path)| *path)
}

/// A shipped event by its name (`order-placed`): its path and text, for `rewrite-event --example`.
pub fn example_event(name: &str) -> Option<(&'static str, &'static str)> {
    let path = format!("fixtures/events/{name}.json");
    SHIPPED.iter().find(|(p, _)| *p == path).copied()
}

/// The text of a shipped file by its path under the checkout, such as
/// `fixtures/templates/booking-outbox.sql`.
pub fn shipped_file(path: &str) -> Option<&'static str> {
    SHIPPED
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, text)| *text)
}

/// The names of the shipped events, for the error that lists them.
pub fn example_names() -> Vec<&'static str> {
    SHIPPED
        .iter()
        .filter_map(|(p, _)| p.strip_prefix("fixtures/events/")?.strip_suffix(".json"))
        .collect()
}

/// The paths of every shipped sample.
pub fn shipped_paths() -> impl Iterator<Item = &'static str> {
    SHIPPED.iter().map(|(path, _)| *path)
}

/// The fingerprints of msgwork's own notification and ECST for an event, as `rewrite-event`
/// prints them: a payload equal to one of these was copied, not written. Empty when msgwork
/// cannot rewrite the event.
pub fn model_rewrites(event_name: &str, event: &Map<String, Value>) -> Vec<String> {
    let Ok(model) = crate::rewrite::rewrite(event_name, event, None) else {
        return Vec::new();
    };
    std::iter::once(&model.notification)
        .chain(model.ecst.as_ref())
        .map(fingerprint::json)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_sketch_and_payload_is_known() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
        let mut on_disk = Vec::new();
        for sub in ["sketches", "payloads", "events"] {
            for entry in std::fs::read_dir(format!("{dir}/{sub}")).unwrap() {
                on_disk.push(format!(
                    "fixtures/{sub}/{}",
                    entry.unwrap().file_name().to_string_lossy()
                ));
            }
        }
        let compiled_in: Vec<&str> = shipped_paths().collect();
        for path in &on_disk {
            assert!(
                compiled_in.contains(&path.as_str()),
                "{path} is not compiled in"
            );
            let text =
                std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
            let found = if path.ends_with(".json") {
                shipped(&fingerprint::json(&serde_json::from_str(&text).unwrap()))
            } else {
                shipped(&fingerprint::sql(&text))
            };
            assert!(found.is_some(), "{path} is not recognised");
        }
    }

    #[test]
    fn a_reformatted_sample_is_still_the_sample_and_an_edited_one_is_not() {
        let good = SHIPPED
            .iter()
            .find(|(p, _)| *p == "fixtures/sketches/good.sql")
            .unwrap()
            .1;
        assert_eq!(
            shipped(&fingerprint::sql(good)),
            Some("fixtures/sketches/good.sql")
        );
        let reformatted = format!(
            "/* my own */\n{}\n-- done",
            good.replace("    ", "\t")
                .replace('\n', "\n\n  ")
                .replace(", ", ",")
                .replace("CREATE TABLE", "create table")
                .replace("BEGIN", "Begin")
        );
        assert_eq!(
            shipped(&fingerprint::sql(&reformatted)),
            Some("fixtures/sketches/good.sql")
        );
        let renamed = good.replace("outbox", "event_outbox");
        assert_eq!(shipped(&fingerprint::sql(&renamed)), None);
    }

    #[test]
    fn the_model_rewrite_of_the_shipped_event_is_recognised() {
        let event: Map<String, Value> = serde_json::from_str(
            SHIPPED
                .iter()
                .find(|(p, _)| *p == "fixtures/events/order-placed.json")
                .unwrap()
                .1,
        )
        .unwrap();
        let model = crate::rewrite::rewrite("order-placed.json", &event, None).unwrap();
        let prints = model_rewrites("order-placed.json", &event);
        assert_eq!(prints.len(), 2);
        assert!(prints.contains(&fingerprint::json(&model.notification)));
        assert!(model_rewrites("x", &Map::new()).is_empty());
    }
}
