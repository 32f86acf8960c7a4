//! Data-driven golden tests: every broken input under `tests/data/*/err/` pins its rendered
//! diagnostics (code, message, span, help) as a snapshot in `tests/snapshots/`; every input
//! under `tests/data/*/ok/`, and the shipped `policies/`, `stdlib/` and `examples/`, check
//! clean. Adding a case is adding a file.

// Test helpers outside #[test] functions: a failed read is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cbp_check::Compiler;
use cbpc::files;
use cbpc::render::{Style, render_human};
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

fn relative(path: &Path) -> String {
    let root = repo_root();
    files::display_name(path.strip_prefix(&root).unwrap_or(path))
}

fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repo_root().join("tests/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}

fn check_one(path: &Path) -> (Compiler, Vec<cbp_syntax::Diagnostic>) {
    let text = std::fs::read_to_string(path).expect("read test input");
    let mut compiler = Compiler::new();
    compiler.set_file(&relative(path), text);
    let diagnostics = compiler.diagnostics();
    (compiler, diagnostics)
}

#[test]
fn broken_inputs_pin_their_diagnostics() {
    snapshot_settings().bind(|| {
        insta::glob!("../../../tests/data", "*/err/*.cbp", |path| {
            let (compiler, diagnostics) = check_one(path);
            assert!(
                !diagnostics.is_empty(),
                "{} should have at least one diagnostic",
                relative(path)
            );
            let rendered: String = diagnostics
                .iter()
                .map(|d| render_human(d, &compiler, Style::Plain))
                .collect();
            insta::assert_snapshot!(rendered);
        });
    });
}

#[test]
fn valid_inputs_check_clean() {
    insta::glob!("../../../tests/data", "*/ok/*.cbp", |path| {
        let (compiler, diagnostics) = check_one(path);
        let rendered: String = diagnostics
            .iter()
            .map(|d| render_human(d, &compiler, Style::Plain))
            .collect();
        assert!(diagnostics.is_empty(), "{}:\n{rendered}", relative(path));
    });
}

/// Loads a whole folder (its files may import each other) and expects no diagnostics.
fn assert_folder_clean(folder: &str) {
    let root = repo_root();
    let paths = files::collect(&[root.join(folder)]).expect("collect");
    let mut sources = files::read_all(&paths).expect("read");
    for source in &mut sources {
        source.name = relative(&source.path);
    }
    let compiler = cbpc::load(&sources);
    let diagnostics = compiler.diagnostics();
    let rendered: String = diagnostics
        .iter()
        .map(|d| render_human(d, &compiler, Style::Plain))
        .collect();
    assert!(diagnostics.is_empty(), "{folder}:\n{rendered}");
}

#[test]
fn shipped_policies_check_clean() {
    assert_folder_clean("policies");
}

#[test]
fn standard_library_checks_clean() {
    assert_folder_clean("stdlib");
    assert!(
        Compiler::new().diagnostics().is_empty(),
        "the embedded stdlib has diagnostics"
    );
}

/// The examples of `docs/language.md` (one file per section; the package examples span two
/// files, so the folder is checked as one workspace).
#[test]
fn language_examples_check_clean() {
    assert_folder_clean("examples");
}

#[test]
fn every_shipped_file_is_formatted() {
    let root = repo_root();
    let folders = ["policies", "stdlib", "examples", "tests/data"].map(|f| root.join(f));
    let paths = files::collect(&folders).expect("collect");
    for source in files::read_all(&paths).expect("read") {
        let name = relative(&source.path);
        // Broken inputs, formatter inputs and editor fixtures (with `$0` cursor markers) are
        // deliberately not in canonical form.
        if name.contains("/err/")
            || name.starts_with("tests/data/format/")
            || name.starts_with("tests/data/lsp/")
        {
            continue;
        }
        match cbp_syntax::format::format_source(&name, &source.text) {
            Ok(formatted) => assert_eq!(formatted, source.text, "{name} is not formatted"),
            Err(diagnostics) => panic!("{name} has syntax errors: {diagnostics:?}"),
        }
    }
}

/// Every `cbp` example in `docs/language.md` stands verbatim in a file that the tests above
/// check (`examples/` or `policies/`), so the reference cannot drift from what compiles.
#[test]
fn language_reference_examples_are_checked_code() {
    let root = repo_root();
    let doc = std::fs::read_to_string(root.join("docs/language.md")).expect("language.md");
    let paths = files::collect(&[root.join("examples"), root.join("policies")]).expect("collect");
    let corpus: Vec<String> = files::read_all(&paths)
        .expect("read")
        .into_iter()
        .map(|f| f.text)
        .collect();
    let mut blocks = 0;
    for block in doc.split("```cbp\n").skip(1) {
        let code = block.split("```").next().unwrap_or("").trim();
        blocks += 1;
        assert!(
            corpus.iter().any(|text| text.contains(code)),
            "this example of docs/language.md is in no checked file:\n{code}"
        );
    }
    assert!(blocks > 0, "no ```cbp examples found in docs/language.md");
}
