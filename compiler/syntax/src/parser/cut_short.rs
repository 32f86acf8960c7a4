//! Expressions that error recovery cut short become error nodes.
//!
//! In `when p.source = "a"` the parser reads `when p.source`, fails at `=` and resumes after
//! `"a"`. The clause left behind, `when p.source`, is well formed but is not what was
//! written, and checking it would report a second mistake (`p.source` is not a `bool`). So a
//! top-level expression (a clause's, a property value, a constant's…) directly followed by a
//! token the parser failed at is replaced by [`Expr::Error`], which the checker accepts
//! silently: the E0001 already explains it.

use super::build::Recovery;
use super::stream::TokenStream;
use crate::Span;
use crate::ast::*;
use crate::lexer::Token;
use lalrpop_util::ParseError;
use std::collections::HashSet;

/// Replaces the top-level expressions (`top_level`, their spans) that a recovery cut short by
/// error nodes.
pub fn apply(
    file: &mut SourceFile,
    stream: &TokenStream,
    top_level: &[Span],
    recoveries: &[Recovery],
) {
    let failed_at: Vec<usize> = recoveries
        .iter()
        .filter_map(|r| match &r.error {
            ParseError::UnrecognizedToken { token, .. } | ParseError::ExtraToken { token } => {
                Some(token.0)
            }
            _ => None,
        })
        .collect();
    replace(file, &cut_short(stream, top_level, &failed_at));
}

/// The top-level expressions (from `candidates`) that end right before a token a recovery
/// failed at (`failed_at`, token start offsets), when that token could have continued the
/// expression (an operator, a value…), not ended it (`}`, `rule`, `then`…).
fn cut_short(
    stream: &TokenStream,
    candidates: &[Span],
    failed_at: &[usize],
) -> HashSet<(u32, u32)> {
    let failed: HashSet<usize> = failed_at.iter().copied().collect();
    candidates
        .iter()
        .filter(|span| {
            let next = stream.index_at(span.end as usize);
            stream.tokens.get(next).is_some_and(|(start, token, end)| {
                start != end && failed.contains(start) && could_continue(token)
            })
        })
        .map(|span| (span.start, span.end))
        .collect()
}

/// Whether `token` could have been part of an expression: anything but a closing bracket, an
/// annotation or a keyword that never appears inside one.
fn could_continue(token: &Token) -> bool {
    use Token::*;
    match token {
        RBrace | RParen | RBracket | Annotation(_) => false,
        And | Or | In | Not | If | Then | Else | Match | True | False | Escalate => true,
        other => other.keyword().is_none(),
    }
}

/// Replaces each top-level expression whose span is in `spans` by an error node.
fn replace(file: &mut SourceFile, spans: &HashSet<(u32, u32)>) {
    if spans.is_empty() {
        return;
    }
    let mut r = Replacer { spans };
    for item in &mut file.items {
        r.item(item);
    }
}

struct Replacer<'a> {
    spans: &'a HashSet<(u32, u32)>,
}

impl Replacer<'_> {
    fn expr(&mut self, e: &mut Expr) {
        let span = e.span();
        if self.spans.contains(&(span.start, span.end)) {
            *e = Expr::Error(span);
        }
    }

    fn opt(&mut self, e: &mut Option<Expr>) {
        if let Some(e) = e {
            self.expr(e);
        }
    }

    fn props(&mut self, props: &mut [Property]) {
        for p in props {
            self.expr(&mut p.value);
        }
    }

    fn annotations(&mut self, annotations: &mut [Annotation]) {
        for a in annotations {
            for arg in &mut a.args {
                self.expr(arg);
            }
        }
    }

    fn fields(&mut self, fields: &mut [FieldDecl]) {
        for f in fields {
            self.annotations(&mut f.annotations);
            if let Some(range) = &mut f.range {
                self.expr(&mut range.low);
                self.expr(&mut range.high);
            }
        }
    }

    fn block(&mut self, block: &mut ActionBlock) {
        for action in &mut block.actions {
            match action {
                Action::Invoke(a) => self.props(&mut a.params),
                Action::Escalate(a) => self.props(&mut a.fields),
                Action::Command(a) => {
                    if let CommandTarget::Zones(e) = &mut a.to {
                        self.expr(e);
                    }
                    self.props(&mut a.fields);
                }
                Action::Error(_) => {}
            }
        }
    }

    fn clause(&mut self, clause: &mut RuleClause) {
        match clause {
            RuleClause::When(e, _) | RuleClause::Priority(e, _) => self.expr(e),
            RuleClause::Let(c) => self.expr(&mut c.value),
            RuleClause::Correlate(c) => {
                self.opt(&mut c.window);
                self.opt(&mut c.radius);
                self.opt(&mut c.filter);
                self.opt(&mut c.min_count);
            }
            RuleClause::Then(block) => self.block(block),
            RuleClause::Approval(c) => self.expr(&mut c.within),
            RuleClause::OnOutcome(c) => self.block(&mut c.block),
            RuleClause::NoResponse(c) => {
                self.expr(&mut c.within);
                self.block(&mut c.block);
            }
            RuleClause::On(_) | RuleClause::Error(_) => {}
        }
    }

    fn step(&mut self, step: &mut TestStep) {
        match step {
            TestStep::Send(s) => {
                self.expr(&mut s.at);
                self.props(&mut s.fields);
            }
            TestStep::Advance(e, _) => self.expr(e),
            TestStep::Expect(s) => self.props(&mut s.fields),
            TestStep::Error(_) => {}
        }
    }

    fn item(&mut self, item: &mut Item) {
        match item {
            Item::Enum(i) => self.annotations(&mut i.annotations),
            Item::Record(i) => {
                self.annotations(&mut i.annotations);
                self.fields(&mut i.fields);
            }
            Item::Message(i) => {
                self.annotations(&mut i.annotations);
                self.fields(&mut i.fields);
            }
            Item::Action(i) => {
                self.annotations(&mut i.annotations);
                self.fields(&mut i.params);
            }
            Item::Plugin(i) => {
                self.annotations(&mut i.annotations);
                self.props(&mut i.properties);
            }
            Item::Authority(i) => {
                self.annotations(&mut i.annotations);
                self.props(&mut i.properties);
            }
            Item::System(i) => {
                self.annotations(&mut i.annotations);
                self.props(&mut i.properties);
            }
            Item::Const(i) => {
                self.annotations(&mut i.annotations);
                self.expr(&mut i.value);
            }
            Item::Fn(i) => {
                self.annotations(&mut i.annotations);
                self.opt(&mut i.body);
            }
            Item::Rule(i) => {
                self.annotations(&mut i.annotations);
                for clause in &mut i.clauses {
                    self.clause(clause);
                }
            }
            Item::Report(i) => {
                self.annotations(&mut i.annotations);
                self.expr(&mut i.every);
                self.props(&mut i.fields);
            }
            Item::Test(i) => {
                for step in &mut i.steps {
                    self.step(step);
                }
            }
            Item::Error(_) => {}
        }
    }
}
