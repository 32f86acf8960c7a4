//! The state of one node of the hierarchy: its windows, the decisions it made, its report
//! windows.

use crate::eval::Aggregates;
use crate::window::WindowStore;
use cbp_ir::{MessageId, Row};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// How long a node remembers a decision id beyond the allowed lateness: a message
/// redelivered later than the lateness is refused as late before it reaches a rule anyway.
pub(crate) const DECISION_MEMORY_MS: i64 = 86_400_000;

#[derive(Debug)]
pub(crate) struct NodeState {
    pub name: String,
    pub layer: u8,
    pub windows: HashMap<MessageId, WindowStore>,
    decisions: HashSet<String>,
    decision_log: VecDeque<(i64, String)>,
    /// One per report of the node's layer.
    pub reports: Vec<ReportWindow>,
}

/// The open window of one report at one node.
#[derive(Debug)]
pub(crate) struct ReportWindow {
    /// Index into `Program::reports`.
    pub report: usize,
    pub start: i64,
    pub every_ms: i64,
    pub aggregates: Aggregates,
    latency_sum: f64,
    latency_count: u64,
}

impl ReportWindow {
    pub fn new(report: usize, start: i64, every_ms: i64) -> Self {
        ReportWindow {
            report,
            start,
            every_ms,
            aggregates: Aggregates::default(),
            latency_sum: 0.0,
            latency_count: 0,
        }
    }

    pub fn count_message(&mut self, type_name: &str, message: MessageId, row: &Arc<Row>) {
        self.aggregates.total_events += 1;
        // Counted without a copy of the name once the type has been seen.
        match self.aggregates.event_breakdown.get_mut(type_name) {
            Some(count) => *count += 1,
            None => {
                self.aggregates
                    .event_breakdown
                    .insert(type_name.to_string(), 1);
            }
        }
        self.aggregates.latest.insert(message, row.clone());
    }

    pub fn count_decision(&mut self, latency_ms: i64) {
        self.latency_sum += latency_ms as f64;
        self.latency_count += 1;
        self.aggregates.avg_latency_ms = Some(self.latency_sum / self.latency_count as f64);
    }

    /// Closes the window: its aggregates, and a fresh window from its end.
    pub fn roll(&mut self) -> Aggregates {
        self.start = self.start.saturating_add(self.every_ms);
        self.latency_sum = 0.0;
        self.latency_count = 0;
        std::mem::take(&mut self.aggregates)
    }
}

impl NodeState {
    pub fn new(name: String, layer: u8) -> Self {
        NodeState {
            name,
            layer,
            windows: HashMap::new(),
            decisions: HashSet::new(),
            decision_log: VecDeque::new(),
            reports: Vec::new(),
        }
    }

    pub fn has_decided(&self, decision_id: &str) -> bool {
        self.decisions.contains(decision_id)
    }

    pub fn remember_decision(&mut self, decision_id: &str, time: i64) {
        if self.decisions.insert(decision_id.to_string()) {
            self.decision_log.push_back((time, decision_id.to_string()));
        }
    }

    /// Forgets decision ids made before `cutoff`.
    pub fn forget_decisions_before(&mut self, cutoff: i64) {
        while let Some((time, _)) = self.decision_log.front() {
            if *time >= cutoff {
                break;
            }
            if let Some((_, id)) = self.decision_log.pop_front() {
                self.decisions.remove(&id);
            }
        }
    }
}
