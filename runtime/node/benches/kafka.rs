//! Throughput through Kafka: `CBP_KAFKA_EVENTS` events (default 200,000) of the endless city
//! are produced to a topic of a real Kafka-protocol broker (tansu, as the end-to-end tests
//! start it; `CBP_TANSU` or `PATH`) before the node starts; then the node consumes them in
//! its group and the time until every one is committed (journaled, run, logged, offsets
//! committed after) gives events/s. Records also go back out to an output topic, keyed by
//! zone, as a deployed node does.
//!
//! `cargo bench -p cbp-node --bench kafka`
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use common::{City, rss_bytes, state_dir};
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::time::{Duration, Instant};

const EVENTS: &str = "bench.events";
const RECORDS: &str = "bench.records";

fn main() {
    if std::env::args().skip(1).any(|a| !a.starts_with("--")) {
        return;
    }
    let n: usize = std::env::var("CBP_KAFKA_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = state_dir();
    runtime.block_on(async {
        let Some(tansu) = support::Tansu::start(dir.path(), &[(EVENTS, 1), (RECORDS, 3)]).await
        else {
            return;
        };
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", &tansu.brokers)
            .set("linger.ms", "20")
            .set("batch.num.messages", "10000")
            .create()
            .unwrap();
        let mut city = City::new();
        let produced = Instant::now();
        let mut deliveries = Vec::with_capacity(n);
        for _ in 0..n {
            let line = city.next_line();
            loop {
                match producer.send_result(FutureRecord::<(), _>::to(EVENTS).payload(&line)) {
                    Ok(delivery) => {
                        deliveries.push(delivery);
                        break;
                    }
                    // The producer's queue is full: let it drain.
                    Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                }
            }
        }
        for delivery in deliveries {
            delivery.await.unwrap().unwrap();
        }
        println!(
            "kafka: {n} events produced to tansu in {:.1} s",
            produced.elapsed().as_secs_f64()
        );

        let config = cbp_node::Config::from_toml(&format!(
            "[http]\nlisten = \"127.0.0.1:0\"\n[state]\ndir = \"{}\"\n[clock]\nidle_advance = \"off\"\n\
             [kafka]\nbrokers = \"{}\"\ngroup_id = \"bench\"\ntopics = [\"{EVENTS}\"]\noutput_topic = \"{RECORDS}\"\n",
            dir.path().join("state").display(),
            tansu.brokers
        ))
        .unwrap();
        let started = Instant::now();
        let (node, _) = cbp_node::Node::start(config).await.unwrap();
        let metrics_url = format!("http://{}/metrics", node.addr);
        // From the first event consumed (the group join is not the node's rate) to the last.
        let mut first: Option<(Instant, f64)> = None;
        let (elapsed, counted) = loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let text = reqwest::get(&metrics_url).await.unwrap().text().await.unwrap();
            let value = |name: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            let events = value("cbp_node_events_in_total") + value("cbp_node_duplicates_total");
            if first.is_none() && events > 0.0 {
                first = Some((Instant::now(), events));
            }
            if events as usize >= n {
                let (at, before) = first.unwrap_or((started, 0.0));
                break (at.elapsed(), events - before);
            }
            if started.elapsed() > Duration::from_secs(600) {
                panic!("only {events} of {n} events consumed in 10 minutes");
            }
        };
        println!(
            "kafka: {counted:.0} events consumed, run and committed in {:.2} s: {:.0} events/s \
             (node started and joined the group in {:.1} s); rss {:.1} MiB",
            elapsed.as_secs_f64(),
            counted / elapsed.as_secs_f64(),
            (started.elapsed() - elapsed).as_secs_f64(),
            rss_bytes() as f64 / (1024.0 * 1024.0)
        );
        node.shutdown().await;
    });
}
