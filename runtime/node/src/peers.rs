//! Records exchanged between nodes (seed 12.3): `POST /api/v1/layer/escalate` carries
//! escalations and reports up, `POST /api/v1/layer/command` carries commands down. A node
//! checks what it receives against contract section 3. An escalation or command that
//! carries its `message` is run: the message is delivered at the record's `to` node, which
//! must be one this node runs ([`delivery`]); the rest (reports, records without a message)
//! is logged as `received`.

use cbp_runtime::engine::hierarchy::layer_of;
use serde_json::Value;

/// The fields contract section 3 requires of each kind of record that travels between nodes.
fn required(kind: &str) -> &'static [&'static str] {
    match kind {
        "escalation" => &["from", "to", "reason", "time"],
        "report" => &[
            "from",
            "to",
            "window_start",
            "window_end",
            "total_events",
            "event_breakdown",
            "escalated_incidents",
        ],
        "command" => &["from", "to", "directive", "actions", "time"],
        _ => &[],
    }
}

/// Checks `record` is one of `kinds` and has the contract's fields; `from` and `to` must be
/// `{layer, node}`.
pub fn check_record(record: &Value, kinds: &[&str]) -> Result<(), String> {
    let object = record
        .as_object()
        .ok_or("the body must be a record object")?;
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .ok_or("the record has no `kind`")?;
    if !kinds.contains(&kind) {
        return Err(format!(
            "a record of kind `{kind}` does not travel this way; this route takes {}",
            kinds
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(" or ")
        ));
    }
    let missing: Vec<&str> = required(kind)
        .iter()
        .copied()
        .filter(|field| object.get(*field).is_none_or(Value::is_null))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "the `{kind}` record lacks {}",
            missing
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if kind == "escalation"
        && object.get("decision_id").is_none_or(Value::is_null)
        && object.get("incident_id").is_none_or(Value::is_null)
    {
        return Err("the `escalation` record has neither `decision_id` nor `incident_id`".into());
    }
    for end in ["from", "to"] {
        let place = &object[end];
        let layer = place.get("layer").and_then(Value::as_str);
        let node = place.get("node").and_then(Value::as_str);
        match (layer.and_then(crate::config::layer_number), node) {
            (Some(_), Some(_)) => {}
            _ => {
                return Err(format!(
                    "`{end}` must be {{\"layer\": \"L1\"…\"L5\", \"node\": …}}"
                ));
            }
        }
    }
    Ok(())
}

/// A message another node sent for this one to run: delivered at `node`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub node: String,
    /// The message, as one JSON line.
    pub line: String,
}

/// The part of the hierarchy a node runs: its zone (empty: every zone) and its layers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub zone: String,
    pub lowest_layer: u8,
    pub highest_layer: u8,
}

impl Scope {
    fn layers(&self) -> String {
        if self.lowest_layer == self.highest_layer {
            format!("L{} only", self.lowest_layer)
        } else {
            format!("L{} to L{}", self.lowest_layer, self.highest_layer)
        }
    }
}

/// The delivery a checked record (`record`, read from the body `raw`) asks of this node:
/// `Ok(None)` when it carries no message to run (a report, a record from a sender that did
/// not deliver its message), an error naming why when it is addressed to a node this node
/// does not run. The message is taken as it is written in `raw`, so its numbers reach the
/// engine exactly as the sender wrote them (not as they read back from a parsed float).
pub fn delivery(record: &Value, raw: &[u8], scope: &Scope) -> Result<Option<Delivery>, String> {
    #[derive(serde::Deserialize)]
    struct Carried<'a> {
        #[serde(borrow, default)]
        message: Option<&'a serde_json::value::RawValue>,
    }
    if record.get("message").is_none_or(Value::is_null) {
        return Ok(None);
    }
    let message = serde_json::from_slice::<Carried>(raw)
        .ok()
        .and_then(|carried| carried.message)
        .filter(|m| m.get().starts_with('{'))
        .ok_or("`message` must be the message as a JSON object")?;
    let node = destination_node(record).unwrap_or_default();
    let layer = destination_layer(record).unwrap_or(0);
    let segments = node.split('.').count();
    if node.is_empty() || node.len() > usize::from(u16::MAX) || segments > 4 {
        return Err(format!(
            "`to.node` `{node}` is not a node's name (a zone of one to four segments, or \
             `national`)"
        ));
    }
    // A node inside the zone, or one above it (which only a node without a parent runs).
    let above = node == "national" || within(&scope.zone, node);
    if !scope.zone.is_empty() && !within(node, &scope.zone) && !above {
        return Err(format!(
            "the record is addressed to `{node}`, outside this node's zone `{}`",
            scope.zone
        ));
    }
    if layer != layer_of(node) {
        return Err(format!(
            "`to.layer` is L{layer} but `{node}` names a node of L{}",
            layer_of(node)
        ));
    }
    if !(scope.lowest_layer..=scope.highest_layer).contains(&layer) {
        return Err(format!(
            "the record is addressed to `{node}` at L{layer}; this node runs {}",
            scope.layers()
        ));
    }
    Ok(Some(Delivery {
        node: node.to_string(),
        line: message.get().to_string(),
    }))
}

/// Whether the node (or zone) `name` is `zone` or inside it.
pub fn within(name: &str, zone: &str) -> bool {
    name.strip_prefix(zone)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// The node a record is addressed to (`to.node`), when it has one.
pub fn destination_node(record: &Value) -> Option<&str> {
    record.get("to")?.get("node")?.as_str()
}

/// The layer a record is addressed to (`to.layer`), when it has one.
pub fn destination_layer(record: &Value) -> Option<u8> {
    record
        .get("to")?
        .get("layer")?
        .as_str()
        .and_then(crate::config::layer_number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_are_checked_by_kind() {
        let escalation = json!({"kind": "escalation", "decision_id": "d-1", "reason": "r",
            "time": "2025-12-03T14:00:00Z",
            "from": {"layer": "L1", "node": "a.b.c.d"}, "to": {"layer": "L2", "node": "a.b.c"}});
        assert_eq!(check_record(&escalation, &["escalation", "report"]), Ok(()));
        assert!(
            check_record(&escalation, &["command"])
                .unwrap_err()
                .contains("`command`")
        );
        let mut no_time = escalation.clone();
        no_time.as_object_mut().unwrap().remove("time");
        assert!(
            check_record(&no_time, &["escalation"])
                .unwrap_err()
                .contains("`time`")
        );
        let mut bad_place = escalation.clone();
        bad_place["to"] = json!({"layer": "L9", "node": "x"});
        assert!(
            check_record(&bad_place, &["escalation"])
                .unwrap_err()
                .contains("`to`")
        );
        assert!(check_record(&json!([1]), &["escalation"]).is_err());
        assert_eq!(destination_layer(&escalation), Some(2));
    }

    #[test]
    fn deliveries_are_for_nodes_this_node_runs() {
        let district = Scope {
            zone: "a.b.c".into(),
            lowest_layer: 2,
            highest_layer: 5,
        };
        let record = |layer: &str, node: &str| {
            json!({"kind": "escalation", "to": {"layer": layer, "node": node},
                "message": {"event_id": "i-1", "zone": "a.b.c.d"}})
        };
        let deliver = |record: &Value| delivery(record, record.to_string().as_bytes(), &district);
        let here = deliver(&record("L2", "a.b.c")).unwrap().unwrap();
        assert_eq!(here.node, "a.b.c");
        assert!(here.line.contains("\"i-1\""));
        let error = deliver(&record("L2", "a.b.x")).unwrap_err();
        assert!(
            error.contains("outside this node's zone `a.b.c`"),
            "{error}"
        );
        let error = deliver(&record("L1", "a.b.c.d")).unwrap_err();
        assert!(error.contains("runs L2 to L5"), "{error}");
        let error = deliver(&record("L1", "a.b.c")).unwrap_err();
        assert!(error.contains("names a node of L2"), "{error}");
        // Above the zone: this district has no parent, so it runs the city.
        assert!(deliver(&record("L3", "a.b")).unwrap().is_some());
        assert!(deliver(&record("L5", "national")).unwrap().is_some());
        let error = deliver(&record("L1", "a.b.c.d.e")).unwrap_err();
        assert!(error.contains("not a node's name"), "{error}");
        let with_parent = Scope {
            highest_layer: 2,
            ..district.clone()
        };
        let city = record("L3", "a.b");
        let error = delivery(&city, city.to_string().as_bytes(), &with_parent).unwrap_err();
        assert!(error.contains("runs L2 only"), "{error}");
        let mut report = record("L2", "a.b.c");
        report["message"] = Value::Null;
        assert_eq!(deliver(&report), Ok(None));
        report["message"] = json!("text");
        assert!(deliver(&report).is_err());
        // The message's text as sent: a float that parsing would move by an ulp stays.
        let raw = r#"{"kind":"escalation","to":{"layer":"L2","node":"a.b.c"},"message":{"x":11.436583333333333,"y":1e2}}"#;
        let record: Value = serde_json::from_str(raw).unwrap();
        let line = delivery(&record, raw.as_bytes(), &district)
            .unwrap()
            .unwrap()
            .line;
        assert_eq!(line, r#"{"x":11.436583333333333,"y":1e2}"#);
        assert!(within("a.b.c", "a.b") && !within("a.bc", "a.b"));
    }
}
