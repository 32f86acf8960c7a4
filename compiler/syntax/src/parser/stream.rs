//! The token stream the grammar reads: the lexer's tokens without the unknown characters
//! (already reported), plus synthetic closing delimiters where a `{`, `(` or `[` was left
//! open, so that an unfinished item still parses as that item:
//!
//! - at the end of the file (reported as E0002), and
//! - before tokens that start a new item, like `rule r at l {` or `record R {` (E0015): such
//!   tokens can never be valid inside braces, so the braces before them must have been left
//!   open.
//!
//! Only tokens decide where an item starts, never line breaks: whitespace is insignificant
//! (docs/grammar.md), so a file parses the same however it is laid out.
//!
//! Synthetic tokens are zero-width, which no real token is.

use crate::lexer::Token;
use crate::{Diagnostic, Span};

pub type Triple = (usize, Token, usize);

/// The deepest nesting of `{`, `(` and `[` the parser is given; deeper groups are skipped
/// (E0013). This bounds the parser's stack, which error recovery scans.
const MAX_DELIMITER_DEPTH: usize = 128;

pub struct TokenStream {
    pub tokens: Vec<Triple>,
    /// For each token: whether unknown characters were removed right before it.
    pub after_unknown: Vec<bool>,
    /// The openers left unclosed at the end of the file, outermost first.
    unclosed: Vec<(Token, Span)>,
    /// Openers closed early because a new item started: (openers, the item's first token).
    closed_before_item: Vec<(Vec<(Token, Span)>, Span)>,
    /// The first group skipped for being nested too deeply.
    pub too_deep: Option<Span>,
    source_len: usize,
}

fn closer_of(token: &Token) -> Option<Token> {
    match token {
        Token::LBrace => Some(Token::RBrace),
        Token::LParen => Some(Token::RParen),
        Token::LBracket => Some(Token::RBracket),
        _ => None,
    }
}

/// Whether the tokens from `i` on have the unmistakable shape of an item's start, given the
/// tokens already passed on to the parser (`before`) and whether the innermost open brace is
/// an enum's body.
fn starts_item(lexed: &[(Token, Span)], i: usize, before: &[Triple], in_enum: bool) -> bool {
    use Token::*;
    let previous = before.last().map(|(_, t, _)| t);
    // A keyword after `.` is a name (`std.const`), not the start of anything.
    if matches!(previous, Some(Dot)) || in_expect_step(before) {
        return false;
    }
    // Annotations belong to the item after them: `@open\naction log {}`.
    let i = after_annotations(lexed, i);
    let at = |k: usize| lexed.get(i + k).map(|(t, _)| t);
    let ident = |k: usize| matches!(at(k), Some(Ident(_)));
    match at(0) {
        // `rule x at y` alone could be four enum variants; its `{` cannot.
        Some(Rule) => {
            ident(1) && matches!(at(2), Some(At)) && ident(3) && matches!(at(4), Some(LBrace))
        }
        // `report x at y every` could be five enum variants; the interval after it cannot.
        Some(Report) => {
            ident(1)
                && matches!(at(2), Some(At))
                && ident(3)
                && matches!(at(4), Some(Every))
                && !(in_enum && at(5).is_some_and(is_name))
        }
        Some(Record | Event | Incident | Directive | Authority | System | Action | Enum) => {
            ident(1) && matches!(at(2), Some(LBrace))
        }
        Some(Ordered) => matches!(at(1), Some(Enum)) && ident(2) && matches!(at(3), Some(LBrace)),
        Some(Extern) => matches!(at(1), Some(Fn)) && ident(2) && matches!(at(3), Some(LParen)),
        Some(Const) => ident(1) && matches!(at(2), Some(Colon | Assign)),
        Some(Fn) => ident(1) && matches!(at(2), Some(LParen)),
        Some(Test) => matches!(at(1), Some(Str(_))) && matches!(at(2), Some(LBrace)),
        Some(Plugin) => matches!(at(1), Some(Str(_))) && matches!(at(2), Some(As)),
        _ => false,
    }
}

/// The index of the first token from `i` on that is not part of an annotation (`@name` or
/// `@name(args)`). Looks at most [`ANNOTATION_LOOKAHEAD`] tokens ahead, so that a flood of
/// annotations costs linear time; past that, `i` itself.
fn after_annotations(lexed: &[(Token, Span)], start: usize) -> usize {
    let mut i = start;
    let mut depth = 0usize;
    while i < start + ANNOTATION_LOOKAHEAD {
        match lexed.get(i).map(|(t, _)| t) {
            Some(Token::LParen) if depth > 0 || i > start => depth += 1,
            Some(Token::RParen) if depth > 0 => depth -= 1,
            Some(Token::Annotation(_)) if depth == 0 => {}
            Some(_) if depth > 0 => {}
            _ => return i,
        }
        i += 1;
    }
    start
}

/// How far [`after_annotations`] looks for the item after annotations.
const ANNOTATION_LOOKAHEAD: usize = 64;

/// A token that can be an enum variant: an identifier or a keyword.
fn is_name(token: &Token) -> bool {
    matches!(token, Token::Ident(_)) || token.keyword().is_some()
}

/// Whether the tokens before are `expect`, `expect no`, `expect 2` or `expect no 2`: then
/// `action notify { … }` is the rest of a test step, not an action declaration.
fn in_expect_step(before: &[Triple]) -> bool {
    let mut rest = before.iter().rev().map(|(_, t, _)| t).peekable();
    rest.next_if(|t| matches!(t, Token::Int(_)));
    rest.next_if(|t| matches!(t, Token::No));
    matches!(rest.next(), Some(Token::Expect))
}

/// Whether the `{` at `i` opens an enum's body: `enum Name {`.
fn opens_enum(lexed: &[(Token, Span)], i: usize) -> bool {
    i >= 2
        && matches!(lexed.get(i - 2), Some((Token::Enum, _)))
        && matches!(lexed.get(i - 1), Some((Token::Ident(_), _)))
}

impl TokenStream {
    pub fn new(lexed: &[(Token, Span)], source: &str) -> Self {
        let source_len = source.len();
        let mut tokens = Vec::with_capacity(lexed.len() + 4);
        let mut after_unknown = Vec::with_capacity(lexed.len() + 4);
        let mut open: Vec<(Token, Span)> = Vec::new();
        // For each opener in `open`: whether it is an enum's `{`.
        let mut open_is_enum: Vec<bool> = Vec::new();
        let mut closed_before_item = Vec::new();
        let mut removed = false;
        let mut too_deep = None;
        // While skipping a too-deep group: how many delimiters are open inside it.
        let mut skipping = 0usize;
        for (i, (token, span)) in lexed.iter().enumerate() {
            if skipping > 0 {
                if closer_of(token).is_some() {
                    skipping += 1;
                } else if matches!(token, Token::RBrace | Token::RParen | Token::RBracket) {
                    skipping -= 1;
                }
                removed = true;
                continue;
            }
            if closer_of(token).is_some() && open.len() >= MAX_DELIMITER_DEPTH {
                too_deep.get_or_insert(*span);
                skipping = 1;
                removed = true;
                continue;
            }
            if *token == Token::Error {
                removed = true;
                continue;
            }
            let start = span.start as usize;
            let in_enum = open_is_enum.last().copied().unwrap_or(false);
            if !open.is_empty() && starts_item(lexed, i, &tokens, in_enum) {
                for (opener, _) in open.iter().rev() {
                    if let Some(closer) = closer_of(opener) {
                        tokens.push((start, closer, start));
                        after_unknown.push(false);
                    }
                }
                closed_before_item.push((std::mem::take(&mut open), *span));
                open_is_enum.clear();
            }
            after_unknown.push(std::mem::take(&mut removed));
            if closer_of(token).is_some() {
                open.push((token.clone(), *span));
                open_is_enum.push(opens_enum(lexed, i));
            } else if matches!(token, Token::RBrace | Token::RParen | Token::RBracket) {
                // Close the innermost matching opener; a stray closer is left to the parser.
                if let Some(pos) = open
                    .iter()
                    .rposition(|(o, _)| closer_of(o).as_ref() == Some(token))
                {
                    open.truncate(pos);
                    open_is_enum.truncate(pos);
                }
            }
            tokens.push((start, token.clone(), span.end as usize));
        }
        for (opener, _) in open.iter().rev() {
            if let Some(closer) = closer_of(opener) {
                tokens.push((source_len, closer, source_len));
                after_unknown.push(false);
            }
        }
        TokenStream {
            tokens,
            after_unknown,
            unclosed: open,
            closed_before_item,
            too_deep,
            source_len,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = Result<Triple, &'static str>> + '_ {
        self.tokens.iter().cloned().map(Ok)
    }

    /// Index of the first token starting at or after `offset`.
    pub fn index_at(&self, offset: usize) -> usize {
        self.tokens.partition_point(|t| t.0 < offset)
    }

    /// E0002 for the delimiters still open at the end of the file, E0015 for those closed
    /// early because a new item started.
    pub fn unclosed_diagnostics(&self, file: &str) -> (Vec<Diagnostic>, bool) {
        let mut out = Vec::new();
        if let Some(span) = self.too_deep {
            out.push(
                Diagnostic::error("E0013", file, span, "expression is nested too deeply")
                    .with_label(format!("more than {MAX_DELIMITER_DEPTH} brackets deep"))
                    .with_help("split it up with `let` clauses, constants or functions"),
            );
        }
        for (openers, item) in &self.closed_before_item {
            let Some((innermost, inner_span)) = openers.last() else {
                continue;
            };
            let open_text = innermost.punct().unwrap_or("{");
            let close = closer_of(innermost).and_then(|c| c.punct()).unwrap_or("}");
            let mut d = Diagnostic::error(
                "E0015",
                file,
                *inner_span,
                format!("unclosed `{open_text}`"),
            )
            .with_label(format!("this `{open_text}` is never closed"))
            .with_secondary(file, *item, "the next item starts here")
            .with_help(format!("add the missing `{close}` before the next item"));
            for (opener, span) in openers.iter().rev().skip(1).take(3) {
                let text = opener.punct().unwrap_or("{");
                d = d.with_secondary(file, *span, format!("this `{text}` is not closed either"));
            }
            out.push(d);
        }
        let at_eof = if let Some((innermost, _)) = self.unclosed.last() {
            let expected = closer_of(innermost).and_then(|c| c.punct()).unwrap_or("}");
            let eof = Span::new(self.source_len, self.source_len);
            let mut d = Diagnostic::error("E0002", file, eof, "unexpected end of file")
                .with_label(format!("expected `{expected}`"))
                .with_help(format!("add the missing `{expected}`"));
            for (opener, span) in self.unclosed.iter().rev().take(3) {
                let text = opener.punct().unwrap_or("{");
                d = d.with_secondary(file, *span, format!("this `{text}` is never closed"));
            }
            out.push(d);
            true
        } else {
            false
        };
        (out, at_eof)
    }
}
