//! How the engine evaluates expressions: the [`Evaluator`] trait and what it is given.
//!
//! The engine never looks inside an expression. For every condition, `let`, correlation
//! filter, action parameter, approval-time action and report field it asks its evaluator for
//! the value of a node id of [`cbp_ir::Program::nodes`], passing an [`EvalContext`]: the
//! trigger row, the candidate row inside a correlation's `where`, the rule's frame of locals,
//! the matches of the correlations evaluated so far, the known places (for `route`) and, in a
//! report, the window's aggregates.
//!
//! [`Interpreter`] is the reference implementation over the IR graph. A native backend (the
//! Cranelift JIT) implements the same trait: it answers the nodes it compiled natively —
//! reading slots of `cx.trigger` / `cx.candidate` directly, comparing interned strings by
//! symbol id (`cx.interner`) — and hands every other node to an `Interpreter` it keeps as a
//! fallback. Both must give the same [`Value`] for the same node and context; the engine's
//! output is then byte-for-byte the same under either.

mod builtins;
mod interp;

pub use interp::Interpreter;

use crate::geo::Point;
use crate::intern::Interner;
use cbp_ir::{MessageId, NodeId, Program, Row, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Everything an expression can see while it is evaluated.
pub struct EvalContext<'a> {
    pub program: &'a Program,
    /// Symbol ids of the `Str`/`Zone` slots of rows; every string literal of the program is
    /// interned when the engine starts, so a native backend can compare ids.
    pub interner: &'a Interner,
    /// `RowRef::Trigger`: the message that triggered the rule (an empty row in a report).
    pub trigger: &'a Arc<Row>,
    /// `RowRef::Candidate`: the candidate inside a correlation's `where` filter.
    pub candidate: Option<&'a Arc<Row>>,
    /// `Node::Local(i)`: the rule's `let` values, by frame slot (null before the `let` ran).
    pub locals: &'a [Value],
    /// `Node::Matches(i)`: the matches of correlation `i`, in (event time, arrival) order.
    pub matches: &'a [Vec<Arc<Row>>],
    /// The local nodes the engine knows and where their last message came from (`route`).
    pub places: &'a BTreeMap<Arc<str>, Point>,
    /// `Node::Aggregate`: the report window being emitted; `None` outside reports.
    pub aggregates: Option<&'a Aggregates>,
}

/// A report window's aggregates at one node.
#[derive(Clone, Debug, Default)]
pub struct Aggregates {
    pub total_events: i64,
    /// Message type → count.
    pub event_breakdown: BTreeMap<String, i64>,
    /// Ids of the incidents the node escalated in the window.
    pub escalated_incidents: Vec<String>,
    /// Mean of (decision time − trigger event time) over the window's decisions.
    pub avg_latency_ms: Option<f64>,
    /// The latest message of each type in the window.
    pub latest: BTreeMap<MessageId, Arc<Row>>,
}

/// Evaluates node ids of a program. Implementations may keep caches (`&mut self`), but a
/// node's value must depend only on the program and the context.
pub trait Evaluator {
    /// A short name for summaries and logs (`interp`, `jit`).
    fn name(&self) -> &str;

    /// The value of `node`. Never panics: a node that cannot be evaluated (a bad id, a type
    /// mismatch in a hand-made program) is null.
    fn eval(&mut self, cx: &EvalContext<'_>, node: NodeId) -> Value;

    /// A condition: true only when the value is `true` (null counts as false).
    fn eval_bool(&mut self, cx: &EvalContext<'_>, node: NodeId) -> bool {
        matches!(self.eval(cx, node), Value::Bool(true))
    }
}
