//! Kafka (rdkafka): events in from topics in a consumer group, records out to a topic keyed
//! by zone.
//!
//! Offsets are committed only after the core has committed the messages' effects, so a crash
//! never loses an event; a message delivered again after a crash is recognised by its
//! `model_id` and `event_id` and not run twice. Partitioning the input by zone is how a city
//! outgrows one machine: more nodes join the group and each takes its partitions.
//!
//! Each topic-partition is a source of its own for per-source watermarks, and the consumer
//! tells the core what it knows of them beyond their messages ([`Note`]): a partition just
//! assigned, or with messages on the broker past what was delivered, has a backlog (it holds
//! the timers back, however long its messages wait behind another partition's in the
//! client's queue, and with no event yet holds them where they are) until a lag check finds
//! it caught up; a partition revoked holds nothing back. So a backlog on several partitions,
//! handed over a partition's prefetch at a time, runs with no event late.

use crate::config::KafkaSection;
use crate::core::{Ingested, Request, Shared};
use crate::inputs::Arrivals;
use crate::metrics::Metrics;
use crate::store::Input;
use crate::watermarks::Note;
use futures_util::{FutureExt, StreamExt};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// The most messages with the core and not yet committed, in batches of `kafka.batch`.
/// Under a backlog the core takes the batches waiting in its queue as one group (up to
/// 2,048 inputs, one transaction), so small batches do not mean small commits as long as a
/// full group's worth waits behind the group committing and the one running.
const IN_FLIGHT_MESSAGES: usize = 6144;

/// How often each assigned partition's backlog is checked (a broker round trip each).
const LAG_CHECK: Duration = Duration::from_secs(1);

/// A batch the core has, and the offsets to commit once it has committed the batch.
type Pending = (oneshot::Receiver<Result<Ingested, String>>, Offsets, Stamps);

/// Offsets to commit: for each partition (its index in [`Sources`]), the one after its
/// last message taken.
type Offsets = Vec<(usize, i64)>;

/// When a batch's messages were taken and made: once the batch is committed, each gives a
/// message's time from the consumer, and from its producer, to its committed effects.
struct Stamps {
    /// When the consumer took the batch's first message (the others came after it).
    taken: Option<std::time::Instant>,
    messages: usize,
    /// The producers' timestamps (Unix ms) of the messages that have one.
    produced: Vec<i64>,
}

impl Stamps {
    fn with_capacity(n: usize) -> Stamps {
        Stamps {
            taken: None,
            messages: 0,
            produced: Vec::with_capacity(n),
        }
    }

    fn take(&mut self, produced: Option<i64>) {
        if self.taken.is_none() {
            self.taken = Some(std::time::Instant::now());
        }
        self.messages += 1;
        self.produced.extend(produced);
    }
}

/// librdkafka's consumer defaults that the node changes (the section's `properties` still
/// override them).
///
/// `fetch.queue.backoff.ms`: once a partition's prefetched queue passes
/// `queued.min.messages` (100,000), librdkafka postpones the partition's next fetch by this
/// long, 1 s by default. A node slower than the broker keeps its queue full, so every second
/// it drained the queue and then waited for the fetch: the rate through Kafka was capped
/// near 100,000 messages a second with every thread half idle. A few milliseconds keep the
/// queue fed without polling the broker in a loop.
///
/// `statistics.interval.ms`: how often librdkafka reports each partition's lag
/// (`cbp_node_kafka_lag`); off by default.
const CONSUMER_DEFAULTS: &[(&str, &str)] = &[
    ("fetch.queue.backoff.ms", "5"),
    ("statistics.interval.ms", "5000"),
];

/// The node's consumer: librdkafka's statistics go to the metrics.
type Client = StreamConsumer<Statistics>;

/// Takes librdkafka's statistics into the metrics: each partition's lag, so a consumer that
/// falls behind, or stops getting messages the broker holds, shows.
struct Statistics(Arc<Metrics>);

impl rdkafka::ClientContext for Statistics {
    fn stats(&self, statistics: rdkafka::Statistics) {
        for (name, topic) in &statistics.topics {
            for (id, partition) in &topic.partitions {
                // Partition -1 is librdkafka's own; a lag not known yet is -1.
                if *id >= 0 && partition.consumer_lag >= 0 {
                    self.0.set_kafka_lag(name, *id, partition.consumer_lag);
                }
            }
        }
    }
}

impl rdkafka::consumer::ConsumerContext for Statistics {}

fn client_config(section: &KafkaSection) -> ClientConfig {
    client_config_with(section, &[])
}

fn consumer_config(section: &KafkaSection) -> ClientConfig {
    client_config_with(section, CONSUMER_DEFAULTS)
}

fn client_config_with(section: &KafkaSection, defaults: &[(&str, &str)]) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &section.brokers);
    for (key, value) in defaults {
        config.set(*key, *value);
    }
    for (key, value) in &section.properties {
        config.set(key, value);
    }
    config
}

/// The consumer's way to the core: its requests, and whether it is free for the next batch.
pub struct ToCore {
    pub requests: mpsc::Sender<Request>,
    pub shared: Arc<Shared>,
}

impl ToCore {
    /// Nothing for the core to run: not running a group, nothing in its queue. A batch sent
    /// now runs at once, while the group before it commits.
    fn free(&self) -> bool {
        !self.shared.core_busy.load(Ordering::Acquire)
            && self.requests.capacity() == self.requests.max_capacity()
    }
}

/// Consumes the configured topics until `stop` turns true.
pub async fn consume(
    section: KafkaSection,
    per_source: bool,
    to_core: ToCore,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let consumer: Arc<Client> = Arc::new(
        consumer_config(&section)
            .set("group.id", &section.group_id)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .create_with_context(Statistics(metrics.clone()))
            .map_err(|e| format!("kafka: cannot create the consumer: {e}"))?,
    );
    let topics: Vec<&str> = section.topics.iter().map(String::as_str).collect();
    consumer
        .subscribe(&topics)
        .map_err(|e| format!("kafka: cannot subscribe to {topics:?}: {e}"))?;
    let intake = Intake {
        proto: section.input_format == "proto",
        per_source,
        batch: section.batch.max(1),
    };
    tracing::info!(
        "kafka: consuming {topics:?} from {} as group `{}`",
        section.brokers,
        section.group_id
    );
    let mut sources = Sources::default();
    let result = consume_loop(
        &consumer,
        &intake,
        &to_core,
        &metrics,
        &mut sources,
        &mut stop,
    )
    .await;
    // Stopped (or failed): the partitions hold nothing back any more.
    let released = sources.release();
    if !released.is_empty() {
        let _ = to_core.requests.try_send(Request::Sources(released));
    }
    result
}

/// How the consumer takes its messages in.
struct Intake {
    /// Messages are protobuf `cbp.v1.Event`s (else NDJSON lines).
    proto: bool,
    /// Per-source watermarks: the core is told of the partitions.
    per_source: bool,
    /// `kafka.batch`. A batch is sent early whenever the core is free, so this bounds a
    /// batch only while the core is busy; its first message then waits for the batch to
    /// fill: at 512, 3.4 ms at 150,000 messages a second, where 2,048 took 13.6 ms and the
    /// run of a full batch as long again (`docs/performance.md`, *Runtime node*).
    batch: usize,
}

impl Intake {
    /// How many batches may be with the core ([`IN_FLIGHT_MESSAGES`]; at least three: one
    /// committing, one running, one waiting).
    fn in_flight(&self) -> usize {
        (IN_FLIGHT_MESSAGES / self.batch).max(3)
    }
}

/// The consumer's loop: batches to the core, offsets committed after them, and what the
/// core should know of the partitions ([`Sources::notes`]) ahead of the batches.
async fn consume_loop(
    consumer: &Arc<Client>,
    intake: &Intake,
    to_core: &ToCore,
    metrics: &Metrics,
    sources: &mut Sources,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), String> {
    let mut in_flight: VecDeque<Pending> = VecDeque::new();
    // Each message's identity, zone and time are read here, as it is taken, on the
    // consumer's thread rather than the core's.
    let (batch, proto, per_source) = (intake.batch, intake.proto, intake.per_source);
    let mut inputs = Arrivals::with_capacity(batch);
    let mut stamps = Stamps::with_capacity(batch);
    let mut lag_check = tokio::time::interval(LAG_CHECK);
    lag_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut checking: Option<tokio::task::JoinHandle<Vec<Lag>>> = None;
    // One stream for the consumer's life: each `recv` would make (and lock to register and
    // unregister) one of its own.
    let mut messages = consumer.stream();
    let core = &to_core.requests;
    loop {
        // A batch goes to the core at once when the core has nothing to run, else when it is
        // full: while the core runs one batch the next fills up, so every transaction (one
        // fsync) takes as many messages as there are. Free means done running, not
        // committed: the batch runs while the one before commits (waiting for the commit as
        // well made each batch wait out two commits).
        let full = inputs.len() >= batch;
        let send = in_flight.is_empty() || full || to_core.free();
        if !inputs.is_empty() && send && in_flight.len() < intake.in_flight() {
            metrics.source("kafka", inputs.len() as u64);
            // A partition assigned is announced before its first messages reach the core
            // (only per-source watermarks read it: the assignment is not asked for else).
            if per_source {
                tell(core, sources.notes(consumer)).await?;
            }
            // Effects first, then the offsets: a crash in between means a redelivery, which
            // the core recognises. Batches commit in the order they are handed over.
            let (reply, answer) = oneshot::channel();
            let request = Request::Ingest {
                inputs: std::mem::replace(&mut inputs, Arrivals::with_capacity(batch)),
                records: false,
                reply,
            };
            if core.send(request).await.is_err() {
                return Err("kafka: the node is stopping".into());
            }
            let batch_stamps = std::mem::replace(&mut stamps, Stamps::with_capacity(batch));
            in_flight.push_back((answer, sources.batch_offsets(), batch_stamps));
            continue;
        }
        tokio::select! {
            message = messages.next(), if !full => match message {
                Some(Ok(message)) => {
                    take(&message, proto, sources, &mut inputs, &mut stamps);
                    take_queued(&mut messages, intake, sources, &mut inputs, &mut stamps);
                }
                Some(Err(e)) => {
                    tracing::warn!("kafka: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                None => return Err("kafka: the consumer's stream ended".into()),
            },
            answer = oldest(&mut in_flight), if !in_flight.is_empty() => {
                // The batches answered with it (one group) share one offset commit, a
                // broker request each.
                let mut offsets = Offsets::new();
                let mut next = Some(answer);
                while let Some(answer) = next
                    && let Some((_, batch_offsets, stamps)) = in_flight.pop_front()
                {
                    check(answer)?;
                    observe_latency(metrics, &stamps);
                    merge_offsets(&mut offsets, &batch_offsets);
                    next = in_flight
                        .front_mut()
                        .and_then(|(answer, _, _)| answer.try_recv().ok())
                        .map(Ok);
                }
                commit_offsets(consumer, &sources.offsets_list(&offsets));
            }
            // Only per-source watermarks use the backlogs (a broker round trip each).
            _ = lag_check.tick(), if per_source && checking.is_none() => {
                let (consumer, assigned) = (consumer.clone(), sources.assigned(consumer));
                checking = Some(tokio::task::spawn_blocking(move || lags(&consumer, &assigned)));
            }
            lags = checked(&mut checking), if checking.is_some() => {
                checking = None;
                sources.take_lags(lags);
                tell(core, sources.notes(consumer)).await?;
            }
            // The core is done with a group: the batch gathered meanwhile can go.
            () = to_core.shared.core_free.notified(), if !inputs.is_empty() => {}
            _ = stop.changed() => break,
        }
    }
    // Stopping: what the core was given is committed (it finishes its queue); so are the
    // offsets.
    while let Some((answer, offsets, stamps)) = in_flight.pop_front() {
        check(answer.await)?;
        commit_offsets(consumer, &sources.offsets_list(&offsets));
        observe_latency(metrics, &stamps);
    }
    Ok(())
}

/// Each message's time from its producer (its timestamp), and from the consumer taking its
/// batch's first message, to now, its batch committed.
fn observe_latency(metrics: &Metrics, stamps: &Stamps) {
    let now = crate::inputs::wall_clock_ms();
    for stamp in &stamps.produced {
        metrics
            .kafka_seconds
            .observe(now.saturating_sub(*stamp).max(0) as f64 / 1000.0);
    }
    if let Some(taken) = stamps.taken {
        let seconds = taken.elapsed().as_secs_f64();
        for _ in 0..stamps.messages {
            metrics.kafka_ingest_seconds.observe(seconds);
        }
    }
}

/// Sends the core what changed of the partitions, if anything.
async fn tell(core: &mpsc::Sender<Request>, notes: Vec<Note>) -> Result<(), String> {
    if notes.is_empty() {
        return Ok(());
    }
    core.send(Request::Sources(notes))
        .await
        .map_err(|_| "kafka: the node is stopping".to_string())
}

/// The result of the lag check under way (never ready when there is none); a check that
/// failed found nothing.
async fn checked(checking: &mut Option<tokio::task::JoinHandle<Vec<Lag>>>) -> Vec<Lag> {
    match checking {
        Some(handle) => handle.await.unwrap_or_default(),
        None => std::future::pending().await,
    }
}

/// The answer to the oldest batch in flight (never ready when there is none).
async fn oldest(
    in_flight: &mut VecDeque<Pending>,
) -> Result<Result<Ingested, String>, oneshot::error::RecvError> {
    match in_flight.front_mut() {
        Some((answer, _, _)) => answer.await,
        None => std::future::pending().await,
    }
}

/// The core's answer to a batch: `Ok` once its effects are committed, else the error that
/// stops the consumer.
fn check(
    answer: Result<Result<Ingested, String>, oneshot::error::RecvError>,
) -> Result<(), String> {
    match answer {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => {
            tracing::error!("kafka: the batch was not committed ({e}); stopping the consumer");
            Err(e)
        }
        Err(_) => Err("kafka: the node is stopping".into()),
    }
}

/// Commits offsets whose messages' effects are committed (asynchronously: a commit lost
/// to a crash only means a redelivery, which the core recognises).
fn commit_offsets(consumer: &Client, offsets: &TopicPartitionList) {
    if offsets.count() == 0 {
        return;
    }
    if let Err(e) = consumer.commit(offsets, CommitMode::Async) {
        tracing::warn!("kafka: cannot commit offsets: {e}");
    }
}

/// Adds a later batch's offsets to `offsets`: a partition in both takes the later one.
fn merge_offsets(offsets: &mut Offsets, later: &[(usize, i64)]) {
    for &(partition, next) in later {
        match offsets.iter_mut().find(|(p, _)| *p == partition) {
            Some(entry) => entry.1 = next,
            None => offsets.push((partition, next)),
        }
    }
}

/// The topic-partitions seen or assigned: each one's source name (made once, not per
/// message), and what the core was last told of it.
#[derive(Default)]
struct Sources {
    partitions: Vec<Partition>,
    /// The partition of the last message looked up: a partition's messages come in runs.
    last: usize,
}

struct Partition {
    topic: String,
    partition: i32,
    name: Arc<str>,
    /// In the assignment, as the core was told.
    assigned: bool,
    /// The last lag check found messages on the broker not delivered yet.
    lagging: bool,
    /// The core was told it has a backlog.
    backlog: bool,
    /// The offset after the last message of the batch being gathered (`None`: none of its
    /// messages in it): what is committed once the core has committed the batch. Kept here
    /// rather than in a `TopicPartitionList`, whose every addition searches the list
    /// comparing topic names (a tenth of the consumer's time with four partitions).
    next_offset: Option<i64>,
}

/// What a lag check found of an assigned partition: whether the broker has messages past
/// what the consumer delivered (or, before its first message, past where the group starts
/// it).
struct Lag {
    topic: String,
    partition: i32,
    backlog: bool,
}

impl Sources {
    fn of(&mut self, topic: &str, partition: i32) -> &mut Partition {
        let same = |p: &Partition| p.partition == partition && p.topic == topic;
        if !self.partitions.get(self.last).is_some_and(same) {
            self.last = match self.partitions.iter().position(same) {
                Some(index) => index,
                None => {
                    self.partitions.push(Partition {
                        topic: topic.to_string(),
                        partition,
                        name: source_name(topic, partition).into(),
                        assigned: false,
                        lagging: false,
                        backlog: false,
                        next_offset: None,
                    });
                    self.partitions.len() - 1
                }
            };
        }
        &mut self.partitions[self.last]
    }

    /// The batch's offsets: for each partition, the one after its last message; the next
    /// batch starts with none.
    fn batch_offsets(&mut self) -> Offsets {
        let mut offsets = Offsets::new();
        for (index, partition) in self.partitions.iter_mut().enumerate() {
            if let Some(next) = partition.next_offset.take() {
                offsets.push((index, next));
            }
        }
        offsets
    }

    /// Offsets as librdkafka commits them.
    fn offsets_list(&self, offsets: &[(usize, i64)]) -> TopicPartitionList {
        let mut list = TopicPartitionList::new();
        for &(index, next) in offsets {
            if let Some(partition) = self.partitions.get(index) {
                let _ = list.add_partition_offset(
                    &partition.topic,
                    partition.partition,
                    Offset::Offset(next),
                );
            }
        }
        list
    }

    /// The consumer's assignment now (empty when it cannot say).
    fn assigned(&self, consumer: &Client) -> Vec<(String, i32)> {
        consumer
            .assignment()
            .map(|list| {
                list.elements()
                    .iter()
                    .map(|e| (e.topic().to_string(), e.partition()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// What changed since the core was last told: partitions assigned or revoked (the
    /// assignment is read now, a local call), backlogs found or caught up (as the last lag
    /// check saw them).
    fn notes(&mut self, consumer: &Client) -> Vec<Note> {
        let mut notes = Vec::new();
        let Ok(assignment) = consumer.assignment() else {
            return notes;
        };
        let mut now_assigned = Vec::with_capacity(assignment.count());
        for element in assignment.elements() {
            let partition = self.of(element.topic(), element.partition());
            if !partition.assigned {
                // Presumed behind until a lag check finds it is not.
                partition.assigned = true;
                partition.lagging = true;
                partition.backlog = true;
                notes.push(Note::Backlog(partition.name.clone()));
            }
            now_assigned.push((element.partition(), partition.name.clone()));
        }
        for partition in &mut self.partitions {
            let still = now_assigned
                .iter()
                .any(|(p, name)| *p == partition.partition && *name == partition.name);
            if partition.assigned && !still {
                partition.assigned = false;
                partition.lagging = false;
                partition.backlog = false;
                notes.push(Note::Revoked(partition.name.clone()));
                continue;
            }
            let backlog = partition.assigned && partition.lagging;
            if backlog != partition.backlog {
                partition.backlog = backlog;
                notes.push(match backlog {
                    true => Note::Backlog(partition.name.clone()),
                    false => Note::CaughtUp(partition.name.clone()),
                });
            }
        }
        notes
    }

    fn take_lags(&mut self, lags: Vec<Lag>) {
        for lag in lags {
            self.of(&lag.topic, lag.partition).lagging = lag.backlog;
        }
    }

    /// Every partition assigned, revoked (the consumer stops).
    fn release(&mut self) -> Vec<Note> {
        let mut notes = Vec::new();
        for partition in &mut self.partitions {
            if partition.assigned {
                partition.assigned = false;
                notes.push(Note::Revoked(partition.name.clone()));
            }
        }
        notes
    }
}

/// Which of the `assigned` partitions have messages on the broker the consumer has not
/// delivered: its position (past the last message delivered, control records included)
/// behind the partition's end (the high watermark, or the last stable offset when reading
/// committed), or, before its first message, the group's committed offset (else the
/// earliest, as `auto.offset.reset` says) behind it. Broker round trips: run off the async
/// threads. A partition the broker does not answer for is left out (as it was).
fn lags(consumer: &Client, assigned: &[(String, i32)]) -> Vec<Lag> {
    let timeout = Duration::from_secs(2);
    let positions = consumer.position().unwrap_or_default();
    let offset = |list: &TopicPartitionList, topic: &str, partition: i32| match list
        .find_partition(topic, partition)
        .map(|e| e.offset())
    {
        Some(Offset::Offset(offset)) => Some(offset),
        _ => None,
    };
    let mut unstarted = TopicPartitionList::new();
    for (topic, partition) in assigned {
        if offset(&positions, topic, *partition).is_none() {
            unstarted.add_partition(topic, *partition);
        }
    }
    let starts = match unstarted.count() {
        0 => TopicPartitionList::new(),
        _ => consumer
            .committed_offsets(unstarted, timeout)
            .unwrap_or_default(),
    };
    let mut lags = Vec::with_capacity(assigned.len());
    for (topic, partition) in assigned {
        let Ok((low, high)) = consumer.fetch_watermarks(topic, *partition, timeout) else {
            continue;
        };
        let from = offset(&positions, topic, *partition)
            .or_else(|| offset(&starts, topic, *partition))
            .unwrap_or(low);
        lags.push(Lag {
            topic: topic.clone(),
            partition: *partition,
            backlog: high > from,
        });
    }
    lags
}

/// One message into the batch: its input (tagged with its topic-partition, the source of
/// its watermark), its timestamp and, for the commit, the offset after it.
fn take(
    message: &rdkafka::message::BorrowedMessage<'_>,
    proto: bool,
    sources: &mut Sources,
    inputs: &mut Arrivals,
    stamps: &mut Stamps,
) {
    stamps.take(message.timestamp().to_millis());
    let payload = message.payload().unwrap_or_default();
    let input = if proto {
        Input::Proto(payload.to_vec())
    } else {
        // The quick check first: the lossy reading is slow even over valid text.
        let text = match std::str::from_utf8(payload) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(payload),
        };
        Input::Line(text.trim_end().to_string())
    };
    let partition = sources.of(message.topic(), message.partition());
    partition.next_offset = Some(message.offset() + 1);
    inputs.push(Input::Sourced(partition.name.clone(), Box::new(input)));
}

/// Takes the messages librdkafka already holds, up to a full batch, without a round through
/// the `select!` for each (its futures, made and polled a message, were a tenth of the
/// consumer's task). An error is left for the `select!`'s next turn to report.
fn take_queued<C: rdkafka::consumer::ConsumerContext>(
    messages: &mut rdkafka::consumer::MessageStream<'_, C>,
    intake: &Intake,
    sources: &mut Sources,
    inputs: &mut Arrivals,
    stamps: &mut Stamps,
) {
    while inputs.len() < intake.batch {
        match messages.next().now_or_never() {
            Some(Some(Ok(message))) => take(&message, intake.proto, sources, inputs, stamps),
            Some(Some(Err(e))) => {
                tracing::warn!("kafka: {e}");
                return;
            }
            _ => return,
        }
    }
}

/// The source a message comes from, for per-source watermarks: its topic-partition.
fn source_name(topic: &str, partition: i32) -> String {
    format!("kafka:{topic}/{partition}")
}

/// Writes records to a topic, keyed by the zone of the node they concern: each record as
/// its JSON line, or (`output_format = "proto"`) as one `cbp.v1.Record`.
pub struct RecordProducer {
    producer: FutureProducer,
    topic: String,
    proto: bool,
}

impl RecordProducer {
    pub fn new(section: &KafkaSection, topic: &str) -> Result<RecordProducer, String> {
        let mut config = client_config(section);
        // librdkafka's default partitioner spreads empty keys at random, and the records
        // without a zone (approvals, actions, dead letters) would then lose their order;
        // murmur2 (as Java clients) puts every key, the empty one too, in one partition.
        if !section.properties.contains_key("partitioner") {
            config.set("partitioner", "murmur2");
        }
        let producer: FutureProducer = config
            .set("enable.idempotence", "true")
            .set("message.timeout.ms", "30000")
            .create()
            .map_err(|e| format!("kafka: cannot create the producer: {e}"))?;
        Ok(RecordProducer {
            producer,
            topic: topic.to_string(),
            proto: section.output_format == "proto",
        })
    }

    /// Sends a batch of records (each its JSON line and its key, [`zone_key`]): all are
    /// handed to the producer first, then their deliveries are awaited together (one at a
    /// time would take a broker round trip each). The idempotent producer keeps their order
    /// within each partition.
    pub async fn send_all(&self, records: &[(&str, &str)]) -> Vec<Result<(), String>> {
        let mut deliveries = Vec::with_capacity(records.len());
        for &(line, key) in records {
            let encoded;
            let payload: &[u8] = if self.proto {
                match crate::record_proto::record_message(line) {
                    Ok(message) => {
                        encoded = prost::Message::encode_to_vec(&message);
                        &encoded
                    }
                    Err(e) => {
                        deliveries.push(Err(format!("kafka: {e}")));
                        continue;
                    }
                }
            } else {
                line.as_bytes()
            };
            loop {
                let message = FutureRecord::to(&self.topic).payload(payload).key(key);
                match self.producer.send_result(message) {
                    Ok(delivery) => {
                        deliveries.push(Ok(delivery));
                        break;
                    }
                    // The producer's queue is full: let it drain, then hand it over again.
                    Err((
                        rdkafka::error::KafkaError::MessageProduction(
                            rdkafka::types::RDKafkaErrorCode::QueueFull,
                        ),
                        _,
                    )) => tokio::time::sleep(Duration::from_millis(5)).await,
                    Err((e, _)) => {
                        deliveries.push(Err(format!("kafka: {e}")));
                        break;
                    }
                }
            }
        }
        let mut results = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            results.push(match delivery {
                Ok(future) => match future.await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err((e, _))) => Err(format!("kafka: {e}")),
                    Err(_) => Err("kafka: the producer was dropped".into()),
                },
                Err(e) => Err(e),
            });
        }
        results
    }
}

/// The zone a record concerns: its node, or the node it comes from; empty for the records
/// that name no node (approvals, actions, dead letters), which so share one partition.
/// (What the sinks read without parsing the whole record, `sinks::Route`, agrees.)
pub fn zone_key(record: &Value) -> String {
    record
        .get("node")
        .or_else(|| record.get("from").and_then(|f| f.get("node")))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_batch_commits_the_offset_after_each_partitions_last_message() {
        let mut sources = Sources::default();
        let mut note = |topic: &str, partition: i32, next: i64| {
            sources.of(topic, partition).next_offset = Some(next);
        };
        for (topic, partition, next) in [
            ("a", 0, 5),
            ("a", 0, 6),
            ("a", 1, 3),
            ("b", 0, 9),
            ("a", 0, 7),
            ("a", 1, 4),
        ] {
            note(topic, partition, next);
        }
        let offsets = sources.batch_offsets();
        let list = sources.offsets_list(&offsets);
        let got: Vec<_> = list
            .elements()
            .iter()
            .map(|e| (e.topic().to_string(), e.partition(), e.offset()))
            .collect();
        assert_eq!(
            got,
            [
                ("a".to_string(), 0, Offset::Offset(7)),
                ("a".to_string(), 1, Offset::Offset(4)),
                ("b".to_string(), 0, Offset::Offset(9)),
            ]
        );
        assert!(
            sources.batch_offsets().is_empty(),
            "the next batch starts empty"
        );
        sources.of("b", 0).next_offset = Some(10);
        assert_eq!(sources.batch_offsets().len(), 1);
        assert_eq!(sources.partitions.len(), 3, "one entry a partition");
    }

    #[test]
    fn batches_answered_together_commit_each_partitions_latest_offset() {
        let mut offsets: Offsets = vec![(0, 7), (1, 4)];
        merge_offsets(&mut offsets, &[(1, 9), (2, 3)]);
        merge_offsets(&mut offsets, &[(0, 8)]);
        assert_eq!(offsets, [(0, 8), (1, 9), (2, 3)]);
    }

    #[test]
    fn records_are_keyed_by_zone() {
        assert_eq!(zone_key(&json!({"node": "a.b"})), "a.b");
        assert_eq!(zone_key(&json!({"from": {"node": "a.b.c"}})), "a.b.c");
        assert_eq!(zone_key(&json!({"line": 3})), "");
    }
}
