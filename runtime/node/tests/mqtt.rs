//! The node's MQTT source against a real broker, Debian's `mosquitto`, with events published
//! by an outside client, `mosquitto_pub` (QoS 1, one event a message). Both are found on
//! `PATH` (or in `/usr/sbin`); CI installs them, see `.ci/run`.
//!
//! The log must be what `cbpc run` writes for the same lines, byte for byte; and when the
//! broker goes away and comes back on the same port, the node must reconnect, subscribe
//! again and take what is published then; and a node killed with `kill -9` while messages
//! stream in must, started again, hold every record exactly once (its session is persistent
//! and it acknowledges only what the core has committed, so the broker sends the rest again).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod support;

use common::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

const TOPIC: &str = "cbp/events/city";
const CLIENT_ID: &str = "cbp-node-under-test";

struct Programs {
    mosquitto: PathBuf,
    publish: PathBuf,
}

/// `None` (the test is skipped) when mosquitto is missing outside CI.
fn programs() -> Option<Programs> {
    let install = "apt-get install mosquitto mosquitto-clients";
    Some(Programs {
        mosquitto: program(None, "mosquitto", install)?,
        publish: program(None, "mosquitto_pub", install)?,
    })
}

/// mosquitto on `port`, its log (everything, for the test to read) in `log`.
async fn start_mosquitto(programs: &Programs, dir: &Path, port: u16, log: &Path) -> Service {
    let config = dir.join(format!("mosquitto-{port}.conf"));
    std::fs::write(
        &config,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 100000\nlog_dest stderr\nlog_type all\n"
        ),
    )
    .unwrap();
    let log = std::fs::File::create(log).unwrap();
    let child = Command::new(&programs.mosquitto)
        .arg("-c")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let service = Service { child };
    wait_for_port(port, "mosquitto").await;
    service
}

/// The broker's word that the node has subscribed (before that, a publish would be lost).
async fn wait_for_subscription(log: &Path) {
    wait_for_text(
        log,
        &format!("Sending SUBACK to {CLIENT_ID}"),
        Duration::from_secs(60),
    )
    .await;
}

/// `mosquitto_pub -q 1 -l`: each line a message, QoS 1, until stdin ends.
async fn publish(programs: &Programs, port: u16, lines: &[String]) {
    let program = programs.publish.clone();
    let text = lines.join("\n") + "\n";
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(program)
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args(["-i", "cbp-test-publisher", "-q", "1", "-t", TOPIC, "-l"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "mosquitto_pub: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    })
    .await
    .unwrap();
}

fn mqtt_section(port: u16) -> String {
    format!(
        "[mqtt]\nhost = \"127.0.0.1\"\nport = {port}\nclient_id = \"{CLIENT_ID}\"\ntopics = [\"cbp/events/#\"]\n"
    )
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// 1,000 events published by `mosquitto_pub` give the log `cbpc run` gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_events_give_what_cbpc_run_gives() {
    let Some(programs) = programs() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let events = city_day_prefix(dir.path(), 1000);
    let expected = cbpc_run(&events, &[]);
    assert!(expected.lines().count() > 50, "the prefix decides things");
    let port = free_port();
    let log = dir.path().join("mosquitto.log");
    let _broker = start_mosquitto(&programs, dir.path(), port, &log).await;
    let (node, base) = start(test_config(dir.path(), &mqtt_section(port))).await;
    wait_for_subscription(&log).await;

    let started = Instant::now();
    publish(&programs, port, &lines(&events)).await;
    wait_for_records(
        &base,
        expected.lines().count() as u64,
        Duration::from_secs(120),
    )
    .await;
    eprintln!("1000 events through mosquitto in {:?}", started.elapsed());
    assert_eq!(records(&base).await, expected);
    node.shutdown().await;
}

/// mosquitto stops and starts again on the same port: the node reconnects, subscribes
/// again, and what is published after the restart is in the log as `cbpc run` has it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_reconnects_when_mosquitto_restarts() {
    let Some(programs) = programs() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let events = city_day_prefix(dir.path(), 1200);
    let all = lines(&events);
    let before = city_day_prefix(dir.path(), 600);
    let expected_before = cbpc_run(&before, &[]);
    let expected = cbpc_run(&events, &[]);
    assert!(expected.lines().count() > expected_before.lines().count());
    let port = free_port();
    let first_log = dir.path().join("mosquitto-1.log");
    let broker = start_mosquitto(&programs, dir.path(), port, &first_log).await;
    let (node, base) = start(test_config(dir.path(), &mqtt_section(port))).await;
    wait_for_subscription(&first_log).await;
    publish(&programs, port, &all[..600]).await;
    wait_for_records(
        &base,
        expected_before.lines().count() as u64,
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(records(&base).await, expected_before);

    broker.stop();
    // Down long enough for the node to notice and fail a few reconnects.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let started = Instant::now();
    let second_log = dir.path().join("mosquitto-2.log");
    let _broker = start_mosquitto(&programs, dir.path(), port, &second_log).await;
    wait_for_subscription(&second_log).await;
    eprintln!(
        "the node subscribed again {:?} after mosquitto restarted",
        started.elapsed()
    );
    publish(&programs, port, &all[600..]).await;
    wait_for_records(
        &base,
        expected.lines().count() as u64,
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(records(&base).await, expected);
    node.shutdown().await;
}

/// The real `cbp-node` binary subscribed to mosquitto at `mqtt_port`, its config in `dir`.
/// Its duplicate window covers the whole stream: after a crash the broker sends again every
/// message not yet acknowledged, and acknowledgements trail far behind (see `mqtt.rs`).
fn spawn_node(dir: &Path, port: u16, mqtt_port: u16) -> Service {
    let rest = format!(
        "[clock]\nlateness = \"0s\"\nidle_advance = \"off\"\n{}",
        mqtt_section(mqtt_port)
    );
    Service {
        child: spawn_binary(dir, port, &rest),
    }
}

/// `kill -9` while 1,500 events stream in over MQTT: what the node had taken but not
/// acknowledged comes again, what it had not taken waits in its session at the broker, and
/// the log ends as `cbpc run` writes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_stream_gives_every_record_once() {
    let Some(programs) = programs() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let events = city_day_prefix(dir.path(), 1500);
    let expected = cbpc_run(&events, &[]);
    let total = expected.lines().count() as u64;
    let mqtt_port = free_port();
    let log = dir.path().join("mosquitto.log");
    let _broker = start_mosquitto(&programs, dir.path(), mqtt_port, &log).await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let node = spawn_node(dir.path(), port, mqtt_port);
    wait_for_subscription(&log).await;

    let started = Instant::now();
    publish(&programs, mqtt_port, &lines(&events)).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while record_count(&base).await.unwrap_or(0) < total / 3 {
        assert!(Instant::now() < deadline, "the node takes no events");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    node.stop(); // SIGKILL
    let node = spawn_node(dir.path(), port, mqtt_port);
    wait_for_records(&base, total, Duration::from_secs(120)).await;
    eprintln!(
        "1500 events over MQTT with a kill -9 in {:?}",
        started.elapsed()
    );
    let got = records(&base).await;
    let node_log = std::fs::read_to_string(dir.path().join("node.log")).unwrap();
    assert!(
        node_log.matches("journaled inputs replayed").count() >= 2,
        "{node_log}"
    );
    assert_eq!(got.lines().count(), expected.lines().count(), "{node_log}");
    assert_eq!(got, expected);
    node.stop();
}
