//! The exercise driven by a script instead of a terminal: how each step is scored against the
//! model rewrite, and what the learner is told, in order.

use std::collections::VecDeque;

use serde_json::json;

use super::*;
use crate::rewrite::catalogue;
use crate::rewrite::check::Severity;
use crate::rewrite::forms::rewrite;

/// What the flow asked or told the learner.
#[derive(Clone, Debug, PartialEq)]
enum Said {
    Begin(String),
    FormAsked(String),
    FormMarked(bool, String),
    FieldsOffered(Vec<String>),
    Marked {
        found: usize,
        of: usize,
        missed: Vec<(String, String)>,
        false_alarms: Vec<String>,
    },
    PayloadAsked(String),
    Checked(bool),
    Unreadable,
    End,
}

/// A learner who answers from a script.
#[derive(Default)]
struct Script {
    forms: VecDeque<Form>,
    /// The fields to mark at step 2, by path.
    marks: Vec<&'static str>,
    /// What the learner writes at step 3; `None` skips it.
    payload: Option<String>,
    said: Vec<Said>,
}

impl Script {
    fn answering(forms: &[Form], marks: &[&'static str], payload: Option<&str>) -> Self {
        Script {
            forms: forms.iter().copied().collect(),
            marks: marks.to_vec(),
            payload: payload.map(str::to_string),
            said: Vec::new(),
        }
    }
}

impl PracticePrompter for Script {
    fn begin(&mut self, event_type: &str) {
        self.said.push(Said::Begin(event_type.to_string()));
    }

    fn choose_form(&mut self, consumer: &str) -> io::Result<Form> {
        self.said.push(Said::FormAsked(consumer.to_string()));
        self.forms
            .pop_front()
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "the script ran out"))
    }

    fn form_marked(&mut self, right: bool, reason: &str) {
        self.said.push(Said::FormMarked(right, reason.to_string()));
    }

    fn mark_sensitive(&mut self, fields: &[&str]) -> io::Result<Vec<usize>> {
        self.said.push(Said::FieldsOffered(
            fields.iter().map(|f| f.to_string()).collect(),
        ));
        Ok(fields
            .iter()
            .enumerate()
            .filter(|(_, f)| self.marks.contains(f))
            .map(|(i, _)| i)
            .collect())
    }

    fn sensitive_marked(
        &mut self,
        found: usize,
        of: usize,
        missed: &[&Excluded],
        false_alarms: &[String],
    ) {
        self.said.push(Said::Marked {
            found,
            of,
            missed: missed
                .iter()
                .map(|e| (e.path.clone(), e.reason.clone()))
                .collect(),
            false_alarms: false_alarms.to_vec(),
        });
    }

    fn write_payload(&mut self, start: &str) -> io::Result<Option<String>> {
        self.said.push(Said::PayloadAsked(start.to_string()));
        Ok(self.payload.take())
    }

    fn payload_checked(&mut self, checked: &Checked) {
        self.said.push(Said::Checked(checked.passed));
    }

    fn payload_unreadable(&mut self) {
        self.said.push(Said::Unreadable);
    }

    fn end(&mut self) {
        self.said.push(Said::End);
    }
}

/// The model rewrite of the workshop's OrderPlaced event, and the order record it was built from.
fn workshop() -> (Rewrite, Map<String, Value>) {
    let event = json!({"event_type": "OrderPlaced", "order_id": "ord_9f2a", "occurred_at": "2026-03-14T09:26:53Z"});
    let event = event.as_object().cloned().unwrap_or_default();
    let model = rewrite("order-placed.json", &event, None).expect("the workshop event rewrites");
    let record = catalogue::sample_record("order", "ord_9f2a").expect("the sample order");
    (model, record)
}

const KEPT_OFF: [&str; 6] = [
    "customer_email",
    "shipping_address",
    "payment.card_number",
    "payment.cvv",
    "payment.cardholder_name",
    "payment.card_token",
];

fn marked(said: &[Said]) -> Option<&Said> {
    said.iter().find(|s| matches!(s, Said::Marked { .. }))
}

fn offered(said: &[Said]) -> Vec<String> {
    said.iter()
        .find_map(|s| match s {
            Said::FieldsOffered(fields) => Some(fields.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

#[test]
fn every_step_right_scores_full_marks_and_is_told_in_order() {
    let (model, record) = workshop();
    let mut script = Script::answering(
        &[Form::Ecst, Form::Ecst, Form::Notification],
        &KEPT_OFF,
        None,
    );
    let result = run(&model, &record, &mut script).expect("the script answers every prompt");

    assert_eq!((result.forms_right, result.forms_asked), (3, 3));
    assert_eq!(result.sensitive_found, 6);
    assert!(result.sensitive_missed.is_empty());
    assert!(result.false_alarms.is_empty());
    assert!(result.payload.is_none());

    let reason = |name: &str| {
        model
            .consumers
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.reason.clone())
            .unwrap_or_default()
    };
    let start = serde_json::to_string_pretty(&model.notification).unwrap_or_default();
    let mut expected = vec![Said::Begin("OrderPlaced".to_string())];
    for name in ["billing", "inventory", "fraud-review"] {
        expected.push(Said::FormAsked(name.to_string()));
        expected.push(Said::FormMarked(true, reason(name)));
    }
    expected.push(Said::FieldsOffered(offered(&script.said)));
    expected.push(Said::Marked {
        found: 6,
        of: 6,
        missed: Vec::new(),
        false_alarms: Vec::new(),
    });
    expected.push(Said::PayloadAsked(start));
    expected.push(Said::End);
    assert_eq!(script.said, expected);
}

#[test]
fn a_wrong_form_is_not_counted_but_its_reason_is_still_given() {
    let (model, record) = workshop();
    let mut script = Script::answering(
        &[Form::Notification, Form::Notification, Form::Notification],
        &[],
        None,
    );
    let result = run(&model, &record, &mut script).expect("the script answers every prompt");

    assert_eq!((result.forms_right, result.forms_asked), (1, 3));
    let verdicts: Vec<Said> = script
        .said
        .iter()
        .filter(|s| matches!(s, Said::FormMarked(..)))
        .cloned()
        .collect();
    let expected: Vec<Said> = model
        .consumers
        .iter()
        .map(|c| Said::FormMarked(c.prefers == Form::Notification, c.reason.clone()))
        .collect();
    assert_eq!(verdicts, expected);
    assert!(
        verdicts
            .iter()
            .any(|v| matches!(v, Said::FormMarked(false, reason) if !reason.is_empty())),
        "billing wants ECST: {verdicts:?}"
    );
}

#[test]
fn the_record_fields_are_offered_but_not_array_elements_or_an_excluded_address_lines() {
    let (model, record) = workshop();
    let mut script = Script::answering(&[Form::Ecst, Form::Ecst, Form::Notification], &[], None);
    run(&model, &record, &mut script).expect("the script answers every prompt");

    let fields = offered(&script.said);
    for path in KEPT_OFF {
        assert!(
            fields.iter().any(|f| f == path),
            "{path} is offered: {fields:?}"
        );
    }
    for path in ["order_id", "payment.card_brand", "placed_at"] {
        assert!(
            fields.iter().any(|f| f == path),
            "{path} is offered: {fields:?}"
        );
    }
    assert!(!fields.iter().any(|f| f.contains('[')), "{fields:?}");
    assert!(
        !fields.iter().any(|f| f.starts_with("shipping_address.")),
        "{fields:?}"
    );
}

#[test]
fn unmarked_fields_are_missed_with_their_reasons_and_marked_ordinary_ones_are_false_alarms() {
    let (model, record) = workshop();
    let mut script = Script::answering(
        &[Form::Ecst, Form::Ecst, Form::Notification],
        &["customer_email", "payment.cvv", "order_id", "placed_at"],
        None,
    );
    let result = run(&model, &record, &mut script).expect("the script answers every prompt");

    assert_eq!(result.sensitive_found, 2);
    assert_eq!(
        result.sensitive_missed,
        [
            "shipping_address",
            "payment.card_number",
            "payment.cardholder_name",
            "payment.card_token"
        ]
    );
    assert_eq!(result.false_alarms, ["order_id", "placed_at"]);
    let reasons: Vec<(String, String)> = result
        .sensitive_missed
        .iter()
        .filter_map(|path| model.excluded_fields.iter().find(|e| &e.path == path))
        .map(|e| (e.path.clone(), e.reason.clone()))
        .collect();
    assert_eq!(reasons.len(), 4);
    assert_eq!(
        marked(&script.said),
        Some(&Said::Marked {
            found: 2,
            of: 6,
            missed: reasons,
            false_alarms: vec!["order_id".to_string(), "placed_at".to_string()],
        })
    );
}

#[test]
fn the_payload_starts_from_the_notification_and_is_checked_against_the_event_type() {
    let (model, record) = workshop();
    let ecst = model.ecst.clone().expect("OrderPlaced has an ECST form");
    let written = serde_json::to_string_pretty(&ecst).unwrap_or_default();
    let mut script = Script::answering(
        &[Form::Ecst, Form::Ecst, Form::Notification],
        &[],
        Some(&written),
    );
    let result = run(&model, &record, &mut script).expect("the script answers every prompt");

    let start = serde_json::to_string_pretty(&model.notification).unwrap_or_default();
    assert!(script.said.contains(&Said::PayloadAsked(start)));
    let checked = result.payload.expect("the payload is graded");
    assert!(checked.passed, "{:?}", checked.findings);
    assert_eq!(checked.form, Form::Ecst);
    assert_eq!(
        script.said[script.said.len() - 2..],
        [Said::Checked(true), Said::End]
    );
}

#[test]
fn a_payload_carrying_a_card_number_fails_its_check() {
    let (model, record) = workshop();
    let mut payload = model.ecst.clone().expect("OrderPlaced has an ECST form");
    payload["data"]["card_number"] = json!("4111111111111111");
    let written = payload.to_string();
    let mut script = Script::answering(
        &[Form::Ecst, Form::Ecst, Form::Notification],
        &[],
        Some(&written),
    );
    let result = run(&model, &record, &mut script).expect("the script answers every prompt");

    let checked = result.payload.expect("the payload is graded");
    assert!(!checked.passed);
    assert!(
        checked
            .findings
            .iter()
            .any(|f| f.id == "secret" && f.severity == Severity::Fail),
        "{:?}",
        checked.findings
    );
    assert!(script.said.contains(&Said::Checked(false)));
}

#[test]
fn a_payload_that_is_not_a_json_object_is_reported_and_not_graded() {
    for written in ["[1, 2]", "{ not json", "\"OrderPlaced\""] {
        let (model, record) = workshop();
        let mut script = Script::answering(
            &[Form::Ecst, Form::Ecst, Form::Notification],
            &[],
            Some(written),
        );
        let result = run(&model, &record, &mut script).expect("the script answers every prompt");
        assert!(result.payload.is_none(), "{written}");
        assert_eq!(
            script.said[script.said.len() - 2..],
            [Said::Unreadable, Said::End],
            "{written}"
        );
    }
}

#[test]
fn a_skipped_payload_is_neither_graded_nor_reported() {
    let (model, record) = workshop();
    let mut script = Script::answering(&[Form::Ecst, Form::Ecst, Form::Notification], &[], None);
    let result = run(&model, &record, &mut script).expect("the script answers every prompt");

    assert!(result.payload.is_none());
    assert!(!script.said.contains(&Said::Unreadable));
    assert!(!script.said.iter().any(|s| matches!(s, Said::Checked(_))));
    assert_eq!(script.said.last(), Some(&Said::End));
}

#[test]
fn a_prompt_that_fails_ends_the_exercise_with_its_error() {
    let (model, record) = workshop();
    let mut script = Script::answering(&[Form::Ecst], &[], None);
    let err =
        run(&model, &record, &mut script).expect_err("the script runs out at the second consumer");

    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    assert_eq!(
        script.said.last(),
        Some(&Said::FormAsked("inventory".to_string()))
    );
    assert!(!script.said.contains(&Said::End));
}

#[test]
fn the_result_is_recorded_with_the_keys_the_progress_store_reads() {
    let (model, record) = workshop();
    let mut script = Script::answering(
        &[Form::Ecst, Form::Ecst, Form::Notification],
        &["customer_email"],
        None,
    );
    let result = run(&model, &record, &mut script).expect("the script answers every prompt");

    let recorded = serde_json::to_value(&result).unwrap_or_default();
    assert_eq!(recorded["forms_right"], 3);
    assert_eq!(recorded["forms_asked"], 3);
    assert_eq!(recorded["sensitive_found"], 1);
    assert_eq!(
        recorded["sensitive_missed"].as_array().map(Vec::len),
        Some(5)
    );
    assert_eq!(recorded["false_alarms"], json!([]));
    assert_eq!(recorded["payload"], Value::Null);
}

#[test]
fn the_record_is_shown_with_every_field_and_no_secret() {
    let record = json!({
        "order_id": "ord_1",
        "customer_email": "ada@example.com",
        "password": "hunter2-correct-horse",
        "payment": {"card_number": "4111111111111111", "last4": "1111"},
        "api_key": "sk_live_51HxYzAbCdEfGhIjKlMnOp",
        "notes": ["call 415-555-0132", "token ghp_16C7e42F292c6912E7710c838347Ae178B4a"]
    });
    let shown = record_as_shown(record.as_object().unwrap()).to_string();
    for secret in [
        "hunter2-correct-horse",
        "4111111111111111",
        "sk_live_51HxYzAbCdEfGhIjKlMnOp",
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    ] {
        assert!(!shown.contains(secret), "{secret} shown: {shown}");
    }
    for field in [
        "order_id",
        "customer_email",
        "password",
        "card_number",
        "api_key",
        "notes",
    ] {
        assert!(shown.contains(field), "{field} missing: {shown}");
    }
    assert!(
        shown.contains("ada@example.com"),
        "personal data is the learner's to judge"
    );
}
