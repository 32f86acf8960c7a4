//! Snapshots of the formatter: each `tests/data/format/*.cbp` (badly formatted, comments in
//! awkward places) and its canonical form. Set `INSTA_UPDATE=always` to accept new output.

mod format_support;

use format_support::{check_formatting, repo_root};

#[test]
fn format_snapshots() {
    let dir = repo_root().join("tests/data/format");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/data/format exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "cbp"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 12,
        "expected at least 12 format cases, found {}",
        files.len()
    );
    for path in files {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("case")
            .to_owned();
        let source = std::fs::read_to_string(&path).expect("readable case");
        let formatted = check_formatting(&name, &source);
        insta::with_settings!({ description => format!("tests/data/format/{name}.cbp"), omit_expression => true }, {
            insta::assert_snapshot!(name, formatted);
        });
    }
}

/// The canonical form of a few small inputs, spelled out.
#[test]
fn small_cases() {
    let cases = [
        (
            "record   A{x:int,y:int}",
            "record A {\n    x: int\n    y: int\n}\n",
        ),
        (
            "record A {}\n\n\n\nrecord B {}",
            "record A {}\n\nrecord B {}\n",
        ),
        ("const X = [1,2 ,3,]", "const X = [1, 2, 3]\n"),
        ("const X = ( 1+2 )*3", "const X = (1 + 2) * 3\n"),
        ("const X = 1.50 // price\n", "const X = 1.50 // price\n"),
        ("", ""),
        ("// only a comment", "// only a comment\n"),
        ("enum E { a, b, }", "enum E {\n    a\n    b\n}\n"),
    ];
    for (input, expected) in cases {
        assert_eq!(
            check_formatting("case", input),
            expected,
            "input: {input:?}"
        );
    }
}

#[test]
fn broken_code_is_not_formatted() {
    let result = cbp_syntax::format::format_source("broken.cbp", "record A { x: }");
    assert!(result.is_err());
}

#[test]
fn width_option_breaks_lists() {
    use cbp_syntax::format::{FormatOptions, format_file};
    let source = "const X = [alpha, beta, gamma]";
    let parsed = cbp_syntax::parse("x.cbp", source);
    let narrow = FormatOptions {
        max_width: 20,
        indent: 2,
    };
    assert_eq!(
        format_file(&parsed.file, &parsed.comments, source, &narrow),
        "const X = [\n  alpha,\n  beta,\n  gamma,\n]\n"
    );
}

/// A tree built by a tool has no source text: literals are printed from their values.
#[test]
fn trees_without_source_print_from_values() {
    use cbp_syntax::Span;
    use cbp_syntax::ast::*;
    use cbp_syntax::format::{FormatOptions, format_file};
    let span = Span::default();
    let ident = |name: &str| Ident {
        name: name.to_owned(),
        span,
    };
    let value = Expr::List(
        vec![
            Expr::Float(FloatLit(2.0), span),
            Expr::Float(FloatLit(1e20), span),
            Expr::Quantity(QuantityLit {
                value: FloatLit(30.0),
                unit: "m".to_owned(),
                span,
            }),
            Expr::Str(StringLit {
                value: "a \"b\"\n".to_owned(),
                span,
            }),
            Expr::Unary(UnaryOp::Neg, Box::new(Expr::Int(7, span)), span),
        ],
        span,
    );
    let file = SourceFile {
        package: None,
        imports: Vec::new(),
        items: vec![Item::Const(ConstDecl {
            docs: Docs {
                lines: vec!["Made by a tool.".to_owned()],
                span,
            },
            annotations: Vec::new(),
            name: ident("X"),
            ty: None,
            value,
            span,
        })],
        span,
    };
    let text = format_file(&file, &[], "", &FormatOptions::default());
    assert_eq!(
        text,
        "/// Made by a tool.\nconst X = [2.0, 1.0e20, 30m, \"a \\\"b\\\"\\n\", -7]\n"
    );
    assert!(format_support::parses_cleanly(&text));
    // The text parses back to the same tree.
    let built = format_support::erase_spans(&format!("{file:?}"));
    assert_eq!(format_support::tree_key(&text), built);
}
