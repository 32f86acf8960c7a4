//! A hierarchy of real `cbp-node` processes — a district (L2) and its neighbourhoods (L1),
//! wired parent/children over HTTP — makes what `cbpc run` makes for the same events in one
//! process: each decision once, by the node that runs its layer, and every escalation,
//! command and report the same, record for record.
//!
//! Two chains of the shipped policies: the emergency route (`clear_route_for_emergency.cbp`:
//! a call in a neighbourhood, the district's route and its commands, the green waves and
//! police alerts of the neighbourhoods on the route) and the flood protocol
//! (`flood_emergency_protocol.cbp`: two neighbourhoods flooding, the district declaring a
//! major flood to the city, the city's protocol relayed `to children`, roads closed and
//! sirens sounded in every neighbourhood).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod support;

use common::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};
use support::{Service, free_port, wait_for_port};

const DISTRICT: &str = "ka.bengaluru.east";

/// The first call tells the district where Koramangala is; the second's route, from
/// Indiranagar to a hospital in Koramangala, passes both neighbourhoods.
const CALLS: [&str; 2] = [
    r#"{"event_id":"em-1","model_id":"emergency-dispatch","type":"emergency_call","timestamp":"2025-12-03T03:00:00.000Z","location":{"latitude":12.936051,"longitude":77.622946},"zone":"ka.bengaluru.east.koramangala","severity":"critical","confidence":0.99,"metadata":{},"payload":{"destination":{"latitude":12.9102,"longitude":77.61},"incident":"road_accident","patient_condition":"high"}}"#,
    r#"{"event_id":"em-2","model_id":"emergency-dispatch","type":"emergency_call","timestamp":"2025-12-03T03:17:00.000Z","location":{"latitude":12.976031,"longitude":77.642021},"zone":"ka.bengaluru.east.indiranagar","severity":"critical","confidence":0.99,"metadata":{},"payload":{"destination":{"latitude":12.9299,"longitude":77.6187},"incident":"cardiac_arrest","patient_condition":"critical"}}"#,
];

/// Koramangala's water stays low (it escalates nothing), Indiranagar and then Domlur flood
/// next to traffic: the district declares a major flood, the city's protocol comes back to
/// the district, which relays it to all three.
const FLOOD: [&str; 5] = [
    r#"{"event_id":"k-1","model_id":"flood_prediction_model","type":"flood_warning","timestamp":"2025-12-03T14:00:00.000Z","location":{"latitude":12.9352,"longitude":77.6245},"zone":"ka.bengaluru.east.koramangala","severity":"high","confidence":0.9,"metadata":{},"payload":{"water_level_cm":20}}"#,
    r#"{"event_id":"t-1","model_id":"traffic_monitoring","type":"traffic_status","timestamp":"2025-12-03T14:04:00.000Z","location":{"latitude":12.9802,"longitude":77.6408},"zone":"ka.bengaluru.east.indiranagar","severity":"medium","confidence":0.9,"metadata":{},"payload":{"road_id":"r-100ft-road","congestion":0.8,"avg_speed_kmh":8}}"#,
    r#"{"event_id":"f-1","model_id":"flood_prediction_model","type":"flood_warning","timestamp":"2025-12-03T14:05:00.000Z","location":{"latitude":12.9784,"longitude":77.6408},"zone":"ka.bengaluru.east.indiranagar","severity":"high","confidence":0.9,"metadata":{},"payload":{"water_level_cm":60}}"#,
    r#"{"event_id":"t-2","model_id":"traffic_monitoring","type":"traffic_status","timestamp":"2025-12-03T14:19:00.000Z","location":{"latitude":12.962,"longitude":77.6387},"zone":"ka.bengaluru.east.domlur","severity":"medium","confidence":0.9,"metadata":{},"payload":{"road_id":"r-domlur-flyover","congestion":0.7,"avg_speed_kmh":12}}"#,
    r#"{"event_id":"f-2","model_id":"flood_prediction_model","type":"flood_warning","timestamp":"2025-12-03T14:20:00.000Z","location":{"latitude":12.961,"longitude":77.6387},"zone":"ka.bengaluru.east.domlur","severity":"high","confidence":0.9,"metadata":{},"payload":{"water_level_cm":70}}"#,
];

struct Running {
    base: String,
    /// Killed when dropped.
    service: Option<Service>,
}

/// Starts the real binary with `node` as its `[node]` section (and `extra` after it).
async fn spawn(dir: &Path, name: &str, port: u16, node: &str, extra: &str) -> Running {
    let folder = dir.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    let rest =
        format!("[node]\n{node}\n[clock]\nlateness = \"0s\"\nidle_advance = \"off\"\n{extra}");
    let child = spawn_binary(&folder, port, &rest);
    let service = Service { child };
    wait_for_port(port, name).await;
    Running {
        base: format!("http://127.0.0.1:{port}"),
        service: Some(service),
    }
}

/// A district and its neighbourhoods, each its own process.
struct Hierarchy {
    district: Running,
    /// Neighbourhood name (the last segment of its zone) → its node.
    neighbourhoods: BTreeMap<String, Running>,
    /// How to start the district again (its port, `[node]` and `[[child]]` sections).
    district_port: u16,
    district_node: String,
    children: String,
}

impl Hierarchy {
    async fn start(dir: &Path, names: &[&str]) -> Hierarchy {
        let district_port = free_port();
        let parent = format!("parent = \"http://127.0.0.1:{district_port}\"");
        let mut neighbourhoods = BTreeMap::new();
        let mut children = String::new();
        for (i, name) in names.iter().enumerate() {
            let port = free_port();
            let zone = format!("{DISTRICT}.{name}");
            let node = format!("id = \"{name}\"\nlayer = \"L1\"\nzone = \"{zone}\"\n{parent}");
            neighbourhoods.insert(name.to_string(), spawn(dir, name, port, &node, "").await);
            // One URL with a trailing slash: the node joins the route either way.
            let slash = if i == 0 { "/" } else { "" };
            children.push_str(&format!(
                "[[child]]\nzone = \"{zone}\"\nurl = \"http://127.0.0.1:{port}{slash}\"\n"
            ));
        }
        let district_node = format!("id = \"east\"\nlayer = \"L2\"\nzone = \"{DISTRICT}\"");
        let district = spawn(dir, "district", district_port, &district_node, &children).await;
        Hierarchy {
            district,
            neighbourhoods,
            district_port,
            district_node,
            children,
        }
    }

    fn nodes(&self) -> Vec<(&str, &Running)> {
        let mut nodes = vec![("district", &self.district)];
        nodes.extend(self.neighbourhoods.iter().map(|(n, r)| (n.as_str(), r)));
        nodes
    }

    /// Stops the district and starts it again on the same state.
    async fn restart_district(&mut self, dir: &Path) {
        let port = self.district_port;
        drop(self.district.service.take());
        self.district = spawn(dir, "district", port, &self.district_node, &self.children).await;
    }

    /// Every node's log.
    async fn logs(&self) -> BTreeMap<String, Vec<Value>> {
        let mut logs = BTreeMap::new();
        for (name, node) in self.nodes() {
            logs.insert(name.to_string(), log(node).await);
        }
        logs
    }

    async fn decisions(&self) -> usize {
        let logs = self.logs().await;
        logs.values()
            .flatten()
            .filter(|r| r["kind"] == "decision")
            .count()
    }

    /// Posts each event to its neighbourhood and, before the next, waits until the chain it
    /// starts has made its decisions (as many as `cbpc run` makes by then), as one process
    /// runs each line to the end before the next. Returns `cbpc run`'s records for them all.
    async fn run(&self, dir: &Path, events: &[&str]) -> Vec<Value> {
        let mut expected = Vec::new();
        for (i, line) in events.iter().enumerate() {
            expected = reference(dir, &events[..=i]);
            let zone: Value = serde_json::from_str::<Value>(line).unwrap()["zone"].clone();
            let name = zone.as_str().unwrap().rsplit('.').next().unwrap();
            let answer = post_events(&self.neighbourhoods[name].base, line).await;
            assert_eq!(answer["accepted"], 1, "{answer}");
            let want = expected.iter().filter(|r| r["kind"] == "decision").count();
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let made = self.decisions().await;
                if made >= want {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "after event {i} the nodes hold {made} decisions after a minute, not {want}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        // A little longer, so that a record written twice would be there to be seen.
        tokio::time::sleep(Duration::from_millis(700)).await;
        expected
    }

    /// The three logs together hold what `expected` holds, and each decision once, made by
    /// the node that runs its layer; the district logs its children's reports as `received`.
    async fn assert_same_as(&self, expected: &[Value]) {
        let logs = self.logs().await;
        let mut decisions: Vec<(String, String, String, String)> = Vec::new();
        for (name, records) in &logs {
            for decision in records.iter().filter(|r| r["kind"] == "decision") {
                let node = decision["node"].as_str().unwrap();
                match name.as_str() {
                    // It has no parent: the city and above run there too.
                    "district" => assert_ne!(decision["layer"], "L1", "{decision}"),
                    other => assert_eq!(node, format!("{DISTRICT}.{other}"), "{decision}"),
                }
                decisions.push(decision_key(decision));
            }
        }
        decisions.sort();
        let made = decisions.len();
        decisions.dedup();
        assert_eq!(decisions.len(), made, "a decision was made twice");
        let mut reference: Vec<_> = expected
            .iter()
            .filter(|r| r["kind"] == "decision")
            .map(decision_key)
            .collect();
        reference.sort();
        assert_eq!(decisions, reference);

        let all: Vec<Value> = logs.values().flatten().cloned().collect();
        let mut got = by_kind(&all);
        for line in got.remove("received").unwrap_or_default() {
            let received: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(received["record"]["kind"], "report", "{line}");
        }
        assert!(logs["district"].iter().all(|r| r["kind"] != "report"));
        assert_eq!(got, by_kind(expected));
    }
}

/// `cbpc run`'s records for `events`, the reference: one process, the whole hierarchy.
fn reference(dir: &Path, events: &[&str]) -> Vec<Value> {
    let path = dir.join("events.ndjson");
    std::fs::write(&path, events.join("\n") + "\n").unwrap();
    cbpc_run(&path, &[])
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The records of the node's log, as JSON.
async fn log(node: &Running) -> Vec<Value> {
    records(&node.base)
        .await
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

async fn post_events(base: &str, line: &str) -> Value {
    let response = client()
        .post(format!("{base}/api/v1/events"))
        .header("content-type", "application/json")
        .body(line.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn post_record(url: String, record: &Value) -> (u16, Value) {
    let response = client().post(url).json(record).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// (rule, trigger, decision id, node).
fn decision_key(decision: &Value) -> (String, String, String, String) {
    let text = |key: &str| decision[key].as_str().unwrap().to_string();
    (
        text("rule"),
        text("trigger"),
        text("decision_id"),
        text("node"),
    )
}

/// Records as sorted lines, by kind.
fn by_kind(records: &[Value]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for record in records {
        let kind = record["kind"].as_str().unwrap().to_string();
        out.entry(kind).or_default().push(record.to_string());
    }
    for lines in out.values_mut() {
        lines.sort();
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emergency_route_runs_across_the_nodes_as_in_cbpc_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut hierarchy = Hierarchy::start(dir.path(), &["indiranagar", "koramangala"]).await;
    let status = get_json(format!("{}/api/v1/status", hierarchy.district.base)).await;
    assert_eq!(status["node"]["layers"], json!(["L2", "L5"]));
    let base = |name: &str| hierarchy.neighbourhoods[name].base.clone();
    let status = get_json(format!("{}/api/v1/status", base("koramangala"))).await;
    assert_eq!(status["node"]["layers"], json!(["L1", "L1"]));

    let expected = hierarchy.run(dir.path(), &CALLS).await;
    assert_eq!(
        expected.iter().filter(|r| r["kind"] == "decision").count(),
        10,
        "the chain runs twice, the second route is longer"
    );
    hierarchy.assert_same_as(&expected).await;

    // A retried escalation is recognised by its incident's ids: acknowledged, not run again.
    let logs = hierarchy.logs().await;
    let escalation = logs["indiranagar"]
        .iter()
        .find(|r| r["kind"] == "escalation")
        .unwrap()
        .clone();
    let escalate = format!("{}/api/v1/layer/escalate", hierarchy.district.base);
    let (status, retried) = post_record(escalate.clone(), &escalation).await;
    assert_eq!(status, 200);
    assert_eq!(retried["duplicates"], 1, "{retried}");
    assert_eq!(retried["records"], json!([]));

    // An escalation for another district is not this node's: refused, saying why.
    let mut elsewhere = escalation.clone();
    elsewhere["to"]["node"] = json!("ka.bengaluru.west");
    let (status, error) = post_record(escalate.clone(), &elsewhere).await;
    assert_eq!(status, 422);
    assert_eq!(error["error"]["code"], "not_this_node");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("outside this node's zone `ka.bengaluru.east`"),
        "{message}"
    );
    // A neighbourhood runs no district rule: a command for the district is refused there.
    let mut upward = logs["district"]
        .iter()
        .find(|r| r["kind"] == "command")
        .unwrap()
        .clone();
    upward["to"] = json!({"layer": "L2", "node": DISTRICT});
    let command = format!("{}/api/v1/layer/command", base("indiranagar"));
    let (status, _) = post_record(command, &upward).await;
    assert_eq!(status, 422);

    // The delivered incidents are journaled: after a restart the district rebuilds its
    // state from them, and still knows the retried escalation for what it is.
    let records_before = logs["district"].len();
    hierarchy.restart_district(dir.path()).await;
    let escalate = format!("{}/api/v1/layer/escalate", hierarchy.district.base);
    let (_, retried) = post_record(escalate, &escalation).await;
    assert_eq!(retried["duplicates"], 1, "{retried}");
    assert_eq!(log(&hierarchy.district).await.len(), records_before);
}

/// `command … to children` at the district reaches every configured child, including
/// Koramangala, which escalated nothing (one process reaches it because it had an event).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flood_protocol_comes_back_down_to_every_neighbourhood() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["domlur", "indiranagar", "koramangala"];
    let hierarchy = Hierarchy::start(dir.path(), &names).await;
    let expected = hierarchy.run(dir.path(), &FLOOD).await;
    let rules: Vec<&str> = expected
        .iter()
        .filter(|r| r["kind"] == "decision")
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    for rule in [
        "declare_major_flood",
        "flood_emergency_protocol",
        "relay_flood_emergency_protocol",
    ] {
        assert!(rules.contains(&rule), "{rules:?}");
    }
    assert_eq!(
        rules
            .iter()
            .filter(|r| **r == "close_roads_for_flood")
            .count(),
        3
    );
    hierarchy.assert_same_as(&expected).await;
}
