//! The standard library checks clean.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use cbp_check::Compiler;

#[test]
fn stdlib_checks_clean() {
    let c = Compiler::new();
    let ds = c.diagnostics();
    for d in &ds {
        eprintln!(
            "{} {} {:?} {}",
            d.code, d.primary.file, d.primary.span, d.message
        );
    }
    assert!(ds.is_empty(), "{} diagnostics in std", ds.len());
}
