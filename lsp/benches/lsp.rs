//! Editor latency of the language server, driven in-process through `LspService` with real
//! JSON-RPC messages (as `lsp/tests` do):
//!
//! - `lsp/diagnostics_after_edit_5k_lines`: a workspace of 5,030 lines (11 files, loaded from
//!   disk on `initialize`), one file open; a full-text `didChange` that alternately breaks and
//!   mends a field name, until its `publishDiagnostics` arrives (every edit changes them, so
//!   every edit publishes). `…_all_open`: the same with all 11 files open, so every edit
//!   recomputes the diagnostics of all of them.
//! - `lsp/completion_after_dot`: in the same workspace, a `didChange` turns a condition into
//!   `when e.` (untimed), then the timed `completion` request right after the `.`.
//! - `lsp/cold_start_shipped_policies`: a new server, `initialize` on `policies/` (the
//!   standard library is built into the compiler), `didOpen` of every shipped policy, until
//!   each has its first `publishDiagnostics`.
//!
//! After criterion, each scenario runs again a fixed number of times and the bench prints
//! its own p50 / p95 / max (criterion reports means and medians, not percentiles).
//!
//! `cargo bench -p cbp-lsp --bench lsp`

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench may panic on a broken setup

use cbp_lsp::{Backend, LspService};
use criterion::Criterion;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;
use tower::{Service, ServiceExt};
use tower_lsp_server::jsonrpc::Request;

const FILES: usize = 10;
const RULES_PER_FILE: usize = 45;

// ---- an in-process client -------------------------------------------------------------------

struct Client {
    service: LspService<Backend>,
    notifications: mpsc::UnboundedReceiver<Value>,
    next_id: i64,
}

impl Client {
    /// A new server, initialised on `root` (whose `.cbp` files it loads).
    async fn start(root: &Path) -> Self {
        let (service, socket) = LspService::new(Backend::new);
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut socket = socket;
            while let Some(message) = socket.next().await {
                let _ = tx.send(serde_json::to_value(message).unwrap());
            }
        });
        let mut client = Client {
            service,
            notifications: rx,
            next_id: 0,
        };
        let init = client
            .request(
                "initialize",
                json!({ "capabilities": {}, "rootUri": uri(root) }),
            )
            .await;
        assert!(init.get("result").is_some(), "{init}");
        client.notify("initialized", json!({})).await;
        client
    }

    async fn call(&mut self, request: Request) -> Option<Value> {
        let response = self
            .service
            .ready()
            .await
            .unwrap()
            .call(request)
            .await
            .unwrap();
        response.map(|r| serde_json::to_value(r).unwrap())
    }

    async fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let request = Request::build(method.to_owned())
            .params(params)
            .id(self.next_id)
            .finish();
        self.call(request).await.expect("a request gets a response")
    }

    async fn notify(&mut self, method: &str, params: Value) {
        let request = Request::build(method.to_owned()).params(params).finish();
        assert!(self.call(request).await.is_none());
    }

    async fn open(&mut self, uri: &str, text: &str) {
        let item = json!({ "uri": uri, "languageId": "cbp", "version": 1, "text": text });
        self.notify("textDocument/didOpen", json!({ "textDocument": item }))
            .await;
    }

    async fn change(&mut self, uri: &str, version: i32, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version },
                    "contentChanges": [{ "text": text }] }),
        )
        .await;
    }

    /// Waits for the next diagnostics published for `uri`.
    async fn published(&mut self, uri: &str) -> Value {
        loop {
            let n = self.notifications.recv().await.expect("the server is up");
            if n["method"] == "textDocument/publishDiagnostics" && n["params"]["uri"] == uri {
                return n["params"]["diagnostics"].clone();
            }
        }
    }
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

// ---- the generated workspace ----------------------------------------------------------------

const SHARED: &str = "package bench

authority operator {
    level: L1
}

system readings_db {
    layer: local
    kind: database
}
";

/// One file of rules; `bump` changes a literal of its first rule, `typo` misspells a field.
fn rules_file(file: usize, bump: usize, typo: bool) -> String {
    let mut text = format!(
        "package bench

/// Readings of sensor family {file}.
event reading_{file} {{
    value: int
    sensor: string
}}
"
    );
    for rule in 0..RULES_PER_FILE {
        // Far from the other thresholds, so the bumped rule never duplicates another.
        let bumped = if rule == 0 && bump > 0 {
            100_000 + bump
        } else {
            0
        };
        let threshold = rule + bumped;
        let field = if typo && rule == 0 { "valu" } else { "value" };
        text.push_str(&format!(
            "
rule r_{file}_{rule} at local {{
    on e: reading_{file}
    when e.{field} > {threshold} and e.severity >= high
    correlate others: reading_{file} over last 5m within 500m where others.value > 10
    then {{
        notify operator {{ priority: high, message: \"reading over {threshold}\" }}
        log readings_db {{ value: e.value }}
    }}
    approval by operator within 30m else approve
}}
"
        ));
    }
    text
}

struct Workspace {
    _dir: tempfile::TempDir,
    root: PathBuf,
    /// The file the scenarios open and edit.
    edited: PathBuf,
    lines: usize,
}

fn workspace() -> Workspace {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    std::fs::write(root.join("shared.cbp"), SHARED).unwrap();
    let mut lines = SHARED.lines().count();
    for f in 0..FILES {
        let text = rules_file(f, 0, false);
        lines += text.lines().count();
        std::fs::write(root.join(format!("rules_{f:02}.cbp")), text).unwrap();
    }
    Workspace {
        edited: root.join("rules_00.cbp"),
        root,
        _dir: dir,
        lines,
    }
}

// ---- the scenarios --------------------------------------------------------------------------

/// A server on the workspace with its edited file open (with `all_open`, every file open)
/// and its first diagnostics in.
fn edited_session(rt: &Runtime, ws: &Workspace, all_open: bool) -> (Client, String) {
    rt.block_on(async {
        let mut client = Client::start(&ws.root).await;
        let uri = uri(&ws.edited);
        if all_open {
            let mut others: Vec<PathBuf> = std::fs::read_dir(&ws.root)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| *p != ws.edited)
                .collect();
            others.sort();
            for path in others {
                let text = std::fs::read_to_string(&path).unwrap();
                client.open(&self::uri(&path), &text).await;
            }
        }
        client.open(&uri, &rules_file(0, 0, false)).await;
        let first = client.published(&uri).await;
        assert_eq!(first, json!([]), "the generated workspace checks clean");
        (client, uri)
    })
}

/// Edit number `i` (odd: a misspelt field, even: mended with a new literal), until published.
fn diagnostics_after_edit(rt: &Runtime, client: &mut Client, uri: &str, i: usize) -> Duration {
    let text = rules_file(0, i, !i.is_multiple_of(2));
    while client.notifications.try_recv().is_ok() {}
    rt.block_on(async {
        let started = Instant::now();
        client.change(uri, i as i32 + 2, &text).await;
        let diagnostics = client.published(uri).await;
        let elapsed = started.elapsed();
        assert_eq!(
            diagnostics.as_array().unwrap().is_empty(),
            i.is_multiple_of(2)
        );
        elapsed
    })
}

/// Completion right after `e.` typed in rule `i % RULES_PER_FILE` (the edit is not timed).
fn completion_after_dot(rt: &Runtime, client: &mut Client, uri: &str, i: usize) -> Duration {
    let rule = i % RULES_PER_FILE;
    let condition = format!("    when e.value > {rule} and e.severity >= high\n");
    let text = rules_file(0, 0, false).replacen(&condition, "    when e.\n", 1);
    let at = text.find("    when e.\n").unwrap();
    let line = text[..at].matches('\n').count();
    rt.block_on(async {
        client.change(uri, i as i32 + 100_000, &text).await;
        let params = json!({ "textDocument": { "uri": uri },
                             "position": { "line": line, "character": 11 },
                             "context": { "triggerKind": 2, "triggerCharacter": "." } });
        let started = Instant::now();
        let answer = client.request("textDocument/completion", params).await;
        let elapsed = started.elapsed();
        let items = answer["result"]
            .as_array()
            .or_else(|| answer["result"]["items"].as_array())
            .expect("completion items");
        assert!(
            items.iter().any(|item| item["label"] == "value"),
            "{answer}"
        );
        elapsed
    })
}

fn shipped_policies() -> (PathBuf, Vec<(String, String)>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../policies")
        .canonicalize()
        .unwrap();
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cbp"))
        .map(|p| (uri(&p), std::fs::read_to_string(&p).unwrap()))
        .collect();
    files.sort();
    (dir, files)
}

/// A new server: initialize on `policies/`, open every policy, wait for all first diagnostics.
fn cold_start(rt: &Runtime, root: &Path, files: &[(String, String)]) -> Duration {
    rt.block_on(async {
        let started = Instant::now();
        let mut client = Client::start(root).await;
        for (uri, text) in files {
            client.open(uri, text).await;
        }
        let mut waiting: Vec<&str> = files.iter().map(|(u, _)| u.as_str()).collect();
        while !waiting.is_empty() {
            let n = client.notifications.recv().await.expect("the server is up");
            if n["method"] == "textDocument/publishDiagnostics" {
                assert_eq!(
                    n["params"]["diagnostics"],
                    json!([]),
                    "shipped policies are clean"
                );
                waiting.retain(|u| n["params"]["uri"] != *u);
            }
        }
        started.elapsed()
    })
}

// ---- criterion, then percentiles -------------------------------------------------------------

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn bench(c: &mut Criterion, rt: &Runtime, ws: &Workspace) {
    let mut group = c.benchmark_group("lsp");
    let (mut all, all_uri) = edited_session(rt, ws, true);
    let mut i = 0;
    group.bench_function(
        format!("diagnostics_after_edit_{}_lines_all_open", ws.lines),
        |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        i += 1;
                        diagnostics_after_edit(rt, &mut all, &all_uri, i)
                    })
                    .sum()
            })
        },
    );
    drop(all);
    // A new session starts clean: edit 1 (odd) must be the one that breaks it.
    i = 0;
    let (mut client, uri) = edited_session(rt, ws, false);
    group.bench_function(format!("diagnostics_after_edit_{}_lines", ws.lines), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    i += 1;
                    diagnostics_after_edit(rt, &mut client, &uri, i)
                })
                .sum()
        })
    });
    group.bench_function("completion_after_dot", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    i += 1;
                    completion_after_dot(rt, &mut client, &uri, i)
                })
                .sum()
        })
    });
    let (root, files) = shipped_policies();
    group.bench_function("cold_start_shipped_policies", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| cold_start(rt, &root, &files)).sum())
    });
    group.finish();
}

fn percentiles(name: &str, mut samples: Vec<Duration>, target: Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let p95 = at(0.95);
    println!(
        "{name:<50} n={:<4} p50 {:>9.3} ms   p95 {:>9.3} ms   max {:>9.3} ms   target p95 < {} ms {}",
        samples.len(),
        at(0.5).as_secs_f64() * 1e3,
        p95.as_secs_f64() * 1e3,
        samples[samples.len() - 1].as_secs_f64() * 1e3,
        target.as_millis(),
        if p95 < target { "✓" } else { "✗" }
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then a quick smoke run.
    let full = std::env::args().any(|a| a == "--bench");
    let rt = runtime();
    let ws = workspace();
    let mut c = Criterion::default()
        .sample_size(if full { 50 } else { 10 })
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(if full { 5 } else { 1 }))
        .configure_from_args();
    bench(&mut c, &rt, &ws);
    c.final_summary();

    let n = if full { 200 } else { 4 };
    let (mut all, all_uri) = edited_session(&rt, &ws, true);
    let edits = (1..=n)
        .map(|i| diagnostics_after_edit(&rt, &mut all, &all_uri, i))
        .collect();
    percentiles(
        &format!("diagnostics_after_edit_{}_lines_all_open", ws.lines),
        edits,
        Duration::from_millis(20),
    );
    drop(all);
    let (mut client, uri) = edited_session(&rt, &ws, false);
    let edits = (1..=n)
        .map(|i| diagnostics_after_edit(&rt, &mut client, &uri, i))
        .collect();
    percentiles(
        &format!("diagnostics_after_edit_{}_lines", ws.lines),
        edits,
        Duration::from_millis(20),
    );
    let completions = (1..=n)
        .map(|i| completion_after_dot(&rt, &mut client, &uri, i))
        .collect();
    percentiles(
        "completion_after_dot",
        completions,
        Duration::from_millis(10),
    );
    let (root, files) = shipped_policies();
    let starts = (0..n.min(50))
        .map(|_| cold_start(&rt, &root, &files))
        .collect();
    percentiles(
        "cold_start_shipped_policies",
        starts,
        Duration::from_millis(200),
    );
}
