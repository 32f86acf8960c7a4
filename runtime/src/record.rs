//! Output records (contract section 3, with the extra fields of `docs/execution.md`): serde
//! structs, so every record serializes with its keys in a fixed order, `kind` first.

use crate::json::Json;
use serde::Serialize;

/// A layer and node: the `from` and `to` of escalations, commands and reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Place {
    /// `L1` … `L5`.
    pub layer: String,
    pub node: String,
}

/// One entry of a decision's `actions`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActionEntry {
    #[serde(rename = "type")]
    pub kind: String,
    pub target: String,
    pub params: Json,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decision {
    pub decision_id: String,
    pub rule: String,
    pub trigger: String,
    pub related: Vec<String>,
    pub layer: String,
    pub node: String,
    pub time: String,
    /// The rule's `priority`, or null.
    pub priority: Json,
    pub actions: Vec<ActionEntry>,
    /// `"not_required"` or `{status, authority, level, deadline, default}`.
    pub approval: Json,
    pub rationale: Vec<Json>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Approval {
    pub decision_id: String,
    pub rule: String,
    /// `approved|rejected|escalated|auto_approved|auto_rejected`.
    pub status: String,
    /// The authority id, or `timeout`.
    pub by: String,
    pub time: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Escalation {
    pub decision_id: String,
    /// The incident sent up; null when a person escalated an approval.
    pub incident_id: Option<String>,
    pub incident: Option<String>,
    pub rule: String,
    pub reason: String,
    pub from: Place,
    pub to: Place,
    pub time: String,
    pub fields: Json,
    /// The incident as delivered to `to`, in its JSON event form: what the process running
    /// `to` runs (contract extension); null when a person escalated an approval, or when
    /// the incident was not delivered (a dead letter says why).
    pub message: Option<Json>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Command {
    pub decision_id: String,
    pub command_id: String,
    pub rule: String,
    pub from: Place,
    pub to: Place,
    pub directive: String,
    pub actions: Json,
    pub params: Json,
    pub time: String,
    /// The directive as delivered to `to`, in its JSON event form: what the process
    /// running `to` runs (contract extension); null when it was not delivered (a dead
    /// letter says why).
    pub message: Option<Json>,
}

/// An action run after the decision: on approval, on rejection, or on no response.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Action {
    pub decision_id: String,
    pub rule: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub target: String,
    pub params: Json,
    pub time: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeadLetter {
    pub line: u64,
    pub error: String,
    /// The raw line, truncated to 512 bytes.
    pub input: String,
}

/// One output record.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    Decision(Decision),
    Approval(Approval),
    Escalation(Escalation),
    Command(Command),
    Action(Action),
    /// `{report, from, to, window_start, window_end, total_events, event_breakdown,
    /// escalated_incidents, …declared fields}`: an object, since the fields are the policy's.
    Report(Json),
    DeadLetter(DeadLetter),
}

/// The most bytes of an input line a dead letter repeats.
pub const DEAD_LETTER_INPUT_BYTES: usize = 512;

impl Record {
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Decision(_) => "decision",
            Record::Approval(_) => "approval",
            Record::Escalation(_) => "escalation",
            Record::Command(_) => "command",
            Record::Action(_) => "action",
            Record::Report(_) => "report",
            Record::DeadLetter(_) => "dead_letter",
        }
    }

    /// One line of NDJSON, without the newline.
    pub fn to_json_line(&self) -> String {
        let mut out = Vec::new();
        self.write_json(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// Appends the record's NDJSON line, without the newline, to `out` (the same text as
    /// [`Record::to_json_line`], without a `String` of its own).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        // Most records fit: one allocation instead of a string doubled from empty.
        out.reserve(512);
        let start = out.len();
        if let Err(e) = serde_json::to_writer(&mut *out, self) {
            out.truncate(start);
            let text = format!("{{\"kind\":\"error\",\"error\":{:?}}}", e.to_string());
            out.extend_from_slice(text.as_bytes());
        }
    }

    /// As a serde_json value (for comparisons in tests).
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    pub fn dead_letter(line: u64, error: String, input: &str) -> Record {
        Record::DeadLetter(DeadLetter {
            line,
            error,
            input: truncate(input, DEAD_LETTER_INPUT_BYTES).to_string(),
        })
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
pub fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_comes_first_and_keys_keep_their_order() {
        let record = Record::Approval(Approval {
            decision_id: "d-1".into(),
            rule: "speeding_detected".into(),
            status: "approved".into(),
            by: "officer-123".into(),
            time: "2025-12-03T14:25:00.000Z".into(),
        });
        assert_eq!(
            record.to_json_line(),
            r#"{"kind":"approval","decision_id":"d-1","rule":"speeding_detected","status":"approved","by":"officer-123","time":"2025-12-03T14:25:00.000Z"}"#
        );
    }

    #[test]
    fn dead_letters_truncate_on_a_character_boundary() {
        let line = "é".repeat(400);
        let Record::DeadLetter(dl) = Record::dead_letter(3, "bad".into(), &line) else {
            panic!()
        };
        assert_eq!(dl.input.len(), 512);
        assert_eq!(truncate("aé", 2), "a");
    }
}
