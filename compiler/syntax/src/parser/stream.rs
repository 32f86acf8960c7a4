//! The token stream the grammar reads: the lexer's tokens without the unknown characters
//! (already reported), plus synthetic closing delimiters at the end of the file for every
//! `{`, `(` or `[` left open, so that an unfinished item still parses as that item.

use crate::lexer::Token;
use crate::{Diagnostic, Span};

pub type Triple = (usize, Token, usize);

pub struct TokenStream {
    pub tokens: Vec<Triple>,
    /// For each token: whether unknown characters were removed right before it.
    pub after_unknown: Vec<bool>,
    /// The openers left unclosed at the end of the file, outermost first.
    unclosed: Vec<(Token, Span)>,
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

impl TokenStream {
    pub fn new(lexed: &[(Token, Span)], source_len: usize) -> Self {
        let mut tokens = Vec::with_capacity(lexed.len() + 4);
        let mut after_unknown = Vec::with_capacity(lexed.len() + 4);
        let mut open: Vec<(Token, Span)> = Vec::new();
        let mut removed = false;
        for (token, span) in lexed {
            if *token == Token::Error {
                removed = true;
                continue;
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
            tokens.push((span.start as usize, token.clone(), span.end as usize));
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

    /// E0002 for the delimiters still open at the end of the file.
    pub fn unclosed_diagnostic(&self, file: &str) -> Option<Diagnostic> {
        let (innermost, _) = self.unclosed.last()?;
        let expected = closer_of(innermost).and_then(|c| c.punct()).unwrap_or("}");
        let eof = Span::new(self.source_len, self.source_len);
        let mut d = Diagnostic::error("E0002", file, eof, "unexpected end of file")
            .with_label(format!("expected `{expected}`"))
            .with_help(format!("add the missing `{expected}`"));
        for (opener, span) in self.unclosed.iter().rev().take(3) {
            let text = opener.punct().unwrap_or("{");
            d = d.with_secondary(file, *span, format!("this `{text}` is never closed"));
        }
        Some(d)
    }
}
