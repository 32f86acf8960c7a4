//! Tokens of small inputs, literal values, and lexical diagnostics.
#![allow(clippy::unwrap_used)] // test helpers may panic

use cbp_syntax::lexer::{Quantity, Token, tokenize};

fn kinds(src: &str) -> Vec<Token> {
    let (tokens, _, _) = tokenize(src);
    tokens.into_iter().map(|(t, _)| t).collect()
}

fn texts(src: &str) -> Vec<&str> {
    let (tokens, _, _) = tokenize(src);
    tokens.iter().map(|(_, s)| &src[s.range()]).collect()
}

fn codes(src: &str) -> Vec<&'static str> {
    tokenize(src).2.iter().map(|d| d.code).collect()
}

fn q(value: f64, unit: &str) -> Token {
    Token::Quantity(Quantity {
        value,
        unit: unit.to_owned(),
    })
}

#[test]
fn keywords_identifiers_and_wildcard() {
    assert_eq!(
        kinds("rule approve reject escalate list _ _x x_1"),
        vec![
            Token::Rule,
            Token::Ident("approve".into()),
            Token::Ident("reject".into()),
            Token::Escalate,
            Token::Ident("list".into()),
            Token::Underscore,
            Token::Ident("_x".into()),
            Token::Ident("x_1".into()),
        ]
    );
    assert_eq!(kinds("rules"), vec![Token::Ident("rules".into())]);
}

#[test]
fn numbers() {
    assert_eq!(
        kinds("42 1_000 0.85 1.5e3 2E-2"),
        vec![
            Token::Int(42),
            Token::Int(1000),
            Token::Float(0.85),
            Token::Float(1500.0),
            Token::Float(0.02),
        ]
    );
    // A float needs digits on both sides of the dot: `0..1` is a range.
    assert_eq!(
        kinds("0..1"),
        vec![Token::Int(0), Token::DotDot, Token::Int(1)]
    );
    assert_eq!(
        kinds("0.0..1.0"),
        vec![Token::Float(0.0), Token::DotDot, Token::Float(1.0)]
    );
    assert_eq!(texts("x.y 1.x"), vec!["x", ".", "y", "1", ".", "x"]);
}

#[test]
fn quantities() {
    assert_eq!(
        kinds("30s 500ms 5min 2h 1d 30m 1.5km"),
        vec![
            q(30.0, "s"),
            q(500.0, "ms"),
            q(5.0, "min"),
            q(2.0, "h"),
            q(1.0, "d"),
            q(30.0, "m"),
            q(1.5, "km"),
        ]
    );
    assert!(codes("30s 1.5km 2h").is_empty());
}

#[test]
fn invalid_units() {
    let (tokens, _, diags) = tokenize("5kmh 3x");
    assert_eq!(tokens.len(), 2, "still quantity tokens");
    assert_eq!(
        diags.iter().map(|d| d.code).collect::<Vec<_>>(),
        ["E0009", "E0009"]
    );
    // The label points at the unit only.
    assert_eq!(diags[0].primary.span.range(), 1..4);
    assert!(diags[0].message.contains("`kmh`"));
}

#[test]
fn integer_overflow_is_a_diagnostic() {
    let (tokens, _, diags) = tokenize("99999999999999999999 9223372036854775807");
    assert_eq!(tokens[0].0, Token::Int(0));
    assert_eq!(tokens[1].0, Token::Int(i64::MAX));
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].code, "E0007");
}

#[test]
fn float_overflow_is_a_diagnostic() {
    let (tokens, _, diags) = tokenize("1e999 2e400km 1.5");
    assert_eq!(tokens[0].0, Token::Float(0.0));
    assert_eq!(tokens[1].0, q(0.0, "km"));
    assert_eq!(
        diags.iter().map(|d| d.code).collect::<Vec<_>>(),
        ["E0016", "E0016"]
    );
    assert_eq!(diags[1].primary.span.range(), 6..11);
}

#[test]
fn strings_and_escapes() {
    assert_eq!(
        kinds(r#""a\"b\\c\nd\te\u{1F600}""#),
        vec![Token::Str("a\"b\\c\nd\te\u{1F600}".into())]
    );
    assert!(codes(r#""ok""#).is_empty());
    let (tokens, _, diags) = tokenize(r#""a\qb""#);
    assert_eq!(tokens[0].0, Token::Str("aqb".into()));
    assert_eq!(diags[0].code, "E0004");
    assert_eq!(diags[0].primary.span.range(), 2..4);
    assert_eq!(
        codes(r#""\u{zz}" "\u{110000}" "\u{}""#),
        ["E0004", "E0004", "E0004"]
    );
}

#[test]
fn unterminated_string() {
    let (tokens, _, diags) = tokenize("\"abc\nrule");
    assert_eq!(tokens[0].0, Token::Str("abc".into()));
    assert_eq!(tokens[1].0, Token::Rule);
    assert_eq!(diags[0].code, "E0003");
    assert_eq!(diags[0].primary.span.range(), 0..4);
    assert_eq!(codes("\"abc\\"), ["E0003"]);
}

#[test]
fn annotations_and_punctuation() {
    assert_eq!(
        kinds("@pii @unit(\"kmh\")"),
        vec![
            Token::Annotation("pii".into()),
            Token::Annotation("unit".into()),
            Token::LParen,
            Token::Str("kmh".into()),
            Token::RParen,
        ]
    );
    assert_eq!(
        texts("{}()[],:. .. ? ?? = == != < <= > >= + - * / % -> =>"),
        vec![
            "{", "}", "(", ")", "[", "]", ",", ":", ".", "..", "?", "??", "=", "==", "!=", "<",
            "<=", ">", ">=", "+", "-", "*", "/", "%", "->", "=>"
        ]
    );
}

#[test]
fn comments_are_kept_aside() {
    let src = "/// doc\n// plain\n//// not doc\nrule // trailing\n";
    let (tokens, comments, diags) = tokenize(src);
    assert!(diags.is_empty());
    assert_eq!(tokens.len(), 1);
    let summary: Vec<(&str, bool)> = comments
        .iter()
        .map(|c| (c.text.as_str(), c.is_doc))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("/// doc", true),
            ("// plain", false),
            ("//// not doc", false),
            ("// trailing", false),
        ]
    );
    for c in &comments {
        assert_eq!(&src[c.span.range()], c.text);
    }
}

#[test]
fn unknown_characters_merge_into_one_error() {
    let (tokens, _, diags) = tokenize("a $$ b ; é");
    let kinds: Vec<&Token> = tokens.iter().map(|(t, _)| t).collect();
    assert_eq!(
        kinds,
        vec![
            &Token::Ident("a".into()),
            &Token::Error,
            &Token::Ident("b".into()),
            &Token::Error,
            &Token::Error,
        ]
    );
    assert_eq!(
        diags.iter().map(|d| d.code).collect::<Vec<_>>(),
        ["E0008", "E0008", "E0008"]
    );
    assert!(diags[0].message.contains("`$$`"));
    assert_eq!(tokens[4].1.len(), 'é'.len_utf8());
    assert!(
        diags[1]
            .help
            .as_deref()
            .unwrap_or("")
            .contains("terminator")
    );
}

#[test]
fn a_byte_order_mark_is_whitespace() {
    assert_eq!(kinds("\u{feff}rule"), vec![Token::Rule]);
    assert!(codes("\u{feff}rule").is_empty());
}

/// `lexer::KEYWORDS` is the one list of reserved words: each lexes as its keyword token.
#[test]
fn keyword_list_matches_the_lexer() {
    for word in cbp_syntax::lexer::KEYWORDS {
        let (tokens, _, diagnostics) = cbp_syntax::lexer::tokenize(word);
        assert!(diagnostics.is_empty(), "{word}");
        assert_eq!(tokens.len(), 1, "{word}");
        assert_eq!(tokens[0].0.keyword(), Some(*word));
    }
}
