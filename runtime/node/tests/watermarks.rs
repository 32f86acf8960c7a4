//! Per-source watermarks (`clock.watermarks = "per_source"`), through the real binary: two
//! plugins post to their webhooks, the traffic cameras an hour ahead of the waste sensors.
//! The approval deadline of a speeding decision waits for the slow source to catch up; the
//! slow source's events are not late although they are far behind the fast one's; and a
//! `kill -9` in the middle changes nothing in the log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod support;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

const CAMERAS: &str = "traffic-violation-detector-v2";
const SENSORS: &str = "waste-sensor-net";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A waste bin reading of the slow source.
fn bin(id: &str, time: &str) -> String {
    format!(
        r#"{{"event_id":"{id}","model_id":"{SENSORS}","type":"waste_bin_full","timestamp":"{time}","location":{{"latitude":12.9716,"longitude":77.5946}},"zone":"ka.bengaluru.east.indiranagar","severity":"low","confidence":0.97,"metadata":{{}},"payload":{{"bin_id":"bin-1","fill_pct":40}}}}"#
    )
}

fn spawn_node(dir: &Path, port: u16) -> Child {
    spawn_binary(
        dir,
        port,
        "[clock]\nlateness = \"30s\"\nidle_advance = \"off\"\nwatermarks = \"per_source\"\nsource_idle = \"1h\"",
    )
}

async fn post(base: &str, plugin: &str, event: String) -> Value {
    let response = client()
        .post(format!("{base}/webhook/{plugin}"))
        .header("content-type", "application/json")
        .body(event)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn kinds(reply: &Value) -> Vec<String> {
    reply["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_string())
        .collect()
}

fn watermark_of<'a>(status: &'a Value, source: &str) -> &'a str {
    status["watermarks"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == source)
        .unwrap_or_else(|| panic!("no source `{source}` in {status}"))["watermark"]
        .as_str()
        .unwrap()
}

/// The day of the two sources; with `restart`, the node is killed (`kill -9`) and started
/// again in the middle. Returns the node's log.
async fn run(restart: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = spawn_node(dir.path(), port);
    wait_ready(&base).await;

    post(&base, SENSORS, bin("w-1", "2025-12-03T14:00:00Z")).await;
    let first = post(&base, CAMERAS, speeding("e-1", "2025-12-03T14:00:05Z")).await;
    assert_eq!(kinds(&first), ["decision"], "{first}");
    // The cameras run an hour ahead: with one clock, this would fire e-1's deadline (14:30:05).
    let ahead = post(&base, CAMERAS, speeding("e-2", "2025-12-03T15:00:00Z")).await;
    assert_eq!(kinds(&ahead), ["decision"], "no deadline fires: {ahead}");

    let status = get_json(format!("{base}/api/v1/status")).await;
    assert_eq!(
        watermark_of(&status, &format!("http:{CAMERAS}")),
        "2025-12-03T14:59:30.000Z"
    );
    assert_eq!(
        watermark_of(&status, &format!("http:{SENSORS}")),
        "2025-12-03T13:59:30.000Z"
    );
    assert_eq!(
        status["watermarks"]["timers_at"], "2025-12-03T13:59:30.000Z",
        "{status}"
    );
    let metrics = metrics(&base).await;
    assert!(
        metrics.contains(&format!(
            "cbp_node_source_watermark_seconds{{source=\"http:{SENSORS}\"}} 1764770370"
        )),
        "{metrics}"
    );

    if restart {
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        child = spawn_node(dir.path(), port);
        wait_ready(&base).await;
        let again = get_json(format!("{base}/api/v1/status")).await;
        assert_eq!(
            again["watermarks"],
            status["watermarks"].clone().with_quiet(&again)
        );
    }

    // 50 minutes behind the cameras, but on time for its own source: not late.
    let behind = post(&base, SENSORS, bin("w-2", "2025-12-03T14:10:00Z")).await;
    assert_eq!(behind["dead_letters"], 0, "{behind}");
    assert_eq!(behind["accepted"], 1, "{behind}");
    let pending = get_json(format!("{base}/api/v1/authority/pending-approvals")).await;
    assert_eq!(
        pending["approvals"].as_array().unwrap().len(),
        2,
        "{pending}"
    );

    // The sensors pass 14:30:05 + the lateness: e-1's deadline fires (only it).
    let caught_up = post(&base, SENSORS, bin("w-3", "2025-12-03T14:31:00Z")).await;
    let fired = caught_up["records"].as_array().unwrap();
    let approval = fired
        .iter()
        .find(|r| r["kind"] == "approval")
        .unwrap_or_else(|| panic!("the deadline fires: {caught_up}"));
    assert_eq!(approval["status"], "auto_approved");
    assert_eq!(approval["by"], "timeout");
    assert_eq!(approval["time"], "2025-12-03T14:30:05.000Z");
    assert!(
        fired
            .iter()
            .any(|r| r["kind"] == "action" && r["type"] == "fine")
    );
    assert_eq!(
        fired.iter().filter(|r| r["kind"] == "approval").count(),
        1,
        "e-2's deadline (15:30) waits: {caught_up}"
    );

    // Behind its own source's watermark (14:30:30): late.
    let late = post(&base, SENSORS, bin("w-4", "2025-12-03T14:20:00Z")).await;
    assert_eq!(late["dead_letters"], 1, "{late}");
    let error = late["records"][0]["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("of source `http:{SENSORS}`")),
        "{error}"
    );

    let log = records(&base).await;
    child.kill().unwrap();
    child.wait().unwrap();
    log
}

/// The status's watermarks with the wall-clock parts (`quiet_seconds`) taken from `other`.
trait WithQuiet {
    fn with_quiet(self, other: &Value) -> Value;
}

impl WithQuiet for Value {
    fn with_quiet(mut self, other: &Value) -> Value {
        if let (Some(mine), Some(theirs)) = (
            self["sources"].as_array_mut(),
            other["watermarks"]["sources"].as_array(),
        ) {
            for (mine, theirs) in mine.iter_mut().zip(theirs) {
                mine["quiet_seconds"] = theirs["quiet_seconds"].clone();
            }
        }
        self
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_wait_for_the_slowest_source_and_survive_kill_9() {
    let straight = run(false).await;
    let killed = run(true).await;
    assert!(straight.contains("\"auto_approved\""), "{straight}");
    assert_eq!(killed, straight);
}

/// A source quiet for longer than `clock.source_idle` stops holding timers back, without
/// any further input.
#[tokio::test]
async fn a_quiet_source_stops_holding_timers_back() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(
        dir.path(),
        "watermarks = \"per_source\"\nsource_idle = \"1s\"",
    );
    let (node, base) = start(config).await;
    post(&base, SENSORS, bin("w-1", "2025-12-03T14:00:00Z")).await;
    post(&base, CAMERAS, speeding("e-1", "2025-12-03T14:00:05Z")).await;
    let ahead = post(&base, CAMERAS, speeding("e-2", "2025-12-03T15:00:00Z")).await;
    assert_eq!(
        kinds(&ahead),
        ["decision"],
        "the sensors hold the deadline: {ahead}"
    );
    // The cameras keep talking; the sensors say nothing more.
    let mut fired = false;
    for i in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        // A reading too mild for a decision.
        let mild =
            speeding(&format!("m-{i}"), "2025-12-03T15:00:00Z").replace("\"high\"", "\"low\"");
        post(&base, CAMERAS, mild).await;
        if records(&base).await.contains("\"auto_approved\"") {
            fired = true;
            break;
        }
    }
    assert!(fired, "e-1's deadline fires once the sensors are quiet");
    let status = get_json(format!("{base}/api/v1/status")).await;
    assert_eq!(
        status["watermarks"]["timers_at"],
        "2025-12-03T15:00:00.000Z"
    );
    node.shutdown().await;
}

/// For contrast, the one global clock: the cameras' hour ahead fires the deadline early and
/// makes the sensors' next reading late.
#[tokio::test]
async fn the_global_clock_runs_ahead_with_the_fastest_source() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path(), "");
    let (node, base) = start(config).await;
    post(&base, SENSORS, bin("w-1", "2025-12-03T14:00:00Z")).await;
    post(&base, CAMERAS, speeding("e-1", "2025-12-03T14:00:05Z")).await;
    let ahead = post(&base, CAMERAS, speeding("e-2", "2025-12-03T15:00:00Z")).await;
    assert!(kinds(&ahead).contains(&"approval".to_string()), "{ahead}");
    let behind = post(&base, SENSORS, bin("w-2", "2025-12-03T14:10:00Z")).await;
    assert_eq!(behind["dead_letters"], 1, "{behind}");
    assert_eq!(
        get_json(format!("{base}/api/v1/status")).await["watermarks"],
        Value::Null
    );
    node.shutdown().await;
}

/// `mosquitto_pub -q 1 -t TOPIC -m MESSAGE`.
fn publish_mqtt(program: &Path, port: u16, topic: &str, message: &str) {
    let status = Command::new(program)
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-q", "1"])
        .args(["-t", topic, "-m", message])
        .status()
        .unwrap();
    assert!(status.success(), "mosquitto_pub: {status}");
}

/// Over MQTT each topic is a source: the cameras' topic runs ahead, the bins' topic holds
/// the deadline back until it catches up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_mqtt_topic_is_a_source() {
    let install = "apt-get install mosquitto mosquitto-clients";
    let (Some(mosquitto), Some(publisher)) = (
        support::program(None, "mosquitto", install),
        support::program(None, "mosquitto_pub", install),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let broker_config = dir.path().join("mosquitto.conf");
    std::fs::write(
        &broker_config,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\nlog_dest stderr\nlog_type all\n"),
    )
    .unwrap();
    let broker_log = dir.path().join("mosquitto.log");
    let log = std::fs::File::create(&broker_log).unwrap();
    let _broker = support::Service {
        child: Command::new(&mosquitto)
            .arg("-c")
            .arg(&broker_config)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    };
    support::wait_for_port(port, "mosquitto").await;
    let config = test_config(
        dir.path(),
        &format!(
            "watermarks = \"per_source\"\nsource_idle = \"1h\"\n[mqtt]\nport = {port}\nclient_id = \"cbp-watermarks\"\ntopics = [\"cbp/events/#\"]"
        ),
    );
    let (node, base) = start(config).await;
    support::wait_for_text(
        &broker_log,
        "Sending SUBACK to cbp-watermarks",
        Duration::from_secs(60),
    )
    .await;

    let (cameras, bins) = ("cbp/events/cameras", "cbp/events/bins");
    publish_mqtt(&publisher, port, bins, &bin("w-1", "2025-12-03T14:00:00Z"));
    publish_mqtt(
        &publisher,
        port,
        cameras,
        &speeding("e-1", "2025-12-03T14:00:05Z"),
    );
    publish_mqtt(
        &publisher,
        port,
        cameras,
        &speeding("e-2", "2025-12-03T15:00:00Z"),
    );
    let timers_at = |status: &Value| status["watermarks"]["timers_at"].clone();
    let mut status = Value::Null;
    for _ in 0..100 {
        status = get_json(format!("{base}/api/v1/status")).await;
        if watermarks_has(
            &status,
            &format!("mqtt:{cameras}"),
            "2025-12-03T15:00:00.000Z",
        ) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        watermark_of(&status, &format!("mqtt:{bins}")),
        "2025-12-03T14:00:00.000Z"
    );
    assert_eq!(timers_at(&status), "2025-12-03T14:00:00.000Z", "{status}");
    assert!(!records(&base).await.contains("\"kind\":\"approval\""));

    publish_mqtt(&publisher, port, bins, &bin("w-2", "2025-12-03T14:31:00Z"));
    let mut log = String::new();
    for _ in 0..100 {
        log = records(&base).await;
        if log.contains("\"kind\":\"approval\"") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(log.contains("\"status\":\"auto_approved\""), "{log}");
    assert_eq!(log.matches("\"kind\":\"approval\"").count(), 1, "{log}");
    node.shutdown().await;
}

fn watermarks_has(status: &Value, source: &str, watermark: &str) -> bool {
    status["watermarks"]["sources"]
        .as_array()
        .is_some_and(|sources| {
            sources
                .iter()
                .any(|s| s["source"] == source && s["watermark"] == watermark)
        })
}
