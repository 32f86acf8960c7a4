//! Sinks: where records go besides the node's log — webhooks of target systems (traffic
//! control, hospitals, dispatch), a log file, a Kafka topic, the parent node.
//!
//! The log in the store is the outbox: each sink reads it from its own cursor, delivers, and
//! then saves the cursor. A crash repeats at most the batch in flight (at-least-once; each
//! delivery carries the record's sequence number as its `Idempotency-Key`, and decisions
//! their deterministic ids). A sink that falls behind holds ingestion back (the core waits
//! while the slowest sink is more than `max_sink_lag` records behind), so a slow target
//! slows the input instead of growing memory.

use crate::core::{Request, Shared};
use crate::metrics::Metrics;
use crate::store::{Store, meta};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// How one sink delivers a record.
pub enum Target {
    Webhook {
        client: reqwest::Client,
        url: String,
        retries: u32,
    },
    Log {
        file: std::fs::File,
        /// Length-delimited `cbp.v1.Record`s instead of NDJSON.
        proto: bool,
    },
    Kafka(crate::kafka::RecordProducer),
}

/// Which records a sink takes.
pub struct Filter {
    /// Record kinds; empty: all.
    pub kinds: Vec<String>,
    /// Only records addressed above this layer (the parent's share).
    pub above_layer: Option<u8>,
    /// Only records addressed to a node in this zone (a child's share).
    pub to_zone: Option<String>,
}

impl Filter {
    pub fn admits(&self, record: &Value) -> bool {
        let kind = record.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind == "received" || kind == "sink_failure" {
            // What other nodes sent is theirs to deliver; a failure is the node's own note.
            return false;
        }
        if !self.kinds.is_empty() && !self.kinds.iter().any(|k| k == kind) {
            return false;
        }
        if let Some(zone) = &self.to_zone
            && !crate::peers::destination_node(record)
                .is_some_and(|to| crate::peers::within(to, zone))
        {
            return false;
        }
        match self.above_layer {
            Some(layer) => crate::peers::destination_layer(record).is_some_and(|to| to > layer),
            None => true,
        }
    }
}

pub struct Sink {
    pub name: String,
    pub target: Target,
    pub filter: Filter,
}

/// The cursors of every sink, to find the slowest.
#[derive(Default)]
pub struct Cursors {
    cursors: Mutex<BTreeMap<String, u64>>,
}

impl Cursors {
    fn set(&self, name: &str, cursor: u64, shared: &Shared) {
        if let Ok(mut map) = self.cursors.lock() {
            map.insert(name.to_string(), cursor);
            let slowest = map.values().copied().min().unwrap_or(u64::MAX);
            shared
                .slowest_sink
                .store(slowest, std::sync::atomic::Ordering::Release);
        }
    }
}

const BATCH: usize = 1024;

/// Where a sink starts: its saved cursor, or for a new sink the end of the log, saved at
/// once (a crash before its first delivery must not move its start to the end of a longer
/// log). Called before any source runs, so a new sink misses nothing that comes after.
pub fn start_cursor(store: &Store, name: &str) -> Result<u64, String> {
    let key = meta::sink_cursor(name);
    match store.meta(&key) {
        Ok(Some(cursor)) => Ok(cursor.max(0) as u64),
        Ok(None) => {
            let start = store.record_count().map_err(|e| e.to_string())?;
            store
                .set_meta(&key, start as i64)
                .map_err(|e| format!("sink `{name}` cannot save its cursor: {e}"))?;
            Ok(start)
        }
        Err(e) => Err(format!("sink `{name}` cannot read its cursor: {e}")),
    }
}

/// Runs `sink` from record `start` until the node stops: waits for committed records,
/// delivers them in order.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    sink: Sink,
    start: u64,
    store: Arc<Store>,
    shared: Arc<Shared>,
    cursors: Arc<Cursors>,
    metrics: Arc<Metrics>,
    mut committed: watch::Receiver<u64>,
    // Weak: a sink must not keep the core from stopping.
    core: mpsc::WeakSender<Request>,
) {
    let key = meta::sink_cursor(&sink.name);
    let mut cursor = start;
    cursors.set(&sink.name, cursor, &shared);
    let mut target = sink.target;
    loop {
        let available = *committed.borrow_and_update();
        if available <= cursor {
            if committed.changed().await.is_err() {
                break;
            }
            continue;
        }
        let batch = {
            let store = store.clone();
            match tokio::task::spawn_blocking(move || store.records_from(cursor, BATCH)).await {
                Ok(Ok(batch)) => batch,
                _ => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            }
        };
        let parsed: Vec<(u64, String, Value)> = batch
            .into_iter()
            .map(|(seq, line)| {
                let record = serde_json::from_str(&line).unwrap_or(Value::Null);
                (seq, line, record)
            })
            .collect();
        let admitted: Vec<&(u64, String, Value)> = parsed
            .iter()
            .filter(|(_, _, record)| sink.filter.admits(record))
            .collect();
        let outcomes: Vec<Result<(), String>> = match &mut target {
            // Kafka takes the batch at once: its deliveries are awaited together.
            Target::Kafka(producer) => {
                let records: Vec<(&str, &Value)> = admitted
                    .iter()
                    .map(|(_, line, record)| (line.as_str(), record))
                    .collect();
                producer.send_all(&records).await
            }
            _ => {
                let mut outcomes = Vec::with_capacity(admitted.len());
                for (seq, line, record) in &admitted {
                    outcomes.push(deliver(&mut target, *seq, line, record).await);
                }
                outcomes
            }
        };
        for ((seq, _, _), outcome) in admitted.iter().zip(outcomes) {
            match outcome {
                Ok(()) => {
                    metrics
                        .sink_delivered
                        .get_or_create(&vec![("sink".into(), sink.name.clone())])
                        .inc();
                }
                Err(error) => {
                    // Given up after the retries: said in the log and the metrics, and the
                    // sink moves on so one bad record cannot stop it.
                    tracing::warn!("sink `{}` gave up on record {seq}: {error}", sink.name);
                    log_failure(&core, &sink.name, *seq, &error).await;
                    metrics
                        .sink_failures
                        .get_or_create(&vec![("sink".into(), sink.name.clone())])
                        .inc();
                }
            }
        }
        if let Some((seq, _, _)) = parsed.last() {
            cursor = seq + 1;
        }
        if let Err(e) = store.set_meta(&key, cursor as i64) {
            tracing::warn!("sink `{}` cannot save its cursor: {e}", sink.name);
        }
        cursors.set(&sink.name, cursor, &shared);
    }
}

/// The dead letter of a delivery: a `sink_failure` record in the log, naming the sink, the
/// record and why.
async fn log_failure(core: &mpsc::WeakSender<Request>, sink: &str, seq: u64, error: &str) {
    let Some(core) = core.upgrade() else { return };
    let (reply, answer) = tokio::sync::oneshot::channel();
    let record =
        serde_json::json!({"kind": "sink_failure", "sink": sink, "record": seq, "error": error});
    if core.send(Request::Log { record, reply }).await.is_ok() {
        let _ = answer.await;
    }
}

async fn deliver(target: &mut Target, seq: u64, line: &str, record: &Value) -> Result<(), String> {
    match target {
        Target::Log { file, proto: false } => file
            .write_all(line.as_bytes())
            .and_then(|()| file.write_all(b"\n"))
            .map_err(|e| e.to_string()),
        Target::Log { file, proto: true } => {
            let message = crate::record_proto::record_message(line)?;
            let bytes = prost::Message::encode_length_delimited_to_vec(&message);
            file.write_all(&bytes).map_err(|e| e.to_string())
        }
        Target::Kafka(producer) => producer
            .send_all(&[(line, record)])
            .await
            .pop()
            .unwrap_or(Ok(())),
        Target::Webhook {
            client,
            url,
            retries,
        } => {
            let mut delay = Duration::from_millis(100);
            let mut last = String::new();
            for attempt in 0..=*retries {
                if attempt > 0 {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
                let sent = client
                    .post(url.as_str())
                    .header("content-type", "application/json")
                    .header("idempotency-key", seq.to_string())
                    .body(line.to_string())
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status().is_success() => return Ok(()),
                    // A 4xx other than 408/429 will not get better by trying again.
                    Ok(response)
                        if response.status().is_client_error()
                            && response.status() != reqwest::StatusCode::REQUEST_TIMEOUT
                            && response.status() != reqwest::StatusCode::TOO_MANY_REQUESTS =>
                    {
                        return Err(format!("{url} answered {}", response.status()));
                    }
                    Ok(response) => last = format!("{url} answered {}", response.status()),
                    Err(e) => last = format!("{url}: {e}"),
                }
            }
            Err(last)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters() {
        let up = json!({"kind": "escalation", "to": {"layer": "L2", "node": "a.b.c"}});
        let report = json!({"kind": "report", "to": {"layer": "L1", "node": "a.b.c.d"}});
        let parent = Filter {
            kinds: vec!["escalation".into(), "report".into()],
            above_layer: Some(1),
            to_zone: None,
        };
        assert!(parent.admits(&up));
        assert!(!parent.admits(&report), "addressed within the node");
        let all = Filter {
            kinds: Vec::new(),
            above_layer: None,
            to_zone: None,
        };
        assert!(all.admits(&report));
        assert!(!all.admits(&json!({"kind": "received"})));
        let child = Filter {
            kinds: vec!["command".into()],
            above_layer: None,
            to_zone: Some("a.b.c.d".into()),
        };
        let command = |node: &str| json!({"kind": "command", "to": {"layer": "L1", "node": node}});
        assert!(child.admits(&command("a.b.c.d")));
        assert!(
            !child.admits(&command("a.b.c.dd")),
            "another zone sharing a prefix"
        );
        assert!(!child.admits(&command("a.b.c.e")));
        assert!(!child.admits(&up));
    }
}
