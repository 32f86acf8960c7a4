//! Every position request, at many positions of every shipped policy and of broken cuts of
//! them, answers (a result, possibly null) and never an error.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

mod common;

use common::{TestClient, position};
use serde_json::json;

const POSITION_REQUESTS: &[&str] = &[
    "textDocument/hover",
    "textDocument/definition",
    "textDocument/completion",
    "textDocument/signatureHelp",
    "textDocument/prepareRename",
    "textDocument/documentHighlight",
];

const DOCUMENT_REQUESTS: &[&str] = &[
    "textDocument/documentSymbol",
    "textDocument/foldingRange",
    "textDocument/semanticTokens/full",
];

async fn sweep(client: &mut TestClient, uri: &str, text: &str, step: usize) {
    client.open(uri, text).await;
    let doc = json!({ "uri": uri });
    for method in DOCUMENT_REQUESTS {
        let r = client.request(method, json!({ "textDocument": doc })).await;
        assert!(r.get("error").is_none(), "{method} on {uri}: {r}");
    }
    let inlay = json!({ "textDocument": doc, "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 9999, "character": 0 } } });
    let r = client.request("textDocument/inlayHint", inlay).await;
    assert!(r.get("error").is_none(), "inlay hints on {uri}: {r}");
    let boundaries: Vec<usize> = (0..=text.len())
        .filter(|i| text.is_char_boundary(*i))
        .step_by(step)
        .collect();
    for offset in boundaries {
        let at = json!({ "textDocument": doc, "position": position(text, offset) });
        for method in POSITION_REQUESTS {
            let r = client.request(method, at.clone()).await;
            assert!(
                r.get("error").is_none(),
                "{method} at {offset} of {uri}: {r}"
            );
        }
        let mut refs = at.clone();
        refs["context"] = json!({ "includeDeclaration": true });
        let r = client.request("textDocument/references", refs).await;
        assert!(
            r.get("error").is_none(),
            "references at {offset} of {uri}: {r}"
        );
    }
}

#[tokio::test]
async fn requests_on_shipped_policies_and_broken_cuts_never_fail() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut client = TestClient::start().await;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        client
            .open(&format!("file:///policies/{name}"), &text)
            .await;
    }
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        sweep(&mut client, &format!("file:///policies/{name}"), &text, 7).await;
        // Cut in the middle of a line: syntax errors everywhere after.
        let cut = text.len() * 2 / 3;
        let cut = (0..=cut).rev().find(|i| text.is_char_boundary(*i)).unwrap();
        sweep(
            &mut client,
            &format!("file:///broken/{name}"),
            &text[..cut],
            11,
        )
        .await;
    }
}
