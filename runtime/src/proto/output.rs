//! Output records as protobuf (`cbpc run --out-format proto`): each [`Record`] as one
//! length-delimited `cbp.v1.Record` ([`OutputRecord`]), and back to the JSON object of its
//! NDJSON line ([`record_json`]), which is the same JSON value (object key order aside, since
//! a protobuf `Struct` is a map).
//!
//! Times are Unix milliseconds (the records' RFC 3339 texts parsed); objects the policy
//! shapes (action params, escalation fields, rationale entries, report fields) are `Struct`s
//! and `Value`s. A report's base keys go to its typed fields when they have their usual
//! type; anything else, and every declared field, goes to `fields`, which wins when read
//! back (a declared field may replace a base key).

use super::{
    Action, ApprovalOutcome, DeadLetter, Decision, Directive, Escalation, OutputRecord, Place,
    Report, Struct, Value, json_to_value, output_record::Kind, value_to_json,
};
use crate::json::Json;
use crate::record::{self, Record};
use crate::time::{format_rfc3339, parse_rfc3339};
use prost::Message;
use serde_json::{Map, Value as JsonValue};

/// Appends `record` to `out` as a length-delimited `cbp.v1.Record`.
pub fn encode_record(record: &Record, out: &mut Vec<u8>) {
    // Writing to a `Vec` cannot run out of room.
    let _ = record_to_proto(record).encode_length_delimited(out);
}

/// The records of a stream of length-delimited `cbp.v1.Record`s (what `--out-format proto`
/// writes).
pub fn decode_records(mut bytes: &[u8]) -> Result<Vec<OutputRecord>, String> {
    let mut records = Vec::new();
    while !bytes.is_empty() {
        let record = OutputRecord::decode_length_delimited(&mut bytes)
            .map_err(|e| format!("invalid protobuf `cbp.v1.Record`: {e}"))?;
        records.push(record);
    }
    Ok(records)
}

fn ms(time: &str) -> i64 {
    parse_rfc3339(time).unwrap_or(0)
}

fn value(json: &Json) -> Value {
    json_to_value(&json.to_value())
}

/// An object as a `Struct` (anything else as an empty one: the engine's are objects).
fn object(json: &Json) -> Option<Struct> {
    match json_to_value(&json.to_value()).kind {
        Some(super::value::Kind::StructValue(s)) => Some(s),
        _ => Some(Struct::default()),
    }
}

fn place(p: &record::Place) -> Option<Place> {
    Some(Place {
        layer: p.layer.clone(),
        node: p.node.clone(),
    })
}

/// The protobuf message of one record.
pub fn record_to_proto(record: &Record) -> OutputRecord {
    let kind = match record {
        Record::Decision(d) => Kind::Decision(Decision {
            decision_id: d.decision_id.clone(),
            event_id: d.trigger.clone(),
            decision_time_ms: ms(&d.time),
            deciding_layer: d.layer.clone(),
            deciding_brain_id: d.node.clone(),
            actions: d
                .actions
                .iter()
                .map(|a| Action {
                    r#type: a.kind.clone(),
                    target_system: a.target.clone(),
                    parameters: object(&a.params),
                    ..Action::default()
                })
                .collect(),
            rationale: d.rationale.iter().map(value).collect(),
            approval_status: match &d.approval {
                Json::Str(status) => status.clone(),
                other => other
                    .get("status")
                    .and_then(|s| match s {
                        Json::Str(s) => Some(s.clone()),
                        _ => None,
                    })
                    .unwrap_or_default(),
            },
            approver_id: String::new(),
            rule: d.rule.clone(),
            related: d.related.clone(),
            approval: Some(value(&d.approval)),
            priority: Some(value(&d.priority)),
        }),
        Record::Approval(a) => Kind::Approval(ApprovalOutcome {
            decision_id: a.decision_id.clone(),
            rule: a.rule.clone(),
            status: a.status.clone(),
            by: a.by.clone(),
            time_ms: ms(&a.time),
        }),
        Record::Escalation(e) => Kind::Escalation(Escalation {
            decision_id: e.decision_id.clone(),
            incident_id: e.incident_id.clone(),
            incident: e.incident.clone(),
            rule: e.rule.clone(),
            reason: e.reason.clone(),
            from: place(&e.from),
            to: place(&e.to),
            time_ms: ms(&e.time),
            fields: object(&e.fields),
            message: e.message.as_ref().and_then(object),
        }),
        Record::Command(c) => Kind::Command(Directive {
            decision_id: c.decision_id.clone(),
            command_id: c.command_id.clone(),
            rule: c.rule.clone(),
            from: place(&c.from),
            to: place(&c.to),
            directive: c.directive.clone(),
            actions: match &c.actions {
                Json::Array(items) => items.iter().map(value).collect(),
                other => vec![value(other)],
            },
            params: object(&c.params),
            time_ms: ms(&c.time),
            message: c.message.as_ref().and_then(object),
        }),
        Record::Action(a) => Kind::Action(Action {
            r#type: a.kind.clone(),
            target_system: a.target.clone(),
            parameters: object(&a.params),
            executed_at_ms: ms(&a.time),
            decision_id: a.decision_id.clone(),
            rule: a.rule.clone(),
            ..Action::default()
        }),
        Record::Report(r) => Kind::Report(report_to_proto(&r.json())),
        Record::DeadLetter(d) => Kind::DeadLetter(DeadLetter {
            line: d.line,
            error: d.error.clone(),
            input: d.input.clone(),
        }),
    };
    OutputRecord { kind: Some(kind) }
}

/// The protobuf message of a record given as the JSON object of its NDJSON line (what a
/// node's log holds): the same message [`encode_record`] writes for the record, since the
/// JSON is read back into the [`Record`] and encoded as it would be. `Err` names what the
/// object lacks (a kind that is not a record's, a missing or mistyped key).
pub fn record_json_to_proto(json: &JsonValue) -> Result<OutputRecord, String> {
    record_from_json(json).map(|record| record_to_proto(&record))
}

/// The [`Record`] whose NDJSON line is `json`.
pub fn record_from_json(json: &JsonValue) -> Result<Record, String> {
    let kind = json
        .get("kind")
        .and_then(JsonValue::as_str)
        .ok_or("the record has no `kind`")?;
    let get = |key: &str| json.get(key).unwrap_or(&JsonValue::Null);
    let string = |key: &str| {
        get(key)
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("`{kind}` record: `{key}` is not a string"))
    };
    let optional = |key: &str| get(key).as_str().map(str::to_owned);
    let place = |key: &str| -> Result<record::Place, String> {
        let text = |field: &str| {
            get(key)
                .get(field)
                .and_then(JsonValue::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("`{kind}` record: `{key}.{field}` is not a string"))
        };
        Ok(record::Place {
            layer: text("layer")?,
            node: text("node")?,
        })
    };
    let any = |key: &str| Json::from_value(get(key));
    let delivered = || {
        Some(get("message"))
            .filter(|m| !m.is_null())
            .map(Json::from_value)
    };
    let strings = |key: &str| -> Vec<String> {
        get(key)
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(match kind {
        "decision" => Record::Decision(record::Decision {
            decision_id: string("decision_id")?,
            rule: string("rule")?,
            trigger: string("trigger")?,
            related: strings("related"),
            layer: string("layer")?,
            node: string("node")?,
            time: string("time")?,
            priority: any("priority"),
            actions: get("actions")
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .map(|a| record::ActionEntry {
                            kind: a
                                .get("type")
                                .and_then(JsonValue::as_str)
                                .unwrap_or_default()
                                .into(),
                            target: a
                                .get("target")
                                .and_then(JsonValue::as_str)
                                .unwrap_or_default()
                                .into(),
                            params: Json::from_value(a.get("params").unwrap_or(&JsonValue::Null)),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            approval: any("approval"),
            rationale: get("rationale")
                .as_array()
                .map(|items| items.iter().map(Json::from_value).collect())
                .unwrap_or_default(),
        }),
        "approval" => Record::Approval(record::Approval {
            decision_id: string("decision_id")?,
            rule: string("rule")?,
            status: string("status")?,
            by: string("by")?,
            time: string("time")?,
        }),
        "escalation" => Record::Escalation(record::Escalation {
            decision_id: string("decision_id")?,
            incident_id: optional("incident_id"),
            incident: optional("incident"),
            rule: string("rule")?,
            reason: string("reason")?,
            from: place("from")?,
            to: place("to")?,
            time: string("time")?,
            fields: any("fields"),
            message: delivered(),
        }),
        "command" => Record::Command(record::Command {
            decision_id: string("decision_id")?,
            command_id: string("command_id")?,
            rule: string("rule")?,
            from: place("from")?,
            to: place("to")?,
            directive: string("directive")?,
            actions: any("actions"),
            params: any("params"),
            time: string("time")?,
            message: delivered(),
        }),
        "action" => Record::Action(record::Action {
            decision_id: string("decision_id")?,
            rule: string("rule")?,
            kind: string("type")?,
            target: string("target")?,
            params: any("params"),
            time: string("time")?,
        }),
        "report" => {
            let mut object = json.as_object().cloned().unwrap_or_default();
            object.remove("kind");
            Record::Report(record::Report::from_json(&Json::from_value(
                &JsonValue::Object(object),
            )))
        }
        "dead_letter" => Record::DeadLetter(record::DeadLetter {
            line: get("line")
                .as_u64()
                .ok_or("`dead_letter` record: `line` is not a number")?,
            error: string("error")?,
            input: string("input")?,
        }),
        other => return Err(format!("a `{other}` record has no `cbp.v1.Record` form")),
    })
}

/// A `{layer, node}` object with nothing else.
fn json_place(json: &Json) -> Option<Place> {
    match json {
        Json::Object(entries) if entries.len() == 2 => Some(Place {
            layer: text(json.get("layer")?)?,
            node: text(json.get("node")?)?,
        }),
        _ => None,
    }
}

fn text(json: &Json) -> Option<String> {
    match json {
        Json::Str(s) => Some(s.clone()),
        _ => None,
    }
}

/// A time text that reads back as itself.
fn json_time(json: &Json) -> Option<i64> {
    let text = text(json)?;
    let ms = parse_rfc3339(&text)?;
    (format_rfc3339(ms) == text).then_some(ms)
}

fn report_to_proto(json: &Json) -> Report {
    let mut report = Report::default();
    let mut fields = Struct::default();
    let Json::Object(entries) = json else {
        return report;
    };
    for (key, item) in entries {
        let typed = match key.as_str() {
            "report" => text(item).map(|t| report.report = t),
            "from" => json_place(item).map(|p| report.from = Some(p)),
            "to" => json_place(item).map(|p| report.to = Some(p)),
            "window_start" => json_time(item).map(|t| report.window_start_ms = t),
            "window_end" => json_time(item).map(|t| report.window_end_ms = t),
            "total_events" => match item {
                Json::Int(n) => {
                    report.total_events = *n;
                    Some(())
                }
                _ => None,
            },
            "event_breakdown" => match item {
                Json::Object(counts) if counts.iter().all(|(_, v)| matches!(v, Json::Int(_))) => {
                    for (name, count) in counts {
                        if let Json::Int(n) = count {
                            report.event_breakdown.insert(name.clone(), *n);
                        }
                    }
                    Some(())
                }
                _ => None,
            },
            "escalated_incidents" => match item {
                Json::Array(ids) if ids.iter().all(|i| matches!(i, Json::Str(_))) => {
                    report.escalated_incident_ids = ids.iter().filter_map(text).collect();
                    report.escalated_incidents = ids.len() as i64;
                    Some(())
                }
                _ => None,
            },
            _ => None,
        };
        if typed.is_none() {
            fields.fields.insert(key.clone(), value(item));
        }
    }
    report.fields = Some(fields);
    report
}

fn place_json(place: &Option<Place>) -> JsonValue {
    let place = place.clone().unwrap_or_default();
    serde_json::json!({"layer": place.layer, "node": place.node})
}

fn time_json(ms: i64) -> JsonValue {
    JsonValue::String(format_rfc3339(ms))
}

fn struct_json(object: &Option<Struct>) -> JsonValue {
    let mut out = Map::new();
    for (key, item) in object.iter().flat_map(|s| &s.fields) {
        out.insert(key.clone(), value_json(item));
    }
    JsonValue::Object(out)
}

/// An escalation's or command's `message`: null when unset.
fn delivered_json(message: &Option<Struct>) -> JsonValue {
    match message {
        Some(_) => struct_json(message),
        None => JsonValue::Null,
    }
}

fn value_json(item: &Value) -> JsonValue {
    value_to_json(item, "").unwrap_or(JsonValue::Null)
}

fn optional_value_json(item: &Option<Value>) -> JsonValue {
    item.as_ref().map(value_json).unwrap_or(JsonValue::Null)
}

/// The JSON object of the NDJSON line of the record `message` holds (key order aside).
pub fn record_json(message: &OutputRecord) -> JsonValue {
    use serde_json::json;
    match &message.kind {
        None => JsonValue::Null,
        Some(Kind::Decision(d)) => json!({
            "kind": "decision",
            "decision_id": d.decision_id,
            "rule": d.rule,
            "trigger": d.event_id,
            "related": d.related,
            "layer": d.deciding_layer,
            "node": d.deciding_brain_id,
            "time": time_json(d.decision_time_ms),
            "priority": optional_value_json(&d.priority),
            "actions": d.actions.iter().map(|a| json!({
                "type": a.r#type,
                "target": a.target_system,
                "params": struct_json(&a.parameters),
            })).collect::<Vec<_>>(),
            "approval": optional_value_json(&d.approval),
            "rationale": d.rationale.iter().map(value_json).collect::<Vec<_>>(),
        }),
        Some(Kind::Approval(a)) => json!({
            "kind": "approval",
            "decision_id": a.decision_id,
            "rule": a.rule,
            "status": a.status,
            "by": a.by,
            "time": time_json(a.time_ms),
        }),
        Some(Kind::Escalation(e)) => json!({
            "kind": "escalation",
            "decision_id": e.decision_id,
            "incident_id": e.incident_id,
            "incident": e.incident,
            "rule": e.rule,
            "reason": e.reason,
            "from": place_json(&e.from),
            "to": place_json(&e.to),
            "time": time_json(e.time_ms),
            "fields": struct_json(&e.fields),
            "message": delivered_json(&e.message),
        }),
        Some(Kind::Command(c)) => json!({
            "kind": "command",
            "decision_id": c.decision_id,
            "command_id": c.command_id,
            "rule": c.rule,
            "from": place_json(&c.from),
            "to": place_json(&c.to),
            "directive": c.directive,
            "actions": c.actions.iter().map(value_json).collect::<Vec<_>>(),
            "params": struct_json(&c.params),
            "time": time_json(c.time_ms),
            "message": delivered_json(&c.message),
        }),
        Some(Kind::Action(a)) => json!({
            "kind": "action",
            "decision_id": a.decision_id,
            "rule": a.rule,
            "type": a.r#type,
            "target": a.target_system,
            "params": struct_json(&a.parameters),
            "time": time_json(a.executed_at_ms),
        }),
        Some(Kind::Report(r)) => {
            let mut object = Map::new();
            object.insert("kind".into(), json!("report"));
            object.insert("report".into(), json!(r.report));
            object.insert("from".into(), place_json(&r.from));
            object.insert("to".into(), place_json(&r.to));
            object.insert("window_start".into(), time_json(r.window_start_ms));
            object.insert("window_end".into(), time_json(r.window_end_ms));
            object.insert("total_events".into(), json!(r.total_events));
            object.insert("event_breakdown".into(), json!(r.event_breakdown));
            object.insert(
                "escalated_incidents".into(),
                json!(r.escalated_incident_ids),
            );
            if let JsonValue::Object(fields) = struct_json(&r.fields) {
                object.extend(fields);
            }
            JsonValue::Object(object)
        }
        Some(Kind::DeadLetter(d)) => json!({
            "kind": "dead_letter",
            "line": d.line,
            "error": d.error,
            "input": d.input,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{ActionEntry, Approval};

    fn round_trip(record: &Record) {
        let mut bytes = Vec::new();
        encode_record(record, &mut bytes);
        let message = OutputRecord::decode_length_delimited(bytes.as_slice()).unwrap();
        let expected: JsonValue = serde_json::from_str(&record.to_json_line()).unwrap();
        assert_eq!(record_json(&message), expected);
    }

    #[test]
    fn records_read_back_as_their_json() {
        let mut params = Json::object();
        params.set("zone", Json::str("ka.bengaluru.east"));
        params.set("level", Json::Float(45.0));
        round_trip(&Record::Decision(record::Decision {
            decision_id: "d-1".into(),
            rule: "close_roads".into(),
            trigger: "e-1".into(),
            related: vec!["e-0".into()],
            layer: "L1".into(),
            node: "ka.bengaluru.east.indiranagar".into(),
            time: "2025-12-03T14:00:05.000Z".into(),
            priority: Json::Int(2),
            actions: vec![ActionEntry {
                kind: "notify".into(),
                target: "traffic".into(),
                params: params.clone(),
            }],
            approval: Json::str("not_required"),
            rationale: vec![params.clone(), Json::Null],
        }));
        round_trip(&Record::Approval(Approval {
            decision_id: "d-1".into(),
            rule: "r".into(),
            status: "approved".into(),
            by: "timeout".into(),
            time: "2025-12-03T14:00:05.123Z".into(),
        }));
        let mut report = Json::object();
        report.set("report", Json::str("hourly"));
        report.set(
            "from",
            Json::Object(vec![
                ("layer".into(), Json::str("L1")),
                ("node".into(), Json::str("a.b.c.d")),
            ]),
        );
        report.set("window_start", Json::str("2025-12-03T14:00:00.000Z"));
        report.set("total_events", Json::Float(1.5)); // replaced by a declared field
        report.set(
            "escalated_incidents",
            Json::Array(vec![Json::str("i-1"), Json::str("i-2")]),
        );
        report.set("flooded", Json::Bool(true));
        let Json::Object(mut entries) = report else {
            unreachable!()
        };
        // The keys `record_json` always writes.
        for key in ["to", "window_end", "event_breakdown"] {
            let value = match key {
                "to" => Json::Object(vec![
                    ("layer".into(), Json::str("L2")),
                    ("node".into(), Json::str("a.b.c")),
                ]),
                "window_end" => Json::str("2025-12-03T15:00:00.000Z"),
                _ => Json::Object(vec![("flood_warning".into(), Json::Int(3))]),
            };
            entries.push((key.into(), value));
        }
        round_trip(&Record::Report(record::Report::from_json(&Json::Object(
            entries,
        ))));
        round_trip(&Record::dead_letter(3, "bad".into(), "{"));
    }

    #[test]
    fn json_lines_map_to_the_message_of_their_record() {
        let line = r#"{"kind":"action","decision_id":"d-1","rule":"r","type":"fine","target":"violations_db","params":{"amount":1000,"rate":0.5},"time":"2025-12-03T14:30:05.000Z"}"#;
        let json: JsonValue = serde_json::from_str(line).unwrap();
        let message = record_json_to_proto(&json).unwrap();
        assert_eq!(record_json(&message), json);
        let error = record_json_to_proto(&serde_json::json!({"kind": "received"})).unwrap_err();
        assert!(error.contains("`received`"), "{error}");
        let error = record_json_to_proto(&serde_json::json!({"kind": "approval"})).unwrap_err();
        assert!(error.contains("`decision_id`"), "{error}");
    }
}
