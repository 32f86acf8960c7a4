//! The files under tests/data/check: every `ok/` file checks clean; every `err/` file yields
//! the code named on its first line (`// expect: E0203 …`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use cbp_check::Compiler;
use std::path::PathBuf;

fn data_dir(kind: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/check")
        .join(kind)
}

fn files(kind: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(data_dir(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cbp"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn render(c: &Compiler) -> String {
    c.diagnostics()
        .iter()
        .map(|d| {
            let src = c.source(&d.primary.file).unwrap_or_default();
            let (l, col) = cbp_syntax::line_col(&src, d.primary.span.start);
            format!(
                "{}:{l}:{col} {} {} [{}]",
                d.primary.file,
                d.code,
                d.message,
                d.help.clone().unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn ok_files_check_clean() {
    let oks = files("ok");
    assert!(oks.len() >= 10, "only {} ok files", oks.len());
    let mut failures = Vec::new();
    for (name, text) in &oks {
        let mut c = Compiler::new();
        c.set_file(name, text.clone());
        let ds = c.diagnostics();
        if !ds.is_empty() {
            failures.push(format!("{name}:\n{}", render(&c)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn ok_files_check_clean_together() {
    let mut c = Compiler::new();
    for (name, text) in files("ok") {
        c.set_file(&name, text);
    }
    let ds = c.diagnostics();
    assert!(ds.is_empty(), "{}", render(&c));
}

#[test]
fn err_files_yield_their_code() {
    let errs = files("err");
    assert!(errs.len() >= 40, "only {} err files", errs.len());
    let mut failures = Vec::new();
    for (name, text) in &errs {
        let first = text.lines().next().unwrap_or("");
        let code = first
            .split("expect:")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("{name}: first line must say `// expect: CODE`"));
        let mut c = Compiler::new();
        c.set_file(name, text.clone());
        let ds = c.diagnostics();
        if !ds.iter().any(|d| d.code == code) {
            failures.push(format!("{name}: expected {code}, got:\n{}", render(&c)));
        }
        // Besides the expected code, no unrelated errors (warnings are fine).
        let others: Vec<_> = ds
            .iter()
            .filter(|d| d.is_error() && d.code != code)
            .collect();
        if !others.is_empty() {
            failures.push(format!(
                "{name}: unexpected diagnostics besides {code}:\n{}",
                render(&c)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `CBP_DUMP=path cargo test -p cbp-check --test data dump -- --nocapture` prints each file's
/// diagnostics, checked alone (a debugging aid; paths separated by commas).
#[test]
fn dump() {
    let Ok(path) = std::env::var("CBP_DUMP") else {
        return;
    };
    let together = std::env::var("CBP_TOGETHER").is_ok();
    let mut c = Compiler::new();
    for p in path.split(',') {
        if !together {
            c = Compiler::new();
        }
        let name = if together {
            p
        } else {
            p.rsplit('/').next().unwrap_or(p)
        };
        c.set_file(name, std::fs::read_to_string(p).unwrap());
        if !together {
            println!("{}", render(&c));
        }
    }
    if together {
        println!("{}", render(&c));
    }
}

/// The repository's policies and language examples use std by exactly these names.
#[test]
fn repository_policies_check_clean() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut c = Compiler::new();
    for dir in ["policies", "examples/language"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "cbp") {
                let name = format!("{dir}/{}", p.file_name().unwrap().to_string_lossy());
                c.set_file(&name, std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    let errors: Vec<_> = c
        .diagnostics()
        .into_iter()
        .filter(|d| d.is_error())
        .collect();
    assert!(errors.is_empty(), "{}", render(&c));
}
