//! The routes and their handlers. Every body is read as bytes and parsed here, so every
//! refusal is the API's JSON error with a message that names the problem.

use super::events::{BodyFormat, inputs};
use super::{ApiError, AppState};
use crate::approvals::{ApproveRequest, Scope};
use crate::core::{Ingested, Reply, Request};
use crate::plugins::{Manifest, check_manifest};
use crate::store::Input;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request as HttpRequest, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::time::Instant;
use tokio::sync::oneshot;

const OPENAPI: &str = include_str!("../../openapi.json");

pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/status", get(status))
        .route("/api/v1/plugin/register", post(register))
        .route("/api/v1/plugins", get(plugins))
        .route("/webhook/{plugin_id}", post(webhook))
        .route("/api/v1/events", post(events))
        .route("/api/v1/authority/pending-approvals", get(pending))
        .route("/api/v1/authority/approve-decision", post(approve))
        .route("/api/v1/layer/escalate", post(escalate))
        .route("/api/v1/layer/command", post(command))
        .route("/api/v1/bundle", post(reload))
        .route("/api/v1/records", get(records))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), timing))
        .with_state(state)
}

async fn timing(State(state): State<AppState>, request: HttpRequest, next: Next) -> Response {
    let started = Instant::now();
    let response = next.run(request).await;
    state
        .metrics
        .http_seconds
        .observe(started.elapsed().as_secs_f64());
    response
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route; the routes are in /api/v1/openapi.json")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take this method; see /api/v1/openapi.json",
    )
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn ready(State(state): State<AppState>) -> Response {
    if state.ready.load(Ordering::Acquire) && !state.core.is_closed() {
        Json(json!({"status": "ready"})).into_response()
    } else {
        ApiError::unavailable("the node is starting or stopping").into_response()
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn status(State(state): State<AppState>) -> Json<Value> {
    let program = state.shared.program.read().ok().and_then(|p| p.clone());
    let clock = state.shared.clock.load(Ordering::Acquire);
    let pending = state.shared.pending.lock().map(|p| p.len()).unwrap_or(0);
    Json(json!({
        "node": &*state.node,
        "source_hash": program.as_ref().map(|p| p.source_hash.clone()),
        "rules": program.as_ref().map(|p| p.rules.len()),
        "clock": (clock != i64::MIN).then(|| cbp_runtime::time::format_rfc3339(clock)),
        "records": state.shared.records.load(Ordering::Acquire),
        "pending_approvals": pending,
        "journal": state.store.journal_len().ok(),
        "watermarks": state
            .shared
            .watermarks
            .lock()
            .ok()
            .and_then(|view| view.as_ref().map(|v| v.status(std::time::Instant::now()))),
    }))
}

/// Sends a request to the core and waits for its reply.
async fn ask<T>(state: &AppState, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, ApiError> {
    let (reply, answer) = oneshot::channel();
    state
        .core
        .send(make(reply))
        .await
        .map_err(|_| ApiError::unavailable("the node is stopping"))?;
    answer
        .await
        .map_err(|_| ApiError::unavailable("the node is stopping"))?
        .map_err(ApiError::unavailable)
}

fn body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        let status = rejection.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "payload_too_large"
        } else {
            "bad_request"
        };
        ApiError::new(status, code, rejection.body_text())
    })
}

fn json_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::unprocessable("invalid_body", format!("the body is refused: {e}")))
}

async fn register(
    State(state): State<AppState>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let raw = body(raw)?;
    let manifest: Manifest = json_body(&raw)?;
    let program = state
        .shared
        .program
        .read()
        .ok()
        .and_then(|p| p.clone())
        .ok_or_else(|| ApiError::unavailable("no policy is loaded yet"))?;
    let plugin = check_manifest(&program, &manifest)
        .map_err(|reason| ApiError::unprocessable("manifest_mismatch", reason))?;
    let stored = serde_json::to_string(&manifest).unwrap_or_default();
    state
        .store
        .register_plugin(&plugin, &stored)
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "plugin_id": plugin,
            "status": "registered",
            "webhook": format!("/webhook/{plugin}"),
        })),
    )
        .into_response())
}

async fn plugins(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let registered = state
        .store
        .plugins()
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let program = state.shared.program.read().ok().and_then(|p| p.clone());
    let declared: Vec<Value> = program
        .iter()
        .flat_map(|p| p.plugins.iter())
        .map(|plugin| {
            let manifest = registered
                .iter()
                .find(|(id, _)| *id == plugin.model_id)
                .and_then(|(_, m)| serde_json::from_str::<Value>(m).ok());
            json!({
                "plugin_id": plugin.model_id,
                "name": plugin.name,
                "registered": manifest.is_some(),
                "manifest": manifest,
            })
        })
        .collect();
    Ok(Json(json!({ "plugins": declared })))
}

async fn webhook(
    State(state): State<AppState>,
    Path(plugin_id): Path<String>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<Ingested>, ApiError> {
    let raw = body(raw)?;
    let declared = state
        .shared
        .program
        .read()
        .ok()
        .and_then(|p| p.clone())
        .is_some_and(|p| p.plugins.iter().any(|d| d.model_id == plugin_id));
    if !declared {
        return Err(ApiError::not_found(format!(
            "no plugin `{plugin_id}` is declared by the running policy"
        )));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let format = BodyFormat::of(content_type)?;
    let inputs = Input::from_source(
        &format!("http:{plugin_id}"),
        inputs(Some(&plugin_id), format, &raw)?,
    );
    state.metrics.source("http", inputs.len() as u64);
    ask(&state, |reply| Request::Ingest {
        inputs: inputs.into(),
        records: true,
        reply,
    })
    .await
    .map(Json)
}

/// Events from any plugin (a gateway, a replay): each keeps its own `model_id`.
async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<Ingested>, ApiError> {
    let raw = body(raw)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let format = BodyFormat::of(content_type)?;
    let inputs = Input::from_source("http:events", inputs(None, format, &raw)?);
    state.metrics.source("http", inputs.len() as u64);
    ask(&state, |reply| Request::Ingest {
        inputs: inputs.into(),
        records: true,
        reply,
    })
    .await
    .map(Json)
}

async fn pending(
    State(state): State<AppState>,
    query: Result<Query<Scope>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(scope) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if let Some(level) = &scope.level
        && crate::config::layer_number(level).is_none()
    {
        return Err(ApiError::bad_request(format!(
            "`level` is `{level}`; it must be one of L1 … L5"
        )));
    }
    let approvals: Vec<Value> = state
        .shared
        .pending
        .lock()
        .map(|map| {
            map.values()
                .filter(|a| scope.admits(a))
                .map(|a| serde_json::to_value(a).unwrap_or(Value::Null))
                .collect()
        })
        .unwrap_or_default();
    Ok(Json(json!({ "approvals": approvals })))
}

async fn approve(
    State(state): State<AppState>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let raw = body(raw)?;
    let answer: ApproveRequest = json_body(&raw)?;
    answer
        .validate()
        .map_err(|m| ApiError::unprocessable("invalid_body", m))?;
    let pending = find_approval(&state, &answer.decision_id).ok_or_else(|| {
        ApiError::not_found(format!(
            "unknown decision `{}`: no pending approval has this id",
            answer.decision_id
        ))
    })?;
    let clock = state.shared.clock.load(Ordering::Acquire);
    let line = answer.to_event(Some(&pending), Some(clock));
    let inputs = vec![Input::Line(line)];
    let ingested = ask(&state, |reply| Request::Ingest {
        inputs: inputs.into(),
        records: true,
        reply,
    })
    .await?;
    if ingested.duplicates > 0 {
        return Ok(Json(json!({
            "decision_id": answer.decision_id,
            "status": "duplicate",
            "message": "this answer was given before; nothing was done again",
        }))
        .into_response());
    }
    for raw in &ingested.records {
        let record: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
        match record.get("kind").and_then(Value::as_str) {
            Some("dead_letter") => {
                let message = record
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("the answer was refused")
                    .to_string();
                return Err(refusal(message));
            }
            Some("approval") => {
                let text = |key: &str| {
                    record
                        .get(key)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                let answered = Answered {
                    decision_id: text("decision_id"),
                    status: text("status"),
                    by: text("by"),
                    time: text("time"),
                    records: ingested.records.clone(),
                };
                return Ok(Json(answered).into_response());
            }
            _ => {}
        }
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "not_resolved",
        "the answer was recorded but resolved nothing",
    ))
}

/// What an answer did: the approval record and every record that followed from it.
#[derive(serde::Serialize)]
struct Answered {
    decision_id: String,
    status: String,
    by: String,
    time: String,
    records: Vec<Box<serde_json::value::RawValue>>,
}

/// The approval a decision id names: pending, or resolved lately; by its id or by the
/// `RULE/TRIGGER_EVENT_ID` form.
fn find_approval(state: &AppState, id: &str) -> Option<crate::approvals::PendingApproval> {
    let alias = |p: &&crate::approvals::PendingApproval| format!("{}/{}", p.rule, p.trigger) == id;
    if let Ok(map) = state.shared.pending.lock()
        && let Some(found) = map.get(id).or_else(|| map.values().find(alias))
    {
        return Some(found.clone());
    }
    state
        .shared
        .resolved
        .lock()
        .ok()
        .and_then(|resolved| resolved.get(id).cloned())
}

/// The engine's reason for refusing an answer, with the status that fits it.
fn refusal(message: String) -> ApiError {
    if message.starts_with("unknown decision") {
        ApiError::not_found(message)
    } else if message.contains("is below the required") {
        ApiError::new(StatusCode::FORBIDDEN, "insufficient_authority", message)
    } else if message.contains("is already") {
        ApiError::new(StatusCode::CONFLICT, "already_resolved", message)
    } else {
        ApiError::unprocessable("refused", message)
    }
}

async fn escalate(
    State(state): State<AppState>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    receive(state, raw, "escalate", &["escalation", "report"]).await
}

async fn command(
    State(state): State<AppState>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    receive(state, raw, "command", &["command"]).await
}

/// A record from another node, checked for the fields the contract requires of its kind.
/// An escalation or command carrying its `message` is an input: the message is journaled
/// and run at the record's `to` node (which this node must run), deduplicated by its ids
/// like any event, and the reply carries what it made. Anything else (reports, records
/// without a message) is written to this node's log as a `received` record.
async fn receive(
    state: AppState,
    raw: Result<Bytes, BytesRejection>,
    via: &'static str,
    kinds: &[&str],
) -> Result<Response, ApiError> {
    let raw = body(raw)?;
    let record: Value = json_body(&raw)?;
    crate::peers::check_record(&record, kinds)
        .map_err(|m| ApiError::unprocessable("invalid_record", m))?;
    let delivery = crate::peers::delivery(&record, &raw, &state.node.scope)
        .map_err(|m| ApiError::unprocessable("not_this_node", m))?;
    if let Some(crate::peers::Delivery { node, line }) = delivery {
        let inputs = vec![Input::Delivered { node, line }];
        state.metrics.source("peer", 1);
        let ingested = ask(&state, |reply| Request::Ingest {
            inputs: inputs.into(),
            records: true,
            reply,
        })
        .await?;
        return Ok(Json(ingested).into_response());
    }
    let record = json!({"kind": "received", "via": via, "record": record});
    let seq = ask(&state, |reply| Request::Log { record, reply }).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"status": "accepted", "record": seq})),
    )
        .into_response())
}

async fn reload(
    State(state): State<AppState>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let raw = body(raw)?;
    let bytes = raw.to_vec();
    // Reading and checking the bundle is CPU work: off the async threads.
    let program = tokio::task::spawn_blocking(move || {
        crate::policy::read_bundle(&bytes, std::path::Path::new("request body"))
            .map(|program| (program, bytes))
    })
    .await
    .map_err(|_| ApiError::unavailable("the bundle could not be read"))?;
    let (program, bundle) = program.map_err(|m| ApiError::unprocessable("bundle_refused", m))?;
    let reloaded = ask(&state, |reply| Request::Reload {
        program,
        bundle: Some(bundle),
        reply,
    })
    .await
    .map_err(|e| ApiError::unprocessable("bundle_refused", e.message))?;
    Ok(Json(serde_json::to_value(reloaded).unwrap_or(Value::Null)))
}

#[derive(serde::Deserialize)]
struct RecordsQuery {
    #[serde(default)]
    from: u64,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    1000
}

/// The decision log from record `from` on, as NDJSON; `X-Next-Record` says where to go on.
async fn records(
    State(state): State<AppState>,
    query: Result<Query<RecordsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = query.limit.clamp(1, 100_000);
    let store = state.store.clone();
    let records = tokio::task::spawn_blocking(move || store.records_from(query.from, limit))
        .await
        .map_err(|_| ApiError::unavailable("the log could not be read"))?
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let next = records.last().map(|(seq, _)| seq + 1).unwrap_or(query.from);
    let mut text = String::new();
    for (_, line) in records {
        text.push_str(&line);
        text.push('\n');
    }
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson".to_string()),
            (
                header::HeaderName::from_static("x-next-record"),
                next.to_string(),
            ),
        ],
        text,
    )
        .into_response())
}
