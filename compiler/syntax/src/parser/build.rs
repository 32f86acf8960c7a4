//! Tree-building helpers called from the grammar's actions, and the parse context that
//! collects what the actions find wrong.
//!
//! Expressions and types travel through the grammar as `(node, depth)` pairs: `depth` is the
//! height of the subtree, computed from the children's heights in O(1) per node. A node
//! deeper than [`MAX_DEPTH`] is replaced by an error node (E0013), which keeps every tree
//! shallow enough that recursive code over it (drop, `Hash`, the checker) cannot overflow the
//! stack, whatever the input.

use super::errors::CASCADE_TOKENS;
use crate::Span;
use crate::ast::*;
use crate::lexer::{LexIssue, Quantity, Token};
use lalrpop_util::ErrorRecovery;

/// An expression with the height of its tree.
pub type Ex = (Expr, u32);
/// A type with the height of its tree.
pub type Ty = (TypeExpr, u32);

/// The deepest expression or type tree the parser builds.
pub const MAX_DEPTH: u32 = 96;

pub type Recovery = ErrorRecovery<usize, Token, &'static str>;

/// What the grammar actions collect while parsing.
#[derive(Default)]
pub struct Ctx {
    /// Every error the parser recovered from, in order.
    pub recoveries: Vec<Recovery>,
    /// Problems found by the actions themselves (chained comparisons, unknown outcomes…).
    pub issues: Vec<LexIssue>,
    /// Where each token that follows removed unknown characters starts, in order.
    pub after_unknown: Vec<usize>,
    /// The span of every expression in a top-level position (see [`top_level`]).
    pub top_level: Vec<Span>,
    /// Where each token the parser reads starts, in order.
    pub token_starts: Vec<usize>,
    too_deep_reported: bool,
}

impl Ctx {
    pub fn recovered(&mut self, recovery: Recovery) {
        self.recoveries.push(recovery);
    }

    fn issue(
        &mut self,
        code: &'static str,
        span: Span,
        message: String,
        label: &str,
        help: Option<&str>,
    ) {
        self.issues.push(LexIssue {
            code,
            span,
            message,
            label: label.to_owned(),
            help: help.map(str::to_owned),
        });
    }

    /// The token stream already reported E0013; report it at most once per file.
    pub fn too_deep_already_reported(&mut self) {
        self.too_deep_reported = true;
    }

    fn too_deep(&mut self, span: Span) {
        if !self.too_deep_reported {
            self.too_deep_reported = true;
            self.issue(
                "E0013",
                span,
                "expression is nested too deeply".to_owned(),
                "nested too deeply",
                Some("split it up with `let` clauses, constants or functions"),
            );
        }
    }
}

pub fn sp(l: usize, r: usize) -> Span {
    Span::new(l, r)
}

/// Wraps a freshly built expression, cutting it off if it is too deep.
fn nest(ctx: &mut Ctx, expr: Expr, depth: u32) -> Ex {
    if depth > MAX_DEPTH {
        let span = expr.span();
        ctx.too_deep(span);
        (Expr::Error(span), 1)
    } else {
        (expr, depth)
    }
}

fn nest_type(ctx: &mut Ctx, ty: TypeExpr, depth: u32) -> Ty {
    if depth > MAX_DEPTH {
        let span = ty.span();
        ctx.too_deep(span);
        (TypeExpr::Error(span), 1)
    } else {
        (ty, depth)
    }
}

pub fn annotate(ctx: &mut Ctx, mut item: Item, annotations: Vec<Annotation>, start: usize) -> Item {
    if annotations.is_empty() {
        return item;
    }
    let start_span = sp(start, start);
    let slot = match &mut item {
        Item::Enum(i) => Some((&mut i.annotations, &mut i.span)),
        Item::Record(i) => Some((&mut i.annotations, &mut i.span)),
        Item::Message(i) => Some((&mut i.annotations, &mut i.span)),
        Item::Plugin(i) => Some((&mut i.annotations, &mut i.span)),
        Item::Authority(i) => Some((&mut i.annotations, &mut i.span)),
        Item::System(i) => Some((&mut i.annotations, &mut i.span)),
        Item::Action(i) => Some((&mut i.annotations, &mut i.span)),
        Item::Const(i) => Some((&mut i.annotations, &mut i.span)),
        Item::Fn(i) => Some((&mut i.annotations, &mut i.span)),
        Item::Rule(i) => Some((&mut i.annotations, &mut i.span)),
        Item::Report(i) => Some((&mut i.annotations, &mut i.span)),
        Item::Test(_) | Item::Error(_) => None,
    };
    match slot {
        Some((anns, span)) => {
            *span = start_span.to(*span);
            *anns = annotations;
        }
        None => {
            if let Item::Test(t) = &mut item {
                t.span = start_span.to(t.span);
            }
            let first = annotations.first().map_or(start_span, |a| a.span);
            let last = annotations.last().map_or(start_span, |a| a.span);
            ctx.issue(
                "E0014",
                first.to(last),
                "tests cannot have annotations".to_owned(),
                "not allowed on a test",
                Some("remove the annotations"),
            );
        }
    }
    item
}

/// Whether the recovery just made is a cascade of the one before (it failed within a few
/// tokens of where that one resumed, see `parser/errors.rs`). A list entry it leaves behind
/// is then made of the first mistake's leftovers, like `0` in `clear 0 rain => 1`, not a
/// new entry.
fn is_cascade(ctx: &Ctx) -> bool {
    let index = |r: &Recovery| match &r.error {
        lalrpop_util::ParseError::UnrecognizedToken { token, .. } => {
            ctx.token_starts.partition_point(|&s| s < token.0)
        }
        _ => ctx.token_starts.len(),
    };
    let mut latest = ctx.recoveries.iter().rev();
    match (latest.next(), latest.next()) {
        (Some(current), Some(previous)) => {
            index(current) < index(previous) + previous.dropped_tokens.len() + CASCADE_TOKENS
        }
        _ => false,
    }
}

/// A field whose type could not be read: kept by name, with an error type, so that its uses
/// are not reported as unknown fields.
pub fn broken_field(
    ctx: &Ctx,
    annotations: Vec<Annotation>,
    name: Ident,
    ty_span: Span,
    span: Span,
) -> Option<FieldDecl> {
    if is_cascade(ctx) {
        return None;
    }
    Some(FieldDecl {
        docs: Docs::default(),
        annotations,
        name,
        ty: TypeExpr::Error(ty_span),
        range: None,
        span,
    })
}

/// A property whose value could not be read: kept by name, with an error value, so that it
/// is not reported as missing.
pub fn broken_property(ctx: &Ctx, name: Ident, value_span: Span, span: Span) -> Option<Property> {
    if is_cascade(ctx) {
        return None;
    }
    Some(Property {
        name,
        value: Expr::Error(value_span),
        span,
    })
}

/// A match arm whose body could not be read: kept with its pattern and an error body, so
/// that the pattern is not reported as uncovered.
pub fn broken_arm(ctx: &Ctx, pattern: Pattern, body_span: Span, span: Span) -> Option<MatchArm> {
    if is_cascade(ctx) {
        return None;
    }
    Some(MatchArm {
        pattern,
        body: Expr::Error(body_span),
        span,
    })
}

pub fn annotation(name: String, args: Vec<Expr>, l: usize, r: usize) -> Annotation {
    // The name follows the `@`.
    let name_span = sp(l + 1, l + 1 + name.len());
    Annotation {
        name: Ident {
            name,
            span: name_span,
        },
        args,
        span: sp(l, r),
    }
}

pub fn generic_type(ctx: &mut Ctx, path: Path, args: Vec<Ty>, span: Span) -> Ty {
    let depth = args.iter().map(|a| a.1).max().unwrap_or(0) + 1;
    let name = path.dotted();
    let mut args: Vec<TypeExpr> = args.into_iter().map(|a| a.0).collect();
    let ty = match (name.as_str(), args.len()) {
        ("list", 1) => args.pop().map(|t| TypeExpr::List(Box::new(t), span)),
        ("map", 2) => {
            let value = args.pop();
            let key = args.pop();
            key.zip(value)
                .map(|(k, v)| TypeExpr::Map(Box::new(k), Box::new(v), span))
        }
        ("list", n) => {
            ctx.issue(
                "E0012",
                span,
                format!("`list` takes 1 type argument, found {n}"),
                "wrong number of type arguments",
                Some("write a list type as `list<T>`"),
            );
            None
        }
        ("map", n) => {
            ctx.issue(
                "E0012",
                span,
                format!("`map` takes 2 type arguments, found {n}"),
                "wrong number of type arguments",
                Some("write a map type as `map<K, V>`"),
            );
            None
        }
        _ => {
            ctx.issue(
                "E0012",
                path.span,
                format!("`{name}` takes no type arguments"),
                "not a generic type",
                Some("only `list<T>` and `map<K, V>` take type arguments"),
            );
            None
        }
    };
    nest_type(ctx, ty.unwrap_or(TypeExpr::Error(span)), depth)
}

pub fn optional_type(ctx: &mut Ctx, inner: Ty, span: Span) -> Ty {
    nest_type(
        ctx,
        TypeExpr::Optional(Box::new(inner.0), span),
        inner.1 + 1,
    )
}

fn outcome_of(word: &Ident) -> Option<Outcome> {
    match word.name.as_str() {
        "approve" => Some(Outcome::Approve),
        "reject" => Some(Outcome::Reject),
        "escalate" => Some(Outcome::Escalate),
        _ => None,
    }
}

/// The `else` of an approval clause: `approve`, `reject` or `escalate`.
pub fn approval_default(ctx: &mut Ctx, word: Ident) -> Outcome {
    match outcome_of(&word) {
        Some(outcome) => outcome,
        None => {
            ctx.issue(
                "E0011",
                word.span,
                format!("unknown approval outcome `{}`", word.name),
                "expected `approve`, `reject` or `escalate`",
                Some("the default after `else` is `approve`, `reject` or `escalate`"),
            );
            // The fail-safe reading; the error stops compilation anyway.
            Outcome::Reject
        }
    }
}

/// `on approve { … }` / `on reject { … }`.
pub fn outcome_clause(ctx: &mut Ctx, word: Ident, block: ActionBlock, span: Span) -> RuleClause {
    match outcome_of(&word) {
        Some(outcome @ (Outcome::Approve | Outcome::Reject)) => {
            RuleClause::OnOutcome(OutcomeClause {
                outcome,
                block,
                span,
            })
        }
        Some(Outcome::Escalate) => {
            ctx.issue(
                "E0011",
                word.span,
                "`escalate` is not a decision that can be handled with `on`".to_owned(),
                "expected `approve` or `reject`",
                Some(
                    "handle a missing answer with `if no response within … { … }`, or \
                     write `on approve` / `on reject`",
                ),
            );
            RuleClause::Error(span)
        }
        None => {
            ctx.issue(
                "E0011",
                word.span,
                format!("unknown approval outcome `{}`", word.name),
                "expected `approve` or `reject`",
                Some("a handler is `on approve { … }` or `on reject { … }`"),
            );
            RuleClause::Error(span)
        }
    }
}

pub fn expect_step(
    ctx: &mut Ctx,
    negated: bool,
    count: Option<Expr>,
    kind: Ident,
    subject: Option<Path>,
    fields: Option<Vec<Property>>,
    span: Span,
) -> TestStep {
    let parsed = match kind.name.as_str() {
        "decision" => Some(ExpectKind::Decision),
        "approval" => Some(ExpectKind::Approval),
        "escalation" => Some(ExpectKind::Escalation),
        "report" => Some(ExpectKind::Report),
        "command" => Some(ExpectKind::Command),
        "action" => Some(ExpectKind::Action),
        "dead_letter" => Some(ExpectKind::DeadLetter),
        _ => None,
    };
    match parsed {
        Some(k) => TestStep::Expect(ExpectStep {
            negated,
            count,
            kind: k,
            kind_span: kind.span,
            subject,
            fields: fields.unwrap_or_default(),
            span,
        }),
        None => {
            ctx.issue(
                "E0010",
                kind.span,
                format!("unknown expectation `{}`", kind.name),
                "not a kind of record",
                Some(
                    "expect one of `decision`, `approval`, `escalation`, `report`, `command`, \
                     `action`, `dead_letter`",
                ),
            );
            TestStep::Error(span)
        }
    }
}

pub fn if_expr(ctx: &mut Ctx, c: Ex, a: Ex, b: Ex, span: Span) -> Ex {
    let depth = c.1.max(a.1).max(b.1) + 1;
    nest(
        ctx,
        Expr::If(Box::new(c.0), Box::new(a.0), Box::new(b.0), span),
        depth,
    )
}

pub fn binary(ctx: &mut Ctx, op: BinaryOp, a: Ex, b: Ex, span: Span) -> Ex {
    let depth = a.1.max(b.1) + 1;
    nest(
        ctx,
        Expr::Binary(op, Box::new(a.0), Box::new(b.0), span),
        depth,
    )
}

fn is_comparison(op: BinaryOp) -> bool {
    matches!(
        op,
        BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::In
    )
}

/// A comparison; `a < b < c` is parsed (left-nested) but reported, and becomes an error
/// node: comparisons do not chain, and the checker must not report the nonsense `(a < b) < c`
/// as a second mistake.
pub fn comparison(ctx: &mut Ctx, op: BinaryOp, a: Ex, b: Ex, span: Span) -> Ex {
    // The rest of a chain already reported (`… < d` after `a < b < c`): still one mistake.
    if matches!(a.0, Expr::Error(_)) {
        return (Expr::Error(span), 1);
    }
    if let Expr::Binary(inner, ..) = &a.0
        && is_comparison(*inner)
    {
        ctx.issue(
            "E0005",
            span,
            format!(
                "comparison operators cannot be chained: `{}` after `{}`",
                op.symbol(),
                inner.symbol()
            ),
            "chained comparison",
            Some("split it with `and`, e.g. `a < b and b < c`, or add parentheses"),
        );
        return (Expr::Error(span), 1);
    }
    binary(ctx, op, a, b, span)
}

/// A quantity literal; one with an unknown unit (already reported by the lexer, E0009) is an
/// error node, so that the checker does not report the unit again.
pub fn quantity(q: Quantity, span: Span) -> Ex {
    if !q.has_known_unit() {
        return (Expr::Error(span), 1);
    }
    let lit = QuantityLit {
        value: FloatLit(q.value),
        unit: q.unit,
        span,
    };
    (Expr::Quantity(lit), 1)
}

/// An expression in a top-level position (a clause, a property value, a constant…), from
/// `l` to `r`. It becomes an error node when unknown characters (already reported) were
/// dropped from it: what was parsed is not what was written. Its span is kept so that
/// `parser/cut_short.rs` can do the same if recovery cuts it short.
pub fn top_level(ctx: &mut Ctx, e: Ex, l: usize, r: usize) -> Expr {
    let span = sp(l, r);
    let first = ctx.after_unknown.partition_point(|&at| at < l);
    if ctx.after_unknown.get(first).is_some_and(|&at| at < r) {
        return Expr::Error(span);
    }
    ctx.top_level.push(span);
    e.0
}

pub fn unary(ctx: &mut Ctx, op: UnaryOp, e: Ex, span: Span) -> Ex {
    nest(ctx, Expr::Unary(op, Box::new(e.0), span), e.1 + 1)
}

/// `a.b.c` as an expression: the name `a`, then field accesses.
pub fn path_expr(ctx: &mut Ctx, path: Path) -> Ex {
    let mut segments = path.segments.into_iter();
    let Some(first) = segments.next() else {
        return (Expr::Error(path.span), 1);
    };
    let start = first.span;
    let mut expr = Expr::Name(first);
    let mut depth = 1;
    for segment in segments {
        let span = start.to(segment.span);
        depth += 1;
        expr = Expr::Field(Box::new(expr), segment, span);
        if depth > MAX_DEPTH {
            ctx.too_deep(span);
            expr = Expr::Error(span);
            depth = 1;
        }
    }
    (expr, depth)
}

pub fn call(ctx: &mut Ctx, callee: Path, args: Vec<Ex>, span: Span) -> Ex {
    let depth = args.iter().map(|a| a.1).max().unwrap_or(0) + 1;
    let args = args.into_iter().map(|a| a.0).collect();
    nest(ctx, Expr::Call(callee, args, span), depth)
}

pub fn field(ctx: &mut Ctx, base: Ex, name: Ident, span: Span) -> Ex {
    nest(ctx, Expr::Field(Box::new(base.0), name, span), base.1 + 1)
}

pub fn list(ctx: &mut Ctx, items: Vec<Ex>, span: Span) -> Ex {
    let depth = items.iter().map(|a| a.1).max().unwrap_or(0) + 1;
    let items = items.into_iter().map(|a| a.0).collect();
    nest(ctx, Expr::List(items, span), depth)
}

pub fn record(ctx: &mut Ctx, props: Vec<Option<(Property, u32)>>, span: Span) -> Ex {
    let props: Vec<(Property, u32)> = props.into_iter().flatten().collect();
    let depth = props.iter().map(|p| p.1).max().unwrap_or(0) + 1;
    let props = props.into_iter().map(|p| p.0).collect();
    nest(ctx, Expr::Record(props, span), depth)
}

pub fn paren(ctx: &mut Ctx, e: Ex, span: Span) -> Ex {
    nest(ctx, Expr::Paren(Box::new(e.0), span), e.1 + 1)
}

pub fn match_expr(
    ctx: &mut Ctx,
    scrutinee: Ex,
    arms: Vec<Option<(MatchArm, u32)>>,
    span: Span,
) -> Ex {
    let arms: Vec<(MatchArm, u32)> = arms.into_iter().flatten().collect();
    let depth = arms.iter().map(|a| a.1).max().unwrap_or(0).max(scrutinee.1) + 1;
    let arms = arms.into_iter().map(|a| a.0).collect();
    nest(ctx, Expr::Match(Box::new(scrutinee.0), arms, span), depth)
}
