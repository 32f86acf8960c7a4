//! Shared by the formatter tests: the corpus of `.cbp` files, tree comparison up to spans,
//! and comment comparison.

#![allow(dead_code)]

use cbp_syntax::{ast, lexer, parse};
use std::path::{Path, PathBuf};

/// The repository root: two levels above this crate.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.cbp` file under the given folders of the repository (those that exist), sorted.
pub fn cbp_files(folders: &[&str]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for folder in folders {
        collect(&repo_root().join(folder), &mut files);
    }
    files.sort();
    files
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "cbp") {
            files.push(path);
        }
    }
}

/// The folders whose files must format cleanly.
pub const CORPUS: &[&str] = &["tests/data", "policies", "stdlib", "examples"];

/// The tree of a source, as text, with every span erased and the imports sorted and
/// deduplicated (the formatter sorts them): two sources with equal keys have the same tree up
/// to spans.
pub fn tree_key(source: &str) -> String {
    let mut file = parse("input.cbp", source).file;
    normalise_imports(&mut file);
    erase_spans(&format!("{file:?}"))
}

/// Whether a source parses without errors.
pub fn parses_cleanly(source: &str) -> bool {
    parse("input.cbp", source)
        .diagnostics
        .iter()
        .all(|d| !d.is_error())
}

fn normalise_imports(file: &mut ast::SourceFile) {
    let mut keyed: Vec<(String, ast::Import)> = file
        .imports
        .drain(..)
        .map(|i| (erase_spans(&format!("{i:?}")), i))
        .collect();
    keyed.sort_by_key(|a| import_text(&a.1));
    keyed.dedup_by(|a, b| a.0 == b.0);
    file.imports = keyed.into_iter().map(|(_, i)| i).collect();
}

fn import_text(import: &ast::Import) -> String {
    match &import.names {
        None => format!("import {}", import.path.dotted()),
        Some(names) => {
            let names: Vec<&str> = names.iter().map(|n| n.name.as_str()).collect();
            format!("import {}.{{{}}}", import.path.dotted(), names.join(", "))
        }
    }
}

/// Replaces every `Span { start: N, end: M }` of a `Debug` rendering with `Span`.
pub fn erase_spans(debug: &str) -> String {
    let mut out = String::with_capacity(debug.len());
    let mut rest = debug;
    while let Some(at) = rest.find("Span { start: ") {
        out.push_str(&rest[..at]);
        out.push_str("Span");
        let after = &rest[at..];
        let close = after.find('}').map_or(after.len(), |i| i + 1);
        rest = &after[close..];
    }
    out.push_str(rest);
    out
}

/// The texts of the plain (non-doc) comments, in order, without trailing whitespace.
pub fn plain_comments(source: &str) -> Vec<String> {
    let (_, comments, _) = lexer::tokenize(source);
    comments
        .into_iter()
        .filter(|c| !c.is_doc)
        .map(|c| c.text.trim_end().to_owned())
        .collect()
}

/// Whether the imports of a source are already sorted and free of duplicates (when they are
/// not, the formatter moves comments between imports, so only the set of comments is kept).
pub fn imports_in_order(source: &str) -> bool {
    let file = parse("input.cbp", source).file;
    let texts: Vec<String> = file.imports.iter().map(import_text).collect();
    texts.windows(2).all(|w| w[0] < w[1])
}

/// Checks every property the formatter promises for one input; returns the formatted text.
pub fn check_formatting(name: &str, source: &str) -> String {
    let formatted = match cbp_syntax::format::format_source(name, source) {
        Ok(text) => text,
        Err(errors) => panic!("{name}: the input has syntax errors: {errors:#?}"),
    };
    assert!(
        parses_cleanly(&formatted),
        "{name}: the formatted text has syntax errors: {:#?}\n{formatted}",
        parse(name, &formatted).diagnostics
    );
    let again = cbp_syntax::format::format_source(name, &formatted).unwrap_or_default();
    assert_eq!(formatted, again, "{name}: formatting is not idempotent");
    assert_eq!(
        tree_key(source),
        tree_key(&formatted),
        "{name}: formatting changed the tree"
    );
    let (mut before, mut after) = (plain_comments(source), plain_comments(&formatted));
    if !imports_in_order(source) {
        before.sort();
        after.sort();
    }
    assert_eq!(
        before, after,
        "{name}: formatting lost, changed or reordered comments"
    );
    assert!(formatted.is_empty() || formatted.ends_with('\n') && !formatted.ends_with("\n\n"));
    for line in formatted.lines() {
        assert_eq!(
            line,
            line.trim_end(),
            "{name}: trailing whitespace in `{line}`"
        );
    }
    formatted
}
