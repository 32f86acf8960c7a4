//! Differential testing of the two engines: random small policies and random event streams
//! run through the reference interpreter and the JIT must give byte-identical records.
//!
//! Set `PROPTEST_CASES` to run more cases than the default 64.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use cbp_ir::Program;
use cbp_runtime::{Engine, Evaluator, Record, RunOptions, interpreter};
use proptest::prelude::*;
use std::sync::Arc;

/// One event type with a field of every kind, an authority, a system and an incident.
const PREAMBLE: &str = r#"package fuzz

ordered enum Level {
    low
    medium
    high
}

event reading {
    count: int
    ratio: float
    active: bool
    label: string
    level: Level
    extra: int?
}

incident spike {
    count: int
}

authority officer {
    level: L1
    approves: [actuate, notify]
}

system pump {
    layer: local
    kind: actuator
}
"#;

const LABELS: [&str; 3] = ["a", "b", "c"];
const LEVELS: [&str; 3] = ["low", "medium", "high"];
const CMP: [&str; 6] = ["==", "!=", "<", "<=", ">", ">="];

/// An integer expression over the trigger `e`.
fn int_expr(var: &'static str) -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        Just(format!("{var}.count")),
        (-5i64..20).prop_map(|n| if n < 0 {
            format!("({n})")
        } else {
            n.to_string()
        }),
        (0i64..10).prop_map(move |k| format!("({var}.extra ?? {k})")),
    ];
    leaf.prop_recursive(3, 12, 2, move |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec!["+", "-", "*"]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            (inner.clone(), 1i64..5).prop_map(|(a, k)| format!("({a} % {k})")),
            (inner.clone(), 1i64..5).prop_map(|(a, k)| format!("({a} / {k})")),
            // A computed divisor may be zero (or -1 under `i64::MIN`): null in both engines.
            (
                inner.clone(),
                prop::sample::select(vec!["/", "%"]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            (bool_leaf(var), inner.clone(), inner)
                .prop_map(|(c, a, b)| format!("(if {c} then {a} else {b})")),
        ]
    })
    .boxed()
}

/// A float expression over `var`.
fn float_expr(var: &'static str) -> BoxedStrategy<String> {
    prop_oneof![
        Just(format!("{var}.ratio")),
        Just(format!("{var}.confidence")),
        (0u32..100).prop_map(|n| format!("{}.{:02}", n / 50, n % 100)),
        (0u32..20).prop_map(move |n| format!("({var}.ratio * {}.5)", n % 3)),
        (0u32..20).prop_map(move |n| format!("({var}.ratio + {var}.confidence - 0.{n})")),
    ]
    .boxed()
}

/// A boolean leaf: no recursion.
fn bool_leaf(var: &'static str) -> BoxedStrategy<String> {
    prop_oneof![
        Just(format!("{var}.active")),
        prop::sample::select(LABELS.to_vec()).prop_map(move |l| format!("{var}.label == \"{l}\"")),
        (
            prop::sample::select(CMP.to_vec()),
            prop::sample::select(LEVELS.to_vec())
        )
            .prop_map(move |(op, l)| format!("{var}.level {op} {l}")),
        (prop::sample::select(CMP.to_vec()), -2i64..15)
            .prop_map(move |(op, n)| format!("{var}.count {op} {n}")),
        (prop::sample::select(CMP.to_vec()), 0u32..20)
            .prop_map(move |(op, n)| format!("{var}.ratio {op} 0.{n}")),
        prop::collection::vec(prop::sample::select(LABELS.to_vec()), 1..3).prop_map(move |ls| {
            let items: Vec<String> = ls.iter().map(|l| format!("\"{l}\"")).collect();
            format!("{var}.label in [{}]", items.join(", "))
        }),
        prop::collection::vec(0i64..8, 1..4).prop_map(move |ns| {
            let items: Vec<String> = ns.iter().map(i64::to_string).collect();
            format!("{var}.count in [{}]", items.join(", "))
        }),
        (0i64..5, prop::sample::select(CMP.to_vec()), 0i64..5)
            .prop_map(move |(k, op, n)| format!("({var}.extra ?? {k}) {op} {n}")),
        Just("true".to_string()),
    ]
    .boxed()
}

/// A boolean expression over `var`: comparisons, `and`/`or`/`not`, conditionals.
fn bool_expr(var: &'static str) -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        3 => bool_leaf(var),
        1 => (int_expr(var), prop::sample::select(CMP.to_vec()), int_expr(var))
            .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        1 => (float_expr(var), prop::sample::select(CMP.to_vec()), float_expr(var))
            .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
    ];
    leaf.prop_recursive(3, 10, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            inner.clone().prop_map(|a| format!("(not {a})")),
            (inner.clone(), inner.clone(), inner)
                .prop_map(|(c, a, b)| format!("(if {c} then {a} else {b})")),
        ]
    })
    .boxed()
}

/// A `where` condition relating the correlated event `c` to the trigger `e`.
fn where_expr() -> BoxedStrategy<String> {
    prop_oneof![
        bool_expr("c"),
        Just("c.label != e.label".to_string()),
        Just("c.label == e.label".to_string()),
        (prop::sample::select(CMP.to_vec())).prop_map(|op| format!("c.count {op} e.count")),
        (prop::sample::select(CMP.to_vec())).prop_map(|op| format!("c.level {op} e.level")),
    ]
    .boxed()
}

fn correlate_clause() -> BoxedStrategy<String> {
    (
        1u32..20,
        prop::option::of(prop::sample::select(vec!["50m", "200m", "1km", "5km"])),
        prop::option::of(where_expr()),
        prop::option::of(1u32..4),
    )
        .prop_map(|(minutes, radius, filter, least)| {
            let mut clause = format!("correlate c: reading over last {minutes}m");
            if let Some(r) = radius {
                clause.push_str(&format!(" within {r}"));
            }
            if let Some(w) = filter {
                clause.push_str(&format!(" where {w}"));
            }
            if let Some(n) = least {
                clause.push_str(&format!(" at least {n}"));
            }
            clause
        })
        .boxed()
}

fn approval_clause() -> BoxedStrategy<String> {
    (1u32..30, prop::sample::select(vec!["approve", "reject"]))
        .prop_map(|(minutes, default)| {
            format!(
                "approval by officer within {minutes}m else {default}\n    \
                 on approve {{\n        notify officer {{ message: \"approved\" }}\n    }}\n    \
                 on reject {{\n        notify officer {{ message: \"rejected\" }}\n    }}"
            )
        })
        .boxed()
}

fn rule(index: usize) -> BoxedStrategy<String> {
    (
        bool_expr("e"),
        prop::option::of(correlate_clause()),
        prop::option::of(approval_clause()),
        int_expr("e"),
        any::<bool>(),
    )
        .prop_map(move |(when, correlate, approval, amount, escalate)| {
            let mut text =
                format!("rule r{index} at local {{\n    on e: reading\n    when {when}\n");
            if let Some(c) = correlate {
                text.push_str(&format!("    {c}\n"));
            }
            text.push_str(&format!(
                "    then {{\n        actuate pump {{ amount: {amount}, label: e.label }}\n"
            ));
            if escalate {
                text.push_str("        escalate spike to city { count: e.count }\n");
            }
            text.push_str("    }\n");
            if let Some(a) = approval {
                text.push_str(&format!("    {a}\n"));
            }
            text.push_str("}\n");
            text
        })
        .boxed()
}

fn policy() -> BoxedStrategy<String> {
    (1usize..=6)
        .prop_flat_map(|n| (0..n).map(rule).collect::<Vec<_>>())
        .prop_map(|rules| format!("{PREAMBLE}\n{}", rules.join("\n")))
        .boxed()
}

/// A payload field's JSON value: usually well typed, sometimes null, missing or wrong.
fn field(good: BoxedStrategy<String>) -> BoxedStrategy<Option<String>> {
    prop_oneof![
        100 => good.prop_map(Some),
        1 => Just(Some("null".to_string())),
        1 => Just(Some("\"oops\"".to_string())),
        1 => Just(None),
    ]
    .boxed()
}

fn payload() -> BoxedStrategy<String> {
    (
        field(
            prop_oneof![
                30 => (-3i64..15).prop_map(|n| n.to_string()),
                // Rarely, a count near the edge of i64, so that arithmetic overflows.
                1 => prop::sample::select(vec![i64::MAX, i64::MIN, 1 << 62]).prop_map(|n| n.to_string()),
            ]
            .boxed(),
        ),
        field((0u32..100).prop_map(|n| format!("0.{n:02}")).boxed()),
        field(any::<bool>().prop_map(|b| b.to_string()).boxed()),
        field(
            prop::sample::select(LABELS.to_vec())
                .prop_map(|l| format!("\"{l}\""))
                .boxed(),
        ),
        field(
            prop::sample::select(vec!["low", "medium", "high"])
                .prop_map(|l| format!("\"{l}\""))
                .boxed(),
        ),
        // The optional field: often missing or null, which is valid.
        prop_oneof![
            6 => (0i64..8).prop_map(|n| Some(n.to_string())),
            2 => Just(None),
            2 => Just(Some("null".to_string())),
            1 => Just(Some("1.5".to_string())),
        ],
    )
        .prop_map(|(count, ratio, active, label, level, extra)| {
            let fields = [
                ("count", count),
                ("ratio", ratio),
                ("active", active),
                ("label", label),
                ("level", level),
                ("extra", extra),
            ];
            let parts: Vec<String> = fields
                .iter()
                .filter_map(|(k, v)| v.as_ref().map(|v| format!("\"{k}\":{v}")))
                .collect();
            format!("{{{}}}", parts.join(","))
        })
        .boxed()
}

/// Seconds since the previous event, zone index, latitude and longitude offsets, severity,
/// payload, confidence in hundredths.
type EventParts = (u32, usize, (u32, u32), String, String, u32);

fn event() -> BoxedStrategy<EventParts> {
    (
        prop_oneof![3 => 0u32..90, 1 => 90u32..600],
        0usize..3,
        (0u32..20, 0u32..20),
        prop::sample::select(vec!["low", "medium", "high", "critical"]).prop_map(str::to_string),
        payload(),
        prop_oneof![10 => 50u32..100, 1 => 0u32..50],
    )
        .boxed()
}

fn timestamp(seconds: u64) -> String {
    // 2025-12-03T14:00:00Z plus `seconds`, at most 40 × 600 s, so within the day.
    let s = seconds + 14 * 3600;
    format!(
        "2025-12-03T{:02}:{:02}:{:02}Z",
        s / 3600,
        (s / 60) % 60,
        s % 60
    )
}

fn stream() -> BoxedStrategy<(Vec<String>, Option<u32>)> {
    (
        prop::collection::vec(event(), 1..=40),
        prop::option::of(0u32..7200),
    )
        .prop_map(|(events, until_extra)| {
            let zones = [
                "ka.bengaluru.east.indiranagar",
                "ka.bengaluru.east.domlur",
                "ka.bengaluru.south.jayanagar",
            ];
            let mut clock = 0u64;
            let lines = events
                .iter()
                .enumerate()
                .map(|(i, (gap, zone, (dlat, dlon), severity, payload, conf))| {
                    clock += u64::from(*gap);
                    format!(
                        "{{\"event_id\":\"e-{i}\",\"model_id\":\"fuzz\",\"type\":\"reading\",\
                         \"timestamp\":\"{}\",\"location\":{{\"latitude\":12.97{dlat:02},\
                         \"longitude\":77.59{dlon:02}}},\"zone\":\"{}\",\"severity\":\"{severity}\",\
                         \"confidence\":0.{conf:02},\"metadata\":{{}},\"payload\":{payload}}}",
                        timestamp(clock),
                        zones[*zone]
                    )
                })
                .collect();
            // `until` is some time after the last event, so pending deadlines may fire.
            let until = until_extra.map(|extra| clock as u32 + extra);
            (lines, until)
        })
        .boxed()
}

fn compile(source: &str) -> Result<Program, String> {
    let mut compiler = cbp_check::Compiler::new();
    let name = "fuzz.cbp".to_string();
    compiler.set_file(&name, source.to_string());
    let errors: Vec<String> = compiler
        .diagnostics()
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{} {}", d.code, d.message))
        .collect();
    if !errors.is_empty() {
        return Err(errors.join("; "));
    }
    cbp_lower::lower(&compiler.checked_program(), &[(name, source.to_string())])
        .map_err(|e| format!("{e:?}"))
}

fn run(
    program: &Arc<Program>,
    evaluator: Box<dyn Evaluator>,
    lines: &[String],
    until: Option<i64>,
) -> Vec<String> {
    let options = RunOptions {
        until,
        lateness_ms: 0,
        ..RunOptions::default()
    };
    let mut engine = Engine::new(program.clone(), evaluator, options);
    let mut out = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        engine.push_line(n as u64 + 1, line, &mut |r: &Record| {
            out.push(r.to_json_line())
        });
    }
    engine.finish(&mut |r: &Record| out.push(r.to_json_line()));
    out
}

/// `until`, given in seconds after 14:00, as the engine's milliseconds.
fn until_ms(seconds: Option<u32>) -> Option<i64> {
    let start = cbp_runtime::time::parse_rfc3339("2025-12-03T14:00:00Z").unwrap();
    seconds.map(|s| start + i64::from(s) * 1000)
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
    fn interpreter_and_jit_give_identical_records(source in policy(), (lines, until) in stream()) {
        let program = match compile(&source) {
            Ok(program) => Arc::new(program),
            Err(errors) => panic!("generated policy does not check: {errors}\n{source}"),
        };
        let until = until_ms(until);
        let interpreted = run(&program, interpreter(&program), &lines, until);
        let compiled = run(&program, cbp_jit::evaluator(&program), &lines, until);
        prop_assert_eq!(
            &compiled,
            &interpreted,
            "engines differ\npolicy:\n{}\nevents:\n{}\nuntil: {:?}",
            source,
            lines.join("\n"),
            until
        );
    }
}

/// The generators are worth running: the JIT compiles the generated conditions (rather than
/// leaving them to the interpreter), and the streams produce decisions, approvals,
/// escalations and dead letters alike.
#[test]
fn the_generated_cases_exercise_the_jit_and_every_record_kind() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut compiled, mut skipped) = (0, 0);
    let mut kinds = std::collections::BTreeMap::new();
    for _ in 0..50 {
        let source = policy().new_tree(&mut runner).unwrap().current();
        let (lines, until) = stream().new_tree(&mut runner).unwrap().current();
        let program = Arc::new(compile(&source).unwrap());
        let jit = cbp_jit::Jit::compile(&program, &mut |_| 0).unwrap();
        compiled += jit.compiled().count();
        skipped += jit.skipped().len();
        for line in run(&program, interpreter(&program), &lines, until_ms(until)) {
            let value: serde_json::Value = serde_json::from_str(&line).unwrap();
            let kind = value["kind"].as_str().unwrap_or("?").to_string();
            *kinds.entry(kind).or_insert(0usize) += 1;
        }
    }
    assert!(
        compiled > 0 && skipped * 10 <= compiled,
        "compiled {compiled}, skipped {skipped}"
    );
    for kind in [
        "decision",
        "approval",
        "action",
        "escalation",
        "dead_letter",
    ] {
        assert!(
            kinds.get(kind).is_some_and(|n| *n > 0),
            "no {kind} in {kinds:?}"
        );
    }
}
