//! The token stream the grammar reads: the lexer's tokens without the unknown characters
//! (already reported), plus synthetic closing delimiters where a `{`, `(` or `[` was left
//! open, so that an unfinished item still parses as that item:
//!
//! - at the end of the file (reported as E0002), and
//! - before a line that starts a new item, like `rule r at …` or `record R {` (E0015): such a
//!   line can never be valid inside braces, so the braces before it must have been left open.
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

/// Whether the tokens from `i` on have the unmistakable shape of an item's start.
/// `previous` is the token before, if any.
fn starts_item(lexed: &[(Token, Span)], i: usize, previous: Option<&Token>) -> bool {
    use Token::*;
    // `expect action notify { … }` (optionally `expect no 2 action …`) is a test step.
    if matches!(previous, Some(Expect | No | Int(_))) {
        return false;
    }
    let at = |k: usize| lexed.get(i + k).map(|(t, _)| t);
    let ident = |k: usize| matches!(at(k), Some(Ident(_)));
    match at(0) {
        // Four tokens: `rule x at` alone could be three enum variants.
        Some(Rule | Report) => ident(1) && matches!(at(2), Some(At)) && ident(3),
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

impl TokenStream {
    pub fn new(lexed: &[(Token, Span)], source: &str) -> Self {
        let source_len = source.len();
        let mut tokens = Vec::with_capacity(lexed.len() + 4);
        let mut after_unknown = Vec::with_capacity(lexed.len() + 4);
        let mut open: Vec<(Token, Span)> = Vec::new();
        let mut closed_before_item = Vec::new();
        let mut removed = false;
        let mut prev_end = 0usize;
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
            let first_on_line = prev_end == 0
                || source
                    .get(prev_end..start)
                    .is_some_and(|gap| gap.contains('\n'));
            prev_end = span.end as usize;
            let previous = tokens.last().map(|(_, t, _)| t);
            if !open.is_empty() && first_on_line && starts_item(lexed, i, previous) {
                for (opener, _) in open.iter().rev() {
                    if let Some(closer) = closer_of(opener) {
                        tokens.push((start, closer, start));
                        after_unknown.push(false);
                    }
                }
                closed_before_item.push((std::mem::take(&mut open), *span));
            }
            after_unknown.push(std::mem::take(&mut removed));
            if closer_of(token).is_some() {
                open.push((token.clone(), *span));
            } else if matches!(token, Token::RBrace | Token::RParen | Token::RBracket) {
                // Close the innermost matching opener; a stray closer is left to the parser.
                if let Some(pos) = open
                    .iter()
                    .rposition(|(o, _)| closer_of(o).as_ref() == Some(token))
                {
                    open.truncate(pos);
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
