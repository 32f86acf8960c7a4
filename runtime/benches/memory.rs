//! Memory figures (printed; criterion is for timings):
//!
//! 1. Bytes per open window entry: the net heap a `WindowStore` allocates for 100,000
//!    `traffic_status` reports (rows decoded beforehand, so only the store's own structures
//!    count: the time-ordered map, the spatial grid), counted by a counting global allocator.
//!    The heap of the decoded rows themselves is printed beside it.
//! 2. Resident memory of an engine (JIT) over a generated stream of 1,000,000 events (99%
//!    traffic reports over 14 neighbourhoods, 1% flood warnings correlating them over 5
//!    minutes within 500 m; 10 ms of event time apart, so a window holds ~30,000 reports):
//!    peak RSS (`VmHWM`) and live heap at 100k, 500k and 1M events.
//!
//! `cargo bench -p cbp-runtime --bench memory`

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench helpers may panic

use cbp_ir::Program;
use cbp_runtime::decode::Decoder;
use cbp_runtime::geo::Point;
use cbp_runtime::intern::Interner;
use cbp_runtime::window::WindowStore;
use cbp_runtime::{Engine, LineOutcome, RunOptions};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// 2025-12-03T00:00:00Z.
const START_MS: i64 = 1_764_720_000_000;
const ENTRIES: usize = 100_000;
const STREAM: u64 = 1_000_000;

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

/// Neighbourhood centres of the generated city (a subset of `examples/gen`).
const ZONES: [(&str, f64, f64); 14] = [
    ("east.indiranagar", 12.9784, 77.6408),
    ("east.koramangala", 12.9352, 77.6245),
    ("east.domlur", 12.9610, 77.6387),
    ("east.whitefield", 12.9698, 77.7500),
    ("north.malleshwaram", 13.0035, 77.5710),
    ("north.hebbal", 13.0358, 77.5970),
    ("north.yelahanka", 13.1007, 77.5963),
    ("south.jayanagar", 12.9250, 77.5938),
    ("south.btm", 12.9166, 77.6101),
    ("south.banashankari", 12.9255, 77.5468),
    ("south.electronic_city", 12.8452, 77.6602),
    ("west.rajajinagar", 12.9915, 77.5545),
    ("west.vijayanagar", 12.9719, 77.5350),
    ("west.kengeri", 12.9080, 77.4820),
];

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
    Arc::new(cbp_lower::lower(&compiler.checked_program(), &sources).unwrap())
}

/// A deterministic generator (SplitMix64).
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

/// Event `n` of the stream: every 100th a flood warning, the others traffic reports, each
/// within ~1.5 km of its neighbourhood's centre.
fn line(n: u64, rng: &mut Rng) -> String {
    let (zone, lat, lon) = ZONES[(rng.next() % ZONES.len() as u64) as usize];
    let (lat, lon) = (lat + rng.unit() * 0.015, lon + rng.unit() * 0.015);
    let time = cbp_runtime::time::format_rfc3339(START_MS + n as i64 * 10);
    if n % 100 == 99 {
        format!(
            r#"{{"event_id":"f-{n}","model_id":"flood_prediction_model","type":"flood_warning","timestamp":"{time}","location":{{"latitude":{lat:.6},"longitude":{lon:.6}}},"zone":"ka.bengaluru.{zone}","severity":"high","confidence":0.9,"metadata":{{}},"payload":{{"water_level_cm":45}}}}"#
        )
    } else {
        format!(
            r#"{{"event_id":"t-{n}","model_id":"traffic_monitoring","type":"traffic_status","timestamp":"{time}","location":{{"latitude":{lat:.6},"longitude":{lon:.6}}},"zone":"ka.bengaluru.{zone}","severity":"low","confidence":0.9,"metadata":{{}},"payload":{{"road_id":"r-{}","congestion":0.5,"avg_speed_kmh":20}}}}"#,
            rng.next() % 500
        )
    }
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn live(region: &Region<'_, System>) -> i64 {
    let stats = region.change();
    // `stats_alloc` already counts a reallocation's growth in `bytes_allocated` (and its
    // shrinking in `bytes_deallocated`); `bytes_reallocated` repeats that delta.
    stats.bytes_allocated as i64 - stats.bytes_deallocated as i64
}

fn live_blocks(region: &Region<'_, System>) -> i64 {
    let stats = region.change();
    stats.allocations as i64 - stats.deallocations as i64
}

fn window_entry_bytes(program: &Arc<Program>) {
    let decoder = Decoder::new(program.clone());
    let mut interner = Interner::new();
    let mut rng = Rng(7);
    let mut rows = Vec::with_capacity(ENTRIES);
    let rows_region = Region::new(GLOBAL);
    let mut n = 0u64;
    while rows.len() < ENTRIES {
        let text = line(n, &mut rng);
        n += 1;
        if text.contains("traffic_status") {
            let row = decoder.decode_line(&mut interner, &text).unwrap();
            let point = Point {
                lat: rng.unit() * 0.1 + 12.97,
                lon: rng.unit() * 0.1 + 77.6,
            };
            rows.push((START_MS + n as i64 * 10, Arc::new(row), point));
        }
    }
    let rows_bytes = live(&rows_region);

    let region = Region::new(GLOBAL);
    let mut store = WindowStore::new(i64::MAX / 4, 500.0);
    for (seq, (time, row, point)) in rows.iter().enumerate() {
        store.insert(*time, seq as u64, row.clone(), Some(*point));
    }
    let bytes = live(&region);
    assert_eq!(store.len(), ENTRIES);
    println!(
        "window: {ENTRIES} entries, {bytes} bytes of window structures: {:.1} bytes per entry (target < 200)",
        bytes as f64 / ENTRIES as f64
    );
    println!(
        "window: the decoded rows (with the vector holding them and their interned strings): {:.1} bytes per row",
        rows_bytes as f64 / ENTRIES as f64
    );
}

/// What the interner keeps for each event id it sees (it only grows: a documented limit).
fn interner_bytes() {
    let mut interner = Interner::new();
    let region = Region::new(GLOBAL);
    for n in 0..STREAM {
        interner.intern(&format!("t-{n}"));
    }
    println!(
        "interner: {:.1} bytes per interned event id ({STREAM} ids)",
        live(&region) as f64 / STREAM as f64
    );
}

fn stream_rss(program: &Arc<Program>) {
    // `CBP_BENCH_ENGINE=interp` runs the reference interpreter instead of the JIT.
    let evaluator = match std::env::var("CBP_BENCH_ENGINE").as_deref() {
        Ok("interp") => cbp_runtime::interpreter(program),
        _ => cbp_jit::evaluator(program),
    };
    let mut engine = Engine::new(program.clone(), evaluator, RunOptions::default());
    let region = Region::new(GLOBAL);
    let mut rng = Rng(11);
    let mut decisions = 0u64;
    let started = Instant::now();
    println!(
        "stream: before the first event: VmHWM {} KiB, VmRSS {} KiB",
        status_kib("VmHWM:"),
        status_kib("VmRSS:")
    );
    for n in 0..STREAM {
        let text = line(n, &mut rng);
        let outcome = engine.push_line(n + 1, &text, &mut |r| {
            decisions += u64::from(r.kind() == "decision");
        });
        assert_eq!(outcome, LineOutcome::Processed);
        let done = n + 1;
        if done == 100_000 || done == 500_000 || done == STREAM {
            println!(
                "stream: {done} events ({decisions} decisions, {:.1} s): VmHWM {} KiB, VmRSS {} KiB, net heap since the engine started {:.1} MiB in {} blocks",
                started.elapsed().as_secs_f64(),
                status_kib("VmHWM:"),
                status_kib("VmRSS:"),
                live(&region) as f64 / (1024.0 * 1024.0),
                live_blocks(&region)
            );
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is ignored.
    let program = compile(POLICY);
    // The stream first, so its peak RSS is not the other measurements'.
    stream_rss(&program);
    window_entry_bytes(&program);
    interner_bytes();
}
