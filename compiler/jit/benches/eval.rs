//! The speeding condition — `v.violation_type == speeding and v.severity >= medium and
//! v.confidence > 0.85` — over a batch of rows: JIT-compiled, through the engine-facing
//! evaluator, by the reference interpreter, and as a hand-written Rust closure (the floor).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use cbp_ir::{Row, Value};
use cbp_jit::{Jit, JitEvaluator};
use cbp_runtime::eval::{Evaluator, Interpreter};
use cbp_runtime::intern::Interner;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

mod common;

use common::*;

fn bench(c: &mut Criterion) {
    let (program, cond) = speeding_program();
    let mut interner = Interner::new();
    // as the engine does at start: every literal first
    interner.intern("speeding");
    let rows = rows(&mut interner);
    let speeding_id = interner.lookup("speeding").unwrap_or(u64::MAX);
    let places = BTreeMap::new();
    let context = |row| {
        Env {
            program: &program,
            interner: &interner,
            places: &places,
        }
        .context(row)
    };

    let jit = Jit::compile(&program, &mut |s| interner.lookup(s).unwrap_or(u64::MAX)).expect("jit");
    let compiled = jit.condition(cond).expect("compiled");
    let mut interpreter = Interpreter::new(&program);
    let mut evaluator = JitEvaluator::new(&program);

    // All four agree before they race.
    for row in &rows {
        let expected = interpreter.eval(&context(row), cond) == Value::Bool(true);
        assert_eq!(compiled.eval(row, None) == Some(true), expected);
        assert_eq!(evaluator.eval_bool(&context(row), cond), expected);
    }

    let hand_written = |row: &Row| speeding_by_hand(row, speeding_id);
    for row in &rows {
        assert_eq!(hand_written(row), compiled.eval(row, None) == Some(true));
    }

    // The same code as a function the optimiser cannot inline (its pointer goes through
    // `black_box`): what a hand-written rule costs when it is called, not inlined, as a rule
    // chosen at run time is.
    let called: fn(&Row, u64) -> bool = black_box(speeding_by_hand);
    for row in &rows {
        assert_eq!(called(row, speeding_id), hand_written(row));
    }

    let mut group = c.benchmark_group("speeding");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("jit", |b| {
        b.iter(|| {
            rows.iter()
                .filter(|row| compiled.eval(black_box(row), None) == Some(true))
                .count()
        })
    });
    group.bench_function("jit_evaluator", |b| {
        b.iter(|| {
            rows.iter()
                .filter(|row| evaluator.eval_bool(&context(black_box(row)), cond))
                .count()
        })
    });
    group.bench_function("interpreter", |b| {
        b.iter(|| {
            rows.iter()
                .filter(|row| interpreter.eval_bool(&context(black_box(row)), cond))
                .count()
        })
    });
    group.bench_function("hand_written", |b| {
        b.iter(|| {
            rows.iter()
                .filter(|row| hand_written(black_box(row)))
                .count()
        })
    });
    group.finish();

    // The JIT against the closure, paired: rounds alternate between the two and each keeps
    // its fastest round, so another process taking the core now and then (this machine's
    // cores are shared) does not decide the ratio the way it can between two criterion runs
    // measured seconds apart.
    let jit_row = |row: &Row| compiled.eval(row, None) == Some(true);
    let called_row = |row: &Row| called(row, speeding_id);
    let (mut best_jit, mut best_hand, mut best_called) =
        (f64::INFINITY, f64::INFINITY, f64::INFINITY);
    for _ in 0..ROUNDS {
        best_jit = best_jit.min(round(&rows, jit_row));
        best_hand = best_hand.min(round(&rows, hand_written));
        best_called = best_called.min(round(&rows, called_row));
    }
    eprintln!(
        "speeding/paired: fastest of {ROUNDS} alternating rounds: jit {best_jit:.2} ns/row, \
         hand_written {best_hand:.2} ns/row, jit / hand_written = {:.2}; \
         hand_written called (not inlined) {best_called:.2} ns/row, jit / called = {:.2}",
        best_jit / best_hand,
        best_jit / best_called
    );
}

/// One round of the paired measurement: nanoseconds per row of `REPEAT` passes over `rows`
/// (generic, so each condition is called as directly as in its criterion benchmark).
fn round(rows: &[Arc<Row>], f: impl Fn(&Row) -> bool) -> f64 {
    let started = Instant::now();
    let mut hits = 0;
    for _ in 0..REPEAT {
        hits += rows.iter().filter(|row| f(black_box(row))).count();
    }
    black_box(hits);
    started.elapsed().as_secs_f64() * 1e9 / (REPEAT * ROWS) as f64
}

/// Rounds of the paired measurement, and passes over the rows per round.
const ROUNDS: usize = 300;
const REPEAT: usize = 200;

criterion_group!(benches, bench);
criterion_main!(benches);
