//! Records exchanged between nodes (seed 12.3): `POST /api/v1/layer/escalate` carries
//! escalations and reports up, `POST /api/v1/layer/command` carries commands down. A node
//! checks what it receives against contract section 3 before it logs it.

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
}
