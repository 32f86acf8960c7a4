//! Snapshots of tokens, trees and diagnostics for small inputs (`tests/snapshots/`).

use cbp_syntax::lexer::tokenize;
use cbp_syntax::parse;
use std::fmt::Write;

fn token_listing(src: &str) -> String {
    let (tokens, comments, diags) = tokenize(src);
    let mut out = String::new();
    for (token, span) in tokens {
        let _ = writeln!(
            out,
            "{:>3}..{:<3} {:<24} {:?}",
            span.start,
            span.end,
            format!("{token:?}"),
            &src[span.range()]
        );
    }
    for c in comments {
        let _ = writeln!(out, "comment {:?} doc={}", c.text, c.is_doc);
    }
    for d in diags {
        let _ = writeln!(
            out,
            "{} {:?}: {}",
            d.code,
            d.primary.span.range(),
            d.message
        );
    }
    out
}

fn diagnostic_listing(src: &str) -> String {
    let parsed = parse("s.cbp", src);
    let mut out = String::new();
    for d in parsed.diagnostics {
        let _ = writeln!(
            out,
            "{} {:?} {:?}: {}",
            d.code,
            d.primary.span.range(),
            &src[d.primary.span.range()],
            d.message
        );
        if !d.primary.message.is_empty() {
            let _ = writeln!(out, "    label: {}", d.primary.message);
        }
        for s in d.secondary {
            let _ = writeln!(out, "    also {:?}: {}", s.span.range(), s.message);
        }
        if let Some(help) = d.help {
            let _ = writeln!(out, "    help: {help}");
        }
    }
    out
}

#[test]
fn tokens_of_a_rule() {
    insta::assert_snapshot!(token_listing(
        "/// Doc.\nrule r at local { // c\n  when v.speed_kmh ?? 0 > 60 and v.zone in [\"a\\n\"]\n  correlate j: e over last 5m within 1.5km at least 2\n}\n"
    ));
}

#[test]
fn tokens_of_broken_literals() {
    insta::assert_snapshot!(token_listing(
        "5kmh 99999999999999999999 \"a\\qb\" \"open\n$ 'x' @pii 1e3 0..1"
    ));
}

#[test]
fn tree_of_a_small_rule() {
    let parsed = parse(
        "s.cbp",
        "/// Fines.\n@strict rule r at local {\n  on v: e from p\n  when -v.x >= 1 ?? 2\n  then { fine v.plate { amount: 1 } }\n}\n",
    );
    assert!(parsed.diagnostics.is_empty());
    insta::assert_debug_snapshot!(parsed.file);
}

#[test]
fn tree_with_error_nodes() {
    let parsed = parse(
        "s.cbp",
        "rule r at local {\n  on v: e\n  when > 3\n  bogus clause\n  then { log { x } log db }\n}\n",
    );
    insta::assert_debug_snapshot!(parsed.file);
}

#[test]
fn diagnostics_of_common_mistakes() {
    insta::assert_snapshot!(diagnostic_listing(
        r#"record A { x int }
rule r at local {
  on v: e
  when v.a = 1
  when 1 < v.b < 3
  approval by officer within 5min else
  on approve { fine x }
  on escalate { log x }
}
record B {
  y: set<int>
const C = 1 &&& 2
test "t" { expect decisions r }
/// dangling
"#
    ));
}
