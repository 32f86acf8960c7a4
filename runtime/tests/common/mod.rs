//! What several runtime test files share: the repository root and the shipped policies,
//! compiled once per test binary.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // each test binary uses part

use cbp_ir::Program;
use std::path::Path;
use std::sync::{Arc, OnceLock};

pub fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

pub fn policies() -> Arc<Program> {
    static PROGRAM: OnceLock<Arc<Program>> = OnceLock::new();
    PROGRAM
        .get_or_init(|| {
            let mut compiler = cbp_check::Compiler::new();
            let mut sources = Vec::new();
            let mut paths: Vec<_> = std::fs::read_dir(repo().join("policies"))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "cbp"))
                .collect();
            paths.sort();
            for path in paths {
                let name = format!("policies/{}", path.file_name().unwrap().to_string_lossy());
                let text = std::fs::read_to_string(&path).unwrap();
                compiler.set_file(&name, text.clone());
                sources.push((name, text));
            }
            Arc::new(cbp_lower::lower(&compiler.checked_program(), &sources).unwrap())
        })
        .clone()
}
