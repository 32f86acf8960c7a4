//! Reports: at the end of each window (aligned to the hour), a record of the window's
//! aggregates and the report's declared fields.

use super::Engine;
use super::hierarchy::{self, level_name};
use super::timers::TimerKind;
use crate::eval::Aggregates;
use crate::eval::EvalContext;
use crate::intern::Interner;
use crate::json::Json;
use crate::record::Record;
use crate::time::format_rfc3339;
use crate::values::{message_json, to_json};
use cbp_ir::expr::{Aggregate, Node};
use cbp_ir::{NodeId, Program};

/// Keys of a report record that declared fields never replace.
const IDENTITY_KEYS: [&str; 3] = ["report", "from", "to"];

fn place(node: &str) -> Json {
    Json::Object(vec![
        (
            "layer".into(),
            Json::Str(level_name(hierarchy::layer_of(node))),
        ),
        ("node".into(), Json::str(node)),
    ])
}

/// A report field that is one aggregate (`total_events()`, `latest(t)`, …), written
/// straight from the window's aggregates: the JSON of the value the evaluators give it
/// (`aggregate_value` in the interpreter), without that value in between (a copy of every
/// key of the breakdown, every incident id). `None` for any other field.
fn aggregate_json(
    program: &Program,
    interner: &Interner,
    aggregates: &Aggregates,
    id: NodeId,
) -> Option<Json> {
    let Some(Node::Aggregate(aggregate)) = program.node(id) else {
        return None;
    };
    Some(match aggregate {
        Aggregate::TotalEvents => Json::Int(aggregates.total_events),
        Aggregate::EventBreakdown => Json::Object(
            aggregates
                .event_breakdown
                .iter()
                .map(|(k, v)| (k.clone(), Json::Int(*v)))
                .collect(),
        ),
        Aggregate::EscalatedIncidents => Json::Array(
            aggregates
                .escalated_incidents
                .iter()
                .map(|id| Json::str(id.as_str()))
                .collect(),
        ),
        Aggregate::AvgLatencyMs => aggregates.avg_latency_ms.map_or(Json::Null, Json::Float),
        Aggregate::Latest(message) => match aggregates.latest.get(message) {
            Some(row) => message_json(program, interner, row),
            None => Json::Null,
        },
    })
}

impl Engine {
    /// The window of report `slot` at `node` ends at `end`: emit it, open the next one.
    pub(super) fn close_report_window(&mut self, node: &str, slot: usize, end: i64) {
        let program = self.program.clone();
        let Some(window) = self
            .nodes
            .get_mut(node)
            .and_then(|n| n.reports.get_mut(slot))
        else {
            return;
        };
        let start = window.start;
        let every = window.every_ms;
        let report_index = window.report;
        let aggregates = window.roll(&program);
        self.timers.schedule(
            end.saturating_add(every),
            TimerKind::ReportWindow {
                node: node.to_string(),
                slot,
            },
        );
        let Some(report) = program.reports.get(report_index) else {
            return;
        };
        // A base key a declared field replaces is only held in place (its value is never
        // seen), so it is not built.
        let replaced = |key: &str| report.fields.iter().any(|(name, _)| name == key);
        let breakdown = if replaced("event_breakdown") {
            Json::Null
        } else {
            Json::Object(
                aggregates
                    .event_breakdown
                    .iter()
                    .map(|(k, v)| (k.clone(), Json::Int(*v)))
                    .collect(),
            )
        };
        let incidents = if replaced("escalated_incidents") {
            Json::Null
        } else {
            Json::Array(
                aggregates
                    .escalated_incidents
                    .iter()
                    .map(|id| Json::str(id.as_str()))
                    .collect(),
            )
        };
        // The base keys, unique: pushed in order (declared fields below may replace them).
        let mut record = Json::Object(vec![
            ("report".into(), Json::str(report.name.as_str())),
            ("from".into(), place(node)),
            (
                "to".into(),
                place(hierarchy::ancestor_of(node, report.to_layer)),
            ),
            ("window_start".into(), Json::Str(format_rfc3339(start))),
            ("window_end".into(), Json::Str(format_rfc3339(end))),
            ("total_events".into(), Json::Int(aggregates.total_events)),
            ("event_breakdown".into(), breakdown),
            ("escalated_incidents".into(), incidents),
        ]);
        for (name, id) in &report.fields {
            let cx = EvalContext {
                program: &self.program,
                interner: &self.interner,
                trigger: &self.empty_row,
                candidate: None,
                locals: &[],
                matches: &[],
                places: &self.places,
                aggregates: Some(&aggregates),
            };
            let json = match aggregate_json(&self.program, &self.interner, &aggregates, *id) {
                Some(json) => json,
                None => {
                    let value = self.evaluator.eval(&cx, *id);
                    to_json(&self.program, &self.interner, &value)
                }
            };
            // A declared field named like a base key gives that key its value in place;
            // the report's identity (`report`, `from`, `to`) is not the policy's to change.
            if !IDENTITY_KEYS.contains(&name.as_str()) {
                record.set(name, json);
            }
        }
        self.records.push(Record::Report(record));
    }
}
