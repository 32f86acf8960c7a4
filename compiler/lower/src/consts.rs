//! Constant expressions as JSON values: test messages and expectations, correlation radii
//! and counts. Durations are milliseconds, distances metres, enum variants their names,
//! records objects.

use crate::index::Index;
use cbp_check::hir::{self, ExprKind, ItemKind};
use cbp_syntax::ast::{BinaryOp, UnaryOp};
use serde_json::{Map, Number, Value};

const MAX_DEPTH: u32 = 64;

/// The value of a constant expression, or `None` when it is not one.
pub fn eval(ix: &Index<'_>, e: &hir::Expr) -> Option<Value> {
    eval_at(ix, e, 0)
}

fn float(v: f64) -> Option<Value> {
    Number::from_f64(v).map(Value::Number)
}

fn eval_at(ix: &Index<'_>, e: &hir::Expr, depth: u32) -> Option<Value> {
    if depth > MAX_DEPTH {
        return None;
    }
    let next = depth + 1;
    Some(match &e.kind {
        ExprKind::Int(v) => Value::from(*v),
        ExprKind::Float(f) => float(f.0)?,
        ExprKind::Str(s) => Value::String(s.clone()),
        ExprKind::Bool(b) => Value::Bool(*b),
        ExprKind::Duration(ms) => Value::from(*ms),
        ExprKind::Distance(m) => float(m.0)?,
        ExprKind::Variant(_, name, _) => Value::String(name.to_string()),
        ExprKind::Const(id) => match &ix.item(id)?.kind {
            ItemKind::Const(c) => eval_at(ix, &c.value, next)?,
            _ => return None,
        },
        ExprKind::List(items) => Value::Array(
            items
                .iter()
                .map(|x| eval_at(ix, x, next))
                .collect::<Option<_>>()?,
        ),
        ExprKind::Record(fields) => {
            let mut map = Map::new();
            for f in fields {
                map.insert(f.name.to_string(), eval_at(ix, &f.value, next)?);
            }
            Value::Object(map)
        }
        // `timestamp("…")`: the text, as an input message would carry it.
        ExprKind::Call(id, args) if &*id.package == "std" && &*id.name == "timestamp" => {
            match args.first().map(|a| &a.kind) {
                Some(ExprKind::Str(s)) => Value::String(s.clone()),
                _ => return None,
            }
        }
        ExprKind::Unary(UnaryOp::Neg, x) => match eval_at(ix, x, next)? {
            Value::Number(n) => match n.as_i64() {
                Some(i) => Value::from(i.checked_neg()?),
                None => float(-n.as_f64()?)?,
            },
            _ => return None,
        },
        ExprKind::Unary(UnaryOp::Not, x) => Value::Bool(!eval_at(ix, x, next)?.as_bool()?),
        ExprKind::Binary(op, a, b) => {
            let (x, y) = (eval_at(ix, a, next)?, eval_at(ix, b, next)?);
            arith(*op, &x, &y)?
        }
        _ => return None,
    })
}

fn arith(op: BinaryOp, x: &Value, y: &Value) -> Option<Value> {
    if let (Some(a), Some(b)) = (x.as_i64(), y.as_i64()) {
        return Some(Value::from(match op {
            BinaryOp::Add => a.checked_add(b)?,
            BinaryOp::Sub => a.checked_sub(b)?,
            BinaryOp::Mul => a.checked_mul(b)?,
            BinaryOp::Div => a.checked_div(b)?,
            BinaryOp::Rem => a.checked_rem(b)?,
            _ => return None,
        }));
    }
    let (a, b) = (x.as_f64()?, y.as_f64()?);
    float(match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div if b != 0.0 => a / b,
        _ => return None,
    })
}
