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
use std::borrow::Cow;
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
        self.admits_route(&Route::of_value(record))
    }

    fn admits_route(&self, route: &Route<'_>) -> bool {
        let kind = route.kind.as_deref().unwrap_or("");
        if kind == "received" || kind == "sink_failure" {
            // What other nodes sent is theirs to deliver; a failure is the node's own note.
            return false;
        }
        if !self.kinds.is_empty() && !self.kinds.iter().any(|k| k == kind) {
            return false;
        }
        if let Some(zone) = &self.to_zone
            && !route
                .to_node
                .as_deref()
                .is_some_and(|to| crate::peers::within(to, zone))
        {
            return false;
        }
        match self.above_layer {
            Some(layer) => route
                .to_layer
                .as_deref()
                .and_then(crate::config::layer_number)
                .is_some_and(|to| to > layer),
            None => true,
        }
    }
}

/// What a sink reads of a record to route it: its `kind`, the zone it concerns (the Kafka
/// key: `node`, else `from.node`) and where it is addressed (`to.node`, `to.layer`). Read
/// without building the rest of the record (parsing every record whole was most of a
/// sink's work); a record this reading refuses is parsed whole instead.
#[derive(Debug, Default, PartialEq, Eq)]
struct Route<'a> {
    kind: Option<Cow<'a, str>>,
    node: Option<Cow<'a, str>>,
    from_node: Option<Cow<'a, str>>,
    to_node: Option<Cow<'a, str>>,
    to_layer: Option<Cow<'a, str>>,
}

/// The fields [`Route`] reads, borrowed from the line: a string with an escape, a field of
/// another type, a repeated key make the reading fail (and the whole record decide).
#[derive(serde::Deserialize)]
struct Wire<'a> {
    #[serde(borrow)]
    kind: Option<&'a str>,
    #[serde(borrow)]
    node: Option<&'a str>,
    #[serde(borrow)]
    from: Option<WireAddress<'a>>,
    #[serde(borrow)]
    to: Option<WireAddress<'a>>,
}

#[derive(serde::Deserialize)]
struct WireAddress<'a> {
    #[serde(borrow)]
    node: Option<&'a str>,
    #[serde(borrow)]
    layer: Option<&'a str>,
}

impl<'a> Route<'a> {
    fn of(line: &'a str) -> Route<'a> {
        match serde_json::from_str::<Wire>(line) {
            Ok(wire) => Route {
                kind: wire.kind.map(Cow::Borrowed),
                node: wire.node.map(Cow::Borrowed),
                from_node: wire.from.and_then(|f| f.node).map(Cow::Borrowed),
                to_node: wire.to.as_ref().and_then(|t| t.node).map(Cow::Borrowed),
                to_layer: wire.to.and_then(|t| t.layer).map(Cow::Borrowed),
            },
            Err(_) => Route::of_value(&serde_json::from_str(line).unwrap_or(Value::Null)),
        }
    }

    fn of_value(record: &Value) -> Route<'static> {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(|s| Cow::Owned(s.to_string()));
        let to = record.get("to");
        Route {
            kind: text(record.get("kind")),
            node: text(record.get("node")),
            from_node: text(record.get("from").and_then(|f| f.get("node"))),
            to_node: text(to.and_then(|t| t.get("node"))),
            to_layer: text(to.and_then(|t| t.get("layer"))),
        }
    }

    /// The Kafka key ([`crate::kafka::zone_key`]).
    fn zone(&self) -> &str {
        self.node
            .as_deref()
            .or(self.from_node.as_deref())
            .unwrap_or_default()
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
            shared.sink_moved.notify_one();
        }
    }
}

/// The most records a sink reads from the log at once.
const BATCH: usize = 1024;

/// The same for a Kafka sink, whose batch is handed to the producer whole and its
/// deliveries awaited together: each batch waits out the producer's linger (5 ms by
/// default) and a broker round trip, so at 1,024 a batch the sink topped out near 150,000
/// records a second and held the core back at that rate. Larger is not better: at 8,192
/// (about a megabyte of records a round) the core spent 30–60 % more an event at full
/// rate, most likely its caches crowded out.
const KAFKA_BATCH: usize = 2048;

impl Target {
    fn batch(&self) -> usize {
        match self {
            Target::Kafka(_) => KAFKA_BATCH,
            _ => BATCH,
        }
    }
}

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
            let (store, limit) = (store.clone(), target.batch());
            match tokio::task::spawn_blocking(move || store.records_from(cursor, limit)).await {
                Ok(Ok(batch)) => batch,
                _ => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            }
        };
        let next = batch.last().map(|(seq, _)| seq + 1);
        // Each admitted record: its sequence number, its line, its Kafka key.
        let admitted: Vec<(u64, String, String)> = batch
            .into_iter()
            .filter_map(|(seq, line)| {
                let route = Route::of(&line);
                let key = sink
                    .filter
                    .admits_route(&route)
                    .then(|| route.zone().to_string())?;
                Some((seq, line, key))
            })
            .collect();
        let outcomes: Vec<Result<(), String>> = match &mut target {
            // Kafka takes the batch at once: its deliveries are awaited together.
            Target::Kafka(producer) => {
                let records: Vec<(&str, &str)> = admitted
                    .iter()
                    .map(|(_, line, key)| (line.as_str(), key.as_str()))
                    .collect();
                producer.send_all(&records).await
            }
            _ => {
                let mut outcomes = Vec::with_capacity(admitted.len());
                for (seq, line, key) in &admitted {
                    outcomes.push(deliver(&mut target, *seq, line, key).await);
                }
                outcomes
            }
        };
        let mut delivered = 0;
        for ((seq, _, _), outcome) in admitted.iter().zip(outcomes) {
            match outcome {
                Ok(()) => delivered += 1,
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
        // Counted once a batch: a label set built and looked up a record was a tenth of
        // the sink's time.
        metrics
            .sink_delivered
            .get_or_create(&vec![("sink".into(), sink.name.clone())])
            .inc_by(delivered);
        if let Some(next) = next {
            cursor = next;
        }
        if let Err(e) = store.set_meta_lazily(&key, cursor as i64) {
            tracing::warn!("sink `{}` cannot save its cursor: {e}", sink.name);
        }
        cursors.set(&sink.name, cursor, &shared);
    }
    // Stopping: the cursor is made durable now rather than by a commit that may not come.
    if let Err(e) = store.set_meta(&key, cursor as i64) {
        tracing::warn!("sink `{}` cannot save its cursor: {e}", sink.name);
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

/// Delivers one record: its JSON `line`, and its Kafka `key`.
async fn deliver(target: &mut Target, seq: u64, line: &str, key: &str) -> Result<(), String> {
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
            .send_all(&[(line, key)])
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

    #[test]
    fn routes_read_without_a_full_parse_agree_with_the_whole_record() {
        for line in [
            r#"{"kind":"decision","node":"a.b.c.d","rationale":{"x":[1,{"node":"no"}]}}"#,
            r#"{"kind":"escalation","from":{"node":"a.b.c","layer":"L2"},"to":{"layer":"L3","node":"a.b"}}"#,
            r#"{"kind":"command","to":{"layer":"L1","node":"a.b.c.d\u0031"},"node":"a.b"}"#,
            r#"{"kind":"dead_letter","line":3,"input":"{"node":"x"}"}"#,
            r#"{"kind":"action","node":7,"to":"somewhere"}"#,
            r#"{"kind":"a","kind":"b","node":"x"}"#,
            "not json",
        ] {
            let value: Value = serde_json::from_str(line).unwrap_or(Value::Null);
            let route = Route::of(line);
            assert_eq!(route.zone(), crate::kafka::zone_key(&value), "{line}");
            let whole = Route::of_value(&value);
            assert_eq!(
                (&route.kind, &route.to_node, &route.to_layer),
                (&whole.kind, &whole.to_node, &whole.to_layer),
                "{line}"
            );
        }
        let route = Route::of(r#"{"kind":"escalation","to":{"layer":"L3","node":"a.b"}}"#);
        assert!(
            matches!(route.to_node, Some(Cow::Borrowed("a.b"))),
            "not copied"
        );
    }
}
