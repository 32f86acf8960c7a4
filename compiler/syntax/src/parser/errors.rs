//! Turns the parser's errors into E0001/E0002 diagnostics, with readable lists of what was
//! expected and without cascades: an error that follows an earlier one within a couple of
//! tokens is part of the same mistake and is not reported again.

use super::stream::{TokenStream, Triple};
use crate::lexer::Token;
use crate::{Diagnostic, Span};
use lalrpop_util::ParseError;

/// Errors closer than this many tokens after the previous recovery are not reported.
pub const CASCADE_TOKENS: usize = 3;

pub struct Reporter<'a> {
    file: &'a str,
    source_len: usize,
    stream: &'a TokenStream,
    diagnostics: Vec<Diagnostic>,
    /// Token index where parsing resumed after the last error.
    resume: Option<usize>,
    pub eof_reported: bool,
    /// The text each recovery skipped, from the error to where parsing resumed.
    pub error_ranges: Vec<Span>,
}

impl<'a> Reporter<'a> {
    pub fn new(file: &'a str, source_len: usize, stream: &'a TokenStream) -> Self {
        Reporter {
            file,
            source_len,
            stream,
            diagnostics: Vec::new(),
            resume: None,
            eof_reported: false,
            error_ranges: Vec::new(),
        }
    }

    pub fn report(&mut self, error: &ParseError<usize, Token, &'static str>, dropped: &[Triple]) {
        let (found, expected) = match error {
            ParseError::UnrecognizedToken { token, expected } => (Some(token), expected.as_slice()),
            ParseError::UnrecognizedEof { expected, .. } => (None, expected.as_slice()),
            ParseError::ExtraToken { token } => (Some(token), &[][..]),
            ParseError::InvalidToken { .. } | ParseError::User { .. } => (None, &[][..]),
        };
        // Synthetic closers sit at the end of the file: an error there is an early EOF.
        let found = found.filter(|t| t.0 < self.source_len || t.2 < self.source_len);
        let Some((start, token, end)) = found else {
            self.report_eof(expected);
            return;
        };
        // A synthetic closer before a new item: E0015 already says the delimiter is open.
        let synthetic = start == end;
        let index = self.stream.index_at(*start);
        let resume = index + dropped.len();
        let last_dropped_end = dropped.last().map_or(*end, |t| t.2);
        self.error_ranges
            .push(Span::new(*start, last_dropped_end.max(*end)));
        // Right after an unknown character (already reported) or a previous error.
        let cascade = self.resume.is_some_and(|r| index < r + CASCADE_TOKENS)
            || self
                .stream
                .after_unknown
                .get(index)
                .copied()
                .unwrap_or(false);
        self.resume = Some(resume);
        if cascade || synthetic {
            return;
        }
        let span = Span::new(*start, *end);
        let found_text = token.describe();
        let summary = summarize(expected);
        let diagnostic = match summary.as_slice() {
            [] => Diagnostic::error("E0001", self.file, span, format!("unexpected {found_text}"))
                .with_label("unexpected here"),
            list if list.len() <= 3 => {
                let wanted = join_or(list);
                Diagnostic::error(
                    "E0001",
                    self.file,
                    span,
                    format!("expected {wanted}, found {found_text}"),
                )
                .with_label(format!("expected {wanted}"))
            }
            list => Diagnostic::error("E0001", self.file, span, format!("unexpected {found_text}"))
                .with_label("unexpected here")
                .with_help(format!("expected one of {}", join_or(list))),
        };
        self.diagnostics
            .push(with_hint(diagnostic, token, &summary));
    }

    fn report_eof(&mut self, expected: &[String]) {
        if self.eof_reported {
            return;
        }
        self.eof_reported = true;
        let eof = Span::new(self.source_len, self.source_len);
        let summary = summarize(expected);
        let mut d = Diagnostic::error("E0002", self.file, eof, "unexpected end of file");
        if !summary.is_empty() {
            d = d.with_label(format!("expected {}", join_or(&summary)));
        }
        self.diagnostics.push(d);
    }

    pub fn finish(self) -> Vec<Diagnostic> {
        self.diagnostics
    }
}

/// A hint for mistakes that come up often.
fn with_hint(d: Diagnostic, found: &Token, summary: &[String]) -> Diagnostic {
    let expects = |t: &str| summary.iter().any(|e| e == t);
    if *found == Token::Assign && expects("an operator") {
        return d.with_help("compare with `==`; `=` only appears in `let` and `const`");
    }
    if d.help.is_some() {
        return d;
    }
    if let Some(k) = found.keyword()
        && expects("an identifier")
        && !expects("an expression")
    {
        return d.with_help(format!(
            "`{k}` is a keyword and cannot be used as a name here"
        ));
    }
    d
}

/// The expected terminals in readable form, grouped where a whole category is expected.
fn summarize(expected: &[String]) -> Vec<String> {
    let has = |t: &str| expected.iter().any(|e| e == t);
    let mut out: Vec<String> = Vec::new();
    let mut skip: Vec<&str> = Vec::new();
    let mut skip_keywords = false;
    // The outcome after `approval … else` or `on`: an identifier that must be one of these.
    if expected.len() == 2 && has("IDENT") && has("\"escalate\"") {
        return vec!["`approve`, `reject` or `escalate`".to_owned()];
    }
    // An expression can start here.
    if has("INT") && has("STRING") && has("\"(\"") && has("\"[\"") {
        out.push("an expression".to_owned());
        skip.extend([
            "INT",
            "FLOAT",
            "QUANTITY",
            "STRING",
            "IDENT",
            "\"(\"",
            "\"[\"",
            "\"{\"",
            "\"-\"",
            "\"not\"",
            "\"if\"",
            "\"match\"",
            "\"true\"",
            "\"false\"",
            "\"escalate\"",
        ]);
    }
    // A name that may be a keyword.
    if has("IDENT") && has("\"package\"") && has("\"rule\"") {
        out.push("a name".to_owned());
        skip.push("IDENT");
        skip_keywords = true;
    }
    let any_keyword = !out.is_empty() && out.last().is_some_and(|o| o == "a name");
    // An item can start here (unless any keyword can, as a name).
    if !any_keyword && has("\"rule\"") && has("\"enum\"") && has("\"record\"") && has("\"test\"") {
        out.push("an item".to_owned());
        skip.extend(ITEM_STARTS.iter().copied());
    }
    // A rule clause can start here.
    if !any_keyword && has("\"when\"") && has("\"then\"") && has("\"correlate\"") {
        out.push("a rule clause".to_owned());
        skip.extend(CLAUSE_STARTS.iter().copied());
    }
    // An expression could continue with a binary operator.
    if has("\"==\"") && has("\"+\"") && has("\"*\"") && has("\"and\"") {
        out.push("an operator".to_owned());
        skip.extend(OPERATORS.iter().copied());
    }
    for e in expected {
        if skip.contains(&e.as_str()) || (skip_keywords && is_keyword_terminal(e)) {
            continue;
        }
        out.push(terminal_name(e));
    }
    out.dedup();
    out
}

/// A grammar terminal that is a keyword: `"rule"` (lalrpop names terminals with quotes).
fn is_keyword_terminal(terminal: &str) -> bool {
    terminal
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .is_some_and(|word| crate::lexer::KEYWORDS.contains(&word))
}

fn terminal_name(terminal: &str) -> String {
    match terminal {
        "IDENT" => "an identifier".to_owned(),
        "INT" => "an integer".to_owned(),
        "FLOAT" => "a float".to_owned(),
        "QUANTITY" => "a quantity".to_owned(),
        "STRING" => "a string".to_owned(),
        "ANNOTATION" => "an annotation".to_owned(),
        quoted => format!("`{}`", quoted.trim_matches('"')),
    }
}

fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

const OPERATORS: &[&str] = &[
    "\"and\"", "\"or\"", "\"in\"", "\"??\"", "\"==\"", "\"!=\"", "\"<\"", "\"<=\"", "\">\"",
    "\">=\"", "\"+\"", "\"-\"", "\"*\"", "\"/\"", "\"%\"",
];

const ITEM_STARTS: &[&str] = &[
    "\"ordered\"",
    "\"enum\"",
    "\"record\"",
    "\"event\"",
    "\"incident\"",
    "\"directive\"",
    "\"plugin\"",
    "\"authority\"",
    "\"system\"",
    "\"action\"",
    "\"const\"",
    "\"fn\"",
    "\"extern\"",
    "\"rule\"",
    "\"report\"",
    "\"test\"",
    "ANNOTATION",
    "\"import\"",
    "\"package\"",
];

const CLAUSE_STARTS: &[&str] = &[
    "\"on\"",
    "\"when\"",
    "\"let\"",
    "\"correlate\"",
    "\"absent\"",
    "\"priority\"",
    "\"then\"",
    "\"approval\"",
    "\"if\"",
];
