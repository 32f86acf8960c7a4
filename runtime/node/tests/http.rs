//! The node through its HTTP API, in-process on a real socket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

/// Events in through HTTP give the same records, byte for byte, as `cbpc run` on them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_batches_give_what_cbpc_run_gives() {
    let dir = tempfile::tempdir().unwrap();
    let events = city_day_prefix(dir.path(), 3000);
    let expected = cbpc_run(&events, &[]);
    let (node, base) = start(test_config(dir.path(), "")).await;
    let client = client();
    let text = std::fs::read_to_string(&events).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for chunk in lines.chunks(250) {
        let response = client
            .post(format!("{base}/api/v1/events"))
            .header("content-type", "application/x-ndjson")
            .body(chunk.join("\n"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }
    let got = records(&base).await;
    assert!(expected.lines().count() > 100, "the prefix decides things");
    assert_eq!(got, expected);
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_waits_for_a_person_who_answers_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let (node, base) = start(test_config(dir.path(), "")).await;
    let client = client();
    let posted: Value = post_json(
        format!("{base}/webhook/traffic-violation-detector-v2"),
        serde_json::to_string(
            &serde_json::from_str::<Value>(&speeding("e-17", "2025-12-03T14:00:05Z")).unwrap(),
        )
        .unwrap(),
    )
    .await;
    assert_eq!(posted["accepted"], 1);
    let decision = &posted["records"][0];
    assert_eq!(decision["kind"], "decision");
    assert_eq!(decision["rule"], "speeding_detected");
    assert_eq!(decision["approval"]["status"], "pending");
    let id = decision["decision_id"].as_str().unwrap().to_string();

    let pending: Value = client
        .get(format!(
            "{base}/api/v1/authority/pending-approvals?level=L1&zone=ka.bengaluru.east"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let approvals = pending["approvals"].as_array().unwrap();
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0]["decision_id"], id.as_str());
    assert_eq!(
        approvals[0]["evidence_urls"],
        json!(["https://evidence.example/e17.jpg"])
    );
    let elsewhere: Value = client
        .get(format!(
            "{base}/api/v1/authority/pending-approvals?zone=ka.bengaluru.south"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(elsewhere["approvals"], json!([]));

    let answer = json!({"decision_id": id, "action": "approve", "authority_id": "officer-123",
        "notes": "Violation confirmed from video evidence"});
    let response = client
        .post(format!("{base}/api/v1/authority/approve-decision"))
        .json(&answer)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let resolved: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{resolved}");
    assert_eq!(resolved["status"], "approved");
    assert_eq!(resolved["by"], "officer-123");
    assert!(
        resolved["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["kind"] == "action" && r["type"] == "fine"),
        "the approval's follow-up action runs: {resolved}"
    );

    // The same answer again is recognised; a different one is refused with the reason.
    let again: Value = post_json(
        format!("{base}/api/v1/authority/approve-decision"),
        serde_json::to_string(&answer).unwrap(),
    )
    .await;
    assert_eq!(again["status"], "duplicate");
    let other = json!({"decision_id": id, "action": "reject", "authority_id": "officer-9"});
    let refused = client
        .post(format!("{base}/api/v1/authority/approve-decision"))
        .json(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 409);
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["error"]["code"], "already_resolved");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already approved")
    );

    let unknown = client
        .post(format!("{base}/api/v1/authority/approve-decision"))
        .json(&json!({"decision_id": "d-nope", "action": "approve", "authority_id": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let pending: Value = get_json(format!("{base}/api/v1/authority/pending-approvals")).await;
    assert_eq!(pending["approvals"], json!([]));
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_approval_resolves_at_its_deadline_by_its_default() {
    let dir = tempfile::tempdir().unwrap();
    let (node, base) = start(test_config(dir.path(), "")).await;
    let client = client();
    let post = |line: String| {
        let client = client.clone();
        let base = base.clone();
        async move {
            client
                .post(format!("{base}/api/v1/events"))
                .body(line)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    post(speeding("e-1", "2025-12-03T14:00:00Z")).await;
    // 31 minutes of event time later the 30-minute deadline has passed.
    let later = post(speeding("e-2", "2025-12-03T14:31:00Z")).await;
    let approval = later["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "approval")
        .cloned()
        .unwrap();
    assert_eq!(approval["by"], "timeout");
    assert_eq!(approval["status"], "auto_approved");
    assert_eq!(approval["time"], "2025-12-03T14:30:00.000Z");
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clock_runs_on_with_the_wall_clock_when_the_input_is_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path(), "");
    config.clock.idle_advance = "200ms".into();
    let (node, base) = start(config).await;
    let client = client();
    client
        .post(format!("{base}/api/v1/events"))
        .body(speeding("e-1", "2025-12-03T14:00:00Z"))
        .send()
        .await
        .unwrap();
    let mut clock = String::new();
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let status: Value = get_json(format!("{base}/api/v1/status")).await;
        clock = status["clock"].as_str().unwrap().to_string();
        if clock.as_str() > "2025-12-03T14:00:00.000Z" {
            break;
        }
    }
    assert!(clock.as_str() > "2025-12-03T14:00:00.000Z", "{clock}");
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_register_against_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let (node, base) = start(test_config(dir.path(), "")).await;
    let client = client();
    let good = json!({"plugin_manifest": {"model_id": "traffic-violation-detector-v2",
        "model_name": "Traffic Violation Detection System", "version": "2.3.1",
        "output_types": ["violation_event"], "requires_human_approval": true},
        "endpoints": {"health": "http://cam.example/health"}});
    let response = client
        .post(format!("{base}/api/v1/plugin/register"))
        .json(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let bad = json!({"plugin_manifest": {"model_id": "traffic-violation-detector-v2",
        "output_types": ["violation_event", "alert"]}});
    let response = client
        .post(format!("{base}/api/v1/plugin/register"))
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let error: Value = response.json().await.unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`alert`")
    );
    let listed: Value = get_json(format!("{base}/api/v1/plugins")).await;
    let registered: Vec<&Value> = listed["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["registered"] == true)
        .collect();
    assert_eq!(registered.len(), 1);
    assert_eq!(
        registered[0]["manifest"]["endpoints"]["health"],
        "http://cam.example/health"
    );

    // A webhook of an undeclared plugin, and an event posted to the wrong webhook.
    let response = client
        .post(format!("{base}/webhook/nobody"))
        .body(speeding("e-1", "2025-12-03T14:00:00Z"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let response = client
        .post(format!("{base}/webhook/flood_prediction_model"))
        .body(speeding("e-1", "2025-12-03T14:00:00Z"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_bodies_are_events_too() {
    use prost::Message;
    let dir = tempfile::tempdir().unwrap();
    let (node, base) = start(test_config(dir.path(), "")).await;
    let object = serde_json::from_str(&speeding("e-5", "2025-12-03T14:00:05Z")).unwrap();
    let event = cbp_runtime::proto::json_to_event(&object).unwrap();
    let response = client()
        .post(format!("{base}/webhook/traffic-violation-detector-v2"))
        .header("content-type", "application/x-protobuf")
        .body(event.encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let posted: Value = response.json().await.unwrap();
    assert_eq!(posted["records"][0]["rule"], "speeding_detected");
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_bundle_is_swapped_in_and_a_bad_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (node, base) = start(test_config(dir.path(), "")).await;
    let client = client();
    client
        .post(format!("{base}/api/v1/events"))
        .body(speeding("e-1", "2025-12-03T14:00:00Z"))
        .send()
        .await
        .unwrap();
    let program = cbp_node::policy::load(&cbp_node::policy::PolicySource::Shipped).unwrap();
    let bundle = cbp_ir::bundle::write_bundle(&program);
    let response = client
        .post(format!("{base}/api/v1/bundle"))
        .body(bundle.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let reloaded: Value = response.json().await.unwrap();
    assert_eq!(
        reloaded["replayed"], 1,
        "the window state is rebuilt: {reloaded}"
    );
    let mut tampered = bundle;
    let at = tampered.len() / 2;
    tampered[at] ^= 1;
    let response = client
        .post(format!("{base}/api/v1/bundle"))
        .body(tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    // The pending approval of the first event is still there, and the node still decides.
    let pending: Value = get_json(format!("{base}/api/v1/authority/pending-approvals")).await;
    assert_eq!(pending["approvals"].as_array().unwrap().len(), 1);
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_routes() {
    let dir = tempfile::tempdir().unwrap();
    let (node, base) = start(test_config(dir.path(), "")).await;
    let client = client();
    for route in ["/health", "/ready", "/api/v1/status"] {
        let response = client.get(format!("{base}{route}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{route}");
    }
    client
        .post(format!("{base}/api/v1/events"))
        .body(speeding("e-1", "2025-12-03T14:00:00Z"))
        .send()
        .await
        .unwrap();
    let metrics = metrics(&base).await;
    assert!(metrics.contains("cbp_node_events_in_total 1"), "{metrics}");
    assert!(
        metrics.contains("cbp_node_decisions_total{rule=\"speeding_detected\"} 1"),
        "{metrics}"
    );
    let openapi: Value = get_json(format!("{base}/api/v1/openapi.json")).await;
    for path in [
        "/api/v1/plugin/register",
        "/webhook/{plugin_id}",
        "/api/v1/authority/pending-approvals",
        "/api/v1/authority/approve-decision",
        "/api/v1/layer/escalate",
        "/api/v1/layer/command",
    ] {
        assert!(openapi["paths"].get(path).is_some(), "{path}");
    }
    let missing = client.get(format!("{base}/nowhere")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let error: Value = missing.json().await.unwrap();
    assert_eq!(error["error"]["code"], "not_found");
    let wrong_method = client
        .get(format!("{base}/api/v1/authority/approve-decision"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_from_other_nodes_are_checked_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let (node, base) = start(test_config(dir.path(), "")).await;
    let client = client();
    let escalation = json!({"kind": "escalation", "decision_id": "d-1", "incident_id": "i-1",
        "reason": "emergency_route_request", "time": "2025-12-03T03:17:00.000Z",
        "from": {"layer": "L1", "node": "ka.bengaluru.east.indiranagar"},
        "to": {"layer": "L2", "node": "ka.bengaluru.east"}});
    let response = client
        .post(format!("{base}/api/v1/layer/escalate"))
        .json(&escalation)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let response = client
        .post(format!("{base}/api/v1/layer/command"))
        .json(&escalation)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422, "an escalation is not a command");
    let log = records(&base).await;
    assert!(log.contains("\"kind\":\"received\""), "{log}");
    node.shutdown().await;
}

/// A body too large for the limit is refused with the API's JSON error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_413() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path(), "");
    config.http.max_body_bytes = 1024;
    let (node, base) = start(config).await;
    let response = client()
        .post(format!("{base}/api/v1/events"))
        .body(vec![b' '; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "payload_too_large");
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_bundle_file_is_reloaded_and_a_broken_one_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let sources = dir.path().join("policies");
    std::fs::create_dir(&sources).unwrap();
    for entry in std::fs::read_dir(repo().join("policies")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, sources.join(path.file_name().unwrap())).unwrap();
    }
    let compile = || {
        let program = cbp_node::policy::load(&cbp_node::policy::PolicySource::Paths(vec![
            sources.clone(),
        ]))
        .unwrap();
        (
            cbp_ir::bundle::write_bundle(&program),
            program.source_hash.clone(),
        )
    };
    let bundle_path = dir.path().join("city.cbpb");
    let (first, first_hash) = compile();
    std::fs::write(&bundle_path, first).unwrap();
    let extra = format!("[policy]\nbundle = \"{}\"", bundle_path.display());
    let (node, base) = start(test_config(dir.path(), &extra)).await;
    let hash = || async {
        let status: Value = get_json(format!("{base}/api/v1/status")).await;
        status["source_hash"].as_str().unwrap().to_string()
    };
    assert_eq!(hash().await, first_hash);

    std::fs::write(&bundle_path, b"not a bundle").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(
        hash().await,
        first_hash,
        "a broken bundle leaves the old one running"
    );

    // A comment changes the sources, so the bundle's source hash.
    let file = sources.join("speeding_detected.cbp");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("// revised\n{text}")).unwrap();
    let (second, second_hash) = compile();
    assert_ne!(first_hash, second_hash);
    std::fs::write(&bundle_path, second).unwrap();
    let mut now = String::new();
    for _ in 0..100 {
        now = hash().await;
        if now == second_hash {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(now, second_hash);
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_far_in_the_future_is_dead_lettered_and_moves_no_clock() {
    let dir = tempfile::tempdir().unwrap();
    let (node, base) = start(test_config(dir.path(), "")).await;
    let client = client();
    client
        .post(format!("{base}/api/v1/events"))
        .body(speeding("e-1", "2025-12-03T14:00:05Z"))
        .send()
        .await
        .unwrap();
    let posted: Value = post_json(
        format!("{base}/api/v1/events"),
        speeding("e-2", "9999-12-03T14:00:05Z"),
    )
    .await;
    assert_eq!(posted["dead_letters"], 1, "{posted}");
    let error = posted["records"][0]["error"].as_str().unwrap();
    assert!(error.contains("ahead of the node's clock"), "{error}");
    let status: Value = get_json(format!("{base}/api/v1/status")).await;
    assert_eq!(status["clock"], "2025-12-03T14:00:05.000Z");
    node.shutdown().await;
}
