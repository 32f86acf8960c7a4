//! Pending approvals: people's answers (`approval_response`), deadlines with their default,
//! `if no response`.

use super::Engine;
use super::hierarchy::{self, level_name};
use super::rules::Frame;
use crate::json::Json;
use crate::record::{self, Place, Record};
use crate::time::format_rfc3339;
use crate::values::message_field;
use cbp_ir::Value;
use cbp_ir::layout::envelope;
use cbp_ir::program::{ActionTemplate, Outcome};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// A decision waiting for a person.
#[derive(Debug)]
pub(crate) struct Pending {
    pub decision_id: String,
    /// Index into `Program::rules`.
    pub rule: usize,
    pub node: String,
    pub frame: Frame,
    pub level: u8,
    pub default: Outcome,
}

#[derive(Debug, Default)]
pub(crate) struct Approvals {
    pending: HashMap<String, Pending>,
    /// Resolved decision id → status, to say why a late answer is refused.
    resolved: HashMap<String, &'static str>,
    /// `rule/trigger event_id` → decision id: tests (and people) may name a decision by
    /// the rule and the message that triggered it.
    aliases: HashMap<String, String>,
    /// (resolution time, decision id, alias) in resolution order, to forget old ones.
    resolved_log: VecDeque<(i64, String, String)>,
}

/// How long a resolved decision is remembered (to refuse a second answer with a reason).
const RESOLVED_MEMORY_MS: i64 = 86_400_000;

impl Approvals {
    pub fn open(&mut self, pending: Pending) {
        self.pending.insert(pending.decision_id.clone(), pending);
    }

    pub fn alias(&mut self, rule: &str, event_id: &str, decision_id: &str) {
        self.aliases
            .insert(alias_of(rule, event_id), decision_id.to_string());
    }

    fn resolve_id<'a>(&'a self, id: &'a str) -> &'a str {
        if self.pending.contains_key(id) || self.resolved.contains_key(id) {
            return id;
        }
        self.aliases.get(id).map(String::as_str).unwrap_or(id)
    }

    /// Resolves a pending decision at `time`; resolutions older than a day are forgotten.
    fn close(
        &mut self,
        id: &str,
        status: &'static str,
        alias: String,
        time: i64,
    ) -> Option<Pending> {
        let pending = self.pending.remove(id)?;
        self.resolved.insert(id.to_string(), status);
        self.resolved_log.push_back((time, id.to_string(), alias));
        let cutoff = time.saturating_sub(RESOLVED_MEMORY_MS);
        while self
            .resolved_log
            .front()
            .is_some_and(|(t, _, _)| *t < cutoff)
        {
            if let Some((_, old, alias)) = self.resolved_log.pop_front() {
                self.resolved.remove(&old);
                if self.aliases.get(&alias) == Some(&old) {
                    self.aliases.remove(&alias);
                }
            }
        }
        Some(pending)
    }
}

fn alias_of(rule: &str, event_id: &str) -> String {
    format!("{rule}/{event_id}")
}

/// Text of a field of a row (strings and enum variant names).
fn text(value: &Value, program: &cbp_ir::Program) -> Option<String> {
    match value {
        Value::Str(s) | Value::Zone(s) => Some(s.to_string()),
        Value::Enum(id, index) => program
            .enums
            .get(id.0 as usize)?
            .variants
            .get(*index as usize)
            .cloned(),
        _ => None,
    }
}

impl Engine {
    /// An `approval_response`: checks it and resolves the decision it answers. An error
    /// refuses the line (a dead letter).
    pub(super) fn answer_approval(&mut self, row: &cbp_ir::Row) -> Result<(), String> {
        let program = self.program.clone();
        let field = |name: &str| {
            text(
                &message_field(&program, &self.interner, row, name),
                &program,
            )
        };
        let asked = field("decision_id").unwrap_or_default();
        let action = field("action").unwrap_or_default();
        let by = field("authority_id").unwrap_or_default();
        let level_text = field("level").unwrap_or_default();
        let level: u8 = level_text.trim_start_matches('L').parse().unwrap_or(0);
        let id = self.approvals.resolve_id(&asked).to_string();
        let Some(pending) = self.approvals.pending.get(&id) else {
            return Err(match self.approvals.resolved.get(&id) {
                Some(status) => {
                    format!("decision `{asked}` is already {}", status.replace('_', " "))
                }
                None => format!("unknown decision `{asked}`: no pending approval has this id"),
            });
        };
        if level < pending.level {
            return Err(format!(
                "authority level {} is below the required {}",
                if level_text.is_empty() {
                    "?".to_string()
                } else {
                    level_text
                },
                level_name(pending.level)
            ));
        }
        let outcome = match action.as_str() {
            "approve" => Outcome::Approve,
            "reject" => Outcome::Reject,
            "escalate" => Outcome::Escalate,
            other => {
                return Err(format!(
                    "field `payload.action`: `{other}` is not approve, reject or escalate"
                ));
            }
        };
        let time = self.now();
        self.resolve(&id, outcome, false, &by, time);
        Ok(())
    }

    /// The deadline of an approval: its default, `by` timeout.
    pub(super) fn approval_deadline(&mut self, id: &str, time: i64) {
        let Some(default) = self.approvals.pending.get(id).map(|p| p.default) else {
            return;
        };
        self.resolve(id, default, true, "timeout", time);
    }

    /// `if no response within D`: its actions, when the decision is still pending.
    pub(super) fn no_response(&mut self, id: &str, time: i64) {
        let Some(pending) = self.approvals.pending.get(id) else {
            return;
        };
        let (rule, node, frame) = (pending.rule, pending.node.clone(), pending.frame.clone());
        let program = self.program.clone();
        if let Some((_, actions)) = program.rules.get(rule).and_then(|r| r.no_response.as_ref()) {
            self.follow_up(actions, 3, rule, &node, &frame, id, time);
        }
    }

    fn resolve(&mut self, id: &str, outcome: Outcome, timeout: bool, by: &str, time: i64) {
        let status = match (outcome, timeout) {
            (Outcome::Approve, false) => "approved",
            (Outcome::Approve, true) => "auto_approved",
            (Outcome::Reject, false) => "rejected",
            (Outcome::Reject, true) => "auto_rejected",
            (Outcome::Escalate, _) => "escalated",
        };
        let program = self.program.clone();
        let Some(alias) = self.approvals.pending.get(id).map(|p| {
            let rule = program
                .rules
                .get(p.rule)
                .map(|r| r.name.as_str())
                .unwrap_or("");
            let trigger = &p.frame.trigger;
            let event_id = if trigger.is_present(envelope::EVENT_ID) {
                self.interner.resolve(trigger.get(envelope::EVENT_ID))
            } else {
                Arc::from("")
            };
            alias_of(rule, &event_id)
        }) else {
            return;
        };
        let Some(pending) = self.approvals.close(id, status, alias, time) else {
            return;
        };
        let Some(rule) = program.rules.get(pending.rule) else {
            return;
        };
        self.records.push(Record::Approval(record::Approval {
            decision_id: id.to_string(),
            rule: rule.name.clone(),
            status: status.to_string(),
            by: by.to_string(),
            time: format_rfc3339(time),
        }));
        match outcome {
            Outcome::Approve => self.follow_up(
                &rule.on_approve,
                1,
                pending.rule,
                &pending.node,
                &pending.frame,
                id,
                time,
            ),
            Outcome::Reject => self.follow_up(
                &rule.on_reject,
                2,
                pending.rule,
                &pending.node,
                &pending.frame,
                id,
                time,
            ),
            Outcome::Escalate => {
                let parent = hierarchy::ancestor(
                    &pending.node,
                    (hierarchy::layer_of(&pending.node) + 1).min(5),
                );
                self.records.push(Record::Escalation(record::Escalation {
                    decision_id: id.to_string(),
                    incident_id: None,
                    incident: None,
                    rule: rule.name.clone(),
                    reason: "approval_escalated".into(),
                    from: Place {
                        layer: level_name(hierarchy::layer_of(&pending.node)),
                        node: pending.node.clone(),
                    },
                    to: Place {
                        layer: level_name(hierarchy::layer_of(&parent)),
                        node: parent,
                    },
                    time: format_rfc3339(time),
                    fields: Json::object(),
                    message: None,
                }));
            }
        }
    }

    /// Actions after the decision: an `action` record each, then its effects.
    #[allow(clippy::too_many_arguments)]
    fn follow_up(
        &mut self,
        templates: &[ActionTemplate],
        phase: usize,
        rule_index: usize,
        node: &str,
        frame: &Frame,
        id: &str,
        time: i64,
    ) {
        let program = self.program.clone();
        let Some(rule) = program.rules.get(rule_index) else {
            return;
        };
        for (index, template) in templates.iter().enumerate() {
            let mut effects = Vec::new();
            // Each phase numbers its actions apart from `then`'s, so follow-up escalations
            // and commands get ids of their own.
            let index = phase * 1000 + index;
            let entry = self.run_action(template, frame, node, id, rule, index, 0, &mut effects);
            self.records.push(Record::Action(record::Action {
                decision_id: id.to_string(),
                rule: rule.name.clone(),
                kind: entry.kind,
                target: entry.target,
                params: entry.params,
                time: format_rfc3339(time),
            }));
            self.records.extend(effects);
        }
    }
}
