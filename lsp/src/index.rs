//! The semantic index of one file: every name in it, with what it refers to.
//!
//! Declarations and the names the checked program keeps no span for (types, triggers,
//! targets, authorities, field names in actions and literals) come from the syntax tree;
//! expressions come from the checked program (`hir`), which knows their types, and are
//! mapped back onto the tree by span. Everything position-based in the server (hover,
//! definition, references, rename, semantic tokens) reads this index.

use crate::resolve::{Resolver, package_of};
use cbp_check::hir::{self, ItemId, Ty};
use cbp_syntax::Span;
use cbp_syntax::ast;
use std::collections::HashMap;
use std::sync::Arc;

/// What a name refers to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Item(ItemId),
    /// A field of a record or message (envelope fields belong to `std.Envelope`), or a
    /// parameter of an action kind.
    Field {
        owner: ItemId,
        name: Arc<str>,
    },
    Variant {
        owner: ItemId,
        name: Arc<str>,
    },
    /// A rule binding, `let`, or function parameter, identified by where it is declared.
    Local {
        file: String,
        def: u32,
        name: Arc<str>,
    },
}

#[derive(Clone, Debug)]
pub struct Occurrence {
    /// Absolute span of the name itself.
    pub span: Span,
    pub target: Target,
    /// This occurrence declares the target.
    pub def: bool,
    /// The type of the expression, for names inside expressions and local declarations.
    pub ty: Option<String>,
}

#[derive(Debug, Default)]
pub struct FileIndex {
    /// Sorted by start.
    pub occurrences: Vec<Occurrence>,
}

impl FileIndex {
    /// The occurrence under (or just after) `offset`.
    pub fn at(&self, offset: u32) -> Option<&Occurrence> {
        self.occurrences
            .iter()
            .filter(|o| o.span.start <= offset && offset <= o.span.end)
            .min_by_key(|o| o.span.len())
    }

    pub fn definition_of(&self, target: &Target) -> Option<&Occurrence> {
        self.occurrences
            .iter()
            .find(|o| o.def && &o.target == target)
    }
}

/// The envelope every message carries; its fields are accessed like payload fields.
pub fn envelope_id() -> ItemId {
    ItemId::new("std", "Envelope")
}

/// Builds the index of one parsed file against the checked program.
pub fn build(
    path: &str,
    file: &ast::SourceFile,
    program_items: &[Arc<hir::Item>],
    resolver: &Resolver,
) -> FileIndex {
    let mut b = Builder {
        path,
        package: package_of(file),
        resolver,
        out: Vec::new(),
        exprs: HashMap::new(),
        locals: Vec::new(),
    };
    for import in &file.imports {
        for name in import.names.iter().flatten() {
            if let Some(id) = resolver.name(&name.name, &import.path.dotted(), "") {
                b.push(name.span, Target::Item(id), false, None);
            }
        }
    }
    let by_offset: HashMap<u32, &Arc<hir::Item>> = program_items
        .iter()
        .filter(|i| i.file == path)
        .map(|i| (i.offset, i))
        .collect();
    for item in &file.items {
        let hir = by_offset.get(&item.span().start).copied();
        b.item(item, hir);
    }
    b.out.sort_by_key(|o| (o.span.start, o.span.end));
    b.out
        .dedup_by(|a, b| a.span == b.span && a.target == b.target);
    FileIndex { occurrences: b.out }
}

struct Builder<'a> {
    path: &'a str,
    package: String,
    resolver: &'a Resolver,
    out: Vec<Occurrence>,
    /// Absolute span → expression of the current item, to find the names inside the
    /// expressions the checked program describes.
    exprs: HashMap<Span, &'a ast::Expr>,
    /// Local declarations of the current item: (name, start of the declaring name).
    locals: Vec<(Arc<str>, u32)>,
}

impl<'a> Builder<'a> {
    fn push(&mut self, span: Span, target: Target, def: bool, ty: Option<String>) {
        self.out.push(Occurrence {
            span,
            target,
            def,
            ty,
        });
    }

    fn id(&self, name: &ast::Ident) -> ItemId {
        ItemId::new(&self.package, &name.name)
    }

    fn item(&mut self, item: &'a ast::Item, hir: Option<&'a Arc<hir::Item>>) {
        self.exprs.clear();
        self.locals.clear();
        for e in item_exprs(item) {
            visit(e, &mut |e| {
                self.exprs.insert(e.span(), e);
            });
        }
        if let Some(name) = item.name() {
            self.push(name.span, Target::Item(self.id(name)), true, None);
        }
        match item {
            ast::Item::Enum(e) => {
                let owner = self.id(&e.name);
                for v in &e.variants {
                    let target = Target::Variant {
                        owner: owner.clone(),
                        name: v.name.name.as_str().into(),
                    };
                    self.push(v.name.span, target, true, None);
                }
            }
            ast::Item::Record(ast::RecordDecl { name, fields, .. })
            | ast::Item::Message(ast::MessageDecl { name, fields, .. })
            | ast::Item::Action(ast::ActionDecl {
                name,
                params: fields,
                ..
            }) => {
                let owner = self.id(name);
                for f in fields {
                    let target = Target::Field {
                        owner: owner.clone(),
                        name: f.name.name.as_str().into(),
                    };
                    self.push(f.name.span, target, true, None);
                    self.ty(&f.ty);
                }
            }
            ast::Item::Plugin(ast::PluginDecl { properties, .. })
            | ast::Item::Authority(ast::AuthorityDecl { properties, .. })
            | ast::Item::System(ast::SystemDecl { properties, .. }) => {
                for p in properties {
                    self.names_in(&p.value);
                }
            }
            ast::Item::Const(c) => {
                if let Some(t) = &c.ty {
                    self.ty(t);
                }
            }
            ast::Item::Fn(f) => {
                let types: HashMap<&str, &Ty> = match hir.map(|h| &h.kind) {
                    Some(hir::ItemKind::Fn(f)) => f.params.iter().map(|(n, t)| (&**n, t)).collect(),
                    _ => HashMap::new(),
                };
                for p in &f.params {
                    let ty = types.get(p.name.name.as_str()).map(|t| t.to_string());
                    self.local_def(&p.name, ty);
                    self.ty(&p.ty);
                }
                self.ty(&f.ret);
            }
            ast::Item::Rule(r) => self.rule(r, hir),
            ast::Item::Report(_) | ast::Item::Error(_) => {}
            ast::Item::Test(t) => self.test(t),
        }
        if let Some(hir) = hir {
            self.hir_item(hir);
        }
    }

    fn local_def(&mut self, name: &ast::Ident, ty: Option<String>) {
        let name_text: Arc<str> = name.name.as_str().into();
        self.locals.push((name_text.clone(), name.span.start));
        let target = Target::Local {
            file: self.path.to_owned(),
            def: name.span.start,
            name: name_text,
        };
        self.push(name.span, target, true, ty);
    }

    fn local_ref(&self, name: &str, at: u32) -> Option<Target> {
        let (_, def) = self
            .locals
            .iter()
            .rev()
            .find(|(n, d)| &**n == name && *d < at)?;
        Some(Target::Local {
            file: self.path.to_owned(),
            def: *def,
            name: name.into(),
        })
    }

    fn path(&mut self, path: &ast::Path) -> Option<ItemId> {
        let id = self.resolver.path(path, &self.package)?;
        if let Some(last) = path.last() {
            self.push(last.span, Target::Item(id.clone()), false, None);
        }
        Some(id)
    }

    fn ty(&mut self, t: &ast::TypeExpr) {
        match t {
            ast::TypeExpr::Named(p) => {
                self.path(p);
            }
            ast::TypeExpr::List(t, _) | ast::TypeExpr::Optional(t, _) => self.ty(t),
            ast::TypeExpr::Map(k, v, _) => {
                self.ty(k);
                self.ty(v);
            }
            ast::TypeExpr::Error(_) => {}
        }
    }

    /// Item names inside property values (`approves: [fine]`, `emits: [flood_warning]`).
    fn names_in(&mut self, e: &ast::Expr) {
        visit(e, &mut |e| {
            if let ast::Expr::Name(n) = e
                && let Some(id) = self.resolver.name(&n.name, "", &self.package)
            {
                self.out.push(Occurrence {
                    span: n.span,
                    target: Target::Item(id),
                    def: false,
                    ty: None,
                });
            }
        });
    }

    fn rule(&mut self, r: &'a ast::RuleDecl, hir: Option<&'a Arc<hir::Item>>) {
        let rule = match hir.map(|h| &h.kind) {
            Some(hir::ItemKind::Rule(rule)) => Some(rule),
            _ => None,
        };
        let let_types: HashMap<&str, String> = rule
            .iter()
            .flat_map(|r| &r.clauses)
            .filter_map(|c| match c {
                hir::Clause::Let { name, value } => Some((&**name, value.ty.to_string())),
                _ => None,
            })
            .collect();
        for clause in &r.clauses {
            match clause {
                ast::RuleClause::On(on) => {
                    let msg = self.path(&on.message);
                    self.local_def(&on.binding, msg.map(|m| m.name.to_string()));
                    if let Some(source) = &on.source {
                        self.path(source);
                    }
                }
                ast::RuleClause::Let(l) => {
                    let ty = let_types.get(l.name.name.as_str()).cloned();
                    self.local_def(&l.name, ty);
                }
                ast::RuleClause::Correlate(c) => {
                    let msg = self.path(&c.message);
                    self.local_def(&c.binding, msg.map(|m| format!("list<{}>", m.name)));
                }
                ast::RuleClause::Then(block) => self.actions(&block.actions),
                ast::RuleClause::OnOutcome(o) => self.actions(&o.block.actions),
                ast::RuleClause::NoResponse(n) => self.actions(&n.block.actions),
                ast::RuleClause::Approval(a) => {
                    self.path(&a.authority);
                }
                ast::RuleClause::When(..)
                | ast::RuleClause::Priority(..)
                | ast::RuleClause::Error(_) => {}
            }
        }
    }

    fn actions(&mut self, actions: &[ast::Action]) {
        for action in actions {
            let (owner, fields) = match action {
                ast::Action::Invoke(a) => {
                    let kind = self.resolver.name(&a.kind.name, "", &self.package);
                    if let Some(kind) = &kind {
                        self.push(a.kind.span, Target::Item(kind.clone()), false, None);
                    }
                    self.path(&a.target);
                    (kind, &a.params)
                }
                ast::Action::Escalate(a) => (self.path(&a.incident), &a.fields),
                ast::Action::Command(a) => (self.path(&a.directive), &a.fields),
                ast::Action::Error(_) => continue,
            };
            if let Some(owner) = owner {
                self.field_names(&owner, fields);
            }
        }
    }

    fn field_names(&mut self, owner: &ItemId, fields: &[ast::Property]) {
        for p in fields {
            let target = Target::Field {
                owner: owner.clone(),
                name: p.name.name.as_str().into(),
            };
            self.push(p.name.span, target, false, None);
        }
    }

    fn test(&mut self, t: &'a ast::TestDecl) {
        for step in &t.steps {
            match step {
                ast::TestStep::Send(s) => {
                    if let Some(msg) = self.path(&s.message) {
                        self.field_names(&msg, &s.fields);
                    }
                }
                ast::TestStep::Expect(e) => {
                    if let Some(subject) = &e.subject {
                        self.path(subject);
                    }
                }
                ast::TestStep::Advance(..) | ast::TestStep::Error(_) => {}
            }
        }
    }

    fn hir_item(&mut self, item: &hir::Item) {
        for e in hir_roots(item) {
            self.hir_expr(e, item.offset);
        }
    }

    /// The span of the name an expression ends with (`x`, `a.b.x`, `f` in `f(…)`).
    fn name_span(&self, abs: Span) -> Option<Span> {
        match self.exprs.get(&abs)? {
            ast::Expr::Name(n) | ast::Expr::Field(_, n, _) => Some(n.span),
            ast::Expr::Call(path, _, _) => path.last().map(|n| n.span),
            _ => None,
        }
    }

    fn hir_expr(&mut self, e: &hir::Expr, base: u32) {
        let abs = Span {
            start: e.span.start.saturating_add(base),
            end: e.span.end.saturating_add(base),
        };
        let ty = || Some(e.ty.to_string());
        match &e.kind {
            hir::ExprKind::Local(name) => {
                if let (Some(span), Some(target)) =
                    (self.name_span(abs), self.local_ref(name, abs.start))
                {
                    self.push(span, target, false, ty());
                }
            }
            hir::ExprKind::Const(id) => {
                if let Some(span) = self.name_span(abs) {
                    self.push(span, Target::Item(id.clone()), false, ty());
                }
            }
            hir::ExprKind::Variant(id, v, _) => {
                if let Some(span) = self.name_span(abs) {
                    let target = Target::Variant {
                        owner: id.clone(),
                        name: v.clone(),
                    };
                    self.push(span, target, false, ty());
                }
            }
            hir::ExprKind::Field {
                base: receiver,
                field,
                envelope,
                ..
            } => {
                let owner = if *envelope {
                    Some(envelope_id())
                } else {
                    owner_of(&receiver.ty)
                };
                if let (Some(span), Some(owner)) = (self.name_span(abs), owner) {
                    let target = Target::Field {
                        owner,
                        name: field.clone(),
                    };
                    self.push(span, target, false, ty());
                }
                self.hir_expr(receiver, base);
            }
            hir::ExprKind::Call(id, args) => {
                if let Some(span) = self.name_span(abs) {
                    self.push(span, Target::Item(id.clone()), false, ty());
                }
                for a in args {
                    self.hir_expr(a, base);
                }
            }
            hir::ExprKind::Latest(id) => {
                if let Some(ast::Expr::Call(_, args, _)) = self.exprs.get(&abs)
                    && let Some(ast::Expr::Name(n)) = args.first()
                {
                    let span = n.span;
                    self.push(span, Target::Item(id.clone()), false, None);
                }
            }
            hir::ExprKind::Unary(_, x) => self.hir_expr(x, base),
            hir::ExprKind::Binary(_, x, y) => {
                self.hir_expr(x, base);
                self.hir_expr(y, base);
            }
            hir::ExprKind::If(c, x, y) => {
                self.hir_expr(c, base);
                self.hir_expr(x, base);
                self.hir_expr(y, base);
            }
            hir::ExprKind::Match(scrutinee, arms) => {
                self.hir_expr(scrutinee, base);
                let patterns: Vec<&ast::Pattern> = match self.exprs.get(&abs) {
                    Some(ast::Expr::Match(_, ast_arms, _)) => {
                        ast_arms.iter().map(|a| &a.pattern).collect()
                    }
                    _ => Vec::new(),
                };
                for (arm, pattern) in arms
                    .iter()
                    .zip(patterns.iter().map(Some).chain(std::iter::repeat(None)))
                {
                    if let (
                        hir::Pattern::Variant(v, _),
                        Some(ast::Pattern::Name(path)),
                        Ty::Enum(owner),
                    ) = (
                        &arm.pattern,
                        pattern,
                        scrutinee.ty.optional_inner().unwrap_or(&scrutinee.ty),
                    ) && let Some(last) = path.last()
                    {
                        let target = Target::Variant {
                            owner: owner.clone(),
                            name: v.clone(),
                        };
                        self.push(last.span, target, false, None);
                    }
                    if let (hir::Pattern::Const(id), Some(ast::Pattern::Name(path))) =
                        (&arm.pattern, pattern)
                        && let Some(last) = path.last()
                    {
                        self.push(last.span, Target::Item(id.clone()), false, None);
                    }
                    self.hir_expr(&arm.body, base);
                }
            }
            hir::ExprKind::List(items) => {
                for x in items {
                    self.hir_expr(x, base);
                }
            }
            hir::ExprKind::Record(fields) => {
                if let (Some(ast::Expr::Record(props, _)), Some(owner)) =
                    (self.exprs.get(&abs), owner_of(&e.ty))
                {
                    let props: Vec<&ast::Property> = props.iter().collect();
                    for p in props {
                        let target = Target::Field {
                            owner: owner.clone(),
                            name: p.name.name.as_str().into(),
                        };
                        self.push(p.name.span, target, false, None);
                    }
                }
                for f in fields {
                    self.hir_expr(&f.value, base);
                }
            }
            hir::ExprKind::Int(_)
            | hir::ExprKind::Float(_)
            | hir::ExprKind::Str(_)
            | hir::ExprKind::Bool(_)
            | hir::ExprKind::Duration(_)
            | hir::ExprKind::Distance(_)
            | hir::ExprKind::Error => {}
        }
    }
}

/// The record or message whose fields a value of this type has.
pub fn owner_of(ty: &Ty) -> Option<ItemId> {
    match ty {
        Ty::Record(id) | Ty::Message(id) => Some(id.clone()),
        Ty::List(t) | Ty::Optional(t) => owner_of(t),
        _ => None,
    }
}

/// Every top-level expression of an item (their subexpressions are reached by [`visit`]).
pub fn item_exprs(item: &ast::Item) -> Vec<&ast::Expr> {
    let mut out: Vec<&ast::Expr> = Vec::new();
    fn props(ps: &[ast::Property]) -> Vec<&ast::Expr> {
        ps.iter().map(|p| &p.value).collect()
    }
    fn actions<'e>(acts: &'e [ast::Action], out: &mut Vec<&'e ast::Expr>) {
        for a in acts {
            let ps = match a {
                ast::Action::Invoke(a) => &a.params,
                ast::Action::Escalate(a) => &a.fields,
                ast::Action::Command(a) => {
                    if let ast::CommandTarget::Zones(z) = &a.to {
                        out.push(z);
                    }
                    &a.fields
                }
                ast::Action::Error(_) => continue,
            };
            out.extend(ps.iter().map(|p| &p.value));
        }
    }
    match item {
        ast::Item::Plugin(p) => out.extend(props(&p.properties)),
        ast::Item::Authority(p) => out.extend(props(&p.properties)),
        ast::Item::System(p) => out.extend(props(&p.properties)),
        ast::Item::Const(c) => out.push(&c.value),
        ast::Item::Fn(f) => out.extend(&f.body),
        ast::Item::Rule(r) => {
            for c in &r.clauses {
                match c {
                    ast::RuleClause::When(e, _) | ast::RuleClause::Priority(e, _) => out.push(e),
                    ast::RuleClause::Let(l) => out.push(&l.value),
                    ast::RuleClause::Correlate(k) => {
                        out.extend(&k.window);
                        out.extend(&k.radius);
                        out.extend(&k.filter);
                        out.extend(&k.min_count);
                    }
                    ast::RuleClause::Then(b) => actions(&b.actions, &mut out),
                    ast::RuleClause::OnOutcome(o) => actions(&o.block.actions, &mut out),
                    ast::RuleClause::NoResponse(n) => {
                        out.push(&n.within);
                        actions(&n.block.actions, &mut out);
                    }
                    ast::RuleClause::Approval(a) => out.push(&a.within),
                    ast::RuleClause::On(_) | ast::RuleClause::Error(_) => {}
                }
            }
        }
        ast::Item::Report(r) => {
            out.push(&r.every);
            out.extend(props(&r.fields));
        }
        ast::Item::Test(t) => {
            for s in &t.steps {
                match s {
                    ast::TestStep::Send(s) => {
                        out.push(&s.at);
                        out.extend(props(&s.fields));
                    }
                    ast::TestStep::Advance(e, _) => out.push(e),
                    ast::TestStep::Expect(e) => {
                        out.extend(&e.count);
                        out.extend(props(&e.fields));
                    }
                    ast::TestStep::Error(_) => {}
                }
            }
        }
        ast::Item::Enum(_)
        | ast::Item::Record(_)
        | ast::Item::Message(_)
        | ast::Item::Action(_)
        | ast::Item::Error(_) => {}
    }
    out
}

/// Calls `f` on `e` and every expression inside it.
pub fn visit<'e>(e: &'e ast::Expr, f: &mut impl FnMut(&'e ast::Expr)) {
    f(e);
    match e {
        ast::Expr::Field(x, _, _) | ast::Expr::Unary(_, x, _) | ast::Expr::Paren(x, _) => {
            visit(x, f)
        }
        ast::Expr::Call(_, args, _) | ast::Expr::List(args, _) => {
            for a in args {
                visit(a, f);
            }
        }
        ast::Expr::Binary(_, x, y, _) => {
            visit(x, f);
            visit(y, f);
        }
        ast::Expr::If(c, x, y, _) => {
            visit(c, f);
            visit(x, f);
            visit(y, f);
        }
        ast::Expr::Match(x, arms, _) => {
            visit(x, f);
            for a in arms {
                visit(&a.body, f);
            }
        }
        ast::Expr::Record(props, _) => {
            for p in props {
                visit(&p.value, f);
            }
        }
        ast::Expr::Int(..)
        | ast::Expr::Float(..)
        | ast::Expr::Str(_)
        | ast::Expr::Bool(..)
        | ast::Expr::Quantity(_)
        | ast::Expr::Name(_)
        | ast::Expr::Error(_) => {}
    }
}

/// The top-level expressions of a checked item (subexpressions via [`hir_children`]).
pub fn hir_roots(item: &hir::Item) -> Vec<&hir::Expr> {
    let mut exprs: Vec<&hir::Expr> = Vec::new();
    fn fields(fs: &[hir::FieldValue]) -> Vec<&hir::Expr> {
        fs.iter().map(|f| &f.value).collect()
    }
    fn actions(acts: &[hir::Action]) -> Vec<&hir::Expr> {
        let mut out = Vec::new();
        for a in acts {
            match a {
                hir::Action::Invoke { params, .. } => out.extend(params.iter().map(|f| &f.value)),
                hir::Action::Escalate { fields, .. } => out.extend(fields.iter().map(|f| &f.value)),
                hir::Action::Command { to, fields, .. } => {
                    if let hir::CommandTarget::Zones(z) = to {
                        out.push(z);
                    }
                    out.extend(fields.iter().map(|f| &f.value));
                }
            }
        }
        out
    }
    match &item.kind {
        hir::ItemKind::Const(c) => exprs.push(&c.value),
        hir::ItemKind::Fn(f) => exprs.extend(&f.body),
        hir::ItemKind::Plugin(p) => exprs.extend(fields(&p.properties)),
        hir::ItemKind::Rule(r) => {
            for c in &r.clauses {
                match c {
                    hir::Clause::When(e) => exprs.push(e),
                    hir::Clause::Let { value, .. } => exprs.push(value),
                    hir::Clause::Correlate(k) => {
                        exprs.extend(&k.radius);
                        exprs.extend(&k.filter);
                        exprs.extend(&k.min_count);
                    }
                }
            }
            exprs.extend(&r.priority);
            exprs.extend(actions(&r.then));
            exprs.extend(actions(&r.on_approve));
            exprs.extend(actions(&r.on_reject));
            if let Some((_, acts)) = &r.no_response {
                exprs.extend(actions(acts));
            }
        }
        hir::ItemKind::Report(r) => exprs.extend(fields(&r.fields)),
        hir::ItemKind::Test(t) => {
            for step in &t.steps {
                match step {
                    hir::Step::Send { at, fields: fs, .. } => {
                        exprs.push(at);
                        exprs.extend(fields(fs));
                    }
                    hir::Step::Advance(e) => exprs.push(e),
                    hir::Step::Expect { fields: fs, .. } => exprs.extend(fields(fs)),
                }
            }
        }
        _ => {}
    }
    exprs
}

/// The direct subexpressions of a checked expression.
pub fn hir_children(e: &hir::Expr) -> Vec<&hir::Expr> {
    match &e.kind {
        hir::ExprKind::Field { base, .. } => vec![base],
        hir::ExprKind::Call(_, args) | hir::ExprKind::List(args) => args.iter().collect(),
        hir::ExprKind::Unary(_, x) => vec![x],
        hir::ExprKind::Binary(_, x, y) => vec![x, y],
        hir::ExprKind::If(c, x, y) => vec![c, x, y],
        hir::ExprKind::Match(x, arms) => std::iter::once(&**x)
            .chain(arms.iter().map(|a| &a.body))
            .collect(),
        hir::ExprKind::Record(fields) => fields.iter().map(|f| &f.value).collect(),
        _ => Vec::new(),
    }
}
