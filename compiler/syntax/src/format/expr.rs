//! Expressions, types and literals: the one-line form, and the broken forms of lists, record
//! literals, field groups, `match` and `and`/`or` chains.

use super::printer::{Blank, Printer, Res};
use crate::Span;
use crate::ast::{self, BinaryOp, Expr, UnaryOp};

impl Printer<'_> {
    // ----- one-line text -----

    /// The expression on one line, as if the width were unlimited.
    pub(super) fn flat(&self, expr: &Expr) -> String {
        let mut out = String::new();
        self.flat_into(expr, &mut out);
        out
    }

    fn flat_into(&self, expr: &Expr, out: &mut String) {
        match expr {
            Expr::Int(value, span) => out.push_str(&self.literal(*span, || value.to_string())),
            Expr::Float(value, span) => out.push_str(&self.literal(*span, || float_text(value.0))),
            Expr::Str(lit) => out.push_str(&self.string(lit)),
            Expr::Bool(value, _) => out.push_str(if *value { "true" } else { "false" }),
            Expr::Quantity(q) => out.push_str(
                &self.literal(q.span, || format!("{}{}", number_text(q.value.0), q.unit)),
            ),
            Expr::Name(ident) => out.push_str(&ident.name),
            Expr::Field(base, field, _) => {
                self.flat_into(base, out);
                out.push('.');
                out.push_str(&field.name);
            }
            Expr::Call(callee, args, _) => {
                out.push_str(&callee.dotted());
                out.push('(');
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.flat_into(arg, out);
                }
                out.push(')');
            }
            Expr::Unary(op, operand, _) => {
                out.push_str(unary_text(*op));
                self.flat_into(operand, out);
            }
            Expr::Binary(op, left, right, _) => {
                self.flat_into(left, out);
                out.push(' ');
                out.push_str(op.symbol());
                out.push(' ');
                self.flat_into(right, out);
            }
            Expr::If(cond, then, otherwise, _) => {
                out.push_str("if ");
                self.flat_into(cond, out);
                out.push_str(" then ");
                self.flat_into(then, out);
                out.push_str(" else ");
                self.flat_into(otherwise, out);
            }
            Expr::Match(scrutinee, arms, _) => {
                out.push_str("match ");
                self.flat_into(scrutinee, out);
                if arms.is_empty() {
                    out.push_str(" {}");
                    return;
                }
                out.push_str(" { ");
                for (i, arm) in arms.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&self.pattern(&arm.pattern));
                    out.push_str(" => ");
                    self.flat_into(&arm.body, out);
                }
                out.push_str(" }");
            }
            Expr::List(items, _) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.flat_into(item, out);
                }
                out.push(']');
            }
            Expr::Record(props, _) => out.push_str(&self.flat_props(props)),
            Expr::Paren(inner, _) => {
                out.push('(');
                self.flat_into(inner, out);
                out.push(')');
            }
            Expr::Error(span) => out.push_str(self.slice(*span).unwrap_or("").trim()),
        }
    }

    /// `{ a: 1, b: 2 }`, or `{}`.
    fn flat_props(&self, props: &[ast::Property]) -> String {
        if props.is_empty() {
            return "{}".to_owned();
        }
        let fields: Vec<String> = props
            .iter()
            .map(|p| format!("{}: {}", p.name.name, self.flat(&p.value)))
            .collect();
        format!("{{ {} }}", fields.join(", "))
    }

    /// A literal as written; `fallback` renders the value when there is no source text.
    fn literal(&self, span: Span, fallback: impl FnOnce() -> String) -> String {
        self.slice(span).map_or_else(fallback, str::to_owned)
    }

    pub(super) fn string(&self, lit: &ast::StringLit) -> String {
        match self.slice(lit.span) {
            Some(text) if text.starts_with('"') => text.to_owned(),
            _ => quote(&lit.value),
        }
    }

    pub(super) fn pattern(&self, pattern: &ast::Pattern) -> String {
        match pattern {
            ast::Pattern::Name(path) => path.dotted(),
            ast::Pattern::Int(value, span) => self.literal(*span, || value.to_string()),
            ast::Pattern::Str(lit) => self.string(lit),
            ast::Pattern::Bool(value, _) => value.to_string(),
            ast::Pattern::Wildcard(_) => "_".to_owned(),
        }
    }

    pub(super) fn type_text(&self, ty: &ast::TypeExpr) -> String {
        match ty {
            ast::TypeExpr::Named(path) => path.dotted(),
            ast::TypeExpr::List(inner, _) => format!("list<{}>", self.type_text(inner)),
            ast::TypeExpr::Map(key, value, _) => {
                format!("map<{}, {}>", self.type_text(key), self.type_text(value))
            }
            ast::TypeExpr::Optional(inner, _) => format!("{}?", self.type_text(inner)),
            ast::TypeExpr::Error(span) => self.slice(*span).unwrap_or("").trim().to_owned(),
        }
    }

    // ----- printing with breaks -----

    /// Prints an expression at the current position. `chain` allows breaking a top-level
    /// `and`/`or` chain (only where the expression is the whole value of its line).
    pub(super) fn expr(&mut self, expr: &Expr, chain: bool) -> Res {
        match expr {
            Expr::List(items, span) if !items.is_empty() => self.list(expr, items, *span),
            Expr::Record(props, span) if !props.is_empty() => {
                self.props_group(span.start, span.end, props)
            }
            Expr::Match(scrutinee, arms, span) if !arms.is_empty() => {
                self.match_expr(expr, scrutinee, arms, *span)
            }
            Expr::Binary(BinaryOp::And | BinaryOp::Or, ..) if chain => self.chain(expr),
            Expr::Field(base, field, span) => {
                self.expr(base, false)?;
                self.write(".");
                self.write(&field.name);
                self.mark(span.end);
                Ok(())
            }
            Expr::Call(callee, args, span) => {
                self.write(&callee.dotted());
                self.write("(");
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        self.write(", ");
                    }
                    self.expr(arg, false)?;
                }
                self.write(")");
                self.mark(span.end);
                Ok(())
            }
            Expr::Unary(op, operand, span) => {
                self.write(unary_text(*op));
                self.expr(operand, false)?;
                self.mark(span.end);
                Ok(())
            }
            Expr::Binary(op, left, right, span) => {
                self.expr(left, false)?;
                self.write(" ");
                self.write(op.symbol());
                self.write(" ");
                self.expr(right, false)?;
                self.mark(span.end);
                Ok(())
            }
            Expr::If(cond, then, otherwise, span) => {
                self.write("if ");
                self.expr(cond, false)?;
                self.write(" then ");
                self.expr(then, false)?;
                self.write(" else ");
                self.expr(otherwise, false)?;
                self.mark(span.end);
                Ok(())
            }
            Expr::Paren(inner, span) => {
                self.write("(");
                self.expr(inner, false)?;
                self.write(")");
                self.mark(span.end);
                Ok(())
            }
            _ => {
                let text = self.flat(expr);
                self.write(&text);
                self.mark(expr.span().end);
                Ok(())
            }
        }
    }

    /// Whether a group spanning `from..to` prints on one line as `flat`.
    fn stays_flat(&self, flat: &str, from: u32, to: u32) -> bool {
        !self.has_note_within(from, to) && self.fits(flat)
    }

    fn list(&mut self, expr: &Expr, items: &[Expr], span: Span) -> Res {
        let flat = self.flat(expr);
        if self.stays_flat(&flat, span.start, span.end) {
            self.write(&flat);
            self.mark(span.end);
            return Ok(());
        }
        self.write("[");
        self.mark(span.start + 1);
        self.newline()?;
        self.indent += 1;
        for item in items {
            self.anchor(item.span().start, Blank::Never, |p| {
                p.expr(item, false)?;
                p.write(",");
                p.mark(item.span().end);
                p.newline()
            })?;
        }
        self.close(span.end, "]", Blank::Never);
        Ok(())
    }

    /// A record literal or the fields of an action, `send` or `expect`, whose `{` is at
    /// `brace` and whose `}` ends at `end`.
    pub(super) fn props_group(&mut self, brace: u32, end: u32, props: &[ast::Property]) -> Res {
        let flat = self.flat_props(props);
        if self.stays_flat(&flat, brace, end) {
            self.write(&flat);
            self.mark(end);
            return Ok(());
        }
        self.write("{");
        self.mark(brace + 1);
        self.newline()?;
        self.indent += 1;
        for prop in props {
            self.anchor(prop.span.start, Blank::Never, |p| {
                p.property(prop)?;
                p.newline()
            })?;
        }
        self.close(end, "}", Blank::Never);
        Ok(())
    }

    /// `name: value`
    pub(super) fn property(&mut self, prop: &ast::Property) -> Res {
        self.write(&prop.name.name);
        self.write(": ");
        self.mark(prop.name.span.end);
        self.expr(&prop.value, true)?;
        self.mark(prop.span.end);
        Ok(())
    }

    fn match_expr(
        &mut self,
        expr: &Expr,
        scrutinee: &Expr,
        arms: &[ast::MatchArm],
        span: Span,
    ) -> Res {
        let flat = self.flat(expr);
        let brace = self.brace_after(scrutinee.span().end);
        if self.stays_flat(&flat, brace, span.end) {
            self.write(&flat);
            self.mark(span.end);
            return Ok(());
        }
        self.write("match ");
        self.expr(scrutinee, false)?;
        self.write(" {");
        self.mark(brace + 1);
        self.newline()?;
        self.indent += 1;
        for arm in arms {
            self.anchor(arm.span.start, Blank::Never, |p| {
                let pattern = p.pattern(&arm.pattern);
                p.write(&pattern);
                p.write(" => ");
                p.mark(arm.pattern_span().end);
                p.expr(&arm.body, false)?;
                p.write(",");
                p.mark(arm.span.end.max(arm.body.span().end));
                p.newline()
            })?;
        }
        self.close(span.end, "}", Blank::Never);
        Ok(())
    }

    /// `a and b or c`: on one line when it fits and holds no comment. Otherwise it breaks
    /// before each operator of its loosest level (`or`, else `and`), one operand per line,
    /// one level deeper; an operand that is itself a chain breaks the same way when it does
    /// not fit on its line or holds a comment between its operands.
    fn chain(&mut self, expr: &Expr) -> Res {
        let span = expr.span();
        let flat = self.flat(expr);
        if self.stays_flat(&flat, span.start, span.end) {
            self.write(&flat);
            self.mark(span.end);
            return Ok(());
        }
        let mut segments = Vec::new();
        self.chain_segments(expr, None, self.column(), &mut segments);
        let Some(((_, first), rest)) = segments.split_first() else {
            return Ok(());
        };
        self.expr(first, false)?;
        self.indent += 1;
        // The first operand's line is ended here; each other operand ends its own line
        // (but the last, whose line goes on with whatever follows the chain).
        self.newline()?;
        for (i, (op, operand)) in rest.iter().enumerate() {
            let last = i + 1 == rest.len();
            self.anchor(operand.span().start, Blank::Never, |p| {
                if let Some(op) = op {
                    p.write(op.symbol());
                    p.write(" ");
                }
                p.expr(operand, false)?;
                if last { Ok(()) } else { p.newline() }
            })?;
        }
        self.indent -= 1;
        Ok(())
    }

    /// The lines of a broken chain: each operand of `expr`'s loosest operator, with the
    /// operator before it (`op` before the first), split further where it must be.
    fn chain_segments<'e>(
        &self,
        expr: &'e Expr,
        op: Option<BinaryOp>,
        column: usize,
        segments: &mut Vec<(Option<BinaryOp>, &'e Expr)>,
    ) {
        let Expr::Binary(top @ (BinaryOp::And | BinaryOp::Or), ..) = expr else {
            segments.push((op, expr));
            return;
        };
        let mut links = Vec::new();
        let first = chain_links(expr, *top, &mut links);
        self.chain_operand(first, op, column, segments);
        let continuation = self.continuation_column();
        for (op, operand) in links {
            let column = continuation + op.symbol().len() + 1;
            self.chain_operand(operand, Some(op), column, segments);
        }
    }

    fn chain_operand<'e>(
        &self,
        operand: &'e Expr,
        op: Option<BinaryOp>,
        column: usize,
        segments: &mut Vec<(Option<BinaryOp>, &'e Expr)>,
    ) {
        let Expr::Binary(top @ (BinaryOp::And | BinaryOp::Or), ..) = operand else {
            segments.push((op, operand));
            return;
        };
        let too_long = column + self.flat(operand).chars().count() > self.max_width();
        if too_long || self.note_between_operands(operand, *top) {
            self.chain_segments(operand, op, column, segments);
        } else {
            segments.push((op, operand));
        }
    }

    /// Whether a queued comment lies between two operands of the chain (and so needs the
    /// chain broken to stay there). A comment inside an operand does not count: breaking
    /// would not place it, and the operand's line moves it before itself either way.
    fn note_between_operands(&self, chain: &Expr, op: BinaryOp) -> bool {
        let mut links = Vec::new();
        let first = chain_links(chain, op, &mut links);
        let mut operands = vec![first.span()];
        operands.extend(links.iter().map(|(_, e)| e.span()));
        operands
            .windows(2)
            .any(|pair| self.has_note_within(pair[0].end.saturating_sub(1), pair[1].start))
    }
}

/// The operands of a run of the same operator `op` (not through parentheses), in order:
/// returns the first and pushes the others with the operator before each. Printing them in
/// this order gives the same tokens, so the tree is unchanged.
fn chain_links<'e>(
    expr: &'e Expr,
    op: BinaryOp,
    links: &mut Vec<(BinaryOp, &'e Expr)>,
) -> &'e Expr {
    match expr {
        Expr::Binary(this, left, right, _) if *this == op => {
            let first = chain_links(left, op, links);
            let mut rest = Vec::new();
            let right_first = chain_links(right, op, &mut rest);
            links.push((op, right_first));
            links.extend(rest);
            first
        }
        _ => expr,
    }
}

impl ast::MatchArm {
    fn pattern_span(&self) -> Span {
        match &self.pattern {
            ast::Pattern::Name(path) => path.span,
            ast::Pattern::Str(lit) => lit.span,
            ast::Pattern::Int(_, span)
            | ast::Pattern::Bool(_, span)
            | ast::Pattern::Wildcard(span) => *span,
        }
    }
}

fn unary_text(op: UnaryOp) -> &'static str {
    match op {
        UnaryOp::Neg => "-",
        UnaryOp::Not => "not ",
    }
}

/// A float the lexer reads back as a float: digits on both sides of the `.`.
fn float_text(value: f64) -> String {
    let text = format!("{value:?}");
    if text.contains('.') || !text.chars().all(|c| c.is_ascii_digit() || c == '-') {
        match text.split_once('e') {
            Some((mantissa, exponent)) if !mantissa.contains('.') => {
                format!("{mantissa}.0e{exponent}")
            }
            _ => text,
        }
    } else {
        format!("{text}.0")
    }
}

/// The number of a quantity: an integer when it is one, else a float.
fn number_text(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        float_text(value)
    }
}

/// A string literal for `value`, with the escapes of the grammar.
fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
