//! The reference interpreter: a direct recursive walk of the expression graph.
//!
//! Null propagates: an operator or builtin with a null operand gives null, except `??`,
//! `and`/`or` (Kleene logic: `false and null` is false, `true or null` is true) and `if`
//! (a null condition takes the `else` branch, as `when` treats null as false).

use super::builtins::{self, compare, values_equal};
use super::{EvalContext, Evaluator};
use crate::values::{load_scalar, message_field, record_value};
use cbp_ir::expr::{Aggregate, ArithOp, CmpOp, Lit, Node, RowRef};
use cbp_ir::layout::{FieldLayout, Storage};
use cbp_ir::{MessageId, NodeId, Program, Row, Value};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub struct Interpreter {
    /// Literal nodes, converted once.
    literals: Vec<Option<Value>>,
    /// (message, presence slot) → the fields of a flattened record, for `LoadRecord`.
    records: HashMap<(MessageId, u32), Vec<FieldLayout>>,
}

impl Interpreter {
    pub fn new(program: &Program) -> Self {
        let literals = program
            .nodes
            .iter()
            .map(|node| match node {
                Node::Lit(lit) => Some(literal(lit)),
                _ => None,
            })
            .collect();
        let mut records = HashMap::new();
        for layout in &program.messages {
            collect_records(layout.id, &layout.fields, &mut records);
        }
        Interpreter { literals, records }
    }

    fn row<'a>(cx: &'a EvalContext<'_>, row: RowRef) -> Option<&'a Arc<Row>> {
        match row {
            RowRef::Trigger => Some(cx.trigger),
            RowRef::Candidate => cx.candidate,
        }
    }

    fn eval_node(&mut self, cx: &EvalContext<'_>, id: NodeId) -> Value {
        let Some(node) = cx.program.node(id) else {
            return Value::Null;
        };
        match node {
            Node::Lit(lit) => match self.literals.get(id.0 as usize) {
                Some(Some(value)) => value.clone(),
                _ => literal(lit),
            },
            Node::Load { row, slot, ty } => match Self::row(cx, *row) {
                Some(r) if r.is_present(*slot) => load_scalar(r.get(*slot), *ty, cx.interner),
                _ => Value::Null,
            },
            Node::Present { row, slot } => {
                Value::Bool(Self::row(cx, *row).is_some_and(|r| r.is_present(*slot)))
            }
            Node::LoadRecord { row, presence, .. } => match Self::row(cx, *row) {
                Some(r) if r.is_present(*presence) => {
                    match self.records.get(&(r.message, *presence)) {
                        Some(fields) => record_value(cx.program, cx.interner, r, fields),
                        None => Value::Null,
                    }
                }
                _ => Value::Null,
            },
            Node::LoadObject {
                row,
                presence,
                index,
                ..
            } => match Self::row(cx, *row) {
                Some(r) if r.is_present(*presence) => r
                    .objects
                    .get(*index as usize)
                    .cloned()
                    .unwrap_or(Value::Null),
                _ => Value::Null,
            },
            Node::RowValue { row, .. } => match Self::row(cx, *row) {
                Some(r) => Value::Message(r.message, r.clone()),
                None => Value::Null,
            },
            Node::Local(slot) => cx
                .locals
                .get(*slot as usize)
                .cloned()
                .unwrap_or(Value::Null),
            Node::Matches(index) => match cx.matches.get(*index as usize) {
                Some(rows) => Value::List(Arc::new(
                    rows.iter()
                        .map(|r| Value::Message(r.message, r.clone()))
                        .collect(),
                )),
                None => Value::List(Arc::new(Vec::new())),
            },
            Node::Not(inner) => match self.eval_node(cx, *inner) {
                Value::Bool(b) => Value::Bool(!b),
                _ => Value::Null,
            },
            Node::Neg { value, .. } => match self.eval_node(cx, *value) {
                Value::Int(i) => i.checked_neg().map(Value::Int).unwrap_or(Value::Null),
                Value::Float(f) => Value::Float(-f),
                Value::Duration(d) => d.checked_neg().map(Value::Duration).unwrap_or(Value::Null),
                Value::Distance(d) => Value::Distance(-d),
                _ => Value::Null,
            },
            Node::Arith { op, lhs, rhs, .. } => {
                let (a, b) = (self.eval_node(cx, *lhs), self.eval_node(cx, *rhs));
                arith(*op, &a, &b)
            }
            Node::Cmp { op, lhs, rhs, .. } => {
                let (a, b) = (self.eval_node(cx, *lhs), self.eval_node(cx, *rhs));
                cmp(*op, &a, &b)
            }
            Node::And(lhs, rhs) => match self.eval_node(cx, *lhs) {
                Value::Bool(false) => Value::Bool(false),
                left => match (left, self.eval_node(cx, *rhs)) {
                    (_, Value::Bool(false)) => Value::Bool(false),
                    (Value::Bool(true), Value::Bool(true)) => Value::Bool(true),
                    _ => Value::Null,
                },
            },
            Node::Or(lhs, rhs) => match self.eval_node(cx, *lhs) {
                Value::Bool(true) => Value::Bool(true),
                left => match (left, self.eval_node(cx, *rhs)) {
                    (_, Value::Bool(true)) => Value::Bool(true),
                    (Value::Bool(false), Value::Bool(false)) => Value::Bool(false),
                    _ => Value::Null,
                },
            },
            Node::IntToFloat(inner) => match self.eval_node(cx, *inner) {
                Value::Int(i) => Value::Float(i as f64),
                Value::Float(f) => Value::Float(f),
                _ => Value::Null,
            },
            Node::Coalesce { value, default } => match self.eval_node(cx, *value) {
                Value::Null => self.eval_node(cx, *default),
                v => v,
            },
            Node::If {
                cond,
                then,
                otherwise,
            } => match self.eval_node(cx, *cond) {
                Value::Bool(true) => self.eval_node(cx, *then),
                _ => self.eval_node(cx, *otherwise),
            },
            Node::In { item, list, .. } => {
                let item = self.eval_node(cx, *item);
                match (item, self.eval_node(cx, *list)) {
                    (Value::Null, _) => Value::Null,
                    (item, Value::List(items)) => {
                        Value::Bool(items.iter().any(|x| values_equal(x, &item)))
                    }
                    (item, Value::Map(entries)) => match &item {
                        Value::Str(k) | Value::Zone(k) => Value::Bool(entries.contains_key(&**k)),
                        _ => Value::Bool(false),
                    },
                    (Value::Str(part), Value::Str(text)) => Value::Bool(text.contains(&*part)),
                    _ => Value::Null,
                }
            }
            Node::List { items, .. } => {
                let values = items.iter().map(|i| self.eval_node(cx, *i)).collect();
                Value::List(Arc::new(values))
            }
            Node::Record { record, fields } => {
                let names = cx.program.records.get(record.0 as usize).map(|r| &r.fields);
                let mut entries = Vec::with_capacity(fields.len());
                for (i, field) in fields.iter().enumerate() {
                    let name = names
                        .and_then(|n| n.get(i))
                        .map(|(n, _)| n.as_str())
                        .unwrap_or("");
                    entries.push((Arc::from(name), self.eval_node(cx, *field)));
                }
                Value::Record(Arc::new(entries))
            }
            Node::GetField { base, field, .. } => {
                let base = self.eval_node(cx, *base);
                get_field(cx, &base, field)
            }
            Node::MapField { list, field, .. } => match self.eval_node(cx, *list) {
                Value::List(items) => Value::List(Arc::new(
                    items
                        .iter()
                        .map(|item| get_field(cx, item, field))
                        .collect(),
                )),
                _ => Value::Null,
            },
            Node::Call { builtin, args, ty } => {
                let values: Vec<Value> = args.iter().map(|a| self.eval_node(cx, *a)).collect();
                builtins::call(cx, *builtin, &values, ty)
            }
            Node::Aggregate(aggregate) => aggregate_value(cx, aggregate),
        }
    }
}

impl Evaluator for Interpreter {
    fn name(&self) -> &str {
        "interp"
    }

    fn eval(&mut self, cx: &EvalContext<'_>, node: NodeId) -> Value {
        self.eval_node(cx, node)
    }
}

fn collect_records(
    message: MessageId,
    fields: &[FieldLayout],
    out: &mut HashMap<(MessageId, u32), Vec<FieldLayout>>,
) {
    for field in fields {
        if let Storage::Record {
            presence,
            fields: inner,
        } = &field.storage
        {
            out.insert((message, *presence), inner.clone());
            collect_records(message, inner, out);
        }
    }
}

pub(crate) fn literal(lit: &Lit) -> Value {
    match lit {
        Lit::Null => Value::Null,
        Lit::Int(i) => Value::Int(*i),
        Lit::Float(bits) => Value::Float(f64::from_bits(*bits)),
        Lit::Bool(b) => Value::Bool(*b),
        Lit::Str(s) => Value::Str(Arc::from(s.as_str())),
        Lit::Zone(z) => Value::Zone(Arc::from(z.as_str())),
        Lit::Duration(d) => Value::Duration(*d),
        Lit::Distance(bits) => Value::Distance(f64::from_bits(*bits)),
        Lit::Timestamp(t) => Value::Timestamp(*t),
        Lit::Enum(id, index) => Value::Enum(*id, *index),
    }
}

/// A field of a record, message or map value.
pub(crate) fn get_field(cx: &EvalContext<'_>, base: &Value, name: &str) -> Value {
    match base {
        Value::Record(fields) => fields
            .iter()
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or(Value::Null),
        Value::Message(_, row) => message_field(cx.program, cx.interner, row, name),
        Value::Map(entries) => entries.get(name).cloned().unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

fn aggregate_value(cx: &EvalContext<'_>, aggregate: &Aggregate) -> Value {
    let Some(agg) = cx.aggregates else {
        return Value::Null;
    };
    match aggregate {
        Aggregate::TotalEvents => Value::Int(agg.total_events),
        Aggregate::EventBreakdown => Value::Map(Arc::new(
            agg.event_breakdown
                .iter()
                .map(|(k, v)| (k.clone(), Value::Int(*v)))
                .collect::<BTreeMap<_, _>>(),
        )),
        Aggregate::EscalatedIncidents => Value::List(Arc::new(
            agg.escalated_incidents
                .iter()
                .map(|id| Value::Str(Arc::from(id.as_str())))
                .collect(),
        )),
        Aggregate::AvgLatencyMs => agg.avg_latency_ms.map(Value::Float).unwrap_or(Value::Null),
        Aggregate::Latest(message) => match agg.latest.get(message) {
            Some(row) => Value::Message(*message, row.clone()),
            None => Value::Null,
        },
    }
}

/// Arithmetic on values; the variants carry the types (see `Node::Arith`).
pub(crate) fn arith(op: ArithOp, a: &Value, b: &Value) -> Value {
    use Value::*;
    let float = |x: f64| if x.is_finite() { Float(x) } else { Null };
    match (op, a, b) {
        (_, Null, _) | (_, _, Null) => Null,
        (ArithOp::Add, Int(x), Int(y)) => x.checked_add(*y).map(Int).unwrap_or(Null),
        (ArithOp::Sub, Int(x), Int(y)) => x.checked_sub(*y).map(Int).unwrap_or(Null),
        (ArithOp::Mul, Int(x), Int(y)) => x.checked_mul(*y).map(Int).unwrap_or(Null),
        (ArithOp::Div, Int(x), Int(y)) => x.checked_div(*y).map(Int).unwrap_or(Null),
        (ArithOp::Rem, Int(x), Int(y)) => x.checked_rem(*y).map(Int).unwrap_or(Null),
        (op, Int(_) | Float(_), Int(_) | Float(_)) => {
            let (x, y) = (number(a), number(b));
            float(match op {
                ArithOp::Add => x + y,
                ArithOp::Sub => x - y,
                ArithOp::Mul => x * y,
                ArithOp::Div => x / y,
                ArithOp::Rem => x % y,
            })
        }
        (ArithOp::Add, Duration(x), Duration(y)) => x.checked_add(*y).map(Duration).unwrap_or(Null),
        (ArithOp::Sub, Duration(x), Duration(y)) => x.checked_sub(*y).map(Duration).unwrap_or(Null),
        (ArithOp::Div, Duration(x), Duration(y)) => float(*x as f64 / *y as f64),
        (ArithOp::Rem, Duration(x), Duration(y)) => x.checked_rem(*y).map(Duration).unwrap_or(Null),
        (ArithOp::Mul, Duration(x), Int(_) | Float(_)) => scaled_ms(*x as f64 * number(b)),
        (ArithOp::Mul, Int(_) | Float(_), Duration(y)) => scaled_ms(number(a) * *y as f64),
        (ArithOp::Div, Duration(x), Int(_) | Float(_)) => scaled_ms(*x as f64 / number(b)),
        (ArithOp::Add, Distance(x), Distance(y)) => Distance(x + y),
        (ArithOp::Sub, Distance(x), Distance(y)) => Distance(x - y),
        (ArithOp::Div, Distance(x), Distance(y)) => float(x / y),
        (ArithOp::Mul, Distance(x), Int(_) | Float(_)) => Distance(x * number(b)),
        (ArithOp::Mul, Int(_) | Float(_), Distance(y)) => Distance(number(a) * y),
        (ArithOp::Div, Distance(x), Int(_) | Float(_)) => {
            let d = x / number(b);
            if d.is_finite() { Distance(d) } else { Null }
        }
        (ArithOp::Add, Timestamp(t), Duration(d)) | (ArithOp::Add, Duration(d), Timestamp(t)) => {
            t.checked_add(*d).map(Timestamp).unwrap_or(Null)
        }
        (ArithOp::Sub, Timestamp(t), Duration(d)) => {
            t.checked_sub(*d).map(Timestamp).unwrap_or(Null)
        }
        (ArithOp::Sub, Timestamp(x), Timestamp(y)) => {
            x.checked_sub(*y).map(Duration).unwrap_or(Null)
        }
        (ArithOp::Add, Str(x), Str(y)) => Str(Arc::from(format!("{x}{y}"))),
        (ArithOp::Add, List(x), List(y)) => {
            List(Arc::new(x.iter().chain(y.iter()).cloned().collect()))
        }
        _ => Null,
    }
}

fn scaled_ms(ms: f64) -> Value {
    if ms.is_finite() && ms.abs() < 9.0e18 {
        Value::Duration(ms.round() as i64)
    } else {
        Value::Null
    }
}

fn number(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => f64::NAN,
    }
}

pub(crate) fn cmp(op: CmpOp, a: &Value, b: &Value) -> Value {
    if a.is_null() || b.is_null() {
        return Value::Null;
    }
    match op {
        CmpOp::Eq => Value::Bool(values_equal(a, b)),
        CmpOp::Ne => Value::Bool(!values_equal(a, b)),
        _ => match compare(a, b) {
            Some(ordering) => Value::Bool(match op {
                CmpOp::Lt => ordering == Ordering::Less,
                CmpOp::Le => ordering != Ordering::Greater,
                CmpOp::Gt => ordering == Ordering::Greater,
                _ => ordering != Ordering::Less,
            }),
            None => Value::Null,
        },
    }
}
