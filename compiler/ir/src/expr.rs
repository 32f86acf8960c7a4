//! The expression graph: every expression of a program as typed nodes in one hash-consed DAG.

use crate::types::{EnumId, MessageId, RecordId, Scalar, Ty};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Index into [`crate::Program::nodes`]. A node's operands always have smaller ids, so a
/// program's nodes are in evaluation order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeId(pub u32);

/// Which row a `Load` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RowRef {
    /// The message that triggered the rule (or, in a report, the message being counted).
    Trigger,
    /// The candidate message inside a correlation's `where` filter.
    Candidate,
}

/// A constant. Floats are kept as bits so nodes are `Eq + Hash` (hash-consing).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lit {
    Null,
    Int(i64),
    Float(u64),
    Bool(bool),
    Str(String),
    Zone(String),
    Duration(i64),
    Distance(u64),
    Timestamp(i64),
    Enum(EnumId, u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Functions the runtime provides (the `extern fn`s of the standard library).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Builtin {
    /// Great-circle distance of two `GeoPoint` records, in metres.
    Distance,
    Route,
    ParentZone,
    InZone,
    ParseTimestamp,
    HourOfDay,
    Minutes,
    Seconds,
    StrLen,
    Lower,
    Upper,
    StartsWith,
    EndsWith,
    StrContains,
    ListLen,
    Distinct,
    Sum,
    Min,
    Max,
    Avg,
    Tokenize,
    Redact,
    /// `+` on strings.
    Concat,
    /// `+` on lists.
    ListConcat,
}

/// Report aggregates over the report's window at one node.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Aggregate {
    TotalEvents,
    EventBreakdown,
    EscalatedIncidents,
    AvgLatencyMs,
    /// The latest message of this type in the window, or null.
    Latest(MessageId),
}

/// One node. Every node has a static type; operators carry the scalar type they work on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Node {
    Lit(Lit),
    /// The scalar in `slot` of a row; null when its presence bit is clear.
    Load {
        row: RowRef,
        slot: u32,
        ty: Scalar,
    },
    /// Whether slot `slot` (a scalar, a record's or an object's presence slot) was given.
    Present {
        row: RowRef,
        slot: u32,
    },
    /// A flattened nested record of a row, as a record value.
    LoadRecord {
        row: RowRef,
        presence: u32,
        record: RecordId,
    },
    /// An object (list, map) of a row; null when its presence bit is clear. `ty` is the
    /// field's type without `?`.
    LoadObject {
        row: RowRef,
        presence: u32,
        index: u32,
        ty: Ty,
    },
    /// A whole row, as a message value.
    RowValue {
        row: RowRef,
        message: MessageId,
    },
    /// A `let` binding or inlined function parameter: slot in the evaluation frame.
    Local(u32),
    /// The messages matched by correlation `index` of the current rule (a list of messages).
    Matches(u32),
    Not(NodeId),
    Neg {
        ty: Scalar,
        value: NodeId,
    },
    /// `ty` is the operand type; the result is the operand type except
    /// `Timestamp - Timestamp = Duration`, `Duration / Duration = Float`,
    /// `Distance / Distance = Float`, and `Duration * Float = Duration` (the right operand
    /// of `Mul`/`Div` on quantities is then `Float` or `Int`, see `rhs_ty`).
    Arith {
        op: ArithOp,
        ty: Scalar,
        rhs_ty: Scalar,
        lhs: NodeId,
        rhs: NodeId,
    },
    /// Both operands have type `ty` (ints are converted with `IntToFloat` first).
    Cmp {
        op: CmpOp,
        ty: Scalar,
        lhs: NodeId,
        rhs: NodeId,
    },
    /// Short-circuit: `rhs` is evaluated only when needed.
    And(NodeId, NodeId),
    Or(NodeId, NodeId),
    IntToFloat(NodeId),
    /// `value ?? default`
    Coalesce {
        value: NodeId,
        default: NodeId,
    },
    If {
        cond: NodeId,
        then: NodeId,
        otherwise: NodeId,
    },
    /// `item in list`, comparing as `elem`.
    In {
        item: NodeId,
        list: NodeId,
        elem: Ty,
    },
    /// A list literal; `ty` is the list's type (`list<T>`), not the element's.
    List {
        items: Vec<NodeId>,
        ty: Ty,
    },
    Record {
        record: RecordId,
        fields: Vec<NodeId>,
    },
    /// A field of a record or message value, by name.
    GetField {
        base: NodeId,
        field: String,
        ty: Ty,
    },
    /// `list.field`: the field of every element.
    MapField {
        list: NodeId,
        field: String,
        ty: Ty,
    },
    Call {
        builtin: Builtin,
        args: Vec<NodeId>,
        ty: Ty,
    },
    Aggregate(Aggregate),
}

/// Builds a graph with hash-consing: adding a node equal to an existing one returns the
/// existing id.
#[derive(Default)]
pub struct GraphBuilder {
    nodes: Vec<Node>,
    index: HashMap<Node, NodeId>,
}

impl GraphBuilder {
    pub fn add(&mut self, node: Node) -> NodeId {
        if let Some(id) = self.index.get(&node) {
            return *id;
        }
        let id = NodeId(u32::try_from(self.nodes.len()).unwrap_or(u32::MAX));
        self.index.insert(node.clone(), id);
        self.nodes.push(node);
        id
    }

    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.0 as usize)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn finish(self) -> Vec<Node> {
        self.nodes
    }
}

impl Node {
    /// The nodes this one reads, in operand order.
    pub fn operands(&self) -> Vec<NodeId> {
        match self {
            Node::Lit(_)
            | Node::Load { .. }
            | Node::Present { .. }
            | Node::LoadRecord { .. }
            | Node::LoadObject { .. }
            | Node::RowValue { .. }
            | Node::Local(_)
            | Node::Matches(_)
            | Node::Aggregate(_) => Vec::new(),
            Node::Not(x) | Node::IntToFloat(x) => vec![*x],
            Node::Neg { value, .. } => vec![*value],
            Node::Arith { lhs, rhs, .. } | Node::Cmp { lhs, rhs, .. } => vec![*lhs, *rhs],
            Node::And(a, b) | Node::Or(a, b) => vec![*a, *b],
            Node::Coalesce { value, default } => vec![*value, *default],
            Node::If {
                cond,
                then,
                otherwise,
            } => vec![*cond, *then, *otherwise],
            Node::In { item, list, .. } => vec![*item, *list],
            Node::List { items, .. } => items.clone(),
            Node::Record { fields, .. } => fields.clone(),
            Node::GetField { base, .. } => vec![*base],
            Node::MapField { list, .. } => vec![*list],
            Node::Call { args, .. } => args.clone(),
        }
    }

    /// Reads the rule's evaluation frame (`Local`, `Matches`) or the correlation candidate
    /// directly; see [`crate::Program::frame_dependent`].
    pub fn reads_frame(&self) -> bool {
        matches!(
            self,
            Node::Local(_)
                | Node::Matches(_)
                | Node::Load {
                    row: RowRef::Candidate,
                    ..
                }
                | Node::Present {
                    row: RowRef::Candidate,
                    ..
                }
                | Node::LoadRecord {
                    row: RowRef::Candidate,
                    ..
                }
                | Node::LoadObject {
                    row: RowRef::Candidate,
                    ..
                }
                | Node::RowValue {
                    row: RowRef::Candidate,
                    ..
                }
        )
    }
}
