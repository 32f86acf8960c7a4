//! Stale and cancelled requests: a request still in flight when an edit arrives is answered
//! with `ContentModified` (-32801) instead of being computed on text that is gone, and a
//! `$/cancelRequest` stops a request that has not finished (`RequestCancelled`, -32800).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

mod common;

use common::TestClient;
use futures_util::future::join;
use serde_json::{Value, json};

const URI: &str = "file:///ws/a.cbp";
const TEXT: &str = "package city\nevent flood_warning { water_level_cm: int }\nrule r at local {\n    on f: flood_warning\n    when f.water_level_cm > 30\n    then { }\n}\n";

/// Hover on `water_level_cm` in the `when` line (line 4, column 12).
fn hover_params() -> Value {
    json!({
        "textDocument": { "uri": URI },
        "position": { "line": 4, "character": 12 }
    })
}

fn change(version: i32, text: &str) -> Value {
    json!({
        "textDocument": { "uri": URI, "version": version },
        "contentChanges": [{ "text": text }]
    })
}

#[tokio::test]
async fn a_request_overtaken_by_an_edit_answers_content_modified() {
    let mut client = TestClient::start().await;
    client.open(URI, TEXT).await;

    // Without an edit in between the same request is answered.
    let alone = client
        .send("textDocument/hover", hover_params(), Some(100))
        .await
        .await
        .unwrap();
    assert!(
        alone["result"]["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("water_level_cm: int"),
        "{alone}"
    );

    // The hover is in flight when the edit arrives, as when a client sends both at once.
    let hover = client
        .send("textDocument/hover", hover_params(), Some(101))
        .await;
    let edited = TEXT.replace("water_level_cm", "depth_cm");
    let edit = client
        .send("textDocument/didChange", change(2, &edited), None)
        .await;
    let (response, none) = join(hover, edit).await;
    assert!(none.is_none(), "a notification gets no response");
    let response = response.unwrap();
    assert_eq!(response["id"], 101);
    assert_eq!(response["error"]["code"], -32801, "{response}");

    // Asked again, the request is answered on the new text.
    let again = client
        .send("textDocument/hover", hover_params(), Some(102))
        .await
        .await
        .unwrap();
    let value = again["result"]["contents"]["value"].as_str().unwrap();
    assert!(value.contains("depth_cm: int"), "{again}");
}

#[tokio::test]
async fn an_edit_that_changes_nothing_does_not_make_requests_stale() {
    let mut client = TestClient::start().await;
    client.open(URI, TEXT).await;
    let hover = client
        .send("textDocument/hover", hover_params(), Some(7))
        .await;
    let save = client
        .send(
            "textDocument/didSave",
            json!({ "textDocument": { "uri": URI }, "text": TEXT }),
            None,
        )
        .await;
    let (response, _) = join(hover, save).await;
    let response = response.unwrap();
    assert!(response.get("result").is_some(), "{response}");
}

#[tokio::test]
async fn cancel_request_stops_a_pending_request() {
    let mut client = TestClient::start().await;
    client.open(URI, TEXT).await;
    let hover = client
        .send("textDocument/hover", hover_params(), Some(5))
        .await;
    let cancel = client
        .send("$/cancelRequest", json!({ "id": 5 }), None)
        .await;
    let (response, _) = join(hover, cancel).await;
    let response = response.unwrap();
    assert_eq!(response["id"], 5);
    assert_eq!(response["error"]["code"], -32800, "{response}");

    // The server goes on answering.
    let later = client
        .send("textDocument/hover", hover_params(), Some(6))
        .await
        .await
        .unwrap();
    assert!(later.get("result").is_some(), "{later}");
}
