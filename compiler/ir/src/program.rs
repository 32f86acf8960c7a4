//! A whole compiled program: layouts, the node graph, rules, reports, tests and dispatch.

use crate::expr::{Node, NodeId};
use crate::layout::MessageLayout;
use crate::types::{MessageId, Ty};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Program {
    pub format_version: u32,
    /// Hex digest of the policy sources (paths and texts, in path order).
    pub source_hash: String,
    pub messages: Vec<MessageLayout>,
    pub enums: Vec<EnumDef>,
    pub records: Vec<RecordDef>,
    pub nodes: Vec<Node>,
    pub authorities: Vec<AuthorityDef>,
    pub systems: Vec<SystemDef>,
    pub plugins: Vec<PluginDef>,
    /// In a stable order: by file path, then position in the file.
    pub rules: Vec<Rule>,
    pub reports: Vec<Report>,
    pub tests: Vec<Test>,
    pub dispatch: Dispatch,
    /// Size of the node graph as lowered, before constant folding and dead-node removal
    /// (`nodes.len()` is the size after); for the printer's header. 0 when unknown.
    #[serde(default)]
    pub nodes_before_folding: u32,
}

impl Program {
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.0 as usize)
    }

    pub fn message(&self, id: MessageId) -> Option<&MessageLayout> {
        self.messages.get(id.0 as usize)
    }

    pub fn message_by_name(&self, name: &str) -> Option<&MessageLayout> {
        self.messages.iter().find(|m| m.name == name)
    }

    /// For every node, whether its value depends on more than the trigger: on a rule's frame
    /// (`Local`, `Matches`) or on a correlation candidate. `Local(0)` of two rules is one
    /// node (hash-consing) with a different value in each rule, so only nodes that are not
    /// frame-dependent may be cached per event across rules; the others per rule evaluation
    /// (and, under a correlation filter, per candidate).
    pub fn frame_dependent(&self) -> Vec<bool> {
        let mut out: Vec<bool> = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let dep = node.reads_frame()
                || node
                    .operands()
                    .iter()
                    .any(|o| out.get(o.0 as usize).copied().unwrap_or(true));
            out.push(dep);
        }
        out
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnumDef {
    pub name: String,
    pub ordered: bool,
    pub variants: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordDef {
    pub name: String,
    pub fields: Vec<(String, Ty)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorityDef {
    pub name: String,
    /// 1 (`L1`) … 5 (`L5`).
    pub level: u8,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemDef {
    pub name: String,
    /// 1 (`local`) … 5 (`national`).
    pub layer: u8,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginDef {
    pub model_id: String,
    pub name: String,
    pub emits: Vec<MessageId>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// The name as written in the policy (the `rule` field of decision records).
    pub name: String,
    /// `package.name`.
    pub qualified: String,
    /// 1 (`local`) … 5 (`national`).
    pub layer: u8,
    pub trigger: MessageId,
    /// `from plugin`: only messages whose `model_id` is this.
    pub source: Option<String>,
    /// `when`, `let` and `correlate`/`absent`, in source order. The rule fires when every
    /// condition holds and every correlation is satisfied.
    pub steps: Vec<Step>,
    /// Size of the evaluation frame (`Node::Local` slots).
    pub locals: u32,
    pub priority: Option<NodeId>,
    pub then: Vec<ActionTemplate>,
    pub approval: Option<Approval>,
    pub on_approve: Vec<ActionTemplate>,
    pub on_reject: Vec<ActionTemplate>,
    /// `if no response within D { … }`: D in milliseconds.
    pub no_response: Option<(i64, Vec<ActionTemplate>)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Step {
    /// A condition. `text` is its source text; `shows` are the values the rationale of a
    /// decision records (each field read in the condition, by its source text).
    When {
        cond: NodeId,
        text: String,
        shows: Vec<(String, NodeId)>,
    },
    Let {
        local: u32,
        name: String,
        value: NodeId,
    },
    Correlate(Correlation),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Correlation {
    /// Index for `Node::Matches`.
    pub index: u32,
    pub binding: String,
    /// `absent`: satisfied when fewer than `min_count` messages match.
    pub absent: bool,
    pub message: MessageId,
    /// Messages with event time in `[trigger − window_ms, trigger]`.
    pub window_ms: i64,
    /// Great-circle distance from the trigger's location, in metres.
    pub radius_m: Option<f64>,
    /// Evaluated with `RowRef::Candidate` bound to each candidate.
    pub filter: Option<NodeId>,
    /// Default 1.
    pub min_count: u32,
    /// Source text, for the rationale.
    pub text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Approve,
    Reject,
    Escalate,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub authority: String,
    /// The level an answering authority needs at least.
    pub level: u8,
    pub within_ms: i64,
    pub default: Outcome,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ActionTemplate {
    /// `kind target { params }`.
    Invoke {
        kind: String,
        target: String,
        params: Vec<(String, NodeId)>,
    },
    /// An incident to the ancestor node at `to_layer`.
    Escalate {
        incident: MessageId,
        to_layer: u8,
        fields: Vec<(String, NodeId)>,
    },
    /// A directive down.
    Command {
        directive: MessageId,
        to: CommandTarget,
        fields: Vec<(String, NodeId)>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CommandTarget {
    Children,
    /// A `list<zone>` or `list<string>` node.
    Zones(NodeId),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub name: String,
    pub layer: u8,
    /// Window length; windows are aligned to the hour.
    pub every_ms: i64,
    pub to_layer: u8,
    pub fields: Vec<(String, NodeId)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Test {
    pub name: String,
    /// Source file, for failure output.
    pub file: String,
    pub steps: Vec<TestStep>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TestStep {
    /// A message at `at_ms` after the test start (or at an absolute Unix ms time when
    /// `absolute`), with the given field values (envelope fields the test leaves out get
    /// defaults from the runtime).
    Send {
        message: MessageId,
        at_ms: i64,
        absolute: bool,
        fields: serde_json::Map<String, serde_json::Value>,
    },
    Advance {
        by_ms: i64,
    },
    Expect(Expectation),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expectation {
    pub negated: bool,
    pub count: Option<u32>,
    /// `decision`, `approval`, `escalation`, `report`, `command`, `action`, `dead_letter`.
    pub kind: String,
    /// The rule, report, incident or directive name.
    pub subject: Option<String>,
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// `file:line:col` of the `expect`, for failure output.
    pub location: String,
}

/// Which rules a message can trigger. For each message type: rules to test always, rules
/// indexed by a discriminating equality test of their condition (`v.violation_type ==
/// speeding`): only the rules under the message's value of that slot are tested, and rules
/// indexed by a range test (`v.confidence < 0.2`): only the rules whose range holds for the
/// message's value are tested. Every rule of the type is in exactly one of these.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Dispatch {
    /// Indexed by `MessageId`.
    pub by_message: Vec<MessageDispatch>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageDispatch {
    /// Indexes into `Program::rules`, ascending.
    pub always: Vec<u32>,
    pub indexed: Vec<Discriminator>,
    /// Rules indexed by a comparison of one slot with a constant, one index per slot.
    #[serde(default)]
    pub ranges: Vec<RangeIndex>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Discriminator {
    pub slot: u32,
    pub ty: crate::types::Scalar,
    /// Value → rules (ascending). Strings by text (the runtime interns them at load);
    /// ints, bools and enum indexes as `Int`.
    pub cases: Vec<(Key, Vec<u32>)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Key {
    Int(i64),
    Str(String),
}

/// Rules whose first `when` has a top-level conjunct `slot op constant` (`op` one of `==`,
/// `<`, `<=`, `>`, `>=`; the slot an int, float, duration, distance, timestamp or enum of the
/// trigger). Such a rule can fire only when the comparison is true for the message's value:
/// never when the slot is absent (null) or, for floats, NaN. The runtime keeps the
/// constants sorted and finds the rules whose comparison holds by binary search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RangeIndex {
    pub slot: u32,
    pub ty: crate::types::Scalar,
    /// `(op, constant)` → rules (ascending), in order of the constant (then `op`). The
    /// constant is a literal of the slot's type (`Lit::Int`, `Float`, `Duration`,
    /// `Distance`, `Timestamp` or `Enum`), never NaN.
    pub cases: Vec<(crate::expr::CmpOp, crate::expr::Lit, Vec<u32>)>,
}
