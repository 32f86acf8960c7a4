//! Which nodes the JIT compiles, and the machine shape of each.
//!
//! One forward pass over [`Program::nodes`] (operands always have smaller ids) gives every
//! node either its [`Shape`] or the reason it cannot be compiled. A condition is compiled
//! when its root has a boolean (or null) shape; a node whose subtree holds anything outside
//! the supported set carries the first offending node, so the caller can say why.

use cbp_ir::expr::{ArithOp, CmpOp, Lit, Node, NodeId};
use cbp_ir::value::{BLOCK_WORDS, presence_word, slot_word};
use cbp_ir::{Program, RowRef, Scalar};

/// The static shape of a compiled node's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// The `null` literal: no value of any type.
    Null,
    Scalar(Scalar),
}

/// How a scalar is held in a Cranelift value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repr {
    /// `i64`: ints, durations, timestamps, enum indexes, symbol ids.
    Int,
    /// `f64`: floats and distances.
    Float,
    /// `i8`, always 0 or 1.
    Bool,
}

pub fn repr(scalar: Scalar) -> Repr {
    match scalar {
        Scalar::Bool => Repr::Bool,
        s if s.is_float() => Repr::Float,
        _ => Repr::Int,
    }
}

/// Why a condition was left to the interpreter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unsupported {
    /// The subtree holds this node, which the JIT does not compile.
    Node { node: NodeId, what: String },
    /// The root is not a boolean condition.
    NotBoolean { node: NodeId },
    /// The node id is outside the program.
    Missing { node: NodeId },
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unsupported::Node { node, what } => {
                write!(f, "node n{} ({what}) is not compiled", node.0)
            }
            Unsupported::NotBoolean { node } => {
                write!(f, "node n{} is not a boolean condition", node.0)
            }
            Unsupported::Missing { node } => write!(f, "node n{} does not exist", node.0),
        }
    }
}

/// A slot index below which every slot's byte offset in a row (`slot_word(slot) * 8`) fits
/// Cranelift's `i32` offsets (whole blocks, one to spare).
const MAX_SLOT: u32 = ((i32::MAX as u32) / 8 / BLOCK_WORDS as u32 - 1) * 64;

/// The shape of every node of a program, or why it is not compiled.
pub struct Analysis {
    shapes: Vec<Result<Shape, Unsupported>>,
}

impl Analysis {
    pub fn new(program: &Program) -> Self {
        let mut shapes: Vec<Result<Shape, Unsupported>> = Vec::with_capacity(program.nodes.len());
        for (index, node) in program.nodes.iter().enumerate() {
            let id = NodeId(u32::try_from(index).unwrap_or(u32::MAX));
            let shape = shape_of(id, node, &shapes, &program.nodes);
            shapes.push(shape);
        }
        Analysis { shapes }
    }

    pub fn shape(&self, node: NodeId) -> Result<Shape, Unsupported> {
        self.shapes
            .get(node.0 as usize)
            .cloned()
            .unwrap_or(Err(Unsupported::Missing { node }))
    }

    /// Whether `root` can be compiled as a condition (a boolean or null result).
    pub fn condition(&self, root: NodeId) -> Result<(), Unsupported> {
        match self.shape(root)? {
            Shape::Null | Shape::Scalar(Scalar::Bool) => Ok(()),
            Shape::Scalar(_) => Err(Unsupported::NotBoolean { node: root }),
        }
    }
}

/// How an arithmetic node computes, as the interpreter does (by operand types).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArithKind {
    /// `i64` with Rust's `checked_*`: overflow, division by zero → null.
    CheckedInt,
    /// `f64` (integer operands converted); a non-finite result is null.
    FiniteFloat,
    /// `f64` (integer operands converted); any result, `inf` and `NaN` included.
    AnyFloat,
    /// A duration scaled by a number: `f64` product or quotient in milliseconds, rounded half
    /// away from zero; null unless finite and below 9e18 in magnitude.
    ScaledMs,
}

/// The result type of `lhs op rhs` on the operand types the node carries, and how it is
/// computed; `None` for what the JIT leaves to the interpreter.
pub fn arith_result(op: ArithOp, ty: Scalar, rhs_ty: Scalar) -> Option<(Scalar, ArithKind)> {
    use ArithKind::{AnyFloat, CheckedInt, FiniteFloat, ScaledMs};
    use ArithOp::*;
    use Scalar::*;
    Some(match (ty, rhs_ty, op) {
        (Int, Int, _) => (Int, CheckedInt),
        (Float, Float, Add | Sub | Mul | Div) => (Float, FiniteFloat),
        (Duration, Duration, Add | Sub | Rem) => (Duration, CheckedInt),
        (Duration, Duration, Div) => (Float, FiniteFloat),
        (Timestamp, Duration, Add | Sub) | (Duration, Timestamp, Add) => (Timestamp, CheckedInt),
        (Timestamp, Timestamp, Sub) => (Duration, CheckedInt),
        (Distance, Distance, Add | Sub) => (Distance, AnyFloat),
        (Distance, Distance, Div) => (Float, FiniteFloat),
        (Duration, Int | Float, Mul | Div) | (Int | Float, Duration, Mul) => (Duration, ScaledMs),
        (Distance, Int | Float, Mul) | (Int | Float, Distance, Mul) => (Distance, AnyFloat),
        (Distance, Int | Float, Div) => (Distance, FiniteFloat),
        _ => return None,
    })
}

/// Whether a value of type `actual` is what an operator on `expected` takes: the same type,
/// strings and zones being interchangeable (both are symbol ids).
fn same_type(expected: Scalar, actual: Scalar) -> bool {
    expected == actual || (expected.is_symbol() && actual.is_symbol())
}

fn unsupported(node: NodeId, what: impl Into<String>) -> Result<Shape, Unsupported> {
    Err(Unsupported::Node {
        node,
        what: what.into(),
    })
}

/// The shape of operand `operand` of node `id`, which must be of type `expected` (or the
/// null literal). Exact types keep the JIT's results the interpreter's: it dispatches on the
/// run-time variants, so an ill-typed graph is left to it.
fn operand(
    id: NodeId,
    operand: NodeId,
    expected: Scalar,
    shapes: &[Result<Shape, Unsupported>],
) -> Result<Shape, Unsupported> {
    let shape = any_operand(id, operand, shapes)?;
    match shape {
        Shape::Null => Ok(shape),
        Shape::Scalar(s) if same_type(expected, s) => Ok(shape),
        Shape::Scalar(s) => unsupported(
            id,
            format!(
                "operand n{} of type {s:?} where {expected:?} is expected",
                operand.0
            ),
        ),
    }
}

/// The shape of an operand of any type.
fn any_operand(
    id: NodeId,
    operand: NodeId,
    shapes: &[Result<Shape, Unsupported>],
) -> Result<Shape, Unsupported> {
    if operand >= id {
        return unsupported(id, "operand after its user");
    }
    shapes
        .get(operand.0 as usize)
        .cloned()
        .unwrap_or(Err(Unsupported::Missing { node: operand }))
}

/// The shape of two alternatives (`??`, `if`): they must agree unless one is the null literal.
fn join(id: NodeId, a: Shape, b: Shape) -> Result<Shape, Unsupported> {
    match (a, b) {
        (Shape::Null, other) | (other, Shape::Null) => Ok(other),
        (Shape::Scalar(x), Shape::Scalar(y)) if same_type(x, y) => Ok(Shape::Scalar(x)),
        (Shape::Scalar(x), Shape::Scalar(y)) => {
            unsupported(id, format!("alternatives of types {x:?} and {y:?}"))
        }
    }
}

fn shape_of(
    id: NodeId,
    node: &Node,
    shapes: &[Result<Shape, Unsupported>],
    nodes: &[Node],
) -> Result<Shape, Unsupported> {
    let bool_operand = |n: NodeId| operand(id, n, Scalar::Bool, shapes);
    match node {
        Node::Lit(lit) => Ok(match lit {
            Lit::Null => Shape::Null,
            Lit::Int(_) => Shape::Scalar(Scalar::Int),
            Lit::Float(_) => Shape::Scalar(Scalar::Float),
            Lit::Bool(_) => Shape::Scalar(Scalar::Bool),
            Lit::Str(_) => Shape::Scalar(Scalar::Str),
            Lit::Zone(_) => Shape::Scalar(Scalar::Zone),
            Lit::Duration(_) => Shape::Scalar(Scalar::Duration),
            Lit::Distance(_) => Shape::Scalar(Scalar::Distance),
            Lit::Timestamp(_) => Shape::Scalar(Scalar::Timestamp),
            Lit::Enum(e, _) => Shape::Scalar(Scalar::Enum(*e)),
        }),
        Node::Load { slot, ty, .. } if *slot <= MAX_SLOT => Ok(Shape::Scalar(*ty)),
        Node::Present { slot, .. } if *slot <= MAX_SLOT => Ok(Shape::Scalar(Scalar::Bool)),
        Node::Load { .. } | Node::Present { .. } => {
            unsupported(id, "slot beyond the addressable range")
        }
        Node::Not(value) => {
            bool_operand(*value)?;
            Ok(Shape::Scalar(Scalar::Bool))
        }
        Node::Neg { ty, value } => match ty {
            Scalar::Int | Scalar::Duration | Scalar::Float | Scalar::Distance => {
                operand(id, *value, *ty, shapes)?;
                Ok(Shape::Scalar(*ty))
            }
            other => unsupported(id, format!("negation of {other:?}")),
        },
        Node::Arith {
            op,
            ty,
            rhs_ty,
            lhs,
            rhs,
        } => {
            let Some((result, _)) = arith_result(*op, *ty, *rhs_ty) else {
                return unsupported(id, format!("{op:?} on {ty:?} and {rhs_ty:?}"));
            };
            operand(id, *lhs, *ty, shapes)?;
            operand(id, *rhs, *rhs_ty, shapes)?;
            Ok(Shape::Scalar(result))
        }
        Node::Cmp { op, ty, lhs, rhs } => {
            if ty.is_symbol() && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                return unsupported(id, format!("ordering of {ty:?} (by text)"));
            }
            operand(id, *lhs, *ty, shapes)?;
            operand(id, *rhs, *ty, shapes)?;
            Ok(Shape::Scalar(Scalar::Bool))
        }
        Node::And(a, b) | Node::Or(a, b) => {
            bool_operand(*a)?;
            bool_operand(*b)?;
            Ok(Shape::Scalar(Scalar::Bool))
        }
        Node::IntToFloat(value) => {
            operand(id, *value, Scalar::Int, shapes)?;
            Ok(Shape::Scalar(Scalar::Float))
        }
        Node::Coalesce { value, default } => {
            let value = any_operand(id, *value, shapes)?;
            let default = any_operand(id, *default, shapes)?;
            join(id, value, default)
        }
        Node::If {
            cond,
            then,
            otherwise,
        } => {
            bool_operand(*cond)?;
            let then = any_operand(id, *then, shapes)?;
            let otherwise = any_operand(id, *otherwise, shapes)?;
            join(id, then, otherwise)
        }
        Node::In { item, list, elem } => {
            let items = list_items(id, *list, nodes)?;
            let Some(elem) = elem.scalar() else {
                return unsupported(id, format!("membership of {elem:?}"));
            };
            operand(id, *item, elem, shapes)?;
            for element in items {
                operand(id, *element, elem, shapes)?;
            }
            Ok(Shape::Scalar(Scalar::Bool))
        }
        other => unsupported(id, node_kind(other)),
    }
}

/// The items of the list literal `list`, the only kind of list `in` is compiled for (a list
/// field lives in a row's side table, out of the compiled code's reach).
pub fn list_items(id: NodeId, list: NodeId, nodes: &[Node]) -> Result<&[NodeId], Unsupported> {
    match nodes.get(list.0 as usize) {
        Some(Node::List { items, .. }) if list < id => Ok(items),
        _ => Err(Unsupported::Node {
            node: id,
            what: "membership in a list that is not a literal".into(),
        }),
    }
}

/// A short name of a node's kind, for [`Unsupported`].
fn node_kind(node: &Node) -> &'static str {
    match node {
        Node::Lit(_) => "literal",
        Node::Load { .. } => "load",
        Node::Present { .. } => "present",
        Node::LoadRecord { .. } => "record load",
        Node::LoadObject { .. } => "object load",
        Node::RowValue { .. } => "whole message",
        Node::Local(_) => "local",
        Node::Matches(_) => "correlation matches",
        Node::Not(_) => "not",
        Node::Neg { .. } => "negation",
        Node::Arith { .. } => "arithmetic",
        Node::Cmp { .. } => "comparison",
        Node::And(..) => "and",
        Node::Or(..) => "or",
        Node::IntToFloat(_) => "int to float",
        Node::Coalesce { .. } => "coalesce",
        Node::If { .. } => "if",
        Node::In { .. } => "membership",
        Node::List { .. } => "list",
        Node::Record { .. } => "record",
        Node::GetField { .. } => "field access",
        Node::MapField { .. } => "list field access",
        Node::Call { .. } => "builtin call",
        Node::Aggregate(_) => "aggregate",
    }
}

/// The rows a compiled condition reads, and how far: the engine must hand it rows at least
/// this long (shorter rows are padded with absent slots before the call).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RowNeed {
    /// `words.len()` must be at least this.
    pub words: usize,
}

impl RowNeed {
    pub fn load(&mut self, slot: u32) {
        self.words = self.words.max(slot_word(slot) + 1);
        self.present(slot);
    }

    pub fn present(&mut self, slot: u32) {
        self.words = self.words.max(presence_word(slot) + 1);
    }
}

/// What a compiled condition reads from each row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    pub trigger: RowNeed,
    pub candidate: RowNeed,
}

impl Needs {
    pub fn row(&mut self, row: RowRef) -> &mut RowNeed {
        match row {
            RowRef::Trigger => &mut self.trigger,
            RowRef::Candidate => &mut self.candidate,
        }
    }
}
