//! Golden runs: every folder under `tests/data/run/` holds `policy.cbp`, `events.ndjson` and
//! `expected.ndjson` (and optionally `args`, extra arguments for `cbpc run`, one per line).
//! The real `cbpc run` binary must write `expected.ndjson` byte for byte, under both engines,
//! and exit 0. The expectations are computed by hand from `docs/execution.md`; the comments
//! in each `policy.cbp` say what each input line is for.
//!
//! `CBP_BLESS=1 cargo test -p cbpc --test run_golden` rewrites the expected files — review
//! every changed line before keeping it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::path::{Path, PathBuf};
use std::process::Command;

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/run");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/data/run exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("policy.cbp").is_file())
        .collect();
    cases.sort();
    cases
}

fn run_case(case: &Path, engine: &str) -> (String, String, i32) {
    let mut args: Vec<String> = vec![
        "run".into(),
        "policy.cbp".into(),
        "--events".into(),
        "events.ndjson".into(),
        "--engine".into(),
        engine.into(),
    ];
    if let Ok(extra) = std::fs::read_to_string(case.join("args")) {
        args.extend(
            extra
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from),
        );
    }
    let output = Command::new(env!("CARGO_BIN_EXE_cbpc"))
        .args(&args)
        .current_dir(case)
        .output()
        .expect("cbpc runs");
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        output.status.code().unwrap_or(-1),
    )
}

#[test]
fn runs_match_their_expected_records() {
    let cases = cases();
    assert!(
        cases.len() >= 5,
        "expected the golden run cases, found {}",
        cases.len()
    );
    let bless = std::env::var_os("CBP_BLESS").is_some();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        let (stdout, stderr, code) = run_case(case, "interp");
        if code != 0 {
            failures.push(format!("{name}: exit {code}\n{stderr}"));
            continue;
        }
        let expected_path = case.join("expected.ndjson");
        if bless {
            std::fs::write(&expected_path, &stdout).expect("write expected");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if stdout != expected {
            let first = stdout
                .lines()
                .zip(expected.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(stdout.lines().count().min(expected.lines().count()));
            failures.push(format!(
                "{name}: output differs from expected.ndjson at record {}\n   got: {}\nwanted: {}",
                first + 1,
                stdout.lines().nth(first).unwrap_or("<end>"),
                expected.lines().nth(first).unwrap_or("<end>")
            ));
        }
        let (jit_stdout, _, jit_code) = run_case(case, "jit");
        if jit_code != 0 || jit_stdout != stdout {
            failures.push(format!(
                "{name}: `--engine jit` output differs from `--engine interp`"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_line_ends_processed_or_dead_lettered() {
    for case in cases() {
        let (_, stderr, _) = run_case(&case, "interp");
        let data = std::fs::read(case.join("events.ndjson")).expect("events");
        let mut lines = data.split(|b| *b == b'\n').count();
        if data.is_empty() || data.ends_with(b"\n") {
            lines -= 1;
        }
        let summary = stderr
            .lines()
            .find(|l| l.contains(" lines: "))
            .unwrap_or_default()
            .to_string();
        let numbers: Vec<usize> = summary
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .filter_map(|s| s.parse().ok())
            .collect();
        assert_eq!(
            numbers.len(),
            3,
            "{}: summary line `{summary}`",
            case.display()
        );
        assert_eq!(
            numbers[0],
            lines,
            "{}: every line is counted",
            case.display()
        );
        assert_eq!(
            numbers[1] + numbers[2],
            lines,
            "{}: processed + dead-lettered",
            case.display()
        );
    }
}

fn cbpc(dir: &Path, args: &[&str]) -> (String, String, i32) {
    let output = Command::new(env!("CARGO_BIN_EXE_cbpc"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("cbpc runs");
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        output.status.code().unwrap_or(-1),
    )
}

const POLICY: &str = "package t\n\nevent ping {\n    n: int\n}\n\nsystem log_system {\n    layer: local\n    kind: database\n}\n\nrule big_ping at local {\n    on p: ping\n    when p.n > 10\n    then {\n        log log_system { n: p.n }\n    }\n}\n";

const PING: &str = r#"{"event_id":"p-1","model_id":"m","type":"ping","timestamp":"2025-01-01T00:00:00Z","location":{"latitude":0.0,"longitude":0.0},"zone":"a.b.c.d","severity":"low","confidence":1.0,"metadata":{},"payload":{"n":11}}"#;

#[test]
fn run_exit_codes_and_streams() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("p.cbp"), POLICY).expect("write");
    std::fs::write(dir.path().join("e.ndjson"), format!("{PING}\nnot json\n")).expect("write");
    // Bad lines are dead letters, not failures.
    let (stdout, stderr, code) = cbpc(
        dir.path(),
        &["run", "p.cbp", "--events", "e.ndjson", "--engine", "interp"],
    );
    assert_eq!(code, 0, "{stderr}");
    let kinds: Vec<String> = stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json")["kind"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(kinds, vec!["decision", "dead_letter"]);
    assert!(
        stderr.contains("2 lines: 1 processed, 1 dead-lettered"),
        "{stderr}"
    );
    // --out writes the records there instead.
    let (stdout, _, code) = cbpc(
        dir.path(),
        &["run", "p.cbp", "--events", "e.ndjson", "--out", "o.ndjson"],
    );
    assert_eq!((code, stdout.as_str()), (0, ""));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("o.ndjson"))
            .expect("out")
            .lines()
            .count(),
        2
    );
    // A missing events file is an IO error; so is a bad --until.
    let (_, stderr, code) = cbpc(dir.path(), &["run", "p.cbp", "--events", "missing.ndjson"]);
    assert_eq!(code, 2, "{stderr}");
    let (_, _, code) = cbpc(
        dir.path(),
        &[
            "run", "p.cbp", "--events", "e.ndjson", "--until", "tomorrow",
        ],
    );
    assert_eq!(code, 2);
    // A policy with errors runs nothing.
    std::fs::write(
        dir.path().join("bad.cbp"),
        "package t\n\nrule r at local {\n    on p: nothing\n}\n",
    )
    .expect("write");
    let (stdout, _, code) = cbpc(dir.path(), &["run", "bad.cbp", "--events", "e.ndjson"]);
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn test_exit_codes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let passing = format!(
        "{POLICY}\ntest \"a big ping is logged\" {{\n    send ping at 0s {{ n: 11 }}\n    expect 1 decision big_ping\n}}\n"
    );
    std::fs::write(dir.path().join("ok.cbp"), &passing).expect("write");
    let (stdout, _, code) = cbpc(dir.path(), &["test", "ok.cbp"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("test a big ping is logged (ok.cbp) ... ok"),
        "{stdout}"
    );
    let failing = passing.replace("expect 1 decision", "expect 2 decision");
    std::fs::write(dir.path().join("ok.cbp"), failing).expect("write");
    let (stdout, _, code) = cbpc(dir.path(), &["test", "ok.cbp"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("FAILED") && stdout.contains("ok.cbp:"),
        "{stdout}"
    );
}
