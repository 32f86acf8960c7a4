//! What the node's benchmarks share: an endless city. The shipped day's events are replayed
//! again and again, each round a day later and with fresh ids, so nothing is late or a
//! duplicate however long a benchmark runs.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use serde_json::Value;
use std::path::Path;

pub struct City {
    events: Vec<Template>,
    next: usize,
    round: i64,
}

/// An event's line cut around its `event_id` and `timestamp` values, so that a later
/// round's line is a few copies rather than a parse and a serialization (at 150,000 events
/// a second the generator would take the cores the node is measured on).
struct Template {
    /// The text between the values: one more than `holes`.
    pieces: Vec<String>,
    holes: Vec<Hole>,
    id: String,
    time: Option<i64>,
}

#[derive(Clone, Copy)]
enum Hole {
    Id,
    Time,
}

const DAY_MS: i64 = 86_400_000;
const ID_MARK: &str = "\u{1}id\u{1}";
const TIME_MARK: &str = "\u{1}time\u{1}";

impl Template {
    fn of(mut event: Value) -> Template {
        let id = event["event_id"].as_str().unwrap_or_default().to_string();
        let time = event["timestamp"]
            .as_str()
            .and_then(cbp_runtime::time::parse_rfc3339);
        event["event_id"] = Value::String(ID_MARK.into());
        if time.is_some() {
            event["timestamp"] = Value::String(TIME_MARK.into());
        }
        // The marks serialize escaped; cut the line at them.
        let text = event.to_string();
        let (id_mark, time_mark) = (
            Value::String(ID_MARK.into()).to_string(),
            Value::String(TIME_MARK.into()).to_string(),
        );
        let (mut pieces, mut holes, mut rest) = (Vec::new(), Vec::new(), text.as_str());
        loop {
            let next = [
                (rest.find(&id_mark), Hole::Id),
                (rest.find(&time_mark), Hole::Time),
            ]
            .into_iter()
            .filter_map(|(at, hole)| Some((at?, hole)))
            .min_by_key(|(at, _)| *at);
            let Some((at, hole)) = next else { break };
            pieces.push(rest[..at].to_string());
            holes.push(hole);
            let mark = match hole {
                Hole::Id => &id_mark,
                Hole::Time => &time_mark,
            };
            rest = &rest[at + mark.len()..];
        }
        pieces.push(rest.to_string());
        Template {
            pieces,
            holes,
            id,
            time,
        }
    }

    /// The line of `round` (0: the day as shipped), what `serde_json` writes for the event
    /// with its id and time changed.
    fn line(&self, round: i64, out: &mut String) {
        for (piece, hole) in self.pieces.iter().zip(&self.holes) {
            out.push_str(piece);
            match hole {
                Hole::Id if round > 0 => {
                    let id = format!("{}-r{round}", self.id);
                    out.push_str(&Value::String(id).to_string());
                }
                Hole::Id => out.push_str(&Value::String(self.id.clone()).to_string()),
                Hole::Time => {
                    let time = self.time.unwrap_or_default() + round * DAY_MS;
                    out.push('"');
                    out.push_str(&cbp_runtime::time::format_rfc3339(time));
                    out.push('"');
                }
            }
        }
        out.push_str(self.pieces.last().map_or("", String::as_str));
    }
}

impl City {
    pub fn new() -> City {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/city-day.ndjson");
        let text = std::fs::read_to_string(path).unwrap();
        let events = text
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            // Approval answers name decision ids of the first round only.
            .filter(|event| event["type"] != "approval_response")
            .map(Template::of)
            .collect();
        City {
            events,
            next: 0,
            round: 0,
        }
    }

    /// The next event, as an NDJSON line.
    pub fn next_line(&mut self) -> String {
        let mut line = String::new();
        self.push_line(&mut line);
        line
    }

    fn push_line(&mut self, out: &mut String) {
        if self.next == self.events.len() {
            self.next = 0;
            self.round += 1;
        }
        self.events[self.next].line(self.round, out);
        self.next += 1;
    }

    /// `n` events as one NDJSON body.
    pub fn batch(&mut self, n: usize) -> String {
        let mut body = String::with_capacity(n * 400);
        for _ in 0..n {
            self.push_line(&mut body);
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

/// The node's configuration for the benches. The endless city packs a day into some 11,600
/// events, so the batches of concurrent clients, a few thousand events apart, are hours of
/// city time apart: a lateness of a day lets them all run (with the default 30 s, a quarter
/// of a load run's events were dead-lettered as late, and their dead letters, which repeat
/// the whole line, were most of what the node wrote).
pub fn config(dir: &Path) -> cbp_node::Config {
    cbp_node::Config::from_toml(&format!(
        "[http]\nlisten = \"127.0.0.1:0\"\n[state]\ndir = \"{}\"\n[clock]\nidle_advance = \"off\"\nlateness = \"1d\"\n",
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

/// CPU time this process has used so far, every thread's, user and system (Linux; clock
/// ticks of 10 ms).
#[allow(dead_code)] // not every bench reads it
pub fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| stat_seconds(&stat))
        .unwrap_or(0.0)
}

/// CPU seconds (user and system) from a `/proc/.../stat` text.
fn stat_seconds(stat: &str) -> Option<f64> {
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / 100.0)
}

/// CPU seconds so far of this process's threads, summed by thread name (Linux), in name
/// order; `other_pid`'s whole process is added under `other`.
#[allow(dead_code)] // not every bench reads it
pub fn thread_cpu_seconds(other_pid: Option<u32>, other: &str) -> Vec<(String, f64)> {
    let mut by_name = std::collections::BTreeMap::<String, f64>::new();
    for task in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let path = task.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let seconds = std::fs::read_to_string(path.join("stat"))
            .ok()
            .and_then(|stat| stat_seconds(&stat))
            .unwrap_or(0.0);
        // librdkafka names a thread per broker (`rdk:broker1`): one line for them all.
        let name = match name.trim() {
            n if n.starts_with("rdk:") => "librdkafka".to_string(),
            n => n.to_string(),
        };
        *by_name.entry(name).or_default() += seconds;
    }
    if let Some(pid) = other_pid {
        let seconds = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| stat_seconds(&stat))
            .unwrap_or(0.0);
        by_name.insert(other.to_string(), seconds);
    }
    by_name.into_iter().collect()
}

/// The node's `/metrics` text (`node.addr`'s).
#[allow(dead_code)] // not every bench reads it
pub async fn metrics_text(addr: std::net::SocketAddr) -> String {
    reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The sum of the `/metrics` samples whose line starts with `prefix` (a metric and the start
/// of its labels: `cbp_node_records_total{kind="dead_letter"}`).
#[allow(dead_code)] // not every bench reads it
pub fn metric_sum(metrics: &str, prefix: &str) -> f64 {
    metrics
        .lines()
        .filter(|line| line.starts_with(prefix))
        .filter_map(|line| line.split_whitespace().last()?.parse::<f64>().ok())
        .sum()
}
