//! Shared test helpers: a compact printer for trees and a checker for span invariants.
#![allow(dead_code)]

use cbp_syntax::Span;
use cbp_syntax::ast::*;
use std::fmt::Write;

/// Checks that every node's span lies within `0..len` and every child lies within its parent.
/// Returns the violations found (empty when all is well).
pub fn span_violations(file: &SourceFile, len: usize) -> Vec<String> {
    let mut v = Checker {
        problems: Vec::new(),
    };
    let root = Span::new(0, len);
    v.inside(root, file.span, "file");
    if let Some(p) = &file.package {
        v.inside(file.span, p.span, "package");
        v.docs(p.span, &p.docs);
        v.path(p.span, &p.path);
    }
    for i in &file.imports {
        v.inside(file.span, i.span, "import");
        v.path(i.span, &i.path);
        for n in i.names.iter().flatten() {
            v.ident(i.span, n);
        }
    }
    for item in &file.items {
        v.inside(file.span, item.span(), "item");
        v.item(item);
    }
    v.problems
}

struct Checker {
    problems: Vec<String>,
}

impl Checker {
    fn inside(&mut self, parent: Span, child: Span, what: &str) {
        if !parent.contains(child) || child.start > child.end {
            self.problems
                .push(format!("{what} {child:?} not inside {parent:?}"));
        }
    }

    fn ident(&mut self, parent: Span, i: &Ident) {
        self.inside(parent, i.span, "ident");
        if i.span.len() != i.name.len() {
            self.problems
                .push(format!("ident `{}` has span {:?}", i.name, i.span));
        }
    }

    fn path(&mut self, parent: Span, p: &Path) {
        self.inside(parent, p.span, "path");
        for s in &p.segments {
            self.ident(p.span, s);
        }
    }

    fn docs(&mut self, parent: Span, d: &Docs) {
        if !d.is_empty() {
            self.inside(parent, d.span, "docs");
        }
    }

    fn annotations(&mut self, parent: Span, anns: &[Annotation]) {
        for a in anns {
            self.inside(parent, a.span, "annotation");
            self.ident(a.span, &a.name);
            for e in &a.args {
                self.expr(a.span, e);
            }
        }
    }

    fn fields(&mut self, parent: Span, fields: &[FieldDecl]) {
        for f in fields {
            self.inside(parent, f.span, "field");
            self.docs(f.span, &f.docs);
            self.annotations(f.span, &f.annotations);
            self.ident(f.span, &f.name);
            self.ty(f.span, &f.ty);
            if let Some(r) = &f.range {
                self.inside(f.span, r.span, "range");
                self.expr(r.span, &r.low);
                self.expr(r.span, &r.high);
            }
        }
    }

    fn props(&mut self, parent: Span, props: &[Property]) {
        for p in props {
            self.inside(parent, p.span, "property");
            self.ident(p.span, &p.name);
            self.expr(p.span, &p.value);
        }
    }

    fn ty(&mut self, parent: Span, t: &TypeExpr) {
        self.inside(parent, t.span(), "type");
        match t {
            TypeExpr::Named(p) => self.path(p.span, p),
            TypeExpr::List(a, s) | TypeExpr::Optional(a, s) => self.ty(*s, a),
            TypeExpr::Map(a, b, s) => {
                self.ty(*s, a);
                self.ty(*s, b);
            }
            TypeExpr::Error(_) => {}
        }
    }

    fn item(&mut self, item: &Item) {
        let s = item.span();
        match item {
            Item::Enum(d) => {
                self.docs(s, &d.docs);
                self.annotations(s, &d.annotations);
                self.ident(s, &d.name);
                for var in &d.variants {
                    self.inside(s, var.span, "variant");
                    self.docs(var.span, &var.docs);
                    self.ident(var.span, &var.name);
                }
            }
            Item::Record(d) => {
                self.docs(s, &d.docs);
                self.annotations(s, &d.annotations);
                self.ident(s, &d.name);
                self.fields(s, &d.fields);
            }
            Item::Message(d) => {
                self.docs(s, &d.docs);
                self.annotations(s, &d.annotations);
                self.ident(s, &d.name);
                self.fields(s, &d.fields);
            }
            Item::Plugin(d) => {
                self.docs(s, &d.docs);
                self.annotations(s, &d.annotations);
                self.inside(s, d.model_id.span, "model id");
                self.ident(s, &d.name);
                self.props(s, &d.properties);
            }
            Item::Authority(d) => {
                self.docs(s, &d.docs);
                self.annotations(s, &d.annotations);
                self.ident(s, &d.name);
                self.props(s, &d.properties);
            }
            Item::System(d) => {
                self.docs(s, &d.docs);
                self.annotations(s, &d.annotations);
                self.ident(s, &d.name);
                self.props(s, &d.properties);
            }
            Item::Action(d) => {
                self.docs(s, &d.docs);
                self.annotations(s, &d.annotations);
                self.ident(s, &d.name);
                self.fields(s, &d.params);
            }
            Item::Const(d) => {
                self.docs(s, &d.docs);
                self.annotations(s, &d.annotations);
                self.ident(s, &d.name);
                if let Some(t) = &d.ty {
                    self.ty(s, t);
                }
                self.expr(s, &d.value);
            }
            Item::Fn(d) => {
                self.docs(s, &d.docs);
                self.annotations(s, &d.annotations);
                self.ident(s, &d.name);
                for p in &d.params {
                    self.inside(s, p.span, "param");
                    self.ident(p.span, &p.name);
                    self.ty(p.span, &p.ty);
                }
                self.ty(s, &d.ret);
                if let Some(b) = &d.body {
                    self.expr(s, b);
                }
                if d.is_extern != d.body.is_none() {
                    self.problems
                        .push("extern fn with body or fn without".to_owned());
                }
            }
            Item::Rule(d) => {
                self.docs(s, &d.docs);
                self.annotations(s, &d.annotations);
                self.ident(s, &d.name);
                self.ident(s, &d.layer);
                for c in &d.clauses {
                    self.inside(s, c.span(), "clause");
                    self.clause(c);
                }
            }
            Item::Report(d) => {
                self.docs(s, &d.docs);
                self.annotations(s, &d.annotations);
                self.ident(s, &d.name);
                self.ident(s, &d.layer);
                self.expr(s, &d.every);
                self.ident(s, &d.to);
                self.props(s, &d.fields);
            }
            Item::Test(d) => {
                self.docs(s, &d.docs);
                self.inside(s, d.name.span, "test name");
                for step in &d.steps {
                    self.step(s, step);
                }
            }
            Item::Error(_) => {}
        }
    }

    fn clause(&mut self, c: &RuleClause) {
        let s = c.span();
        match c {
            RuleClause::On(o) => {
                self.ident(s, &o.binding);
                self.path(s, &o.message);
                if let Some(p) = &o.source {
                    self.path(s, p);
                }
            }
            RuleClause::When(e, _) | RuleClause::Priority(e, _) => self.expr(s, e),
            RuleClause::Let(l) => {
                self.ident(s, &l.name);
                self.expr(s, &l.value);
            }
            RuleClause::Correlate(c) => {
                self.ident(s, &c.binding);
                self.path(s, &c.message);
                for e in [&c.window, &c.radius, &c.filter, &c.min_count]
                    .into_iter()
                    .flatten()
                {
                    self.expr(s, e);
                }
            }
            RuleClause::Then(b) => self.block(s, b),
            RuleClause::Approval(a) => {
                self.path(s, &a.authority);
                self.expr(s, &a.within);
            }
            RuleClause::OnOutcome(o) => {
                if o.outcome == Outcome::Escalate {
                    self.problems.push("on escalate".to_owned());
                }
                self.block(s, &o.block);
            }
            RuleClause::NoResponse(n) => {
                self.expr(s, &n.within);
                self.block(s, &n.block);
            }
            RuleClause::Error(_) => {}
        }
    }

    fn block(&mut self, parent: Span, b: &ActionBlock) {
        self.inside(parent, b.span, "block");
        for a in &b.actions {
            let s = a.span();
            self.inside(b.span, s, "action");
            match a {
                Action::Invoke(i) => {
                    self.ident(s, &i.kind);
                    self.path(s, &i.target);
                    self.props(s, &i.params);
                }
                Action::Escalate(e) => {
                    self.path(s, &e.incident);
                    self.ident(s, &e.to);
                    self.props(s, &e.fields);
                }
                Action::Command(c) => {
                    self.path(s, &c.directive);
                    match &c.to {
                        CommandTarget::Children(cs) => self.inside(s, *cs, "children"),
                        CommandTarget::Zones(e) => self.expr(s, e),
                    }
                    self.props(s, &c.fields);
                }
                Action::Error(_) => {}
            }
        }
    }

    fn step(&mut self, parent: Span, step: &TestStep) {
        match step {
            TestStep::Send(st) => {
                self.inside(parent, st.span, "send");
                self.path(st.span, &st.message);
                self.expr(st.span, &st.at);
                self.props(st.span, &st.fields);
            }
            TestStep::Advance(e, s) => {
                self.inside(parent, *s, "advance");
                self.expr(*s, e);
            }
            TestStep::Expect(x) => {
                self.inside(parent, x.span, "expect");
                self.inside(x.span, x.kind_span, "expect kind");
                if let Some(c) = &x.count {
                    self.expr(x.span, c);
                }
                if let Some(p) = &x.subject {
                    self.path(x.span, p);
                }
                self.props(x.span, &x.fields);
            }
            TestStep::Error(s) => self.inside(parent, *s, "step error"),
        }
    }

    fn expr(&mut self, parent: Span, e: &Expr) {
        let s = e.span();
        self.inside(parent, s, "expr");
        match e {
            Expr::Int(..) | Expr::Float(..) | Expr::Bool(..) | Expr::Error(_) => {}
            Expr::Str(l) => self.inside(s, l.span, "string"),
            Expr::Quantity(q) => self.inside(s, q.span, "quantity"),
            Expr::Name(i) => self.ident(s, i),
            Expr::Field(b, f, _) => {
                self.expr(s, b);
                self.ident(s, f);
            }
            Expr::Call(p, args, _) => {
                self.path(s, p);
                for a in args {
                    self.expr(s, a);
                }
            }
            Expr::Unary(_, a, _) | Expr::Paren(a, _) => self.expr(s, a),
            Expr::Binary(_, a, b, _) => {
                self.expr(s, a);
                self.expr(s, b);
            }
            Expr::If(c, a, b, _) => {
                self.expr(s, c);
                self.expr(s, a);
                self.expr(s, b);
            }
            Expr::Match(x, arms, _) => {
                self.expr(s, x);
                for arm in arms {
                    self.inside(s, arm.span, "arm");
                    self.expr(arm.span, &arm.body);
                }
            }
            Expr::List(xs, _) => {
                for x in xs {
                    self.expr(s, x);
                }
            }
            Expr::Record(props, _) => self.props(s, props),
        }
    }
}

/// A compact, readable rendering of an expression, for assertions.
pub fn show_expr(e: &Expr) -> String {
    let mut out = String::new();
    write_expr(&mut out, e);
    out
}

fn write_expr(out: &mut String, e: &Expr) {
    match e {
        Expr::Int(n, _) => write!(out, "{n}").unwrap_or(()),
        Expr::Float(f, _) => write!(out, "{:?}", f.0).unwrap_or(()),
        Expr::Str(s) => write!(out, "{:?}", s.value).unwrap_or(()),
        Expr::Bool(b, _) => write!(out, "{b}").unwrap_or(()),
        Expr::Quantity(q) => write!(out, "{}{}", q.value.0, q.unit).unwrap_or(()),
        Expr::Name(i) => out.push_str(&i.name),
        Expr::Field(b, f, _) => {
            write_expr(out, b);
            out.push('.');
            out.push_str(&f.name);
        }
        Expr::Call(p, args, _) => {
            out.push_str(&p.dotted());
            out.push('(');
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_expr(out, a);
            }
            out.push(')');
        }
        Expr::Unary(op, a, _) => {
            out.push_str(match op {
                UnaryOp::Neg => "(-",
                UnaryOp::Not => "(not ",
            });
            write_expr(out, a);
            out.push(')');
        }
        Expr::Binary(op, a, b, _) => {
            out.push('(');
            write_expr(out, a);
            write!(out, " {} ", op.symbol()).unwrap_or(());
            write_expr(out, b);
            out.push(')');
        }
        Expr::If(c, a, b, _) => {
            out.push_str("(if ");
            write_expr(out, c);
            out.push_str(" then ");
            write_expr(out, a);
            out.push_str(" else ");
            write_expr(out, b);
            out.push(')');
        }
        Expr::Match(x, arms, _) => {
            out.push_str("(match ");
            write_expr(out, x);
            out.push_str(" {");
            for arm in arms {
                let pat = match &arm.pattern {
                    Pattern::Name(p) => p.dotted(),
                    Pattern::Int(n, _) => n.to_string(),
                    Pattern::Str(s) => format!("{:?}", s.value),
                    Pattern::Bool(b, _) => b.to_string(),
                    Pattern::Wildcard(_) => "_".to_owned(),
                };
                write!(out, " {pat} => ").unwrap_or(());
                write_expr(out, &arm.body);
                out.push(';');
            }
            out.push_str(" })");
        }
        Expr::List(xs, _) => {
            out.push('[');
            for (i, x) in xs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_expr(out, x);
            }
            out.push(']');
        }
        Expr::Record(props, _) => {
            out.push('{');
            for (i, p) in props.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write!(out, " {}: ", p.name.name).unwrap_or(());
                write_expr(out, &p.value);
            }
            out.push_str(" }");
        }
        Expr::Paren(a, _) => {
            out.push_str("(paren ");
            write_expr(out, a);
            out.push(')');
        }
        Expr::Error(_) => out.push_str("<error>"),
    }
}

/// `code@start..end` for each diagnostic, for compact assertions.
pub fn codes(diags: &[cbp_syntax::Diagnostic]) -> Vec<&'static str> {
    diags.iter().map(|d| d.code).collect()
}
