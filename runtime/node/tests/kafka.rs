//! The node's Kafka source and sink against real Kafka-protocol brokers: librdkafka's mock
//! cluster (in-process, always there) and tansu (a separate broker program, found through
//! `CBP_TANSU` or `PATH`; CI installs it, see `.ci/run`).
//!
//! Events produced to a topic must give the log `cbpc run` gives, byte for byte; the records
//! must come out on the output topic keyed by zone, in order within each partition; the
//! group's committed offset must cover every event; and a node killed with `kill -9` in the
//! middle of the stream and started again must still hold every record exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod support;

use common::*;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::*;

const EVENTS: &str = "cbp.events";
const RECORDS: &str = "cbp.records";
/// Partitions of the output topic: more than one, so keying by zone is seen to matter.
const RECORD_PARTITIONS: i32 = 3;

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn idempotent_producer(brokers: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create()
        .unwrap()
}

/// Produces the lines to the topic in order (one partition, an idempotent producer).
async fn produce(brokers: &str, lines: &[String]) {
    let producer = idempotent_producer(brokers);
    let deliveries: Vec<_> = lines
        .iter()
        .map(|line| {
            producer
                .send_result(FutureRecord::<(), _>::to(EVENTS).payload(line.as_str()))
                .map_err(|(e, _)| e)
                .unwrap()
        })
        .collect();
    for delivery in deliveries {
        delivery.await.unwrap().map_err(|(e, _)| e).unwrap();
    }
}

/// The `[kafka]` section of a node reading `EVENTS` and writing `RECORDS`. Short sessions,
/// so a killed member leaves the group in seconds rather than the default 45.
fn kafka_section(brokers: &str, group: &str) -> String {
    format!(
        r#"
        [kafka]
        brokers = "{brokers}"
        group_id = "{group}"
        topics = ["{EVENTS}"]
        output_topic = "{RECORDS}"
        [kafka.properties]
        "session.timeout.ms" = "6000"
        "heartbeat.interval.ms" = "500"
        "topic.metadata.refresh.interval.ms" = "1000"
        "statistics.interval.ms" = "200"
        "#
    )
}

/// Waits until the group has committed offset `n` on the single partition of `EVENTS`.
async fn wait_for_committed(brokers: &str, group: &str, n: i64) {
    wait_for_committed_all(brokers, group, &BTreeMap::from([(0, n)])).await;
}

/// The output topic as (partition, key, payload), read from the beginning until `n`
/// messages are in or nothing more comes.
async fn read_records(brokers: &str, n: usize) -> Vec<(i32, String, String)> {
    read_messages(brokers, n)
        .await
        .into_iter()
        .map(|(partition, key, payload)| (partition, key, String::from_utf8(payload).unwrap()))
        .collect()
}

/// The output topic as (partition, key, payload bytes), as [`read_records`] reads it.
async fn read_messages(brokers: &str, n: usize) -> Vec<(i32, String, Vec<u8>)> {
    let brokers = brokers.to_string();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("group.id", "cbp-test-reader")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut partitions = TopicPartitionList::new();
        for partition in 0..RECORD_PARTITIONS {
            partitions
                .add_partition_offset(RECORDS, partition, Offset::Beginning)
                .unwrap();
        }
        consumer.assign(&partitions).unwrap();
        let mut out = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut quiet_since = Instant::now();
        while Instant::now() < deadline {
            // Past `n`, a few quiet seconds show whether anything was written twice.
            if out.len() >= n && quiet_since.elapsed() > Duration::from_secs(2) {
                break;
            }
            match consumer.poll(Duration::from_millis(200)) {
                Some(Ok(message)) => {
                    out.push((
                        message.partition(),
                        String::from_utf8(message.key().unwrap_or_default().to_vec()).unwrap(),
                        message.payload().unwrap_or_default().to_vec(),
                    ));
                    quiet_since = Instant::now();
                }
                Some(Err(e)) => eprintln!("reading {RECORDS}: {e}"),
                None => {}
            }
        }
        out
    })
    .await
    .unwrap()
}

/// The zone a record concerns (what the node keys it by).
fn zone(record: &str) -> String {
    let record: Value = serde_json::from_str(record).unwrap();
    record
        .get("node")
        .or_else(|| record.get("from").and_then(|f| f.get("node")))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The output topic against the expected log: each message keyed by its record's zone,
/// each zone in one partition, and each partition holding its zones' records in the log's
/// order. With `exactly_once` false (after a crash) a record may be there more than once
/// (the sink is at-least-once), but only as a repeat of what came just before.
fn check_output_topic(messages: &[(i32, String, String)], expected: &str, exactly_once: bool) {
    let mut partition_of: HashMap<&str, i32> = HashMap::new();
    let mut by_partition: BTreeMap<i32, Vec<&str>> = BTreeMap::new();
    for (partition, key, payload) in messages {
        assert_eq!(*key, zone(payload), "the key of {payload}");
        let first = *partition_of.entry(key.as_str()).or_insert(*partition);
        assert_eq!(first, *partition, "zone `{key}` is in two partitions");
        by_partition
            .entry(*partition)
            .or_default()
            .push(payload.as_str());
    }
    let expected: Vec<(String, &str)> = expected.lines().map(|l| (zone(l), l)).collect();
    let zones: std::collections::BTreeSet<&str> =
        expected.iter().map(|(z, _)| z.as_str()).collect();
    assert!(zones.len() > 1, "the records concern several zones");
    for (zone, _) in &expected {
        assert!(
            partition_of.contains_key(zone.as_str()),
            "no record of zone `{zone}` on {RECORDS}"
        );
    }
    for (partition, mut got) in by_partition {
        let want: Vec<&str> = expected
            .iter()
            .filter(|(zone, _)| partition_of[zone.as_str()] == partition)
            .map(|(_, line)| *line)
            .collect();
        if !exactly_once {
            got = without_redeliveries(&got, &want);
        }
        assert_eq!(got.len(), want.len(), "records on partition {partition}");
        assert!(got == want, "partition {partition} is out of order");
    }
}

/// `got` with the stretches that repeat records already seen taken out: a sink restarted
/// after a crash sends its batch in flight again, so its partition reads `a b c b c d`.
fn without_redeliveries<'a>(got: &[&'a str], want: &[&str]) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for line in got {
        if out.len() < want.len() && want[out.len()] == *line {
            out.push(line);
        } else {
            assert!(
                want[..out.len()].contains(line),
                "{line} is on {RECORDS} but is neither the next record nor a repeat"
            );
        }
    }
    out
}

/// librdkafka's mock cluster: the node consumes 2,000 events, writes the log `cbpc run`
/// writes, commits the offsets and writes every record to the output topic once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_cluster_events_give_what_cbpc_run_gives() {
    let dir = tempfile::tempdir().unwrap();
    let events = city_day_prefix(dir.path(), 2000);
    let expected = cbpc_run(&events, &[]);
    assert!(expected.lines().count() > 100, "the prefix decides things");
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic(EVENTS, 1, 1).unwrap();
    cluster.create_topic(RECORDS, RECORD_PARTITIONS, 1).unwrap();
    let brokers = cluster.bootstrap_servers();
    produce(&brokers, &lines(&events)).await;

    let started = Instant::now();
    let config = test_config(dir.path(), &kafka_section(&brokers, "cbp-mock"));
    let (node, base) = start(config).await;
    wait_for_records(
        &base,
        expected.lines().count() as u64,
        Duration::from_secs(120),
    )
    .await;
    eprintln!(
        "2000 events through the mock cluster in {:?}",
        started.elapsed()
    );
    assert_eq!(records(&base).await, expected);
    wait_for_committed(&brokers, "cbp-mock", 2000).await;
    let messages = read_records(&brokers, expected.lines().count()).await;
    check_output_topic(&messages, &expected, true);
    // librdkafka's statistics give the partition's lag: none once all is committed.
    let lag = format!("cbp_node_kafka_lag{{topic=\"{EVENTS}\",partition=\"0\"}} ");
    let caught_up = |text: &str| text.lines().any(|l| l.strip_prefix(&lag) == Some("0"));
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut text = metrics(&base).await;
    while !caught_up(&text) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        text = metrics(&base).await;
    }
    assert!(caught_up(&text), "{lag}0 not in {text}");
    node.shutdown().await;
}

/// The same through a real Kafka-protocol broker in its own process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tansu_events_give_what_cbpc_run_gives() {
    let dir = tempfile::tempdir().unwrap();
    let Some(tansu) = Tansu::start(dir.path(), &[(EVENTS, 1), (RECORDS, RECORD_PARTITIONS)]).await
    else {
        return;
    };
    let events = city_day_prefix(dir.path(), 2000);
    let expected = cbpc_run(&events, &[]);
    produce(&tansu.brokers, &lines(&events)).await;

    let started = Instant::now();
    let config = test_config(dir.path(), &kafka_section(&tansu.brokers, "cbp-tansu"));
    let (node, base) = start(config).await;
    wait_for_records(
        &base,
        expected.lines().count() as u64,
        Duration::from_secs(180),
    )
    .await;
    eprintln!("2000 events through tansu in {:?}", started.elapsed());
    assert_eq!(records(&base).await, expected);
    wait_for_committed(&tansu.brokers, "cbp-tansu", 2000).await;
    let messages = read_records(&tansu.brokers, expected.lines().count()).await;
    check_output_topic(&messages, &expected, true);
    let text = metrics(&base).await;
    // Every message's time from its producer, and from the consumer taking it, to its
    // batch committed was counted.
    for name in ["cbp_node_kafka_seconds", "cbp_node_kafka_ingest_seconds"] {
        let count = text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}_count ")))
            .and_then(|n| n.trim().parse::<u64>().ok());
        assert_eq!(count, Some(2000), "{name}: {text}");
    }
    node.shutdown().await;
}

/// The real `cbp-node` binary reading from tansu, its config in `dir`. Its duplicate window
/// covers the whole stream: after a crash the group reads again from the last committed
/// offset, up to a whole batch (2,048 messages, hours of the city's day) back.
fn spawn_node(dir: &Path, port: u16, brokers: &str) -> Service {
    let rest = format!(
        "[clock]\nlateness = \"0s\"\nidle_advance = \"off\"\n{}",
        kafka_section(brokers, "cbp-kill")
    );
    Service {
        child: spawn_binary(dir, port, &rest),
    }
}

fn node_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("node.log")).unwrap_or_default()
}

/// Waits until the node's log holds at least `n` records, showing the node's own log if
/// it does not come.
async fn wait_for_at_least(base: &str, n: u64, dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if record_count(base).await.is_some_and(|count| count >= n) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the node did not reach {n} records:\n{}",
            node_log(dir)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `kill -9` twice while the events stream in from tansu: offsets are committed only after
/// the node's state, so the events after the last commit come again, and the node must not
/// decide them twice. The log ends as `cbpc run` writes it, the offsets cover every event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tansu_kill_9_mid_stream_gives_every_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let Some(tansu) = Tansu::start(dir.path(), &[(EVENTS, 1), (RECORDS, RECORD_PARTITIONS)]).await
    else {
        return;
    };
    let events = city_day_prefix(dir.path(), 4000);
    let expected = cbpc_run(&events, &[]);
    let total = expected.lines().count() as u64;
    let lines = lines(&events);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");

    let started = Instant::now();
    produce(&tansu.brokers, &lines[..1000]).await;
    let mut node = spawn_node(dir.path(), port, &tansu.brokers);
    // The rest streams in while the node runs and is killed.
    let producer = {
        let (brokers, rest) = (tansu.brokers.clone(), lines[1000..].to_vec());
        tokio::spawn(async move {
            for chunk in rest.chunks(100) {
                produce(&brokers, chunk).await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    // Killed once a quarter of the records is in, and again once the restarted node has
    // taken another eighth from the topic.
    let mut kill_at = total / 4;
    for _ in 0..2 {
        wait_for_at_least(&base, kill_at, dir.path()).await;
        node.stop(); // SIGKILL
        node = spawn_node(dir.path(), port, &tansu.brokers);
        wait_for_at_least(&base, 0, dir.path()).await;
        kill_at = record_count(&base).await.unwrap() + total / 8;
    }
    producer.await.unwrap();
    wait_for_at_least(&base, total, dir.path()).await;
    wait_for_committed(&tansu.brokers, "cbp-kill", lines.len() as i64).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let got = records(&base).await;
    eprintln!(
        "4000 events, two kill -9, through tansu in {:?}",
        started.elapsed()
    );
    let log = node_log(dir.path());
    assert!(
        log.matches("journaled inputs replayed").count() >= 3,
        "{log}"
    );
    assert_eq!(got.lines().count(), expected.lines().count(), "{log}");
    assert_eq!(got, expected);
    let messages = read_records(&tansu.brokers, expected.lines().count()).await;
    check_output_topic(&messages, &expected, false);
    node.stop();
}

/// The node's log with the input numbers of dead letters left out: ticks of the watermarks
/// are journaled inputs too, so they count where `cbpc run` counts lines.
fn without_dead_letter_lines(log: &str) -> Vec<Value> {
    log.lines()
        .map(|line| {
            let mut record: Value = serde_json::from_str(line).unwrap();
            if record["kind"] == "dead_letter" {
                record["line"] = Value::Null;
            }
            record
        })
        .collect()
}

/// Records out as protobuf (`output_format = "proto"`), and events in with per-source
/// watermarks: the one partition is the one source, so with no lateness the node decides
/// what `cbpc run` decides; each message on the output topic is the `cbp.v1.Record` of a
/// record of the log, keyed by its zone, in the log's order within its partition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_cluster_records_out_as_protobuf_with_per_source_watermarks() {
    use cbp_runtime::proto::{OutputRecord, record_json, record_json_to_proto};
    use prost::Message as _;
    let dir = tempfile::tempdir().unwrap();
    let events = city_day_prefix(dir.path(), 2000);
    let expected = cbpc_run(&events, &[]);
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic(EVENTS, 1, 1).unwrap();
    cluster.create_topic(RECORDS, RECORD_PARTITIONS, 1).unwrap();
    let brokers = cluster.bootstrap_servers();
    produce(&brokers, &lines(&events)).await;

    let section = kafka_section(&brokers, "cbp-proto").replace(
        "[kafka.properties]",
        "output_format = \"proto\"\n[kafka.properties]",
    );
    let config = test_config(
        dir.path(),
        &format!("watermarks = \"per_source\"\n{section}"),
    );
    let (node, base) = start(config).await;
    let total = expected.lines().count();
    wait_for_records(&base, total as u64, Duration::from_secs(120)).await;
    let log = records(&base).await;
    assert_eq!(
        without_dead_letter_lines(&log),
        without_dead_letter_lines(&expected)
    );
    let status = get_json(format!("{base}/api/v1/status")).await;
    assert_eq!(
        status["watermarks"]["sources"][0]["source"],
        format!("kafka:{EVENTS}/0"),
        "{status}"
    );

    let messages = read_messages(&brokers, total).await;
    assert_eq!(messages.len(), total);
    // Each message decoded, back as JSON, against the log's records of its partition.
    let mut partition_of: HashMap<String, i32> = HashMap::new();
    let mut by_partition: BTreeMap<i32, Vec<OutputRecord>> = BTreeMap::new();
    for (partition, key, payload) in &messages {
        let message = OutputRecord::decode(payload.as_slice()).unwrap();
        let json = record_json(&message);
        assert_eq!(*key, zone(&json.to_string()), "the key of {json}");
        assert_eq!(
            *partition_of.entry(key.clone()).or_insert(*partition),
            *partition
        );
        by_partition.entry(*partition).or_default().push(message);
    }
    for (partition, got) in by_partition {
        let want: Vec<&str> = log
            .lines()
            .filter(|line| partition_of.get(&zone(line)) == Some(&partition))
            .collect();
        assert_eq!(got.len(), want.len(), "records on partition {partition}");
        for (got, line) in got.iter().zip(want) {
            // Read exactly, as the sink reads it.
            let record = cbp_node::record_proto::exact_json(line).unwrap();
            // The message is the record's `cbp.v1.Record`, and reads back as the record.
            assert_eq!(*got, record_json_to_proto(&record).unwrap(), "{line}");
            let read_back = record_json(got);
            let mut want = record;
            // The delivered `message` of an escalation or command, where the `.proto` has
            // no field for it yet.
            if read_back.get("message").is_none() {
                want.as_object_mut().unwrap().remove("message");
            }
            assert_eq!(read_back, want, "{line}");
        }
    }
    node.shutdown().await;
}

/// Partitions of the input topic in the backlog test.
const BACKLOG_PARTITIONS: i32 = 4;

/// The event types whose decisions stay within their zone: speeding (a decision, its
/// 30-minute deadline, the fine), and the readings the neighbourhood reports count. Left
/// out: what a district or the city correlates across zones (flood warnings, emergency
/// calls, whose consequences depend on which partition's events the node ran first) and
/// approval answers (keyed by the officer's zone, not the decision's).
const ZONE_LOCAL_TYPES: [&str; 5] = [
    "violation_event",
    "traffic_status",
    "air_quality_alert",
    "waste_bin_full",
    "resource_status",
];

/// A backlog of the city's day whose decisions are the same in any interleaving of its
/// zones: the zone-local events of the shipped day (every neighbourhood, in time order; left
/// out the deliberately malformed ones, and the one event behind an earlier one: late for
/// the global clock, it may not be for its own partition), then a closing reading in every zone an hour after the last event,
/// so every partition's watermark reaches one time and every deadline before it fires.
fn zone_local_backlog(dir: &Path) -> (PathBuf, Vec<(String, String)>) {
    use cbp_runtime::time::{format_rfc3339, parse_rfc3339};
    let text = std::fs::read_to_string(repo().join("examples/city-day.ndjson")).unwrap();
    let mut lines = Vec::new();
    let mut latest = i64::MIN;
    let mut zones = std::collections::BTreeSet::new();
    for line in text.lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let (Some(kind), Some(zone), Some(time)) = (
            event["type"].as_str(),
            event["zone"].as_str(),
            event["timestamp"].as_str().and_then(parse_rfc3339),
        ) else {
            continue;
        };
        let malformed = event["event_id"]
            .as_str()
            .is_none_or(|id| id.starts_with("bad-"));
        if malformed
            || !ZONE_LOCAL_TYPES.contains(&kind)
            || zone.split('.').count() != 4
            || time < latest
        {
            continue;
        }
        latest = time;
        zones.insert(zone.to_string());
        lines.push((zone.to_string(), line.to_string()));
    }
    let end = format_rfc3339(latest + 3_600_000);
    for (i, zone) in zones.iter().enumerate() {
        let closing = format!(
            r#"{{"event_id":"end-{i}","model_id":"waste-sensor-net","type":"waste_bin_full","timestamp":"{end}","location":{{"latitude":12.9716,"longitude":77.5946}},"zone":"{zone}","severity":"low","confidence":0.97,"metadata":{{}},"payload":{{"bin_id":"bin-end-{i}","fill_pct":40}}}}"#
        );
        lines.push((zone.clone(), closing));
    }
    let path = dir.join("zone-local-backlog.ndjson");
    let body: String = lines.iter().map(|(_, line)| format!("{line}\n")).collect();
    std::fs::write(&path, body).unwrap();
    (path, lines)
}

/// Produces each line keyed by its zone (as a city partitions its feed); the offset after
/// the last message of each partition.
async fn produce_keyed(brokers: &str, lines: &[(String, String)]) -> BTreeMap<i32, i64> {
    let producer = idempotent_producer(brokers);
    let deliveries: Vec<_> = lines
        .iter()
        .map(|(zone, line)| {
            producer
                .send_result(
                    FutureRecord::to(EVENTS)
                        .payload(line.as_str())
                        .key(zone.as_str()),
                )
                .map_err(|(e, _)| e)
                .unwrap()
        })
        .collect();
    let mut ends = BTreeMap::new();
    for delivery in deliveries {
        let delivered = delivery.await.unwrap().map_err(|(e, _)| e).unwrap();
        let end = ends.entry(delivered.partition).or_insert(0);
        *end = (*end).max(delivered.offset + 1);
    }
    ends
}

/// Waits until the group has committed, on every partition of `EVENTS`, the offset given.
async fn wait_for_committed_all(brokers: &str, group: &str, ends: &BTreeMap<i32, i64>) {
    let (brokers, group, ends) = (brokers.to_string(), group.to_string(), ends.clone());
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("group.id", &group)
            .create()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(180);
        let mut last = Vec::new();
        while Instant::now() < deadline {
            let mut partitions = TopicPartitionList::new();
            for &partition in ends.keys() {
                partitions.add_partition(EVENTS, partition);
            }
            if let Ok(committed) = consumer.committed_offsets(partitions, Duration::from_secs(5)) {
                last = ends
                    .keys()
                    .map(|&p| committed.find_partition(EVENTS, p).map(|e| e.offset()))
                    .collect();
                let want: Vec<_> = ends.values().map(|&n| Some(Offset::Offset(n))).collect();
                if last == want {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("the group's committed offsets are {last:?}, not {ends:?}");
    })
    .await
    .unwrap();
}

/// The records of a log that are decisions and what follows from them (the neighbourhood
/// reports left out: a window counts the messages that arrive while it is open, which
/// depends on how the partitions interleave), sorted.
fn decisions_sorted(log: &str) -> Vec<String> {
    let mut out: Vec<String> = log
        .lines()
        .filter(|line| !line.starts_with(r#"{"kind":"report""#))
        .map(str::to_string)
        .collect();
    out.sort();
    out
}

/// Each zone's decisions (kind `decision`), in the order they were made.
fn decisions_by_zone(log: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in log.lines() {
        if line.starts_with(r#"{"kind":"decision""#) {
            out.entry(zone(line)).or_default().push(line.to_string());
        }
    }
    out
}

/// No event of the node's `log` was dead-lettered, and its decisions are those of `cbpc
/// run`'s `expected`, each zone's in the same order.
fn assert_ran_as_cbpc_run(log: &str, expected: &str, context: &str) {
    let dead: Vec<&str> = log
        .lines()
        .filter(|line| line.contains(r#""kind":"dead_letter""#))
        .collect();
    assert!(
        dead.is_empty(),
        "{} dead letters {context}, the first: {}",
        dead.len(),
        dead[0]
    );
    assert_eq!(decisions_sorted(log), decisions_sorted(expected));
    assert_eq!(decisions_by_zone(log), decisions_by_zone(expected));
}

/// A backlog on four partitions before the node starts, consumed with per-source
/// watermarks (quiet sources let go after `source_idle`): the client hands the node one
/// partition's backlog (here the whole day) before the next one's first event, so the
/// partitions are a day apart as they are run. Not one event may be late; the decisions,
/// deadlines and fines must be the ones `cbpc run` (the global clock, the events in time
/// order) makes, and each zone's decisions come in the same order.
async fn backlog_on_four_partitions(source_idle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let topics = [(EVENTS, BACKLOG_PARTITIONS), (RECORDS, RECORD_PARTITIONS)];
    let Some(tansu) = Tansu::start(dir.path(), &topics).await else {
        return;
    };
    let (events, lines) = zone_local_backlog(dir.path());
    let expected = cbpc_run(&events, &[]);
    assert!(!expected.contains(r#""kind":"dead_letter""#), "{expected}");
    let approvals = expected.matches(r#""status":"auto_approved""#).count();
    assert!(approvals > 100, "deadlines fire: {approvals}");
    let ends = produce_keyed(&tansu.brokers, &lines).await;
    assert_eq!(ends.len(), BACKLOG_PARTITIONS as usize, "{ends:?}");

    let started = Instant::now();
    let group = "cbp-backlog";
    let config = test_config(
        dir.path(),
        &format!(
            "watermarks = \"per_source\"\nsource_idle = \"{source_idle}\"\n{}",
            kafka_section(&tansu.brokers, group)
        ),
    );
    let (node, base) = start(config).await;
    wait_for_committed_all(&tansu.brokers, group, &ends).await;
    eprintln!(
        "{} events on {BACKLOG_PARTITIONS} partitions through tansu in {:?}",
        lines.len(),
        started.elapsed()
    );
    let log = records(&base).await;
    assert_ran_as_cbpc_run(&log, &expected, &format!("of {} events", lines.len()));
    // The consumer's lag check (once a second) finds every partition caught up.
    let mut status = Value::Null;
    for _ in 0..100 {
        status = get_json(format!("{base}/api/v1/status")).await;
        let sources = status["watermarks"]["sources"].as_array().unwrap();
        if sources.iter().all(|s| s["backlog"] == false) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sources = status["watermarks"]["sources"].as_array().unwrap();
    assert_eq!(sources.len(), BACKLOG_PARTITIONS as usize, "{status}");
    assert!(
        sources.iter().all(|s| s["backlog"] == false),
        "every partition caught up: {status}"
    );
    let last: Value = serde_json::from_str(&lines.last().unwrap().1).unwrap();
    assert_eq!(
        status["watermarks"]["timers_at"].as_str().unwrap()[..19],
        last["timestamp"].as_str().unwrap()[..19],
        "every partition reached the closing time: {status}"
    );
    node.shutdown().await;
}

/// With an idle timeout longer than the test, nothing depends on the wall clock: every
/// partition holds the timers back from its assignment on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tansu_backlog_on_four_partitions_runs_every_event_with_per_source_watermarks() {
    backlog_on_four_partitions("1h").await;
}

/// With a one-second idle timeout, shorter than partitions wait in the client's queue: a
/// partition with messages on the broker still holds the timers back (its lag is checked,
/// not its silence).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tansu_backlog_on_four_partitions_holds_lagging_partitions_past_source_idle() {
    backlog_on_four_partitions("1s").await;
}

/// `kill -9` in the middle of a backlog on four partitions, with per-source watermarks: the
/// restarted node replays its journal (the partitions heard so far) and must not let the
/// timers run on before the consumer has said which partitions it has again; the log ends
/// with no event late and the decisions `cbpc run` makes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tansu_backlog_on_four_partitions_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let topics = [(EVENTS, BACKLOG_PARTITIONS), (RECORDS, RECORD_PARTITIONS)];
    let Some(tansu) = Tansu::start(dir.path(), &topics).await else {
        return;
    };
    let (events, lines) = zone_local_backlog(dir.path());
    let expected = cbpc_run(&events, &[]);
    let ends = produce_keyed(&tansu.brokers, &lines).await;
    let group = "cbp-backlog-kill";
    let rest = format!(
        "[clock]\nlateness = \"0s\"\nidle_advance = \"off\"\nwatermarks = \"per_source\"\nsource_idle = \"1h\"\n{}",
        kafka_section(&tansu.brokers, group)
    );
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let journal = || async {
        get_json(format!("{base}/api/v1/status")).await["journal"]
            .as_u64()
            .unwrap_or(0)
    };
    let mut node = Service {
        child: spawn_binary(dir.path(), port, &rest),
    };
    // Killed once some partitions are in and some not yet (a quarter of the backlog).
    let deadline = Instant::now() + Duration::from_secs(120);
    while record_count(&base).await.is_none() || journal().await < lines.len() as u64 / 4 {
        assert!(Instant::now() < deadline, "{}", node_log(dir.path()));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    node.stop(); // SIGKILL
    node = Service {
        child: spawn_binary(dir.path(), port, &rest),
    };
    wait_for_committed_all(&tansu.brokers, group, &ends).await;
    wait_for_at_least(&base, 1, dir.path()).await;
    let log = records(&base).await;
    let node_log = node_log(dir.path());
    assert!(
        node_log.matches("journaled inputs replayed").count() >= 2,
        "{node_log}"
    );
    assert_ran_as_cbpc_run(&log, &expected, &format!("after the restart\n{node_log}"));
    node.stop();
}
