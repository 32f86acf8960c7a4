//! What the node's end-to-end tests share: a node in-process or as the real binary, the
//! expected output from `cbpc run`, and an HTTP client.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use cbp_node::{Config, Node};
use std::path::{Path, PathBuf};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The records `cbpc run policies --events FILE` writes (the reference output).
pub fn cbpc_run(events: &Path, extra: &[&str]) -> String {
    let mut args: Vec<std::ffi::OsString> = vec![
        "cbpc".into(),
        "run".into(),
        repo().join("policies").into(),
        "--events".into(),
        events.into(),
    ];
    args.extend(extra.iter().map(|a| a.into()));
    let mut stdin = std::io::empty();
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let exit = cbpc::run(
        args,
        &mut cbpc::Io {
            stdin: &mut stdin,
            stdout: &mut stdout,
            stderr: &mut stderr,
            colour: false,
        },
    );
    assert_eq!(
        exit,
        cbpc::Exit::Clean,
        "{}",
        String::from_utf8_lossy(&stderr)
    );
    String::from_utf8(stdout).unwrap()
}

/// A config for tests: state in `dir`, any free port, pure event time, no lateness (as
/// `cbpc run` by default).
pub fn test_config(dir: &Path, extra: &str) -> Config {
    let text = format!(
        r#"
        [http]
        listen = "127.0.0.1:0"
        [state]
        dir = "{}"
        [clock]
        lateness = "0s"
        idle_advance = "off"
        {extra}
        "#,
        dir.join("state").display()
    );
    Config::from_toml(&text).unwrap()
}

pub async fn start(config: Config) -> (Node, String) {
    let (node, _) = Node::start(config).await.unwrap();
    let base = format!("http://{}", node.addr);
    (node, base)
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// The node's `/metrics` text.
#[allow(dead_code)] // not every test reads it
pub async fn metrics(base: &str) -> String {
    client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The whole decision log of the node at `base`.
pub async fn records(base: &str) -> String {
    let client = client();
    let mut out = String::new();
    let mut from = 0u64;
    loop {
        let response = client
            .get(format!("{base}/api/v1/records?from={from}&limit=5000"))
            .send()
            .await
            .unwrap();
        let next: u64 = response.headers()["x-next-record"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let text = response.text().await.unwrap();
        if text.is_empty() {
            return out;
        }
        out.push_str(&text);
        from = next;
    }
}

/// The first `n` lines of the shipped city day, as a file of their own.
pub fn city_day_prefix(dir: &Path, n: usize) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("examples/city-day.ndjson")).unwrap();
    let lines: Vec<&str> = text.lines().take(n).collect();
    let path = dir.join(format!("city-day-{n}.ndjson"));
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// The contract's example event (a confident speeding violation), with `id` and `time`.
pub fn speeding(id: &str, time: &str) -> String {
    format!(
        r#"{{"event_id":"{id}","model_id":"traffic-violation-detector-v2","type":"violation_event","timestamp":"{time}","location":{{"latitude":12.9716,"longitude":77.5946}},"zone":"ka.bengaluru.east.indiranagar","severity":"high","confidence":0.93,"metadata":{{"camera":"cam-44"}},"payload":{{"violation_type":"speeding","vehicle_data":{{"license_plate":"KA01AB1234","vehicle_type":"car","speed_kmh":85}},"evidence":{{"image_urls":["https://evidence.example/e17.jpg"]}}}}}}"#
    )
}

/// `GET url`, its body as JSON.
pub async fn get_json(url: String) -> serde_json::Value {
    client()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `POST url` with `body`, the answer's body as JSON (whatever its status).
pub async fn post_json(url: String, body: impl Into<reqwest::Body>) -> serde_json::Value {
    client()
        .post(url)
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Starts the real `cbp-node` binary with its state in `dir` and HTTP on `port`; `rest` is the
/// rest of its config (written with those to `dir/node.toml`). Standard error is appended to
/// `dir/node.log`, so a restarted node's log follows the killed one's.
pub fn spawn_binary(dir: &Path, port: u16, rest: &str) -> std::process::Child {
    let config = dir.join("node.toml");
    std::fs::write(
        &config,
        format!(
            "[http]\nlisten = \"127.0.0.1:{port}\"\n[state]\ndir = \"{}\"\n{rest}\n",
            dir.join("state").display()
        ),
    )
    .unwrap();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("node.log"))
        .unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_cbp-node"))
        .arg("--config")
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Waits until the node at `base` answers `/ready` (a minute at most).
pub async fn wait_ready(base: &str) {
    let client = client();
    for _ in 0..600 {
        if let Ok(response) = client.get(format!("{base}/ready")).send().await
            && response.status() == 200
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the node did not become ready");
}
