//! `cbpc compile` end to end, through the real binary: the bundle is deterministic, a
//! tampered bundle is refused, `cbpc run BUNDLE` writes what `cbpc run SOURCES` writes, and
//! `--emit ir` / `--emit obj` write what they say.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cbpc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cbpc"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("cbpc runs")
}

fn compile_to(dir: &Path, name: &str) -> (PathBuf, Output) {
    let out = dir.join(name);
    let output = cbpc(&["compile", "policies", "-o", out.to_str().unwrap()]);
    (out, output)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_bundle_is_the_same_bytes_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let (first, out1) = compile_to(dir.path(), "a.cbpb");
    let (second, out2) = compile_to(dir.path(), "b.cbpb");
    assert_eq!(out1.status.code(), Some(0), "{}", text(&out1.stderr));
    assert_eq!(out2.status.code(), Some(0), "{}", text(&out2.stderr));
    let a = std::fs::read(first).unwrap();
    let b = std::fs::read(second).unwrap();
    assert!(a.starts_with(br#"{"header":{"magic":"cbp-bundle""#));
    assert_eq!(a, b, "two compilations of the same policies differ");
}

#[test]
fn run_on_the_bundle_writes_what_run_on_the_sources_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, out) = compile_to(dir.path(), "city.cbpb");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for events in ["examples/flood.ndjson", "examples/speeding.ndjson"] {
        let args = ["--events", events, "--until", "2025-12-03T15:00:00Z"];
        let from_sources = cbpc(&[&["run", "policies"][..], &args].concat());
        let from_bundle = cbpc(&[&["run", bundle.to_str().unwrap()][..], &args].concat());
        assert_eq!(from_sources.status.code(), Some(0));
        assert_eq!(
            from_bundle.status.code(),
            Some(0),
            "{}",
            text(&from_bundle.stderr)
        );
        assert!(!from_sources.stdout.is_empty());
        assert_eq!(
            text(&from_bundle.stdout),
            text(&from_sources.stdout),
            "{events}"
        );
    }
}

#[test]
fn a_bundle_without_its_extension_is_still_recognised() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, _) = compile_to(dir.path(), "city.bin");
    let run = cbpc(&[
        "run",
        bundle.to_str().unwrap(),
        "--events",
        "examples/flood.ndjson",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert!(text(&run.stdout).contains(r#""rule":"flood_traffic_coordination""#));
}

#[test]
fn a_tampered_bundle_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, _) = compile_to(dir.path(), "city.cbpb");
    let original = std::fs::read_to_string(&bundle).unwrap();
    // One added byte inside the program.
    let tampered = original.replacen("\"rules\":[", "\"rules\":[ ", 1);
    assert_ne!(tampered, original);
    std::fs::write(&bundle, tampered).unwrap();
    let run = cbpc(&[
        "run",
        bundle.to_str().unwrap(),
        "--events",
        "examples/flood.ndjson",
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        run.stdout.is_empty(),
        "nothing may run from a tampered bundle"
    );
    let stderr = text(&run.stderr);
    assert!(stderr.contains("is refused"), "{stderr}");
    assert!(stderr.contains("content hash mismatch"), "{stderr}");
}

#[test]
fn a_bundle_with_another_magic_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, _) = compile_to(dir.path(), "city.cbpb");
    let original = std::fs::read_to_string(&bundle).unwrap();
    std::fs::write(&bundle, original.replacen("cbp-bundle", "xyz-bundle", 1)).unwrap();
    let run = cbpc(&[
        "run",
        bundle.to_str().unwrap(),
        "--events",
        "examples/flood.ndjson",
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert!(text(&run.stderr).contains("not a policy bundle"));
}

#[test]
fn emit_ir_prints_the_header() {
    let out = cbpc(&["compile", "policies", "--emit", "ir"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("cbp-ir format 2"));
    assert!(lines.next().unwrap().starts_with("source_hash "));
    assert!(stdout.contains("rules 11"), "{stdout}");
}

#[test]
fn emit_obj_writes_an_object_file() {
    let dir = tempfile::tempdir().unwrap();
    let obj = dir.path().join("conditions.o");
    let out = cbpc(&[
        "compile",
        "policies",
        "--emit",
        "obj",
        "-o",
        obj.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let bytes = std::fs::read(obj).unwrap();
    // ELF, Mach-O or COFF, whatever the host is; never empty.
    assert!(bytes.len() > 64);
    if cfg!(target_os = "linux") {
        assert_eq!(&bytes[..4], b"\x7fELF");
    }
}

#[test]
fn exit_codes_are_those_of_check() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.cbp");
    std::fs::write(&bad, "package p\nrule r on nothing_here { then {} }\n").unwrap();
    let out_path = dir.path().join("x.cbpb");
    let broken = cbpc(&[
        "compile",
        bad.to_str().unwrap(),
        "-o",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(broken.status.code(), Some(1), "{}", text(&broken.stderr));
    assert!(
        !out_path.exists(),
        "no bundle is written for a policy with errors"
    );
    assert!(text(&broken.stderr).contains("nothing was written"));

    let missing = cbpc(&["compile", "no/such/dir", "-o", out_path.to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
    let no_output = cbpc(&["compile", "policies"]);
    assert_eq!(no_output.status.code(), Some(2));
    assert!(text(&no_output.stderr).contains("-o FILE"));
}
