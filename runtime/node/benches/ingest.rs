//! Ingestion through the HTTP API, end to end: a request in, its events journaled, run and
//! their records committed (one fsync per request), the reply with the records out.
//!
//! `cargo bench -p cbp-node --bench ingest`
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use cbp_node::inputs::Scan;
use cbp_node::store::Input;
use common::{City, start_node};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::time::{Duration, Instant};

fn ingest(c: &mut Criterion) {
    let (runtime, node, _state) = start_node();
    let url = format!("http://{}/api/v1/events", node.addr);
    let client = reqwest::Client::new();
    let mut city = City::new();
    let mut group = c.benchmark_group("node/http");
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    for batch in [1usize, 100, 1000] {
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(BenchmarkId::new("batch", batch), |b| {
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let body = city.batch(batch);
                    let started = Instant::now();
                    runtime.block_on(async {
                        let response = client
                            .post(&url)
                            .header("content-type", "application/x-ndjson")
                            .body(body)
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(response.status(), 200);
                        response.bytes().await.unwrap();
                    });
                    total += started.elapsed();
                }
                total
            })
        });
    }
    group.finish();

    // The core alone (journal, engine, records, commit), without HTTP: what a source that
    // hands over batches (Kafka) costs the node.
    let mut group = c.benchmark_group("node/core");
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    for batch in [100usize, 1000] {
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(BenchmarkId::new("batch", batch), |b| {
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let inputs: Vec<Input> =
                        (0..batch).map(|_| Input::Line(city.next_line())).collect();
                    let started = Instant::now();
                    let ingested = runtime.block_on(node.ingest(inputs)).unwrap();
                    total += started.elapsed();
                    assert_eq!(ingested.accepted, batch);
                }
                total
            })
        });
    }
    group.finish();
    runtime.block_on(node.shutdown());
}

/// What a source's thread reads off each input before the core runs it (identity, zone,
/// time: `inputs::Scan`), on the day's lines as shipped and as the endless city writes them
/// (keys sorted, so `zone` is last and the whole line is read).
fn scan(c: &mut Criterion) {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/city-day.ndjson");
    let shipped: Vec<Input> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .take(1000)
        .map(|line| Input::Line(line.into()))
        .collect();
    let mut city = City::new();
    let sorted: Vec<Input> = (0..1000).map(|_| Input::Line(city.next_line())).collect();
    let mut group = c.benchmark_group("node/scan");
    group.throughput(Throughput::Elements(1000));
    for (name, inputs) in [("shipped", &shipped), ("sorted", &sorted)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                inputs
                    .iter()
                    .map(|input| Scan::of(std::hint::black_box(input)).identity())
                    .fold(0u128, |sum, id| sum ^ id.unwrap_or_default())
            })
        });
    }
    group.finish();
}

/// The duplicate set at its steady state (a million identities kept, each group's new ones
/// pushing as many old ones out), a group of 2,048 at a time: the expired ones dropped
/// after each identity noted, or once for the group as the core does.
fn dedup(c: &mut Criterion) {
    use cbp_node::dedup::Seen;
    const KEEP: usize = 1 << 20;
    const GROUP: u64 = 2048;
    let mut group = c.benchmark_group("node/dedup");
    group.throughput(Throughput::Elements(GROUP));
    for (name, per_group) in [("expire_each", false), ("expire_per_group", true)] {
        let mut seen = Seen::new(0, KEEP);
        let mut next = 0u64;
        let mut key = || {
            next += 1;
            Seen::key("m", &next.to_string())
        };
        for time in 0..KEEP as i64 {
            seen.insert(key(), time);
        }
        let mut time = KEEP as i64;
        group.bench_function(name, |b| {
            b.iter_batched(
                || (0..GROUP).map(|_| key()).collect::<Vec<u128>>(),
                |keys| {
                    let admitted = keys.iter().filter(|k| seen.admit(**k)).count();
                    for key in &keys {
                        time += 1;
                        seen.note(*key, time);
                        if !per_group {
                            seen.expire();
                        }
                    }
                    seen.expire();
                    admitted
                },
                criterion::BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, ingest, scan, dedup);
criterion_main!(benches);
