//! Dispatch only leaves out rules that cannot fire: random policies of range and equality
//! tests (negative constants, equal constants, every operator, enums, floats, both sides)
//! over random events give the same records with the compiled dispatch tables as with none
//! (every rule of the type tested for every message).
//!
//! Set `PROPTEST_CASES` to run more cases than the default 64.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use cbp_ir::Program;
use cbp_ir::program::Dispatch;
use cbp_runtime::{Engine, Record, RunOptions, interpreter};
use proptest::prelude::*;
use std::sync::Arc;

const PREAMBLE: &str = r#"package dispatch

ordered enum Level {
    low
    medium
    high
}

event reading {
    count: int
    ratio: float
    level: Level
    label: string
    wait: duration
}

system pump {
    layer: local
    kind: actuator
}
"#;

const OPS: [&str; 6] = ["==", "!=", "<", "<=", ">", ">="];
const LEVELS: [&str; 3] = ["low", "medium", "high"];
const SEVERITIES: [&str; 4] = ["low", "medium", "high", "critical"];

/// One comparison of a trigger field with a constant, the constant on either side.
fn comparison() -> BoxedStrategy<String> {
    let field_and_constant = prop_oneof![
        (-3i64..4).prop_map(|n| ("e.count".to_string(), format!("({n})"))),
        (-4i32..4).prop_map(|n| ("e.ratio".to_string(), format!("({}.5)", n))),
        (0u32..10).prop_map(|n| ("e.confidence".to_string(), format!("0.{n}5"))),
        prop::sample::select(LEVELS.to_vec()).prop_map(|l| ("e.level".to_string(), l.to_string())),
        prop::sample::select(SEVERITIES.to_vec())
            .prop_map(|l| ("e.severity".to_string(), l.to_string())),
        (0u32..4).prop_map(|n| ("e.wait".to_string(), format!("{n}min"))),
        prop::sample::select(vec!["a", "b"])
            .prop_map(|l| ("e.label".to_string(), format!("\"{l}\""))),
    ];
    (
        field_and_constant,
        prop::sample::select(OPS.to_vec()),
        any::<bool>(),
    )
        .prop_map(|((field, constant), op, flipped)| {
            let op = if field == "e.label" && !matches!(op, "==" | "!=") {
                "=="
            } else {
                op
            };
            if flipped {
                format!("{constant} {op} {field}")
            } else {
                format!("{field} {op} {constant}")
            }
        })
        .boxed()
}

fn rule(index: usize) -> BoxedStrategy<String> {
    (
        prop::collection::vec(comparison(), 1..4),
        prop::option::of(comparison()),
    )
        .prop_map(move |(parts, alternative)| {
            let mut when = parts.join(" and ");
            if let Some(other) = alternative {
                // Now and then an `or`, which no index may use.
                if index % 3 == 2 {
                    when = format!("({when}) or {other}");
                }
            }
            format!(
                "rule r{index} at local {{\n    on e: reading\n    when {when}\n    then {{\n        actuate pump {{ n: {index} }}\n    }}\n}}\n"
            )
        })
        .boxed()
}

fn policy() -> BoxedStrategy<String> {
    (1usize..=12)
        .prop_flat_map(|n| (0..n).map(rule).collect::<Vec<_>>())
        .prop_map(|rules| format!("{PREAMBLE}\n{}", rules.join("\n")))
        .boxed()
}

fn event() -> BoxedStrategy<String> {
    (
        -4i64..5,
        -9i32..9,
        0u32..10,
        prop::sample::select(LEVELS.to_vec()),
        prop::sample::select(SEVERITIES.to_vec()),
        0u32..5,
        prop::sample::select(vec!["a", "b", "c"]),
    )
        .prop_map(|(count, half, conf, level, severity, minutes, label)| {
            let ratio = f64::from(half) / 2.0;
            format!(
                "\"severity\":\"{severity}\",\"confidence\":0.{conf}5,\"metadata\":{{}},\
                 \"payload\":{{\"count\":{count},\"ratio\":{ratio:?},\"level\":\"{level}\",\
                 \"label\":\"{label}\",\"wait\":\"{minutes}m\"}}"
            )
        })
        .boxed()
}

fn lines(events: &[String]) -> Vec<String> {
    events
        .iter()
        .enumerate()
        .map(|(i, rest)| {
            format!(
                "{{\"event_id\":\"e-{i}\",\"model_id\":\"m\",\"type\":\"reading\",\
                 \"timestamp\":\"2025-12-03T14:00:{:02}Z\",\"location\":{{\"latitude\":12.97,\
                 \"longitude\":77.59}},\"zone\":\"ka.bengaluru.east.indiranagar\",{rest}}}",
                i % 60
            )
        })
        .collect()
}

fn compile(source: &str) -> Program {
    let mut compiler = cbp_check::Compiler::new();
    compiler.set_file("dispatch.cbp", source.to_string());
    let errors: Vec<String> = compiler
        .diagnostics()
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{} {}", d.code, d.message))
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{source}");
    cbp_lower::lower(
        &compiler.checked_program(),
        &[("dispatch.cbp".into(), source.to_string())],
    )
    .unwrap()
}

fn run(program: Program, lines: &[String]) -> Vec<String> {
    let program = Arc::new(program);
    let mut engine = Engine::new(
        program.clone(),
        interpreter(&program),
        RunOptions::default(),
    );
    let mut out = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        engine.push_line(n as u64 + 1, line, &mut |r: &Record| {
            out.push(r.to_json_line())
        });
    }
    engine.finish(&mut |r: &Record| out.push(r.to_json_line()));
    out
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn dispatch_tables_change_no_record(
        source in policy(),
        events in prop::collection::vec(event(), 1..30),
    ) {
        let program = compile(&source);
        let lines = lines(&events);
        let mut plain = program.clone();
        plain.dispatch = Dispatch::default();
        let indexed = run(program, &lines);
        let tested_always = run(plain, &lines);
        prop_assert_eq!(&indexed, &tested_always, "policy:\n{}\nevents:\n{}", source, lines.join("\n"));
    }
}

/// The generated policies do use range indexes, and their rules fire.
#[test]
fn the_generated_policies_are_range_indexed_and_fire() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut ranged, mut decisions) = (0, 0);
    for _ in 0..30 {
        let source = policy().new_tree(&mut runner).unwrap().current();
        let events = prop::collection::vec(event(), 10..20)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let program = compile(&source);
        ranged += program
            .dispatch
            .by_message
            .iter()
            .map(|d| d.ranges.iter().map(|r| r.cases.len()).sum::<usize>())
            .sum::<usize>();
        decisions += run(program, &lines(&events))
            .iter()
            .filter(|line| line.contains("\"kind\":\"decision\""))
            .count();
    }
    assert!(ranged > 30, "range cases: {ranged}");
    assert!(decisions > 30, "decisions: {decisions}");
}
