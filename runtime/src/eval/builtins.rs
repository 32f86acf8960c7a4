//! The functions the runtime provides (`extern fn`s of the standard library).

use super::EvalContext;
use super::interp::get_field;
use crate::geo::{Point, haversine, route};
use crate::time::{hour_of_day, parse_rfc3339};
use cbp_ir::{Builtin, Scalar, Ty, Value};
use sha2::{Digest, Sha256};
use std::cmp::Ordering;
use std::sync::Arc;

/// Equality across value variants that hold the same kind of thing (a string equals a zone
/// of the same text, an int a float of the same value).
pub(crate) fn values_equal(a: &Value, b: &Value) -> bool {
    use Value::*;
    match (a, b) {
        (Str(x) | Zone(x), Str(y) | Zone(y)) => x == y,
        (Int(x), Float(y)) | (Float(y), Int(x)) => (*x as f64) == *y,
        (Enum(i, x), Enum(j, y)) => i == j && x == y,
        (List(x), List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| values_equal(p, q))
        }
        (Message(_, x), Message(_, y)) => Arc::ptr_eq(x, y) || x == y,
        _ => a == b,
    }
}

/// Ordering of two comparable values; `None` when they are not comparable.
pub(crate) fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    use Value::*;
    match (a, b) {
        (Int(x), Int(y)) | (Duration(x), Duration(y)) | (Timestamp(x), Timestamp(y)) => {
            Some(x.cmp(y))
        }
        (Int(x), Float(y)) => (*x as f64).partial_cmp(y),
        (Float(x), Int(y)) => x.partial_cmp(&(*y as f64)),
        (Float(x), Float(y)) | (Distance(x), Distance(y)) => x.partial_cmp(y),
        (Str(x) | Zone(x), Str(y) | Zone(y)) => Some(x.cmp(y)),
        (Bool(x), Bool(y)) => Some(x.cmp(y)),
        (Enum(i, x), Enum(j, y)) if i == j => Some(x.cmp(y)),
        _ => None,
    }
}

fn text(v: &Value) -> Option<&str> {
    match v {
        Value::Str(s) | Value::Zone(s) => Some(s),
        _ => None,
    }
}

fn point(cx: &EvalContext<'_>, v: &Value) -> Option<Point> {
    let coordinate = |name| match get_field(cx, v, name) {
        Value::Float(f) => Some(f),
        Value::Int(i) => Some(i as f64),
        _ => None,
    };
    Some(Point {
        lat: coordinate("latitude")?,
        lon: coordinate("longitude")?,
    })
}

fn str_value(s: impl Into<Arc<str>>) -> Value {
    Value::Str(s.into())
}

/// `tokenize`: a stable, non-reversible token.
pub(crate) fn token(text: &str) -> String {
    let digest = Sha256::digest(format!("cbp-token\0{text}").as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("tok-{hex}")
}

/// Calls a builtin on evaluated arguments. Any null argument gives null.
pub(crate) fn call(cx: &EvalContext<'_>, builtin: Builtin, args: &[Value], ty: &Ty) -> Value {
    if args.iter().any(Value::is_null) {
        return Value::Null;
    }
    let arg = |i: usize| args.get(i).unwrap_or(&Value::Null);
    match builtin {
        Builtin::Distance => match (point(cx, arg(0)), point(cx, arg(1))) {
            (Some(a), Some(b)) => Value::Distance(haversine(a, b)),
            _ => Value::Null,
        },
        Builtin::Route => match (point(cx, arg(0)), point(cx, arg(1))) {
            (Some(a), Some(b)) => route_value(cx, a, b, ty),
            _ => Value::Null,
        },
        Builtin::ParentZone => match text(arg(0)) {
            Some(zone) => match zone.rfind('.') {
                Some(i) => Value::Zone(Arc::from(&zone[..i])),
                None => Value::Null,
            },
            None => Value::Null,
        },
        Builtin::InZone => match (text(arg(0)), text(arg(1))) {
            (Some(zone), Some(ancestor)) => Value::Bool(
                zone == ancestor
                    || ancestor == "national"
                    || (zone.starts_with(ancestor) && zone[ancestor.len()..].starts_with('.')),
            ),
            _ => Value::Null,
        },
        Builtin::ParseTimestamp => text(arg(0))
            .and_then(parse_rfc3339)
            .map(Value::Timestamp)
            .unwrap_or(Value::Null),
        Builtin::HourOfDay => match arg(0) {
            Value::Timestamp(t) => Value::Int(hour_of_day(*t)),
            _ => Value::Null,
        },
        Builtin::Minutes => match arg(0) {
            Value::Duration(d) => Value::Float(*d as f64 / 60_000.0),
            _ => Value::Null,
        },
        Builtin::Seconds => match arg(0) {
            Value::Duration(d) => Value::Float(*d as f64 / 1000.0),
            _ => Value::Null,
        },
        Builtin::StrLen | Builtin::ListLen => match arg(0) {
            Value::Str(s) | Value::Zone(s) => Value::Int(s.chars().count() as i64),
            Value::List(items) => Value::Int(items.len() as i64),
            Value::Map(entries) => Value::Int(entries.len() as i64),
            _ => Value::Null,
        },
        Builtin::Lower => text(arg(0))
            .map(|s| str_value(s.to_lowercase()))
            .unwrap_or(Value::Null),
        Builtin::Upper => text(arg(0))
            .map(|s| str_value(s.to_uppercase()))
            .unwrap_or(Value::Null),
        Builtin::StartsWith => match (text(arg(0)), text(arg(1))) {
            (Some(s), Some(p)) => Value::Bool(s.starts_with(p)),
            _ => Value::Null,
        },
        Builtin::EndsWith => match (text(arg(0)), text(arg(1))) {
            (Some(s), Some(p)) => Value::Bool(s.ends_with(p)),
            _ => Value::Null,
        },
        Builtin::StrContains => match (arg(0), arg(1)) {
            (Value::List(items), item) => Value::Bool(items.iter().any(|x| values_equal(x, item))),
            (a, b) => match (text(a), text(b)) {
                (Some(s), Some(p)) => Value::Bool(s.contains(p)),
                _ => Value::Null,
            },
        },
        Builtin::Distinct => match arg(0) {
            Value::List(items) => Value::List(Arc::new(distinct(items))),
            _ => Value::Null,
        },
        Builtin::Sum => sum(arg(0), ty),
        Builtin::Min | Builtin::Max => match arg(0) {
            Value::List(items) => {
                let mut best: Option<&Value> = None;
                for item in items.iter() {
                    if item.is_null() {
                        return Value::Null;
                    }
                    best = match best {
                        None => Some(item),
                        Some(b) => {
                            let better = match compare(item, b) {
                                Some(Ordering::Less) => builtin == Builtin::Min,
                                Some(Ordering::Greater) => builtin == Builtin::Max,
                                Some(Ordering::Equal) => false,
                                None => return Value::Null,
                            };
                            Some(if better { item } else { b })
                        }
                    };
                }
                best.cloned().unwrap_or(Value::Null)
            }
            _ => Value::Null,
        },
        Builtin::Avg => match arg(0) {
            Value::List(items) if !items.is_empty() => {
                let mut total = 0.0;
                for item in items.iter() {
                    total += match item {
                        Value::Int(i) | Value::Duration(i) => *i as f64,
                        Value::Float(f) | Value::Distance(f) => *f,
                        _ => return Value::Null,
                    };
                }
                Value::Float(total / items.len() as f64)
            }
            _ => Value::Null,
        },
        Builtin::Tokenize => text(arg(0))
            .map(|s| str_value(token(s)))
            .unwrap_or(Value::Null),
        Builtin::Redact => str_value("[redacted]"),
        Builtin::Concat => match (text(arg(0)), text(arg(1))) {
            (Some(a), Some(b)) => str_value(format!("{a}{b}")),
            _ => Value::Null,
        },
        Builtin::ListConcat => match (arg(0), arg(1)) {
            (Value::List(a), Value::List(b)) => {
                Value::List(Arc::new(a.iter().chain(b.iter()).cloned().collect()))
            }
            _ => Value::Null,
        },
    }
}

/// A hashable key for the scalar values `distinct` usually sees.
#[derive(PartialEq, Eq, Hash)]
enum Key<'a> {
    Text(&'a str),
    Int(i64),
    Bool(bool),
    Enum(u32, u32),
}

fn key(value: &Value) -> Option<Key<'_>> {
    match value {
        Value::Str(s) | Value::Zone(s) => Some(Key::Text(s)),
        Value::Int(i) | Value::Duration(i) | Value::Timestamp(i) => Some(Key::Int(*i)),
        Value::Bool(b) => Some(Key::Bool(*b)),
        Value::Enum(id, index) => Some(Key::Enum(id.0, *index)),
        _ => None,
    }
}

/// The list without repeats, in first-seen order: hashed for scalars, compared otherwise.
fn distinct(items: &[Value]) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<Value> = Vec::new();
    for item in items {
        let fresh = match key(item) {
            // Ints and durations share keys only when equal as values of the same kind.
            Some(k)
                if matches!(
                    item,
                    Value::Str(_) | Value::Zone(_) | Value::Bool(_) | Value::Enum(..)
                ) =>
            {
                seen.insert(k)
            }
            _ => !out.iter().any(|seen| values_equal(seen, item)),
        };
        if fresh {
            out.push(item.clone());
        }
    }
    out
}

fn sum(list: &Value, ty: &Ty) -> Value {
    let Value::List(items) = list else {
        return Value::Null;
    };
    let zero = match ty.strip_optional().scalar() {
        Some(Scalar::Float) => Value::Float(0.0),
        Some(Scalar::Duration) => Value::Duration(0),
        Some(Scalar::Distance) => Value::Distance(0.0),
        _ => Value::Int(0),
    };
    let mut total = zero;
    for item in items.iter() {
        total = super::interp::arith(cbp_ir::expr::ArithOp::Add, &total, item);
        if total.is_null() {
            return Value::Null;
        }
    }
    total
}

fn route_value(cx: &EvalContext<'_>, from: Point, to: Point, ty: &Ty) -> Value {
    let (zones, duration, length) =
        route(from, to, cx.places.iter().map(|(zone, at)| (&**zone, *at)));
    let zones = Value::List(Arc::new(
        zones
            .into_iter()
            .map(|z| Value::Zone(Arc::from(z)))
            .collect(),
    ));
    let mut fields = vec![
        (Arc::<str>::from("zones"), zones),
        (Arc::from("duration"), Value::Duration(duration)),
        (Arc::from("length"), Value::Distance(length)),
    ];
    // In the order the program declares `Route`'s fields, when it does.
    if let Ty::Record(id) = ty.strip_optional()
        && let Some(def) = cx.program.records.get(id.0 as usize)
    {
        let position = |name: &str| {
            def.fields
                .iter()
                .position(|(n, _)| n == name)
                .unwrap_or(usize::MAX)
        };
        fields.sort_by_key(|(name, _)| position(name));
    }
    Value::Record(Arc::new(fields))
}
