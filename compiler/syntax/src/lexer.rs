//! The lexer: source text → tokens, with comments kept aside.
//!
//! Built with logos. Lexing never fails: text that is no token becomes [`Token::Error`] (and
//! an E0008 diagnostic); malformed literals still produce their token plus a diagnostic, so
//! the parser sees a well-formed stream.

use crate::{Diagnostic, Span};
use logos::Logos;

mod literals;

pub use literals::Quantity;

/// A `//` or `///` comment. Comments are not tokens; the formatter re-attaches them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Comment {
    pub span: Span,
    /// The full text, including the leading `//`.
    pub text: String,
    /// `///` (but not `////`): documents the item, field, variant or package after it.
    pub is_doc: bool,
}

/// A problem found while lexing (the lexer's `extras`), turned into a [`Diagnostic`] once the
/// file name is known.
#[derive(Clone, Debug, Default)]
pub struct LexIssue {
    pub code: &'static str,
    pub span: Span,
    pub message: String,
    pub label: String,
    pub help: Option<String>,
}

impl LexIssue {
    pub fn into_diagnostic(self, file: &str) -> Diagnostic {
        let mut d = Diagnostic::error(self.code, file, self.span, self.message);
        if !self.label.is_empty() {
            d = d.with_label(self.label);
        }
        if let Some(help) = self.help {
            d = d.with_help(help);
        }
        d
    }
}

#[derive(Logos, Clone, Debug, PartialEq)]
#[logos(extras = Vec<LexIssue>)]
#[logos(skip r"[ \t\r\n\f\u{FEFF}]+")]
pub enum Token {
    // ---- keywords ----
    #[token("package")]
    Package,
    #[token("import")]
    Import,
    #[token("ordered")]
    Ordered,
    #[token("enum")]
    Enum,
    #[token("record")]
    Record,
    #[token("event")]
    Event,
    #[token("incident")]
    Incident,
    #[token("directive")]
    Directive,
    #[token("plugin")]
    Plugin,
    #[token("authority")]
    Authority,
    #[token("system")]
    System,
    #[token("action")]
    Action,
    #[token("const")]
    Const,
    #[token("fn")]
    Fn,
    #[token("extern")]
    Extern,
    #[token("rule")]
    Rule,
    #[token("report")]
    Report,
    #[token("test")]
    Test,
    #[token("on")]
    On,
    #[token("when")]
    When,
    #[token("let")]
    Let,
    #[token("correlate")]
    Correlate,
    #[token("absent")]
    Absent,
    #[token("over")]
    Over,
    #[token("last")]
    Last,
    #[token("within")]
    Within,
    #[token("where")]
    Where,
    #[token("at")]
    At,
    #[token("least")]
    Least,
    #[token("priority")]
    Priority,
    #[token("then")]
    Then,
    #[token("approval")]
    Approval,
    #[token("by")]
    By,
    #[token("else")]
    Else,
    #[token("if")]
    If,
    #[token("no")]
    No,
    #[token("response")]
    Response,
    #[token("to")]
    To,
    #[token("children")]
    Children,
    #[token("every")]
    Every,
    #[token("command")]
    Command,
    #[token("escalate")]
    Escalate,
    #[token("send")]
    Send,
    #[token("advance")]
    Advance,
    #[token("expect")]
    Expect,
    #[token("match")]
    Match,
    #[token("true")]
    True,
    #[token("false")]
    False,
    #[token("not")]
    Not,
    #[token("and")]
    And,
    #[token("or")]
    Or,
    #[token("in")]
    In,
    #[token("as")]
    As,
    #[token("from")]
    From,

    // ---- names and literals ----
    #[regex(r"[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice().to_owned())]
    Ident(String),
    /// `_` alone: the wildcard pattern.
    #[token("_", priority = 10)]
    Underscore,
    #[regex(r"[0-9][0-9_]*", literals::int)]
    Int(i64),
    #[regex(
        r"[0-9][0-9_]*\.[0-9][0-9_]*([eE][+-]?[0-9][0-9_]*)?",
        literals::float,
        priority = 6
    )]
    #[regex(r"[0-9][0-9_]*[eE][+-]?[0-9][0-9_]*", literals::float, priority = 6)]
    Float(f64),
    #[regex(
        r"[0-9][0-9_]*(\.[0-9][0-9_]*)?([eE][+-]?[0-9][0-9_]*)?[A-Za-z][A-Za-z0-9_]*",
        literals::quantity,
        priority = 4
    )]
    Quantity(Quantity),
    #[regex(r#""([^"\\\n\r]|\\[^\n\r])*""#, literals::string)]
    Str(String),
    /// A string with no closing quote on its line; [`tokenize`] turns it into a [`Token::Str`]
    /// and reports E0003.
    #[regex(r#""([^"\\\n\r]|\\[^\n\r])*\\?"#, literals::unterminated_string)]
    UnterminatedStr(String),
    /// `'…'`: a string in the wrong quotes; [`tokenize`] turns it into a [`Token::Str`] and
    /// reports E0008.
    #[regex(r"'[^'\n\r]*'", |lex| { let s = lex.slice(); s[1..s.len() - 1].to_owned() })]
    SingleQuotedStr(String),
    /// `@name`; the name without the `@`.
    #[regex(r"@[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice()[1..].to_owned())]
    Annotation(String),
    /// `// …` or `/// …`; [`tokenize`] moves these into the comment list.
    #[regex(r"//[^\n\r]*", allow_greedy = true)]
    Comment,

    // ---- punctuation ----
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token(",")]
    Comma,
    #[token(":")]
    Colon,
    #[token(".")]
    Dot,
    #[token("..")]
    DotDot,
    #[token("?")]
    Question,
    #[token("??")]
    QuestionQuestion,
    #[token("=")]
    Assign,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
    #[token("<")]
    Lt,
    #[token("<=")]
    Le,
    #[token(">")]
    Gt,
    #[token(">=")]
    Ge,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("%")]
    Percent,
    #[token("->")]
    Arrow,
    #[token("=>")]
    FatArrow,

    /// Text that is no token (reported as E0008). Never given to the parser.
    Error,
}

/// Every reserved word of the language, in the order of `docs/grammar.md`: the one list the
/// parser's messages, the language server's completion and the tests use.
pub const KEYWORDS: &[&str] = &[
    "package",
    "import",
    "ordered",
    "enum",
    "record",
    "event",
    "incident",
    "directive",
    "plugin",
    "authority",
    "system",
    "action",
    "const",
    "fn",
    "extern",
    "rule",
    "report",
    "test",
    "on",
    "when",
    "let",
    "correlate",
    "absent",
    "over",
    "last",
    "within",
    "where",
    "at",
    "least",
    "priority",
    "then",
    "approval",
    "by",
    "else",
    "if",
    "no",
    "response",
    "to",
    "children",
    "every",
    "command",
    "escalate",
    "send",
    "advance",
    "expect",
    "match",
    "true",
    "false",
    "not",
    "and",
    "or",
    "in",
    "as",
    "from",
];

impl Token {
    /// The keyword text, if this token is a keyword.
    pub fn keyword(&self) -> Option<&'static str> {
        use Token::*;
        Some(match self {
            Package => "package",
            Import => "import",
            Ordered => "ordered",
            Enum => "enum",
            Record => "record",
            Event => "event",
            Incident => "incident",
            Directive => "directive",
            Plugin => "plugin",
            Authority => "authority",
            System => "system",
            Action => "action",
            Const => "const",
            Fn => "fn",
            Extern => "extern",
            Rule => "rule",
            Report => "report",
            Test => "test",
            On => "on",
            When => "when",
            Let => "let",
            Correlate => "correlate",
            Absent => "absent",
            Over => "over",
            Last => "last",
            Within => "within",
            Where => "where",
            At => "at",
            Least => "least",
            Priority => "priority",
            Then => "then",
            Approval => "approval",
            By => "by",
            Else => "else",
            If => "if",
            No => "no",
            Response => "response",
            To => "to",
            Children => "children",
            Every => "every",
            Command => "command",
            Escalate => "escalate",
            Send => "send",
            Advance => "advance",
            Expect => "expect",
            Match => "match",
            True => "true",
            False => "false",
            Not => "not",
            And => "and",
            Or => "or",
            In => "in",
            As => "as",
            From => "from",
            _ => return None,
        })
    }

    /// The punctuation text, if this token is punctuation.
    pub fn punct(&self) -> Option<&'static str> {
        use Token::*;
        Some(match self {
            LBrace => "{",
            RBrace => "}",
            LParen => "(",
            RParen => ")",
            LBracket => "[",
            RBracket => "]",
            Comma => ",",
            Colon => ":",
            Dot => ".",
            DotDot => "..",
            Question => "?",
            QuestionQuestion => "??",
            Assign => "=",
            EqEq => "==",
            NotEq => "!=",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            Plus => "+",
            Minus => "-",
            Star => "*",
            Slash => "/",
            Percent => "%",
            Arrow => "->",
            FatArrow => "=>",
            Underscore => "_",
            _ => return None,
        })
    }

    /// How the token is named in a diagnostic: "`{`", "keyword `rule`", "identifier `x`".
    pub fn describe(&self) -> String {
        if let Some(k) = self.keyword() {
            return format!("keyword `{k}`");
        }
        if let Some(p) = self.punct() {
            return format!("`{p}`");
        }
        match self {
            Token::Ident(name) => format!("identifier `{name}`"),
            Token::Int(_) => "integer literal".to_owned(),
            Token::Float(_) => "float literal".to_owned(),
            Token::Quantity(_) => "quantity literal".to_owned(),
            Token::Str(_) | Token::UnterminatedStr(_) | Token::SingleQuotedStr(_) => {
                "string literal".to_owned()
            }
            Token::Annotation(name) => format!("annotation `@{name}`"),
            Token::Comment => "comment".to_owned(),
            _ => "unknown character".to_owned(),
        }
    }
}

/// Splits `source` into tokens (without comments), comments, and lexical diagnostics.
///
/// Every byte of `source` is covered by exactly one token, one comment, or whitespace.
/// Runs of unknown characters become one [`Token::Error`] each. Diagnostics carry an empty
/// file name; [`crate::parse`] reports the same problems with the real file name.
pub fn tokenize(source: &str) -> (Vec<(Token, Span)>, Vec<Comment>, Vec<Diagnostic>) {
    let lexed = lex(source);
    let diagnostics = lexed
        .issues
        .into_iter()
        .map(|i| i.into_diagnostic(""))
        .collect();
    (lexed.tokens, lexed.comments, diagnostics)
}

pub(crate) struct Lexed {
    pub tokens: Vec<(Token, Span)>,
    pub comments: Vec<Comment>,
    pub issues: Vec<LexIssue>,
}

pub(crate) fn lex(source: &str) -> Lexed {
    let mut lexer = Token::lexer(source);
    let mut tokens: Vec<(Token, Span)> = Vec::with_capacity(source.len() / 4);
    let mut comments = Vec::new();
    let mut unterminated = Vec::new();
    while let Some(result) = lexer.next() {
        let range = lexer.span();
        let span = Span::new(range.start, range.end);
        match result {
            Ok(Token::Comment) => {
                let text = lexer.slice().to_owned();
                let is_doc = text.starts_with("///") && !text.starts_with("////");
                comments.push(Comment { span, text, is_doc });
            }
            Ok(Token::UnterminatedStr(value)) => {
                unterminated.push(LexIssue {
                    code: "E0003",
                    span,
                    message: "unterminated string".to_owned(),
                    label: "this string has no closing `\"`".to_owned(),
                    help: Some("strings end on the line they start; close it with `\"`".into()),
                });
                tokens.push((Token::Str(value), span));
            }
            Ok(Token::SingleQuotedStr(value)) => {
                unterminated.push(LexIssue {
                    code: "E0008",
                    span: Span::new(range.start, range.start + 1),
                    message: "unknown character `'`".to_owned(),
                    label: "strings use double quotes".to_owned(),
                    help: Some(format!("write `\"{value}\"`")),
                });
                tokens.push((Token::Str(value), span));
            }
            Ok(token) => tokens.push((token, span)),
            Err(()) => match tokens.last_mut() {
                // Merge a run of unknown characters into one error token.
                Some((Token::Error, last)) if last.end == span.start => last.end = span.end,
                _ => tokens.push((Token::Error, span)),
            },
        }
    }
    let mut issues = std::mem::take(&mut lexer.extras);
    issues.extend(unterminated);
    for (token, span) in &tokens {
        if *token == Token::Error {
            let text = source.get(span.range()).unwrap_or("");
            let (message, label) = if text.chars().count() == 1 {
                (
                    format!("unknown character `{}`", text.escape_debug()),
                    "not part of any token",
                )
            } else {
                (
                    format!("unknown characters `{}`", text.escape_debug()),
                    "not part of any token",
                )
            };
            let help = unknown_char_help(text);
            issues.push(LexIssue {
                code: "E0008",
                span: *span,
                message,
                label: label.to_owned(),
                help,
            });
        }
    }
    issues.sort_by_key(|i| (i.span.start, i.span.end));
    Lexed {
        tokens,
        comments,
        issues,
    }
}

fn unknown_char_help(text: &str) -> Option<String> {
    match text.chars().next() {
        Some('!') => Some("use `not` for negation; `!` only appears in `!=`".to_owned()),
        Some('&') => Some("use `and` for a logical and".to_owned()),
        Some('|') => Some("use `or` for a logical or".to_owned()),
        Some(';') => Some("statements need no terminator; remove the `;`".to_owned()),
        Some('\'') => Some("strings use double quotes: `\"…\"`".to_owned()),
        Some('@') => Some("an annotation is `@` followed by a name, like `@pii`".to_owned()),
        Some('#') => Some("comments start with `//`".to_owned()),
        _ => None,
    }
}
