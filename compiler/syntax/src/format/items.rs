//! The file, its items, and the bodies inside them: one element per line.

use super::printer::{Blank, Printer, Res};
use crate::Span;
use crate::ast::{self, Action, Item, RuleClause, TestStep};

impl Printer<'_> {
    /// Prints the whole file. Never fails: the file is itself an anchor, so a comment passed
    /// over outside every element moves to the top of the file.
    pub(super) fn file(&mut self, file: &ast::SourceFile) {
        // The anchor only returns an error for comments before its start (offset 0): none.
        // Should it ever, `finish` still prints every comment left in the queue.
        let _ = self.anchor(0, Blank::Never, |p| p.file_body(file));
    }

    fn file_body(&mut self, file: &ast::SourceFile) -> Res {
        if let Some(package) = &file.package {
            let start = docs_start(&package.docs, package.span.start);
            self.anchor(start, Blank::Keep, |p| {
                p.docs(&package.docs);
                if !package.docs.is_empty() {
                    let keyword = p.skip_trivia(package.docs.span.end);
                    p.flush_before(keyword, Blank::Never);
                }
                p.write("package ");
                p.write(&package.path.dotted());
                p.mark(package.span.end.max(package.path.span.end));
                p.newline()
            })?;
        }
        self.imports(&file.imports);
        for item in &file.items {
            self.anchor(item_start(item), Blank::Force, |p| {
                p.item(item)?;
                p.newline()
            })?;
        }
        Ok(())
    }

    /// Sorted, deduplicated, one per line. Comments before the first import stay before the
    /// block; comments between imports, and after one on its line, move with their import.
    fn imports(&mut self, imports: &[ast::Import]) {
        let Some(first) = imports.first() else { return };
        let printed = self.flush_before(first.span.start, Blank::Force);
        self.blank(
            first.span.start,
            if printed { Blank::Keep } else { Blank::Force },
        );
        let mut lines: Vec<(String, Vec<String>, Option<String>)> = Vec::new();
        let mut last_end = 0;
        for import in imports {
            let leading = self.take_before(import.span.end);
            let trailing = self.take_same_line(import.span.end);
            last_end = last_end.max(trailing.as_ref().map_or(import.span.end, |t| t.1));
            lines.push((import_text(import), leading, trailing.map(|t| t.0)));
        }
        lines.sort_by(|a, b| a.0.cmp(&b.0));
        let mut merged: Vec<(String, Vec<String>, Option<String>)> = Vec::new();
        for (text, leading, trailing) in lines {
            match merged.last_mut() {
                Some(kept) if kept.0 == text => {
                    kept.1.extend(leading);
                    kept.1.extend(trailing);
                }
                _ => merged.push((text, leading, trailing)),
            }
        }
        for (text, leading, trailing) in merged {
            for comment in leading {
                self.raw_line(&comment);
            }
            match trailing {
                Some(comment) => self.raw_line(&format!("{text} {comment}")),
                None => self.raw_line(&text),
            }
        }
        self.set_last_src_end(last_end);
    }

    fn item(&mut self, item: &Item) -> Res {
        match item {
            Item::Enum(e) => {
                self.item_head(&e.docs, &e.annotations, e.span.start)?;
                self.write(if e.ordered { "ordered enum " } else { "enum " });
                self.write(&e.name.name);
                self.write(" ");
                self.mark(e.name.span.end);
                let brace = self.brace_after(e.name.span.end);
                self.body(
                    brace,
                    e.span.end,
                    &e.variants,
                    |v| docs_start(&v.docs, v.span.start),
                    |p, v| {
                        p.docs_then_flush(&v.docs, v.name.span.start);
                        p.write(&v.name.name);
                        p.mark(v.span.end.max(v.name.span.end));
                        Ok(())
                    },
                )
            }
            Item::Record(r) => {
                self.item_head(&r.docs, &r.annotations, r.span.start)?;
                self.fields_decl("record", &r.name, &r.fields, r.span)
            }
            Item::Message(m) => {
                self.item_head(&m.docs, &m.annotations, m.span.start)?;
                self.fields_decl(m.kind.keyword(), &m.name, &m.fields, m.span)
            }
            Item::Action(a) => {
                self.item_head(&a.docs, &a.annotations, a.span.start)?;
                self.fields_decl("action", &a.name, &a.params, a.span)
            }
            Item::Plugin(pl) => {
                self.item_head(&pl.docs, &pl.annotations, pl.span.start)?;
                self.write("plugin ");
                let model = self.string(&pl.model_id);
                self.write(&model);
                self.write(" as ");
                self.write(&pl.name.name);
                self.write(" ");
                self.mark(pl.name.span.end);
                let brace = self.brace_after(pl.name.span.end);
                self.properties_body(brace, pl.span.end, &pl.properties)
            }
            Item::Authority(a) => {
                self.item_head(&a.docs, &a.annotations, a.span.start)?;
                self.named_properties("authority", &a.name, &a.properties, a.span)
            }
            Item::System(s) => {
                self.item_head(&s.docs, &s.annotations, s.span.start)?;
                self.named_properties("system", &s.name, &s.properties, s.span)
            }
            Item::Const(c) => {
                self.item_head(&c.docs, &c.annotations, c.span.start)?;
                self.write("const ");
                self.write(&c.name.name);
                if let Some(ty) = &c.ty {
                    self.write(": ");
                    let ty = self.type_text(ty);
                    self.write(&ty);
                }
                self.write(" = ");
                self.mark(c.name.span.end);
                self.expr(&c.value, true)
            }
            Item::Fn(f) => {
                self.item_head(&f.docs, &f.annotations, f.span.start)?;
                self.write(if f.is_extern { "extern fn " } else { "fn " });
                self.write(&f.name.name);
                let params: Vec<String> = f
                    .params
                    .iter()
                    .map(|param| format!("{}: {}", param.name.name, self.type_text(&param.ty)))
                    .collect();
                self.write(&format!("({}) -> ", params.join(", ")));
                let ret = self.type_text(&f.ret);
                self.write(&ret);
                self.mark(f.ret.span().end);
                if let Some(body) = &f.body {
                    self.write(" = ");
                    self.expr(body, true)?;
                }
                Ok(())
            }
            Item::Rule(r) => {
                self.item_head(&r.docs, &r.annotations, r.span.start)?;
                self.write("rule ");
                self.write(&r.name.name);
                self.write(" at ");
                self.write(&r.layer.name);
                self.write(" ");
                self.mark(r.layer.span.end);
                let brace = self.brace_after(r.layer.span.end);
                self.body(
                    brace,
                    r.span.end,
                    &r.clauses,
                    |c| c.span().start,
                    Self::clause,
                )
            }
            Item::Report(r) => {
                self.item_head(&r.docs, &r.annotations, r.span.start)?;
                self.write("report ");
                self.write(&r.name.name);
                self.write(" at ");
                self.write(&r.layer.name);
                self.write(" every ");
                self.expr(&r.every, false)?;
                self.write(" to ");
                self.write(&r.to.name);
                self.write(" ");
                self.mark(r.to.span.end);
                let brace = self.brace_after(r.to.span.end);
                self.properties_body(brace, r.span.end, &r.fields)
            }
            Item::Test(t) => {
                self.item_head(&t.docs, &[], t.span.start)?;
                self.write("test ");
                let name = self.string(&t.name);
                self.write(&name);
                self.write(" ");
                self.mark(t.name.span.end);
                let brace = self.brace_after(t.name.span.end);
                self.body(brace, t.span.end, &t.steps, step_span, Self::step)
            }
            Item::Error(span) => {
                let text = self.slice(*span).unwrap_or("").trim().to_owned();
                self.write(&text);
                self.mark(span.end);
                Ok(())
            }
        }
    }

    /// Docs, then each annotation on its own line, then the comments before the keyword.
    fn item_head(&mut self, docs: &ast::Docs, annotations: &[ast::Annotation], start: u32) -> Res {
        self.docs(docs);
        for annotation in annotations {
            self.flush_before(annotation.span.start, Blank::Never);
            self.annotation(annotation)?;
            self.newline()?;
        }
        let head_end = annotations.last().map_or(
            if docs.is_empty() {
                start
            } else {
                docs.span.end
            },
            |a| a.span.end,
        );
        if !docs.is_empty() || !annotations.is_empty() {
            let keyword = self.skip_trivia(head_end);
            self.flush_before(keyword, Blank::Never);
        }
        Ok(())
    }

    /// `/// line` for each doc line.
    fn docs(&mut self, docs: &ast::Docs) {
        for line in &docs.lines {
            if line.is_empty() {
                self.raw_line("///");
            } else {
                self.raw_line(&format!("/// {line}"));
            }
        }
    }

    /// Docs, then the comments between them and the element they document.
    fn docs_then_flush(&mut self, docs: &ast::Docs, next: u32) {
        if !docs.is_empty() {
            self.docs(docs);
            self.flush_before(next, Blank::Never);
        }
    }

    fn annotation(&mut self, annotation: &ast::Annotation) -> Res {
        self.write("@");
        self.write(&annotation.name.name);
        if !annotation.args.is_empty() {
            self.write("(");
            for (i, arg) in annotation.args.iter().enumerate() {
                if i > 0 {
                    self.write(", ");
                }
                self.expr(arg, false)?;
            }
            self.write(")");
        }
        self.mark(annotation.span.end);
        Ok(())
    }

    /// `{`, one element per line, `}`; `{}` when empty. `brace` is the offset of `{`, `end`
    /// the end of the `}`.
    fn body<T>(
        &mut self,
        brace: u32,
        end: u32,
        elements: &[T],
        start_of: impl Fn(&T) -> u32,
        print: impl Fn(&mut Self, &T) -> Res,
    ) -> Res {
        self.write("{");
        self.mark(brace + 1);
        if elements.is_empty() && !self.has_note_within(brace, end) {
            self.write("}");
            self.mark(end);
            return Ok(());
        }
        self.newline()?;
        self.indent += 1;
        self.open_body();
        for element in elements {
            self.anchor(start_of(element), Blank::Keep, |p| {
                print(p, element)?;
                p.newline()
            })?;
        }
        self.close(end, "}", Blank::Keep);
        Ok(())
    }

    /// `record Name { fields }`, `event Name { … }`, `action name { … }`.
    fn fields_decl(
        &mut self,
        keyword: &str,
        name: &ast::Ident,
        fields: &[ast::FieldDecl],
        span: Span,
    ) -> Res {
        self.write(keyword);
        self.write(" ");
        self.write(&name.name);
        self.write(" ");
        self.mark(name.span.end);
        let brace = self.brace_after(name.span.end);
        self.body(brace, span.end, fields, field_start, Self::field)
    }

    /// `@pii name: Type in low..high`
    fn field(&mut self, field: &ast::FieldDecl) -> Res {
        let first = field
            .annotations
            .first()
            .map_or(field.name.span.start, |a| a.span.start);
        self.docs_then_flush(&field.docs, first);
        for annotation in &field.annotations {
            self.annotation(annotation)?;
            self.write(" ");
        }
        self.write(&field.name.name);
        self.write(": ");
        let ty = self.type_text(&field.ty);
        self.write(&ty);
        self.mark(field.ty.span().end);
        if let Some(range) = &field.range {
            self.write(" in ");
            self.expr(&range.low, false)?;
            self.write("..");
            self.expr(&range.high, false)?;
        }
        self.mark(field.span.end);
        Ok(())
    }

    fn named_properties(
        &mut self,
        keyword: &str,
        name: &ast::Ident,
        props: &[ast::Property],
        span: Span,
    ) -> Res {
        self.write(keyword);
        self.write(" ");
        self.write(&name.name);
        self.write(" ");
        self.mark(name.span.end);
        let brace = self.brace_after(name.span.end);
        self.properties_body(brace, span.end, props)
    }

    fn properties_body(&mut self, brace: u32, end: u32, props: &[ast::Property]) -> Res {
        self.body(brace, end, props, |p| p.span.start, Self::property)
    }

    fn clause(&mut self, clause: &RuleClause) -> Res {
        match clause {
            RuleClause::On(on) => {
                self.write("on ");
                self.write(&on.binding.name);
                self.write(": ");
                self.write(&on.message.dotted());
                if let Some(source) = &on.source {
                    self.write(" from ");
                    self.write(&source.dotted());
                }
                self.mark(on.span.end);
                Ok(())
            }
            RuleClause::When(expr, span) => {
                self.write("when ");
                self.expr(expr, true)?;
                self.mark(span.end);
                Ok(())
            }
            RuleClause::Let(l) => {
                self.write("let ");
                self.write(&l.name.name);
                self.write(" = ");
                self.expr(&l.value, true)?;
                self.mark(l.span.end);
                Ok(())
            }
            RuleClause::Correlate(c) => self.correlate(c),
            RuleClause::Priority(expr, span) => {
                self.write("priority ");
                self.expr(expr, true)?;
                self.mark(span.end);
                Ok(())
            }
            RuleClause::Then(block) => {
                self.write("then ");
                self.action_block(block, block.span.start)
            }
            RuleClause::Approval(a) => {
                self.write("approval by ");
                self.write(&a.authority.dotted());
                self.write(" within ");
                self.expr(&a.within, false)?;
                self.write(" else ");
                self.write(a.default.keyword());
                self.mark(a.span.end);
                Ok(())
            }
            RuleClause::OnOutcome(o) => {
                self.write("on ");
                self.write(o.outcome.keyword());
                self.write(" ");
                self.action_block(&o.block, o.span.start.max(o.block.span.start))
            }
            RuleClause::NoResponse(n) => {
                self.write("if no response within ");
                self.expr(&n.within, false)?;
                self.write(" ");
                self.action_block(&n.block, n.within.span().end.max(n.block.span.start))
            }
            RuleClause::Error(span) => {
                let text = self.slice(*span).unwrap_or("").trim().to_owned();
                self.write(&text);
                self.mark(span.end);
                Ok(())
            }
        }
    }

    /// `correlate b: m over last … within … where … at least …` on one line when it fits
    /// and holds no comment; otherwise each part from `over last` on starts a line, one
    /// level deeper (and a long `where` chain breaks one level deeper still).
    fn correlate(&mut self, c: &ast::CorrelateClause) -> Res {
        let head = format!(
            "{} {}: {}",
            if c.absent { "absent" } else { "correlate" },
            c.binding.name,
            c.message.dotted()
        );
        let parts: Vec<(&str, &ast::Expr)> = [
            ("over last", c.window.as_ref()),
            ("within", c.radius.as_ref()),
            ("where", c.filter.as_ref()),
            ("at least", c.min_count.as_ref()),
        ]
        .into_iter()
        .filter_map(|(keyword, expr)| expr.map(|e| (keyword, e)))
        .collect();
        let tail: String = parts
            .iter()
            .map(|(keyword, expr)| format!(" {keyword} {}", self.flat(expr)))
            .collect();
        self.write(&head);
        self.mark(c.message.span.end);
        if parts.is_empty() {
            self.mark(c.span.end);
            return Ok(());
        }
        if self.fits(&tail) && !self.has_note_within(c.span.start, c.span.end) {
            for (keyword, expr) in &parts {
                self.write(&format!(" {keyword} "));
                self.expr(expr, false)?;
            }
            self.mark(c.span.end);
            return Ok(());
        }
        self.indent += 1;
        // Each part but the last ends its own line, so that a comment it passes over moves
        // before that part rather than before the clause.
        self.newline()?;
        for (i, (keyword, expr)) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            self.anchor(expr.span().start, Blank::Never, |p| {
                p.write(&format!("{keyword} "));
                p.expr(expr, *keyword == "where")?;
                if last { Ok(()) } else { p.newline() }
            })?;
        }
        self.indent -= 1;
        self.mark(c.span.end);
        Ok(())
    }

    /// `{ actions }`, one per line. `from` is where to look for the `{`.
    fn action_block(&mut self, block: &ast::ActionBlock, from: u32) -> Res {
        let brace = self.brace_after(from);
        self.body(
            brace,
            block.span.end,
            &block.actions,
            |a| a.span().start,
            Self::action,
        )
    }

    fn action(&mut self, action: &Action) -> Res {
        match action {
            Action::Invoke(a) => {
                self.write(&a.kind.name);
                self.write(" ");
                self.write(&a.target.dotted());
                self.mark(a.target.span.end);
                self.fields(&a.params, a.target.span.end, a.span.end)
            }
            Action::Escalate(a) => {
                self.write("escalate ");
                self.write(&a.incident.dotted());
                self.write(" to ");
                self.write(&a.to.name);
                self.mark(a.to.span.end);
                self.fields(&a.fields, a.to.span.end, a.span.end)
            }
            Action::Command(a) => {
                self.write("command ");
                self.write(&a.directive.dotted());
                self.write(" to ");
                let target_end = match &a.to {
                    ast::CommandTarget::Children(span) => {
                        self.write("children");
                        span.end
                    }
                    ast::CommandTarget::Zones(expr) => {
                        self.expr(expr, false)?;
                        expr.span().end
                    }
                };
                self.mark(target_end);
                self.fields(&a.fields, target_end, a.span.end)
            }
            Action::Error(span) => {
                let text = self.slice(*span).unwrap_or("").trim().to_owned();
                self.write(&text);
                self.mark(span.end);
                Ok(())
            }
        }
    }

    /// ` { name: value … }` after an action or a test step, or nothing when there are none.
    fn fields(&mut self, props: &[ast::Property], header_end: u32, end: u32) -> Res {
        if props.is_empty() {
            return Ok(());
        }
        self.write(" ");
        let brace = self.brace_after(header_end);
        self.props_group(brace, end, props)
    }

    fn step(&mut self, step: &TestStep) -> Res {
        match step {
            TestStep::Send(s) => {
                self.write("send ");
                self.write(&s.message.dotted());
                self.write(" at ");
                self.expr(&s.at, false)?;
                self.fields(&s.fields, s.at.span().end, s.span.end)
            }
            TestStep::Advance(expr, span) => {
                self.write("advance ");
                self.expr(expr, false)?;
                self.mark(span.end);
                Ok(())
            }
            TestStep::Expect(e) => {
                self.write("expect");
                if e.negated {
                    self.write(" no");
                }
                if let Some(count) = &e.count {
                    self.write(" ");
                    self.expr(count, false)?;
                }
                self.write(" ");
                self.write(e.kind.keyword());
                self.mark(e.kind_span.end);
                let mut header_end = e.kind_span.end;
                if let Some(subject) = &e.subject {
                    self.write(" ");
                    self.write(&subject.dotted());
                    self.mark(subject.span.end);
                    header_end = subject.span.end;
                }
                self.fields(&e.fields, header_end, e.span.end)
            }
            TestStep::Error(span) => {
                let text = self.slice(*span).unwrap_or("").trim().to_owned();
                self.write(&text);
                self.mark(span.end);
                Ok(())
            }
        }
    }
}

fn import_text(import: &ast::Import) -> String {
    match &import.names {
        None => format!("import {}", import.path.dotted()),
        Some(names) => {
            let names: Vec<&str> = names.iter().map(|n| n.name.as_str()).collect();
            format!("import {}.{{{}}}", import.path.dotted(), names.join(", "))
        }
    }
}

/// Where an element's leading comments end: its docs when it has any.
fn docs_start(docs: &ast::Docs, start: u32) -> u32 {
    if docs.is_empty() {
        start
    } else {
        start.min(docs.span.start)
    }
}

fn item_start(item: &Item) -> u32 {
    let (docs, annotations): (&ast::Docs, &[ast::Annotation]) = match item {
        Item::Enum(i) => (&i.docs, &i.annotations),
        Item::Record(i) => (&i.docs, &i.annotations),
        Item::Message(i) => (&i.docs, &i.annotations),
        Item::Plugin(i) => (&i.docs, &i.annotations),
        Item::Authority(i) => (&i.docs, &i.annotations),
        Item::System(i) => (&i.docs, &i.annotations),
        Item::Action(i) => (&i.docs, &i.annotations),
        Item::Const(i) => (&i.docs, &i.annotations),
        Item::Fn(i) => (&i.docs, &i.annotations),
        Item::Rule(i) => (&i.docs, &i.annotations),
        Item::Report(i) => (&i.docs, &i.annotations),
        Item::Test(i) => (&i.docs, &[]),
        Item::Error(span) => return span.start,
    };
    let start = annotations
        .first()
        .map_or(item.span().start, |a| a.span.start.min(item.span().start));
    docs_start(docs, start)
}

fn field_start(field: &ast::FieldDecl) -> u32 {
    let start = field
        .annotations
        .first()
        .map_or(field.span.start, |a| a.span.start.min(field.span.start));
    docs_start(&field.docs, start)
}

fn step_span(step: &TestStep) -> u32 {
    match step {
        TestStep::Send(s) => s.span.start,
        TestStep::Advance(_, span) | TestStep::Error(span) => span.start,
        TestStep::Expect(e) => e.span.start,
    }
}
