//! A steady load against a node through HTTP: `CBP_LOAD_RATE` events/s (default 20,000) in
//! batches of `CBP_LOAD_BATCH` (default 100) for `CBP_LOAD_SECS` seconds (default 20), from
//! `CBP_LOAD_CLIENTS` concurrent clients (default 4), each sending on its own phase of the
//! interval. Prints the achieved rate, the latency of each request (ingestion to committed
//! decision: the reply carries the records) at p50, p99 and max, what the node made of the
//! events (run, dead letters, records), and the resident memory every 10 seconds — flat
//! memory under a steady load is what that column shows. `CBP_LOAD_TRACE=1` prints each
//! request's start and latency on stderr, to see when slow ones happen.
//!
//! `cargo bench -p cbp-node --bench load`  (`CBP_LOAD_SECS=600` for the 10-minute run)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{City, metric_sum, metrics_text, rss_bytes, start_node};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument that is not ours means another
    // benchmark was asked for.
    if std::env::args().skip(1).any(|a| !a.starts_with("--")) {
        return;
    }
    let rate = env("CBP_LOAD_RATE", 20_000);
    let batch = env("CBP_LOAD_BATCH", 100) as usize;
    let seconds = env("CBP_LOAD_SECS", 20);
    let clients = env("CBP_LOAD_CLIENTS", 4) as usize;
    let trace = std::env::var("CBP_LOAD_TRACE").is_ok_and(|v| v == "1");
    let (runtime, node, _state) = start_node();
    let url = format!("http://{}/api/v1/events", node.addr);
    let city = Arc::new(Mutex::new(City::new()));
    let latencies = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    // Each client sends its share of the rate: one batch every `interval`.
    let interval = Duration::from_secs_f64(batch as f64 * clients as f64 / rate as f64);
    println!("load: {rate} events/s in batches of {batch} from {clients} clients for {seconds} s");
    runtime.block_on(async {
        let mut tasks = Vec::new();
        for k in 0..clients {
            let (url, city, latencies, sent) =
                (url.clone(), city.clone(), latencies.clone(), sent.clone());
            tasks.push(tokio::spawn(async move {
                let client = reqwest::Client::new();
                // Independent sources: each client's ticks are a fraction of the interval
                // after the one before's (all in step, every request would arrive with all
                // the others and wait for them).
                let phase = interval.mul_f64(k as f64 / clients as f64);
                let mut tick =
                    tokio::time::interval_at(tokio::time::Instant::now() + phase, interval);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                while Instant::now() < deadline {
                    tick.tick().await;
                    let body = city.lock().unwrap().batch(batch);
                    let at = Instant::now();
                    let response = client
                        .post(&url)
                        .header("content-type", "application/x-ndjson")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 200);
                    response.bytes().await.unwrap();
                    latencies.lock().unwrap().push(at.elapsed());
                    if trace {
                        eprintln!(
                            "request at {:.3} s: {:.2} ms",
                            (at - started).as_secs_f64(),
                            at.elapsed().as_secs_f64() * 1e3
                        );
                    }
                    sent.fetch_add(batch as u64, std::sync::atomic::Ordering::Relaxed);
                }
            }));
        }
        let memory = tokio::spawn(async move {
            while Instant::now() < deadline {
                tokio::time::sleep(Duration::from_secs(10)).await;
                println!(
                    "  t = {:>4} s  rss = {:.1} MiB",
                    started.elapsed().as_secs(),
                    rss_bytes() as f64 / (1024.0 * 1024.0)
                );
            }
        });
        for task in tasks {
            task.await.unwrap();
        }
        memory.abort();
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut latencies = latencies.lock().unwrap().clone();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    let events = sent.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "sent {events} events in {elapsed:.1} s: {:.0} events/s; request latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; rss {:.1} MiB",
        events as f64 / elapsed,
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        at(1.0).as_secs_f64() * 1e3,
        rss_bytes() as f64 / (1024.0 * 1024.0)
    );
    // The core's own time per event: what one node can take when the clients are elsewhere.
    let metrics = runtime.block_on(metrics_text(node.addr));
    let value = |name: &str| {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    println!(
        "{:.0} events run, {:.0} dead letters, {:.0} records",
        value("cbp_node_events_in_total"),
        metric_sum(&metrics, "cbp_node_records_total{kind=\"dead_letter\"}"),
        metric_sum(&metrics, "cbp_node_records_total{")
    );
    let core_seconds = value("cbp_node_commit_seconds_sum");
    let inputs = value("cbp_node_events_in_total");
    if inputs > 0.0 {
        println!(
            "core: {:.1} µs an event (journal, engine, records, commit): {:.0} events/s on one core",
            core_seconds / inputs * 1e6,
            inputs / core_seconds
        );
    }
    runtime.block_on(node.shutdown());
}
