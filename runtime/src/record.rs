//! Output records (contract section 3, with the extra fields of `docs/execution.md`): serde
//! structs, so every record serializes with its keys in a fixed order, `kind` first.

use crate::json::{Json, write};
use serde::Serialize;

/// An optional JSON value: the value, or `null`.
fn write_opt(out: &mut Vec<u8>, json: Option<&Json>) {
    match json {
        Some(json) => json.write(out),
        None => write::null(out),
    }
}

/// A layer and node: the `from` and `to` of escalations, commands and reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Place {
    /// `L1` … `L5`.
    pub layer: String,
    pub node: String,
}

impl Place {
    fn write(&self, out: &mut Vec<u8>) {
        let mut o = write::Object::new(out);
        write::str(o.key("layer"), &self.layer);
        write::str(o.key("node"), &self.node);
        o.end();
    }
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

/// A report record: the JSON text of its object (without `kind`), written once when its
/// window closes. Its keys are the policy's, and building a [`Json`] tree of them only to
/// write it out was most of what a report cost.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// A JSON object with at least one key (`report` first).
    text: String,
}

impl Report {
    /// The report whose object is `json` (an object; anything else is an empty object).
    pub fn from_json(json: &Json) -> Report {
        let mut text = Vec::new();
        match json {
            Json::Object(_) => json.write(&mut text),
            _ => text.extend_from_slice(b"{}"),
        }
        Report::from_bytes(text)
    }

    /// `text` is a JSON object written by [`crate::json::write`].
    pub(crate) fn from_bytes(text: Vec<u8>) -> Report {
        Report {
            text: String::from_utf8(text).unwrap_or_else(|_| "{}".to_string()),
        }
    }

    /// The text's buffer (for the next report to reuse).
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.text.into_bytes()
    }

    /// The JSON text of the object.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The object, keys in order.
    pub fn json(&self) -> Json {
        Json::parse(&self.text).unwrap_or_else(Json::object)
    }
}

impl Serialize for Report {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.json().serialize(serializer)
    }
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
    Report(Report),
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
        // Written key by key, as serde would write the derived form (a test checks), without
        // a serializer in between.
        if let Record::Report(report) = self {
            // `{"kind":"report",` and the report's own keys.
            let text = report.as_str();
            if text.len() > 2 {
                out.extend_from_slice(b"{\"kind\":\"report\",");
                out.extend_from_slice(text.as_bytes().get(1..).unwrap_or(b"}"));
            } else {
                out.extend_from_slice(b"{\"kind\":\"report\"}");
            }
            return;
        }
        let mut o = write::Object::new(out);
        write::str(o.key("kind"), self.kind());
        match self {
            Record::Decision(d) => {
                write::str(o.key("decision_id"), &d.decision_id);
                write::str(o.key("rule"), &d.rule);
                write::str(o.key("trigger"), &d.trigger);
                write::strs(o.key("related"), d.related.iter().map(String::as_str));
                write::str(o.key("layer"), &d.layer);
                write::str(o.key("node"), &d.node);
                write::str(o.key("time"), &d.time);
                d.priority.write(o.key("priority"));
                write::array(o.key("actions"), &d.actions, |out, action| {
                    let mut a = write::Object::new(out);
                    write::str(a.key("type"), &action.kind);
                    write::str(a.key("target"), &action.target);
                    action.params.write(a.key("params"));
                    a.end();
                });
                d.approval.write(o.key("approval"));
                write::array(o.key("rationale"), &d.rationale, |out, item| {
                    item.write(out)
                });
            }
            Record::Approval(a) => {
                write::str(o.key("decision_id"), &a.decision_id);
                write::str(o.key("rule"), &a.rule);
                write::str(o.key("status"), &a.status);
                write::str(o.key("by"), &a.by);
                write::str(o.key("time"), &a.time);
            }
            Record::Escalation(e) => {
                write::str(o.key("decision_id"), &e.decision_id);
                write::opt_str(o.key("incident_id"), e.incident_id.as_deref());
                write::opt_str(o.key("incident"), e.incident.as_deref());
                write::str(o.key("rule"), &e.rule);
                write::str(o.key("reason"), &e.reason);
                e.from.write(o.key("from"));
                e.to.write(o.key("to"));
                write::str(o.key("time"), &e.time);
                e.fields.write(o.key("fields"));
                write_opt(o.key("message"), e.message.as_ref());
            }
            Record::Command(c) => {
                write::str(o.key("decision_id"), &c.decision_id);
                write::str(o.key("command_id"), &c.command_id);
                write::str(o.key("rule"), &c.rule);
                c.from.write(o.key("from"));
                c.to.write(o.key("to"));
                write::str(o.key("directive"), &c.directive);
                c.actions.write(o.key("actions"));
                c.params.write(o.key("params"));
                write::str(o.key("time"), &c.time);
                write_opt(o.key("message"), c.message.as_ref());
            }
            Record::Action(a) => {
                write::str(o.key("decision_id"), &a.decision_id);
                write::str(o.key("rule"), &a.rule);
                write::str(o.key("type"), &a.kind);
                write::str(o.key("target"), &a.target);
                a.params.write(o.key("params"));
                write::str(o.key("time"), &a.time);
            }
            Record::DeadLetter(d) => {
                write::uint(o.key("line"), d.line);
                write::str(o.key("error"), &d.error);
                write::str(o.key("input"), &d.input);
            }
            Record::Report(_) => {}
        }
        o.end();
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

    /// Awkward text: every escape serde_json makes, and text it leaves alone.
    fn odd(tag: &str) -> String {
        format!("{tag} \"q\" \\ / \u{0}\u{8}\t\n\u{b}\u{c}\r\u{1f}\u{7f} é ✓ 𝄞")
    }

    fn place(node: &str) -> Place {
        Place {
            layer: odd("L"),
            node: node.into(),
        }
    }

    #[test]
    fn written_records_are_what_serde_writes() {
        let params = Json::Object(vec![
            (odd("k"), Json::Float(0.1 + 0.2)),
            ("big".into(), Json::Float(1e300)),
            ("int".into(), Json::Float(3.0)),
            ("nan".into(), Json::Float(f64::NAN)),
            ("neg".into(), Json::Int(i64::MIN)),
            (
                "list".into(),
                Json::Array(vec![Json::Null, Json::Bool(false), Json::str(odd("s"))]),
            ),
            ("empty".into(), Json::object()),
        ]);
        let records = [
            Record::Decision(Decision {
                decision_id: odd("d"),
                rule: "r".into(),
                trigger: odd("t"),
                related: vec![odd("a"), "b".into()],
                layer: "L1".into(),
                node: odd("n"),
                time: "2025-12-03T14:25:00.000Z".into(),
                priority: Json::Int(3),
                actions: vec![
                    ActionEntry {
                        kind: odd("type"),
                        target: "x".into(),
                        params: params.clone(),
                    },
                    ActionEntry {
                        kind: "y".into(),
                        target: "z".into(),
                        params: Json::Null,
                    },
                ],
                approval: Json::str("not_required"),
                rationale: vec![params.clone(), Json::Array(Vec::new())],
            }),
            Record::Decision(Decision {
                decision_id: String::new(),
                rule: String::new(),
                trigger: String::new(),
                related: Vec::new(),
                layer: String::new(),
                node: String::new(),
                time: String::new(),
                priority: Json::Null,
                actions: Vec::new(),
                approval: params.clone(),
                rationale: Vec::new(),
            }),
            Record::Approval(Approval {
                decision_id: odd("d"),
                rule: "r".into(),
                status: "approved".into(),
                by: odd("b"),
                time: "t".into(),
            }),
            Record::Escalation(Escalation {
                decision_id: "d".into(),
                incident_id: Some(odd("i")),
                incident: None,
                rule: "r".into(),
                reason: odd("why"),
                from: place("a.b.c.d"),
                to: place(&odd("a.b.c")),
                time: "t".into(),
                fields: params.clone(),
                message: Some(params.clone()),
            }),
            Record::Escalation(Escalation {
                decision_id: "d".into(),
                incident_id: None,
                incident: Some("x".into()),
                rule: "r".into(),
                reason: "r".into(),
                from: place("a"),
                to: place("b"),
                time: "t".into(),
                fields: Json::object(),
                message: None,
            }),
            Record::Command(Command {
                decision_id: "d".into(),
                command_id: odd("c"),
                rule: "r".into(),
                from: place("a"),
                to: place("b"),
                directive: odd("go"),
                actions: Json::Array(vec![Json::str("x")]),
                params: params.clone(),
                time: "t".into(),
                message: None,
            }),
            Record::Action(Action {
                decision_id: "d".into(),
                rule: odd("r"),
                kind: "notify".into(),
                target: "t".into(),
                params: params.clone(),
                time: "t".into(),
            }),
            Record::Report(Report::from_json(&Json::Object(vec![
                ("report".into(), Json::str(odd("hourly"))),
                ("total_events".into(), Json::Int(7)),
                (odd("field"), params.clone()),
            ]))),
            Record::Report(Report::from_json(&Json::object())),
            Record::dead_letter(u64::MAX, odd("bad"), &odd("{")),
        ];
        for record in &records {
            let mut written = b"[".to_vec();
            record.write_json(&mut written);
            assert_eq!(
                String::from_utf8(written[1..].to_vec()).unwrap(),
                serde_json::to_string(record).unwrap()
            );
        }
    }

    #[test]
    fn a_report_reads_back_with_its_keys_in_order() {
        let json = Json::Object(vec![
            ("report".into(), Json::str("r")),
            ("zeta".into(), Json::Int(-1)),
            ("alpha".into(), Json::Float(2.5)),
            ("big".into(), Json::Float(u64::MAX as f64)),
        ]);
        let report = Report::from_json(&json);
        assert_eq!(
            report.as_str(),
            r#"{"report":"r","zeta":-1,"alpha":2.5,"big":1.8446744073709552e+19}"#
        );
        assert_eq!(report.json(), json);
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
