//! Random and malformed requests against every route, through a real socket: the answer is
//! never a 5xx, and the node keeps answering.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};

const POST_ROUTES: &[&str] = &[
    "/api/v1/plugin/register",
    "/webhook/traffic-violation-detector-v2",
    "/webhook/nobody",
    "/api/v1/events",
    "/api/v1/authority/approve-decision",
    "/api/v1/layer/escalate",
    "/api/v1/layer/command",
    "/api/v1/bundle",
];

const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/x-ndjson",
    "application/x-protobuf",
    "application/x-protobuf; delimited=true",
    "text/plain",
    "",
];

/// Bodies that look almost right: valid requests with a piece cut out or changed.
fn near_miss() -> impl Strategy<Value = Vec<u8>> {
    let seeds = [
        speeding("e-1", "2025-12-03T14:00:05Z"),
        r#"{"decision_id":"d-1","action":"approve","authority_id":"a","level":"L1"}"#.to_string(),
        r#"{"plugin_manifest":{"model_id":"traffic-violation-detector-v2","output_types":["violation_event"]}}"#.to_string(),
        r#"{"kind":"escalation","decision_id":"d","reason":"r","time":"t","from":{"layer":"L1","node":"a"},"to":{"layer":"L2","node":"b"}}"#.to_string(),
        format!("[{},{}]", speeding("e-2", "2025-12-03T14:00:05Z"), speeding("e-3", "x")),
    ];
    (0..seeds.len(), any::<usize>(), any::<usize>(), any::<u8>()).prop_map(
        move |(which, cut, at, byte)| {
            let mut bytes = seeds[which].clone().into_bytes();
            let len = bytes.len();
            match cut % 3 {
                0 => bytes.truncate(at % (len + 1)),
                1 => bytes[at % len] = byte,
                _ => bytes.insert(at % (len + 1), byte),
            }
            bytes
        },
    )
}

#[test]
fn no_request_gets_a_5xx() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (node, base) = runtime.block_on(start(test_config(dir.path(), "")));
    let client = client();
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256u32);
    let mut runner = TestRunner::new(ProptestConfig::with_cases(cases));
    let body = prop_oneof![proptest::collection::vec(any::<u8>(), 0..512), near_miss()];
    let strategy = (0..POST_ROUTES.len(), 0..CONTENT_TYPES.len(), body);
    let result = runner.run(&strategy, |(route, content_type, body)| {
        let status = runtime.block_on(async {
            let mut request = client
                .post(format!("{base}{}", POST_ROUTES[route]))
                .body(body.clone());
            if !CONTENT_TYPES[content_type].is_empty() {
                request = request.header("content-type", CONTENT_TYPES[content_type]);
            }
            request.send().await.unwrap().status()
        });
        prop_assert!(
            !status.is_server_error(),
            "{} {:?} → {status}",
            POST_ROUTES[route],
            String::from_utf8_lossy(&body)
        );
        Ok(())
    });
    result.unwrap();
    // Still alive, and the query routes take nonsense too.
    runtime.block_on(async {
        for query in [
            "/api/v1/authority/pending-approvals?level=L9",
            "/api/v1/authority/pending-approvals?level=%ff",
            "/api/v1/records?from=-1",
            "/api/v1/records?limit=abc",
        ] {
            let status = client
                .get(format!("{base}{query}"))
                .send()
                .await
                .unwrap()
                .status();
            assert!(status.is_client_error(), "{query} → {status}");
        }
        let status = client
            .get(format!("{base}/health"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
        node.shutdown().await;
    });
}
