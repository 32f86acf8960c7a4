//! Pending approvals as the authority dashboard sees them (seed 12.2), kept from the records
//! the engine writes: a decision waiting for a person opens one, its `approval` record
//! closes it. Answers go back into the engine as `approval_response` events (contract
//! section 2), so a replay of the journal gives the same outcome.

use crate::store::Input;
use cbp_runtime::Record;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One decision waiting for a person.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingApproval {
    pub decision_id: String,
    pub rule: String,
    /// The triggering event's id.
    pub trigger: String,
    /// The node that decided, and its layer.
    pub node: String,
    pub layer: String,
    pub time: String,
    /// The authority that must answer, and its level (`L1` …).
    pub authority: String,
    pub level: String,
    pub deadline: String,
    /// What happens at the deadline without an answer.
    pub default: String,
    pub event_summary: String,
    pub evidence_urls: Vec<String>,
    pub recommended_action: String,
    pub actions: Value,
    pub rationale: Value,
    /// Where the triggering event happened; an answer is placed there too.
    #[serde(default)]
    pub location: Value,
}

pub enum PendingChange {
    Open(Box<PendingApproval>),
    Close(String),
}

impl PendingChange {
    /// What `record` changes, if anything; `input` is the input being run (its payload's
    /// URLs are the evidence of a decision it triggered).
    pub fn of(record: &Record, input: &Input) -> Option<PendingChange> {
        match record {
            Record::Approval(a) => Some(PendingChange::Close(a.decision_id.clone())),
            Record::Decision(d) => {
                // Most decisions need no person: skip them before building any JSON.
                let pending = matches!(
                    d.approval.get("status"),
                    Some(cbp_runtime::json::Json::Str(status)) if status == "pending"
                );
                if !pending {
                    return None;
                }
                // The parts used, as `record.to_value()` has them (serialized the same way),
                // without the whole record as a value.
                let approval = &serde_json::to_value(&d.approval).unwrap_or(Value::Null);
                if approval.get("status").and_then(Value::as_str) != Some("pending") {
                    return None;
                }
                let text = |v: &Value, key: &str| {
                    v.get(key)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                let actions = serde_json::to_value(&d.actions).unwrap_or(Value::Null);
                let recommended_action = actions
                    .get(0)
                    .map(|a| format!("{} {}", text(a, "type"), text(a, "target")))
                    .unwrap_or_default();
                let rationale = serde_json::to_value(&d.rationale).unwrap_or(Value::Null);
                let event = event_parts(input);
                Some(PendingChange::Open(Box::new(PendingApproval {
                    decision_id: d.decision_id.clone(),
                    rule: d.rule.clone(),
                    trigger: d.trigger.clone(),
                    node: d.node.clone(),
                    layer: d.layer.clone(),
                    time: d.time.clone(),
                    authority: text(approval, "authority"),
                    level: text(approval, "level"),
                    deadline: text(approval, "deadline"),
                    default: text(approval, "default"),
                    event_summary: summary(&d.rule, &d.trigger, &d.node, &rationale),
                    evidence_urls: evidence_urls(&event),
                    location: event.get("location").cloned().unwrap_or(Value::Null),
                    recommended_action,
                    actions,
                    rationale,
                })))
            }
            _ => None,
        }
    }
}

/// "speeding_detected on v-17 at ka.…: v.speed_kmh = 85, …" from the rationale's values.
fn summary(rule: &str, trigger: &str, node: &str, rationale: &Value) -> String {
    let mut text = format!("{rule} on {trigger} at {node}");
    let seen: Vec<String> = rationale
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|step| {
            let condition = step.get("condition").and_then(Value::as_str)?;
            Some(condition.to_string())
        })
        .take(3)
        .collect();
    if !seen.is_empty() {
        text.push_str(": ");
        text.push_str(&seen.join("; "));
    }
    text
}

/// The parts of the input a pending approval shows (`location`, `payload`), as
/// [`event_json`]'s value has them: a line that is a JSON object naming each at most once is
/// read for those two alone (the rest is checked, not built); anything else is read whole.
fn event_parts(input: &Input) -> Value {
    #[derive(Deserialize)]
    struct Parts {
        location: Option<Value>,
        payload: Option<Value>,
    }
    let line = match input.unsourced() {
        Input::Line(text) | Input::Delivered { line: text, .. } => text,
        _ => return event_json(input),
    };
    // An array would fill the struct by position: only an object is read by name.
    if !line.trim_start().starts_with('{') {
        return event_json(input);
    }
    match serde_json::from_str::<Parts>(line) {
        Ok(parts) => {
            let mut event = serde_json::Map::new();
            for (key, value) in [("location", parts.location), ("payload", parts.payload)] {
                if let Some(value) = value {
                    event.insert(key.into(), value);
                }
            }
            Value::Object(event)
        }
        // A key named twice (serde's value keeps the last), or not JSON.
        Err(_) => event_json(input),
    }
}

/// The input as JSON (protobuf through its JSON form); null when it is neither.
fn event_json(input: &Input) -> Value {
    use prost::Message;
    match input {
        Input::Line(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        Input::Proto(bytes) => cbp_runtime::proto::Event::decode(bytes.as_slice())
            .ok()
            .and_then(|event| cbp_runtime::proto::event_to_json(&event).ok())
            .map(Value::Object)
            .unwrap_or(Value::Null),
        Input::Tick(_) => Value::Null,
        Input::Sourced(_, input) => event_json(input),
        Input::Delivered { line, .. } => serde_json::from_str(line).unwrap_or(Value::Null),
    }
}

/// The URLs in an event's payload.
fn evidence_urls(event: &Value) -> Vec<String> {
    let mut urls = Vec::new();
    collect_urls(event.get("payload").unwrap_or(&Value::Null), &mut urls);
    urls
}

fn collect_urls(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.starts_with("https://") || s.starts_with("http://") => {
            out.push(s.clone())
        }
        Value::Array(items) => items.iter().for_each(|v| collect_urls(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_urls(v, out)),
        _ => {}
    }
}

/// The approvals resolved most lately (the latest [`Resolved::CAPACITY`]).
#[derive(Default)]
pub struct Resolved {
    by_id: std::collections::HashMap<String, PendingApproval>,
    order: std::collections::VecDeque<String>,
}

impl Resolved {
    pub const CAPACITY: usize = 10_000;

    pub fn insert(&mut self, approval: PendingApproval) {
        if self.order.len() == Self::CAPACITY
            && let Some(oldest) = self.order.pop_front()
        {
            self.by_id.remove(&oldest);
        }
        self.order.push_back(approval.decision_id.clone());
        self.by_id.insert(approval.decision_id.clone(), approval);
    }

    pub fn get(&self, decision_id: &str) -> Option<&PendingApproval> {
        self.by_id.get(decision_id)
    }
}

/// Who is asking for the pending approvals (query of `GET …/pending-approvals`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Scope {
    pub authority_id: Option<String>,
    /// The caller's level: approvals that need a higher one are not shown.
    pub level: Option<String>,
    /// The caller's zone: only decisions of nodes within it.
    pub zone: Option<String>,
    /// Only approvals that the named authority (as written in the policy) must give.
    pub authority: Option<String>,
}

impl Scope {
    pub fn admits(&self, approval: &PendingApproval) -> bool {
        let level_ok = match self.level.as_deref().and_then(crate::config::layer_number) {
            Some(mine) => crate::config::layer_number(&approval.level).unwrap_or(1) <= mine,
            None => true,
        };
        let zone_ok = match self.zone.as_deref().filter(|z| !z.is_empty()) {
            Some(zone) => {
                approval.node == zone
                    || approval
                        .node
                        .strip_prefix(zone)
                        .is_some_and(|rest| rest.starts_with('.'))
            }
            None => true,
        };
        let authority_ok = self
            .authority
            .as_deref()
            .is_none_or(|a| a == approval.authority);
        level_ok && zone_ok && authority_ok
    }
}

/// `POST /api/v1/authority/approve-decision`'s body (seed 12.2; `level` is the contract's
/// addition).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    pub decision_id: String,
    pub action: String,
    pub authority_id: String,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub level: Option<String>,
}

impl ApproveRequest {
    /// Checks what the engine would refuse without a useful status code.
    pub fn validate(&self) -> Result<(), String> {
        if !matches!(self.action.as_str(), "approve" | "reject" | "escalate") {
            return Err(format!(
                "`action` is `{}`; it must be approve, reject or escalate",
                self.action
            ));
        }
        if self.decision_id.is_empty() || self.authority_id.is_empty() {
            return Err("`decision_id` and `authority_id` must not be empty".into());
        }
        if let Some(level) = &self.level
            && crate::config::layer_number(level).is_none()
        {
            return Err(format!("`level` is `{level}`; it must be one of L1 … L5"));
        }
        Ok(())
    }

    /// The `approval_response` event this answer becomes. Its id is a hash of the answer,
    /// so the same answer posted twice is one event (the second is a recognised duplicate).
    /// Without a `level` the caller answers at the level the approval needs.
    pub fn to_event(&self, pending: Option<&PendingApproval>, clock: Option<i64>) -> String {
        use sha2::Digest;
        let level = self
            .level
            .clone()
            .or_else(|| pending.map(|p| p.level.clone()))
            .unwrap_or_else(|| "L1".into());
        let zone = pending.map(|p| p.node.clone()).unwrap_or_default();
        let digest = sha2::Sha256::digest(
            format!(
                "{}\0{}\0{}\0{}",
                self.decision_id, self.action, self.authority_id, level
            )
            .as_bytes(),
        );
        let id: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        let time = clock.filter(|c| *c != i64::MIN).unwrap_or(0);
        let mut payload = json!({
            "decision_id": self.decision_id,
            "action": self.action,
            "authority_id": self.authority_id,
            "level": level,
        });
        if let Some(notes) = &self.notes {
            payload["notes"] = json!(notes);
        }
        let mut event = json!({
            "event_id": format!("api-{id}"),
            "model_id": "authority-dashboard",
            "type": "approval_response",
            "timestamp_ms": time,
            "severity": "low",
            "confidence": 1.0,
            "metadata": {"via": "api"},
            "payload": payload,
        });
        if !zone.is_empty() {
            event["zone"] = json!(zone);
        }
        // The answer is placed where the decision's event was: a location is required of
        // every message, and a made-up one would move the node's known place.
        match pending.map(|p| &p.location) {
            Some(location @ Value::Object(_)) => event["location"] = location.clone(),
            _ => event["location"] = json!({"latitude": 0.0, "longitude": 0.0}),
        }
        event.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parts_shown_are_those_of_the_whole_event() {
        for line in [
            r#"{"event_id":"e","location":{"latitude":1.5,"longitude":2},"payload":{"evidence":{"image_urls":["https://x/1.jpg","ftp://no"]},"more":[{"u":"http://y"}]}}"#,
            r#" {"payload":null,"location":null}"#,
            r#"{"location":{"a":1},"location":{"b":2},"payload":{"u":"https://first"},"payload":{"u":"https://last"}}"#,
            r#"{"zone":"a","zone":"b","payload":{"u":"https://z"}}"#,
            r#"[{"location":1},{"u":"https://array"}]"#,
            r#"{"location":{"a":1},"payload":{"u":"https://cut"}"#,
            "not json",
            "{}",
        ] {
            let input = Input::Line(line.into());
            let (whole, parts) = (event_json(&input), event_parts(&input));
            assert_eq!(
                parts.get("location").cloned().unwrap_or(Value::Null),
                whole.get("location").cloned().unwrap_or(Value::Null),
                "{line}"
            );
            assert_eq!(evidence_urls(&parts), evidence_urls(&whole), "{line}");
        }
        let last = event_parts(&Input::Line(
            r#"{"payload":{"u":"https://first"},"payload":{"u":"https://last"}}"#.into(),
        ));
        assert_eq!(
            evidence_urls(&last),
            ["https://last"],
            "the last, as serde's value"
        );
    }

    fn approval(node: &str, level: &str) -> PendingApproval {
        PendingApproval {
            decision_id: "d-1".into(),
            rule: "r".into(),
            trigger: "e".into(),
            node: node.into(),
            layer: "L1".into(),
            time: String::new(),
            authority: "traffic_officer".into(),
            level: level.into(),
            deadline: String::new(),
            default: "auto_rejected".into(),
            event_summary: String::new(),
            evidence_urls: Vec::new(),
            recommended_action: String::new(),
            actions: Value::Null,
            rationale: Value::Null,
            location: json!({"latitude": 1.5, "longitude": 2.5}),
        }
    }

    #[test]
    fn scope_filters_by_level_zone_and_authority() {
        let a = approval("ka.bengaluru.east.indiranagar", "L2");
        assert!(Scope::default().admits(&a));
        let at = |level: &str, zone: &str| Scope {
            level: Some(level.into()),
            zone: Some(zone.into()),
            ..Scope::default()
        };
        assert!(at("L2", "ka.bengaluru.east").admits(&a));
        assert!(at("L3", "ka.bengaluru").admits(&a));
        assert!(!at("L1", "ka.bengaluru.east").admits(&a), "level too low");
        assert!(
            !at("L2", "ka.bengaluru.ea").admits(&a),
            "prefix of a segment"
        );
        assert!(!at("L2", "ka.bengaluru.south").admits(&a));
        let other = Scope {
            authority: Some("health_officer".into()),
            ..Scope::default()
        };
        assert!(!other.admits(&a));
    }

    #[test]
    fn an_answer_becomes_a_stable_event() {
        let answer = ApproveRequest {
            decision_id: "d-1".into(),
            action: "approve".into(),
            authority_id: "officer-1".into(),
            notes: Some("ok".into()),
            level: None,
        };
        let pending = approval("ka.b.e.i", "L2");
        let event = answer.to_event(Some(&pending), Some(5));
        assert_eq!(event, answer.to_event(Some(&pending), Some(5)));
        let value: Value = serde_json::from_str(&event).unwrap();
        assert_eq!(value["payload"]["level"], "L2");
        assert_eq!(value["zone"], "ka.b.e.i");
        assert_eq!(value["location"]["latitude"], 1.5);
        assert_eq!(value["type"], "approval_response");
        assert!(value["event_id"].as_str().unwrap().starts_with("api-"));
    }

    #[test]
    fn bad_answers_are_named() {
        let mut answer = ApproveRequest {
            decision_id: "d".into(),
            action: "maybe".into(),
            authority_id: "a".into(),
            notes: None,
            level: None,
        };
        assert!(answer.validate().unwrap_err().contains("`maybe`"));
        answer.action = "reject".into();
        answer.level = Some("L7".into());
        assert!(answer.validate().unwrap_err().contains("`L7`"));
    }
}
