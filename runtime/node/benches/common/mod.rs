//! What the node's benchmarks share: an endless city. The shipped day's events are replayed
//! again and again, each round a day later and with fresh ids, so nothing is late or a
//! duplicate however long a benchmark runs.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use serde_json::Value;
use std::path::Path;

pub struct City {
    events: Vec<Value>,
    next: usize,
    round: i64,
}

const DAY_MS: i64 = 86_400_000;

impl City {
    pub fn new() -> City {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/city-day.ndjson");
        let text = std::fs::read_to_string(path).unwrap();
        let events = text
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            // Approval answers name decision ids of the first round only.
            .filter(|event| event["type"] != "approval_response")
            .collect();
        City {
            events,
            next: 0,
            round: 0,
        }
    }

    /// The next event, as an NDJSON line.
    pub fn next_line(&mut self) -> String {
        if self.next == self.events.len() {
            self.next = 0;
            self.round += 1;
        }
        let mut event = self.events[self.next].clone();
        self.next += 1;
        if self.round > 0 {
            let id = event["event_id"].as_str().unwrap_or_default().to_string();
            event["event_id"] = Value::String(format!("{id}-r{}", self.round));
            if let Some(time) = event["timestamp"]
                .as_str()
                .and_then(cbp_runtime::time::parse_rfc3339)
            {
                let shifted = time + self.round * DAY_MS;
                event["timestamp"] = Value::String(cbp_runtime::time::format_rfc3339(shifted));
            }
        }
        event.to_string()
    }

    /// `n` events as one NDJSON body.
    pub fn batch(&mut self, n: usize) -> String {
        let mut body = String::new();
        for _ in 0..n {
            body.push_str(&self.next_line());
            body.push('\n');
        }
        body
    }
}

/// A state folder on the real disk (not a tmpfs), so commits pay a real fsync.
pub fn state_dir() -> tempfile::TempDir {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-state");
    std::fs::create_dir_all(&base).unwrap();
    tempfile::tempdir_in(base).unwrap()
}

pub fn config(dir: &Path) -> cbp_node::Config {
    cbp_node::Config::from_toml(&format!(
        "[http]\nlisten = \"127.0.0.1:0\"\n[state]\ndir = \"{}\"\n[clock]\nidle_advance = \"off\"\n",
        dir.display()
    ))
    .unwrap()
}

/// A runtime of two workers and a node on it with its state on the real disk (the folder
/// lives as long as the returned guard).
pub fn start_node() -> (tokio::runtime::Runtime, cbp_node::Node, tempfile::TempDir) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = state_dir();
    let (node, _) = runtime
        .block_on(cbp_node::Node::start(config(dir.path())))
        .unwrap();
    (runtime, node, dir)
}

/// Resident memory of this process, in bytes (Linux).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}
