//! The type of a constant declared without one, read from its value's syntax.
//!
//! Signatures are built before any body is checked, so a constant without a type must show it
//! in its value: a literal (`60`, `15min`, `2km`, `["a"]`). Anything else gets exactly one
//! diagnostic here, whose help names the type the value would most likely have; the body
//! check then stays quiet about an ambiguous `m` (see `Cx::quiet_ambiguous_m`).

use crate::diag::{Loc, LocDiag};
use crate::hir::Ty;
use cbp_syntax::Span;
use cbp_syntax::ast::{BinaryOp, ConstDecl, Expr, UnaryOp};

/// What the value's syntax says about its type.
#[derive(Clone, Debug, PartialEq)]
enum Guess {
    Known(String),
    /// Only `m` quantities decide it: minutes or metres.
    MinutesOrMetres,
    Unknown,
}

fn known(t: &str) -> Guess {
    Guess::Known(t.to_owned())
}

/// The type of an untyped constant whose value is not a literal of a known type (`literal`
/// is that literal type when there is one); pushes the one diagnostic that explains why not.
pub fn untyped(d: &ConstDecl, literal: Option<Ty>, loc: Loc, diags: &mut Vec<LocDiag>) -> Ty {
    if let Some(t) = literal {
        return t;
    }
    // The syntax stage reported an unknown unit (E0009) or broken expression: the one mistake.
    if already_reported(&d.value) {
        return Ty::Error;
    }
    let name = &d.name.name;
    match guess(&d.value) {
        Guess::MinutesOrMetres => {
            let (span, text) = first_metre_or_minute(&d.value).unwrap_or((d.name.span, "m".into()));
            let n = text.trim_end_matches('m');
            diags.push(
                LocDiag::error(
                    "E0302",
                    loc.with_span(span),
                    format!("`{text}` could be minutes or metres"),
                )
                .label(format!("constant `{name}` has no type to tell"))
                .help(format!(
                    "write `{n}min` for minutes, or add a type: `: duration` or `: distance`"
                )),
            );
        }
        Guess::Known(t) => diags.push(cannot_infer(d, loc, format!("`const {name}: {t} = …`"))),
        Guess::Unknown => diags.push(cannot_infer(d, loc, format!("`const {name}: <type> = …`"))),
    }
    Ty::Error
}

fn cannot_infer(d: &ConstDecl, loc: Loc, with_type: String) -> LocDiag {
    LocDiag::error(
        "E0207",
        loc.with_span(d.name.span),
        format!("cannot infer the type of constant `{}`", d.name.name),
    )
    .label("needs a type")
    .help(format!("add a type: {with_type}"))
}

fn unit_type(unit: &str) -> Option<Guess> {
    Some(match unit {
        "ms" | "s" | "min" | "h" | "d" => known("duration"),
        "km" => known("distance"),
        "m" => Guess::MinutesOrMetres,
        _ => return None,
    })
}

fn guess(e: &Expr) -> Guess {
    match e {
        Expr::Int(..) => known("int"),
        Expr::Float(..) => known("float"),
        Expr::Str(_) => known("string"),
        Expr::Bool(..) => known("bool"),
        Expr::Quantity(q) => unit_type(&q.unit).unwrap_or(Guess::Unknown),
        Expr::Paren(x, _) | Expr::Unary(UnaryOp::Neg, x, _) => guess(x),
        Expr::Unary(UnaryOp::Not, ..) => known("bool"),
        Expr::If(_, a, b, _) => match guess(a) {
            Guess::Unknown => guess(b),
            g => g,
        },
        Expr::List(xs, _) => match xs.first().map(guess) {
            Some(Guess::Known(t)) => Guess::Known(format!("list<{t}>")),
            Some(Guess::MinutesOrMetres) => Guess::MinutesOrMetres,
            _ => Guess::Unknown,
        },
        Expr::Binary(op, a, b, _) => binary(*op, guess(a), guess(b)),
        _ => Guess::Unknown,
    }
}

fn binary(op: BinaryOp, a: Guess, b: Guess) -> Guess {
    use BinaryOp::*;
    match op {
        Eq | Ne | Lt | Le | Gt | Ge | And | Or | In => return known("bool"),
        Coalesce => return if b == Guess::Unknown { a } else { b },
        _ => {}
    }
    let name = |g: &Guess| match g {
        Guess::Known(t) => Some(t.clone()),
        _ => None,
    };
    let (ta, tb) = (name(&a), name(&b));
    let has = |t: &str| ta.as_deref() == Some(t) || tb.as_deref() == Some(t);
    // A quantity decides the unit of an `m` next to it: `30m + 5min` is a duration.
    if has("duration") {
        return known("duration");
    }
    if has("distance") {
        return known("distance");
    }
    if a == Guess::MinutesOrMetres || b == Guess::MinutesOrMetres {
        return Guess::MinutesOrMetres;
    }
    match (ta.as_deref(), tb.as_deref()) {
        (Some("int"), Some("int")) => known("int"),
        (Some("int" | "float"), Some("int" | "float")) => known("float"),
        (Some("string"), Some("string")) => known("string"),
        _ => Guess::Unknown,
    }
}

/// Whether the value holds an error node or a quantity with an unknown unit, both reported
/// by the parser or lexer.
fn already_reported(e: &Expr) -> bool {
    match e {
        Expr::Error(_) => true,
        Expr::Quantity(q) => unit_type(&q.unit).is_none(),
        Expr::Paren(x, _) | Expr::Unary(_, x, _) => already_reported(x),
        Expr::Binary(_, a, b, _) => already_reported(a) || already_reported(b),
        Expr::If(c, a, b, _) => already_reported(c) || already_reported(a) || already_reported(b),
        Expr::List(xs, _) => xs.iter().any(already_reported),
        _ => false,
    }
}

/// The first `m` quantity of the value, with its text as written (`30m`).
fn first_metre_or_minute(e: &Expr) -> Option<(Span, String)> {
    match e {
        Expr::Quantity(q) if q.unit == "m" => Some((q.span, format!("{}m", q.value.0))),
        Expr::Paren(x, _) | Expr::Unary(_, x, _) => first_metre_or_minute(x),
        Expr::Binary(_, a, b, _) => first_metre_or_minute(a).or_else(|| first_metre_or_minute(b)),
        Expr::If(_, a, b, _) => first_metre_or_minute(a).or_else(|| first_metre_or_minute(b)),
        Expr::List(xs, _) => xs.iter().find_map(first_metre_or_minute),
        _ => None,
    }
}
