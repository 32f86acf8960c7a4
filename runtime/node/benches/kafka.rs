//! Throughput through Kafka: `CBP_KAFKA_EVENTS` events (default 200,000) of the endless city
//! are produced to a topic of a real Kafka-protocol broker (tansu, as the end-to-end tests
//! start it; `CBP_TANSU` or `PATH`) before the node starts; then the node consumes them in
//! its group and the time until every one is committed (journaled, run, logged, offsets
//! committed after) gives events/s. Records also go back out to an output topic, keyed by
//! zone, as a deployed node does.
//!
//! `CBP_KAFKA_PARTITIONS` (default 1) partitions the input topic; each event is keyed by its
//! zone, as a city partitions its feed. With more than one partition the node keeps a
//! watermark per partition (`clock.watermarks = "per_source"`), or the partitions' events,
//! handed over a run of one partition after a run of another, would be late against each
//! other; `CBP_KAFKA_WATERMARKS=global` keeps one clock anyway. librdkafka hands the node
//! each partition's prefetched backlog a run at a time (up to 100,000 messages, days of the
//! city's time), so the partitions are run far apart; the consumer tells the core which
//! partitions it has and which still have a backlog on the broker, and those hold the timers
//! back (a partition with no event yet holds them where they are), so no event falls behind
//! the timers (`README.md`, *Per-source watermarks*): the dead letters printed are the
//! city's own, five malformed events a day and the one event a day ten minutes behind its
//! predecessor (late for its partition as for one clock: refused on arrival).
//! `CBP_KAFKA_CORE_PRIORITY` sets `node.core_priority` (the core thread's nice value).
//! `CBP_KAFKA_FETCH_BYTES` sets
//! `max.partition.fetch.bytes`. `CBP_KAFKA_DRAIN=1` measures the broker and the client
//! alone: the same messages consumed in a group and dropped, no node.
//!
//! `cargo bench -p cbp-node --bench kafka`
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use common::{City, cpu_seconds, metric_sum, rss_bytes, state_dir, thread_cpu_seconds};
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
    let partitions: i32 = std::env::var("CBP_KAFKA_PARTITIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&p| p > 0)
        .unwrap_or(1);
    let drain = std::env::var("CBP_KAFKA_DRAIN").is_ok_and(|v| v == "1");
    let fetch_bytes = std::env::var("CBP_KAFKA_FETCH_BYTES")
        .ok()
        .map(|bytes| format!("properties = {{ \"max.partition.fetch.bytes\" = \"{bytes}\" }}\n"))
        .or_else(|| {
            std::env::var("CBP_KAFKA_PROPS")
                .ok()
                .map(|p| format!("properties = {{ {p} }}\n"))
        })
        .unwrap_or_default();
    let watermarks = std::env::var("CBP_KAFKA_WATERMARKS").unwrap_or_else(|_| {
        if partitions > 1 {
            "per_source"
        } else {
            "global"
        }
        .to_string()
    });
    // `node.core_priority` (0: as started).
    let core_priority: i32 = std::env::var("CBP_KAFKA_CORE_PRIORITY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = state_dir();
    runtime.block_on(async {
        let Some(tansu) =
            support::Tansu::start(dir.path(), &[(EVENTS, partitions), (RECORDS, 3)]).await
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
            let zone = zone_of(&line);
            loop {
                let message = FutureRecord::to(EVENTS).payload(&line).key(&zone);
                match producer.send_result(message) {
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
            "kafka: {n} events produced to tansu ({partitions} partition(s), keyed by zone) in \
             {:.1} s",
            produced.elapsed().as_secs_f64()
        );
        if drain {
            drain_only(&tansu.brokers, n).await;
            return;
        }

        let config = cbp_node::Config::from_toml(&format!(
            "[node]\ncore_priority = {core_priority}\n[http]\nlisten = \"127.0.0.1:0\"\n[state]\ndir = \"{}\"\n[clock]\nidle_advance = \"off\"\n\
             watermarks = \"{watermarks}\"\n[kafka]\nbrokers = \"{}\"\ngroup_id = \"bench\"\ntopics = [\"{EVENTS}\"]\noutput_topic = \"{RECORDS}\"\n{fetch_bytes}",
            dir.path().join("state").display(),
            tansu.brokers
        ))
        .unwrap();
        let started = Instant::now();
        let (node, _) = cbp_node::Node::start(config).await.unwrap();
        let metrics_url = format!("http://{}/metrics", node.addr);
        // From the first event consumed (the group join is not the node's rate) to the last.
        let mut first: Option<(Instant, f64, f64, ThreadSeconds)> = None;
        let threads = || thread_cpu_seconds(Some(tansu.pid()), "tansu (the broker)");
        let (elapsed, counted, cpu, by_thread) = loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let text = reqwest::get(&metrics_url).await.unwrap().text().await.unwrap();
            let value = |name: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            // Run, recognised as redelivered, or refused on arrival (late for its partition).
            let events = value("cbp_node_events_in_total")
                + value("cbp_node_duplicates_total")
                + value("cbp_node_refused_total");
            if first.is_none() && events > 0.0 {
                first = Some((Instant::now(), events, cpu_seconds(), threads()));
            }
            if events as usize >= n {
                let (at, before, cpu, threads_before) =
                    first.take().unwrap_or((started, 0.0, 0.0, Vec::new()));
                let by_thread: ThreadSeconds = threads()
                    .into_iter()
                    .map(|(name, seconds)| {
                        let before = threads_before.iter().find(|(n, _)| *n == name);
                        (name, seconds - before.map_or(0.0, |(_, s)| *s))
                    })
                    .filter(|(_, seconds)| *seconds > 0.0)
                    .collect();
                break (at.elapsed(), events - before, cpu_seconds() - cpu, by_thread);
            }
            if started.elapsed() > Duration::from_secs(600) {
                panic!("only {events} of {n} events consumed in 10 minutes");
            }
        };
        let text = reqwest::get(&metrics_url).await.unwrap().text().await.unwrap();
        let dead_letters = metric_sum(&text, "cbp_node_records_total{kind=\"dead_letter\"}");
        println!(
            "kafka: {counted:.0} events consumed, run and committed in {:.2} s: {:.0} events/s \
             (node started and joined the group in {:.1} s; watermarks {watermarks}; \
             {dead_letters:.0} dead letters, {:.0} of them refused on arrival); rss {:.1} MiB; \
             cpu {:.2} µs an event (the node's every thread, and this bench's producer)",
            elapsed.as_secs_f64(),
            counted / elapsed.as_secs_f64(),
            (started.elapsed() - elapsed).as_secs_f64(),
            text.lines()
                .find_map(|l| l.strip_prefix("cbp_node_refused_total")?.trim().parse::<f64>().ok())
                .unwrap_or(0.0),
            rss_bytes() as f64 / (1024.0 * 1024.0),
            cpu * 1e6 / counted
        );
        // Which thread the CPU went to, and the broker's share (10 ms ticks: a rough split).
        let split: Vec<String> = by_thread
            .iter()
            .map(|(name, seconds)| format!("{name} {:.2}", seconds * 1e6 / counted))
            .collect();
        println!("kafka: cpu µs an event by thread: {}", split.join(", "));
        node.shutdown().await;
    });
}

/// CPU seconds by thread name (`common::thread_cpu_seconds`).
type ThreadSeconds = Vec<(String, f64)>;

/// The event's `zone` (its key: a city's feed is partitioned by zone).
fn zone_of(line: &str) -> String {
    serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|event| Some(event.get("zone")?.as_str()?.to_string()))
        .unwrap_or_default()
}

/// The broker and the client alone: `n` messages consumed in a group (as the node's source
/// consumes them, a `StreamConsumer`), each payload checked as text and dropped.
async fn drain_only(brokers: &str, n: usize) {
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::message::Message;
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "drain")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&[EVENTS]).unwrap();
    let started = Instant::now();
    let mut first: Option<Instant> = None;
    let mut bytes = 0usize;
    for _ in 0..n {
        let message = consumer.recv().await.unwrap();
        first.get_or_insert_with(Instant::now);
        bytes += std::str::from_utf8(message.payload().unwrap_or_default())
            .map(str::len)
            .unwrap_or(0);
    }
    let at = first.unwrap_or(started);
    println!(
        "kafka drain: {n} messages ({:.0} MB) consumed in {:.2} s: {:.0} messages/s (joined \
         the group in {:.1} s)",
        bytes as f64 / 1e6,
        at.elapsed().as_secs_f64(),
        n as f64 / at.elapsed().as_secs_f64(),
        (at - started).as_secs_f64()
    );
}
