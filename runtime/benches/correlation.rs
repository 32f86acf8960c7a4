//! The cost of one triggering event of a correlation rule with 1,000, 10,000 and 100,000
//! messages in its window (one node, one type, a 500 m radius; the JIT evaluator).
//!
//! The window of `traffic_status` at Indiranagar is filled with `N` reports spread over the
//! four minutes before the trigger: 10 lie within 200 m of the flood, the others anywhere in
//! a 66 km square around it but at least 2 km away (the city's other sensors). Each
//! iteration pushes one `flood_warning` at the flood (a new event id, the same event time,
//! so nothing expires); the rule correlates the reports of the last 5 minutes within 500 m
//! and logs the distinct roads, the 10 near ones.

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench helpers may panic

use cbp_ir::Program;
use cbp_runtime::{Engine, LineOutcome, RunOptions};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// 2025-12-03T00:00:00Z.
const START_MS: i64 = 1_764_720_000_000;
const FILL_MS: i64 = 240_000;
const NEAR: usize = 10;
const FLOOD: (f64, f64) = (12.9784, 77.6408);
const ZONE: &str = "ka.bengaluru.east.indiranagar";

const BASE: [&str; 4] = ["events.cbp", "plugins.cbp", "authorities.cbp", "orders.cbp"];

const POLICY: &str = r#"package city

rule flood_near_traffic at local {
    on flood: flood_warning
    when flood.water_level_cm > 30
    correlate traffic: traffic_status over last 5m within 500m
    then {
        log violations_db { roads: distinct(traffic.road_id) }
    }
}
"#;

pub fn compile(generated: &str) -> Arc<Program> {
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

/// A deterministic generator (SplitMix64), so the figures can be reproduced.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

fn traffic_line(k: usize, time_ms: i64, lat: f64, lon: f64) -> String {
    let time = cbp_runtime::time::format_rfc3339(time_ms);
    format!(
        r#"{{"event_id":"t-{k}","model_id":"traffic_monitoring","type":"traffic_status","timestamp":"{time}","location":{{"latitude":{lat:.6},"longitude":{lon:.6}}},"zone":"{ZONE}","severity":"low","confidence":0.9,"metadata":{{}},"payload":{{"road_id":"r-{k}","congestion":0.5,"avg_speed_kmh":20}}}}"#
    )
}

/// `n` reports: `NEAR` within 200 m of the flood, the rest 2–33 km away.
pub fn fill_lines(n: usize) -> Vec<String> {
    let mut rng = Rng(n as u64);
    (0..n)
        .map(|k| {
            let time = START_MS + FILL_MS * k as i64 / n as i64;
            let (lat, lon) = if k % (n / NEAR) == 0 {
                (FLOOD.0 + rng.unit() * 0.0012, FLOOD.1 + rng.unit() * 0.0012)
            } else {
                loop {
                    let (dlat, dlon) = (rng.unit() * 0.3, rng.unit() * 0.3);
                    if dlat.abs() > 0.02 || dlon.abs() > 0.02 {
                        break (FLOOD.0 + dlat, FLOOD.1 + dlon);
                    }
                }
            };
            traffic_line(k, time, lat, lon)
        })
        .collect()
}

pub fn flood_line(n: u64) -> String {
    let time = cbp_runtime::time::format_rfc3339(START_MS + FILL_MS);
    format!(
        r#"{{"event_id":"f-{n}","model_id":"flood_prediction_model","type":"flood_warning","timestamp":"{time}","location":{{"latitude":{},"longitude":{}}},"zone":"{ZONE}","severity":"high","confidence":0.9,"metadata":{{}},"payload":{{"water_level_cm":45}}}}"#,
        FLOOD.0, FLOOD.1
    )
}

fn bench(c: &mut Criterion) {
    let program = compile(POLICY);
    let mut group = c.benchmark_group("correlation");
    for window in [1_000usize, 10_000, 100_000] {
        let mut engine = Engine::new(
            program.clone(),
            cbp_jit::evaluator(&program),
            RunOptions::default(),
        );
        let fill = fill_lines(window);
        let started = Instant::now();
        for (i, text) in fill.iter().enumerate() {
            let outcome = engine.push_line(i as u64 + 1, text, &mut |_| {});
            assert_eq!(outcome, LineOutcome::Processed);
        }
        eprintln!(
            "correlation/{window}: window filled in {:.2} s",
            started.elapsed().as_secs_f64()
        );
        drop(fill);
        // The trigger finds exactly the near reports.
        let mut roads = 0;
        engine.push_line(0, &flood_line(0), &mut |record| {
            if record.kind() == "decision" {
                roads = record.to_json_line().matches("\"r-").count();
            }
        });
        assert_eq!(roads, NEAR, "the near reports are found");
        let mut next = 1u64;
        group.bench_function(BenchmarkId::new("trigger", window), |b| {
            b.iter_custom(|iters| {
                let lines: Vec<String> = (next..next + iters).map(flood_line).collect();
                let mut bytes = 0usize;
                let started = Instant::now();
                for text in &lines {
                    engine.push_line(0, text, &mut |record| {
                        bytes += record.to_json_line().len();
                    });
                }
                let elapsed = started.elapsed();
                assert!(bytes > 0);
                next += iters;
                elapsed
            })
        });
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
