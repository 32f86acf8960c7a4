//! Prometheus metrics (`GET /metrics`, the text exposition format), with the
//! `prometheus-client` crate of the Prometheus project.

use cbp_runtime::Record;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

type Labels = Vec<(String, String)>;

pub struct Metrics {
    registry: Registry,
    /// Inputs run by the engine (events, approvals made through the API).
    pub events_in: Counter,
    /// Inputs recognised as redelivered and not run again.
    pub duplicates: Counter,
    /// Inputs dead-lettered on arrival, not run: a foreign zone, too far ahead of the wall
    /// clock, late for their source.
    pub refused: Counter,
    /// Records written, by kind (`decision`, `dead_letter`, …).
    pub records: Family<Labels, Counter>,
    /// Decisions, by rule.
    pub decisions: Family<Labels, Counter>,
    pub pending_approvals: Gauge,
    pub reloads: Counter,
    /// Seconds per stage: `http` (request in to reply), `commit` (journal, run, write).
    pub http_seconds: Histogram,
    pub commit_seconds: Histogram,
    /// From a Kafka message's timestamp (set by its producer) to its batch committed.
    pub kafka_seconds: Histogram,
    /// From the consumer taking a Kafka message to its batch committed: the node's part of
    /// `kafka_seconds`, without the producer's and the broker's.
    pub kafka_ingest_seconds: Histogram,
    /// Each consumed Kafka partition's messages on the broker past the group's committed
    /// offset, as librdkafka's statistics last gave them.
    pub kafka_lag: Family<Labels, Gauge>,
    /// Records a sink failed to deliver after its retries, by sink.
    pub sink_failures: Family<Labels, Counter>,
    pub sink_delivered: Family<Labels, Counter>,
    /// Messages in, by source (`http`, `kafka`, `mqtt`).
    pub source_messages: Family<Labels, Counter>,
    /// With per-source watermarks: each source's watermark, and where timers have run to
    /// (Unix seconds of event time).
    pub source_watermark: Family<Labels, Gauge<f64, AtomicU64>>,
    pub timers_watermark: Gauge<f64, AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("cbp_node");
        let events_in = Counter::default();
        let duplicates = Counter::default();
        let refused = Counter::default();
        let records = Family::<Labels, Counter>::default();
        let decisions = Family::<Labels, Counter>::default();
        let pending_approvals = Gauge::default();
        let reloads = Counter::default();
        // 50 µs … ~6.5 s.
        let http_seconds = Histogram::new(exponential_buckets(0.000_05, 2.0, 18));
        let commit_seconds = Histogram::new(exponential_buckets(0.000_05, 2.0, 18));
        // 0.5 ms … ~3 s in steps of a quarter, fine enough to read a p99 against a target.
        let kafka_seconds = Histogram::new(exponential_buckets(0.000_5, 1.25, 40));
        let kafka_ingest_seconds = Histogram::new(exponential_buckets(0.000_5, 1.25, 40));
        let kafka_lag = Family::<Labels, Gauge>::default();
        let sink_failures = Family::<Labels, Counter>::default();
        let sink_delivered = Family::<Labels, Counter>::default();
        let source_messages = Family::<Labels, Counter>::default();
        let source_watermark = Family::<Labels, Gauge<f64, AtomicU64>>::default();
        let timers_watermark = Gauge::<f64, AtomicU64>::default();
        registry.register("events_in", "Inputs run by the engine", events_in.clone());
        registry.register(
            "duplicates",
            "Inputs recognised as redelivered and not run again",
            duplicates.clone(),
        );
        registry.register(
            "refused",
            "Inputs dead-lettered on arrival and not run (foreign zone, too far ahead, late for their source)",
            refused.clone(),
        );
        registry.register("records", "Records written, by kind", records.clone());
        registry.register("decisions", "Decisions, by rule", decisions.clone());
        registry.register(
            "pending_approvals",
            "Decisions waiting for a person",
            pending_approvals.clone(),
        );
        registry.register("reloads", "Programs swapped in", reloads.clone());
        registry.register(
            "http_request_seconds",
            "Time from a request's arrival to its reply",
            http_seconds.clone(),
        );
        registry.register(
            "commit_seconds",
            "Time to journal, run and commit a group of inputs",
            commit_seconds.clone(),
        );
        registry.register(
            "kafka_seconds",
            "Time from a Kafka message's timestamp (its producer's clock) to its batch committed",
            kafka_seconds.clone(),
        );
        registry.register(
            "kafka_ingest_seconds",
            "Time from the consumer taking a Kafka message (the first of its batch) to its batch committed",
            kafka_ingest_seconds.clone(),
        );
        registry.register(
            "kafka_lag",
            "Messages of each consumed Kafka partition past the group's committed offset (librdkafka's statistics, every `statistics.interval.ms`)",
            kafka_lag.clone(),
        );
        registry.register(
            "sink_failures",
            "Records a sink gave up on, by sink",
            sink_failures.clone(),
        );
        registry.register(
            "sink_delivered",
            "Records delivered, by sink",
            sink_delivered.clone(),
        );
        registry.register(
            "source_messages",
            "Messages received, by source",
            source_messages.clone(),
        );
        registry.register(
            "source_watermark_seconds",
            "Event-time watermark of each source: its latest event time less the lateness",
            source_watermark.clone(),
        );
        registry.register(
            "timers_watermark_seconds",
            "Event time the timers have run to (the smallest active source watermark)",
            timers_watermark.clone(),
        );
        Metrics {
            registry,
            events_in,
            duplicates,
            refused,
            records,
            decisions,
            pending_approvals,
            reloads,
            http_seconds,
            commit_seconds,
            kafka_seconds,
            kafka_ingest_seconds,
            kafka_lag,
            sink_failures,
            sink_delivered,
            source_messages,
            source_watermark,
            timers_watermark,
        }
    }

    /// The watermarks of the sources that changed (Unix ms), and where timers have run to.
    pub fn set_watermarks(&self, changed: &[(std::sync::Arc<str>, i64)], timers_at: Option<i64>) {
        for (source, watermark) in changed {
            self.source_watermark
                .get_or_create(&vec![("source".into(), source.to_string())])
                .set(*watermark as f64 / 1000.0);
        }
        if let Some(at) = timers_at {
            self.timers_watermark.set(at as f64 / 1000.0);
        }
    }

    /// A Kafka partition's lag (messages past the committed offset).
    pub fn set_kafka_lag(&self, topic: &str, partition: i32, lag: i64) {
        self.kafka_lag
            .get_or_create(&vec![
                ("topic".into(), topic.into()),
                ("partition".into(), partition.to_string()),
            ])
            .set(lag);
    }

    pub fn count_record(&self, record: &Record) {
        self.records
            .get_or_create(&vec![("kind".into(), record.kind().into())])
            .inc();
        if let Record::Decision(d) = record {
            self.decisions
                .get_or_create(&vec![("rule".into(), d.rule.clone())])
                .inc();
        }
    }

    pub fn source(&self, name: &str, n: u64) {
        self.source_messages
            .get_or_create(&vec![("source".into(), name.into())])
            .inc_by(n);
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Counts of a group's records, added to the metrics once per group.
#[derive(Default)]
pub struct Tally {
    events: u64,
    kinds: std::collections::BTreeMap<&'static str, u64>,
    rules: std::collections::BTreeMap<String, u64>,
}

impl Tally {
    /// An input the engine ran (events and approval answers, not clock ticks).
    pub fn count_event(&mut self) {
        self.events += 1;
    }

    pub fn count(&mut self, record: &Record) {
        *self.kinds.entry(record.kind()).or_insert(0) += 1;
        if let Record::Decision(d) = record {
            match self.rules.get_mut(&d.rule) {
                Some(n) => *n += 1,
                None => {
                    self.rules.insert(d.rule.clone(), 1);
                }
            }
        }
    }

    pub fn publish(self, metrics: &Metrics) {
        metrics.events_in.inc_by(self.events);
        for (kind, n) in self.kinds {
            metrics
                .records
                .get_or_create(&vec![("kind".into(), kind.into())])
                .inc_by(n);
        }
        for (rule, n) in self.rules {
            metrics
                .decisions
                .get_or_create(&vec![("rule".into(), rule)])
                .inc_by(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_with_labels() {
        let metrics = Metrics::new();
        metrics.events_in.inc_by(3);
        metrics.refused.inc();
        metrics.source("http", 2);
        let text = metrics.render();
        assert!(text.contains("cbp_node_events_in_total 3"), "{text}");
        assert!(text.contains("cbp_node_refused_total 1"), "{text}");
        assert!(
            text.contains("cbp_node_source_messages_total{source=\"http\"} 2"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
