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
//! `CBP_KAFKA_RATE=N` measures latency instead: N events a second for `CBP_KAFKA_SECS`
//! (default 60), produced while the node consumes; p50 and p99 from the producer's
//! timestamp to the message's batch committed (`cbp_node_kafka_seconds`), and from the
//! consumer taking it (`cbp_node_kafka_ingest_seconds`).
//! `CBP_KAFKA_BROKER=mock` runs the paced measure against librdkafka's in-process mock
//! cluster instead, a broker that answers each fetch with what it holds at once.
//! `CBP_KAFKA_LOG=1` prints librdkafka's logs (with `CBP_KAFKA_PROPS='"debug" = "fetch"'`,
//! its debug lines too).
//! `CBP_KAFKA_CORE_PRIORITY` sets `node.core_priority` (the core thread's nice value),
//! `CBP_KAFKA_BATCH` sets `kafka.batch`, and `CBP_KAFKA_LINGER_MS` the paced producer's
//! `linger.ms` (librdkafka's default is 5).
//! `CBP_KAFKA_FETCH_BYTES` sets
//! `max.partition.fetch.bytes`. `CBP_KAFKA_DRAIN=1` measures the broker and the client
//! alone: the same messages consumed in a group and dropped, no node.
//!
//! `cargo bench -p cbp-node --bench kafka`
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use common::{
    City, cpu_seconds, metric_sum, metrics_text, rss_bytes, state_dir, thread_cpu_seconds,
};
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
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
    let batch = std::env::var("CBP_KAFKA_BATCH")
        .map(|b| format!("batch = {b}\n"))
        .unwrap_or_default();
    let rate: Option<u64> = std::env::var("CBP_KAFKA_RATE")
        .ok()
        .and_then(|v| v.parse().ok());
    // The paced run against librdkafka's in-process mock cluster instead of tansu: a broker
    // that answers a fetch with what it has at once.
    let mock = std::env::var("CBP_KAFKA_BROKER").is_ok_and(|v| v == "mock");
    let seconds: u64 = std::env::var("CBP_KAFKA_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    if std::env::var("CBP_KAFKA_LOG").is_ok_and(|v| v == "1") {
        log_librdkafka();
    }
    let dir = state_dir();
    let node_config = |brokers: &str| {
        cbp_node::Config::from_toml(&format!(
            "[node]\ncore_priority = {core_priority}\n[http]\nlisten = \"127.0.0.1:0\"\n[state]\ndir = \"{}\"\n[clock]\nidle_advance = \"off\"\n\
             watermarks = \"{watermarks}\"\n[kafka]\nbrokers = \"{}\"\ngroup_id = \"bench\"\ntopics = [\"{EVENTS}\"]\noutput_topic = \"{RECORDS}\"\n{batch}{fetch_bytes}",
            dir.path().join("state").display(),
            brokers
        ))
        .unwrap()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        if let (Some(rate), true) = (rate, mock) {
            let cluster = rdkafka::mocking::MockCluster::new(1).unwrap();
            cluster.create_topic(EVENTS, partitions, 1).unwrap();
            cluster.create_topic(RECORDS, 3, 1).unwrap();
            let brokers = cluster.bootstrap_servers();
            paced(&brokers, node_config(&brokers), rate, seconds).await;
            return;
        }
        let Some(tansu) =
            support::Tansu::start(dir.path(), &[(EVENTS, partitions), (RECORDS, 3)]).await
        else {
            return;
        };
        if let Some(rate) = rate {
            paced(&tansu.brokers, node_config(&tansu.brokers), rate, seconds).await;
            return;
        }
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

        let config = node_config(&tansu.brokers);
        let started = Instant::now();
        let (node, _) = cbp_node::Node::start(config).await.unwrap();
        // From the first event consumed (the group join is not the node's rate) to the last.
        let mut first: Option<(Instant, f64, f64, ThreadSeconds)> = None;
        let threads = || thread_cpu_seconds(Some(tansu.pid()), "tansu (the broker)");
        let (elapsed, counted, cpu, by_thread) = loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let text = metrics_text(node.addr).await;
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
                break (
                    at.elapsed(),
                    events - before,
                    cpu_seconds() - cpu,
                    by_thread,
                );
            }
            if started.elapsed() > Duration::from_secs(600) {
                panic!("only {events} of {n} events consumed in 10 minutes");
            }
        };
        let text = metrics_text(node.addr).await;
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
                .find_map(|l| l
                    .strip_prefix("cbp_node_refused_total")?
                    .trim()
                    .parse::<f64>()
                    .ok())
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

/// Latency at a steady rate: the node joins the group (a first event tells it has), then a
/// producer thread sends `rate` events a second for `seconds`, each stamped by the producer;
/// the node's `cbp_node_kafka_seconds` histogram (producer's timestamp to the batch
/// committed) gives p50 and p99 over what came after the first tenth of the run.
async fn paced(brokers: &str, config: cbp_node::Config, rate: u64, seconds: u64) {
    use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
    let failures = Arc::new(AtomicU64::new(0));
    let mut producer_config = ClientConfig::new();
    producer_config
        .set("bootstrap.servers", brokers)
        .set("queue.buffering.max.messages", "1000000");
    if let Ok(linger) = std::env::var("CBP_KAFKA_LINGER_MS") {
        producer_config.set("linger.ms", linger);
    }
    let producer: ThreadedProducer<Failed> = producer_config
        .create_with_context(Failed(failures.clone()))
        .unwrap();
    let mut city = City::new();
    let send = |producer: &ThreadedProducer<Failed>, line: &str| loop {
        let zone = zone_in(line);
        match producer.send(BaseRecord::to(EVENTS).payload(line).key(zone)) {
            Ok(()) => break true,
            Err((e, _)) if e.to_string().contains("full") => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(_) => break false,
        }
    };
    assert!(send(&producer, &city.next_line()));
    let (node, _) = cbp_node::Node::start(config).await.unwrap();
    let metrics = || metrics_text(node.addr);
    let consumed = |text: &str| {
        metric_sum(text, "cbp_node_events_in_total")
            + metric_sum(text, "cbp_node_duplicates_total")
            + metric_sum(text, "cbp_node_refused_total")
    };
    while consumed(&metrics().await) < 1.0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let total = rate * seconds;
    let pacer = std::thread::spawn(move || {
        let start = Instant::now();
        let mut sent = 0u64;
        while sent < total {
            // Whatever is due by now goes out; then a millisecond's pause.
            let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
            while sent < due.min(total) {
                assert!(send(&producer, &city.next_line()));
                sent += 1;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        producer.flush(Duration::from_secs(30)).unwrap();
        start.elapsed()
    });
    // The first tenth is left out (the pipeline filling).
    tokio::time::sleep(Duration::from_secs(seconds.div_ceil(10))).await;
    const STAGES: [&str; 3] = [
        "cbp_node_kafka_seconds",
        "cbp_node_kafka_ingest_seconds",
        "cbp_node_commit_seconds",
    ];
    let before = metrics().await;
    let cpu = cpu_seconds();
    let sending = pacer.join().unwrap();
    let sent_at = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut text = metrics().await;
    while consumed(&text) < (total + 1) as f64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        text = metrics().await;
    }
    let drained = sent_at.elapsed();
    let cpu = cpu_seconds() - cpu;
    let [produced, taken, groups] = STAGES.map(|name| quantiles(&before, &text, name));
    println!(
        "kafka paced: {rate} events/s offered for {seconds} s, sent in {:.1} s; {:.0} of {} \
         consumed {:.1} s after the last was sent; producer to committed {produced}; \
         consumer to committed {taken}; a group's run and commit {groups}; process cpu {:.2} cores; rss {:.1} MiB",
        sending.as_secs_f64(),
        consumed(&text) - 1.0,
        total,
        drained.as_secs_f64(),
        cpu / sending.as_secs_f64(),
        rss_bytes() as f64 / (1024.0 * 1024.0)
    );
    if consumed(&text) < (total + 1) as f64 {
        // Where it stopped: what the consumer handed to the core, what the core ran and
        // logged, what the output topic's sink delivered.
        for name in [
            "cbp_node_source_messages_total",
            "cbp_node_events_in_total",
            "cbp_node_records_total",
            "cbp_node_sink_delivered_total",
        ] {
            println!("kafka paced: stalled; {name} {}", metric_sum(&text, name));
        }
        // Whether the messages reached the broker, and whether it serves them past that
        // point to a fresh consumer (one partition: the offset is the count consumed).
        let stopped = metric_sum(&text, "cbp_node_source_messages_total") as i64;
        let (read, last) = read_from(brokers, stopped);
        println!(
            "kafka paced: stalled; producer delivery failures {}; a fresh consumer from offset \
             {stopped} read {read} messages, the last at offset {last}",
            failures.load(Ordering::Relaxed),
        );
    }
    node.shutdown().await;
}

/// librdkafka's own logs, debug included (its `debug` property says which), on standard
/// error.
fn log_librdkafka() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(
                    Targets::new()
                        .with_default(tracing::Level::WARN)
                        .with_target("librdkafka", tracing::Level::DEBUG),
                ),
        )
        .init();
}

/// Counts the messages the producer could not deliver (the default context drops them
/// unseen).
struct Failed(Arc<AtomicU64>);

impl rdkafka::ClientContext for Failed {}

impl rdkafka::producer::ProducerContext for Failed {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &rdkafka::message::DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result
            && self.0.fetch_add(1, Ordering::Relaxed) == 0
        {
            eprintln!("kafka paced: a delivery failed: {e}");
        }
    }
}

/// Reads partition 0 of the events topic from `from` until nothing comes for 5 s: how many
/// messages, and the last one's offset.
fn read_from(brokers: &str, from: i64) -> (u64, i64) {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::Message;
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("read-from-{from}"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut list = rdkafka::TopicPartitionList::new();
    list.add_partition_offset(EVENTS, 0, rdkafka::Offset::Offset(from))
        .unwrap();
    consumer.assign(&list).unwrap();
    let (mut read, mut last) = (0, -1);
    while let Some(message) = consumer.poll(Duration::from_secs(5)) {
        if let Ok(message) = message {
            read += 1;
            last = message.offset();
        }
    }
    (read, last)
}

/// p50 and p99 of histogram `name` over what it counted between two `/metrics` texts, as
/// bucket ranges, and how many it counted.
fn quantiles(before: &str, after: &str, name: &str) -> String {
    let buckets: Vec<(f64, f64)> = histogram(after, name)
        .iter()
        .zip(&histogram(before, name))
        .map(|((le, a), (_, b))| (*le, a - b))
        .collect();
    let count = buckets.last().map_or(0.0, |(_, n)| *n);
    let quantile = |q: f64| {
        let mut below = 0.0;
        for (le, n) in &buckets {
            if *n >= q * count {
                return format!("{:.1}–{:.1} ms", below * 1e3, le * 1e3);
            }
            below = *le;
        }
        "beyond the buckets".to_string()
    };
    format!(
        "p50 {}, p99 {} (of {count:.0})",
        quantile(0.5),
        quantile(0.99)
    )
}

/// A histogram's cumulative buckets from a `/metrics` text: (upper bound in s, count), the
/// last one `+Inf`.
fn histogram(text: &str, name: &str) -> Vec<(f64, f64)> {
    let prefix = format!("{name}_bucket{{le=\"");
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(&prefix)?;
            let (le, count) = rest.split_once("\"} ")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, count.trim().parse().ok()?))
        })
        .collect()
}

/// The `zone` of an event line, found without parsing it (the paced producer's key).
fn zone_in(line: &str) -> &str {
    line.split_once("\"zone\":\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map_or("", |(zone, _)| zone)
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
