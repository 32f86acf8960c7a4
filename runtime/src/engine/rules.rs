//! Rules at a node: steps, decisions, actions and their effects (escalations, commands).

use super::hierarchy::{self, layer_name, level_name};
use super::tables::event_time;
use super::timers::TimerKind;
use super::{Delivery, Engine, MAX_DEPTH};
use crate::eval::EvalContext;
use crate::geo::Point;
use crate::json::Json;
use crate::record::{self, ActionEntry, Place, Record};
use crate::time::format_rfc3339;
use crate::values::{envelope_json, to_json};
use cbp_ir::layout::envelope;
use cbp_ir::program::{ActionTemplate, CommandTarget, Outcome, Rule, Step};
use cbp_ir::{MessageId, NodeId, Row, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// What a rule's expressions see: the trigger, the `let` values, the correlation matches.
#[derive(Clone, Debug)]
pub(crate) struct Frame {
    pub trigger: Arc<Row>,
    pub locals: Vec<Value>,
    pub matches: Vec<Vec<Arc<Row>>>,
}

/// A rule whose steps all held.
struct Fired {
    frame: Frame,
    rationale: Vec<Json>,
    related: Vec<String>,
}

/// Whether [`Engine::send`] delivers a message built as `built` at chain depth `depth`
/// (otherwise it dead-letters it, and the record that sent it carries no `message`).
fn delivered(built: &Result<Row, String>, depth: u32) -> bool {
    built.is_ok() && depth < MAX_DEPTH
}

/// `prefix` and the first 16 hex digits of SHA-256 over `parts` joined by NUL bytes (an
/// id: `d-…`, `i-…`, `c-…`).
pub(crate) fn prefixed_hash(prefix: &str, parts: &[&str]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hasher = Sha256::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hasher.update([0]);
        }
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut id = String::with_capacity(prefix.len() + 16);
    id.push_str(prefix);
    for byte in digest.iter().take(8) {
        id.push(char::from(HEX[usize::from(byte >> 4)]));
        id.push(char::from(HEX[usize::from(byte & 0xF)]));
    }
    id
}

pub(crate) fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Approve => "approve",
        Outcome::Reject => "reject",
        Outcome::Escalate => "escalate",
    }
}

fn place(node: &str) -> Place {
    Place {
        layer: level_name(hierarchy::layer_of(node)),
        node: node.to_string(),
    }
}

impl Engine {
    pub(super) fn eval(
        &mut self,
        frame: &Frame,
        candidate: Option<&Arc<Row>>,
        node: NodeId,
    ) -> Value {
        self.places_for(node);
        let cx = EvalContext {
            program: &self.program,
            interner: &self.interner,
            trigger: &frame.trigger,
            candidate,
            locals: &frame.locals,
            matches: &frame.matches,
            places: &self.places,
            aggregates: None,
        };
        self.evaluator.eval(&cx, node)
    }

    fn eval_bool(&mut self, frame: &Frame, candidate: Option<&Arc<Row>>, node: NodeId) -> bool {
        self.eval_bool_on(
            &frame.trigger,
            &frame.locals,
            &frame.matches,
            candidate,
            node,
        )
    }

    /// [`Engine::eval_bool`] on a frame's parts (a rule's first `when` sees the trigger alone,
    /// without a frame holding a copy of it).
    fn eval_bool_on(
        &mut self,
        trigger: &Arc<Row>,
        locals: &[Value],
        matches: &[Vec<Arc<Row>>],
        candidate: Option<&Arc<Row>>,
        node: NodeId,
    ) -> bool {
        self.places_for(node);
        let cx = EvalContext {
            program: &self.program,
            interner: &self.interner,
            trigger,
            candidate,
            locals,
            matches,
            places: &self.places,
            aggregates: None,
        };
        self.evaluator.eval_bool(&cx, node)
    }

    fn json(&self, value: &Value) -> Json {
        to_json(&self.program, &self.interner, value)
    }

    fn text_slot(&self, row: &Row, slot: u32) -> Arc<str> {
        if row.is_present(slot) {
            self.interner.resolve(row.get(slot))
        } else {
            Arc::from("")
        }
    }

    /// Runs the rules of `layer` that `row` can trigger at `node`, in program order.
    pub(super) fn run_rules(&mut self, node: &str, layer: u8, row: &Arc<Row>, depth: u32) {
        let mut candidates = std::mem::take(&mut self.candidates);
        match self.tables.dispatch.get(row.message.0 as usize) {
            Some(dispatch) => dispatch.candidates_into(row, &mut candidates),
            None => candidates.clear(),
        }
        for &index in &candidates {
            let Some(head) = self.tables.heads.get(index as usize).copied() else {
                continue;
            };
            if head.layer != layer {
                continue;
            }
            if let Some(source) = head.source
                && (!row.is_present(envelope::MODEL_ID) || row.get(envelope::MODEL_ID) != source)
            {
                continue;
            }
            // The cheap path first: a rule whose opening `when` is false costs its condition
            // only (no frame, no decision id). It sees the trigger alone (no `let` or match
            // precedes it).
            if let Some(cond) = head.first_when
                && !self.eval_bool_on(row, &[], &[], None, cond)
            {
                continue;
            }
            // Held while the rule runs (only for a rule past its first `when`: a reference
            // count to touch).
            let program = self.program.clone();
            let Some(rule) = program.rules.get(index as usize) else {
                continue;
            };
            let Some(fired) = self.evaluate_steps(rule, node, row) else {
                continue;
            };
            let event_id = self.text_slot(row, envelope::EVENT_ID);
            let model_id = self.text_slot(row, envelope::MODEL_ID);
            let decision_id = prefixed_hash("d-", &[&rule.name, node, &event_id, &model_id]);
            // A redelivered message: this decision was made and acted on already.
            if self
                .nodes
                .get(node)
                .is_some_and(|n| n.has_decided(&decision_id))
            {
                continue;
            }
            self.decide(index as usize, node, decision_id, &event_id, fired, depth);
        }
        self.candidates = candidates;
    }

    fn evaluate_steps(&mut self, rule: &Rule, node: &str, row: &Arc<Row>) -> Option<Fired> {
        let correlations = rule
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Correlate(c) => Some(c.index as usize + 1),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let mut frame = Frame {
            trigger: row.clone(),
            locals: vec![Value::Null; rule.locals as usize],
            matches: vec![Vec::new(); correlations],
        };
        let mut rationale = Vec::new();
        let mut related = Vec::new();
        for step in &rule.steps {
            match step {
                Step::When { cond, text, shows } => {
                    if !self.eval_bool(&frame, None, *cond) {
                        return None;
                    }
                    let mut values = Json::object();
                    for (shown, id) in shows {
                        let value = self.eval(&frame, None, *id);
                        values.set(shown, self.json(&value));
                    }
                    rationale.push(Json::Object(vec![
                        ("condition".into(), Json::str(text.as_str())),
                        ("values".into(), values),
                    ]));
                }
                Step::Let { local, value, .. } => {
                    let value = self.eval(&frame, None, *value);
                    let slot = *local as usize;
                    if frame.locals.len() <= slot {
                        frame.locals.resize(slot + 1, Value::Null);
                    }
                    frame.locals[slot] = value;
                }
                Step::Correlate(c) => {
                    let time = event_time(row);
                    let near = match c.radius_m {
                        Some(radius)
                            if row.is_present(envelope::LATITUDE)
                                && row.is_present(envelope::LONGITUDE) =>
                        {
                            Some((
                                Point {
                                    lat: row.float(envelope::LATITUDE),
                                    lon: row.float(envelope::LONGITUDE),
                                },
                                radius,
                            ))
                        }
                        // A radius around a trigger without a location: nothing is near it.
                        Some(_) => Some((
                            Point {
                                lat: f64::NAN,
                                lon: f64::NAN,
                            },
                            -1.0,
                        )),
                        None => None,
                    };
                    let found = self
                        .nodes
                        .get(node)
                        .and_then(|n| n.windows.get(&c.message))
                        .map(|w| w.query(time.saturating_sub(c.window_ms), time, near))
                        .unwrap_or_default();
                    let mut matched = Vec::new();
                    for (_, _, candidate) in found {
                        let same_message = candidate.get(envelope::EVENT_ID)
                            == row.get(envelope::EVENT_ID)
                            && candidate.get(envelope::MODEL_ID) == row.get(envelope::MODEL_ID)
                            && candidate.message == row.message;
                        if same_message {
                            continue;
                        }
                        if let Some(filter) = c.filter
                            && !self.eval_bool(&frame, Some(&candidate), filter)
                        {
                            continue;
                        }
                        matched.push(candidate);
                    }
                    let count = matched.len();
                    let needed = c.min_count.max(1) as usize;
                    let satisfied = if c.absent {
                        count < needed
                    } else {
                        count >= needed
                    };
                    if !satisfied {
                        return None;
                    }
                    related.extend(
                        matched
                            .iter()
                            .map(|r| self.text_slot(r, envelope::EVENT_ID).to_string()),
                    );
                    if let Some(slot) = frame.matches.get_mut(c.index as usize) {
                        *slot = matched;
                    }
                    rationale.push(Json::Object(vec![
                        ("correlate".into(), Json::str(c.text.as_str())),
                        ("matched".into(), Json::Int(count as i64)),
                    ]));
                }
            }
        }
        Some(Fired {
            frame,
            rationale,
            related,
        })
    }

    fn decide(
        &mut self,
        rule_index: usize,
        node: &str,
        decision_id: String,
        trigger_id: &str,
        fired: Fired,
        depth: u32,
    ) {
        let program = self.program.clone();
        let Some(rule) = program.rules.get(rule_index) else {
            return;
        };
        let Fired {
            frame,
            rationale,
            related,
        } = fired;
        let time = self.now();
        let priority = match rule.priority {
            Some(id) => {
                let value = self.eval(&frame, None, id);
                self.json(&value)
            }
            None => Json::Null,
        };
        // A buffer kept from one decision to the next (records are large: growing a vector
        // of them from empty copies them).
        let mut effects = std::mem::take(&mut self.effects);
        let mut actions = Vec::with_capacity(rule.then.len());
        for (index, template) in rule.then.iter().enumerate() {
            actions.push(self.run_action(
                template,
                &frame,
                node,
                &decision_id,
                rule,
                index,
                depth,
                &mut effects,
            ));
        }
        let approval = match &rule.approval {
            Some(approval) => {
                let deadline = time.saturating_add(approval.within_ms);
                self.timers
                    .schedule(deadline, TimerKind::ApprovalDeadline(decision_id.clone()));
                if let Some((within, _)) = &rule.no_response {
                    self.timers.schedule(
                        time.saturating_add(*within),
                        TimerKind::NoResponse(decision_id.clone()),
                    );
                }
                self.approvals.open(super::approvals::Pending {
                    decision_id: decision_id.clone(),
                    rule: rule_index,
                    node: node.to_string(),
                    frame: frame.clone(),
                    level: approval.level,
                    default: approval.default,
                });
                Json::Object(vec![
                    ("status".into(), Json::str("pending")),
                    ("authority".into(), Json::str(approval.authority.as_str())),
                    ("level".into(), Json::Str(level_name(approval.level))),
                    ("deadline".into(), Json::Str(format_rfc3339(deadline))),
                    ("default".into(), Json::str(outcome_name(approval.default))),
                ])
            }
            None => Json::str("not_required"),
        };
        if rule.approval.is_some() {
            // Only answers name decisions, and only decisions with an approval get answers.
            self.approvals.alias(&rule.name, trigger_id, &decision_id);
        }
        let latency = time.saturating_sub(event_time(&frame.trigger));
        if let Some(state) = self.nodes.get_mut(node) {
            state.remember_decision(&decision_id, time);
            for window in &mut state.reports {
                window.count_decision(latency);
            }
        }
        self.records.push(Record::Decision(record::Decision {
            decision_id,
            rule: rule.name.clone(),
            trigger: trigger_id.to_string(),
            related,
            layer: level_name(rule.layer),
            node: node.to_string(),
            time: format_rfc3339(time),
            priority,
            actions,
            approval,
            rationale,
        }));
        self.records.append(&mut effects);
        self.effects = effects;
    }

    /// Evaluates one action into its entry; escalations and commands also make their
    /// records (into `effects`) and queue their messages.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run_action(
        &mut self,
        template: &ActionTemplate,
        frame: &Frame,
        node: &str,
        decision_id: &str,
        rule: &Rule,
        index: usize,
        depth: u32,
        effects: &mut Vec<Record>,
    ) -> ActionEntry {
        let time = self.now();
        match template {
            ActionTemplate::Invoke {
                kind,
                target,
                params,
            } => ActionEntry {
                kind: kind.clone(),
                target: target.clone(),
                params: self.eval_fields(frame, params),
            },
            ActionTemplate::Escalate {
                incident,
                to_layer,
                fields,
            } => {
                let params = self.eval_fields(frame, fields);
                let layer = hierarchy::layer_of(node);
                let to_layer = if *to_layer > layer {
                    *to_layer
                } else {
                    (layer + 1).min(5)
                };
                let target = hierarchy::ancestor(node, to_layer);
                let name = self.message_name(*incident);
                let incident_id =
                    prefixed_hash("i-", &[decision_id, "escalate", &index.to_string(), &name]);
                let zone = self.text_slot(&frame.trigger, envelope::ZONE);
                let origin = format!("node:{node}");
                let (message, built) = self.build_message(
                    *incident,
                    &frame.trigger,
                    &incident_id,
                    &origin,
                    &zone,
                    &params,
                );
                effects.push(Record::Escalation(record::Escalation {
                    decision_id: decision_id.to_string(),
                    incident_id: Some(incident_id.clone()),
                    incident: Some(name.clone()),
                    rule: rule.name.clone(),
                    reason: name.clone(),
                    from: place(node),
                    to: place(&target),
                    time: format_rfc3339(time),
                    fields: params.clone(),
                    message: delivered(&built, depth).then_some(message),
                }));
                if let Some(state) = self.nodes.get_mut(node) {
                    for window in &mut state.reports {
                        window
                            .aggregates
                            .escalated_incidents
                            .push(incident_id.clone());
                    }
                }
                self.send(
                    built,
                    target,
                    depth,
                    &format!("escalated incident `{name}` of rule `{}`", rule.name),
                    effects,
                );
                ActionEntry {
                    kind: "escalate".into(),
                    target: format!(
                        "{}:{}",
                        layer_name(to_layer),
                        hierarchy::ancestor(node, to_layer)
                    ),
                    params,
                }
            }
            ActionTemplate::Command {
                directive,
                to,
                fields,
            } => {
                let params = self.eval_fields(frame, fields);
                let name = self.message_name(*directive);
                let targets = self.command_targets(frame, node, to);
                let actions = params
                    .get("actions")
                    .cloned()
                    .unwrap_or(Json::Array(Vec::new()));
                let trigger_zone = self.text_slot(&frame.trigger, envelope::ZONE);
                for target in targets {
                    let command_id =
                        prefixed_hash("c-", &[decision_id, "command", &index.to_string(), &target]);
                    let zone = if hierarchy::layer_of(&target) == 1 {
                        Arc::from(target.as_str())
                    } else {
                        trigger_zone.clone()
                    };
                    let origin = format!("node:{node}");
                    let (message, built) = self.build_message(
                        *directive,
                        &frame.trigger,
                        &command_id,
                        &origin,
                        &zone,
                        &params,
                    );
                    effects.push(Record::Command(record::Command {
                        decision_id: decision_id.to_string(),
                        command_id: command_id.clone(),
                        rule: rule.name.clone(),
                        from: place(node),
                        to: place(&target),
                        directive: name.clone(),
                        actions: actions.clone(),
                        params: params.clone(),
                        time: format_rfc3339(time),
                        message: delivered(&built, depth).then_some(message),
                    }));
                    self.send(
                        built,
                        target,
                        depth,
                        &format!("directive `{name}` of rule `{}`", rule.name),
                        effects,
                    );
                }
                ActionEntry {
                    kind: "command".into(),
                    target: name,
                    params,
                }
            }
        }
    }

    fn send(
        &mut self,
        built: Result<Row, String>,
        target: String,
        depth: u32,
        what: &str,
        effects: &mut Vec<Record>,
    ) {
        let error = match built {
            Ok(row) if depth < MAX_DEPTH => {
                self.queue.push_back(Delivery {
                    node: Arc::from(target),
                    row: Arc::new(row),
                    depth: depth + 1,
                });
                return;
            }
            Ok(_) => format!(
                "{what} not delivered: more than {MAX_DEPTH} escalations and commands in a chain"
            ),
            Err(error) => format!("{what} is not a valid message: {error}"),
        };
        effects.push(Record::dead_letter(self.line, error, &self.line_text));
    }

    fn message_name(&self, id: MessageId) -> String {
        self.program
            .message(id)
            .map(|m| m.name.clone())
            .unwrap_or_default()
    }

    pub(super) fn eval_fields(&mut self, frame: &Frame, fields: &[(String, NodeId)]) -> Json {
        let mut out = Json::object();
        for (name, id) in fields {
            let value = self.eval(frame, None, *id);
            out.set(name, self.json(&value));
        }
        out
    }

    /// The nodes a command goes to: the children that exist now (name order), or the zones
    /// listed.
    fn command_targets(&mut self, frame: &Frame, node: &str, to: &CommandTarget) -> Vec<String> {
        match to {
            CommandTarget::Children => {
                let layer = hierarchy::layer_of(node);
                if layer <= 1 {
                    return Vec::new();
                }
                let mut children: Vec<String> = self
                    .nodes
                    .values()
                    .filter(|n| n.layer == layer - 1 && hierarchy::ancestor(&n.name, layer) == node)
                    .map(|n| n.name.clone())
                    .collect();
                // Children another process runs are children before a message reaches them.
                children.extend(
                    self.remote_nodes
                        .iter()
                        .filter(|n| {
                            hierarchy::layer_of(n) == layer - 1
                                && hierarchy::ancestor_of(n, layer) == node
                        })
                        .cloned(),
                );
                children.sort_unstable();
                children.dedup();
                children
            }
            CommandTarget::Zones(id) => {
                let mut targets: Vec<String> = Vec::new();
                if let Value::List(items) = self.eval(frame, None, *id) {
                    for item in items.iter() {
                        if let Value::Str(z) | Value::Zone(z) = item
                            && !z.is_empty()
                            && !targets.iter().any(|t| t == &**z)
                        {
                            targets.push(z.to_string());
                        }
                    }
                }
                targets
            }
        }
    }

    /// An incident or directive: the envelope copied from the trigger (location, severity,
    /// confidence), the given ids, zone and fields; fields named like envelope fields set
    /// them. Returned as its JSON event (keys in the contract's order: what the `message`
    /// of an escalation or command record repeats, for the process that runs its target)
    /// and as the row delivered here.
    fn build_message(
        &mut self,
        message: MessageId,
        trigger: &Row,
        event_id: &str,
        model_id: &str,
        zone: &str,
        fields: &Json,
    ) -> (Json, Result<Row, String>) {
        let name = self.message_name(message);
        let mut object = Json::Object(vec![
            ("event_id".into(), Json::str(event_id)),
            ("model_id".into(), Json::str(model_id)),
            ("type".into(), Json::Str(name)),
            ("timestamp".into(), Json::Str(format_rfc3339(self.now()))),
        ]);
        for key in ["location", "severity", "confidence"] {
            // As the trigger's `message_json` has it, without the rest of it.
            if let Some(value) = envelope_json(&self.program, &self.interner, trigger, key) {
                object.set(key, value);
            }
        }
        object.set("zone", Json::str(zone));
        object.set("metadata", Json::object());
        let mut payload = Json::object();
        if let Json::Object(entries) = fields {
            for (key, value) in entries {
                match key.as_str() {
                    "location" | "severity" | "confidence" | "metadata" => {
                        object.set(key, value.clone());
                    }
                    _ => payload.set(key, value.clone()),
                }
            }
        }
        object.set("payload", payload);
        // Decoded from the object itself, not from its text: a float read back from text is
        // not always the float written (serde_json's default parsing may miss by an ulp).
        let row = match object.to_value() {
            serde_json::Value::Object(map) => self.decoder.decode_object(&mut self.interner, &map),
            _ => Err("the message is not an object".into()),
        };
        (object, row)
    }
}
