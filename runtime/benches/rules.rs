//! Events per second through `Engine::push_line` with 10 to 10,000 rules on the trigger
//! type `violation_event`, of which only 10 can match each event (the JIT evaluator, as
//! `cbpc run` uses it).
//!
//! Two generated rule sets, both with the same 10 matching rules (`hit_*`):
//! - `indexed`: every other rule opens with `v.vehicle_data.license_plate == "NEVER-…"`, a
//!   value no event carries, then a condition that would hold; dispatch indexes the plate.
//! - `unindexed`: every other rule is `v.severity >= medium and v.confidence < 0.1…`, which
//!   no event satisfies. No equality test to index (the name is from before range indexes):
//!   dispatch's range index on `confidence` leaves them out by binary search; before it, the
//!   engine evaluated every one of them for every event.

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench helpers may panic

use cbp_ir::Program;
use cbp_runtime::{Engine, LineOutcome, RunOptions};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const MATCHING: usize = 10;
/// 2025-12-03T00:00:00Z.
const START_MS: i64 = 1_764_720_000_000;

/// The shipped declarations (messages, plugins, systems, authorities) and no shipped rule.
const BASE: [&str; 4] = ["events.cbp", "plugins.cbp", "authorities.cbp", "orders.cbp"];

fn compile(generated: &str) -> Arc<Program> {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../policies"));
    let mut compiler = cbp_check::Compiler::new();
    let mut sources = Vec::new();
    for name in BASE {
        let text = std::fs::read_to_string(root.join(name)).unwrap();
        let name = format!("policies/{name}");
        compiler.set_file(&name, text.clone());
        sources.push((name, text));
    }
    compiler.set_file("bench/generated.cbp", generated.to_string());
    sources.push(("bench/generated.cbp".into(), generated.to_string()));
    let errors: Vec<_> = compiler
        .diagnostics()
        .into_iter()
        .filter(|d| d.is_error())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    Arc::new(cbp_lower::lower(&compiler.checked_program(), &sources).unwrap())
}

/// `rules` rules on `violation_event`: 10 that match every event, the rest never.
fn policy(rules: usize, indexed: bool) -> String {
    let mut text = String::from("package city\n\n");
    for i in 0..MATCHING.min(rules) {
        let _ = write!(
            text,
            "rule hit_{i} at local {{\n    on v: violation_event\n    when v.violation_type == speeding and v.confidence > 0.5{i}\n    then {{\n        log violations_db {{ rule: {i} }}\n    }}\n}}\n\n"
        );
    }
    for i in MATCHING..rules {
        let when = if indexed {
            format!("v.vehicle_data.license_plate == \"NEVER-{i}\" and v.confidence > 0.5")
        } else {
            format!(
                "v.severity >= medium and v.confidence < {:.6}",
                0.1 + i as f64 * 1e-5
            )
        };
        let _ = write!(
            text,
            "rule miss_{i} at local {{\n    on v: violation_event\n    when {when}\n    then {{\n        log violations_db {{ rule: {i} }}\n    }}\n}}\n\n"
        );
    }
    text
}

/// Event `n`: a confident speeding violation, 10 ms after event `n - 1`.
fn line(n: u64) -> String {
    let time = cbp_runtime::time::format_rfc3339(START_MS + n as i64 * 10);
    format!(
        r#"{{"event_id":"v-{n}","model_id":"traffic-violation-detector-v2","type":"violation_event","timestamp":"{time}","location":{{"latitude":12.9716,"longitude":77.5946}},"zone":"ka.bengaluru.east.indiranagar","severity":"high","confidence":0.93,"metadata":{{}},"payload":{{"violation_type":"speeding","vehicle_data":{{"license_plate":"KA01AB{:04}","vehicle_type":"car","speed_kmh":85}},"evidence":{{"image_urls":[]}}}}}}"#,
        n % 10_000
    )
}

/// Pushes `lines` and writes every record as `cbpc run` does (to memory); the decisions.
fn push(engine: &mut Engine, first: u64, lines: &[String], out: &mut Vec<u8>) -> u64 {
    let mut decisions = 0;
    for (i, text) in lines.iter().enumerate() {
        let outcome = engine.push_line(first + i as u64, text, &mut |record| {
            decisions += u64::from(record.kind() == "decision");
            out.extend_from_slice(record.to_json_line().as_bytes());
            out.push(b'\n');
        });
        assert_eq!(outcome, LineOutcome::Processed);
    }
    decisions
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("rules");
    group.throughput(Throughput::Elements(1));
    for indexed in [true, false] {
        let kind = if indexed { "indexed" } else { "unindexed" };
        for rules in [10usize, 100, 1_000, 10_000] {
            let started = Instant::now();
            let program = compile(&policy(rules, indexed));
            let mut engine = Engine::new(
                program.clone(),
                cbp_jit::evaluator(&program),
                RunOptions::default(),
            );
            eprintln!(
                "rules/{kind}/{rules}: compiled and loaded in {:.2} s ({} engine)",
                started.elapsed().as_secs_f64(),
                engine.evaluator_name()
            );
            // Every event is decided by exactly the 10 matching rules.
            let mut out = Vec::new();
            let probe = [line(0)];
            assert_eq!(push(&mut engine, 1, &probe, &mut out), MATCHING as u64);
            let mut next = 1u64;
            group.bench_function(BenchmarkId::new(kind, rules), |b| {
                b.iter_custom(|iters| {
                    let lines: Vec<String> = (next..next + iters).map(line).collect();
                    out.clear();
                    let started = Instant::now();
                    push(&mut engine, next + 1, &lines, &mut out);
                    let elapsed = started.elapsed();
                    next += iters;
                    elapsed
                })
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
