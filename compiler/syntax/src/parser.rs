//! The parser: tokens → [`ast::SourceFile`], never failing.
//!
//! The LR(1) grammar lives in `grammar.lalrpop`; this module feeds it the lexer's tokens,
//! turns the errors it recovered from into diagnostics (see `parser/errors.rs`), turns the
//! expressions recovery cut short into error nodes (see `parser/cut_short.rs`) and attaches
//! doc comments to the nodes they document (see `parser/docs.rs`).

use crate::lexer::{self, Comment};
use crate::{Diagnostic, Span, ast};

pub(crate) mod build;
mod cut_short;
mod docs;
mod errors;
mod stream;

#[allow(
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used,
    clippy::expect_used,
    unused_qualifications,
    unused_parens,
    dead_code
)]
mod grammar {
    include!(concat!(env!("OUT_DIR"), "/grammar.rs"));
}

/// The result of parsing one file: always a tree, plus every problem found.
#[derive(Clone, Debug)]
pub struct Parsed {
    pub file: ast::SourceFile,
    /// Every `//` and `///` comment, in source order (doc comments also appear in the tree).
    pub comments: Vec<Comment>,
    /// Lexical and syntax errors, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses one `.cbp` file. Never panics and never fails: broken input yields a tree with
/// error nodes and diagnostics explaining them.
pub fn parse(file_name: &str, source: &str) -> Parsed {
    let lexed = lexer::lex(source);
    let mut diagnostics: Vec<Diagnostic> = lexed
        .issues
        .into_iter()
        .map(|i| i.into_diagnostic(file_name))
        .collect();

    let stream = stream::TokenStream::new(&lexed.tokens, source);
    let mut ctx = build::Ctx::default();
    if stream.too_deep.is_some() {
        ctx.too_deep_already_reported();
    }
    ctx.token_starts = stream.tokens.iter().map(|t| t.0).collect();
    ctx.after_unknown = stream
        .tokens
        .iter()
        .zip(&stream.after_unknown)
        .filter(|(_, removed)| **removed)
        .map(|(t, _)| t.0)
        .collect();
    let result = grammar::FileParser::new().parse(&mut ctx, stream.iter());

    let mut reporter = errors::Reporter::new(file_name, source.len(), &stream);
    let (unclosed, at_eof) = stream.unclosed_diagnostics(file_name);
    reporter.eof_reported = at_eof;
    diagnostics.extend(unclosed);
    let full = Span::new(0, source.len());
    let mut file = match result {
        Ok(file) => file,
        Err(error) => {
            // Recovery at the item level makes this unreachable in practice; keep the
            // diagnostic and return what we can.
            reporter.report(&error, &[]);
            ast::SourceFile {
                package: None,
                imports: Vec::new(),
                items: Vec::new(),
                span: full,
            }
        }
    };
    file.span = full;
    cut_short::apply(&mut file, &stream, &ctx.top_level, &ctx.recoveries);
    for recovery in &ctx.recoveries {
        reporter.report(&recovery.error, &recovery.dropped_tokens);
    }
    let error_ranges = reporter.error_ranges.clone();
    diagnostics.extend(reporter.finish());
    diagnostics.extend(ctx.issues.into_iter().map(|i| i.into_diagnostic(file_name)));

    diagnostics.extend(docs::attach(
        file_name,
        &mut file,
        &lexed.comments,
        &lexed.tokens,
        &error_ranges,
    ));

    diagnostics.sort_by_key(|d| (d.primary.span.start, d.primary.span.end));
    Parsed {
        file,
        comments: lexed.comments,
        diagnostics,
    }
}
