//! The engine: runs a program over a stream of messages and writes output records.
//!
//! One engine holds the whole hierarchy the input reaches (`docs/execution.md`): a node per
//! zone prefix, created when a message first reaches it. For each input line it decodes the
//! line, refuses it (a dead letter) or moves the clock to its event time — firing the timers
//! due by then — and delivers it to its node. Deliveries run the node's rules; a rule that
//! fires makes a decision, whose escalations and commands are further deliveries, queued and
//! run in order before the next line.

mod approvals;
pub mod hierarchy;
mod node;
mod reports;
mod rules;
mod tables;
mod timers;

use crate::decode::Decoder;
use crate::eval::Evaluator;
use crate::geo::Point;
use crate::intern::Interner;
use crate::record::Record;
use crate::time::{format_duration_readable, format_rfc3339};
use cbp_ir::layout::envelope;
use cbp_ir::{MessageId, Program, Row};
use node::{DECISION_MEMORY_MS, NodeState, ReportWindow};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use tables::{Tables, event_time};
use timers::{TimerKind, Timers};

/// How a run treats time, and which layers of the hierarchy it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunOptions {
    /// At the end of the input, move the clock to this time (Unix ms) first.
    pub until: Option<i64>,
    /// How far behind the clock a message may be and still be processed.
    pub lateness_ms: i64,
    /// The lowest and highest layer whose nodes run (1 and 5: the whole hierarchy). A
    /// delivery to a node outside them runs no rule, fills no window and counts in no
    /// report, and such a node keeps no report: another process runs that layer (a
    /// `cbp-node` with a parent or children), and the escalation or command that sent the
    /// message is what that process receives.
    pub lowest_layer: u8,
    pub highest_layer: u8,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            until: None,
            lateness_ms: 0,
            lowest_layer: 1,
            highest_layer: 5,
        }
    }
}

impl RunOptions {
    /// Whether nodes of `layer` run here.
    pub fn runs_layer(&self, layer: u8) -> bool {
        (self.lowest_layer..=self.highest_layer).contains(&layer)
    }
}

/// What became of one input line: every line ends as exactly one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineOutcome {
    Processed,
    DeadLettered,
}

/// Counts of what a run did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    pub lines: u64,
    /// Lines processed (not dead-lettered).
    pub events: u64,
    pub dead_letters: u64,
    /// Rule name → decisions made.
    pub decisions: BTreeMap<String, u64>,
    pub approvals: u64,
    pub escalations: u64,
    pub commands: u64,
    pub actions: u64,
    pub reports: u64,
}

impl Summary {
    fn count(&mut self, record: &Record) {
        match record {
            Record::Decision(d) => match self.decisions.get_mut(&d.rule) {
                Some(count) => *count += 1,
                None => {
                    self.decisions.insert(d.rule.clone(), 1);
                }
            },
            Record::Approval(_) => self.approvals += 1,
            Record::Escalation(_) => self.escalations += 1,
            Record::Command(_) => self.commands += 1,
            Record::Action(_) => self.actions += 1,
            Record::Report(_) => self.reports += 1,
            Record::DeadLetter(_) => self.dead_letters += 1,
        }
    }

    /// A few human lines (for standard error).
    pub fn render(&self) -> String {
        let decisions: u64 = self.decisions.values().sum();
        let mut text = format!(
            "{} lines: {} processed, {} dead-lettered\n{} decisions, {} approvals, {} escalations, {} commands, {} actions, {} reports\n",
            self.lines,
            self.events,
            self.dead_letters,
            decisions,
            self.approvals,
            self.escalations,
            self.commands,
            self.actions,
            self.reports
        );
        for (rule, n) in &self.decisions {
            text.push_str(&format!("  {rule}: {n}\n"));
        }
        text
    }
}

/// A message on its way to a node.
#[derive(Debug)]
struct Delivery {
    /// The node's name, shared with the engine's map of nodes (not copied per message).
    node: Arc<str>,
    row: Arc<Row>,
    /// How many escalations and commands led to it; bounded, so a policy that commands
    /// in a circle cannot run forever.
    depth: u32,
}

/// The most escalations and commands one input line may cause, in a chain.
const MAX_DEPTH: u32 = 32;

pub struct Engine {
    program: Arc<Program>,
    evaluator: Box<dyn Evaluator>,
    options: RunOptions,
    decoder: Decoder,
    interner: Interner,
    tables: Tables,
    /// By name (a hash map: looked up several times a delivery; the one walk in name order,
    /// a command's children, sorts).
    nodes: HashMap<Arc<str>, NodeState, foldhash::fast::RandomState>,
    /// Last-seen location of every local node (for `route`), as of the last
    /// [`Engine::sync_places`]: only an expression that may call `route` needs them.
    places: BTreeMap<Arc<str>, Point>,
    /// Locations given since, in order.
    pending_places: Vec<(PlaceKey, Point)>,
    clock: Option<i64>,
    /// With [`Engine::hold_timers`], how far the caller's watermark lets timers fire
    /// (`i64::MIN` before the first); `None`: timers follow the clock, as in `cbpc run`.
    timers_held_at: Option<i64>,
    /// While timers are held, the event time the engine acts at (the input's, or a
    /// timer's due time) instead of the clock: a slow source's decision is made at its own
    /// time, not at the fast source's.
    held_now: Option<i64>,
    arrivals: u64,
    timers: Timers,
    approvals: approvals::Approvals,
    queue: VecDeque<Delivery>,
    records: Vec<Record>,
    summary: Summary,
    /// The input line being processed (for dead letters made while processing it).
    line: u64,
    line_text: String,
    /// The trigger row of report fields, which see no message.
    empty_row: Arc<Row>,
    /// The streaming decoders' arena, reused from one input to the next.
    scratch: bumpalo::Bump,
    /// The node the input being processed is delivered at, when the caller named it
    /// ([`Engine::push_at`]) instead of its zone and type choosing it.
    at_node: Option<String>,
    /// Nodes another process runs, named by the caller ([`Engine::add_remote_node`]).
    remote_nodes: std::collections::BTreeSet<String>,
    /// Zone texts by symbol id (up to [`MAX_ZONES`]). Holding a text keeps the interner
    /// from giving its id to another text (it only frees ids nobody holds).
    zones: HashMap<u64, Zone, foldhash::fast::RandomState>,
    /// The window times of the last reports, as text.
    report_times: reports::TimeTexts,
    /// Buffers of reports written out, for the next reports' text.
    report_buffers: Vec<Vec<u8>>,
    /// Rule candidates of the delivery being run (kept to save an allocation a delivery).
    candidates: Vec<u32>,
    /// The records a decision's actions make, kept empty from one decision to the next.
    effects: Vec<Record>,
}

/// Whose location a message gave: its zone (in the table of zones), or its local node's
/// name (a zone met once the table is full).
#[derive(Debug)]
enum PlaceKey {
    Zone(u64),
    Local(Arc<str>),
}

/// Locations kept before they are put in the places at most.
const MAX_PENDING_PLACES: usize = 4096;

/// A zone's text, the length of its local node's name (a prefix of it), and that name as
/// the map of nodes holds it once the node exists (nodes are never removed).
struct Zone {
    text: Arc<str>,
    local: usize,
    node: Option<Arc<str>>,
}

impl Zone {
    fn new(text: Arc<str>) -> Zone {
        let local = hierarchy::ancestor_of(&text, 1).len();
        Zone {
            text,
            local,
            node: None,
        }
    }
}

/// Zone texts the engine keeps at most (zones name nodes: a few thousand in a large city).
const MAX_ZONES: usize = 16_384;

/// Report buffers kept for reuse at most.
const MAX_REPORT_BUFFERS: usize = 64;

impl Engine {
    pub fn new(
        program: Arc<Program>,
        evaluator: Box<dyn Evaluator>,
        options: RunOptions,
    ) -> Engine {
        let mut interner = Interner::new();
        let tables = Tables::new(&program, &mut interner, options.lateness_ms);
        Engine {
            decoder: Decoder::new(program.clone()),
            program,
            evaluator,
            options,
            interner,
            tables,
            nodes: HashMap::default(),
            places: BTreeMap::new(),
            pending_places: Vec::new(),
            clock: None,
            timers_held_at: None,
            held_now: None,
            arrivals: 0,
            timers: Timers::default(),
            approvals: approvals::Approvals::default(),
            queue: VecDeque::new(),
            records: Vec::new(),
            summary: Summary::default(),
            line: 0,
            line_text: String::new(),
            empty_row: Arc::new(Row::new(MessageId(u32::MAX), 0, 0)),
            scratch: bumpalo::Bump::new(),
            at_node: None,
            remote_nodes: Default::default(),
            zones: HashMap::default(),
            report_times: Default::default(),
            report_buffers: Vec::new(),
            candidates: Vec::new(),
            effects: Vec::new(),
        }
    }

    pub fn program(&self) -> &Arc<Program> {
        &self.program
    }

    pub fn evaluator_name(&self) -> &str {
        self.evaluator.name()
    }

    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// The largest event time seen (or moved to).
    pub fn clock(&self) -> Option<i64> {
        self.clock
    }

    /// Holds timers back for a caller that keeps event-time watermarks (a node with several
    /// sources): from now on an input fires only the timers due by the watermark, and
    /// [`Engine::advance_to`] moves the watermark; the clock still follows the largest event
    /// time. An input acts at its own event time (not before the watermark), so a slow
    /// source's decision and its deadline count from its time, not the fast source's. A
    /// message is late when it is more than the lateness behind the watermark (the caller
    /// checks each source against its own). Without it, nothing changes (`cbpc run`).
    pub fn hold_timers(&mut self) {
        self.timers_held_at.get_or_insert(i64::MIN);
    }

    /// The event time timers have been let run to, while held ([`Engine::hold_timers`]).
    pub fn timers_held_at(&self) -> Option<i64> {
        self.timers_held_at.filter(|&t| t != i64::MIN)
    }

    /// Processes one input line (`line_no` is 1-based, for dead letters).
    pub fn push_line(
        &mut self,
        line_no: u64,
        line: &str,
        out: &mut dyn FnMut(&Record),
    ) -> LineOutcome {
        let decoded = self
            .decoder
            .decode_line_in(&mut self.interner, line, &mut self.scratch);
        self.accept(line_no, line, decoded, out)
    }

    /// Names a node another process runs (a `cbp-node`'s configured child): a
    /// `command … to children` of its parent reaches it, as it reaches the children a message
    /// has reached. Nothing else changes: no node is made, no report window opened.
    pub fn add_remote_node(&mut self, name: &str) {
        self.remote_nodes.insert(name.to_string());
    }

    /// Processes one message (a JSON line) delivered at the node `node` rather than at the
    /// node its zone and type choose: an escalated incident or a command another process's
    /// engine sent (the `message` of its `escalation` or `command` record, addressed to
    /// `node`). It runs as that engine would have run the delivery, in a chain of its own.
    pub fn push_at(
        &mut self,
        line_no: u64,
        node: &str,
        line: &str,
        out: &mut dyn FnMut(&Record),
    ) -> LineOutcome {
        self.at_node = Some(node.to_string());
        let outcome = self.push_line(line_no, line, out);
        self.at_node = None;
        outcome
    }

    /// Processes one message given as a JSON object (the test runner's `send`); `raw` is the
    /// text a dead letter repeats.
    pub fn push_object(
        &mut self,
        line_no: u64,
        object: &serde_json::Map<String, serde_json::Value>,
        raw: &str,
        out: &mut dyn FnMut(&Record),
    ) -> LineOutcome {
        let decoded = self.decoder.decode_object(&mut self.interner, object);
        self.accept(line_no, raw, decoded, out)
    }

    /// Processes one protobuf event decoded straight into a row; `None` when the direct
    /// decoder refuses it (the caller then pushes its JSON form, for the exact dead letter).
    /// Dead letters made while processing it repeat `raw` (the caller rewrites them with
    /// the event's JSON text, which is only built then).
    pub fn push_event(
        &mut self,
        line_no: u64,
        event: &crate::proto::Event,
        raw: &str,
        out: &mut dyn FnMut(&Record),
    ) -> Option<LineOutcome> {
        let row = self.decoder.decode_event(&mut self.interner, event)?;
        Some(self.accept(line_no, raw, Ok(row), out))
    }

    /// Processes one protobuf `cbp.v1.Event` read straight from its wire bytes into a row;
    /// `None` when that reader refuses them (the caller then decodes them with prost, as
    /// `proto::push_message` does). Dead letters made while processing it repeat `raw`.
    pub fn push_wire(
        &mut self,
        line_no: u64,
        bytes: &[u8],
        raw: &str,
        out: &mut dyn FnMut(&Record),
    ) -> Option<LineOutcome> {
        let row = self
            .decoder
            .decode_wire_in(&mut self.interner, bytes, &mut self.scratch)?;
        Some(self.accept(line_no, raw, Ok(row), out))
    }

    /// Refuses a line the caller could not even read as text (not UTF-8).
    pub fn push_unreadable(
        &mut self,
        line_no: u64,
        raw: &str,
        error: String,
        out: &mut dyn FnMut(&Record),
    ) -> LineOutcome {
        self.accept(line_no, raw, Err(error), out)
    }

    /// Moves the clock forward to `time`, firing the timers and reports due by then.
    pub fn advance_to(&mut self, time: i64, out: &mut dyn FnMut(&Record)) {
        if let Some(held) = &mut self.timers_held_at {
            *held = (*held).max(time);
        }
        self.fire_due(time);
        if self.clock.is_none_or(|c| c < time) {
            self.clock = Some(time);
        }
        self.flush(out);
    }

    /// The end of the input: timers due by the last event time have fired already; with
    /// `until`, the clock moves on to it.
    pub fn finish(&mut self, out: &mut dyn FnMut(&Record)) {
        if let Some(until) = self.options.until {
            self.advance_to(until, out);
        }
        self.flush(out);
    }

    /// Creates the local node of `zone` and its ancestors at `time` (the test runner opens its
    /// default node when a test starts, so a quiet node still reports).
    pub fn open_zone(&mut self, zone: &str, time: i64) {
        if self.clock.is_none_or(|c| c < time) {
            self.clock = Some(time);
        }
        self.ensure_node_and_ancestors(&hierarchy::ancestor(zone, 1), time);
    }

    /// A message reaching a node makes it exist, and the nodes above it.
    fn ensure_node_and_ancestors(&mut self, name: &str, time: i64) {
        // Nodes are only made here, a node with all its ancestors: an existing one has them.
        if self.nodes.contains_key(name) {
            return;
        }
        for layer in hierarchy::layer_of(name)..=5 {
            self.ensure_node(hierarchy::ancestor_of(name, layer), layer, time);
        }
    }

    fn accept(
        &mut self,
        line_no: u64,
        raw: &str,
        decoded: Result<Row, String>,
        out: &mut dyn FnMut(&Record),
    ) -> LineOutcome {
        self.summary.lines += 1;
        self.line = line_no;
        self.line_text.clear();
        self.line_text.push_str(crate::record::truncate(
            raw,
            crate::record::DEAD_LETTER_INPUT_BYTES,
        ));
        let processed = decoded.and_then(|row| self.process_input(row));
        self.held_now = None;
        let outcome = match processed {
            Ok(()) => {
                self.summary.events += 1;
                LineOutcome::Processed
            }
            Err(error) => {
                self.records.push(Record::dead_letter(line_no, error, raw));
                LineOutcome::DeadLettered
            }
        };
        self.flush(out);
        outcome
    }

    fn process_input(&mut self, row: Row) -> Result<(), String> {
        let time = event_time(&row);
        // While timers are held, lateness and timers follow the caller's watermark.
        let (reference, what, fire_to) = match self.timers_held_at {
            None => (self.clock, "clock", time),
            Some(held) => (self.timers_held_at(), "watermark", time.min(held)),
        };
        // A message another engine sent is not late: it was made at that engine's clock,
        // which this one's may have passed (its other children ran ahead).
        if let Some(clock) = reference.filter(|_| self.at_node.is_none()) {
            let earliest = clock.saturating_sub(self.options.lateness_ms.max(0));
            if time < earliest {
                return Err(format!(
                    "late: event time {} is before the {what} {} less the allowed lateness {}",
                    format_rfc3339(time),
                    format_rfc3339(clock),
                    format_duration_readable(self.options.lateness_ms.max(0))
                ));
            }
        }
        self.fire_due(fire_to);
        if self.clock.is_none_or(|c| c < time) {
            self.clock = Some(time);
        }
        if let Some(held) = self.timers_held_at {
            // Not before the timers already fired.
            self.held_now = Some(time.max(held));
        }
        if Some(row.message) == self.tables.approval_response {
            self.answer_approval(&row)?;
        }
        let layer = self
            .tables
            .entry_layer
            .get(row.message.0 as usize)
            .copied()
            .unwrap_or(1);
        // The zone's text, from the engine's own table while it has room (no reference
        // count to touch a message).
        let zone_id = row.get(envelope::ZONE);
        // Whether the zone is (or is now put) in the table.
        let cached = self.zones.len() < MAX_ZONES || self.zones.contains_key(&zone_id);
        let mut resolved: Zone;
        let Zone {
            text: zone,
            local,
            node: local_node,
        } = if self.zones.len() < MAX_ZONES {
            self.zones
                .entry(zone_id)
                .or_insert_with(|| Zone::new(self.interner.resolve(zone_id)))
        } else if let Some(known) = self.zones.get_mut(&zone_id) {
            known
        } else {
            resolved = Zone::new(self.interner.resolve(zone_id));
            &mut resolved
        };
        let zone: &str = zone;
        let local = zone.get(..*local).unwrap_or(zone);
        if row.is_present(envelope::LATITUDE) && row.is_present(envelope::LONGITUDE) {
            let at = Point {
                lat: row.float(envelope::LATITUDE),
                lon: row.float(envelope::LONGITUDE),
            };
            // A command delivered at a neighbourhood carries that neighbourhood's zone but the
            // commanding rule's trigger location: not where the neighbourhood is.
            if self.at_node.as_deref() != Some(local) {
                // Put in the places when an expression may read them (`sync_places`).
                let key = if cached {
                    PlaceKey::Zone(zone_id)
                } else {
                    PlaceKey::Local(Arc::from(local))
                };
                self.pending_places.push((key, at));
            }
        }
        // The usual case: the zone's local node exists (and so every node above it), and the
        // message goes where its zone and type say.
        let known = if self.at_node.is_some() {
            None
        } else if layer == 1 {
            if local_node.is_none() {
                *local_node = self
                    .nodes
                    .get_key_value(local)
                    .map(|(name, _)| name.clone());
            }
            local_node.clone()
        } else if self.nodes.contains_key(local) {
            let target = hierarchy::ancestor_of(zone, layer);
            self.nodes
                .get_key_value(target)
                .map(|(name, _)| name.clone())
        } else {
            None
        };
        let node = match known {
            Some(node) => node,
            None => {
                let target = hierarchy::ancestor_of(zone, layer).to_owned();
                let local = local.to_owned();
                // The zone's local node and every node above it exist from now on, whichever
                // layer the message is for; unless it was delivered at a node of another
                // subtree (a command carries its trigger's zone), whose nodes another process
                // runs.
                let at = self.at_node.as_deref();
                if at.is_none_or(|at| hierarchy::ancestor_of(&local, hierarchy::layer_of(at)) == at)
                {
                    self.ensure_node_and_ancestors(&local, time);
                }
                match self.at_node.take() {
                    Some(node) => Arc::from(node),
                    None => self.node_name(&target),
                }
            }
        };
        if self.pending_places.len() >= MAX_PENDING_PLACES {
            self.sync_places();
        }
        self.queue.push_back(Delivery {
            node,
            row: Arc::new(row),
            depth: 0,
        });
        self.drain_queue();
        Ok(())
    }

    /// Puts the locations of the messages since the last call in the places (each local
    /// node's latest only: what putting each in as it came would leave).
    fn sync_places(&mut self) {
        let mut pending = std::mem::take(&mut self.pending_places);
        // Zones seen (a cheap check first: most entries repeat a zone), then local nodes
        // (several zones may share one).
        let mut zones_done: HashSet<u64, foldhash::fast::RandomState> = HashSet::default();
        let mut done: HashSet<&str, foldhash::fast::RandomState> = HashSet::default();
        for (key, at) in pending.iter().rev() {
            let local = match key {
                PlaceKey::Zone(id) => {
                    if !zones_done.insert(*id) {
                        continue;
                    }
                    match self.zones.get(id) {
                        Some(zone) => zone.text.get(..zone.local).unwrap_or(&zone.text),
                        None => continue,
                    }
                }
                PlaceKey::Local(local) => local,
            };
            if !done.insert(local) {
                continue;
            }
            match self.places.get_mut(local) {
                Some(place) => *place = *at,
                None => {
                    self.places.insert(Arc::from(local), *at);
                }
            }
        }
        drop(done);
        pending.clear();
        self.pending_places = pending;
    }

    /// [`Engine::sync_places`] when evaluating `node` may read the places.
    pub(crate) fn places_for(&mut self, node: cbp_ir::NodeId) {
        if !self.pending_places.is_empty()
            && self
                .tables
                .reads_places
                .get(node.0 as usize)
                .copied()
                .unwrap_or(true)
        {
            self.sync_places();
        }
    }

    fn now(&self) -> i64 {
        self.held_now.or(self.clock).unwrap_or(0)
    }

    /// Fires every timer due at or before `time`, in (due, creation) order; each runs with
    /// the clock at its due time.
    fn fire_due(&mut self, time: i64) {
        while let Some((due, kind)) = self.timers.pop_due(time) {
            if self.clock.is_none_or(|c| c < due) {
                self.clock = Some(due);
            }
            let acting = self.held_now;
            if self.timers_held_at.is_some() {
                self.held_now = Some(due);
            }
            match kind {
                TimerKind::ApprovalDeadline(id) => self.approval_deadline(&id, due),
                TimerKind::NoResponse(id) => self.no_response(&id, due),
                TimerKind::ReportWindow { node, slot } => self.close_report_window(node, slot, due),
            }
            self.drain_queue();
            self.held_now = acting;
        }
    }

    /// The node `name` of `layer`, created (with its report windows) when new.
    fn ensure_node(&mut self, name: &str, layer: u8, time: i64) {
        if self.nodes.contains_key(name) {
            return;
        }
        let mut state = NodeState::new(name.to_string(), layer);
        // The map's key, shared with the node's report timers.
        let key: Arc<str> = Arc::from(name);
        for (index, report) in self.program.reports.iter().enumerate() {
            if report.layer != layer || report.every_ms <= 0 || !self.options.runs_layer(layer) {
                continue;
            }
            let start = time
                .div_euclid(report.every_ms)
                .saturating_mul(report.every_ms);
            let slot = state.reports.len();
            let keeps_latest = self
                .tables
                .report_latest
                .get(index)
                .cloned()
                .unwrap_or_default();
            state.reports.push(ReportWindow::new(
                index,
                start,
                report.every_ms,
                keeps_latest,
            ));
            self.timers.schedule(
                start.saturating_add(report.every_ms),
                TimerKind::ReportWindow {
                    node: key.clone(),
                    slot,
                },
            );
        }
        self.nodes.insert(key, state);
    }

    /// The name `name` as the map of nodes holds it (a copy only for a node not made yet).
    fn node_name(&self, name: &str) -> Arc<str> {
        match self.nodes.get_key_value(name) {
            Some((held, _)) => held.clone(),
            None => Arc::from(name),
        }
    }

    fn drain_queue(&mut self) {
        while let Some(delivery) = self.queue.pop_front() {
            self.deliver(delivery);
        }
    }

    fn deliver(&mut self, delivery: Delivery) {
        let Delivery { node, row, depth } = delivery;
        let now = self.now();
        // A node exists with its ancestors (and knows its layer), or is made here.
        let layer = match self.nodes.get(&node) {
            Some(state) => state.layer,
            None => {
                self.ensure_node_and_ancestors(&node, now);
                hierarchy::layer_of(&node)
            }
        };
        if !self.options.runs_layer(layer) {
            // Another process runs this node: the record that sent the message is its input.
            return;
        }
        if let Some(state) = self.nodes.get_mut(&node) {
            for window in &mut state.reports {
                window.count_message(row.message, &row);
            }
            state.forget_decisions_before(
                now.saturating_sub(
                    self.options
                        .lateness_ms
                        .max(0)
                        .saturating_add(DECISION_MEMORY_MS),
                ),
            );
        }
        self.run_rules(&node, layer, &row, depth);
        self.remember_in_window(&node, layer, row);
    }

    /// Keeps the message in the node's window when a rule of its layer correlates on its type.
    fn remember_in_window(&mut self, node: &str, layer: u8, row: Arc<Row>) {
        let Some(spec) = self.tables.windows.get(&(layer, row.message)).copied() else {
            return;
        };
        let now = self.now();
        self.arrivals += 1;
        let seq = self.arrivals;
        let point = (row.is_present(envelope::LATITUDE) && row.is_present(envelope::LONGITUDE))
            .then(|| Point {
                lat: row.float(envelope::LATITUDE),
                lon: row.float(envelope::LONGITUDE),
            });
        if let Some(state) = self.nodes.get_mut(node) {
            let store = state
                .windows
                .entry(row.message)
                .or_insert_with(|| crate::window::WindowStore::new(spec.retention_ms, spec.cell_m));
            // While timers are held a message may be as old as the watermark less the
            // lateness: the window keeps what such a message may correlate with.
            store.expire(self.timers_held_at.map_or(now, |held| held.min(now)));
            let time = event_time(&row);
            // A redelivered message (same id, same source, same time) is kept once.
            let same = |other: &Row| {
                other.get(envelope::EVENT_ID) == row.get(envelope::EVENT_ID)
                    && other.get(envelope::MODEL_ID) == row.get(envelope::MODEL_ID)
            };
            if !store.any_at(time, same) {
                store.insert(time, seq, row, point);
            }
        }
    }

    fn flush(&mut self, out: &mut dyn FnMut(&Record)) {
        for record in self.records.drain(..) {
            self.summary.count(&record);
            out(&record);
            // A report's text buffer is the next report's (the reports of a window close
            // together, each ~500 bytes).
            if let Record::Report(report) = record
                && self.report_buffers.len() < MAX_REPORT_BUFFERS
            {
                self.report_buffers.push(report.into_bytes());
            }
        }
    }
}
