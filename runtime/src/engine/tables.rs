//! What the engine derives from a program once, at load: dispatch with interned keys, the
//! windows each layer keeps, where messages from the input enter the hierarchy.

use crate::intern::Interner;
use cbp_ir::expr::{Lit, Node};
use cbp_ir::layout::{MessageKind, envelope};
use cbp_ir::program::{Key, Step};
use cbp_ir::{MessageId, NodeId, Program, Row};
use std::collections::{BTreeSet, HashMap};

/// The rules a message type can trigger.
#[derive(Debug, Default)]
pub(crate) struct TypeDispatch {
    always: Vec<u32>,
    /// (slot, slot bits → rules).
    indexed: Vec<(u32, HashMap<u64, Vec<u32>>)>,
}

impl TypeDispatch {
    /// Rule indexes to test for this row, ascending (program order).
    pub fn candidates(&self, row: &Row) -> Vec<u32> {
        // `always` is sorted and free of repeats; only the indexed hits need merging in.
        let mut rules = self.always.clone();
        let mut merged = false;
        for (slot, cases) in &self.indexed {
            if row.is_present(*slot)
                && let Some(found) = cases.get(&row.get(*slot))
            {
                rules.extend(found.iter().copied());
                merged = true;
            }
        }
        if merged {
            rules.sort_unstable();
            rules.dedup();
        }
        rules
    }
}

/// A rule's layer, its `from` plugin's model id (interned) and its opening `when`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RuleHead {
    pub layer: u8,
    pub source: Option<u64>,
    pub first_when: Option<NodeId>,
}

/// A correlation window a layer keeps for a message type.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WindowSpec {
    pub retention_ms: i64,
    pub cell_m: f64,
}

#[derive(Debug)]
pub(crate) struct Tables {
    pub dispatch: Vec<TypeDispatch>,
    pub windows: HashMap<(u8, MessageId), WindowSpec>,
    /// The layer a message of each type from the input is delivered to: events to the local
    /// node; incidents and directives to the lowest layer with a rule on them.
    pub entry_layer: Vec<u8>,
    /// What dispatch tests of each rule before its steps, packed apart from the rules so
    /// that skipping thousands of them touches little memory.
    pub heads: Vec<RuleHead>,
    /// The `approval_response` type, when the program has it.
    pub approval_response: Option<MessageId>,
}

impl Tables {
    pub fn new(program: &Program, interner: &mut Interner, lateness_ms: i64) -> Self {
        // Every string literal gets its symbol id now, so compiled code can compare ids.
        for node in &program.nodes {
            if let Node::Lit(Lit::Str(text) | Lit::Zone(text)) = node {
                interner.intern(text);
            }
        }
        let dispatch = program
            .messages
            .iter()
            .map(|layout| type_dispatch(program, interner, layout.id))
            .collect();
        let mut windows: HashMap<(u8, MessageId), WindowSpec> = HashMap::new();
        for rule in &program.rules {
            for step in &rule.steps {
                if let Step::Correlate(c) = step {
                    let spec = windows
                        .entry((rule.layer, c.message))
                        .or_insert(WindowSpec {
                            retention_ms: 0,
                            cell_m: f64::INFINITY,
                        });
                    spec.retention_ms = spec
                        .retention_ms
                        .max(c.window_ms.saturating_add(lateness_ms.max(0)));
                    if let Some(radius) = c.radius_m {
                        spec.cell_m = spec.cell_m.min(radius);
                    }
                }
            }
        }
        let entry_layer = program
            .messages
            .iter()
            .map(|layout| match layout.kind {
                MessageKind::Event => 1,
                _ => program
                    .rules
                    .iter()
                    .filter(|r| r.trigger == layout.id)
                    .map(|r| r.layer)
                    .min()
                    .unwrap_or(1),
            })
            .collect();
        let heads = program
            .rules
            .iter()
            .map(|r| RuleHead {
                layer: r.layer,
                source: r.source.as_deref().map(|s| interner.intern(s)),
                first_when: match r.steps.first() {
                    Some(Step::When { cond, .. }) => Some(*cond),
                    _ => None,
                },
            })
            .collect();
        let approval_response = program.message_by_name("approval_response").map(|m| m.id);
        Tables {
            dispatch,
            windows,
            entry_layer,
            heads,
            approval_response,
        }
    }
}

fn type_dispatch(program: &Program, interner: &mut Interner, message: MessageId) -> TypeDispatch {
    let triggered = |i: &u32| {
        program
            .rules
            .get(*i as usize)
            .is_some_and(|r| r.trigger == message)
    };
    match program.dispatch.by_message.get(message.0 as usize) {
        Some(given) => TypeDispatch {
            always: given
                .always
                .iter()
                .copied()
                .filter(triggered)
                .collect::<BTreeSet<u32>>()
                .into_iter()
                .collect(),
            indexed: given
                .indexed
                .iter()
                .map(|d| {
                    let cases = d
                        .cases
                        .iter()
                        .map(|(key, rules)| {
                            let bits = match key {
                                Key::Int(i) => *i as u64,
                                Key::Str(text) => interner.intern(text),
                            };
                            (bits, rules.iter().copied().filter(triggered).collect())
                        })
                        .collect();
                    (d.slot, cases)
                })
                .collect(),
        },
        // A program without dispatch (made by hand): every rule on the type, always.
        None => TypeDispatch {
            always: (0..program.rules.len() as u32).filter(triggered).collect(),
            indexed: Vec::new(),
        },
    }
}

/// The envelope event time of a row.
pub(crate) fn event_time(row: &Row) -> i64 {
    row.int(envelope::TIMESTAMP)
}
