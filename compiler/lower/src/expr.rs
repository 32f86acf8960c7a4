//! Expressions to graph nodes. Field paths on the trigger's (or the correlation candidate's)
//! row resolve statically to slots; user functions are inlined with their arguments
//! substituted; `match` becomes a chain of `If`; std externs become builtins.

use crate::LowerError;
use crate::index::Index;
use crate::layouts::slot_scalar;
use cbp_check::Span;
use cbp_check::hir::{self, ExprKind, ItemId, ItemKind, Pattern};
use cbp_ir::expr::{Aggregate, ArithOp, Builtin, CmpOp, GraphBuilder, Lit, Node};
use cbp_ir::layout::{FieldLayout, MessageLayout, Storage};
use cbp_ir::{MessageId, NodeId, RowRef, Scalar, Ty};
use cbp_syntax::ast::{BinaryOp, UnaryOp};
use std::sync::Arc;

/// Inlined calls deeper than this are refused (the checker forbids recursion; this guards
/// against a checker bug turning into a stack overflow).
const MAX_INLINE_DEPTH: u32 = 64;

/// What a name stands for.
#[derive(Clone, Debug)]
pub enum Binding {
    /// A whole message row: the trigger, or the candidate inside a `where`.
    Row(RowRef, MessageId),
    /// A nested record of a row (`let r = station.reading`, or such an argument of an
    /// inlined function): fields read through it keep their static slots.
    RowField(RowRef, MessageId, Arc<str>),
    /// A node: a `let` (its `Local`), a correlation's matches, an inlined parameter.
    Node(NodeId),
}

/// Where an expression is lowered: the item its spans are relative to and the names in scope.
pub struct Scope<'h> {
    pub item: &'h hir::Item,
    pub bindings: Vec<(Arc<str>, Binding)>,
    /// When set, each trigger field read (outside inlined functions) is recorded: its span
    /// and its node, for the rationale.
    pub shows: Option<Vec<(Span, NodeId)>>,
    depth: u32,
}

impl<'h> Scope<'h> {
    pub fn new(item: &'h hir::Item) -> Self {
        Scope {
            item,
            bindings: Vec::new(),
            shows: None,
            depth: 0,
        }
    }

    pub fn bind(&mut self, name: &Arc<str>, b: Binding) {
        self.bindings.push((name.clone(), b));
    }

    fn lookup(&self, name: &str) -> Option<Binding> {
        self.bindings
            .iter()
            .rev()
            .find(|(n, _)| &**n == name)
            .map(|(_, b)| b.clone())
    }
}

pub struct Lowerer<'a, 'h> {
    pub ix: &'a Index<'h>,
    pub layouts: &'a [MessageLayout],
    pub g: GraphBuilder,
}

type R<T> = Result<T, LowerError>;

fn unsupported(sc: &Scope<'_>, what: impl Into<String>) -> LowerError {
    LowerError::Unsupported {
        item: sc
            .item
            .id
            .as_ref()
            .map_or_else(|| "a test".to_owned(), ItemId::to_string),
        file: sc.item.file.clone(),
        what: what.into(),
    }
}

pub fn float_lit(v: f64) -> Node {
    Node::Lit(Lit::Float(v.to_bits()))
}

impl<'h> Lowerer<'_, 'h> {
    pub fn lit(&mut self, l: Lit) -> NodeId {
        self.g.add(Node::Lit(l))
    }

    /// Lowers `e` where a value of type `want` is expected: an `int` becomes a `float` where
    /// a float is expected.
    pub fn expr_as(&mut self, sc: &mut Scope<'h>, e: &hir::Expr, want: &hir::Ty) -> R<NodeId> {
        let id = self.expr(sc, e)?;
        Ok(self.coerce(id, &e.ty, want))
    }

    fn coerce(&mut self, id: NodeId, from: &hir::Ty, to: &hir::Ty) -> NodeId {
        let from = from.optional_inner().unwrap_or(from);
        let to = to.optional_inner().unwrap_or(to);
        if *from == hir::Ty::Int && *to == hir::Ty::Float {
            self.g.add(Node::IntToFloat(id))
        } else {
            id
        }
    }

    pub fn expr(&mut self, sc: &mut Scope<'h>, e: &hir::Expr) -> R<NodeId> {
        Ok(match &e.kind {
            ExprKind::Int(v) => self.lit(Lit::Int(*v)),
            ExprKind::Float(f) => self.lit(Lit::Float(f.0.to_bits())),
            ExprKind::Str(s) => self.lit(Lit::Str(s.clone())),
            ExprKind::Bool(b) => self.lit(Lit::Bool(*b)),
            ExprKind::Duration(ms) => self.lit(Lit::Duration(*ms)),
            ExprKind::Distance(m) => self.lit(Lit::Distance(m.0.to_bits())),
            ExprKind::Local(name) => match sc.lookup(name) {
                Some(Binding::Row(row, message)) => self.g.add(Node::RowValue { row, message }),
                Some(Binding::RowField(row, message, path)) => {
                    self.row_field(sc, row, message, &path)?
                }
                Some(Binding::Node(id)) => id,
                None => return Err(unsupported(sc, format!("unbound name `{name}`"))),
            },
            ExprKind::Const(id) => self.constant(sc, id)?,
            ExprKind::Variant(id, _, ix) => match self.ix.enum_ids.get(id) {
                Some(eid) => self.lit(Lit::Enum(*eid, *ix)),
                None => return Err(unsupported(sc, format!("unknown enum `{id}`"))),
            },
            ExprKind::Field {
                base,
                field,
                over_list,
                ..
            } => self.field(sc, e, base, field, *over_list)?,
            ExprKind::Call(id, args) => self.call(sc, e, id, args)?,
            ExprKind::Latest(id) => match self.ix.message_id(id) {
                Some(m) => self.g.add(Node::Aggregate(Aggregate::Latest(m))),
                None => return Err(unsupported(sc, format!("unknown message `{id}`"))),
            },
            ExprKind::Unary(op, x) => {
                let v = self.expr(sc, x)?;
                match op {
                    UnaryOp::Not => self.g.add(Node::Not(v)),
                    UnaryOp::Neg => {
                        let ty = self.scalar(sc, &e.ty)?;
                        self.g.add(Node::Neg { ty, value: v })
                    }
                }
            }
            ExprKind::Binary(op, a, b) => self.binary(sc, e, *op, a, b)?,
            ExprKind::If(c, a, b) => {
                let cond = self.expr(sc, c)?;
                let then = self.expr_as(sc, a, &e.ty)?;
                let otherwise = self.expr_as(sc, b, &e.ty)?;
                self.g.add(Node::If {
                    cond,
                    then,
                    otherwise,
                })
            }
            ExprKind::Match(x, arms) => self.match_expr(sc, e, x, arms)?,
            ExprKind::List(items) => {
                let elem = match &e.ty {
                    hir::Ty::List(t) => (**t).clone(),
                    _ => hir::Ty::Any,
                };
                let mut ids = Vec::with_capacity(items.len());
                for x in items {
                    ids.push(self.expr_as(sc, x, &elem)?);
                }
                let ty = self.ix.ty(&e.ty);
                self.g.add(Node::List { items: ids, ty })
            }
            ExprKind::Record(values) => self.record(sc, e, values)?,
            ExprKind::Error => return Err(unsupported(sc, "an expression with errors")),
        })
    }

    fn scalar(&self, sc: &Scope<'_>, t: &hir::Ty) -> R<Scalar> {
        let inner = t.optional_inner().unwrap_or(t);
        self.ix
            .scalar(inner)
            .ok_or_else(|| unsupported(sc, format!("`{t}` is not a scalar")))
    }

    /// A constant's value, lowered in the constant's own item (its spans, no bindings).
    fn constant(&mut self, sc: &mut Scope<'h>, id: &ItemId) -> R<NodeId> {
        let Some(item) = self.ix.item(id) else {
            return Err(unsupported(sc, format!("unknown constant `{id}`")));
        };
        let ItemKind::Const(c) = &item.kind else {
            return Err(unsupported(sc, format!("`{id}` is not a constant")));
        };
        if sc.depth >= MAX_INLINE_DEPTH {
            return Err(unsupported(sc, format!("constant `{id}` refers to itself")));
        }
        let mut inner = Scope::new(item);
        inner.depth = sc.depth + 1;
        self.expr_as(&mut inner, &c.value, &c.ty)
    }

    /// `base.field.…` rooted at a row binding: the row and the dotted path of the field
    /// (empty for the row itself).
    fn row_path(sc: &Scope<'_>, e: &hir::Expr) -> Option<(RowRef, MessageId, String)> {
        match &e.kind {
            ExprKind::Local(name) => match sc.lookup(name) {
                Some(Binding::Row(row, m)) => Some((row, m, String::new())),
                Some(Binding::RowField(row, m, path)) => Some((row, m, path.to_string())),
                _ => None,
            },
            ExprKind::Field {
                base,
                field,
                over_list: false,
                ..
            } => {
                let (row, m, path) = Self::row_path(sc, base)?;
                let path = if path.is_empty() {
                    field.to_string()
                } else {
                    format!("{path}.{field}")
                };
                Some((row, m, path))
            }
            _ => None,
        }
    }

    fn layout_field(&self, message: MessageId, path: &str) -> Option<&FieldLayout> {
        self.layouts.get(message.0 as usize)?.field(path)
    }

    /// The node of a field of a row, by its dotted path.
    fn row_field(
        &mut self,
        sc: &Scope<'_>,
        row: RowRef,
        message: MessageId,
        path: &str,
    ) -> R<NodeId> {
        let Some(f) = self.layout_field(message, path).cloned() else {
            return Err(unsupported(sc, format!("no slot for field `{path}`")));
        };
        self.load(row, &f)
            .ok_or_else(|| unsupported(sc, format!("field `{path}` has no readable slot")))
    }

    /// How to bind a name to `e` so that fields read through it keep their slots: the row
    /// itself, or a (required) nested record of it.
    pub fn row_binding(&self, sc: &Scope<'_>, e: &hir::Expr) -> Option<Binding> {
        let (row, m, path) = Self::row_path(sc, e)?;
        if path.is_empty() {
            return Some(Binding::Row(row, m));
        }
        let f = self.layout_field(m, &path)?;
        (f.required && matches!(f.storage, Storage::Record { .. }))
            .then(|| Binding::RowField(row, m, path.into()))
    }

    /// The node reading a field of a row at its fixed slot.
    pub fn load(&mut self, row: RowRef, f: &FieldLayout) -> Option<NodeId> {
        let node = match &f.storage {
            Storage::Slot(slot) => Node::Load {
                row,
                slot: *slot,
                ty: slot_scalar(f)?,
            },
            Storage::Record { presence, .. } => match f.ty.strip_optional() {
                Ty::Record(record) => Node::LoadRecord {
                    row,
                    presence: *presence,
                    record: *record,
                },
                _ => return None,
            },
            Storage::Object { presence, index } => Node::LoadObject {
                row,
                presence: *presence,
                index: *index,
                ty: f.ty.strip_optional().clone(),
            },
        };
        Some(self.g.add(node))
    }

    fn field(
        &mut self,
        sc: &mut Scope<'h>,
        e: &hir::Expr,
        base: &hir::Expr,
        field: &Arc<str>,
        over_list: bool,
    ) -> R<NodeId> {
        if let Some((row, message, path)) = Self::row_path(sc, e) {
            let id = self.row_field(sc, row, message, &path)?;
            if row == RowRef::Trigger
                && sc.depth == 0
                && let Some(shows) = &mut sc.shows
            {
                shows.push((e.span, id));
            }
            return Ok(id);
        }
        let b = self.expr(sc, base)?;
        let ty = self.ix.ty(&e.ty);
        let field = field.to_string();
        Ok(if over_list {
            self.g.add(Node::MapField { list: b, field, ty })
        } else {
            self.g.add(Node::GetField { base: b, field, ty })
        })
    }

    fn call(
        &mut self,
        sc: &mut Scope<'h>,
        e: &hir::Expr,
        id: &ItemId,
        args: &[hir::Expr],
    ) -> R<NodeId> {
        let Some(item) = self.ix.item(id) else {
            return Err(unsupported(sc, format!("unknown function `{id}`")));
        };
        let ItemKind::Fn(f) = &item.kind else {
            return Err(unsupported(sc, format!("`{id}` is not a function")));
        };
        if let Some(body) = &f.body {
            return self.inline(sc, id, item, f, body, args);
        }
        if &*id.package != "std" {
            return Err(unsupported(
                sc,
                format!("extern function `{id}` outside std"),
            ));
        }
        let aggregate = match &*id.name {
            "total_events" => Some(Aggregate::TotalEvents),
            "event_breakdown" => Some(Aggregate::EventBreakdown),
            "escalated_incidents" => Some(Aggregate::EscalatedIncidents),
            "avg_latency_ms" => Some(Aggregate::AvgLatencyMs),
            _ => None,
        };
        if let Some(a) = aggregate {
            return Ok(self.g.add(Node::Aggregate(a)));
        }
        let first_ty = args.first().map(|a| &a.ty);
        let is_text = matches!(first_ty, Some(hir::Ty::String | hir::Ty::Zone));
        let builtin = match &*id.name {
            "distance" => Builtin::Distance,
            "route" => Builtin::Route,
            "parent_zone" => Builtin::ParentZone,
            "in_zone" => Builtin::InZone,
            "timestamp" => Builtin::ParseTimestamp,
            "hour_of_day" => Builtin::HourOfDay,
            "minutes" => Builtin::Minutes,
            "seconds" => Builtin::Seconds,
            "len" if is_text => Builtin::StrLen,
            "len" => Builtin::ListLen,
            "lower" => Builtin::Lower,
            "upper" => Builtin::Upper,
            "starts_with" => Builtin::StartsWith,
            "ends_with" => Builtin::EndsWith,
            "contains" if is_text => Builtin::StrContains,
            "contains" => {
                // `contains(list, x)` is `x in list`.
                let (Some(list), Some(item)) = (args.first(), args.get(1)) else {
                    return Err(unsupported(sc, "`contains` needs two arguments"));
                };
                let elem_h = match &list.ty {
                    hir::Ty::List(t) => (**t).clone(),
                    _ => hir::Ty::Any,
                };
                let l = self.expr(sc, list)?;
                let i = self.expr_as(sc, item, &elem_h)?;
                let elem = self.ix.ty(&elem_h);
                return Ok(self.g.add(Node::In {
                    item: i,
                    list: l,
                    elem,
                }));
            }
            "distinct" => Builtin::Distinct,
            "sum" => Builtin::Sum,
            "min" => Builtin::Min,
            "max" => Builtin::Max,
            "avg" => Builtin::Avg,
            "tokenize" => Builtin::Tokenize,
            "redact" => Builtin::Redact,
            other => {
                return Err(unsupported(
                    sc,
                    format!("std function `{other}` has no builtin"),
                ));
            }
        };
        let mut ids = Vec::with_capacity(args.len());
        for (a, (_, pty)) in args.iter().zip(&f.params) {
            ids.push(self.expr_as(sc, a, pty)?);
        }
        let ty = self.ix.ty(&e.ty);
        Ok(self.g.add(Node::Call {
            builtin,
            args: ids,
            ty,
        }))
    }

    /// A user function: its body with the arguments' nodes for its parameters.
    fn inline(
        &mut self,
        sc: &mut Scope<'h>,
        id: &ItemId,
        item: &'h hir::Item,
        f: &hir::Fn,
        body: &hir::Expr,
        args: &[hir::Expr],
    ) -> R<NodeId> {
        if sc.depth >= MAX_INLINE_DEPTH {
            return Err(unsupported(sc, format!("calls of `{id}` nest too deeply")));
        }
        let mut inner = Scope::new(item);
        inner.depth = sc.depth + 1;
        for (a, (name, pty)) in args.iter().zip(&f.params) {
            // A message (or nested record of one) passed whole stays a row, so fields read
            // in the body keep their slots.
            if let Some(b) = self.row_binding(sc, a) {
                inner.bind(name, b);
                continue;
            }
            let v = self.expr_as(sc, a, pty)?;
            inner.bind(name, Binding::Node(v));
        }
        self.expr_as(&mut inner, body, &f.ret)
    }

    fn binary(
        &mut self,
        sc: &mut Scope<'h>,
        e: &hir::Expr,
        op: BinaryOp,
        a: &hir::Expr,
        b: &hir::Expr,
    ) -> R<NodeId> {
        use hir::Ty as T;
        match op {
            BinaryOp::And | BinaryOp::Or => {
                let x = self.expr(sc, a)?;
                let y = self.expr(sc, b)?;
                Ok(self.g.add(if op == BinaryOp::And {
                    Node::And(x, y)
                } else {
                    Node::Or(x, y)
                }))
            }
            BinaryOp::Coalesce => {
                let value = self.expr_as(sc, a, &e.ty)?;
                let default = self.expr_as(sc, b, &e.ty)?;
                Ok(self.g.add(Node::Coalesce { value, default }))
            }
            BinaryOp::In => {
                let elem_h = match &b.ty {
                    T::List(t) => (**t).clone(),
                    _ => T::Any,
                };
                let item = self.expr_as(sc, a, &elem_h)?;
                let list = self.expr(sc, b)?;
                let elem = self.ix.ty(&elem_h);
                Ok(self.g.add(Node::In { item, list, elem }))
            }
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => {
                let cmp = match op {
                    BinaryOp::Eq => CmpOp::Eq,
                    BinaryOp::Ne => CmpOp::Ne,
                    BinaryOp::Lt => CmpOp::Lt,
                    BinaryOp::Le => CmpOp::Le,
                    BinaryOp::Gt => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                let mixed = a.ty.is_numeric() && b.ty.is_numeric() && a.ty != b.ty;
                let want = if mixed { T::Float } else { a.ty.clone() };
                let lhs = self.expr_as(sc, a, &want)?;
                let rhs = self.expr_as(sc, b, &want)?;
                let ty = self
                    .scalar(sc, &want)
                    .map_err(|_| unsupported(sc, format!("comparing `{}` values", a.ty)))?;
                Ok(self.g.add(Node::Cmp {
                    op: cmp,
                    ty,
                    lhs,
                    rhs,
                }))
            }
            _ => self.arith(sc, e, op, a, b),
        }
    }

    fn arith(
        &mut self,
        sc: &mut Scope<'h>,
        e: &hir::Expr,
        op: BinaryOp,
        a: &hir::Expr,
        b: &hir::Expr,
    ) -> R<NodeId> {
        use hir::Ty as T;
        let aop = match op {
            BinaryOp::Add => ArithOp::Add,
            BinaryOp::Sub => ArithOp::Sub,
            BinaryOp::Mul => ArithOp::Mul,
            BinaryOp::Div => ArithOp::Div,
            _ => ArithOp::Rem,
        };
        if matches!((&a.ty, &b.ty), (T::String, T::String)) && aop == ArithOp::Add {
            let x = self.expr(sc, a)?;
            let y = self.expr(sc, b)?;
            return Ok(self.g.add(Node::Call {
                builtin: Builtin::Concat,
                args: vec![x, y],
                ty: Ty::Scalar(Scalar::Str),
            }));
        }
        if matches!((&a.ty, &b.ty), (T::List(_), T::List(_))) && aop == ArithOp::Add {
            let x = self.expr(sc, a)?;
            let y = self.expr(sc, b)?;
            let ty = self.ix.ty(&e.ty);
            return Ok(self.g.add(Node::Call {
                builtin: Builtin::ListConcat,
                args: vec![x, y],
                ty,
            }));
        }
        // Operands as written, or swapped so a quantity or timestamp is on the left.
        let swap = match (&a.ty, &b.ty) {
            (n, q) if n.is_numeric() && q.is_quantity() => aop == ArithOp::Mul,
            (T::Duration, T::Timestamp) => aop == ArithOp::Add,
            _ => false,
        };
        let (l, r) = if swap { (b, a) } else { (a, b) };
        let both_numeric = l.ty.is_numeric() && r.ty.is_numeric();
        let (lw, rw) = if both_numeric && l.ty != r.ty {
            (T::Float, T::Float)
        } else {
            (l.ty.clone(), r.ty.clone())
        };
        let lhs = self.expr_as(sc, l, &lw)?;
        let rhs = self.expr_as(sc, r, &rw)?;
        let ty = self.scalar(sc, &lw)?;
        let rhs_ty = self.scalar(sc, &rw)?;
        Ok(self.g.add(Node::Arith {
            op: aop,
            ty,
            rhs_ty,
            lhs,
            rhs,
        }))
    }

    fn match_expr(
        &mut self,
        sc: &mut Scope<'h>,
        e: &hir::Expr,
        x: &hir::Expr,
        arms: &[hir::MatchArm],
    ) -> R<NodeId> {
        let s = self.expr(sc, x)?;
        // Enum and bool matches without `_` are exhaustive (checked): their last arm needs
        // no test.
        let exhaustive_last = matches!(x.ty, hir::Ty::Enum(_) | hir::Ty::Bool)
            && !arms.iter().any(|a| matches!(a.pattern, Pattern::Wildcard));
        let mut acc = self.lit(Lit::Null);
        for (i, arm) in arms.iter().enumerate().rev() {
            let body = self.expr_as(sc, &arm.body, &e.ty)?;
            let last = i + 1 == arms.len();
            let test = match &arm.pattern {
                Pattern::Wildcard => None,
                _ if last && exhaustive_last => None,
                p => Some(self.pattern_test(sc, s, &x.ty, p)?),
            };
            acc = match test {
                None => body,
                Some(cond) => self.g.add(Node::If {
                    cond,
                    then: body,
                    otherwise: acc,
                }),
            };
        }
        Ok(acc)
    }

    fn pattern_test(
        &mut self,
        sc: &mut Scope<'h>,
        s: NodeId,
        sty: &hir::Ty,
        p: &Pattern,
    ) -> R<NodeId> {
        let ty = self.scalar(sc, sty)?;
        let rhs = match p {
            Pattern::Variant(_, ix) => match ty {
                Scalar::Enum(eid) => self.lit(Lit::Enum(eid, *ix)),
                _ => return Err(unsupported(sc, "a variant pattern on a non-enum")),
            },
            Pattern::Int(v) if ty == Scalar::Float => self.g.add(float_lit(*v as f64)),
            Pattern::Int(v) => self.lit(Lit::Int(*v)),
            Pattern::Str(v) => self.lit(Lit::Str(v.clone())),
            Pattern::Bool(true) => return Ok(s),
            Pattern::Bool(false) => return Ok(self.g.add(Node::Not(s))),
            Pattern::Const(id) => {
                let c = self.constant(sc, id)?;
                let cty = match self.ix.item(id).map(|i| &i.kind) {
                    Some(ItemKind::Const(k)) => k.ty.clone(),
                    _ => sty.clone(),
                };
                self.coerce(c, &cty, sty)
            }
            Pattern::Wildcard => return Ok(self.lit(Lit::Bool(true))),
        };
        Ok(self.g.add(Node::Cmp {
            op: CmpOp::Eq,
            ty,
            lhs: s,
            rhs,
        }))
    }

    fn record(
        &mut self,
        sc: &mut Scope<'h>,
        e: &hir::Expr,
        values: &[hir::FieldValue],
    ) -> R<NodeId> {
        let hir::Ty::Record(id) = e.ty.optional_inner().unwrap_or(&e.ty) else {
            return Err(unsupported(sc, format!("a `{}` literal", e.ty)));
        };
        let Some(record) = self.ix.record_ids.get(id).copied() else {
            return Err(unsupported(sc, format!("unknown record `{id}`")));
        };
        let decl = self.ix.record_fields(id);
        let mut fields = Vec::with_capacity(decl.len());
        for f in decl {
            let node = match values.iter().find(|v| v.name == f.name) {
                Some(v) => self.expr_as(sc, &v.value, &f.ty)?,
                None => self.lit(Lit::Null),
            };
            fields.push(node);
        }
        Ok(self.g.add(Node::Record { record, fields }))
    }
}
