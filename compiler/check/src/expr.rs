//! Typing expressions: names, fields, calls, operators with units, optionals, enum variants
//! by expected type, match exhaustiveness, and personal-data taint.

use crate::diag::{Loc, LocDiag};
use crate::hir::{self, ExprKind, FieldValue, ItemId, Ty};
use crate::print::expr_text;
use crate::scope::{PathRes, STD, Scope};
use crate::suggest::did_you_mean;
use crate::table::{FieldSig, SigKind, Table, Tag, record_of};
use cbp_syntax::Span;
use cbp_syntax::ast::{self, BinaryOp, Expr, FloatLit, UnaryOp};
use std::collections::HashSet;
use std::sync::Arc;

/// Where personal data came from: the `@pii` field and the `let`s it passed through.
#[derive(Clone, Debug)]
pub struct Taint {
    pub path: String,
    pub decl: Loc,
    pub via: Vec<(Span, String)>,
}

pub type Typed = (hir::Expr, Option<Taint>);

/// Called with each checked property (name, value span, type) and its taint.
pub type PropSink<'s, 'a> = dyn FnMut(&mut Cx<'a>, (&str, Span, &Ty), Option<Taint>) + 's;

#[derive(Clone, Debug)]
pub struct Local {
    pub name: Arc<str>,
    pub ty: Ty,
    pub taint: Option<Taint>,
    /// Where it was bound; `let` bindings are named in taint paths.
    pub span: Span,
    pub is_let: bool,
}

pub struct Cx<'a> {
    pub table: &'a Table,
    pub scope: &'a Scope,
    pub here: Loc,
    pub in_report: bool,
    pub diags: Vec<LocDiag>,
    pub used: HashSet<Arc<str>>,
    pub locals: Vec<Local>,
    /// Set when the parser lost part of the item (say, its trigger): unknown plain names are
    /// then probably bindings it lost, and are not reported.
    pub quiet_unknown_names: bool,
    /// Set for a constant without a type whose signature already reported its value (E0207
    /// or E0302): an ambiguous `m` in it is then not reported again.
    pub quiet_ambiguous_m: bool,
}

pub fn err_expr(span: Span) -> hir::Expr {
    hir::Expr {
        kind: ExprKind::Error,
        ty: Ty::Error,
        span,
    }
}

/// Whether `actual` may be used where `expected` is.
pub fn assignable(actual: &Ty, expected: &Ty) -> bool {
    if actual.is_unknown() || expected.is_unknown() || actual == expected {
        return true;
    }
    match (actual, expected) {
        (Ty::Int, Ty::Float) | (Ty::String, Ty::Zone) | (Ty::Zone, Ty::String) => true,
        (Ty::Optional(a), Ty::Optional(e)) => assignable(a, e),
        (a, Ty::Optional(e)) => assignable(a, e),
        (Ty::List(a), Ty::List(e)) => assignable(a, e),
        (Ty::Map(ak, av), Ty::Map(ek, ev)) => assignable(ak, ek) && assignable(av, ev),
        _ => false,
    }
}

/// `incident` → `an incident`, `message type` → `a message type`.
pub fn with_article(noun: &str) -> String {
    let vowel = noun.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {noun}", if vowel { "an" } else { "a" })
}

/// An `m` quantity, possibly negated or in parentheses: minutes or metres by context.
fn is_metres_or_minutes(e: &Expr) -> bool {
    match e {
        Expr::Quantity(q) => q.unit == "m",
        Expr::Paren(x, _) | Expr::Unary(UnaryOp::Neg, x, _) => is_metres_or_minutes(x),
        _ => false,
    }
}

fn unit_name(t: &Ty) -> Option<&'static str> {
    match t {
        Ty::Duration => Some("duration"),
        Ty::Distance => Some("distance"),
        _ => None,
    }
}

impl<'a> Cx<'a> {
    pub fn new(table: &'a Table, scope: &'a Scope, here: Loc) -> Self {
        Cx {
            table,
            scope,
            here,
            in_report: false,
            diags: Vec::new(),
            used: HashSet::new(),
            locals: Vec::new(),
            quiet_unknown_names: false,
            quiet_ambiguous_m: false,
        }
    }

    pub fn at(&self, span: Span) -> Loc {
        self.here.with_span(span)
    }

    pub fn error(
        &mut self,
        code: &'static str,
        span: Span,
        msg: impl Into<String>,
    ) -> &mut LocDiag {
        self.diags.push(LocDiag::error(code, self.at(span), msg));
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    pub fn push(&mut self, d: LocDiag) {
        self.diags.push(d);
    }

    pub fn std_ty(&self, name: &str) -> Ty {
        Ty::Enum(ItemId::new(STD, name))
    }

    // ----- items -----------------------------------------------------------------------

    /// Resolves a path to an item, noting the import it used.
    pub fn resolve(&mut self, path: &ast::Path) -> PathRes {
        let segs: Vec<&str> = path.segments.iter().map(|s| s.name.as_str()).collect();
        let res = self.scope.resolve_path(&self.table.names, &segs);
        if let PathRes::Item(_, Some(via)) = &res {
            self.used.insert(via.clone());
        }
        res
    }

    /// Resolves a path that must name an item `ok` accepts; reports otherwise. `what` is the
    /// kind of item wanted as a bare noun: `incident`, `authority or system`.
    pub fn resolve_kind(
        &mut self,
        path: &ast::Path,
        what: &str,
        ok: &dyn Fn(Tag) -> bool,
    ) -> Option<ItemId> {
        match self.resolve(path) {
            PathRes::Item(id, _) => {
                let tag = self.table.get(&id)?.tag;
                if ok(tag) {
                    Some(id)
                } else {
                    let decl = self.table.get(&id).map(|s| s.loc);
                    let mut d = LocDiag::error(
                        "E0109",
                        self.at(path.span),
                        format!(
                            "`{}` is {}, not {}",
                            path.dotted(),
                            tag.describe(),
                            with_article(what)
                        ),
                    )
                    .label(format!("expected {}", with_article(what)));
                    if let Some(decl) = decl {
                        d = d.secondary(decl, "declared here");
                    }
                    self.push(d);
                    None
                }
            }
            _ => {
                let name = path.last().map_or("", |i| i.name.as_str());
                let table = self.table;
                let cands: Vec<&str> = self
                    .scope
                    .visible(&table.names)
                    .filter(|(_, id)| table.get(id).is_some_and(|s| ok(s.tag)))
                    .map(|(n, _)| n)
                    .collect();
                let help = did_you_mean(name, cands);
                self.error(
                    "E0101",
                    path.span,
                    format!("unknown {what} `{}`", path.dotted()),
                )
                .label = "not declared".into();
                if let Some(d) = self.diags.last_mut() {
                    d.help = help;
                }
                None
            }
        }
    }

    // ----- expectations ----------------------------------------------------------------

    /// Checks `e` against an expected type, reporting a mismatch.
    pub fn expect(&mut self, e: &Expr, expected: &Ty) -> Typed {
        let (x, taint) = self.check(e, Some(expected));
        self.require(&x, expected, e);
        (x, taint)
    }

    pub fn require(&mut self, x: &hir::Expr, expected: &Ty, src: &Expr) {
        if assignable(&x.ty, expected) {
            return;
        }
        let text = expr_text(src);
        if let Ty::Optional(inner) = &x.ty
            && assignable(inner, expected)
        {
            self.push(
                LocDiag::error(
                    "E0204",
                    self.at(x.span),
                    format!("optional value `{text}` used without `??`"),
                )
                .label(format!("this is `{}`, which may be absent", x.ty))
                .help(format!("give a default: `{text} ?? …`")),
            );
            return;
        }
        if let (Some(a), Some(b)) = (unit_name(&x.ty), unit_name(expected)) {
            self.push(
                LocDiag::error(
                    "E0304",
                    self.at(x.span),
                    format!("expected a {b}, found a {a}"),
                )
                .label(format!("this is a {a}"))
                .help(format!(
                    "write a {b}, for example `{}`",
                    if b == "duration" { "5min" } else { "500m" }
                )),
            );
            return;
        }
        self.push(
            LocDiag::error(
                "E0201",
                self.at(x.span),
                format!("expected `{expected}`, found `{}`", x.ty),
            )
            .label(format!("this is `{}`", x.ty)),
        );
    }

    // ----- expressions -----------------------------------------------------------------

    pub fn check(&mut self, e: &Expr, expected: Option<&Ty>) -> Typed {
        let span = e.span();
        let mk = |kind, ty| hir::Expr { kind, ty, span };
        match e {
            Expr::Int(n, _) => (mk(ExprKind::Int(*n), Ty::Int), None),
            Expr::Float(f, _) => (mk(ExprKind::Float(*f), Ty::Float), None),
            Expr::Str(s) => (mk(ExprKind::Str(s.value.clone()), Ty::String), None),
            Expr::Bool(b, _) => (mk(ExprKind::Bool(*b), Ty::Bool), None),
            Expr::Quantity(q) => (self.quantity(q, expected), None),
            Expr::Name(i) => self.name(i, expected),
            Expr::Field(..) => self.field(e, expected),
            Expr::Call(path, args, _) => self.call(path, args, span, expected),
            Expr::Unary(op, x, _) => self.unary(*op, x, span),
            Expr::Binary(op, a, b, _) => self.binary(*op, a, b, span, expected),
            Expr::If(c, a, b, _) => {
                let (c, ct) = self.expect(c, &Ty::Bool);
                let (a, at) = self.check(a, expected);
                let want = expected.cloned().unwrap_or_else(|| a.ty.clone());
                let (b2, bt) = self.check(b, Some(&want));
                let ty = if a.ty.is_unknown() {
                    b2.ty.clone()
                } else {
                    a.ty.clone()
                };
                if !assignable(&b2.ty, &ty) && !assignable(&ty, &b2.ty) {
                    self.require(&b2, &ty, b);
                }
                let taint = ct.or(at).or(bt);
                (
                    mk(ExprKind::If(Box::new(c), Box::new(a), Box::new(b2)), ty),
                    taint,
                )
            }
            Expr::Match(x, arms, _) => self.match_expr(x, arms, span, expected),
            Expr::List(xs, _) => {
                let mut elem = match expected.map(|t| t.optional_inner().unwrap_or(t)) {
                    Some(Ty::List(t)) => Some((**t).clone()),
                    _ => None,
                };
                let mut out = Vec::with_capacity(xs.len());
                let mut taint = None;
                for x in xs {
                    let (hx, t) = match &elem {
                        Some(want) => self.expect(x, &want.clone()),
                        None => self.check(x, None),
                    };
                    if elem.as_ref().is_none_or(|t| t.is_unknown()) {
                        elem = Some(hx.ty.clone());
                    }
                    taint = taint.or(t);
                    out.push(hx);
                }
                let ty = Ty::List(Box::new(elem.unwrap_or(Ty::Any)));
                (mk(ExprKind::List(out), ty), taint)
            }
            Expr::Record(props, _) => self.record_literal(props, span, expected),
            Expr::Paren(x, _) => self.check(x, expected),
            Expr::Error(_) => (err_expr(span), None),
        }
    }

    fn quantity(&mut self, q: &ast::QuantityLit, expected: Option<&Ty>) -> hir::Expr {
        let v = q.value.0;
        let want = expected.map(|t| t.optional_inner().unwrap_or(t));
        let dur = |ms: f64| (ExprKind::Duration(ms.round() as i64), Ty::Duration);
        let (kind, ty) = match q.unit.as_str() {
            "ms" => dur(v),
            "s" => dur(v * 1e3),
            "min" => dur(v * 6e4),
            "h" => dur(v * 3.6e6),
            "d" => dur(v * 8.64e7),
            "km" => (ExprKind::Distance(FloatLit(v * 1e3)), Ty::Distance),
            "m" => match want {
                Some(Ty::Duration | Ty::Timestamp) => dur(v * 6e4),
                Some(Ty::Distance) => (ExprKind::Distance(FloatLit(v)), Ty::Distance),
                _ if self.quiet_ambiguous_m => (ExprKind::Error, Ty::Error),
                _ => {
                    let n = v;
                    self.push(
                        LocDiag::error("E0302", self.at(q.span), format!("`{n}m` could be minutes or metres"))
                            .label("no duration or distance is expected here")
                            .help(format!("write `{n}min` for minutes; `{n}m` means metres only where a distance is expected")),
                    );
                    (ExprKind::Error, Ty::Error)
                }
            },
            // The lexer reported the unknown unit (E0009); one mistake, one diagnostic.
            _ => (ExprKind::Error, Ty::Error),
        };
        hir::Expr {
            kind,
            ty,
            span: q.span,
        }
    }

    fn local(&self, name: &str) -> Option<&Local> {
        self.locals.iter().rev().find(|l| &*l.name == name)
    }

    /// A bare variant name: by the expected enum, else the only enum declaring it.
    fn variant(&mut self, i: &ast::Ident, expected: Option<&Ty>) -> Option<hir::Expr> {
        let want = expected.map(|t| t.optional_inner().unwrap_or(t));
        let want = match want {
            Some(Ty::List(t)) => Some(&**t),
            other => other,
        };
        if let Some(Ty::Enum(id)) = want
            && let Some((_, variants)) = self.table.enum_variants(id)
            && let Some(ix) = variants.iter().position(|v| **v == *i.name)
        {
            return Some(self.variant_expr(id.clone(), &i.name, ix, i.span));
        }
        let owners = self.table.variant_owners.get(i.name.as_str())?;
        let visible: Vec<&ItemId> = owners
            .iter()
            .filter(|id| {
                &*id.package == STD
                    || id.package == self.scope.package
                    || self.scope.imported.values().any(|x| x == *id)
                    || self.scope.aliases.values().any(|p| *p == id.package)
            })
            .collect();
        match visible.as_slice() {
            [] => None,
            [id] => {
                let id = (*id).clone();
                let ix = self
                    .table
                    .enum_variants(&id)?
                    .1
                    .iter()
                    .position(|v| **v == *i.name)?;
                Some(self.variant_expr(id, &i.name, ix, i.span))
            }
            many => {
                let names: Vec<String> = many.iter().map(|id| format!("`{}`", id.name)).collect();
                let qualified: Vec<String> = many
                    .iter()
                    .rev()
                    .map(|id| format!("`{}.{}`", id.name, i.name))
                    .collect();
                self.push(
                    LocDiag::error(
                        "E0106",
                        self.at(i.span),
                        format!("ambiguous variant `{}`", i.name),
                    )
                    .label(format!("a variant of {}", names.join(" and ")))
                    .help(format!("qualify it: {}", qualified.join(" or "))),
                );
                Some(err_expr(i.span))
            }
        }
    }

    fn variant_expr(&self, id: ItemId, name: &str, ix: usize, span: Span) -> hir::Expr {
        hir::Expr {
            kind: ExprKind::Variant(id.clone(), name.into(), ix as u32),
            ty: Ty::Enum(id),
            span,
        }
    }

    fn name(&mut self, i: &ast::Ident, expected: Option<&Ty>) -> Typed {
        if let Some(l) = self.local(&i.name) {
            let mut taint = l.taint.clone();
            if l.is_let
                && let Some(t) = &mut taint
            {
                t.via
                    .push((l.span, format!("passes through `{}` here", l.name)));
            }
            let x = hir::Expr {
                kind: ExprKind::Local(l.name.clone()),
                ty: l.ty.clone(),
                span: i.span,
            };
            return (x, taint);
        }
        // The expected enum's variant wins over an item of the same name.
        if let Some(Ty::Enum(_)) = expected.map(|t| t.optional_inner().unwrap_or(t))
            && let Some(x) = self.variant(i, expected)
        {
            return (x, None);
        }
        let path = ast::Path {
            segments: vec![i.clone()],
            span: i.span,
        };
        let item = match self.resolve(&path) {
            PathRes::Item(id, _) => self.table.get(&id).cloned(),
            _ => None,
        };
        if let Some(sig) = &item
            && let SigKind::Const { ty, .. } = &sig.kind
        {
            return (
                hir::Expr {
                    kind: ExprKind::Const(sig.id.clone()),
                    ty: ty.clone(),
                    span: i.span,
                },
                None,
            );
        }
        // A variant named like a non-value item (`dispatch` is a SystemKind and an action).
        if let Some(x) = self.variant(i, expected) {
            return (x, None);
        }
        if let Some(sig) = item {
            let d = LocDiag::error(
                "E0109",
                self.at(i.span),
                format!("`{}` is {}, not a value", i.name, sig.tag.describe()),
            )
            .label("expected a value")
            .secondary(sig.loc, "declared here");
            self.push(d);
            return (err_expr(i.span), None);
        }
        if self.quiet_unknown_names {
            return (err_expr(i.span), None);
        }
        let table = self.table;
        let mut cands: Vec<&str> = self.locals.iter().map(|l| &*l.name).collect();
        cands.extend(
            self.scope
                .visible(&table.names)
                .filter(|(_, id)| table.get(id).is_some_and(|s| s.tag == Tag::Const))
                .map(|(n, _)| n),
        );
        cands.extend(table.variant_owners.keys().map(|k| &**k));
        let help = did_you_mean(&i.name, cands);
        self.push(
            LocDiag::error(
                "E0101",
                self.at(i.span),
                format!("unknown name `{}`", i.name),
            )
            .label("not found in this scope")
            .help_opt(help),
        );
        (err_expr(i.span), None)
    }

    /// `a.b.c` as a list of names, when the expression is only names and dots.
    fn name_chain<'e>(e: &'e Expr, out: &mut Vec<&'e ast::Ident>) -> bool {
        match e {
            Expr::Name(i) => {
                out.push(i);
                true
            }
            Expr::Field(b, f, _) => {
                let ok = Self::name_chain(b, out);
                out.push(f);
                ok
            }
            _ => false,
        }
    }

    fn field(&mut self, e: &Expr, expected: Option<&Ty>) -> Typed {
        let Expr::Field(base, fname, span) = e else {
            return (err_expr(e.span()), None);
        };
        let span = *span;
        // A qualified name: `Severity.medium`, `pkg.CONST`, `pkg.Enum.variant`.
        let mut chain = Vec::new();
        if Self::name_chain(e, &mut chain)
            && let Some(first) = chain.first()
            && self.local(&first.name).is_none()
            && let Some(x) = self.qualified(&chain, span)
        {
            return (x, None);
        }
        let _ = expected;
        let (b, taint) = self.check(base, None);
        let mk_field = |cx: &Cx<'_>, b: hir::Expr, fsig: &FieldSig, env: bool, over_list: bool| {
            let ty = if over_list {
                Ty::List(Box::new(fsig.ty.clone()))
            } else {
                fsig.ty.clone()
            };
            let _ = cx;
            hir::Expr {
                kind: ExprKind::Field {
                    base: Box::new(b),
                    field: fsig.name.clone(),
                    over_list,
                    envelope: env,
                },
                ty,
                span,
            }
        };
        let (owner, over_list) = match &b.ty {
            Ty::Record(_) | Ty::Message(_) => (b.ty.clone(), false),
            Ty::List(inner) if matches!(**inner, Ty::Record(_) | Ty::Message(_)) => {
                ((**inner).clone(), true)
            }
            Ty::List(inner) if inner.is_unknown() => return (err_expr(span), taint),
            Ty::Error | Ty::Any => return (err_expr(span), taint),
            Ty::Optional(inner) if matches!(**inner, Ty::Record(_) | Ty::Message(_)) => {
                let text = expr_text(base);
                self.push(
                    LocDiag::error(
                        "E0204",
                        self.at(b.span),
                        format!("optional value `{text}` used without `??`"),
                    )
                    .label(format!("`{text}` may be absent"))
                    .help(format!(
                        "check it first or give a default: `{text} ?? {{ … }}`"
                    )),
                );
                return (err_expr(span), taint);
            }
            other => {
                self.push(
                    LocDiag::error(
                        "E0213",
                        self.at(fname.span),
                        format!("type `{other}` has no field `{}`", fname.name),
                    )
                    .label("no fields")
                    .help("only records and messages (and lists of them) have fields"),
                );
                return (err_expr(span), taint);
            }
        };
        let table = self.table;
        match table.field(&owner, &fname.name) {
            Some((fsig, env)) => {
                let taint = if fsig.pii {
                    Some(Taint {
                        path: expr_text(e),
                        decl: fsig.loc,
                        via: Vec::new(),
                    })
                } else {
                    taint
                };
                (mk_field(self, b, fsig, env, over_list), taint)
            }
            None => {
                let help = did_you_mean(&fname.name, table.field_names(&owner));
                let decl = record_of(&owner)
                    .and_then(|id| table.get(id))
                    .map(|s| s.loc);
                let mut d = LocDiag::error(
                    "E0103",
                    self.at(fname.span),
                    format!("`{owner}` has no field `{}`", fname.name),
                )
                .label("unknown field")
                .help_opt(help);
                if let Some(decl) = decl {
                    d = d.secondary(decl, format!("`{owner}` declared here"));
                }
                self.push(d);
                (err_expr(span), taint)
            }
        }
    }

    /// `Enum.variant`, `pkg.CONST`, `pkg.Enum.variant`; `None` when the chain is not one.
    fn qualified(&mut self, chain: &[&ast::Ident], span: Span) -> Option<hir::Expr> {
        let segs: Vec<&str> = chain.iter().map(|i| i.name.as_str()).collect();
        let (last, prefix) = chain.split_last()?;
        // The whole chain as an item (a constant in another package).
        if let PathRes::Item(id, via) = self.scope.resolve_path(&self.table.names, &segs)
            && let Some(SigKind::Const { ty, .. }) = self.table.get(&id).map(|s| &s.kind)
        {
            if let Some(v) = via {
                self.used.insert(v);
            }
            return Some(hir::Expr {
                kind: ExprKind::Const(id.clone()),
                ty: ty.clone(),
                span,
            });
        }
        // The prefix as an enum.
        let pre: Vec<&str> = prefix.iter().map(|i| i.name.as_str()).collect();
        if let PathRes::Item(id, via) = self.scope.resolve_path(&self.table.names, &pre)
            && let Some((_, variants)) = self.table.enum_variants(&id)
        {
            if let Some(v) = via {
                self.used.insert(v);
            }
            return match variants.iter().position(|v| **v == *last.name) {
                Some(ix) => Some(self.variant_expr(id, &last.name, ix, span)),
                None => {
                    let help = did_you_mean(&last.name, variants.iter().map(|v| &**v));
                    self.push(
                        LocDiag::error(
                            "E0110",
                            self.at(last.span),
                            format!("enum `{}` has no variant `{}`", id.name, last.name),
                        )
                        .label("unknown variant")
                        .help_opt(help),
                    );
                    Some(err_expr(span))
                }
            };
        }
        // A package prefix with an unknown name.
        if !prefix.is_empty()
            && self.local(&prefix[0].name).is_none()
            && let Some((pkg, _)) = self.scope.package_of(&self.table.names, &pre)
        {
            let cands: Vec<&str> = self
                .table
                .names
                .packages
                .get(&pkg)
                .map(|m| m.keys().map(|k| &**k).collect())
                .unwrap_or_default();
            let help = did_you_mean(&last.name, cands);
            self.push(
                LocDiag::error(
                    "E0101",
                    self.at(last.span),
                    format!("package `{pkg}` has no item `{}`", last.name),
                )
                .label("unknown name")
                .help_opt(help),
            );
            return Some(err_expr(span));
        }
        None
    }

    fn unary(&mut self, op: UnaryOp, x: &Expr, span: Span) -> Typed {
        let (hx, taint) = match op {
            UnaryOp::Not => self.expect(x, &Ty::Bool),
            UnaryOp::Neg => self.check(x, None),
        };
        let ty = match op {
            UnaryOp::Not => Ty::Bool,
            UnaryOp::Neg => {
                if !(hx.ty.is_numeric() || hx.ty.is_quantity() || hx.ty.is_unknown()) {
                    self.push(
                        LocDiag::error(
                            "E0202",
                            self.at(span),
                            format!("cannot negate `{}`", hx.ty),
                        )
                        .label("not a number"),
                    );
                }
                hx.ty.clone()
            }
        };
        (
            hir::Expr {
                kind: ExprKind::Unary(op, Box::new(hx)),
                ty,
                span,
            },
            taint,
        )
    }

    /// Whether an expression takes its type from its context (bare variants, `m`, `{…}`).
    fn needs_context(&self, e: &Expr) -> bool {
        match e {
            Expr::Name(i) => {
                let is_const = self
                    .scope
                    .lookup(&self.table.names, &i.name)
                    .and_then(|(id, _)| self.table.get(&id))
                    .is_some_and(|s| s.tag == Tag::Const);
                self.local(&i.name).is_none()
                    && !is_const
                    && self.table.variant_owners.contains_key(i.name.as_str())
            }
            Expr::Quantity(q) => q.unit == "m",
            Expr::Record(..) => true,
            Expr::List(xs, _) => xs.first().is_some_and(|x| self.needs_context(x)),
            Expr::Paren(x, _) => self.needs_context(x),
            _ => false,
        }
    }

    /// Checks both operands, the context-free one first so it can type the other.
    fn operands(&mut self, a: &Expr, b: &Expr, list_rhs: bool) -> (Typed, Typed) {
        if self.needs_context(a) && !self.needs_context(b) {
            let tb = self.check(b, None);
            let want = match (&tb.0.ty, list_rhs) {
                (Ty::List(t), true) => (**t).clone(),
                (t, _) => t.clone(),
            };
            let ta = self.check(a, Some(&want));
            (ta, tb)
        } else {
            let ta = self.check(a, None);
            let want = if list_rhs {
                Ty::List(Box::new(ta.0.ty.clone()))
            } else {
                ta.0.ty.clone()
            };
            let tb = self.check(b, Some(&want));
            (ta, tb)
        }
    }

    fn no_optional(&mut self, x: &hir::Expr, src: &Expr) -> bool {
        if let Ty::Optional(_) = x.ty {
            let text = expr_text(src);
            self.push(
                LocDiag::error(
                    "E0204",
                    self.at(x.span),
                    format!("optional value `{text}` used without `??`"),
                )
                .label(format!("this is `{}`, which may be absent", x.ty))
                .help(format!("give a default: `{text} ?? …`")),
            );
            return false;
        }
        true
    }

    fn binary(
        &mut self,
        op: BinaryOp,
        a: &Expr,
        b: &Expr,
        span: Span,
        expected: Option<&Ty>,
    ) -> Typed {
        let mk = |a: hir::Expr, b: hir::Expr, ty: Ty| hir::Expr {
            kind: ExprKind::Binary(op, Box::new(a), Box::new(b)),
            ty,
            span,
        };
        match op {
            BinaryOp::And | BinaryOp::Or => {
                let (ha, ta) = self.expect(a, &Ty::Bool);
                let (hb, tb) = self.expect(b, &Ty::Bool);
                (mk(ha, hb, Ty::Bool), ta.or(tb))
            }
            BinaryOp::Coalesce => {
                let want_left = expected.map(|t| Ty::Optional(Box::new(t.clone())));
                let (ha, ta) = self.check(a, want_left.as_ref());
                let inner = match &ha.ty {
                    Ty::Optional(t) => (**t).clone(),
                    t if t.is_unknown() => Ty::Error,
                    t => {
                        let text = expr_text(a);
                        self.push(
                            LocDiag::error(
                                "E0205",
                                self.at(ha.span),
                                "`??` needs an optional on the left",
                            )
                            .label(format!("`{text}` is `{t}`, never absent"))
                            .help(format!("remove `?? …`: `{text}` always has a value")),
                        );
                        t.clone()
                    }
                };
                let want = if inner.is_unknown() {
                    expected.cloned().unwrap_or(Ty::Error)
                } else {
                    inner.clone()
                };
                let (hb, tb) = self.expect(b, &want);
                let ty = if inner.is_unknown() {
                    hb.ty.clone()
                } else {
                    inner
                };
                (mk(ha, hb, ty), ta.or(tb))
            }
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::In => {
                let in_list = op == BinaryOp::In;
                let ((ha, ta), (hb, tb)) = self.operands(a, b, in_list);
                if self.no_optional(&ha, a) && self.no_optional(&hb, b) {
                    let right = match (&hb.ty, in_list) {
                        (Ty::List(t), true) => Some((**t).clone()),
                        (t, true) if t.is_unknown() => Some(Ty::Error),
                        (_, true) => {
                            self.push(
                                LocDiag::error(
                                    "E0202",
                                    self.at(hb.span),
                                    format!("`in` needs a list on the right, found `{}`", hb.ty),
                                )
                                .label("not a list")
                                .help("write a list: `x in [a, b]`"),
                            );
                            None
                        }
                        (t, false) => Some(t.clone()),
                    };
                    if let Some(right) = right {
                        self.compare(op, &ha.ty, &right, span);
                    }
                }
                (mk(ha, hb, Ty::Bool), ta.or(tb))
            }
            _ => {
                // `30m * 2` where a duration is expected: the expected unit decides the `m`.
                let hint = expected
                    .map(|t| t.optional_inner().unwrap_or(t))
                    .filter(|t| t.is_quantity())
                    .cloned();
                let ((ha, ta), (hb, tb)) = match hint {
                    Some(q) if is_metres_or_minutes(a) || is_metres_or_minutes(b) => {
                        (self.check(a, Some(&q)), self.check(b, Some(&q)))
                    }
                    _ => self.operands(a, b, false),
                };
                let ty = if self.no_optional(&ha, a) && self.no_optional(&hb, b) {
                    self.arith(op, &ha.ty, &hb.ty, span)
                } else {
                    Ty::Error
                };
                (mk(ha, hb, ty), ta.or(tb))
            }
        }
    }

    fn compare(&mut self, op: BinaryOp, a: &Ty, b: &Ty, span: Span) {
        if a.is_unknown() || b.is_unknown() {
            return;
        }
        let same = a == b
            || (a.is_numeric() && b.is_numeric())
            || matches!((a, b), (Ty::String, Ty::Zone) | (Ty::Zone, Ty::String));
        if !same {
            let sym = op.symbol();
            let d = match (unit_name(a), unit_name(b)) {
                (Some(x), Some(y)) => LocDiag::error(
                    "E0301",
                    self.at(span),
                    format!("cannot compare a {x} with a {y}"),
                )
                .label(format!("`{x}` and `{y}` are different units")),
                (Some(u), None) | (None, Some(u)) if a.is_numeric() || b.is_numeric() => {
                    LocDiag::error(
                        "E0303",
                        self.at(span),
                        format!("cannot compare a {u} with a plain number"),
                    )
                    .label("the number has no unit")
                    .help(format!(
                        "write the unit: `{}`",
                        if u == "duration" { "5min" } else { "500m" }
                    ))
                }
                _ => LocDiag::error(
                    "E0202",
                    self.at(span),
                    format!("cannot apply `{sym}` to `{a}` and `{b}`"),
                )
                .label("incompatible types"),
            };
            self.push(d);
            return;
        }
        if matches!(
            op,
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
        ) {
            match a {
                Ty::Int
                | Ty::Float
                | Ty::Duration
                | Ty::Distance
                | Ty::Timestamp
                | Ty::String
                | Ty::Zone => {}
                Ty::Enum(id) => {
                    if let Some((false, _)) = self.table.enum_variants(id) {
                        let decl = self.table.get(id).map(|s| s.loc);
                        let mut d = LocDiag::error(
                            "E0206",
                            self.at(span),
                            format!("enum `{}` is not ordered", id.name),
                        )
                        .label(format!(
                            "`{}` cannot be used with `{}`",
                            id.name,
                            op.symbol()
                        ))
                        .help(format!(
                            "declare it `ordered enum {}` or compare with `==`",
                            id.name
                        ));
                        if let Some(decl) = decl {
                            d = d.secondary(decl, "declared here");
                        }
                        self.push(d);
                    }
                }
                other => {
                    self.push(
                        LocDiag::error("E0206", self.at(span), format!("`{other}` values have no order"))
                            .label(format!("cannot use `{}` here", op.symbol()))
                            .help("order applies to numbers, quantities, timestamps, strings and ordered enums"),
                    );
                }
            }
        }
    }

    fn arith(&mut self, op: BinaryOp, a: &Ty, b: &Ty, span: Span) -> Ty {
        use BinaryOp::*;
        use Ty::*;
        if a.is_unknown() || b.is_unknown() {
            return Ty::Error;
        }
        let num = |t: &Ty| t.is_numeric();
        let ty = match (op, a, b) {
            (_, Int, Int) => Some(Int),
            (_, x, y) if num(x) && num(y) => Some(Float),
            (Add, String, String) => Some(String),
            (Add | Sub, Duration, Duration) => Some(Duration),
            (Add | Sub, Distance, Distance) => Some(Distance),
            (Add | Sub, Timestamp, Duration) | (Add, Duration, Timestamp) => Some(Timestamp),
            (Sub, Timestamp, Timestamp) => Some(Duration),
            (Mul, q, n) | (Mul, n, q) if q.is_quantity() && num(n) => Some(q.clone()),
            (Div, q, n) if q.is_quantity() && num(n) => Some(q.clone()),
            (Div, Duration, Duration) | (Div, Distance, Distance) => Some(Float),
            _ => None,
        };
        if let Some(t) = ty {
            if op == Rem && t != Int {
                self.push(
                    LocDiag::error(
                        "E0202",
                        self.at(span),
                        format!("cannot apply `%` to `{a}` and `{b}`"),
                    )
                    .label("`%` needs two `int`s"),
                );
                return Ty::Error;
            }
            return t;
        }
        let verb = match op {
            Add => "add",
            Sub => "subtract",
            Mul => "multiply",
            Div => "divide",
            _ => "combine",
        };
        let unit_of = |t: &Ty| match t {
            Duration | Timestamp => Some("duration"),
            Distance => Some("distance"),
            _ => None,
        };
        let d = match (unit_of(a), unit_of(b)) {
            (Some(x), Some(y)) if x != y => LocDiag::error(
                "E0301",
                self.at(span),
                format!(
                    "cannot {verb} a {} and a {}",
                    if *a == Timestamp { "timestamp" } else { x },
                    if *b == Timestamp { "timestamp" } else { y }
                ),
            )
            .label(format!("`{a}` and `{b}` are different units"))
            .help("durations combine with durations and timestamps; distances with distances"),
            (Some(u), None) | (None, Some(u)) if num(a) || num(b) => LocDiag::error(
                "E0303",
                self.at(span),
                format!("cannot {verb} a {u} and a plain number"),
            )
            .label("the number has no unit")
            .help(format!(
                "write the unit: `{}`",
                if u == "duration" { "5min" } else { "500m" }
            )),
            _ => LocDiag::error(
                "E0202",
                self.at(span),
                format!("cannot apply `{}` to `{a}` and `{b}`", op.symbol()),
            )
            .label("incompatible types"),
        };
        self.push(d);
        Ty::Error
    }

    fn match_expr(
        &mut self,
        x: &Expr,
        arms: &[ast::MatchArm],
        span: Span,
        expected: Option<&Ty>,
    ) -> Typed {
        let (hx, mut taint) = self.check(x, None);
        self.no_optional(&hx, x);
        let enum_id = match &hx.ty {
            Ty::Enum(id) => Some(id.clone()),
            _ => None,
        };
        let variants: Vec<Arc<str>> = enum_id
            .as_ref()
            .and_then(|id| self.table.enum_variants(id))
            .map(|(_, v)| v.to_vec())
            .unwrap_or_default();
        let mut covered: HashSet<Arc<str>> = HashSet::new();
        let mut bools: HashSet<bool> = HashSet::new();
        let mut wildcard = false;
        let mut ty: Option<Ty> = expected.cloned();
        let mut out = Vec::with_capacity(arms.len());
        for arm in arms {
            let (pattern, key): (hir::Pattern, Option<String>) = match &arm.pattern {
                ast::Pattern::Wildcard(_) => (hir::Pattern::Wildcard, None),
                ast::Pattern::Name(p) => self.pattern_name(p, &hx.ty, &variants),
                ast::Pattern::Int(n, s) => {
                    self.pattern_type(&Ty::Int, &hx.ty, *s);
                    (hir::Pattern::Int(*n), Some(n.to_string()))
                }
                ast::Pattern::Str(l) => {
                    self.pattern_type(&Ty::String, &hx.ty, l.span);
                    (
                        hir::Pattern::Str(l.value.clone()),
                        Some(format!("{:?}", l.value)),
                    )
                }
                ast::Pattern::Bool(b, s) => {
                    self.pattern_type(&Ty::Bool, &hx.ty, *s);
                    (hir::Pattern::Bool(*b), Some(b.to_string()))
                }
            };
            let unreachable = wildcard
                || match (&pattern, &key) {
                    (hir::Pattern::Variant(v, _), _) => !covered.insert(v.clone()),
                    (hir::Pattern::Bool(b), _) => !bools.insert(*b),
                    _ => false,
                };
            if unreachable {
                self.push(
                    LocDiag::warning("W0003", self.at(arm.span), "unreachable match arm")
                        .label("earlier arms already cover this")
                        .help("remove the arm"),
                );
            }
            if matches!(pattern, hir::Pattern::Wildcard) {
                wildcard = true;
            }
            let (body, bt) = match &ty {
                Some(t) => self.expect(&arm.body, &t.clone()),
                None => self.check(&arm.body, None),
            };
            if ty.as_ref().is_none_or(|t| t.is_unknown()) {
                ty = Some(body.ty.clone());
            }
            taint = taint.or(bt);
            out.push(hir::MatchArm { pattern, body });
        }
        if !wildcard && !hx.ty.is_unknown() {
            let missing: Vec<String> = if enum_id.is_some() {
                variants
                    .iter()
                    .filter(|v| !covered.contains(*v))
                    .map(|v| format!("`{v}`"))
                    .collect()
            } else if hx.ty == Ty::Bool {
                [true, false]
                    .iter()
                    .filter(|b| !bools.contains(b))
                    .map(|b| format!("`{b}`"))
                    .collect()
            } else {
                vec!["`_`".to_owned()]
            };
            if !missing.is_empty() {
                self.push(
                    LocDiag::error(
                        "E0208",
                        self.at(span),
                        format!("`match` does not cover {}", missing.join(", ")),
                    )
                    .label("non-exhaustive match")
                    .help("add the missing arms or a `_ => …` arm"),
                );
            }
        }
        let ty = ty.unwrap_or(Ty::Error);
        (
            hir::Expr {
                kind: ExprKind::Match(Box::new(hx), out),
                ty,
                span,
            },
            taint,
        )
    }

    fn pattern_type(&mut self, pat: &Ty, scrutinee: &Ty, span: Span) {
        if !assignable(pat, scrutinee) {
            self.push(
                LocDiag::error(
                    "E0201",
                    self.at(span),
                    format!("expected a `{scrutinee}` pattern, found `{pat}`"),
                )
                .label(format!("this is `{pat}`")),
            );
        }
    }

    fn pattern_name(
        &mut self,
        p: &ast::Path,
        scrutinee: &Ty,
        variants: &[Arc<str>],
    ) -> (hir::Pattern, Option<String>) {
        let name = p.last().map_or("", |i| i.name.as_str());
        if let Ty::Enum(id) = scrutinee {
            if let Some(ix) = variants.iter().position(|v| **v == *name) {
                return (
                    hir::Pattern::Variant(name.into(), ix as u32),
                    Some(name.to_owned()),
                );
            }
            let help = did_you_mean(name, variants.iter().map(|v| &**v));
            self.push(
                LocDiag::error(
                    "E0110",
                    self.at(p.span),
                    format!("enum `{}` has no variant `{name}`", id.name),
                )
                .label("unknown variant")
                .help_opt(help),
            );
            return (hir::Pattern::Wildcard, None);
        }
        if let PathRes::Item(id, _) = self.resolve(p)
            && let Some(SigKind::Const { ty, .. }) = self.table.get(&id).map(|s| &s.kind)
        {
            let ty = ty.clone();
            self.pattern_type(&ty, scrutinee, p.span);
            return (hir::Pattern::Const(id), None);
        }
        if !scrutinee.is_unknown() {
            self.push(
                LocDiag::error(
                    "E0101",
                    self.at(p.span),
                    format!("unknown name `{}` in pattern", p.dotted()),
                )
                .label("not a variant or constant"),
            );
        }
        (hir::Pattern::Wildcard, None)
    }

    fn record_literal(
        &mut self,
        props: &[ast::Property],
        span: Span,
        expected: Option<&Ty>,
    ) -> Typed {
        let want = expected.map(|t| t.optional_inner().unwrap_or(t));
        let id = match want {
            Some(Ty::Record(id) | Ty::Message(id)) => id.clone(),
            Some(Ty::Map(k, v)) if matches!(**k, Ty::String | Ty::Zone) => {
                // `{ camera: "cam-44" }` where a `map<string, V>` is expected.
                let v = (**v).clone();
                let mut out = Vec::with_capacity(props.len());
                let mut taint = None;
                for p in props {
                    let (x, t) = self.expect(&p.value, &v);
                    taint = taint.or(t);
                    out.push(FieldValue {
                        name: p.name.name.as_str().into(),
                        value: x,
                    });
                }
                let ty = want.cloned().unwrap_or(Ty::Error);
                return (
                    hir::Expr {
                        kind: ExprKind::Record(out),
                        ty,
                        span,
                    },
                    taint,
                );
            }
            Some(t) if t.is_unknown() => {
                for p in props {
                    self.check(&p.value, None);
                }
                return (err_expr(span), None);
            }
            Some(other) => {
                self.push(
                    LocDiag::error(
                        "E0201",
                        self.at(span),
                        format!("expected `{other}`, found a record literal"),
                    )
                    .label("record literal"),
                );
                return (err_expr(span), None);
            }
            None => {
                self.push(
                    LocDiag::error(
                        "E0207",
                        self.at(span),
                        "cannot infer the type of this record literal",
                    )
                    .label("no record type is expected here")
                    .help(
                        "use it where a record type is expected, like a field or a typed `const`",
                    ),
                );
                return (err_expr(span), None);
            }
        };
        let table = self.table;
        let fields = table.get(&id).map(|s| s.fields()).unwrap_or(&[]);
        let is_message = matches!(want, Some(Ty::Message(_)));
        // A message literal may leave the envelope out: the runtime fills defaults.
        let envelope: &[FieldSig] = if is_message { &table.envelope } else { &[] };
        let owner = if is_message {
            format!("message `{}`", id.name)
        } else {
            format!("record `{}`", id.name)
        };
        let mut taint = None;
        let values = self.props(
            props,
            fields,
            envelope,
            false,
            &owner,
            span,
            &mut |_, _, t| taint = taint.take().or(t),
        );
        let ty = if is_message {
            Ty::Message(id)
        } else {
            Ty::Record(id)
        };
        (
            hir::Expr {
                kind: ExprKind::Record(values),
                ty,
                span,
            },
            taint,
        )
    }

    /// Checks `name: value` properties against declared fields: unknown names (unless
    /// `open`), duplicates, missing required fields; `optional` fields may be left out.
    /// `sink` sees each value's name, span and taint.
    #[allow(clippy::too_many_arguments)]
    pub fn props(
        &mut self,
        props: &[ast::Property],
        fields: &[FieldSig],
        optional: &[FieldSig],
        open: bool,
        owner: &str,
        span: Span,
        sink: &mut PropSink<'_, 'a>,
    ) -> Vec<FieldValue> {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut out = Vec::with_capacity(props.len());
        for p in props {
            if !seen.insert(&p.name.name) {
                self.push(
                    LocDiag::error(
                        "E0113",
                        self.at(p.name.span),
                        format!("`{}` is given twice", p.name.name),
                    )
                    .label("duplicate field"),
                );
                continue;
            }
            let field = fields
                .iter()
                .chain(optional)
                .find(|f| *f.name == *p.name.name);
            let (value, taint) = match field {
                Some(f) => self.expect(&p.value, &f.ty.clone()),
                None if open => self.check(&p.value, None),
                None => {
                    let help = did_you_mean(
                        &p.name.name,
                        fields.iter().chain(optional).map(|f| &*f.name),
                    );
                    self.push(
                        LocDiag::error(
                            "E0103",
                            self.at(p.name.span),
                            format!("{owner} has no field `{}`", p.name.name),
                        )
                        .label("unknown field")
                        .help_opt(help),
                    );
                    let r = self.check(&p.value, None);
                    out.push(FieldValue {
                        name: p.name.name.as_str().into(),
                        value: r.0,
                    });
                    continue;
                }
            };
            let ty = value.ty.clone();
            sink(self, (&p.name.name, p.value.span(), &ty), taint);
            out.push(FieldValue {
                name: p.name.name.as_str().into(),
                value,
            });
        }
        let missing: Vec<String> = fields
            .iter()
            .filter(|f| f.required() && !seen.contains(&*f.name))
            .map(|f| format!("`{}`", f.name))
            .collect();
        if !missing.is_empty() {
            let s = if missing.len() == 1 { "" } else { "s" };
            self.push(
                LocDiag::error(
                    "E0209",
                    self.at(span),
                    format!("{owner} is missing field{s} {}", missing.join(", ")),
                )
                .label("required fields missing")
                .help(format!("add {}", missing.join(", "))),
            );
        }
        out
    }

    /// Reports personal data (a tainted value, or a record holding `@pii` fields) reaching a
    /// place that leaves the local layer.
    pub fn sink(&mut self, taint: Option<Taint>, ty: &Ty, span: Span, src_text: &str, into: &str) {
        let taint = taint.or_else(|| {
            let id = record_of(ty)?;
            let (path, decl) = self.table.pii_paths.get(id)?;
            Some(Taint {
                path: format!("{src_text}.{path}"),
                decl: *decl,
                via: Vec::new(),
            })
        });
        let Some(t) = taint else { return };
        let mut d = LocDiag::error(
            "E0410",
            self.at(span),
            format!("personal data `{}` flows into {into}", t.path),
        )
        .label("personal data would leave the local layer here")
        .secondary(t.decl, "declared `@pii` here");
        for (s, m) in &t.via {
            d = d.secondary(self.at(*s), m.clone());
        }
        self.push(d.help("tokenize it with `tokenize(…)` or keep it at the local layer"));
    }

    // ----- calls -------------------------------------------------------------------------

    fn call(
        &mut self,
        path: &ast::Path,
        args: &[Expr],
        span: Span,
        expected: Option<&Ty>,
    ) -> Typed {
        let Some(id) = self.resolve_kind(path, "function", &|t| t == Tag::Fn) else {
            for a in args {
                self.check(a, None);
            }
            return (err_expr(span), None);
        };
        let Some(SigKind::Fn {
            params,
            ret,
            sanitizes,
            aggregate,
            ..
        }) = self.table.get(&id).map(|s| s.kind.clone())
        else {
            return (err_expr(span), None);
        };
        if aggregate && !self.in_report {
            self.push(
                LocDiag::error(
                    "E0212",
                    self.at(span),
                    format!("`{}` is a report aggregate", id.name),
                )
                .label("only report fields may call it")
                .help("aggregates summarise a report's window; use them inside a `report`"),
            );
        }
        if args.len() != params.len() {
            let s = if params.len() == 1 { "" } else { "s" };
            self.push(
                LocDiag::error(
                    "E0203",
                    self.at(span),
                    format!(
                        "`{}` takes {} argument{s}, found {}",
                        id.name,
                        params.len(),
                        args.len()
                    ),
                )
                .label("wrong number of arguments"),
            );
            for a in args {
                self.check(a, None);
            }
            return (err_expr(span), None);
        }
        let is_std = &*id.package == STD;
        if is_std && &*id.name == "latest" {
            return (self.latest(&args[0], span), None);
        }
        let mut hargs = Vec::with_capacity(args.len());
        let mut taint = None;
        for (a, (_, pty)) in args.iter().zip(&params) {
            let (x, t) = if pty.is_unknown() {
                self.check(a, None)
            } else {
                self.expect(a, pty)
            };
            taint = taint.or(t);
            hargs.push(x);
        }
        let ty = if is_std {
            self.generic_result(&id.name, &hargs, &ret, span)
        } else {
            ret
        };
        let _ = expected;
        let taint = if sanitizes { None } else { taint };
        (
            hir::Expr {
                kind: ExprKind::Call(id, hargs),
                ty,
                span,
            },
            taint,
        )
    }

    fn latest(&mut self, arg: &Expr, span: Span) -> hir::Expr {
        let path = match arg {
            Expr::Name(i) => ast::Path {
                segments: vec![i.clone()],
                span: i.span,
            },
            _ => {
                let mut chain = Vec::new();
                if !Self::name_chain(arg, &mut chain) {
                    self.push(
                        LocDiag::error(
                            "E0201",
                            self.at(arg.span()),
                            "`latest` takes a message type name",
                        )
                        .label("expected a message type")
                        .help("write `latest(traffic_status)`"),
                    );
                    return err_expr(span);
                }
                ast::Path {
                    segments: chain.into_iter().cloned().collect(),
                    span: arg.span(),
                }
            }
        };
        match self.resolve_kind(&path, "message type", &|t| matches!(t, Tag::Message(_))) {
            Some(id) => hir::Expr {
                kind: ExprKind::Latest(id.clone()),
                ty: Ty::Optional(Box::new(Ty::Message(id))),
                span,
            },
            None => err_expr(span),
        }
    }

    /// The precise result type of std's generic list and text functions.
    fn generic_result(&mut self, name: &str, args: &[hir::Expr], ret: &Ty, span: Span) -> Ty {
        let Some(first) = args.first() else {
            return ret.clone();
        };
        let t = &first.ty;
        if let Ty::Optional(_) = t {
            let d = LocDiag::error(
                "E0204",
                self.at(first.span),
                format!("optional value passed to `{name}` without `??`"),
            )
            .label(format!("this is `{t}`, which may be absent"))
            .help("give a default first: `x ?? []`");
            self.push(d);
            return if ret.is_unknown() {
                Ty::Error
            } else {
                ret.clone()
            };
        }
        if t.is_unknown() {
            return if ret.is_unknown() {
                Ty::Error
            } else {
                ret.clone()
            };
        }
        let elem = match t {
            Ty::List(e) => Some((**e).clone()),
            _ => None,
        };
        let bad = |cx: &mut Self, want: &str| {
            cx.push(
                LocDiag::error(
                    "E0201",
                    cx.at(first.span),
                    format!("`{name}` needs {want}, found `{t}`"),
                )
                .label(format!("this is `{t}`")),
            );
            Ty::Error
        };
        match name {
            "len" => {
                if elem.is_none() && *t != Ty::String {
                    return bad(self, "a list or a string");
                }
                Ty::Int
            }
            "contains" => {
                match (&elem, args.get(1)) {
                    (Some(e), Some(x)) => self.require(&x.clone(), e, &Expr::Error(x.span)),
                    (None, Some(x)) if *t == Ty::String || *t == Ty::Zone => {
                        self.require(&x.clone(), &Ty::String, &Expr::Error(x.span))
                    }
                    (None, _) => return bad(self, "a list or a string"),
                    _ => {}
                }
                Ty::Bool
            }
            "distinct" => match elem {
                Some(_) => t.clone(),
                None => bad(self, "a list"),
            },
            "sum" | "min" | "max" | "avg" => match elem {
                Some(e) if e.is_numeric() || e.is_quantity() || e.is_unknown() => {
                    if name == "avg" {
                        if e.is_quantity() { e } else { Ty::Float }
                    } else {
                        e
                    }
                }
                Some(e @ (Ty::Timestamp | Ty::String)) if name == "min" || name == "max" => e,
                Some(Ty::Enum(id)) if name == "min" || name == "max" => Ty::Enum(id),
                _ => {
                    let _ = span;
                    bad(self, "a list of numbers")
                }
            },
            _ => ret.clone(),
        }
    }
}
