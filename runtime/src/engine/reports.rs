//! Reports: at the end of each window (aligned to the hour), a record of the window's
//! aggregates and the report's declared fields.
//!
//! A report is written straight to its JSON text, key by key, from the window: no [`Json`]
//! tree of its keys (about forty allocations a report) and no dynamic value of an aggregate
//! field (a copy of every key of the breakdown, every incident id) in between.
//!
//! [`Json`]: crate::json::Json

use super::Engine;
use super::hierarchy::{self, level_name, level_str};
use super::node::ReportWindow;
use super::timers::TimerKind;
use crate::eval::{Aggregates, EvalContext, Evaluator};
use crate::geo::Point;
use crate::intern::Interner;
use crate::json::write;
use crate::record::{Record, Report};
use crate::time::format_rfc3339;
use crate::values::{write_message, write_value};
use cbp_ir::expr::{Aggregate, Node};
use cbp_ir::{MessageId, NodeId, Program, Row};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Keys of a report record that declared fields never replace.
const IDENTITY_KEYS: [&str; 3] = ["report", "from", "to"];

/// The keys of a report record after its identity, in order; a declared field of the same
/// name gives the key its value in place.
const BASE_KEYS: [&str; 5] = [
    "window_start",
    "window_end",
    "total_events",
    "event_breakdown",
    "escalated_incidents",
];

fn write_place(out: &mut Vec<u8>, node: &str) {
    let mut o = write::Object::new(out);
    let layer = hierarchy::layer_of(node);
    match level_str(layer) {
        Some(name) => write::str(o.key("layer"), name),
        None => write::str(o.key("layer"), &level_name(layer)),
    }
    write::str(o.key("node"), node);
    o.end();
}

/// The RFC 3339 texts of the last two times a report was written with: the reports of one
/// window close together, at every node, all with the same start and end.
#[derive(Debug, Default)]
pub(super) struct TimeTexts {
    recent: [Option<(i64, String)>; 2],
    /// The entry to replace next.
    next: usize,
}

impl TimeTexts {
    fn text(&mut self, ms: i64) -> &str {
        let at = match self
            .recent
            .iter()
            .position(|r| r.as_ref().is_some_and(|r| r.0 == ms))
        {
            Some(at) => at,
            None => {
                let at = self.next % 2;
                self.next = at + 1;
                if let Some(slot) = self.recent.get_mut(at) {
                    *slot = Some((ms, format_rfc3339(ms)));
                }
                at
            }
        };
        self.recent
            .get(at)
            .and_then(Option::as_ref)
            .map_or("", |(_, text)| text.as_str())
    }
}

/// What writing one report reads: the window and what its declared fields are evaluated
/// with.
struct ReportWriter<'a> {
    program: &'a Program,
    interner: &'a Interner,
    places: &'a BTreeMap<Arc<str>, Point>,
    empty_row: &'a Arc<Row>,
    evaluator: &'a mut dyn Evaluator,
    window: &'a ReportWindow,
    messages_by_name: &'a [MessageId],
    times: &'a mut TimeTexts,
    /// The window's aggregates as the evaluators see them, made when a field first needs
    /// an evaluator.
    aggregates: Option<Aggregates>,
}

impl ReportWriter<'_> {
    /// The value of the base key `key` (one of [`BASE_KEYS`]) for a window ending at `end`.
    fn base(&mut self, key: &str, end: i64, out: &mut Vec<u8>) {
        let window = self.window;
        match key {
            "window_start" => write::str(out, self.times.text(window.start)),
            "window_end" => write::str(out, self.times.text(end)),
            "total_events" => write::int(out, window.aggregates.total_events),
            "event_breakdown" => self.breakdown(out),
            _ => write::strs(
                out,
                window
                    .aggregates
                    .escalated_incidents
                    .iter()
                    .map(String::as_str),
            ),
        }
    }

    /// Message type name → count, in name order, types not seen left out (the JSON of
    /// [`Aggregates::event_breakdown`]).
    fn breakdown(&self, out: &mut Vec<u8>) {
        let counts = &self.window.counts;
        let mut o = write::Object::new(out);
        // Types of the same name (none in a checked program) count together.
        let mut pending: Option<(&str, i64)> = None;
        for id in self.messages_by_name {
            let count = counts.get(id.0 as usize).copied().unwrap_or(0);
            if count == 0 {
                continue;
            }
            let name = self
                .program
                .message(*id)
                .map(|m| m.name.as_str())
                .unwrap_or_default();
            match &mut pending {
                Some((last, total)) if *last == name => *total += count,
                _ => {
                    if let Some((last, total)) = pending.replace((name, count)) {
                        write::int(o.key(last), total);
                    }
                }
            }
        }
        if let Some((last, total)) = pending {
            write::int(o.key(last), total);
        }
        o.end();
    }

    /// A declared field: an aggregate is written straight from the window (the JSON of the
    /// value the evaluators give it: `aggregate_value` in the interpreter); anything else is
    /// evaluated.
    fn field(&mut self, id: NodeId, end: i64, out: &mut Vec<u8>) {
        if let Some(Node::Aggregate(aggregate)) = self.program.node(id) {
            let window = self.window;
            return match aggregate {
                Aggregate::TotalEvents => self.base("total_events", end, out),
                Aggregate::EventBreakdown => self.base("event_breakdown", end, out),
                Aggregate::EscalatedIncidents => self.base("escalated_incidents", end, out),
                Aggregate::AvgLatencyMs => match window.aggregates.avg_latency_ms {
                    Some(ms) => write::float(out, ms),
                    None => write::null(out),
                },
                Aggregate::Latest(message) => {
                    match window
                        .latest
                        .get(message.0 as usize)
                        .and_then(Option::as_ref)
                    {
                        Some(row) => write_message(self.program, self.interner, row, out),
                        None => write::null(out),
                    }
                }
            };
        }
        let aggregates = self
            .aggregates
            .get_or_insert_with(|| self.window.aggregates(self.program));
        let cx = EvalContext {
            program: self.program,
            interner: self.interner,
            trigger: self.empty_row,
            candidate: None,
            locals: &[],
            matches: &[],
            places: self.places,
            aggregates: Some(aggregates),
        };
        let value = self.evaluator.eval(&cx, id);
        write_value(self.program, self.interner, &value, out);
    }
}

impl Engine {
    /// The window of report `slot` at `node` ends at `end`: emit it, open the next one.
    pub(super) fn close_report_window(&mut self, node: Arc<str>, slot: usize, end: i64) {
        if let Some(report) = self
            .nodes
            .get(&*node)
            .and_then(|n| n.reports.get(slot))
            .and_then(|w| self.program.reports.get(w.report))
            && report.fields.iter().any(|(_, id)| {
                self.tables
                    .reads_places
                    .get(id.0 as usize)
                    .copied()
                    .unwrap_or(true)
            })
        {
            self.sync_places();
        }
        let program = &*self.program;
        let Some(window) = self
            .nodes
            .get_mut(&*node)
            .and_then(|n| n.reports.get_mut(slot))
        else {
            return;
        };
        self.timers.schedule(
            end.saturating_add(window.every_ms),
            TimerKind::ReportWindow {
                node: node.clone(),
                slot,
            },
        );
        let Some(report) = program.reports.get(window.report) else {
            window.roll();
            return;
        };
        // The text of a report written out before (`Engine::flush` keeps it).
        let mut text = self
            .report_buffers
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(1024));
        text.clear();
        let mut writer = ReportWriter {
            program,
            interner: &self.interner,
            places: &self.places,
            empty_row: &self.empty_row,
            evaluator: &mut *self.evaluator,
            window: &*window,
            messages_by_name: &self.tables.messages_by_name,
            times: &mut self.report_times,
            aggregates: None,
        };
        let mut o = write::Object::new(&mut text);
        write::str(o.key("report"), &report.name);
        write_place(o.key("from"), &node);
        write_place(o.key("to"), hierarchy::ancestor_of(&node, report.to_layer));
        // A declared field named like a key gives it its value (its last one) in place; the
        // report's identity (`report`, `from`, `to`) is not the policy's to change.
        let last_named = |key: &str| report.fields.iter().rev().find(|(name, _)| name == key);
        for key in BASE_KEYS {
            match last_named(key) {
                Some((_, id)) => writer.field(*id, end, o.key(key)),
                None => writer.base(key, end, o.key(key)),
            }
        }
        for (index, (name, _)) in report.fields.iter().enumerate() {
            let name = name.as_str();
            let repeated = report
                .fields
                .get(..index)
                .is_some_and(|before| before.iter().any(|(other, _)| other == name));
            if IDENTITY_KEYS.contains(&name) || BASE_KEYS.contains(&name) || repeated {
                continue;
            }
            if let Some((_, id)) = last_named(name) {
                writer.field(*id, end, o.key(name));
            }
        }
        o.end();
        window.roll();
        self.records.push(Record::Report(Report::from_bytes(text)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_texts_are_the_times_formatted() {
        let mut times = TimeTexts::default();
        for ms in [
            0,
            900_000,
            0,
            900_000,
            1_800_000,
            0,
            i64::MIN,
            1_800_000,
            900_000,
        ] {
            assert_eq!(times.text(ms), format_rfc3339(ms));
        }
    }
}
