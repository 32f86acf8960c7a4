//! What the engine derives from a program once, at load: dispatch with interned keys, the
//! windows each layer keeps, where messages from the input enter the hierarchy.

use crate::intern::Interner;
use cbp_ir::expr::{Aggregate, Builtin, CmpOp, Lit, Node};
use cbp_ir::layout::{MessageKind, envelope};
use cbp_ir::program::{Key, RangeIndex, Step};
use cbp_ir::{MessageId, NodeId, Program, Row, Scalar};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// Tables looked up for every message hash with foldhash, several times faster than SipHash
/// on small keys.
type FastHash = foldhash::fast::RandomState;

/// An equality index on one slot: value bits → the rules filed under it.
type Cases = HashMap<u64, Vec<u32>, FastHash>;

/// The rules a message type can trigger.
#[derive(Debug, Default)]
pub(crate) struct TypeDispatch {
    always: Vec<u32>,
    /// (slot, slot bits → rules).
    indexed: Vec<(u32, Cases)>,
    /// Rules indexed by a comparison of one slot with a constant.
    ranges: Vec<RangeTable>,
}

impl TypeDispatch {
    /// Rule indexes to test for this row, ascending (program order).
    #[cfg(test)]
    pub fn candidates(&self, row: &Row) -> Vec<u32> {
        let mut rules = Vec::new();
        self.candidates_into(row, &mut rules);
        rules
    }

    /// [`TypeDispatch::candidates`] into `rules` (cleared first; a buffer kept from one
    /// message to the next saves an allocation a delivery).
    pub fn candidates_into(&self, row: &Row, rules: &mut Vec<u32>) {
        // `always` is sorted and free of repeats; only the indexed hits need merging in.
        rules.clear();
        rules.extend_from_slice(&self.always);
        for (slot, cases) in &self.indexed {
            if row.is_present(*slot)
                && let Some(found) = cases.get(&row.get(*slot))
            {
                rules.extend(found.iter().copied());
            }
        }
        for table in &self.ranges {
            table.holding(row, rules);
        }
        if rules.len() > self.always.len() {
            if rules.len() > MERGE_BY_SORTING {
                *rules = in_order(rules);
            } else {
                rules.sort_unstable();
                rules.dedup();
            }
        }
    }
}

/// Up to this many candidates are put in order by sorting; more (a range that holds for
/// thousands of rules) by a bitmap over rule indexes, linear in the rules.
const MERGE_BY_SORTING: usize = 256;

/// `rules` ascending and without repeats.
fn in_order(rules: &[u32]) -> Vec<u32> {
    let top = rules.iter().copied().max().unwrap_or(0) as usize;
    let mut bits = vec![0u64; top / 64 + 1];
    for &rule in rules {
        if let Some(word) = bits.get_mut(rule as usize / 64) {
            *word |= 1 << (rule % 64);
        }
    }
    let mut out = Vec::with_capacity(rules.len());
    for (index, mut word) in bits.into_iter().enumerate() {
        while word != 0 {
            out.push(index as u32 * 64 + word.trailing_zeros());
            word &= word - 1;
        }
    }
    out
}

/// The rules of one range index: for each operator, `(constant, rule)` sorted by constant,
/// so the rules whose `value op constant` holds are one slice, found by binary search.
#[derive(Debug)]
struct Sorted<T> {
    lt: Vec<(T, u32)>,
    le: Vec<(T, u32)>,
    eq: Vec<(T, u32)>,
    ge: Vec<(T, u32)>,
    gt: Vec<(T, u32)>,
}

impl<T> Default for Sorted<T> {
    fn default() -> Self {
        Sorted {
            lt: Vec::new(),
            le: Vec::new(),
            eq: Vec::new(),
            ge: Vec::new(),
            gt: Vec::new(),
        }
    }
}

impl<T: PartialOrd + Copy> Sorted<T> {
    /// Files `rule` under `value op bound`; false for `!=`, which is not indexed.
    fn push(&mut self, op: CmpOp, bound: T, rule: u32) -> bool {
        let list = match op {
            CmpOp::Lt => &mut self.lt,
            CmpOp::Le => &mut self.le,
            CmpOp::Eq => &mut self.eq,
            CmpOp::Ge => &mut self.ge,
            CmpOp::Gt => &mut self.gt,
            CmpOp::Ne => return false,
        };
        list.push((bound, rule));
        true
    }

    /// Sorts every list by constant (no constant is NaN: `push`'s callers refuse them).
    fn sort(&mut self) {
        for list in [
            &mut self.lt,
            &mut self.le,
            &mut self.eq,
            &mut self.ge,
            &mut self.gt,
        ] {
            list.sort_by(|a, b| {
                a.0.partial_cmp(&b.0)
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then(a.1.cmp(&b.1))
            });
        }
    }

    /// Appends the rules whose comparison holds for `value` (which is not NaN).
    fn holding(&self, value: T, out: &mut Vec<u32>) {
        // value < c: the constants above the value.
        let from = self.lt.partition_point(|(c, _)| *c <= value);
        out.extend(ids(self.lt.get(from..)));
        // value <= c: the constants from the value up.
        let from = self.le.partition_point(|(c, _)| *c < value);
        out.extend(ids(self.le.get(from..)));
        // value > c: the constants below the value.
        let to = self.gt.partition_point(|(c, _)| *c < value);
        out.extend(ids(self.gt.get(..to)));
        // value >= c: the constants up to the value.
        let to = self.ge.partition_point(|(c, _)| *c <= value);
        out.extend(ids(self.ge.get(..to)));
        // value == c.
        let from = self.eq.partition_point(|(c, _)| *c < value);
        let to = self.eq.partition_point(|(c, _)| *c <= value);
        out.extend(ids(self.eq.get(from..to)));
    }
}

/// The rules of a slice of `(constant, rule)`; none for `None`.
fn ids<T>(list: Option<&[(T, u32)]>) -> impl Iterator<Item = u32> + '_ {
    list.unwrap_or_default().iter().map(|(_, rule)| *rule)
}

/// A range index over one slot, by how the runtime compares the slot's values.
#[derive(Debug)]
enum RangeTable {
    /// Ints, durations, timestamps (`i64`), and enums (the variant index, the slot's low 32
    /// bits, as the interpreter reads it).
    Int {
        slot: u32,
        is_enum: bool,
        sorted: Sorted<i64>,
    },
    /// Floats and distances.
    Float { slot: u32, sorted: Sorted<f64> },
}

impl RangeTable {
    /// The table for `index`, and the rules it cannot hold (a constant of another type or
    /// NaN, `!=`: only in a program not made by the compiler); those must be tested always.
    fn new(index: &RangeIndex, triggered: &dyn Fn(&u32) -> bool) -> (RangeTable, Vec<u32>) {
        let mut unfiled = Vec::new();
        let mut table = if index.ty.is_float() {
            RangeTable::Float {
                slot: index.slot,
                sorted: Sorted::default(),
            }
        } else {
            RangeTable::Int {
                slot: index.slot,
                is_enum: matches!(index.ty, Scalar::Enum(_)),
                sorted: Sorted::default(),
            }
        };
        for (op, bound, rules) in &index.cases {
            for &rule in rules.iter().filter(|r| triggered(r)) {
                let filed = match (&mut table, bound, index.ty) {
                    (RangeTable::Float { sorted, .. }, Lit::Float(bits), Scalar::Float)
                    | (RangeTable::Float { sorted, .. }, Lit::Distance(bits), Scalar::Distance)
                        if !f64::from_bits(*bits).is_nan() =>
                    {
                        sorted.push(*op, f64::from_bits(*bits), rule)
                    }
                    (RangeTable::Int { sorted, .. }, Lit::Int(v), Scalar::Int)
                    | (RangeTable::Int { sorted, .. }, Lit::Duration(v), Scalar::Duration)
                    | (RangeTable::Int { sorted, .. }, Lit::Timestamp(v), Scalar::Timestamp) => {
                        sorted.push(*op, *v, rule)
                    }
                    (RangeTable::Int { sorted, .. }, Lit::Enum(id, ix), Scalar::Enum(e))
                        if *id == e =>
                    {
                        sorted.push(*op, i64::from(*ix), rule)
                    }
                    _ => false,
                };
                if !filed {
                    unfiled.push(rule);
                }
            }
        }
        match &mut table {
            RangeTable::Int { sorted, .. } => sorted.sort(),
            RangeTable::Float { sorted, .. } => sorted.sort(),
        }
        (table, unfiled)
    }

    /// Appends the rules whose comparison holds for the row's value: none when the slot is
    /// absent (the comparison is null) or NaN (an ordering with NaN is null, `==` false).
    fn holding(&self, row: &Row, out: &mut Vec<u32>) {
        match self {
            RangeTable::Int {
                slot,
                is_enum,
                sorted,
            } => {
                if row.is_present(*slot) {
                    let bits = row.get(*slot);
                    let value = if *is_enum {
                        i64::from(bits as u32)
                    } else {
                        bits as i64
                    };
                    sorted.holding(value, out);
                }
            }
            RangeTable::Float { slot, sorted } => {
                let value = row.float(*slot);
                if row.is_present(*slot) && !value.is_nan() {
                    sorted.holding(value, out);
                }
            }
        }
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
    pub windows: HashMap<(u8, MessageId), WindowSpec, FastHash>,
    /// The layer a message of each type from the input is delivered to: events to the local
    /// node; incidents and directives to the lowest layer with a rule on them.
    pub entry_layer: Vec<u8>,
    /// What dispatch tests of each rule before its steps, packed apart from the rules so
    /// that skipping thousands of them touches little memory.
    pub heads: Vec<RuleHead>,
    /// The `approval_response` type, when the program has it.
    pub approval_response: Option<MessageId>,
    /// Message ids in the order of their names (a report's `event_breakdown` is by name).
    pub messages_by_name: Vec<MessageId>,
    /// By report, by message id: whether the report reads `latest` of the type.
    pub report_latest: Vec<Arc<[bool]>>,
    /// By node id: whether evaluating the node may read the known places (`route`).
    pub reads_places: Vec<bool>,
}

/// By node id: whether the node is a `route` or reads one, however deep.
fn reads_places(program: &Program) -> Vec<bool> {
    let mut reads: Vec<bool> = program
        .nodes
        .iter()
        .map(|node| {
            matches!(
                node,
                Node::Call {
                    builtin: Builtin::Route,
                    ..
                }
            )
        })
        .collect();
    // Operands mostly come before their node: a pass or two settles it.
    let mut changed = true;
    while changed {
        changed = false;
        for (index, node) in program.nodes.iter().enumerate() {
            if reads.get(index).copied().unwrap_or(true) {
                continue;
            }
            let operands = node.operands();
            if operands
                .iter()
                .any(|id| reads.get(id.0 as usize).copied().unwrap_or(false))
                && let Some(read) = reads.get_mut(index)
            {
                *read = true;
                changed = true;
            }
        }
    }
    reads
}

/// By message id: whether an expression of `fields` reads `latest(t)` of the type.
fn latest_read(program: &Program, fields: &[(String, NodeId)]) -> Arc<[bool]> {
    let mut reads = vec![false; program.messages.len()];
    let mut seen = vec![false; program.nodes.len()];
    let mut todo: Vec<NodeId> = fields.iter().map(|(_, id)| *id).collect();
    while let Some(id) = todo.pop() {
        match seen.get_mut(id.0 as usize) {
            Some(seen) if !*seen => *seen = true,
            _ => continue,
        }
        let Some(node) = program.node(id) else {
            continue;
        };
        if let Node::Aggregate(Aggregate::Latest(message)) = node {
            let index = message.0 as usize;
            if reads.len() <= index {
                reads.resize(index + 1, false);
            }
            if let Some(read) = reads.get_mut(index) {
                *read = true;
            }
        }
        todo.extend(node.operands());
    }
    reads.into()
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
        let mut windows: HashMap<(u8, MessageId), WindowSpec, FastHash> = HashMap::default();
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
        let mut messages_by_name: Vec<MessageId> = program.messages.iter().map(|m| m.id).collect();
        messages_by_name.sort_by(|a, b| {
            let name = |id: &MessageId| program.message(*id).map(|m| m.name.as_str());
            name(a).cmp(&name(b)).then(a.cmp(b))
        });
        let report_latest = program
            .reports
            .iter()
            .map(|report| latest_read(program, &report.fields))
            .collect();
        Tables {
            dispatch,
            windows,
            entry_layer,
            heads,
            approval_response,
            messages_by_name,
            report_latest,
            reads_places: reads_places(program),
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
        Some(given) => {
            let mut always: BTreeSet<u32> =
                given.always.iter().copied().filter(triggered).collect();
            let mut ranges = Vec::new();
            for index in &given.ranges {
                let (table, unfiled) = RangeTable::new(index, &triggered);
                always.extend(unfiled);
                ranges.push(table);
            }
            TypeDispatch {
                always: always.into_iter().collect(),
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
                ranges,
            }
        }
        // A program without dispatch (made by hand): every rule on the type, always.
        None => TypeDispatch {
            always: (0..program.rules.len() as u32).filter(triggered).collect(),
            indexed: Vec::new(),
            ranges: Vec::new(),
        },
    }
}

/// The envelope event time of a row.
pub(crate) fn event_time(row: &Row) -> i64 {
    row.int(envelope::TIMESTAMP)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{EvalContext, Evaluator, Interpreter};
    use cbp_ir::expr::GraphBuilder;
    use cbp_ir::program::{MessageDispatch, Rule};
    use cbp_ir::{EnumId, RowRef, Value};
    use std::collections::BTreeMap;
    use std::sync::Arc;

    const SLOT: u32 = 3;

    /// One rule per `(op, constant)`, each `when slot op constant`, all in one range index
    /// on `SLOT` of type `ty` (as the compiler files them).
    fn program(ty: Scalar, conditions: &[(CmpOp, Lit)]) -> Program {
        let mut g = GraphBuilder::default();
        let load = g.add(Node::Load {
            row: RowRef::Trigger,
            slot: SLOT,
            ty,
        });
        let mut rules = Vec::new();
        let mut cases = Vec::new();
        for (i, (op, bound)) in conditions.iter().enumerate() {
            let lit = g.add(Node::Lit(bound.clone()));
            let cond = g.add(Node::Cmp {
                op: *op,
                ty,
                lhs: load,
                rhs: lit,
            });
            rules.push(Rule {
                name: format!("r{i}"),
                qualified: format!("t.r{i}"),
                layer: 1,
                trigger: MessageId(0),
                source: None,
                steps: vec![Step::When {
                    cond,
                    text: String::new(),
                    shows: Vec::new(),
                }],
                locals: 0,
                priority: None,
                then: Vec::new(),
                approval: None,
                on_approve: Vec::new(),
                on_reject: Vec::new(),
                no_response: None,
            });
            cases.push((*op, bound.clone(), vec![i as u32]));
        }
        Program {
            nodes: g.finish(),
            rules,
            dispatch: cbp_ir::program::Dispatch {
                by_message: vec![MessageDispatch {
                    always: Vec::new(),
                    indexed: Vec::new(),
                    ranges: vec![RangeIndex {
                        slot: SLOT,
                        ty,
                        cases,
                    }],
                }],
            },
            ..Program::default()
        }
    }

    fn row(value: Option<u64>) -> Arc<Row> {
        let mut row = Row::new(MessageId(0), SLOT + 2, 0);
        if let Some(bits) = value {
            row.set(SLOT, bits);
        }
        Arc::new(row)
    }

    /// The rules dispatch offers for each value are exactly those whose condition the
    /// interpreter finds true.
    fn assert_exact(program: &Program, values: &[Option<u64>]) {
        let mut interner = Interner::new();
        let dispatch = type_dispatch(program, &mut interner, MessageId(0));
        assert!(dispatch.always.is_empty(), "every rule is indexed");
        let mut interpreter = Interpreter::new(program);
        let places = BTreeMap::new();
        for value in values {
            let row = row(*value);
            let cx = EvalContext {
                program,
                interner: &interner,
                trigger: &row,
                candidate: None,
                locals: &[],
                matches: &[],
                places: &places,
                aggregates: None,
            };
            let expected: Vec<u32> = program
                .rules
                .iter()
                .enumerate()
                .filter(|(_, rule)| match rule.steps.first() {
                    Some(Step::When { cond, .. }) => {
                        interpreter.eval(&cx, *cond) == Value::Bool(true)
                    }
                    _ => true,
                })
                .map(|(i, _)| i as u32)
                .collect();
            assert_eq!(dispatch.candidates(&row), expected, "value {value:?}");
        }
    }

    fn ops() -> [CmpOp; 5] {
        [CmpOp::Lt, CmpOp::Le, CmpOp::Eq, CmpOp::Ge, CmpOp::Gt]
    }

    #[test]
    fn int_boundaries_negatives_and_equal_constants() {
        let bounds = [-5i64, -1, 0, 0, 3, 3, 3, 7, i64::MIN, i64::MAX];
        let conditions: Vec<(CmpOp, Lit)> = ops()
            .into_iter()
            .flat_map(|op| bounds.iter().map(move |b| (op, Lit::Int(*b))))
            .collect();
        let program = program(Scalar::Int, &conditions);
        let mut values: Vec<Option<u64>> = (-7i64..=9).map(|v| Some(v as u64)).collect();
        values.extend([Some(i64::MIN as u64), Some(i64::MAX as u64), None]);
        assert_exact(&program, &values);
    }

    #[test]
    fn floats_nan_negative_zero_and_absent() {
        let bounds = [
            -2.5,
            -0.0,
            0.0,
            0.1,
            0.1,
            0.85,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        let conditions: Vec<(CmpOp, Lit)> = ops()
            .into_iter()
            .flat_map(|op| bounds.iter().map(move |b| (op, Lit::Float(b.to_bits()))))
            .collect();
        let program = program(Scalar::Float, &conditions);
        let values: Vec<Option<u64>> = [
            -3.0,
            -2.5,
            -1.0,
            -0.0,
            0.0,
            0.05,
            0.1,
            0.1000001,
            0.85,
            0.93,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ]
        .iter()
        .map(|v| Some(v.to_bits()))
        .chain([None])
        .collect();
        assert_exact(&program, &values);
    }

    #[test]
    fn enums_compare_by_variant_index() {
        let severity = Scalar::Enum(EnumId(0));
        let conditions: Vec<(CmpOp, Lit)> = ops()
            .into_iter()
            .flat_map(|op| (0..4).map(move |v| (op, Lit::Enum(EnumId(0), v))))
            .collect();
        let program = program(severity, &conditions);
        // Every variant, absent; bits above the low 32 are not part of an enum slot.
        let values: Vec<Option<u64>> = (0..4u64)
            .map(Some)
            .chain([Some((1 << 32) | 2), None])
            .collect();
        assert_exact(&program, &values);
    }

    #[test]
    fn durations_and_timestamps() {
        for (ty, lit) in [
            (Scalar::Duration, Lit::Duration as fn(i64) -> Lit),
            (Scalar::Timestamp, Lit::Timestamp),
        ] {
            let conditions: Vec<(CmpOp, Lit)> = ops()
                .into_iter()
                .flat_map(|op| [-60_000i64, 0, 300_000].map(|b| (op, lit(b))))
                .collect();
            let program = program(ty, &conditions);
            let values: Vec<Option<u64>> = [-60_001i64, -60_000, 0, 1, 300_000, 300_001]
                .iter()
                .map(|v| Some(*v as u64))
                .chain([None])
                .collect();
            assert_exact(&program, &values);
        }
    }

    #[test]
    fn many_candidates_come_out_ascending_without_repeats() {
        let rules: Vec<u32> = (0..2_000u32).map(|i| (i * 7919) % 1_000).collect();
        let expected: Vec<u32> = (0..1_000).collect();
        assert_eq!(in_order(&rules), expected);
        assert_eq!(in_order(&[64, 63, 0, 64]), vec![0, 63, 64]);
        // 300 rules, every one holding: more than sorting handles, still in program order.
        let conditions: Vec<(CmpOp, Lit)> =
            (0..300).map(|i| (CmpOp::Le, Lit::Int(300 - i))).collect();
        let program = program(Scalar::Int, &conditions);
        assert_exact(&program, &[Some(0), Some(150), Some(301), None]);
    }

    #[test]
    fn constants_the_table_cannot_hold_are_tested_always() {
        // A hand-made program: a NaN constant, `!=`, and an int constant on a float slot.
        let mut program = program(
            Scalar::Float,
            &[
                (CmpOp::Lt, Lit::Float(f64::NAN.to_bits())),
                (CmpOp::Ne, Lit::Float(1.0f64.to_bits())),
                (CmpOp::Gt, Lit::Int(1)),
                (CmpOp::Gt, Lit::Float(1.0f64.to_bits())),
            ],
        );
        program.dispatch.by_message[0].always.clear();
        let dispatch = type_dispatch(&program, &mut Interner::new(), MessageId(0));
        assert_eq!(dispatch.always, vec![0, 1, 2]);
        assert_eq!(
            dispatch.candidates(&row(Some(2.0f64.to_bits()))),
            vec![0, 1, 2, 3]
        );
        assert_eq!(
            dispatch.candidates(&row(Some(0.0f64.to_bits()))),
            vec![0, 1, 2]
        );
    }
}
