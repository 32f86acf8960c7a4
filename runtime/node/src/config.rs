//! The node's configuration: a TOML file, every part optional. With no file at all the node
//! is the embedded single-node default of the contract: L1, the shipped policies, HTTP on
//! `127.0.0.1:7070`, state in `./cbp-data`.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub node: NodeSection,
    pub policy: PolicySection,
    pub http: HttpSection,
    pub state: StateSection,
    pub clock: ClockSection,
    pub kafka: Option<KafkaSection>,
    pub mqtt: Option<MqttSection>,
    #[serde(rename = "sink")]
    pub sinks: Vec<SinkSection>,
    /// The child nodes (`[[child]]`): commands addressed into a child's zone are posted to
    /// its `/api/v1/layer/command`, and this node runs no layer below its own.
    #[serde(rename = "child")]
    pub children: Vec<ChildSection>,
}

/// A child node: the zone it serves and its base URL.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChildSection {
    pub zone: String,
    pub url: String,
}

/// Where the node stands in the hierarchy.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeSection {
    /// The node's name in logs, metrics and the API.
    pub id: String,
    /// `L1` … `L5`.
    pub layer: String,
    /// The zone this node serves (a dot path prefix); events outside it are refused. Empty:
    /// every zone.
    pub zone: String,
    /// The parent node's base URL; escalations and reports addressed above this node's
    /// layer are posted to its `/api/v1/layer/escalate`, and this node runs no layer above
    /// its own.
    pub parent: Option<String>,
    /// The nice value of the core thread, the one that runs the engine, and of its commit
    /// thread (-20 … 19; 0: as started). Where the node shares its cores with other work (a
    /// broker, plugin models on an edge box), a negative value keeps the pipeline's serial
    /// stages running first; raising a thread's priority needs the privilege to
    /// (`CAP_SYS_NICE`), and without it the node says so and runs on.
    pub core_priority: i32,
}

impl Default for NodeSection {
    fn default() -> Self {
        NodeSection {
            id: "local".into(),
            layer: "L1".into(),
            zone: String::new(),
            parent: None,
            core_priority: 0,
        }
    }
}

/// Which policy the node runs: a bundle written by `cbpc compile`, policy sources, or (with
/// neither) the shipped policies built into the binary.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicySection {
    pub bundle: Option<PathBuf>,
    pub paths: Vec<PathBuf>,
    /// `jit` (native code, the default) or `interp` (the reference interpreter).
    pub engine: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSection {
    pub listen: SocketAddr,
    /// The largest request body accepted (bytes).
    pub max_body_bytes: usize,
}

impl Default for HttpSection {
    fn default() -> Self {
        HttpSection {
            listen: SocketAddr::from(([127, 0, 0, 1], 7070)),
            max_body_bytes: 16 * 1024 * 1024,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StateSection {
    pub dir: PathBuf,
    /// How long journaled input is kept (a duration like `24h`); the node's state after a
    /// restart is rebuilt from what is kept, so it must cover the policy's longest window,
    /// timer and report period.
    pub retention: String,
    /// How far a sink may fall behind (records) before ingestion waits for it.
    pub max_sink_lag: u64,
    /// How long (event time) a message's `model_id` and `event_id` are remembered, so that
    /// a redelivery is recognised; older redeliveries are dead-lettered as late.
    pub dedup_window: String,
}

impl Default for StateSection {
    fn default() -> Self {
        StateSection {
            dir: PathBuf::from("cbp-data"),
            retention: "24h".into(),
            max_sink_lag: 100_000,
            dedup_window: "10m".into(),
        }
    }
}

/// Event time, and how it moves when the input is quiet.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClockSection {
    /// How far behind the clock an event may be and still be processed.
    pub lateness: String,
    /// After this long without input (wall time), the clock runs on with the wall clock, so
    /// approval deadlines and `no response` timers fire although no event arrives. `off`
    /// keeps pure event time.
    pub idle_advance: String,
    /// How far ahead of the node's wall clock an event's time may be; later ones are
    /// dead-lettered (a mistyped year would otherwise move the clock decades on, and every
    /// node would report every empty hour between). `off` accepts any time.
    pub max_ahead: String,
    /// `global`: one clock, the largest event time of all input. `per_source`: each source
    /// (a Kafka topic-partition, an MQTT topic, a plugin's webhook) has its own watermark;
    /// an event is late only against its source's, and timers run to the smallest of the
    /// sources heard from lately (`src/watermarks.rs`).
    pub watermarks: String,
    /// With `per_source`: a source quiet this long (wall time) stops holding timers back.
    pub source_idle: String,
}

impl Default for ClockSection {
    fn default() -> Self {
        ClockSection {
            lateness: "30s".into(),
            idle_advance: "2s".into(),
            max_ahead: "1d".into(),
            watermarks: "global".into(),
            source_idle: "1min".into(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaSection {
    /// `host:port,…`
    pub brokers: String,
    pub group_id: String,
    /// Topics of input events (NDJSON lines or protobuf `cbp.v1.Event`, per `input_format`).
    pub topics: Vec<String>,
    /// `json` or `proto`.
    pub input_format: String,
    /// Where records go (keyed by zone); none: records are not written to Kafka.
    pub output_topic: Option<String>,
    /// `json` (each record's JSON line) or `proto` (one `cbp.v1.Record` per message).
    pub output_format: String,
    /// The most messages the consumer hands the core at once (1 to 8,192): smaller answers
    /// sooner, larger costs less a message under a backlog.
    pub batch: usize,
    /// Extra librdkafka properties.
    pub properties: std::collections::BTreeMap<String, String>,
}

impl Default for KafkaSection {
    fn default() -> Self {
        KafkaSection {
            brokers: "127.0.0.1:9092".into(),
            group_id: "cbp-node".into(),
            topics: vec!["cbp.events".into()],
            input_format: "json".into(),
            output_topic: None,
            output_format: "json".into(),
            batch: 512,
            properties: Default::default(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MqttSection {
    pub host: String,
    pub port: u16,
    pub client_id: String,
    /// Topic filters of input events (NDJSON or one JSON event per message).
    pub topics: Vec<String>,
}

impl Default for MqttSection {
    fn default() -> Self {
        MqttSection {
            host: "127.0.0.1".into(),
            port: 1883,
            client_id: "cbp-node".into(),
            topics: vec!["cbp/events/#".into()],
        }
    }
}

/// Where records go besides the node's own log.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SinkSection {
    pub name: String,
    /// `webhook` (POST each record as JSON) or `log` (append NDJSON to a file).
    pub kind: String,
    pub url: Option<String>,
    pub path: Option<PathBuf>,
    /// Record kinds to send (`decision`, `action`, …); empty: all.
    pub kinds: Vec<String>,
    /// For a log sink: `json` (NDJSON lines) or `proto` (length-delimited `cbp.v1.Record`s,
    /// as `cbpc run --out-format proto` writes).
    pub format: String,
    pub timeout_ms: u64,
    pub retries: u32,
}

impl Default for SinkSection {
    fn default() -> Self {
        SinkSection {
            name: "sink".into(),
            kind: "log".into(),
            url: None,
            path: None,
            kinds: Vec::new(),
            format: "json".into(),
            timeout_ms: 2_000,
            retries: 5,
        }
    }
}

impl Config {
    /// Reads a TOML file; the error names the file and the problem.
    pub fn from_file(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        Config::from_toml(&text).map_err(|e| format!("`{}`: {e}", path.display()))
    }

    pub fn from_toml(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what serde cannot: layer names, durations, sink kinds.
    pub fn validate(&self) -> Result<(), String> {
        layer_number(&self.node.layer)
            .ok_or_else(|| format!("node.layer `{}` is not one of L1 … L5", self.node.layer))?;
        if !(-20..=19).contains(&self.node.core_priority) {
            return Err(format!(
                "node.core_priority `{}` is not a nice value (-20 … 19)",
                self.node.core_priority
            ));
        }
        parse_duration_setting("state.retention", &self.state.retention)?;
        parse_duration_setting("state.dedup_window", &self.state.dedup_window)?;
        parse_duration_setting("clock.lateness", &self.clock.lateness)?;
        if self.clock.max_ahead != "off" {
            parse_duration_setting("clock.max_ahead", &self.clock.max_ahead)?;
        }
        if self.clock.idle_advance != "off" {
            parse_duration_setting("clock.idle_advance", &self.clock.idle_advance)?;
        }
        if self.clock.watermarks != "global" && self.clock.watermarks != "per_source" {
            return Err(format!(
                "clock.watermarks `{}` is not `global` or `per_source`",
                self.clock.watermarks
            ));
        }
        parse_duration_setting("clock.source_idle", &self.clock.source_idle)?;
        if let Some(engine) = &self.policy.engine
            && engine != "jit"
            && engine != "interp"
        {
            return Err(format!("policy.engine `{engine}` is not `jit` or `interp`"));
        }
        if let Some(kafka) = &self.kafka
            && kafka.input_format != "json"
            && kafka.input_format != "proto"
        {
            return Err(format!(
                "kafka.input_format `{}` is not `json` or `proto`",
                kafka.input_format
            ));
        }
        if let Some(kafka) = &self.kafka
            && kafka.output_format != "json"
            && kafka.output_format != "proto"
        {
            return Err(format!(
                "kafka.output_format `{}` is not `json` or `proto`",
                kafka.output_format
            ));
        }
        if let Some(kafka) = &self.kafka
            && !(1..=8192).contains(&kafka.batch)
        {
            return Err(format!(
                "kafka.batch {} is not between 1 and 8192",
                kafka.batch
            ));
        }
        for child in &self.children {
            self.check_child(child)?;
        }
        for sink in &self.sinks {
            if sink.format != "json" && sink.format != "proto" {
                return Err(format!(
                    "sink `{}`: format `{}` is not `json` or `proto`",
                    sink.name, sink.format
                ));
            }
            if sink.format == "proto" && sink.kind != "log" {
                return Err(format!(
                    "sink `{}`: format `proto` is for log sinks (webhooks take JSON)",
                    sink.name
                ));
            }
            match sink.kind.as_str() {
                "webhook" if sink.url.is_none() => {
                    return Err(format!("sink `{}`: a webhook sink needs `url`", sink.name));
                }
                "log" if sink.path.is_none() => {
                    return Err(format!("sink `{}`: a log sink needs `path`", sink.name));
                }
                "webhook" | "log" => {}
                other => {
                    return Err(format!(
                        "sink `{}`: kind `{other}` is not `webhook` or `log`",
                        sink.name
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn layer(&self) -> u8 {
        layer_number(&self.node.layer).unwrap_or(1)
    }

    /// The lowest and highest layer this node's engine runs: none above its own with a
    /// parent (the parent runs those), none below with children (they run those); else
    /// the whole subtree and everything above, as `cbpc run` does.
    pub fn layers(&self) -> (u8, u8) {
        let layer = self.layer();
        let lowest = if self.children.is_empty() { 1 } else { layer };
        let highest = if self.node.parent.is_some() { layer } else { 5 };
        (lowest, highest)
    }

    /// A child serves a zone strictly inside this node's, and has a URL.
    fn check_child(&self, child: &ChildSection) -> Result<(), String> {
        let named = format!("child `{}`", child.zone);
        if child.zone.is_empty() {
            return Err("a child needs `zone`".into());
        }
        if child.url.is_empty() {
            return Err(format!("{named} needs `url`"));
        }
        if self.layer() == 1 {
            return Err(format!(
                "{named}: an L1 node has no children (node.layer is `L1`)"
            ));
        }
        let scope = &self.node.zone;
        let inside = scope.is_empty()
            || child
                .zone
                .strip_prefix(scope.as_str())
                .is_some_and(|rest| rest.len() > 1 && rest.starts_with('.'));
        if !inside {
            return Err(format!("{named} is not inside this node's zone `{scope}`"));
        }
        if self
            .children
            .iter()
            .filter(|c| c.zone == child.zone)
            .count()
            > 1
        {
            return Err(format!("{named} is configured twice"));
        }
        Ok(())
    }

    pub fn retention_ms(&self) -> i64 {
        cbp_runtime::time::parse_duration(&self.state.retention).unwrap_or(86_400_000)
    }

    pub fn dedup_window_ms(&self) -> i64 {
        cbp_runtime::time::parse_duration(&self.state.dedup_window).unwrap_or(600_000)
    }

    pub fn lateness_ms(&self) -> i64 {
        cbp_runtime::time::parse_duration(&self.clock.lateness).unwrap_or(0)
    }

    /// `None` when any event time is accepted.
    pub fn max_ahead_ms(&self) -> Option<i64> {
        (self.clock.max_ahead != "off")
            .then(|| cbp_runtime::time::parse_duration(&self.clock.max_ahead))
            .flatten()
    }

    /// With per-source watermarks, how long a source may be quiet and still hold timers
    /// back; `None` with the one global clock.
    pub fn source_idle_ms(&self) -> Option<i64> {
        (self.clock.watermarks == "per_source")
            .then(|| cbp_runtime::time::parse_duration(&self.clock.source_idle))
            .flatten()
    }

    /// `None` when the clock never runs on its own.
    pub fn idle_advance_ms(&self) -> Option<i64> {
        (self.clock.idle_advance != "off")
            .then(|| cbp_runtime::time::parse_duration(&self.clock.idle_advance))
            .flatten()
    }
}

/// `L3` → 3.
pub fn layer_number(name: &str) -> Option<u8> {
    match name {
        "L1" => Some(1),
        "L2" => Some(2),
        "L3" => Some(3),
        "L4" => Some(4),
        "L5" => Some(5),
        _ => None,
    }
}

fn parse_duration_setting(key: &str, text: &str) -> Result<i64, String> {
    cbp_runtime::time::parse_duration(text)
        .ok_or_else(|| format!("{key} `{text}` is not a duration (like `30s`, `5min` or `24h`)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readmes_configuration_reads() {
        let readme = include_str!("../README.md");
        let block = readme
            .split("## Configuration")
            .nth(1)
            .and_then(|rest| rest.split("```toml\n").nth(1))
            .and_then(|rest| rest.split("```").next())
            .expect("a toml block under Configuration");
        let config = Config::from_toml(block).unwrap();
        assert_eq!(config.node.core_priority, 0);
        assert_eq!(config.layer(), 1);
        let error = Config::from_toml("[node]\ncore_priority = -40").unwrap_err();
        assert!(error.contains("node.core_priority `-40`"), "{error}");
    }

    #[test]
    fn empty_file_is_the_embedded_default() {
        let config = Config::from_toml("").unwrap();
        assert_eq!(config.http.listen.to_string(), "127.0.0.1:7070");
        assert_eq!(config.state.dir, PathBuf::from("cbp-data"));
        assert_eq!(config.layer(), 1);
        assert!(config.policy.paths.is_empty() && config.policy.bundle.is_none());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let error = Config::from_toml("[node]\nlayr = \"L2\"").unwrap_err();
        assert!(error.contains("layr"), "{error}");
        let error = Config::from_toml("[node]\nlayer = \"L9\"").unwrap_err();
        assert!(error.contains("`L9`"), "{error}");
        let error = Config::from_toml("[clock]\nlateness = \"soon\"").unwrap_err();
        assert!(error.contains("clock.lateness"), "{error}");
        let error = Config::from_toml("[clock]\nwatermarks = \"each\"").unwrap_err();
        assert!(error.contains("clock.watermarks"), "{error}");
        let error = Config::from_toml("[kafka]\noutput_format = \"avro\"").unwrap_err();
        assert!(error.contains("kafka.output_format `avro`"), "{error}");
        let error = Config::from_toml("[kafka]\nbatch = 0").unwrap_err();
        assert!(error.contains("kafka.batch 0"), "{error}");
        let error = Config::from_toml(
            "[[sink]]\nkind = \"webhook\"\nurl = \"http://x\"\nformat = \"proto\"",
        )
        .unwrap_err();
        assert!(error.contains("for log sinks"), "{error}");
        let error = Config::from_toml("[[sink]]\nkind = \"webhook\"").unwrap_err();
        assert!(error.contains("needs `url`"), "{error}");
        let district = "[node]\nlayer = \"L2\"\nzone = \"ka.b.east\"\n";
        let error = Config::from_toml(&format!(
            "{district}[[child]]\nzone = \"ka.b.west.x\"\nurl = \"http://x\""
        ))
        .unwrap_err();
        assert!(error.contains("not inside"), "{error}");
        let error =
            Config::from_toml("[[child]]\nzone = \"a.b.c.d\"\nurl = \"http://x\"").unwrap_err();
        assert!(error.contains("L1 node has no children"), "{error}");
    }

    #[test]
    fn parents_and_children_bound_the_layers_run() {
        assert_eq!(Config::from_toml("").unwrap().layers(), (1, 5));
        let child = Config::from_toml("[node]\nparent = \"http://p\"").unwrap();
        assert_eq!(child.layers(), (1, 1));
        let district = Config::from_toml(
            "[node]\nlayer = \"L2\"\nzone = \"ka.b.east\"\nparent = \"http://p\"\n\
             [[child]]\nzone = \"ka.b.east.x\"\nurl = \"http://x\"",
        )
        .unwrap();
        assert_eq!(district.layers(), (2, 2));
        assert_eq!(district.children[0].url, "http://x");
        let root = Config::from_toml("[node]\nlayer = \"L2\"").unwrap();
        assert_eq!(root.layers(), (1, 5), "no children: its subtree too");
    }

    #[test]
    fn a_full_file_reads() {
        let config = Config::from_toml(
            r#"
            [node]
            id = "indiranagar"
            layer = "L1"
            zone = "ka.bengaluru.east.indiranagar"
            parent = "http://127.0.0.1:7071"
            [policy]
            paths = ["policies"]
            engine = "interp"
            [clock]
            idle_advance = "off"
            watermarks = "per_source"
            source_idle = "45s"
            [kafka]
            brokers = "127.0.0.1:9092"
            topics = ["events"]
            output_topic = "records"
            [mqtt]
            topics = ["sensors/#"]
            [[sink]]
            name = "dispatch"
            kind = "webhook"
            url = "http://127.0.0.1:9000/hook"
            kinds = ["action", "decision"]
            "#,
        )
        .unwrap();
        assert_eq!(config.idle_advance_ms(), None);
        assert_eq!(config.source_idle_ms(), Some(45_000));
        assert_eq!(config.sinks[0].kinds, ["action", "decision"]);
        assert_eq!(
            config.kafka.unwrap().output_topic.as_deref(),
            Some("records")
        );
    }
}
