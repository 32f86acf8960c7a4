//! Sinks: records delivered to a target system's webhook (retried until it answers, given up
//! with a `sink_failure` record when it refuses), to a log file, and up to the parent node.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::*;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the fake target systems received: (route, idempotency key, body).
type Received = Arc<Mutex<Vec<(String, String, Value)>>>;

async fn target(received: Received) -> String {
    let flaky_calls = Arc::new(Mutex::new(0u32));
    let record = |route: &'static str| {
        move |State((received, calls)): State<(Received, Arc<Mutex<u32>>)>,
              headers: HeaderMap,
              body: Bytes| async move {
            let key = headers
                .get("idempotency-key")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            if route == "flaky" {
                let mut calls = calls.lock().unwrap();
                *calls += 1;
                if *calls == 1 {
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
            }
            if route == "refusing" {
                return StatusCode::BAD_REQUEST;
            }
            let body: Value = serde_json::from_slice(&body).unwrap();
            received
                .lock()
                .unwrap()
                .push((route.to_string(), key, body));
            StatusCode::OK
        }
    };
    let app = Router::new()
        .route("/flaky", post(record("flaky")))
        .route("/refusing", post(record("refusing")))
        .route("/api/v1/layer/escalate", post(record("parent")))
        .with_state((received, flaky_calls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

const EMERGENCY: &str = r#"{"event_id":"sample-7","model_id":"emergency-dispatch","type":"emergency_call","timestamp":"2025-12-03T14:20:00Z","location":{"latitude":12.9784,"longitude":77.6408},"zone":"ka.bengaluru.east.indiranagar","severity":"critical","confidence":0.99,"metadata":{},"payload":{"incident":"cardiac_arrest","destination":{"latitude":12.9352,"longitude":77.6245},"patient_condition":"critical"}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_reach_webhooks_files_and_the_parent() {
    let received: Received = Arc::default();
    let target = target(received.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("records.ndjson");
    let extra = format!(
        r#"
        [node]
        parent = "{target}"
        [[sink]]
        name = "dispatch"
        kind = "webhook"
        url = "{target}/flaky"
        kinds = ["decision"]
        retries = 3
        [[sink]]
        name = "closed"
        kind = "webhook"
        url = "{target}/refusing"
        kinds = ["decision"]
        [[sink]]
        name = "file"
        kind = "log"
        path = "{}"
        "#,
        log_path.display()
    );
    let (node, base) = start(test_config(dir.path(), &extra)).await;
    let client = client();
    for line in [
        speeding("e-1", "2025-12-03T14:00:05Z"),
        EMERGENCY.to_string(),
    ] {
        let response = client
            .post(format!("{base}/api/v1/events"))
            .body(line)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    // Deliveries are asynchronous: wait for them.
    let decisions_logged = |log: &str| log.matches("\"kind\":\"decision\"").count();
    let mut log = String::new();
    for _ in 0..100 {
        log = records(&base).await;
        let delivered = received
            .lock()
            .unwrap()
            .iter()
            .filter(|(r, _, _)| r == "flaky")
            .count();
        let failed = log.matches("sink_failure").count();
        if delivered >= decisions_logged(&log) && failed >= decisions_logged(&log) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let decisions = decisions_logged(&log);
    assert!(decisions >= 2, "{log}");
    let received = received.lock().unwrap().clone();
    let delivered: Vec<_> = received.iter().filter(|(r, _, _)| r == "flaky").collect();
    assert_eq!(
        delivered.len(),
        decisions,
        "each decision once, the first after a retry"
    );
    assert!(
        delivered
            .iter()
            .all(|(_, _, body)| body["kind"] == "decision")
    );
    let mut keys: Vec<&String> = delivered.iter().map(|(_, key, _)| key).collect();
    keys.dedup();
    assert_eq!(keys.len(), decisions, "idempotency keys differ");
    let up: Vec<_> = received.iter().filter(|(r, _, _)| r == "parent").collect();
    assert!(
        up.iter().any(|(_, _, body)| body["kind"] == "escalation"),
        "the escalation went up: {up:?}"
    );
    assert!(
        up.iter().all(|(_, _, body)| body["to"]["layer"] != "L1"),
        "only what is addressed above L1: {up:?}"
    );
    let failures: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["kind"] == "sink_failure")
        .collect();
    assert_eq!(failures.len(), decisions, "{log}");
    assert!(failures.iter().all(|f| f["sink"] == "closed"));
    assert!(failures[0]["error"].as_str().unwrap().contains("400"));
    let file = std::fs::read_to_string(&log_path).unwrap();
    let engine_records = log
        .lines()
        .filter(|l| !l.contains("\"kind\":\"sink_failure\""))
        .count();
    assert_eq!(
        file.lines().count(),
        engine_records,
        "the file sink has every record"
    );
    node.shutdown().await;
}

/// A log sink with `format = "proto"` writes length-delimited `cbp.v1.Record`s (what
/// `cbpc run --out-format proto` writes): read back, the node's records.
#[tokio::test]
async fn a_log_sink_writes_protobuf() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.pb");
    let extra = format!(
        "[[sink]]\nname = \"file\"\nkind = \"log\"\nformat = \"proto\"\npath = \"{}\"",
        path.display()
    );
    let (node, base) = start(test_config(dir.path(), &extra)).await;
    let events: Vec<String> = (0..3)
        .map(|i| speeding(&format!("e-{i}"), &format!("2025-12-03T14:0{i}:05Z")))
        .collect();
    let answer = client()
        .post(format!("{base}/api/v1/events"))
        .header("content-type", "application/x-ndjson")
        .body(events.join("\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let log = records(&base).await;
    let want: Vec<Value> = log
        .lines()
        .map(|l| cbp_node::record_proto::exact_json(l).unwrap())
        .collect();
    assert!(want.len() >= 3, "{log}");
    let mut got = Vec::new();
    for _ in 0..100 {
        let bytes = std::fs::read(&path).unwrap_or_default();
        got = cbp_runtime::proto::decode_records(&bytes).unwrap();
        if got.len() >= want.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got: Vec<Value> = got.iter().map(cbp_runtime::proto::record_json).collect();
    assert_eq!(got, want);
    node.shutdown().await;
}
