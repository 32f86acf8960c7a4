//! Property tests: re-spaced sources with extra comments format to the tree of the original,
//! keep every comment in order, and are a fixpoint; random expressions print and re-parse to
//! themselves.

mod format_support;

use cbp_syntax::format::{FormatOptions, format_file};
use cbp_syntax::lexer::{self, Token};
use format_support::{
    CORPUS, cbp_files, imports_in_order, parses_cleanly, plain_comments, tree_key,
};
use proptest::prelude::*;

/// The clean corpus, read once.
fn corpus() -> &'static [(String, String)] {
    static CORPUS_FILES: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    CORPUS_FILES.get_or_init(|| {
        cbp_files(CORPUS)
            .into_iter()
            .filter_map(|path| {
                let source = std::fs::read_to_string(&path).ok()?;
                parses_cleanly(&source).then(|| (path.display().to_string(), source))
            })
            .collect()
    })
}

/// A small deterministic generator, seeded by proptest.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Rewrites every run of whitespace between tokens (keeping the comments in it, each still
/// ending its line) with random spaces and newlines, and drops new `// pN` comments into some
/// of them. Tokens that touch stay touching, and a keyword that can start an item (`action`,
/// `report`…) does not move to the start of a line: inside braces, the parser's recovery
/// reads such a line as a new item (`expect action\nactuate {}` would look like
/// `action actuate {}`). The formatter never starts a line that way.
fn perturb(source: &str, seed: u64) -> String {
    let mut rng = Rng(seed | 1);
    let (tokens, comments, _) = lexer::tokenize(source);
    let mut pieces: Vec<(u32, u32, Option<&Token>)> = tokens
        .iter()
        .map(|(t, s)| (s.start, s.end, Some(t)))
        .collect();
    pieces.extend(comments.iter().map(|c| (c.span.start, c.span.end, None)));
    pieces.sort_by_key(|p| (p.0, p.1));
    let mut out = String::new();
    let mut previous: Option<(u32, bool)> = None;
    let mut added = 0;
    for (start, end, token) in pieces {
        if let Some((prev_end, prev_comment)) = previous {
            let gap = source.get(prev_end as usize..start as usize).unwrap_or("");
            let stay_on_line = !gap.contains('\n') && token.is_some_and(can_start_item);
            if prev_comment {
                out.push('\n');
            } else if stay_on_line {
                out.push_str(if rng.below(2) == 0 { " " } else { "   " });
            } else if !gap.is_empty() {
                out.push_str(match rng.below(6) {
                    0 => "\n",
                    1 => "\n\n\n",
                    2 => "   ",
                    3 => "\n      ",
                    _ => " ",
                });
            }
            if !gap.is_empty() && !stay_on_line && rng.below(8) == 0 {
                out.push_str(&format!("// p{added}\n"));
                added += 1;
            }
        }
        out.push_str(source.get(start as usize..end as usize).unwrap_or(""));
        previous = Some((end, token.is_none()));
    }
    out.push('\n');
    out
}

fn can_start_item(token: &Token) -> bool {
    use Token::*;
    matches!(
        token,
        Rule | Report
            | Record
            | Event
            | Incident
            | Directive
            | Authority
            | System
            | Action
            | Enum
            | Ordered
            | Extern
            | Const
            | Fn
            | Test
            | Plugin
    )
}

/// Formats with `options`, or `None` when the source has syntax errors.
fn format_with(source: &str, options: &FormatOptions) -> Option<String> {
    let parsed = cbp_syntax::parse("input.cbp", source);
    if parsed.diagnostics.iter().any(|d| d.is_error()) {
        return None;
    }
    Some(format_file(&parsed.file, &parsed.comments, source, options))
}

/// `input` (a variant of `original`) formats to the tree of `original`, with the comments
/// of `input` in order, and to a fixpoint.
fn check(
    name: &str,
    original: &str,
    input: &str,
    options: &FormatOptions,
) -> Result<(), TestCaseError> {
    prop_assert!(
        parses_cleanly(input),
        "{}: the perturbed input does not parse:\n{}",
        name,
        input
    );
    let formatted = format_with(input, options).unwrap_or_default();
    prop_assert!(
        parses_cleanly(&formatted),
        "{}: output does not parse:\n{}",
        name,
        formatted
    );
    prop_assert_eq!(
        tree_key(original),
        tree_key(&formatted),
        "{}: tree changed:\n{}",
        name,
        formatted
    );
    let (mut before, mut after) = (plain_comments(input), plain_comments(&formatted));
    if !imports_in_order(input) {
        before.sort();
        after.sort();
    }
    prop_assert_eq!(before, after, "{}: comments changed:\n{}", name, formatted);
    let again = format_with(&formatted, options).unwrap_or_default();
    prop_assert_eq!(
        &formatted,
        &again,
        "{}: not a fixpoint; input:\n{}",
        name,
        input
    );
    Ok(())
}

/// 96 cases, or `PROPTEST_CASES` for a longer run.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(96)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn respaced_files_format_faithfully(index in any::<usize>(), seed in any::<u64>(), width in 16usize..140) {
        let files = corpus();
        prop_assume!(!files.is_empty());
        let (name, source) = &files[index % files.len()];
        let input = perturb(source, seed);
        check(name, source, &input, &FormatOptions::default())?;
        check(name, source, &input, &FormatOptions { max_width: width, indent: 4 })?;
    }

    /// `format_file` on a broken tree (a token cut out of a file) never panics and keeps
    /// every comment.
    #[test]
    fn broken_trees_format_without_panicking(index in any::<usize>(), cut in any::<usize>()) {
        let files = corpus();
        prop_assume!(!files.is_empty());
        let (_, source) = &files[index % files.len()];
        let (tokens, _, _) = lexer::tokenize(source);
        prop_assume!(!tokens.is_empty());
        let span = tokens[cut % tokens.len()].1;
        let broken = format!("{}{}", &source[..span.start as usize], &source[span.end as usize..]);
        let parsed = cbp_syntax::parse("broken.cbp", &broken);
        let formatted =
            format_file(&parsed.file, &parsed.comments, &broken, &FormatOptions::default());
        let mut before = plain_comments(&broken);
        let mut after: Vec<String> = plain_comments(&formatted);
        before.sort();
        after.sort();
        // Error nodes are printed from their source text, which may hold comments too.
        for comment in &before {
            prop_assert!(after.contains(comment), "lost {}:\n{}", comment, formatted);
        }
    }

    #[test]
    fn random_expressions_round_trip(expr in expr_text(4), seed in any::<u64>(), width in 20usize..100) {
        let source = format!("const X = {expr}\nrule r at local {{\n    when {expr}\n}}\n");
        prop_assume!(parses_cleanly(&source));
        check("expr", &source, &source, &FormatOptions::default())?;
        let narrow = FormatOptions { max_width: width, indent: 2 };
        check("expr, narrow", &source, &source, &narrow)?;
        let respaced = perturb(&source, seed);
        check("expr, respaced", &source, &respaced, &narrow)?;
    }
}

/// Random expression text, parenthesised where precedence needs it (the generator builds
/// the text from a random tree, wrapping every compound operand in parentheses or not at
/// random; texts that do not parse, such as chained comparisons, are skipped).
fn expr_text(depth: u32) -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        Just("1".to_owned()),
        Just("1_000".to_owned()),
        Just("2.50".to_owned()),
        Just("1e3".to_owned()),
        Just("30m".to_owned()),
        Just("1.5km".to_owned()),
        Just("\"a\\tb\"".to_owned()),
        Just("true".to_owned()),
        Just("v.speed".to_owned()),
        Just("zone".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
    ];
    leaf.prop_recursive(depth, 48, 4, |inner| {
        let op = prop_oneof![
            Just("and"),
            Just("or"),
            Just("=="),
            Just("<"),
            Just("in"),
            Just("??"),
            Just("+"),
            Just("-"),
            Just("*"),
            Just("%"),
        ];
        prop_oneof![
            (
                inner.clone(),
                op,
                inner.clone(),
                any::<bool>(),
                any::<bool>()
            )
                .prop_map(|(l, op, r, pl, pr)| {
                    let l = if pl { format!("({l})") } else { l };
                    let r = if pr { format!("({r})") } else { r };
                    format!("{l} {op} {r}")
                }),
            inner.clone().prop_map(|e| format!("not ({e})")),
            inner.clone().prop_map(|e| format!("-({e})")),
            prop::collection::vec(inner.clone(), 0..5).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec(inner.clone(), 1..4).prop_map(|v| {
                let fields: Vec<String> = v
                    .iter()
                    .enumerate()
                    .map(|(i, e)| format!("f{i}: {e}"))
                    .collect();
                format!("{{ {} }}", fields.join(", "))
            }),
            prop::collection::vec(inner.clone(), 0..3)
                .prop_map(|v| format!("max({})", v.join(", "))),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(c, a, b)| format!("(if {c} then {a} else {b})")),
            (inner.clone(), inner.clone())
                .prop_map(|(s, b)| format!("(match {s} {{ low => {b}, 2 => 1, _ => 0 }})")),
        ]
    })
    .boxed()
}
