//! The syntax tree of one `.cbp` file.
//!
//! Every node carries the [`Span`] of the text it was parsed from; children lie inside their
//! parents. The tree is produced even for broken input: where the parser had to recover, the
//! node holds an `Error` variant (see [`Expr::Error`], [`Item::Error`]) and a diagnostic says
//! why. All nodes are `Eq + Hash` so the salsa database can compare and cache them; float
//! literals are therefore stored as [`FloatLit`].

use crate::Span;

/// One parsed `.cbp` file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SourceFile {
    /// `package city.traffic` — the package this file belongs to. Files without one belong to
    /// the root package.
    pub package: Option<PackageDecl>,
    pub imports: Vec<Import>,
    pub items: Vec<Item>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A dotted name: `city.traffic.violation_event`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Path {
    pub segments: Vec<Ident>,
    pub span: Span,
}

impl Path {
    /// The last segment: the name of the thing the path points at.
    pub fn last(&self) -> Option<&Ident> {
        self.segments.last()
    }

    /// The dotted text, `a.b.c`.
    pub fn dotted(&self) -> String {
        self.segments
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(".")
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PackageDecl {
    pub docs: Docs,
    pub path: Path,
    pub span: Span,
}

/// `import std.geo` (the whole package, used qualified by its last segment) or
/// `import std.geo.{distance, GeoPoint}` (the listed names, used unqualified).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Import {
    pub path: Path,
    /// `None` for a whole-package import.
    pub names: Option<Vec<Ident>>,
    pub span: Span,
}

/// The lines of the `///` doc comments before an item or field, without the `///` and one
/// leading space.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Docs {
    pub lines: Vec<String>,
    pub span: Span,
}

impl Docs {
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

/// `@pii`, `@unit("kmh")`, `@sanitizes`, `@deprecated("use x")`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Annotation {
    pub name: Ident,
    pub args: Vec<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Item {
    Enum(EnumDecl),
    Record(RecordDecl),
    /// `event`, `incident` and `directive` declarations: the three kinds of message.
    Message(MessageDecl),
    Plugin(PluginDecl),
    Authority(AuthorityDecl),
    System(SystemDecl),
    Action(ActionDecl),
    Const(ConstDecl),
    Fn(FnDecl),
    Rule(RuleDecl),
    Report(ReportDecl),
    Test(TestDecl),
    /// Text the parser could not make an item of; a diagnostic explains.
    Error(Span),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Enum(i) => i.span,
            Item::Record(i) => i.span,
            Item::Message(i) => i.span,
            Item::Plugin(i) => i.span,
            Item::Authority(i) => i.span,
            Item::System(i) => i.span,
            Item::Action(i) => i.span,
            Item::Const(i) => i.span,
            Item::Fn(i) => i.span,
            Item::Rule(i) => i.span,
            Item::Report(i) => i.span,
            Item::Test(i) => i.span,
            Item::Error(span) => *span,
        }
    }

    /// The declared name, for items that have one (tests are named by a string).
    pub fn name(&self) -> Option<&Ident> {
        match self {
            Item::Enum(i) => Some(&i.name),
            Item::Record(i) => Some(&i.name),
            Item::Message(i) => Some(&i.name),
            Item::Plugin(i) => Some(&i.name),
            Item::Authority(i) => Some(&i.name),
            Item::System(i) => Some(&i.name),
            Item::Action(i) => Some(&i.name),
            Item::Const(i) => Some(&i.name),
            Item::Fn(i) => Some(&i.name),
            Item::Rule(i) => Some(&i.name),
            Item::Report(i) => Some(&i.name),
            Item::Test(_) | Item::Error(_) => None,
        }
    }
}

/// `ordered enum Severity { low, medium, high, critical }`. Only `ordered` enums may be
/// compared with `<`, `<=`, `>`, `>=`; their order is the order of declaration.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EnumDecl {
    pub docs: Docs,
    pub annotations: Vec<Annotation>,
    pub ordered: bool,
    pub name: Ident,
    pub variants: Vec<Variant>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Variant {
    pub docs: Docs,
    pub name: Ident,
    pub span: Span,
}

/// `record VehicleData { @pii license_plate: string  speed_kmh: int? }`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RecordDecl {
    pub docs: Docs,
    pub annotations: Vec<Annotation>,
    pub name: Ident,
    pub fields: Vec<FieldDecl>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// `event flood_warning { … }`: emitted by plugins (L0) into a local node.
    Event,
    /// `incident major_flood { … }`: sent up the hierarchy by `escalate`.
    Incident,
    /// `directive flood_emergency_protocol { … }`: sent down the hierarchy by `command`.
    Directive,
}

impl MessageKind {
    pub fn keyword(self) -> &'static str {
        match self {
            MessageKind::Event => "event",
            MessageKind::Incident => "incident",
            MessageKind::Directive => "directive",
        }
    }
}

/// `event violation_event { violation_type: ViolationType … }` — the payload fields. Every
/// message also has the envelope fields of `std.envelope` (`event_id`, `timestamp`,
/// `location`, `zone`, `severity`, `confidence`, …), accessed the same way.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MessageDecl {
    pub docs: Docs,
    pub annotations: Vec<Annotation>,
    pub kind: MessageKind,
    pub name: Ident,
    pub fields: Vec<FieldDecl>,
    pub span: Span,
}

/// `@pii license_plate: string`, `confidence: float in 0.0..1.0`, `speed_kmh: int?`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldDecl {
    pub docs: Docs,
    pub annotations: Vec<Annotation>,
    pub name: Ident,
    pub ty: TypeExpr,
    /// `in LOW..HIGH`, inclusive at both ends.
    pub range: Option<RangeConstraint>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RangeConstraint {
    pub low: Expr,
    pub high: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TypeExpr {
    /// `int`, `string`, `Severity`, `std.geo.GeoPoint`
    Named(Path),
    /// `list<T>`
    List(Box<TypeExpr>, Span),
    /// `map<K, V>`
    Map(Box<TypeExpr>, Box<TypeExpr>, Span),
    /// `T?`
    Optional(Box<TypeExpr>, Span),
    Error(Span),
}

impl TypeExpr {
    pub fn span(&self) -> Span {
        match self {
            TypeExpr::Named(p) => p.span,
            TypeExpr::List(_, s)
            | TypeExpr::Map(_, _, s)
            | TypeExpr::Optional(_, s)
            | TypeExpr::Error(s) => *s,
        }
    }
}

/// `name: value` inside braces: plugin, authority and system properties, record literals,
/// action parameters, report fields, test expectations.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Property {
    pub name: Ident,
    pub value: Expr,
    pub span: Span,
}

/// `plugin "traffic-violation-detector-v2" as traffic_violations { name: "…" vendor: "…" … }`
/// The string is the `model_id` events carry; the identifier names the plugin in policy.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PluginDecl {
    pub docs: Docs,
    pub annotations: Vec<Annotation>,
    pub model_id: StringLit,
    pub name: Ident,
    pub properties: Vec<Property>,
    pub span: Span,
}

/// `authority traffic_officer { level: L1  approves: [fine]  overrides: [traffic_lights] }`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AuthorityDecl {
    pub docs: Docs,
    pub annotations: Vec<Annotation>,
    pub name: Ident,
    pub properties: Vec<Property>,
    pub span: Span,
}

/// `system traffic_control_system { layer: local  kind: actuator }` — an external system that
/// actions can target.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SystemDecl {
    pub docs: Docs,
    pub annotations: Vec<Annotation>,
    pub name: Ident,
    pub properties: Vec<Property>,
    pub span: Span,
}

/// `action notify { priority: Priority?  message: string? }` — an action kind and the
/// parameters it takes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ActionDecl {
    pub docs: Docs,
    pub annotations: Vec<Annotation>,
    pub name: Ident,
    pub params: Vec<FieldDecl>,
    pub span: Span,
}

/// `const SPEED_LIMIT_KMH: int = 60`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConstDecl {
    pub docs: Docs,
    pub annotations: Vec<Annotation>,
    pub name: Ident,
    pub ty: Option<TypeExpr>,
    pub value: Expr,
    pub span: Span,
}

/// `fn kmh(knots: float) -> float = knots * 1.852` or, for a function the runtime provides,
/// `extern fn distance(a: GeoPoint, b: GeoPoint) -> distance`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FnDecl {
    pub docs: Docs,
    pub annotations: Vec<Annotation>,
    pub is_extern: bool,
    pub name: Ident,
    pub params: Vec<Param>,
    pub ret: TypeExpr,
    /// `None` exactly when `is_extern`.
    pub body: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Param {
    pub name: Ident,
    pub ty: TypeExpr,
    pub span: Span,
}

/// `rule speeding_detected at local { on v: violation_event  when …  then { … } … }`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RuleDecl {
    pub docs: Docs,
    pub annotations: Vec<Annotation>,
    pub name: Ident,
    /// `local`, `district`, `city`, `state` or `national` (checked, not parsed, so that a
    /// misspelling gets a helpful diagnostic).
    pub layer: Ident,
    pub clauses: Vec<RuleClause>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[allow(clippy::large_enum_variant)] // clauses are few per rule; boxing would only add noise
pub enum RuleClause {
    /// `on v: violation_event` or `on v: violation_event from traffic_violations`
    On(OnClause),
    /// `when <bool expr>`
    When(Expr, Span),
    /// `let speed = v.speed_kmh ?? 0`
    Let(LetClause),
    /// `correlate jams: traffic_status over last 5m within 500m where … at least 2`
    /// or `absent …` with the same shape.
    Correlate(CorrelateClause),
    /// `priority high`
    Priority(Expr, Span),
    /// `then { actions }`
    Then(ActionBlock),
    /// `approval by traffic_officer within 30m else approve`
    Approval(ApprovalClause),
    /// `on approve { actions }` / `on reject { actions }`: what happens once a human (or the
    /// fail-safe default) has decided.
    OnOutcome(OutcomeClause),
    /// `if no response within 20m { actions }`: an escalation rule on absence of a response.
    NoResponse(NoResponseClause),
    /// A clause the parser could not read; a diagnostic explains.
    Error(Span),
}

impl RuleClause {
    pub fn span(&self) -> Span {
        match self {
            RuleClause::On(c) => c.span,
            RuleClause::When(_, s) | RuleClause::Priority(_, s) | RuleClause::Error(s) => *s,
            RuleClause::Let(c) => c.span,
            RuleClause::Correlate(c) => c.span,
            RuleClause::Then(c) => c.span,
            RuleClause::Approval(c) => c.span,
            RuleClause::OnOutcome(c) => c.span,
            RuleClause::NoResponse(c) => c.span,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OnClause {
    pub binding: Ident,
    pub message: Path,
    /// `from <plugin>`: only messages from that plugin.
    pub source: Option<Path>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LetClause {
    pub name: Ident,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CorrelateClause {
    /// `absent` instead of `correlate`: the rule holds only when no such message exists.
    pub absent: bool,
    pub binding: Ident,
    pub message: Path,
    /// `over last <duration>`. Required by the checker (windows are bounded); optional in
    /// the syntax so that its absence gets a precise diagnostic.
    pub window: Option<Expr>,
    /// `within <distance>` of the triggering message's location.
    pub radius: Option<Expr>,
    /// `where <bool expr>`, over the correlated message (and the trigger).
    pub filter: Option<Expr>,
    /// `at least <int>`; 1 when absent.
    pub min_count: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ActionBlock {
    pub actions: Vec<Action>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Approve,
    Reject,
    Escalate,
}

impl Outcome {
    pub fn keyword(self) -> &'static str {
        match self {
            Outcome::Approve => "approve",
            Outcome::Reject => "reject",
            Outcome::Escalate => "escalate",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ApprovalClause {
    pub authority: Path,
    /// The deadline, a duration after the decision.
    pub within: Expr,
    /// The fail-safe default when nobody answers in time.
    pub default: Outcome,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OutcomeClause {
    /// `Approve` or `Reject` (the parser never produces `Escalate` here).
    pub outcome: Outcome,
    pub block: ActionBlock,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NoResponseClause {
    pub within: Expr,
    pub block: ActionBlock,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// `notify traffic_officer { priority: medium }`, `log violations_db`: an action kind
    /// (declared with `action`) on a target (an `authority` or a `system`).
    Invoke(InvokeAction),
    /// `escalate major_flood to district { … }`: an incident sent up.
    Escalate(EscalateAction),
    /// `command flood_emergency_protocol to children { … }`: a directive sent down, to
    /// `children` or to a list of zones.
    Command(CommandAction),
    Error(Span),
}

impl Action {
    pub fn span(&self) -> Span {
        match self {
            Action::Invoke(a) => a.span,
            Action::Escalate(a) => a.span,
            Action::Command(a) => a.span,
            Action::Error(s) => *s,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InvokeAction {
    pub kind: Ident,
    pub target: Path,
    pub params: Vec<Property>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EscalateAction {
    pub incident: Path,
    /// A layer name: `district`, `city`, …
    pub to: Ident,
    pub fields: Vec<Property>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CommandAction {
    pub directive: Path,
    /// `children` (every child node) or an expression of type `list<zone>`/`list<string>`.
    pub to: CommandTarget,
    pub fields: Vec<Property>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CommandTarget {
    Children(Span),
    Zones(Expr),
}

/// `report neighbourhood_report at local every 15m to district { total_events: count() … }`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReportDecl {
    pub docs: Docs,
    pub annotations: Vec<Annotation>,
    pub name: Ident,
    pub layer: Ident,
    pub every: Expr,
    pub to: Ident,
    pub fields: Vec<Property>,
    pub span: Span,
}

/// `test "speeding is fined when nobody answers" { … }`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TestDecl {
    pub docs: Docs,
    pub name: StringLit,
    pub steps: Vec<TestStep>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TestStep {
    /// `send violation_event at 5s { event_id: "e1" … }`: an input message at an offset
    /// from the test's start (2025-01-01T00:00:00Z unless `start` is given) or at an
    /// absolute `timestamp("…")`.
    Send(SendStep),
    /// `advance 31m`: move the clock forward.
    Advance(Expr, Span),
    /// `expect decision speeding_detected { trigger: "e1" }`, `expect no escalation`,
    /// `expect 2 report neighbourhood_report`.
    Expect(ExpectStep),
    Error(Span),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SendStep {
    pub message: Path,
    pub at: Expr,
    pub fields: Vec<Property>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExpectKind {
    Decision,
    Approval,
    Escalation,
    Report,
    Command,
    Action,
    DeadLetter,
}

impl ExpectKind {
    pub fn keyword(self) -> &'static str {
        match self {
            ExpectKind::Decision => "decision",
            ExpectKind::Approval => "approval",
            ExpectKind::Escalation => "escalation",
            ExpectKind::Report => "report",
            ExpectKind::Command => "command",
            ExpectKind::Action => "action",
            ExpectKind::DeadLetter => "dead_letter",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ExpectStep {
    /// `expect no …`: no such record.
    pub negated: bool,
    /// `expect 2 …`: exactly this many.
    pub count: Option<Expr>,
    pub kind: ExpectKind,
    pub kind_span: Span,
    /// The rule, report, incident or directive the record is about, when given.
    pub subject: Option<Path>,
    /// Fields the record must have, with these values.
    pub fields: Vec<Property>,
    pub span: Span,
}

/// A string literal with escapes resolved.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StringLit {
    pub value: String,
    pub span: Span,
}

/// An `f64` that is `Eq + Hash` by its bits, so the tree can be cached.
#[derive(Clone, Copy, Debug)]
pub struct FloatLit(pub f64);

impl PartialEq for FloatLit {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for FloatLit {}

impl std::hash::Hash for FloatLit {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Neg,
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `x in [a, b]`, `s in list`
    In,
    /// `x ?? default` — the value of an optional, or the default when it is absent.
    Coalesce,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::In => "in",
            BinaryOp::Coalesce => "??",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
        }
    }
}

/// A number with a unit: `30m`, `1.5km`, `500ms`, `2h`. The unit decides the type
/// (`s`, `ms`, `min`, `h`, `d` are durations; `km` is a distance); `m` is minutes where a
/// duration is expected and metres where a distance is, and an error where neither is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct QuantityLit {
    pub value: FloatLit,
    pub unit: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MatchArm {
    pub pattern: Pattern,
    pub body: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Pattern {
    /// An enum variant (or a constant) by name.
    Name(Path),
    Int(i64, Span),
    Str(StringLit),
    Bool(bool, Span),
    /// `_`
    Wildcard(Span),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Expr {
    Int(i64, Span),
    Float(FloatLit, Span),
    Str(StringLit),
    Bool(bool, Span),
    Quantity(QuantityLit),
    /// A name: a binding, a constant, an enum variant, a package.
    Name(Ident),
    /// `e.field` — field access, or a qualified name when `e` names a package; resolution
    /// decides.
    Field(Box<Expr>, Ident, Span),
    /// `f(a, b)`, `std.geo.distance(a, b)`
    Call(Path, Vec<Expr>, Span),
    Unary(UnaryOp, Box<Expr>, Span),
    Binary(BinaryOp, Box<Expr>, Box<Expr>, Span),
    /// `if c then a else b`
    If(Box<Expr>, Box<Expr>, Box<Expr>, Span),
    /// `match e { speeding => 1, _ => 0 }`
    Match(Box<Expr>, Vec<MatchArm>, Span),
    /// `[a, b, c]`
    List(Vec<Expr>, Span),
    /// `{ latitude: 1.0, longitude: 2.0 }`: a record value, typed by where it is used.
    Record(Vec<Property>, Span),
    /// `(e)`, kept so the formatter can keep the parentheses an author wrote.
    Paren(Box<Expr>, Span),
    /// An expression the parser could not read; a diagnostic explains.
    Error(Span),
}

impl Expr {
    pub fn span(&self) -> Span {
        match self {
            Expr::Int(_, s)
            | Expr::Float(_, s)
            | Expr::Bool(_, s)
            | Expr::Field(_, _, s)
            | Expr::Call(_, _, s)
            | Expr::Unary(_, _, s)
            | Expr::Binary(_, _, _, s)
            | Expr::If(_, _, _, s)
            | Expr::Match(_, _, s)
            | Expr::List(_, s)
            | Expr::Record(_, s)
            | Expr::Paren(_, s)
            | Expr::Error(s) => *s,
            Expr::Str(l) => l.span,
            Expr::Quantity(q) => q.span,
            Expr::Name(i) => i.span,
        }
    }
}
