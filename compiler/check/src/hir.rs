//! The checked program: every name resolved to an [`ItemId`], every expression typed.
//!
//! This is what the lowering to IR consumes. Spans inside an item are relative to the item's
//! start ([`Item::offset`] gives the absolute start in [`Item::file`]), which keeps per-item
//! results stable under edits elsewhere in the file.

use cbp_syntax::Span;
use cbp_syntax::ast::{BinaryOp, ExpectKind, FloatLit, MessageKind, Outcome, UnaryOp};
use std::fmt;
use std::sync::Arc;

/// A package-qualified item name; the identity of an item across the whole program.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemId {
    /// Dotted package path; empty for the root package.
    pub package: Arc<str>,
    pub name: Arc<str>,
}

impl ItemId {
    pub fn new(package: &str, name: &str) -> Self {
        ItemId {
            package: package.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.package.is_empty() {
            write!(f, "{}", self.name)
        } else {
            write!(f, "{}.{}", self.package, self.name)
        }
    }
}

/// A type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    Int,
    Float,
    Bool,
    String,
    Duration,
    Distance,
    Timestamp,
    Zone,
    List(Box<Ty>),
    Map(Box<Ty>, Box<Ty>),
    Optional(Box<Ty>),
    Enum(ItemId),
    Record(ItemId),
    /// An event, incident or directive: its payload fields plus the envelope.
    Message(ItemId),
    /// The element type of std's generic externs; only std may write it.
    Any,
    /// A type that could not be determined; a diagnostic was already reported. Accepted
    /// everywhere so that one mistake gives one diagnostic.
    Error,
}

impl Ty {
    pub fn is_numeric(&self) -> bool {
        matches!(self, Ty::Int | Ty::Float)
    }

    pub fn is_quantity(&self) -> bool {
        matches!(self, Ty::Duration | Ty::Distance)
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Ty::Any | Ty::Error)
    }

    pub fn optional_inner(&self) -> Option<&Ty> {
        match self {
            Ty::Optional(t) => Some(t),
            _ => None,
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Int => write!(f, "int"),
            Ty::Float => write!(f, "float"),
            Ty::Bool => write!(f, "bool"),
            Ty::String => write!(f, "string"),
            Ty::Duration => write!(f, "duration"),
            Ty::Distance => write!(f, "distance"),
            Ty::Timestamp => write!(f, "timestamp"),
            Ty::Zone => write!(f, "zone"),
            Ty::List(t) => write!(f, "list<{t}>"),
            Ty::Map(k, v) => write!(f, "map<{k}, {v}>"),
            Ty::Optional(t) => write!(f, "{t}?"),
            Ty::Enum(id) | Ty::Record(id) | Ty::Message(id) => write!(f, "{}", id.name),
            Ty::Any => write!(f, "any"),
            Ty::Error => write!(f, "{{unknown}}"),
        }
    }
}

/// The five layers of the hierarchy, L1 (`local`) to L5 (`national`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    Local = 1,
    District = 2,
    City = 3,
    State = 4,
    National = 5,
}

impl Layer {
    pub const ALL: [Layer; 5] = [
        Layer::Local,
        Layer::District,
        Layer::City,
        Layer::State,
        Layer::National,
    ];

    pub fn from_name(name: &str) -> Option<Layer> {
        Layer::ALL.into_iter().find(|l| l.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Layer::Local => "local",
            Layer::District => "district",
            Layer::City => "city",
            Layer::State => "state",
            Layer::National => "national",
        }
    }

    /// 1 for `local` … 5 for `national`.
    pub fn level(self) -> u8 {
        self as u8
    }
}

/// A typed expression. `span` is relative to the enclosing item.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: Ty,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExprKind {
    Int(i64),
    Float(FloatLit),
    Str(String),
    Bool(bool),
    /// A duration literal, in milliseconds.
    Duration(i64),
    /// A distance literal, in metres.
    Distance(FloatLit),
    /// A rule binding, `let` or function parameter, by name (later bindings shadow earlier).
    Local(Arc<str>),
    Const(ItemId),
    /// An enum variant and its index in declaration order.
    Variant(ItemId, Arc<str>, u32),
    /// `base.field`. `over_list`: `base` is a list of records and the result is the list of
    /// the field's values. `envelope`: the field is one of the envelope fields.
    Field {
        base: Box<Expr>,
        field: Arc<str>,
        over_list: bool,
        envelope: bool,
    },
    Call(ItemId, Vec<Expr>),
    /// `latest(T)` in a report: the latest message of type `T` in the window.
    Latest(ItemId),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    Match(Box<Expr>, Vec<MatchArm>),
    List(Vec<Expr>),
    /// A record literal of the record type in `ty`.
    Record(Vec<FieldValue>),
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MatchArm {
    pub pattern: Pattern,
    pub body: Expr,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Pattern {
    Variant(Arc<str>, u32),
    Const(ItemId),
    Int(i64),
    Str(String),
    Bool(bool),
    Wildcard,
}

/// `name: value` in a record literal, action parameters, escalation fields, report fields.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldValue {
    pub name: Arc<str>,
    pub value: Expr,
}

/// One checked item.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Item {
    /// `None` for tests, which have no name.
    pub id: Option<ItemId>,
    /// Path of the file it is declared in.
    pub file: String,
    /// Absolute start of the item in its file; spans inside are relative to it.
    pub offset: u32,
    pub kind: ItemKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ItemKind {
    Enum(Enum),
    Record(Record),
    Message(Message),
    Plugin(Plugin),
    Authority(Authority),
    System(System),
    Action(ActionKind),
    Const(Const),
    Fn(Fn),
    Rule(Rule),
    Report(Report),
    Test(Test),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Enum {
    pub ordered: bool,
    pub variants: Vec<Arc<str>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Field {
    pub name: Arc<str>,
    pub ty: Ty,
    /// Annotated `@pii`: personal data.
    pub pii: bool,
    /// `in LOW..HIGH`, inclusive, when both bounds are literals.
    pub range: Option<(FloatLit, FloatLit)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Record {
    pub fields: Vec<Field>,
}

/// The payload fields only; every message also has the fields of `std.Envelope`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Message {
    pub kind: MessageKind,
    pub fields: Vec<Field>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Plugin {
    pub model_id: String,
    /// Every property, checked against its declared type.
    pub properties: Vec<FieldValue>,
    pub emits: Vec<ItemId>,
    pub requires_approval: bool,
    pub approval_authority: Option<ItemId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Authority {
    /// 1 for `L1` … 5 for `L5`.
    pub level: u8,
    /// `None`: may approve any action kind.
    pub approves: Option<Vec<ItemId>>,
    pub overrides: Vec<ItemId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct System {
    pub layer: Layer,
    pub kind: Option<Arc<str>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ActionKind {
    /// `@open`: accepts parameters beyond the declared ones.
    pub open: bool,
    pub params: Vec<Field>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Const {
    pub ty: Ty,
    pub value: Expr,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Fn {
    pub params: Vec<(Arc<str>, Ty)>,
    pub ret: Ty,
    /// `None` for extern functions (provided by the runtime).
    pub body: Option<Expr>,
    /// `@sanitizes`: the result is not personal data even when an argument is.
    pub sanitizes: bool,
    /// `@aggregate`: a report aggregate over the report's window.
    pub aggregate: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rule {
    pub layer: Layer,
    pub trigger: Trigger,
    /// `when`, `let`, `correlate` and `absent` in source order.
    pub clauses: Vec<Clause>,
    pub priority: Option<Expr>,
    pub then: Vec<Action>,
    pub approval: Option<Approval>,
    pub on_approve: Vec<Action>,
    pub on_reject: Vec<Action>,
    /// `if no response within D { … }`: D in milliseconds.
    pub no_response: Option<(i64, Vec<Action>)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Trigger {
    pub binding: Arc<str>,
    pub message: ItemId,
    /// `from plugin`: only messages from this plugin.
    pub source: Option<ItemId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Clause {
    When(Expr),
    Let { name: Arc<str>, value: Expr },
    Correlate(Box<Correlation>),
}

/// `correlate`/`absent`. Inside `filter` the binding is one message; after the clause it is
/// the list of the matching messages.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Correlation {
    pub absent: bool,
    pub binding: Arc<str>,
    pub message: ItemId,
    /// The window, in milliseconds of event time before the trigger (0 only when the program
    /// has errors).
    pub window_ms: i64,
    /// `within D` of the trigger's location.
    pub radius: Option<Expr>,
    pub filter: Option<Expr>,
    /// `at least N`; 1 when absent.
    pub min_count: Option<Expr>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Invoke {
        kind: ItemId,
        target: ItemId,
        params: Vec<FieldValue>,
        span: Span,
    },
    Escalate {
        incident: ItemId,
        to: Layer,
        fields: Vec<FieldValue>,
        span: Span,
    },
    Command {
        directive: ItemId,
        to: CommandTarget,
        fields: Vec<FieldValue>,
        span: Span,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CommandTarget {
    Children,
    Zones(Expr),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Approval {
    pub authority: ItemId,
    pub within_ms: i64,
    pub default: Outcome,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Report {
    pub layer: Layer,
    pub every_ms: i64,
    pub to: Layer,
    pub fields: Vec<FieldValue>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Test {
    pub name: String,
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// `at` is a duration offset from the test start or a timestamp.
    Send {
        message: ItemId,
        at: Expr,
        fields: Vec<FieldValue>,
    },
    Advance(Expr),
    Expect {
        negated: bool,
        count: Option<i64>,
        kind: ExpectKind,
        subject: Option<ItemId>,
        fields: Vec<FieldValue>,
    },
}

/// The whole checked program, items in a deterministic order (by file, then position).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Program {
    pub items: Vec<Arc<Item>>,
    /// Whether any diagnostic is an error; lowering should refuse such a program.
    pub has_errors: bool,
}
