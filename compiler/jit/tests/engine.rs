//! The JIT as the engine's evaluator on the repository's policies and event streams: the
//! output records are the interpreter's, byte for byte, and the conditions of the real
//! policies are compiled (`--nocapture` lists those left to the interpreter, and why).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use cbp_check::Compiler;
use cbp_ir::Program;
use cbp_jit::{Jit, JitEvaluator};
use cbp_runtime::{Engine, Evaluator, Interpreter, RunOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cbp_files(dir: &Path) -> Vec<(String, String)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "cbp"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).expect("read"),
            )
        })
        .collect()
}

fn lower(sources: &[(String, String)]) -> Program {
    let mut compiler = Compiler::new();
    for (path, text) in sources {
        compiler.set_file(path, text.clone());
    }
    let errors: Vec<String> = compiler
        .diagnostics()
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{} {}", d.code, d.message))
        .collect();
    assert!(errors.is_empty(), "policy has errors: {errors:?}");
    cbp_lower::lower(&compiler.checked_program(), sources).expect("lower")
}

fn run(program: &Arc<Program>, evaluator: Box<dyn Evaluator>, events: &str) -> Vec<String> {
    let mut engine = Engine::new(program.clone(), evaluator, RunOptions::default());
    let mut out = Vec::new();
    for (n, line) in events.lines().enumerate() {
        engine.push_line(n as u64 + 1, line, &mut |record| {
            out.push(record.to_json_line())
        });
    }
    engine.finish(&mut |record| out.push(record.to_json_line()));
    out
}

/// Runs `events` under both engines; returns how many conditions the JIT compiled.
fn same_records(name: &str, program: Program, events: &str) -> usize {
    let program = Arc::new(program);
    let interpreted = run(&program, Box::new(Interpreter::new(&program)), events);
    let compiled = run(&program, Box::new(JitEvaluator::new(&program)), events);
    assert!(!interpreted.is_empty(), "{name}: no records");
    assert_eq!(
        compiled, interpreted,
        "{name}: the JIT's records differ from the interpreter's"
    );

    let jit = Jit::compile(&program, &mut |_| 0).expect("jit");
    for (node, reason) in jit.skipped() {
        println!("{name}: n{} left to the interpreter: {reason}", node.0);
    }
    let count = jit.compiled().count();
    println!(
        "{name}: {count} conditions compiled, {} not",
        jit.skipped().len()
    );
    count
}

#[test]
fn golden_runs_give_the_interpreters_records() {
    let root = repo().join("tests/data/run");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/data/run")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("policy.cbp").is_file())
        .collect();
    cases.sort();
    let mut compiled = 0;
    for case in &cases {
        let program = lower(&cbp_files(case));
        // one case has a line that is not UTF-8 on purpose; both engines see the same text
        let events =
            String::from_utf8_lossy(&std::fs::read(case.join("events.ndjson")).expect("events"))
                .into_owned();
        compiled += same_records(&case.display().to_string(), program, &events);
    }
    assert!(compiled > 0, "no condition of the golden runs was compiled");
}

#[test]
fn policies_over_the_example_streams_give_the_interpreters_records() {
    let policies = cbp_files(&repo().join("policies"));
    let program = lower(&policies);
    let mut compiled = 0;
    for stream in ["speeding.ndjson", "flood.ndjson", "city-sample.ndjson"] {
        let events = std::fs::read_to_string(repo().join("examples").join(stream)).expect("events");
        compiled = same_records(stream, program.clone(), &events);
    }
    assert!(compiled > 0, "no condition of the policies was compiled");
    // and the same conditions as an object file
    let object = cbp_jit::emit_object(&program).expect("object file");
    let symbols = object
        .windows(b"cbp_cond_".len())
        .filter(|w| *w == b"cbp_cond_")
        .count();
    assert!(
        symbols >= compiled,
        "{symbols} condition symbols for {compiled} conditions"
    );
}
