//! Shared helpers: check files with a fresh compiler and lower them.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use cbp_check::Compiler;
use std::path::{Path, PathBuf};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// Checks `(path, text)` files; panics with the diagnostics when there is an error.
pub fn lower_sources(sources: &[(String, String)]) -> cbp_ir::Program {
    let mut compiler = Compiler::new();
    for (path, text) in sources {
        compiler.set_file(path, text.clone());
    }
    let errors: Vec<String> = compiler
        .diagnostics()
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{}: {} {}", d.primary.file, d.code, d.message))
        .collect();
    assert!(
        errors.is_empty(),
        "policy has errors:\n{}",
        errors.join("\n")
    );
    cbp_lower::lower(&compiler.checked_program(), sources).expect("lower")
}

pub fn lower_text(text: &str) -> cbp_ir::Program {
    lower_sources(&[("test.cbp".to_owned(), text.to_owned())])
}

/// Every `.cbp` file of a folder of the repository, as `(relative path, text)`.
pub fn folder(rel: &str) -> Vec<(String, String)> {
    let root = repo_root();
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(root.join(rel))
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "cbp"))
        .collect();
    entries.sort();
    for p in entries {
        let name = p
            .strip_prefix(&root)
            .expect("inside root")
            .to_string_lossy()
            .replace('\\', "/");
        out.push((name, std::fs::read_to_string(&p).expect("read")));
    }
    out
}
