//! Whole sessions: diagnostics follow edits across files, and only changed files are
//! republished.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

mod common;

use common::TestClient;
use serde_json::json;

const RULES: &str = "package city\nrule r at local {\n    on f: flood_warning\n    when f.water_level_cm > 30\n    then { }\n}\n";
const EVENTS: &str = "package city\nevent flood_warning { water_level_cm: int }\n";

fn codes(diagnostics: &serde_json::Value) -> Vec<String> {
    diagnostics
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn diagnostics_follow_edits_across_files() {
    let mut client = TestClient::start().await;
    let (rules, events) = ("file:///ws/rules.cbp", "file:///ws/events.cbp");

    client.open(rules, RULES).await;
    let first = client.diagnostics(rules).await.expect("published on open");
    assert_eq!(
        codes(&first),
        ["E0101"],
        "the event is not declared yet: {first}"
    );

    // Opening the file that declares the event fixes the other file.
    client.open(events, EVENTS).await;
    let notes = client.drain();
    let published: Vec<&str> = notes
        .iter()
        .map(|n| n["params"]["uri"].as_str().unwrap())
        .collect();
    assert!(
        published.contains(&rules) && published.contains(&events),
        "{published:?}"
    );
    let fixed = notes.iter().find(|n| n["params"]["uri"] == rules).unwrap();
    assert_eq!(fixed["params"]["diagnostics"], json!([]));

    // An edit that changes nothing else republishes only the edited file.
    let broken = EVENTS.replace("int", "integer");
    client
        .notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": events, "version": 2 }, "contentChanges": [{ "text": broken }] }),
        )
        .await;
    tokio::task::yield_now().await;
    let notes = client.drain();
    let uris: Vec<&str> = notes
        .iter()
        .map(|n| n["params"]["uri"].as_str().unwrap())
        .collect();
    assert_eq!(uris, [events], "rules.cbp still checks the same: {notes:?}");
    assert_eq!(notes[0]["params"]["version"], 2);
    assert!(!codes(&notes[0]["params"]["diagnostics"]).is_empty());

    // Hover still answers in the broken workspace.
    let hover = client
        .request(
            "textDocument/hover",
            json!({ "textDocument": { "uri": rules }, "position": { "line": 2, "character": 12 } }),
        )
        .await;
    assert!(
        hover["result"]["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("flood_warning"),
        "{hover}"
    );

    // Closing a file clears its diagnostics.
    client
        .notify(
            "textDocument/didClose",
            json!({ "textDocument": { "uri": events } }),
        )
        .await;
    tokio::task::yield_now().await;
    let notes = client.drain();
    let cleared = notes
        .iter()
        .find(|n| n["params"]["uri"] == events)
        .expect("cleared on close");
    assert_eq!(cleared["params"]["diagnostics"], json!([]));
    let rules_again = notes
        .iter()
        .find(|n| n["params"]["uri"] == rules)
        .expect("rules re-checked");
    assert_eq!(codes(&rules_again["params"]["diagnostics"]), ["E0101"]);
}

#[tokio::test]
async fn unknown_documents_and_positions_answer_null() {
    let mut client = TestClient::start().await;
    let hover = client
        .request(
            "textDocument/hover",
            json!({ "textDocument": { "uri": "file:///nope.cbp" }, "position": { "line": 99, "character": 0 } }),
        )
        .await;
    assert_eq!(hover["result"], serde_json::Value::Null, "{hover}");
    client.open("file:///ws/a.cbp", "package city\n").await;
    let hover = client
        .request(
            "textDocument/hover",
            json!({ "textDocument": { "uri": "file:///ws/a.cbp" }, "position": { "line": 99, "character": 99 } }),
        )
        .await;
    assert_eq!(hover["result"], serde_json::Value::Null, "{hover}");
}

#[tokio::test]
async fn files_of_the_workspace_folder_are_seen_without_being_open() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("events.cbp"), EVENTS).unwrap();
    std::fs::create_dir(dir.path().join("target")).unwrap();
    std::fs::write(dir.path().join("target/ignored.cbp"), "this is not cbp").unwrap();
    let root = format!("file://{}", dir.path().display());
    let mut client = TestClient::start_with(json!({
        "capabilities": {},
        "workspaceFolders": [{ "uri": root, "name": "ws" }],
    }))
    .await;
    let rules = format!("{root}/rules.cbp");
    client.open(&rules, RULES).await;
    let diagnostics = client.diagnostics(&rules).await.expect("published on open");
    assert_eq!(diagnostics, json!([]), "events.cbp was loaded from disk");

    // Definition goes to the file on disk.
    let definition = client
        .request(
            "textDocument/definition",
            json!({ "textDocument": { "uri": rules }, "position": { "line": 2, "character": 12 } }),
        )
        .await;
    assert_eq!(
        definition["result"]["uri"],
        format!("{root}/events.cbp"),
        "{definition}"
    );

    // Workspace symbols include it; the folder under `target/` was skipped.
    let symbols = client
        .request("workspace/symbol", json!({ "query": "" }))
        .await;
    let names: Vec<&str> = symbols["result"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["location"]["uri"].as_str().unwrap().starts_with(&root))
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["flood_warning", "r"],
        "by path: events.cbp, then rules.cbp"
    );
}

#[tokio::test]
async fn answers_follow_the_latest_text() {
    let mut client = TestClient::start().await;
    let (rules, events) = ("file:///ws/rules.cbp", "file:///ws/events.cbp");
    client.open(events, EVENTS).await;
    client.open(rules, RULES).await;
    let hover_field =
        json!({ "textDocument": { "uri": rules }, "position": { "line": 3, "character": 14 } });
    let before = client
        .request("textDocument/hover", hover_field.clone())
        .await;
    assert!(
        before["result"]["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("water_level_cm: int"),
        "{before}"
    );

    let edited = EVENTS.replace("int", "float");
    client
        .notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": events, "version": 2 }, "contentChanges": [{ "text": edited }] }),
        )
        .await;
    let after = client.request("textDocument/hover", hover_field).await;
    assert!(
        after["result"]["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("water_level_cm: float"),
        "{after}"
    );
}
