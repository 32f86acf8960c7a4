//! The state of one node of the hierarchy: its windows, the decisions it made, its report
//! windows.

use crate::eval::Aggregates;
use crate::window::WindowStore;
use cbp_ir::{MessageId, Program, Row};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// How long a node remembers a decision id beyond the allowed lateness: a message
/// redelivered later than the lateness is refused as late before it reaches a rule anyway.
pub(crate) const DECISION_MEMORY_MS: i64 = 86_400_000;

#[derive(Debug)]
pub(crate) struct NodeState {
    pub name: String,
    pub layer: u8,
    pub windows: HashMap<MessageId, WindowStore, foldhash::fast::RandomState>,
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
    /// The total, the escalated incidents and the mean latency; the counts and latest
    /// messages are kept by message id below (an index instead of a search by name each
    /// message), and only put in when an evaluator needs them ([`ReportWindow::aggregates`]).
    pub aggregates: Aggregates,
    /// By message id: how many of the type the window saw.
    pub counts: Vec<i64>,
    /// By message id: the latest message of the type, kept only for the types whose
    /// `latest(t)` the report reads (`keeps_latest`): a message of another type costs no
    /// reference count.
    pub latest: Vec<Option<Arc<Row>>>,
    keeps_latest: Arc<[bool]>,
    latency_sum: f64,
    latency_count: u64,
}

impl ReportWindow {
    /// `keeps_latest`: by message id, whether the report reads `latest` of the type.
    pub fn new(report: usize, start: i64, every_ms: i64, keeps_latest: Arc<[bool]>) -> Self {
        ReportWindow {
            report,
            start,
            every_ms,
            aggregates: Aggregates::default(),
            counts: Vec::new(),
            latest: Vec::new(),
            keeps_latest,
            latency_sum: 0.0,
            latency_count: 0,
        }
    }

    pub fn count_message(&mut self, message: MessageId, row: &Arc<Row>) {
        self.aggregates.total_events += 1;
        let index = message.0 as usize;
        if self.counts.len() <= index {
            self.counts.resize(index + 1, 0);
        }
        if let Some(count) = self.counts.get_mut(index) {
            *count += 1;
        }
        if self.keeps_latest.get(index).copied().unwrap_or(false) {
            if self.latest.len() <= index {
                self.latest.resize(index + 1, None);
            }
            if let Some(latest) = self.latest.get_mut(index) {
                *latest = Some(row.clone());
            }
        }
    }

    pub fn count_decision(&mut self, latency_ms: i64) {
        self.latency_sum += latency_ms as f64;
        self.latency_count += 1;
        self.aggregates.avg_latency_ms = Some(self.latency_sum / self.latency_count as f64);
    }

    /// The window's aggregates as the evaluators see them (counts by type name).
    pub fn aggregates(&self, program: &Program) -> Aggregates {
        let mut aggregates = Aggregates {
            total_events: self.aggregates.total_events,
            escalated_incidents: self.aggregates.escalated_incidents.clone(),
            avg_latency_ms: self.aggregates.avg_latency_ms,
            ..Aggregates::default()
        };
        for (index, count) in self.counts.iter().enumerate() {
            if *count == 0 {
                continue;
            }
            let message = MessageId(index as u32);
            let name = program
                .message(message)
                .map(|m| m.name.as_str())
                .unwrap_or_default();
            match aggregates.event_breakdown.get_mut(name) {
                Some(total) => *total += *count,
                None => {
                    aggregates.event_breakdown.insert(name.to_string(), *count);
                }
            }
        }
        for (index, latest) in self.latest.iter().enumerate() {
            if let Some(row) = latest {
                aggregates
                    .latest
                    .insert(MessageId(index as u32), row.clone());
            }
        }
        aggregates
    }

    /// Closes the window (after its report was written): a fresh window from its end.
    pub fn roll(&mut self) {
        self.start = self.start.saturating_add(self.every_ms);
        self.latency_sum = 0.0;
        self.latency_count = 0;
        self.aggregates.total_events = 0;
        self.aggregates.escalated_incidents.clear();
        self.aggregates.avg_latency_ms = None;
        self.counts.fill(0);
        self.latest.fill(None);
    }
}

impl NodeState {
    pub fn new(name: String, layer: u8) -> Self {
        NodeState {
            name,
            layer,
            windows: HashMap::default(),
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
