//! `cbp-node [--config FILE] [--listen ADDR] [--data DIR]` (contract section 1).

use cbp_node::{Config, Node};
use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// A City Brain Policy runtime node. With no config: L1, the shipped policies, HTTP on
/// 127.0.0.1:7070, state in ./cbp-data.
#[derive(Parser, Debug)]
#[command(name = "cbp-node", version)]
struct Args {
    /// A TOML configuration file (see runtime/node/README.md).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where the HTTP API listens (overrides the config).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// The state folder (overrides the config).
    #[arg(long)]
    data: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_logging();
    let mut config = match &args.config {
        Some(path) => match Config::from_file(path) {
            Ok(config) => config,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        None => Config::default(),
    };
    if let Some(listen) = args.listen {
        config.http.listen = listen;
    }
    if let Some(data) = args.data {
        config.state.dir = data;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async move {
        let (node, started) = match Node::start(config).await {
            Ok(started) => started,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        };
        tracing::info!(
            "cbp-node listening on http://{} running {} ({} journaled inputs replayed)",
            node.addr,
            started.policy,
            started.replayed
        );
        wait_for_signal().await;
        tracing::info!("stopping: finishing in-flight work");
        node.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// Logs of the node itself at `info` (of the libraries it uses, only warnings) on standard
/// error.
fn init_logging() {
    use tracing::Level;
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;
    let targets = Targets::new()
        .with_default(Level::WARN)
        .with_target("cbp_node", Level::INFO);
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .with_filter(targets),
        )
        .init();
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
