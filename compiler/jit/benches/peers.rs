//! Peers: the speeding condition — `violation_type == "speeding" && severity >= medium &&
//! confidence > 0.85` — in Rego (`regorus`, interpreted and compiled policy) and CEL
//! (`cel-interpreter`), next to the Cranelift JIT, the reference interpreter and a
//! hand-written closure, over the same 64 rows as `benches/eval.rs` (sharing its setup,
//! `benches/common`). The peers get the row as their native input value, built before timing; the
//! severity is its rank (`low` 0, `medium` 1, `high` 2, `critical` 3).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use cbp_ir::layout::envelope;
use cbp_ir::{Row, Value};
use cbp_jit::Jit;
use cbp_runtime::eval::{Evaluator, Interpreter};
use cbp_runtime::intern::Interner;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;

mod common;

use common::*;

const REGO: &str = r#"package cbp

import rego.v1

default speeding := false

speeding if {
    input.violation_type == "speeding"
    input.severity >= 1
    input.confidence > 0.85
}
"#;

/// A missing field is undefined in Rego (the rule does not hold); CEL needs `has`.
const CEL: &str = r#"v.violation_type == "speeding" && v.severity >= 1 && has(v.confidence) && v.confidence > 0.85"#;

/// The row as JSON: absent fields left out, the severity as its rank.
fn json(row: &Row, interner: &Interner) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    if row.is_present(VIOLATION_TYPE) {
        let text = interner.resolve(row.get(VIOLATION_TYPE));
        object.insert("violation_type".into(), text.to_string().into());
    }
    if row.is_present(envelope::SEVERITY) {
        object.insert("severity".into(), row.get(envelope::SEVERITY).into());
    }
    if row.is_present(envelope::CONFIDENCE) {
        object.insert("confidence".into(), row.float(envelope::CONFIDENCE).into());
    }
    serde_json::Value::Object(object)
}

fn cel_value(json: &serde_json::Value) -> cel_interpreter::Value {
    let mut map: HashMap<String, cel_interpreter::Value> = HashMap::new();
    for (key, value) in json.as_object().into_iter().flatten() {
        let value = match value {
            serde_json::Value::String(s) => cel_interpreter::Value::from(s.clone()),
            serde_json::Value::Number(n) if n.is_u64() => {
                cel_interpreter::Value::Int(n.as_i64().unwrap_or_default())
            }
            serde_json::Value::Number(n) => {
                cel_interpreter::Value::Float(n.as_f64().unwrap_or_default())
            }
            _ => cel_interpreter::Value::Null,
        };
        map.insert(key.clone(), value);
    }
    map.into()
}

fn bench(c: &mut Criterion) {
    let (program, cond) = speeding_program();
    let mut interner = Interner::new();
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
    let hand_written = |row: &Row| speeding_by_hand(row, speeding_id);
    let expected: Vec<bool> = rows
        .iter()
        .map(|row| interpreter.eval(&context(row), cond) == Value::Bool(true))
        .collect();

    // Rego: the engine's interpreter (`eval_rule`) and its compiled policy.
    let inputs: Vec<serde_json::Value> = rows.iter().map(|row| json(row, &interner)).collect();
    let rego_inputs: Vec<regorus::Value> = inputs
        .iter()
        .map(|j| regorus::Value::from(j.clone()))
        .collect();
    let mut rego = regorus::Engine::new();
    rego.add_policy("speeding.rego".into(), REGO.into())
        .expect("rego policy");
    let rego_rule = || "data.cbp.speeding".to_string();
    let rego_compiled = rego
        .compile_with_entrypoint(&"data.cbp.speeding".into())
        .expect("rego compiled");

    // CEL: one context, the row's variable replaced for each evaluation.
    let cel_inputs: Vec<cel_interpreter::Value> = inputs.iter().map(cel_value).collect();
    let cel = cel_interpreter::Program::compile(CEL).expect("cel program");
    let mut cel_context = cel_interpreter::Context::default();

    // Everyone agrees before they race.
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(hand_written(row), expected[i], "hand-written, row {i}");
        assert_eq!(
            compiled.eval(row, None) == Some(true),
            expected[i],
            "jit, row {i}"
        );
        rego.set_input(rego_inputs[i].clone());
        let found = rego.eval_rule(rego_rule()).expect("rego eval");
        assert_eq!(
            found == regorus::Value::Bool(true),
            expected[i],
            "rego, row {i}"
        );
        let found = rego_compiled
            .eval_with_input(rego_inputs[i].clone())
            .expect("rego compiled eval");
        assert_eq!(
            found == regorus::Value::Bool(true),
            expected[i],
            "rego compiled, row {i}"
        );
        cel_context.add_variable_from_value("v", cel_inputs[i].clone());
        let found = cel.execute(&cel_context).expect("cel eval");
        assert_eq!(
            found == cel_interpreter::Value::Bool(true),
            expected[i],
            "cel, row {i}"
        );
    }

    let mut group = c.benchmark_group("peers");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("hand_written", |b| {
        b.iter(|| {
            rows.iter()
                .filter(|row| hand_written(black_box(row)))
                .count()
        })
    });
    group.bench_function("jit", |b| {
        b.iter(|| {
            rows.iter()
                .filter(|row| compiled.eval(black_box(row), None) == Some(true))
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
    group.bench_function("cel_interpreter", |b| {
        b.iter(|| {
            cel_inputs
                .iter()
                .filter(|input| {
                    cel_context.add_variable_from_value("v", (*input).clone());
                    cel.execute(&cel_context) == Ok(cel_interpreter::Value::Bool(true))
                })
                .count()
        })
    });
    group.bench_function("regorus_compiled_policy", |b| {
        b.iter(|| {
            rego_inputs
                .iter()
                .filter(|input| {
                    rego_compiled.eval_with_input((*input).clone()).ok()
                        == Some(regorus::Value::Bool(true))
                })
                .count()
        })
    });
    group.bench_function("regorus_eval_rule", |b| {
        b.iter(|| {
            rego_inputs
                .iter()
                .filter(|input| {
                    rego.set_input((*input).clone());
                    rego.eval_rule(rego_rule()).ok() == Some(regorus::Value::Bool(true))
                })
                .count()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
