//! `cbp-node`: a City Brain Policy runtime node as a long-running service. It wraps the same
//! runtime core `cbpc run` uses (`cbp-runtime`, the JIT from `cbp-jit`) with what a node
//! deployed in a city needs: events in over HTTP, Kafka and MQTT; durable state that
//! survives `kill -9`; the authority dashboard's approvals API; sinks for actions; metrics.
//!
//! ```text
//!  HTTP ─┐                      ┌─ store (redb): journal, log, pending, cursors
//! Kafka ─┼─► core (one thread) ─┤
//!  MQTT ─┘   engine + JIT        └─► sinks: webhooks, log file, Kafka topic, parent node
//! ```

pub mod approvals;
mod commit;
pub mod config;
pub mod core;
pub mod dedup;
pub mod http;
pub mod inputs;
pub mod kafka;
pub mod metrics;
pub mod mqtt;
pub mod node;
pub mod peers;
pub mod plugins;
pub mod policy;
pub mod priority;
pub mod record_proto;
pub mod sinks;
pub mod store;
pub mod watermarks;

pub use config::Config;
pub use node::{Node, Started};

/// mimalloc for every program built on the node (the service, its tests and benches): inputs
/// are allocated on the sources' threads and freed on the commit thread, which glibc's
/// malloc serves slowly. Built without its transparent-huge-page advice: the kernel then
/// zeroed a whole 2 MiB page whenever a purged one was touched again (see
/// `docs/performance.md`, *Runtime node*).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
