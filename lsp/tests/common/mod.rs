//! An in-process LSP client: real JSON-RPC messages through `LspService`, notifications from
//! the server collected from its socket.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use cbp_lsp::{Backend, LspService};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tower::{Service, ServiceExt};
use tower_lsp_server::jsonrpc::Request;

pub struct TestClient {
    service: LspService<Backend>,
    notifications: mpsc::UnboundedReceiver<Value>,
    next_id: i64,
}

impl TestClient {
    pub async fn start() -> Self {
        Self::start_with(json!({ "capabilities": {} })).await
    }

    /// Starts with these `initialize` parameters.
    pub async fn start_with(init_params: Value) -> Self {
        let (service, socket) = LspService::new(Backend::new);
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut socket = socket;
            while let Some(message) = socket.next().await {
                let _ = tx.send(serde_json::to_value(message).unwrap());
            }
        });
        let mut client = TestClient {
            service,
            notifications: rx,
            next_id: 0,
        };
        let init = client.request("initialize", init_params).await;
        assert!(init.get("result").is_some(), "{init}");
        client.notify("initialized", json!({})).await;
        client
    }

    /// Sends a request; returns the whole response (`result` or `error`).
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let request = Request::build(method.to_owned())
            .params(params)
            .id(self.next_id)
            .finish();
        let response = self
            .service
            .ready()
            .await
            .unwrap()
            .call(request)
            .await
            .unwrap();
        serde_json::to_value(response.expect("a request gets a response")).unwrap()
    }

    /// Sends a request or notification (`id: None`) without waiting for its answer: the
    /// returned future resolves to the response (`None` for a notification). Lets a test
    /// have several messages in flight at once, as a real transport does.
    pub async fn send(
        &mut self,
        method: &str,
        params: Value,
        id: Option<i64>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<Value>> + Send + 'static>> {
        let mut request = Request::build(method.to_owned()).params(params);
        if let Some(id) = id {
            request = request.id(id);
        }
        let future = self.service.ready().await.unwrap().call(request.finish());
        Box::pin(async move {
            future
                .await
                .unwrap()
                .map(|r| serde_json::to_value(r).unwrap())
        })
    }

    pub async fn notify(&mut self, method: &str, params: Value) {
        let request = Request::build(method.to_owned()).params(params).finish();
        let response = self
            .service
            .ready()
            .await
            .unwrap()
            .call(request)
            .await
            .unwrap();
        assert!(response.is_none());
    }

    pub async fn open(&mut self, uri: &str, text: &str) {
        let item = json!({ "uri": uri, "languageId": "cbp", "version": 1, "text": text });
        self.notify("textDocument/didOpen", json!({ "textDocument": item }))
            .await;
    }

    /// Every notification received so far.
    pub fn drain(&mut self) -> Vec<Value> {
        let mut out = Vec::new();
        while let Ok(n) = self.notifications.try_recv() {
            out.push(n);
        }
        out
    }

    /// The last diagnostics published for `uri` so far.
    pub async fn diagnostics(&mut self, uri: &str) -> Option<Value> {
        tokio::task::yield_now().await;
        self.drain()
            .into_iter()
            .filter(|n| {
                n["method"] == "textDocument/publishDiagnostics" && n["params"]["uri"] == uri
            })
            .map(|n| n["params"]["diagnostics"].clone())
            .next_back()
    }
}

/// LSP position of a byte offset (ASCII fixtures; columns in UTF-16 units = chars here).
pub fn position(text: &str, offset: usize) -> Value {
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let col = before
        .rsplit('\n')
        .next()
        .unwrap_or("")
        .encode_utf16()
        .count();
    json!({ "line": line, "character": col })
}
