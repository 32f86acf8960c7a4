//! Starting and stopping a node: the store, the policy, the core thread, the sinks, the
//! sources and the HTTP server, wired as `ARCHITECTURE.md` draws them.

use crate::config::Config;
use crate::core::{Core, CoreOptions, Request, Shared};
use crate::http::{AppState, NodeInfo, router};
use crate::metrics::Metrics;
use crate::policy::{self, PolicySource};
use crate::sinks::{self, Cursors, Filter, Sink, Target};
use crate::store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// How many requests may wait for the core before senders wait too.
const QUEUE: usize = 1024;

/// A running node.
pub struct Node {
    /// Where the HTTP API listens (the real port when the config said port 0).
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    /// For in-process ingestion ([`Node::ingest`]); dropped first at shutdown.
    requests: mpsc::Sender<Request>,
    server: JoinHandle<()>,
    sources: Vec<JoinHandle<()>>,
    sinks: Vec<JoinHandle<()>>,
    core: std::thread::JoinHandle<()>,
}

/// What the node said when it started (for the log and the tests).
#[derive(Clone, Debug)]
pub struct Started {
    pub policy: String,
    pub replayed: u64,
}

impl Node {
    /// Starts a node; returns when the API listens and the state is rebuilt.
    pub async fn start(config: Config) -> Result<(Node, Started), String> {
        config.validate()?;
        let store = Arc::new(Store::open(&config.state.dir)?);
        let (program, policy_name) = load_program(&config, &store).await?;
        let metrics = Arc::new(Metrics::new());
        let shared = Arc::new(Shared::default());
        let (lowest_layer, highest_layer) = config.layers();
        let options = CoreOptions {
            lateness_ms: config.lateness_ms(),
            idle_advance_ms: config.idle_advance_ms(),
            source_idle_ms: config.source_idle_ms(),
            max_ahead_ms: config.max_ahead_ms(),
            retention_ms: config.retention_ms(),
            max_sink_lag: config.state.max_sink_lag,
            dedup_window_ms: config.dedup_window_ms(),
            zone: config.node.zone.clone(),
            lowest_layer,
            highest_layer,
            children: config.children.iter().map(|c| c.zone.clone()).collect(),
            interpreter: config.policy.engine.as_deref() == Some("interp"),
        };
        let (requests, inbox) = mpsc::channel::<Request>(QUEUE);
        let (committed_tx, committed) = watch::channel(0u64);
        let (started_tx, started_rx) = oneshot::channel();
        let core = {
            let (store, shared, metrics) = (store.clone(), shared.clone(), metrics.clone());
            let program = program.clone();
            let priority = config.node.core_priority;
            std::thread::Builder::new()
                .name("cbp-core".into())
                .spawn(move || {
                    crate::priority::set_this_threads(priority);
                    match Core::start(store, program, options, shared, metrics, committed_tx) {
                        Ok((core, replayed)) => {
                            let _ = started_tx.send(Ok(replayed));
                            core.run(inbox);
                        }
                        Err(e) => {
                            let _ = started_tx.send(Err(e));
                        }
                    }
                })
                .map_err(|e| format!("cannot start the core thread: {e}"))?
        };
        let replayed = started_rx
            .await
            .map_err(|_| "the core stopped while starting".to_string())??;

        let (stop, stopped) = watch::channel(false);
        let cursors = Arc::new(Cursors::default());
        shared.slowest_sink.store(u64::MAX, Ordering::Release);
        let mut sink_tasks = Vec::new();
        for sink in build_sinks(&config)? {
            let start = sinks::start_cursor(&store, &sink.name)?;
            sink_tasks.push(tokio::spawn(sinks::run(
                sink,
                start,
                store.clone(),
                shared.clone(),
                cursors.clone(),
                metrics.clone(),
                committed.clone(),
                requests.downgrade(),
            )));
        }

        let mut sources = Vec::new();
        if let Some(kafka) = config.kafka.clone() {
            let core = crate::kafka::ToCore {
                requests: requests.clone(),
                shared: shared.clone(),
            };
            let (metrics, stop) = (metrics.clone(), stopped.clone());
            let per_source = config.source_idle_ms().is_some();
            sources.push(tokio::spawn(async move {
                if let Err(e) = crate::kafka::consume(kafka, per_source, core, metrics, stop).await
                {
                    tracing::error!("{e}");
                }
            }));
        }
        if let Some(mqtt) = config.mqtt.clone() {
            let (core, metrics, stop) = (requests.clone(), metrics.clone(), stopped.clone());
            sources.push(tokio::spawn(async move {
                if let Err(e) = crate::mqtt::subscribe(mqtt, core, metrics, stop).await {
                    tracing::error!("{e}");
                }
            }));
        }

        if let Some(path) = config.policy.bundle.clone() {
            let (core, stop) = (requests.clone(), stopped.clone());
            sources.push(tokio::spawn(watch_bundle(path, core, stop)));
        }

        let ready = Arc::new(AtomicBool::new(false));
        let state = AppState {
            core: requests.clone(),
            shared,
            metrics,
            store,
            node: Arc::new(NodeInfo {
                id: config.node.id.clone(),
                layer: config.node.layer.clone(),
                zone: config.node.zone.clone(),
                policy: policy_name.clone(),
                engine: config.policy.engine.clone().unwrap_or_else(|| "jit".into()),
                layers: [format!("L{lowest_layer}"), format!("L{highest_layer}")],
                scope: crate::peers::Scope {
                    zone: config.node.zone.clone(),
                    lowest_layer,
                    highest_layer,
                },
            }),
            ready: ready.clone(),
        };
        let listener = tokio::net::TcpListener::bind(config.http.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.http.listen))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot listen on {}: {e}", config.http.listen))?;
        let app = router(state, config.http.max_body_bytes);
        let mut until_stop = stopped.clone();
        let server = tokio::spawn(async move {
            let serving = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = until_stop.wait_for(|stop| *stop).await;
            });
            if let Err(e) = serving.await {
                tracing::error!("the HTTP server stopped: {e}");
            }
        });
        ready.store(true, Ordering::Release);
        Ok((
            Node {
                addr,
                stop,
                requests,
                server,
                sources,
                sinks: sink_tasks,
                core,
            },
            Started {
                policy: policy_name,
                replayed,
            },
        ))
    }

    /// Inputs straight to the core, as a source would send them (for embedding the node,
    /// and for measuring the core without a transport).
    pub async fn ingest(
        &self,
        inputs: Vec<crate::store::Input>,
    ) -> Result<crate::core::Ingested, String> {
        crate::core::ingest(&self.requests, inputs).await
    }

    /// Stops taking input, lets in-flight requests finish and the core commit everything it
    /// was given, then stops.
    pub async fn shutdown(self) {
        drop(self.requests);
        let _ = self.stop.send(true);
        let _ = self.server.await;
        for source in self.sources {
            let _ = source.await;
        }
        let core = self.core;
        let _ = tokio::task::spawn_blocking(move || core.join()).await;
        // The sinks see the core gone and stop after the batch in hand; what they have not
        // delivered waits in the log for the next start.
        for sink in self.sinks {
            let _ = tokio::time::timeout(Duration::from_secs(5), sink).await;
        }
    }
}

/// The program to run: a bundle reloaded through the API (it outlives restarts), else the
/// configured bundle or sources, else the shipped policies.
async fn load_program(
    config: &Config,
    store: &Store,
) -> Result<(Arc<cbp_ir::Program>, String), String> {
    if let Some(bytes) = store.reloaded_program().map_err(|e| e.to_string())? {
        let program = policy::read_bundle(&bytes, std::path::Path::new("the reloaded bundle"))?;
        return Ok((program, "the bundle reloaded through the API".into()));
    }
    let source = match (&config.policy.bundle, config.policy.paths.as_slice()) {
        (Some(bundle), _) => PolicySource::Bundle(bundle.clone()),
        (None, []) => PolicySource::Shipped,
        (None, paths) => PolicySource::Paths(paths.to_vec()),
    };
    let name = source.to_string();
    let program = tokio::task::spawn_blocking(move || policy::load(&source))
        .await
        .map_err(|_| "the policy could not be loaded".to_string())??;
    Ok((program, name))
}

/// Hot reload from the configured bundle file: when it changes, the new program is read,
/// JIT-compiled and swapped in; one that fails to load leaves the old one running, and the
/// log says why.
async fn watch_bundle(
    path: std::path::PathBuf,
    core: mpsc::Sender<Request>,
    mut stop: watch::Receiver<bool>,
) {
    let modified = |path: &std::path::Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let mut seen = modified(&path);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
        let now = modified(&path);
        if now.is_none() || now == seen {
            continue;
        }
        seen = now;
        let read_from = path.clone();
        let loaded = tokio::task::spawn_blocking(move || {
            std::fs::read(&read_from)
                .map_err(|e| format!("cannot read `{}`: {e}", read_from.display()))
                .and_then(|bytes| policy::read_bundle(&bytes, &read_from))
        })
        .await
        .unwrap_or_else(|_| Err("the bundle could not be read".into()));
        let program = match loaded {
            Ok(program) => program,
            Err(e) => {
                tracing::warn!("the changed bundle is not loaded, the running one stays: {e}");
                continue;
            }
        };
        let (reply, answer) = oneshot::channel();
        let request = Request::Reload {
            program,
            bundle: None,
            reply,
        };
        if core.send(request).await.is_err() {
            return;
        }
        match answer.await {
            Ok(Ok(reloaded)) => tracing::info!(
                "reloaded `{}`: {} rules, {} journaled inputs replayed",
                path.display(),
                reloaded.rules,
                reloaded.replayed
            ),
            Ok(Err(e)) => tracing::warn!("the changed bundle is not running: {e}"),
            Err(_) => return,
        }
    }
}

fn build_sinks(config: &Config) -> Result<Vec<Sink>, String> {
    let mut out = Vec::new();
    for section in &config.sinks {
        let target = match section.kind.as_str() {
            "webhook" => Target::Webhook {
                client: http_client(section.timeout_ms)?,
                url: section.url.clone().unwrap_or_default(),
                retries: section.retries,
            },
            _ => {
                let path = section.path.clone().unwrap_or_default();
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|e| {
                        format!(
                            "sink `{}`: cannot open `{}`: {e}",
                            section.name,
                            path.display()
                        )
                    })?;
                Target::Log {
                    file,
                    proto: section.format == "proto",
                }
            }
        };
        out.push(Sink {
            name: section.name.clone(),
            target,
            filter: Filter {
                kinds: section.kinds.clone(),
                above_layer: None,
                to_zone: None,
            },
        });
    }
    if let Some(kafka) = &config.kafka
        && let Some(topic) = &kafka.output_topic
    {
        out.push(Sink {
            name: "kafka".into(),
            target: Target::Kafka(crate::kafka::RecordProducer::new(kafka, topic)?),
            filter: Filter {
                kinds: Vec::new(),
                above_layer: None,
                to_zone: None,
            },
        });
    }
    if let Some(parent) = &config.node.parent {
        out.push(Sink {
            name: "parent".into(),
            target: Target::Webhook {
                client: http_client(5_000)?,
                url: format!("{}/api/v1/layer/escalate", parent.trim_end_matches('/')),
                retries: 8,
            },
            filter: Filter {
                kinds: vec!["escalation".into(), "report".into()],
                above_layer: Some(config.layer()),
                to_zone: None,
            },
        });
    }
    // Commands go down to the child that serves their target's zone.
    for child in &config.children {
        out.push(Sink {
            name: format!("child:{}", child.zone),
            target: Target::Webhook {
                client: http_client(5_000)?,
                url: format!("{}/api/v1/layer/command", child.url.trim_end_matches('/')),
                retries: 8,
            },
            filter: Filter {
                kinds: vec!["command".into()],
                above_layer: None,
                to_zone: Some(child.zone.clone()),
            },
        });
    }
    Ok(out)
}

fn http_client(timeout_ms: u64) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(timeout_ms.max(1)))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}
