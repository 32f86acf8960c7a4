//! End-to-end tests through the real `cbpc` binary: exit codes, output streams and formats of
//! the contract (`../shared/CONTRACT.md` section 1).

// Test helpers outside #[test] functions: a failed read is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const CLEAN: &str = "package demo

/// How bad it is.
ordered enum Level3 {
    low
    mid
    top
}
";

const BROKEN: &str = "package demo

record Broken {
    name string
}
";

fn cbpc(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cbpc"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run cbpc")
}

fn workspace(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        let path: PathBuf = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write");
    }
    dir
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn check_clean_folder_exits_0() {
    let dir = workspace(&[("p/a.cbp", CLEAN)]);
    let out = cbpc(&["check", "p"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("checked 1 file: no problems"));
}

#[test]
fn check_with_errors_exits_1_and_names_the_place() {
    let dir = workspace(&[("p/a.cbp", CLEAN), ("p/b.cbp", BROKEN)]);
    let out = cbpc(&["check", "p"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("E0001"), "{err}");
    assert!(err.contains("p/b.cbp:4:10"), "file, line and column: {err}");
    assert!(err.contains("name string"), "the source line: {err}");
}

#[test]
fn check_json_prints_one_object_per_diagnostic_on_stdout() {
    let dir = workspace(&[("b.cbp", BROKEN)]);
    let out = cbpc(&["check", "--format", "json", "b.cbp"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let first = stdout.lines().next().expect("a diagnostic");
    let value: serde_json::Value = serde_json::from_str(first).expect("json");
    assert_eq!(value["code"], "E0001");
    assert_eq!(value["file"], "b.cbp");
    assert_eq!(value["line"], 4);
    assert_eq!(value["severity"], "error");
}

#[test]
fn missing_path_is_an_io_error_exit_2() {
    let dir = workspace(&[]);
    let out = cbpc(&["check", "nowhere"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read `nowhere`"));
}

#[test]
fn usage_error_exits_2() {
    let dir = workspace(&[]);
    assert_eq!(cbpc(&["check"], dir.path()).status.code(), Some(2));
    assert_eq!(cbpc(&["frobnicate"], dir.path()).status.code(), Some(2));
}

#[test]
fn fmt_rewrites_then_check_passes() {
    let messy = "package   demo\nordered enum Level3{low,mid , top}\n";
    let dir = workspace(&[("a.cbp", messy)]);
    assert_eq!(
        cbpc(&["fmt", "--check", "a.cbp"], dir.path()).status.code(),
        Some(1)
    );
    assert_eq!(cbpc(&["fmt", "a.cbp"], dir.path()).status.code(), Some(0));
    let formatted = std::fs::read_to_string(dir.path().join("a.cbp")).expect("read");
    assert_ne!(formatted, messy);
    assert_eq!(
        cbpc(&["fmt", "--check", "a.cbp"], dir.path()).status.code(),
        Some(0)
    );
    assert_eq!(cbpc(&["check", "a.cbp"], dir.path()).status.code(), Some(0));
}

#[test]
fn fmt_refuses_broken_files_and_keeps_them() {
    let dir = workspace(&[("b.cbp", BROKEN)]);
    let out = cbpc(&["fmt", "b.cbp"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("b.cbp")).expect("read"),
        BROKEN
    );
}

#[test]
fn fmt_stdin_to_stdout() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cbpc"))
        .args(["fmt", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"package demo\nenum E{a,b}\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "package demo\n\nenum E {\n    a\n    b\n}\n"
    );
}

#[test]
fn binary_garbage_never_panics() {
    let dir = workspace(&[]);
    std::fs::write(dir.path().join("g.cbp"), [0xff, 0xfe, 0x00, 0x41]).expect("write");
    let out = cbpc(&["check", "g.cbp"], dir.path());
    assert_eq!(out.status.code(), Some(2), "not UTF-8 is an input error");
    assert!(stderr(&out).contains("not UTF-8"));
    let soup = "rule { on on : : when when ( [ { } ] ) \"unterminated";
    std::fs::write(dir.path().join("s.cbp"), soup).expect("write");
    let out = cbpc(&["check", "s.cbp"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(!stderr(&out).contains("panicked"));
}
