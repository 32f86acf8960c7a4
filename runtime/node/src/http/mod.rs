//! The HTTP API (contract section 4, seed section 12), with axum.
//!
//! | route | does |
//! | --- | --- |
//! | `POST /api/v1/plugin/register` | checks a plugin manifest against the policy's `plugin` declarations, records it |
//! | `POST /webhook/{plugin_id}` | events in: a JSON object or array, NDJSON, or protobuf |
//! | `GET /api/v1/authority/pending-approvals` | decisions waiting for a person, in the caller's scope |
//! | `POST /api/v1/authority/approve-decision` | a person's answer: approve, reject or escalate |
//! | `POST /api/v1/layer/escalate`, `POST /api/v1/layer/command` | records from a child or the parent: the escalated incident or the command run at its node |
//! | `POST /api/v1/bundle` | hot reload of a bundle written by `cbpc compile` |
//! | `GET /api/v1/records`, `GET /api/v1/status`, `GET /api/v1/plugins` | the decision log and the node's state |
//! | `GET /health`, `GET /ready`, `GET /metrics`, `GET /api/v1/openapi.json` | operations |

mod error;
mod events;
mod routes;

pub use error::ApiError;
pub use routes::router;

use crate::core::{Request, Shared};
use crate::metrics::Metrics;
use crate::store::Store;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use tokio::sync::mpsc;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub core: mpsc::Sender<Request>,
    pub shared: Arc<Shared>,
    pub metrics: Arc<Metrics>,
    pub store: Arc<Store>,
    pub node: Arc<NodeInfo>,
    pub ready: Arc<AtomicBool>,
}

/// The node's identity, as the status route reports it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct NodeInfo {
    pub id: String,
    pub layer: String,
    pub zone: String,
    pub policy: String,
    pub engine: String,
    /// The lowest and highest layer the node runs (`["L1", "L5"]`: the whole hierarchy).
    pub layers: [String; 2],
    /// Its zone and layers, for the layer routes.
    #[serde(skip)]
    pub scope: crate::peers::Scope,
}
