//! `kill -9` in the middle of a stream: the real `cbp-node` binary is killed while a client
//! posts the city's day, restarted on the same state, and the client goes on (resending the
//! batch it had no answer for). The log must then hold exactly what `cbpc run` writes for
//! the whole stream: every decision once, nothing lost, nothing twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::path::Path;
use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn_node(dir: &Path, port: u16) -> Child {
    spawn_binary(
        dir,
        port,
        "[clock]\nlateness = \"0s\"\nidle_advance = \"off\"",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_stream_loses_nothing_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let events = city_day_prefix(dir.path(), 4000);
    let expected = cbpc_run(&events, &[]);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = spawn_node(dir.path(), port);
    wait_ready(&base).await;

    let text = std::fs::read_to_string(&events).unwrap();
    let batches: Vec<String> = text
        .lines()
        .collect::<Vec<_>>()
        .chunks(100)
        .map(|chunk| chunk.join("\n"))
        .collect();
    let total = batches.len();
    let acknowledged = Arc::new(AtomicUsize::new(0));
    // The client: posts each batch until it is answered 200 (at least once).
    let sender = {
        let (base, acknowledged) = (base.clone(), acknowledged.clone());
        tokio::spawn(async move {
            let client = client();
            for batch in batches {
                loop {
                    let sent = client
                        .post(format!("{base}/api/v1/events"))
                        .header("content-type", "application/x-ndjson")
                        .body(batch.clone())
                        .send()
                        .await;
                    if let Ok(response) = sent
                        && response.status() == 200
                    {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                acknowledged.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    for kill_after in [total / 4, total / 2] {
        while acknowledged.load(Ordering::SeqCst) < kill_after {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        child = spawn_node(dir.path(), port);
        wait_ready(&base).await;
    }
    sender.await.unwrap();
    let got = records(&base).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let log = std::fs::read_to_string(dir.path().join("node.log")).unwrap();
    assert!(
        log.matches("journaled inputs replayed").count() >= 3,
        "{log}"
    );
    assert_eq!(got.lines().count(), expected.lines().count(), "{log}");
    assert_eq!(got, expected);
}
