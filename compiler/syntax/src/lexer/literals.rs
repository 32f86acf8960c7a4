//! Values of literal tokens: numbers, quantities and strings, with their diagnostics.

use super::{LexIssue, Token};
use crate::Span;
use logos::Lexer;

/// The units a quantity may carry.
pub const UNITS: &[&str] = &["ms", "s", "min", "h", "d", "m", "km"];

/// A number with a unit, `30m`, `1.5km`. `value` is the number as written.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantity {
    pub value: f64,
    pub unit: String,
}

impl Quantity {
    /// Whether the unit is `ms`, `s`, `min`, `h`, `d`, `m` or `km`; an unknown one was
    /// reported as E0009.
    pub fn has_known_unit(&self) -> bool {
        UNITS.contains(&self.unit.as_str())
    }
}

fn span_of(lex: &Lexer<Token>) -> Span {
    let r = lex.span();
    Span::new(r.start, r.end)
}

fn too_large(lex: &mut Lexer<Token>) {
    let span = span_of(lex);
    lex.extras.push(LexIssue {
        code: "E0007",
        span,
        message: "integer literal is too large".to_owned(),
        label: "does not fit in a 64-bit integer".to_owned(),
        help: Some(format!("the largest integer is `{}`", i64::MAX)),
    });
}

pub(super) fn int(lex: &mut Lexer<Token>) -> i64 {
    let digits: String = lex.slice().chars().filter(|c| *c != '_').collect();
    match digits.parse::<i64>() {
        Ok(n) => n,
        Err(_) => {
            too_large(lex);
            0
        }
    }
}

fn parse_float(text: &str) -> f64 {
    let digits: String = text.chars().filter(|c| *c != '_').collect();
    digits.parse::<f64>().unwrap_or(0.0)
}

/// The value of a float literal; one too large for an `f64` is reported (E0016) and read as 0.
fn finite(lex: &mut Lexer<Token>, value: f64, span: Span) -> f64 {
    if value.is_finite() {
        return value;
    }
    lex.extras.push(LexIssue {
        code: "E0016",
        span,
        message: "number literal is too large".to_owned(),
        label: "does not fit in a 64-bit float".to_owned(),
        help: Some("write a smaller number or a larger unit".to_owned()),
    });
    0.0
}

pub(super) fn float(lex: &mut Lexer<Token>) -> f64 {
    let value = parse_float(lex.slice());
    let span = span_of(lex);
    finite(lex, value, span)
}

/// Length of the numeric prefix of a quantity: digits, an optional fraction, an optional
/// exponent (only when digits follow the `e`).
fn number_len(text: &str) -> usize {
    let b = text.as_bytes();
    let digits = |mut i: usize| {
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
        i
    };
    let mut i = digits(0);
    if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
        i = digits(i + 1);
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            i = digits(j);
        }
    }
    i
}

pub(super) fn quantity(lex: &mut Lexer<Token>) -> Quantity {
    let text = lex.slice();
    let split = number_len(text);
    let (number, unit) = text.split_at(split);
    let r = lex.span();
    let value = parse_float(number);
    let value = finite(lex, value, Span::new(r.start, r.start + split));
    let unit = unit.to_owned();
    if !UNITS.contains(&unit.as_str()) {
        let span = Span::new(r.start + split, r.end);
        lex.extras.push(LexIssue {
            code: "E0009",
            span,
            message: format!("invalid unit `{unit}`"),
            label: "not a unit".to_owned(),
            help: Some(
                "units are `ms`, `s`, `min`, `h`, `d` (durations), `km` and `m`; \
                 put a space between a number and a name"
                    .to_owned(),
            ),
        });
    }
    Quantity { value, unit }
}

/// Resolves the escapes of a string body (the text between the quotes), reporting bad ones.
/// `body_start` is the byte offset of the body in the source.
fn unescape(body: &str, body_start: usize, issues: &mut Vec<LexIssue>) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some((j, e)) = chars.next() else {
            // A lone backslash at the end of an unterminated string.
            out.push('\\');
            break;
        };
        match e {
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'u' => {
                let rest = &body[j + 1..];
                let parsed = rest.strip_prefix('{').and_then(|r| {
                    let close = r.find('}')?;
                    let hex = &r[..close];
                    let ch = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)?;
                    (!hex.is_empty() && hex.len() <= 6).then_some((ch, close + 2))
                });
                match parsed {
                    Some((ch, consumed)) => {
                        out.push(ch);
                        while chars.peek().is_some_and(|(k, _)| *k < j + 1 + consumed) {
                            chars.next();
                        }
                    }
                    None => {
                        issues.push(LexIssue {
                            code: "E0004",
                            span: Span::new(body_start + i, body_start + j + 1),
                            message: "invalid unicode escape".to_owned(),
                            label: "expected `\\u{…}` with 1 to 6 hex digits".to_owned(),
                            help: Some("write a unicode escape as `\\u{1F600}`".to_owned()),
                        });
                        out.push('u');
                    }
                }
            }
            other => {
                issues.push(LexIssue {
                    code: "E0004",
                    span: Span::new(body_start + i, body_start + j + other.len_utf8()),
                    message: format!("invalid escape `\\{}`", other.escape_debug()),
                    label: "unknown escape".to_owned(),
                    help: Some(
                        "valid escapes are `\\\"`, `\\\\`, `\\n`, `\\t` and `\\u{…}`".to_owned(),
                    ),
                });
                out.push(other);
            }
        }
    }
    out
}

pub(super) fn string(lex: &mut Lexer<Token>) -> String {
    let start = lex.span().start;
    let slice = lex.slice();
    let body = &slice[1..slice.len() - 1];
    let mut issues = Vec::new();
    let value = unescape(body, start + 1, &mut issues);
    lex.extras.extend(issues);
    value
}

pub(super) fn unterminated_string(lex: &mut Lexer<Token>) -> String {
    let start = lex.span().start;
    let body = &lex.slice()[1..];
    let mut issues = Vec::new();
    let value = unescape(body, start + 1, &mut issues);
    lex.extras.extend(issues);
    value
}
