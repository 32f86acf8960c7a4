//! Moves every span of an item so that it is relative to the item's start.
//!
//! Per-item queries work on item-relative spans: an edit earlier in the file shifts the
//! item's absolute position, but not its relative tree, so salsa sees an equal input and keeps
//! the item's check. Absolute positions are restored only when diagnostics are rendered.

use cbp_syntax::Span;
use cbp_syntax::ast::*;

/// Subtracts `base` from every span in the item (saturating: doc comments may start before).
pub fn rebase_item(item: &mut Item, base: u32) {
    let r = Rebase(base);
    match item {
        Item::Enum(i) => {
            r.docs(&mut i.docs);
            r.annotations(&mut i.annotations);
            r.ident(&mut i.name);
            for v in &mut i.variants {
                r.docs(&mut v.docs);
                r.ident(&mut v.name);
                r.span(&mut v.span);
            }
            r.span(&mut i.span);
        }
        Item::Record(i) => {
            r.docs(&mut i.docs);
            r.annotations(&mut i.annotations);
            r.ident(&mut i.name);
            r.fields(&mut i.fields);
            r.span(&mut i.span);
        }
        Item::Message(i) => {
            r.docs(&mut i.docs);
            r.annotations(&mut i.annotations);
            r.ident(&mut i.name);
            r.fields(&mut i.fields);
            r.span(&mut i.span);
        }
        Item::Plugin(i) => {
            r.docs(&mut i.docs);
            r.annotations(&mut i.annotations);
            r.span(&mut i.model_id.span);
            r.ident(&mut i.name);
            r.props(&mut i.properties);
            r.span(&mut i.span);
        }
        Item::Authority(i) => {
            r.docs(&mut i.docs);
            r.annotations(&mut i.annotations);
            r.ident(&mut i.name);
            r.props(&mut i.properties);
            r.span(&mut i.span);
        }
        Item::System(i) => {
            r.docs(&mut i.docs);
            r.annotations(&mut i.annotations);
            r.ident(&mut i.name);
            r.props(&mut i.properties);
            r.span(&mut i.span);
        }
        Item::Action(i) => {
            r.docs(&mut i.docs);
            r.annotations(&mut i.annotations);
            r.ident(&mut i.name);
            r.fields(&mut i.params);
            r.span(&mut i.span);
        }
        Item::Const(i) => {
            r.docs(&mut i.docs);
            r.annotations(&mut i.annotations);
            r.ident(&mut i.name);
            if let Some(t) = &mut i.ty {
                r.ty(t);
            }
            r.expr(&mut i.value);
            r.span(&mut i.span);
        }
        Item::Fn(i) => {
            r.docs(&mut i.docs);
            r.annotations(&mut i.annotations);
            r.ident(&mut i.name);
            for p in &mut i.params {
                r.ident(&mut p.name);
                r.ty(&mut p.ty);
                r.span(&mut p.span);
            }
            r.ty(&mut i.ret);
            if let Some(b) = &mut i.body {
                r.expr(b);
            }
            r.span(&mut i.span);
        }
        Item::Rule(i) => {
            r.docs(&mut i.docs);
            r.annotations(&mut i.annotations);
            r.ident(&mut i.name);
            r.ident(&mut i.layer);
            for c in &mut i.clauses {
                r.clause(c);
            }
            r.span(&mut i.span);
        }
        Item::Report(i) => {
            r.docs(&mut i.docs);
            r.annotations(&mut i.annotations);
            r.ident(&mut i.name);
            r.ident(&mut i.layer);
            r.expr(&mut i.every);
            r.ident(&mut i.to);
            r.props(&mut i.fields);
            r.span(&mut i.span);
        }
        Item::Test(i) => {
            r.docs(&mut i.docs);
            r.span(&mut i.name.span);
            for s in &mut i.steps {
                r.step(s);
            }
            r.span(&mut i.span);
        }
        Item::Error(s) => r.span(s),
    }
}

struct Rebase(u32);

impl Rebase {
    fn span(&self, s: &mut Span) {
        s.start = s.start.saturating_sub(self.0);
        s.end = s.end.saturating_sub(self.0);
    }

    fn ident(&self, i: &mut Ident) {
        self.span(&mut i.span);
    }

    fn path(&self, p: &mut Path) {
        for s in &mut p.segments {
            self.ident(s);
        }
        self.span(&mut p.span);
    }

    fn docs(&self, d: &mut Docs) {
        self.span(&mut d.span);
    }

    fn annotations(&self, anns: &mut [Annotation]) {
        for a in anns {
            self.ident(&mut a.name);
            for e in &mut a.args {
                self.expr(e);
            }
            self.span(&mut a.span);
        }
    }

    fn fields(&self, fields: &mut [FieldDecl]) {
        for f in fields {
            self.docs(&mut f.docs);
            self.annotations(&mut f.annotations);
            self.ident(&mut f.name);
            self.ty(&mut f.ty);
            if let Some(rc) = &mut f.range {
                self.expr(&mut rc.low);
                self.expr(&mut rc.high);
                self.span(&mut rc.span);
            }
            self.span(&mut f.span);
        }
    }

    fn props(&self, props: &mut [Property]) {
        for p in props {
            self.ident(&mut p.name);
            self.expr(&mut p.value);
            self.span(&mut p.span);
        }
    }

    fn ty(&self, t: &mut TypeExpr) {
        match t {
            TypeExpr::Named(p) => self.path(p),
            TypeExpr::List(inner, s) | TypeExpr::Optional(inner, s) => {
                self.ty(inner);
                self.span(s);
            }
            TypeExpr::Map(k, v, s) => {
                self.ty(k);
                self.ty(v);
                self.span(s);
            }
            TypeExpr::Error(s) => self.span(s),
        }
    }

    fn block(&self, b: &mut ActionBlock) {
        for a in &mut b.actions {
            match a {
                Action::Invoke(i) => {
                    self.ident(&mut i.kind);
                    self.path(&mut i.target);
                    self.props(&mut i.params);
                    self.span(&mut i.span);
                }
                Action::Escalate(e) => {
                    self.path(&mut e.incident);
                    self.ident(&mut e.to);
                    self.props(&mut e.fields);
                    self.span(&mut e.span);
                }
                Action::Command(c) => {
                    self.path(&mut c.directive);
                    match &mut c.to {
                        CommandTarget::Children(s) => self.span(s),
                        CommandTarget::Zones(e) => self.expr(e),
                    }
                    self.props(&mut c.fields);
                    self.span(&mut c.span);
                }
                Action::Error(s) => self.span(s),
            }
        }
        self.span(&mut b.span);
    }

    fn clause(&self, c: &mut RuleClause) {
        match c {
            RuleClause::On(o) => {
                self.ident(&mut o.binding);
                self.path(&mut o.message);
                if let Some(p) = &mut o.source {
                    self.path(p);
                }
                self.span(&mut o.span);
            }
            RuleClause::When(e, s) | RuleClause::Priority(e, s) => {
                self.expr(e);
                self.span(s);
            }
            RuleClause::Let(l) => {
                self.ident(&mut l.name);
                self.expr(&mut l.value);
                self.span(&mut l.span);
            }
            RuleClause::Correlate(k) => {
                self.ident(&mut k.binding);
                self.path(&mut k.message);
                for e in [
                    &mut k.window,
                    &mut k.radius,
                    &mut k.filter,
                    &mut k.min_count,
                ]
                .into_iter()
                .flatten()
                {
                    self.expr(e);
                }
                self.span(&mut k.span);
            }
            RuleClause::Then(b) => self.block(b),
            RuleClause::Approval(a) => {
                self.path(&mut a.authority);
                self.expr(&mut a.within);
                self.span(&mut a.span);
            }
            RuleClause::OnOutcome(o) => {
                self.block(&mut o.block);
                self.span(&mut o.span);
            }
            RuleClause::NoResponse(n) => {
                self.expr(&mut n.within);
                self.block(&mut n.block);
                self.span(&mut n.span);
            }
            RuleClause::Error(s) => self.span(s),
        }
    }

    fn step(&self, s: &mut TestStep) {
        match s {
            TestStep::Send(x) => {
                self.path(&mut x.message);
                self.expr(&mut x.at);
                self.props(&mut x.fields);
                self.span(&mut x.span);
            }
            TestStep::Advance(e, sp) => {
                self.expr(e);
                self.span(sp);
            }
            TestStep::Expect(x) => {
                if let Some(c) = &mut x.count {
                    self.expr(c);
                }
                self.span(&mut x.kind_span);
                if let Some(p) = &mut x.subject {
                    self.path(p);
                }
                self.props(&mut x.fields);
                self.span(&mut x.span);
            }
            TestStep::Error(sp) => self.span(sp),
        }
    }

    fn expr(&self, e: &mut Expr) {
        match e {
            Expr::Int(_, s) | Expr::Float(_, s) | Expr::Bool(_, s) | Expr::Error(s) => self.span(s),
            Expr::Str(l) => self.span(&mut l.span),
            Expr::Quantity(q) => self.span(&mut q.span),
            Expr::Name(i) => self.ident(i),
            Expr::Field(b, f, s) => {
                self.expr(b);
                self.ident(f);
                self.span(s);
            }
            Expr::Call(p, args, s) => {
                self.path(p);
                for a in args {
                    self.expr(a);
                }
                self.span(s);
            }
            Expr::Unary(_, x, s) | Expr::Paren(x, s) => {
                self.expr(x);
                self.span(s);
            }
            Expr::Binary(_, a, b, s) => {
                self.expr(a);
                self.expr(b);
                self.span(s);
            }
            Expr::If(c, a, b, s) => {
                self.expr(c);
                self.expr(a);
                self.expr(b);
                self.span(s);
            }
            Expr::Match(x, arms, s) => {
                self.expr(x);
                for arm in arms {
                    match &mut arm.pattern {
                        Pattern::Name(p) => self.path(p),
                        Pattern::Int(_, sp) | Pattern::Bool(_, sp) | Pattern::Wildcard(sp) => {
                            self.span(sp)
                        }
                        Pattern::Str(l) => self.span(&mut l.span),
                    }
                    self.expr(&mut arm.body);
                    self.span(&mut arm.span);
                }
                self.span(s);
            }
            Expr::List(xs, s) => {
                for x in xs {
                    self.expr(x);
                }
                self.span(s);
            }
            Expr::Record(props, s) => {
                self.props(props);
                self.span(s);
            }
        }
    }
}
