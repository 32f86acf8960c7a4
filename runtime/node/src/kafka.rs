//! Kafka (rdkafka): events in from topics in a consumer group, records out to a topic keyed
//! by zone.
//!
//! Offsets are committed only after the core has committed the messages' effects, so a crash
//! never loses an event; a message delivered again after a crash is recognised by its
//! `model_id` and `event_id` and not run twice. Partitioning the input by zone is how a city
//! outgrows one machine: more nodes join the group and each takes its partitions.

use crate::config::KafkaSection;
use crate::core::{Request, ingest};
use crate::metrics::Metrics;
use crate::store::Input;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// The most messages taken into one core request.
const BATCH: usize = 2048;

fn client_config(section: &KafkaSection) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &section.brokers);
    for (key, value) in &section.properties {
        config.set(key, value);
    }
    config
}

/// Consumes the configured topics until `stop` turns true.
pub async fn consume(
    section: KafkaSection,
    core: mpsc::Sender<Request>,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let consumer: StreamConsumer = client_config(&section)
        .set("group.id", &section.group_id)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .map_err(|e| format!("kafka: cannot create the consumer: {e}"))?;
    let topics: Vec<&str> = section.topics.iter().map(String::as_str).collect();
    consumer
        .subscribe(&topics)
        .map_err(|e| format!("kafka: cannot subscribe to {topics:?}: {e}"))?;
    let proto = section.input_format == "proto";
    tracing::info!(
        "kafka: consuming {topics:?} from {} as group `{}`",
        section.brokers,
        section.group_id
    );
    loop {
        let first = tokio::select! {
            message = consumer.recv() => message,
            _ = stop.changed() => break,
        };
        let mut inputs = Vec::new();
        let mut offsets = TopicPartitionList::new();
        match first {
            Ok(message) => take(&message, proto, &mut inputs, &mut offsets),
            Err(e) => {
                tracing::warn!("kafka: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        }
        // Whatever else is already here joins the batch (one transaction for all).
        while inputs.len() < BATCH {
            match tokio::time::timeout(Duration::ZERO, consumer.recv()).await {
                Ok(Ok(message)) => take(&message, proto, &mut inputs, &mut offsets),
                _ => break,
            }
        }
        metrics.source("kafka", inputs.len() as u64);
        // Effects first, then the offsets: a crash in between means a redelivery, which the
        // core recognises.
        match ingest(&core, inputs).await {
            Ok(_) => {
                if let Err(e) = consumer.commit(&offsets, CommitMode::Async) {
                    tracing::warn!("kafka: cannot commit offsets: {e}");
                }
            }
            Err(e) => {
                tracing::error!("kafka: the batch was not committed ({e}); stopping the consumer");
                return Err(e);
            }
        }
    }
    Ok(())
}

/// One message into the batch: its input (tagged with its topic-partition, the source of
/// its watermark) and, for the commit, the offset after it.
fn take(
    message: &rdkafka::message::BorrowedMessage<'_>,
    proto: bool,
    inputs: &mut Vec<Input>,
    offsets: &mut TopicPartitionList,
) {
    let payload = message.payload().unwrap_or_default();
    let input = if proto {
        Input::Proto(payload.to_vec())
    } else {
        Input::Line(String::from_utf8_lossy(payload).trim_end().to_string())
    };
    inputs.push(Input::Sourced(
        source_name(message.topic(), message.partition()).into(),
        Box::new(input),
    ));
    let _ = offsets.add_partition_offset(
        message.topic(),
        message.partition(),
        Offset::Offset(message.offset() + 1),
    );
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

    /// Sends a batch of records: all are handed to the producer first, then their deliveries
    /// are awaited together (one at a time would take a broker round trip each). The
    /// idempotent producer keeps their order within each partition.
    pub async fn send_all(&self, records: &[(&str, &Value)]) -> Vec<Result<(), String>> {
        let mut deliveries = Vec::with_capacity(records.len());
        for (line, record) in records {
            let key = zone_key(record);
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
                let message = FutureRecord::to(&self.topic).payload(payload).key(&key);
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
fn zone_key(record: &Value) -> String {
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
    fn records_are_keyed_by_zone() {
        assert_eq!(zone_key(&json!({"node": "a.b"})), "a.b");
        assert_eq!(zone_key(&json!({"from": {"node": "a.b.c"}})), "a.b.c");
        assert_eq!(zone_key(&json!({"line": 3})), "");
    }
}
