//! A logged record line as its protobuf `cbp.v1.Record` (the Kafka output topic and log
//! sinks with the `proto` format).
//!
//! The line is read with its numbers parsed exactly: serde_json's default float reading may
//! be one unit in the last place off (its exact reading, `float_roundtrip`, is a workspace
//! feature that would change how events are read), and a protobuf `double` must be the
//! number the record holds.

use cbp_runtime::proto::{OutputRecord, record_json_to_proto};
use serde_json::value::RawValue;
use serde_json::{Number, Value};
use std::collections::BTreeMap;

/// The `cbp.v1.Record` of the record whose JSON line is `line`.
pub fn record_message(line: &str) -> Result<OutputRecord, String> {
    record_json_to_proto(&exact_json(line)?)
}

/// The JSON value of `text`, every number read exactly.
pub fn exact_json(text: &str) -> Result<Value, String> {
    let raw: Box<RawValue> =
        serde_json::from_str(text).map_err(|e| format!("the record is not JSON: {e}"))?;
    exact(&raw)
}

fn exact(raw: &RawValue) -> Result<Value, String> {
    let text = raw.get().trim();
    let invalid = |e: serde_json::Error| format!("the record is not JSON: {e}");
    match text.as_bytes().first() {
        Some(b'{') => {
            let entries: BTreeMap<String, Box<RawValue>> =
                serde_json::from_str(text).map_err(invalid)?;
            entries
                .into_iter()
                .map(|(key, value)| Ok((key, exact(&value)?)))
                .collect::<Result<serde_json::Map<_, _>, String>>()
                .map(Value::Object)
        }
        Some(b'[') => {
            let items: Vec<Box<RawValue>> = serde_json::from_str(text).map_err(invalid)?;
            items
                .iter()
                .map(|item| exact(item))
                .collect::<Result<Vec<_>, String>>()
                .map(Value::Array)
        }
        Some(b'-' | b'0'..=b'9') => number(text),
        _ => serde_json::from_str(text).map_err(invalid),
    }
}

fn number(text: &str) -> Result<Value, String> {
    if !text.contains(['.', 'e', 'E']) {
        if let Ok(n) = text.parse::<i64>() {
            return Ok(Value::Number(n.into()));
        }
        if let Ok(n) = text.parse::<u64>() {
            return Ok(Value::Number(n.into()));
        }
    }
    // The standard library's reading is exact (correctly rounded).
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Value::Number)
        .ok_or_else(|| format!("the record has a number `{text}` out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_exactly() {
        let line = r#"{"a":{"eta_minutes":11.436583333333333,"n":[-3,18446744073709551615,1e3]},"s":"x\"y","t":true,"z":null}"#;
        let exact_eta: f64 = "11.436583333333333".parse().unwrap();
        // serde_json's quick reading of this one is a unit in the last place off.
        let quick: Value = serde_json::from_str(line).unwrap();
        assert_ne!(quick["a"]["eta_minutes"].as_f64(), Some(exact_eta));
        let value = exact_json(line).unwrap();
        assert_eq!(value["a"]["eta_minutes"].as_f64(), Some(exact_eta));
        assert_eq!(value["a"]["n"][0], -3);
        assert_eq!(value["a"]["n"][1].as_u64(), Some(u64::MAX));
        assert_eq!(value["a"]["n"][2].as_f64(), Some(1000.0));
        assert_eq!(
            (&value["s"], &value["t"], &value["z"]),
            (&quick["s"], &quick["t"], &quick["z"])
        );
        assert!(exact_json("{").is_err());
    }
}
