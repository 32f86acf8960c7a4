//! `cbpc lsp` through the real binary: JSON-RPC frames over standard input and output.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn frame(message: &Value) -> Vec<u8> {
    let body = message.to_string();
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

/// Reads framed messages from the server on a thread, so a hung server fails the test.
fn reader(stdout: impl Read + Send + 'static) -> mpsc::Receiver<Value> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut stdout = BufReader::new(stdout);
        loop {
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some(n) = line.strip_prefix("Content-Length: ") {
                    length = n.parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            if stdout.read_exact(&mut body).is_err() {
                return;
            }
            if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                return;
            }
        }
    });
    rx
}

fn wait_for(rx: &mpsc::Receiver<Value>, what: impl Fn(&Value) -> bool) -> Value {
    loop {
        let message = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server answers");
        if what(&message) {
            return message;
        }
    }
}

#[test]
fn the_binary_serves_the_protocol_over_stdio() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cbpc"))
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let rx = reader(child.stdout.take().unwrap());
    let mut send = |m: Value| {
        stdin
            .write_all(&frame(&m))
            .and_then(|()| stdin.flush())
            .unwrap()
    };

    send(
        json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": { "capabilities": {} } }),
    );
    let init = wait_for(&rx, |m| m["id"] == 1);
    assert_eq!(
        init["result"]["capabilities"]["hoverProvider"], true,
        "{init}"
    );
    send(json!({ "jsonrpc": "2.0", "method": "initialized", "params": {} }));

    let uri = "file:///nowhere/flood.cbp";
    let text = "package city\nevent flood_warning { water_level_cm: int }\nrule r at local {\n    on f: flood_warnin\n    then { }\n}\n";
    send(
        json!({ "jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": { "uri": uri, "languageId": "cbp", "version": 1, "text": text } } }),
    );
    let published = wait_for(&rx, |m| m["method"] == "textDocument/publishDiagnostics");
    let diagnostics = &published["params"]["diagnostics"];
    assert_eq!(published["params"]["uri"], uri);
    assert_eq!(diagnostics[0]["code"], "E0101", "{published}");
    assert_eq!(
        diagnostics[0]["range"]["start"],
        json!({ "line": 3, "character": 10 })
    );

    send(json!({ "jsonrpc": "2.0", "id": 2, "method": "shutdown" }));
    let shutdown = wait_for(&rx, |m| m["id"] == 2);
    assert!(shutdown.get("error").is_none(), "{shutdown}");
    send(json!({ "jsonrpc": "2.0", "method": "exit" }));
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}
