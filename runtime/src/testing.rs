//! The runner of a policy's `test` blocks (`cbpc test`): each test runs on a fresh engine
//! with a simulated clock starting at 2025-01-01T00:00:00Z.

use crate::engine::{Engine, RunOptions};
use crate::eval::Evaluator;
use crate::record::Record;
use crate::time::format_rfc3339;
use cbp_ir::Program;
use cbp_ir::layout::ENVELOPE_FIELDS;
use cbp_ir::program::{Expectation, Test, TestStep};
use serde_json::{Map, Value};
use std::sync::Arc;

/// 2025-01-01T00:00:00Z.
pub const TEST_START_MS: i64 = 1_735_689_600_000;

/// The zone of messages that name none; its node exists from the start of every test.
pub const TEST_ZONE: &str = "test.city.district.neighbourhood";

#[derive(Clone, Debug, PartialEq)]
pub struct TestOutcome {
    pub name: String,
    pub file: String,
    /// Empty when the test passed.
    pub failures: Vec<String>,
}

impl TestOutcome {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Runs every test of the program, each on a fresh engine from `make_evaluator`.
pub fn run_tests(
    program: Arc<Program>,
    make_evaluator: &dyn Fn() -> Box<dyn Evaluator>,
) -> Vec<TestOutcome> {
    program
        .tests
        .iter()
        .map(|test| run_test(&program, test, make_evaluator()))
        .collect()
}

fn run_test(program: &Arc<Program>, test: &Test, evaluator: Box<dyn Evaluator>) -> TestOutcome {
    let mut engine = Engine::new(program.clone(), evaluator, RunOptions::default());
    engine.open_zone(TEST_ZONE, TEST_START_MS);
    let mut records: Vec<Record> = Vec::new();
    let mut failures = Vec::new();
    let mut sends = 0u64;
    for step in &test.steps {
        match step {
            TestStep::Send {
                message,
                at_ms,
                absolute,
                fields,
            } => {
                sends += 1;
                let time = if *absolute {
                    *at_ms
                } else {
                    TEST_START_MS.saturating_add(*at_ms)
                };
                let object = test_message(program, *message, sends, time, fields);
                let raw = serde_json::to_string(&object).unwrap_or_default();
                engine.push_object(sends, &object, &raw, &mut |r| records.push(r.clone()));
            }
            TestStep::Advance { by_ms } => {
                let to = engine
                    .clock()
                    .unwrap_or(TEST_START_MS)
                    .saturating_add(*by_ms);
                engine.advance_to(to, &mut |r| records.push(r.clone()));
            }
            TestStep::Expect(expectation) => {
                if let Some(failure) = check(expectation, &records) {
                    failures.push(failure);
                }
            }
        }
    }
    TestOutcome {
        name: test.name.clone(),
        file: test.file.clone(),
        failures,
    }
}

/// A `send`'s message in input form: the given fields, envelope defaults for the rest.
pub fn test_message(
    program: &Program,
    message: cbp_ir::MessageId,
    n: u64,
    time: i64,
    fields: &Map<String, Value>,
) -> Map<String, Value> {
    let layout = program.message(message);
    let envelope: Vec<&str> = layout
        .map(|l| {
            l.fields
                .iter()
                .take(ENVELOPE_FIELDS)
                .map(|f| f.name.as_str())
                .collect()
        })
        .unwrap_or_default();
    let model_id = program
        .plugins
        .iter()
        .find(|p| p.emits.contains(&message))
        .map(|p| p.model_id.clone())
        .unwrap_or_else(|| "test".to_string());
    let mut object = Map::new();
    object.insert("event_id".into(), format!("t-{n}").into());
    object.insert("model_id".into(), model_id.into());
    object.insert(
        "type".into(),
        layout.map(|l| l.name.clone()).unwrap_or_default().into(),
    );
    object.insert("timestamp".into(), format_rfc3339(time).into());
    object.insert(
        "location".into(),
        serde_json::json!({"latitude": 0.0, "longitude": 0.0}),
    );
    object.insert("zone".into(), TEST_ZONE.into());
    object.insert("severity".into(), "low".into());
    object.insert("confidence".into(), 1.0.into());
    object.insert("metadata".into(), Value::Object(Map::new()));
    let mut payload = Map::new();
    for (key, value) in fields {
        if envelope.contains(&key.as_str()) || key == "timestamp_ms" {
            object.insert(key.clone(), value.clone());
        } else {
            payload.insert(key.clone(), value.clone());
        }
    }
    object.insert("payload".into(), Value::Object(payload));
    object
}

/// The record fields that a subject of each kind names.
fn subject_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "decision" | "approval" => &["rule"],
        "escalation" => &["incident", "rule", "reason"],
        "report" => &["report"],
        "command" => &["directive", "rule"],
        "action" => &["type", "rule"],
        _ => &[],
    }
}

fn json_equal(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| json_equal(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => expected == actual,
    }
}

fn matches(expectation: &Expectation, record: &Value) -> bool {
    if record.get("kind").and_then(Value::as_str) != Some(expectation.kind.as_str()) {
        return false;
    }
    if let Some(subject) = &expectation.subject {
        let last = subject.rsplit('.').next().unwrap_or(subject);
        let named = subject_keys(&expectation.kind).iter().any(|key| {
            record
                .get(*key)
                .and_then(Value::as_str)
                .is_some_and(|v| v == subject || v == last)
        });
        if !named {
            return false;
        }
    }
    expectation
        .fields
        .iter()
        .all(|(key, want)| record.get(key).is_some_and(|got| json_equal(want, got)))
}

fn describe(expectation: &Expectation) -> String {
    let mut text = String::from("expect ");
    if expectation.negated {
        text.push_str("no ");
    }
    if let Some(count) = expectation.count {
        text.push_str(&format!("{count} "));
    }
    text.push_str(&expectation.kind);
    if let Some(subject) = &expectation.subject {
        text.push_str(&format!(" {subject}"));
    }
    if !expectation.fields.is_empty() {
        text.push_str(&format!(" {}", Value::Object(expectation.fields.clone())));
    }
    text
}

/// `None` when the expectation holds; otherwise what was expected and what there was.
fn check(expectation: &Expectation, records: &[Record]) -> Option<String> {
    let values: Vec<Value> = records.iter().map(Record::to_value).collect();
    let found = values.iter().filter(|v| matches(expectation, v)).count();
    let holds = if expectation.negated {
        found == 0
    } else if let Some(count) = expectation.count {
        found == count as usize
    } else {
        found >= 1
    };
    if holds {
        return None;
    }
    let mut text = format!(
        "{}: {}\n  found {found} matching",
        expectation.location,
        describe(expectation)
    );
    let same_kind: Vec<&Record> = records
        .iter()
        .filter(|r| r.kind() == expectation.kind)
        .collect();
    if same_kind.is_empty() {
        text.push_str(&format!("; no `{}` records at all", expectation.kind));
    } else {
        text.push_str(&format!("; the `{}` records:", expectation.kind));
        for record in same_kind.iter().take(10) {
            text.push_str(&format!("\n    {}", record.to_json_line()));
        }
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_by_value() {
        assert!(json_equal(&serde_json::json!(3), &serde_json::json!(3.0)));
        assert!(!json_equal(
            &serde_json::json!(["a"]),
            &serde_json::json!(["a", "b"])
        ));
    }
}
