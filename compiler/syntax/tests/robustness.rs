//! Properties over arbitrary input: the lexer and parser never panic, tokens tile the source,
//! node spans nest, and diagnostics point into the text.
#![allow(clippy::unwrap_used)] // test helpers may panic

mod common;

use cbp_syntax::lexer::tokenize;
use cbp_syntax::parse;
use common::span_violations;
use proptest::prelude::*;

/// Tokens, comments and whitespace cover the source exactly, in order, without overlap.
fn check_tiling(src: &str) -> Result<(), String> {
    let (tokens, comments, diags) = tokenize(src);
    let mut spans: Vec<(u32, u32)> = tokens.iter().map(|(_, s)| (s.start, s.end)).collect();
    for w in tokens.windows(2) {
        if w[0].1.end > w[1].1.start {
            return Err(format!(
                "tokens out of order or overlapping: {:?} {:?}",
                w[0], w[1]
            ));
        }
    }
    spans.extend(comments.iter().map(|c| (c.span.start, c.span.end)));
    spans.sort_unstable();
    let mut at = 0usize;
    for (start, end) in spans {
        let (start, end) = (start as usize, end as usize);
        if start < at {
            return Err(format!("overlap at {start}"));
        }
        if end <= start {
            return Err(format!("empty token at {start}"));
        }
        let gap = src
            .get(at..start)
            .ok_or_else(|| format!("not a char boundary: {at}..{start}"))?;
        if !gap
            .chars()
            .all(|c| matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{c}' | '\u{feff}'))
        {
            return Err(format!("uncovered text {gap:?} at {at}"));
        }
        at = end;
    }
    let rest = src.get(at..).ok_or("end not on a char boundary")?;
    if !rest
        .chars()
        .all(|c| matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{c}' | '\u{feff}'))
    {
        return Err(format!("uncovered tail {rest:?}"));
    }
    for d in &diags {
        if src.get(d.primary.span.range()).is_none() {
            return Err(format!(
                "lexer diagnostic span {:?} not in the source",
                d.primary.span
            ));
        }
    }
    Ok(())
}

fn check_parse(src: &str) -> Result<(), String> {
    let parsed = parse("p.cbp", src);
    let problems = span_violations(&parsed.file, src.len());
    if !problems.is_empty() {
        return Err(format!("{problems:?}"));
    }
    for d in &parsed.diagnostics {
        let spans = std::iter::once(d.primary.span).chain(d.secondary.iter().map(|l| l.span));
        for span in spans {
            if src.get(span.range()).is_none() {
                return Err(format!("{} span {span:?} not in the source", d.code));
            }
        }
        if !d.code.starts_with("E00") {
            return Err(format!("code {} outside the syntax range", d.code));
        }
    }
    Ok(())
}

/// Pieces of `.cbp` text besides the keywords: names, literals, punctuation, comments, and a
/// few broken ones.
const OTHER_PIECES: &[&str] = &[
    "x",
    "v",
    "approve",
    "reject",
    "list",
    "map",
    "decision",
    "_",
    "42",
    "1_000",
    "0.85",
    "1.5e3",
    "30s",
    "5min",
    "1.5km",
    "30m",
    "5kmh",
    "\"s\"",
    "\"a\\qb\"",
    "\"open",
    "@pii",
    "@unit",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    ".",
    "..",
    "?",
    "??",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "->",
    "=>",
    "// c\n",
    "/// d\n",
    "\n",
    "$",
    "'q'",
    "99999999999999999999",
];

/// Every kind of token: the lexer's keywords and the other pieces.
fn pieces() -> Vec<&'static str> {
    cbp_syntax::lexer::KEYWORDS
        .iter()
        .chain(OTHER_PIECES)
        .copied()
        .collect()
}

fn soup() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(pieces()), 0..120)
        .prop_map(|pieces| pieces.join(" "))
}

/// A valid file with a few random edits: text deleted, or a random piece inserted.
fn mutated() -> impl Strategy<Value = String> {
    let base = BASE.to_owned();
    let len = base.len();
    proptest::collection::vec(
        (
            0..len,
            0..12usize,
            proptest::sample::select(pieces()),
            any::<bool>(),
        ),
        1..4,
    )
    .prop_map(move |edits| {
        let mut s = base.clone();
        for (at, n, piece, delete) in edits {
            let at = floor_boundary(&s, at.min(s.len()));
            if delete {
                let end = floor_boundary(&s, (at + n).min(s.len()));
                s.replace_range(at..end, "");
            } else {
                s.insert_str(at, piece);
            }
        }
        s
    })
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

const BASE: &str = r#"/// Docs.
package city.t
import std.{tokenize}
ordered enum Severity { low, medium, high }
record R { @pii plate: string  speed: int? in 0..300  tags: list<string> }
event e { r: R }
plugin "p-v1" as p { name: "n", vendor: "v", version: "1.0.0", emits: [e] }
authority officer { level: L1 approves: [fine] }
const C: int = 1 + 2 * 3
fn f(a: int) -> int = if a > 1 then a else match a { 0 => 1, _ => 2 }
rule r at local {
  on v: e from p
  let s = v.r.speed ?? 0
  when s > C and v.r.plate in ["a", "b"]
  correlate k: e over last 5min within 500m where k.r.speed ?? 0 > 3 at least 2
  approval by officer within 30min else approve
  then { notify officer { priority: high } }
  on approve { fine officer { amount: 1 } }
  if no response within 20min { escalate x to district { t: tokenize(v.r.plate) } }
}
report rep at local every 15min to district { n: total_events() }
test "t" { send e at 5s { r: { plate: "x", speed: 3, tags: [] } } advance 1h expect no 2 decision r { trigger: "e1" } }
"#;

/// The tokens of `src` (comments dropped) separated by the whitespace `layout` picks for each
/// gap (cycling through it), or `None` when re-spacing would change the tokens: an
/// unterminated string runs to the end of its line.
fn relayout(src: &str, layout: &[&str]) -> Option<String> {
    let (tokens, _, diagnostics) = tokenize(src);
    if diagnostics.iter().any(|d| d.code == "E0003") || layout.is_empty() {
        return None;
    }
    let mut out = String::new();
    for (i, (_, span)) in tokens.iter().enumerate() {
        if i > 0 {
            out.push_str(layout[i % layout.len()]);
        }
        out.push_str(&src[span.range()]);
    }
    Some(out)
}

/// The tree and the diagnostics of `src`, without positions: what must not depend on layout.
fn shape(src: &str) -> (String, Vec<String>) {
    let parsed = parse("w.cbp", src);
    let mut tree = format!("{:?}", parsed.file);
    let mut erased = String::with_capacity(tree.len());
    // `Span { start: 1, end: 2 }` → `_`
    while let Some(at) = tree.find("Span { start: ") {
        erased.push_str(&tree[..at]);
        erased.push('_');
        let rest = &tree[at..];
        let close = rest.find('}').unwrap();
        tree = rest[close + 1..].to_owned();
    }
    erased.push_str(&tree);
    let diagnostics = parsed
        .diagnostics
        .iter()
        .map(|d| format!("{} {}", d.code, d.message))
        .collect();
    (erased, diagnostics)
}

/// Whitespace, line breaks included, is insignificant (docs/grammar.md): however the tokens of
/// a file are laid out, valid or not, it parses to the same tree with the same diagnostics.
fn check_layout_independent(src: &str, layout: &[&str]) -> Result<(), String> {
    let (Some(flat), Some(laid_out)) = (relayout(src, &[" "]), relayout(src, layout)) else {
        return Ok(());
    };
    let (a, b) = (shape(&flat), shape(&laid_out));
    if a.1 != b.1 {
        return Err(format!(
            "diagnostics differ:\n{flat}\n{:?}\n---\n{laid_out}\n{:?}",
            a.1, b.1
        ));
    }
    if a.0 != b.0 {
        return Err(format!("trees differ:\n{flat}\n---\n{laid_out}"));
    }
    Ok(())
}

const LAYOUTS: &[&str] = &[" ", "\n", "\n    ", "  ", "\n\n", "\t"];

fn layout() -> impl Strategy<Value = Vec<&'static str>> {
    proptest::collection::vec(proptest::sample::select(LAYOUTS), 1..12)
}

proptest! {
    // 256 cases by default; set PROPTEST_CASES for a longer run.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let src = String::from_utf8_lossy(&bytes).into_owned();
        check_tiling(&src).map_err(TestCaseError::fail)?;
        check_parse(&src).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn random_ascii_never_panics(src in "[ -~\n]{0,300}") {
        check_tiling(&src).map_err(TestCaseError::fail)?;
        check_parse(&src).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn token_soups_never_panic(src in soup()) {
        check_tiling(&src).map_err(TestCaseError::fail)?;
        check_parse(&src).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn edited_files_recover(src in mutated()) {
        check_tiling(&src).map_err(TestCaseError::fail)?;
        check_parse(&src).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn layout_does_not_matter(src in mutated(), layout in layout()) {
        check_layout_independent(&src, &layout).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn layout_does_not_matter_in_soups(src in soup(), layout in layout()) {
        check_layout_independent(&src, &layout).map_err(TestCaseError::fail)?;
    }
}

#[test]
fn layout_does_not_matter_in_the_fixtures() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data");
    let layouts: [&[&str]; 4] = [&["\n"], &["\n    "], &[" ", "\n"], &["\n", " ", " "]];
    for kind in ["parse/ok", "parse/err", "check/ok", "check/err"] {
        let Ok(entries) = std::fs::read_dir(dir.join(kind)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "cbp") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for layout in layouts {
                check_layout_independent(&text, layout)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            }
        }
    }
}

/// Regression: an item-shaped test step (`expect action notify { … }`) split over lines.
#[test]
fn item_shaped_steps_parse_on_any_layout() {
    for src in [
        "test \"t\" { expect action actuate { x: 1 } }",
        "test \"t\" {\n    expect action\n    actuate { x: 1 }\n}",
        "test \"t\" {\n    expect\n    action actuate { x: 1 }\n}",
        "test \"t\" {\n    expect no 2\n    action\n    actuate {\n        x: 1\n    }\n}",
    ] {
        let parsed = parse("t.cbp", src);
        assert!(
            parsed.diagnostics.is_empty(),
            "{src}: {:#?}",
            parsed.diagnostics
        );
        check_layout_independent(src, &["\n"]).unwrap();
    }
}

/// Regression: a missing `}` is found before the next item wherever that item starts, and a
/// number before it (`[1, 2, 3` then `rule …`) is not taken for `expect 3 action …`.
#[test]
fn unclosed_braces_close_before_an_item_on_any_layout() {
    for src in [
        "record A { x: int record B { y: int }",
        "record A { x: int\nrecord B { y: int }",
        "const XS = [1, 2, 3 rule r at local { on p: ping }",
        "const XS = [1, 2, 3\nrule r at local { on p: ping }",
        "record A { x: int @open action log {}",
        "record A { x: int\n@doc(\"a\", 2) @open\naction log {}",
    ] {
        let parsed = parse("t.cbp", src);
        let codes: Vec<&str> = parsed.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["E0015"], "{src}");
        assert_eq!(parsed.file.items.len(), 2, "{src}");
    }
}

#[test]
fn the_base_file_is_valid() {
    let parsed = parse("b.cbp", BASE);
    assert!(parsed.diagnostics.is_empty(), "{:#?}", parsed.diagnostics);
    check_tiling(BASE).unwrap();
}

#[test]
fn tiling_of_the_fixtures() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/parse");
    for kind in ["ok", "err"] {
        for entry in std::fs::read_dir(dir.join(kind)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            check_tiling(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
}

#[test]
fn edge_cases() {
    for src in [
        "",
        "\n",
        "}",
        "{",
        "((((",
        "]]]]",
        "\"",
        "\\",
        "///",
        "@",
        "1.",
        ".5",
        "1e",
        "0x10",
        "\u{feff}rule",
        "é",
        "\r\n",
    ] {
        check_tiling(src).unwrap_or_else(|e| panic!("{src:?}: {e}"));
        check_parse(src).unwrap_or_else(|e| panic!("{src:?}: {e}"));
    }
}

/// Every prefix of a valid file parses without panicking (the common state while typing).
#[test]
fn every_prefix_parses() {
    for end in (0..BASE.len()).filter(|&i| BASE.is_char_boundary(i)) {
        let src = &BASE[..end];
        check_parse(src).unwrap_or_else(|e| panic!("prefix {end}: {e}"));
    }
}

/// Pathological nesting and error floods finish quickly: error recovery scans the parser's
/// stack, so the stack must stay shallow whatever the input.
#[test]
fn adversarial_inputs_finish_quickly() {
    let cases = [
        format!("const X = {} }}", "-".repeat(50_000)),
        format!("const X = {}{}", "(".repeat(50_000), "}".repeat(2_000)),
        format!("const X = {}}} }} }}", "if a then ".repeat(20_000)),
        format!(
            "const X = if a then 1 {} }}",
            "else if a then 1 ".repeat(20_000)
        ),
        format!(
            "const X = {}{}",
            "{a: ".repeat(50_000),
            "} ] ) ".repeat(100)
        ),
        format!(
            "const X = {}{}",
            "match x { a => ".repeat(20_000),
            ") ".repeat(1_000)
        ),
        format!("rule r at local {{ when {} ) ) ) }}", "not ".repeat(50_000)),
        format!("const X = a{} )", ".b".repeat(50_000)),
        format!(
            "rule r at local {{ {} }}",
            "x y ( { [ ] } ) , ".repeat(5_000)
        ),
        "rule r at local { when ".repeat(10_000),
        format!("const X = {}1", "a < ".repeat(20_000)),
        "const X = f(".repeat(20_000),
        format!("const X = {}}}", "[1, ".repeat(50_000)),
        format!("record R {{ {} }}", "x: list<".repeat(20_000)),
        format!("record R {{ {} }}", "@a(".repeat(50_000)),
        format!("record R {{ {} }}", "@a ".repeat(100_000)),
        format!("const X: int{} = 1", " ?".repeat(50_000)),
    ];
    // Each of these once took minutes to recover from; now each finishes (a hang would stall
    // the suite, so the speed itself is measured in benches, not asserted here).
    for src in &cases {
        let parsed = parse("a.cbp", src);
        assert!(!parsed.diagnostics.is_empty());
        check_parse(src).unwrap();
    }
}
