//! The local stand-in for every notification provider: it records each request (what a
//! provider would have received) and answers 200, or the statuses a test queued for one
//! recipient, so retries and fallbacks can be exercised. `GET /dev/outbox` lists the
//! deliveries the dispatcher recorded. Local stack only: none of this is in template.yaml.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{any, get, post};
use axum::{Json, Router};
use domain::{OrgId, UserId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use store::Store;

#[derive(Debug, Clone, Serialize)]
pub struct SinkRequest {
    pub channel: String,
    pub path: String,
    pub to: Option<String>,
    pub body: String,
    pub status: u16,
}

#[derive(Clone, Default)]
pub struct Sink {
    requests: Arc<Mutex<Vec<SinkRequest>>>,
    /// Statuses to answer, per recipient, before answering 200 again.
    failures: Arc<Mutex<HashMap<String, VecDeque<u16>>>>,
}

#[derive(Clone)]
struct SinkState {
    sink: Sink,
    store: Store,
}

pub fn router(sink: Sink, store: Store) -> Router {
    Router::new()
        .route("/dev/sink/failures", post(queue_failures))
        .route("/dev/sink/requests", get(requests))
        .route("/dev/sink/{channel}/{*rest}", any(receive))
        .route("/dev/outbox", get(outbox))
        .with_state(SinkState { sink, store })
}

/// The recipient of a provider request, whatever the provider's format.
fn recipient(body: &str) -> Option<String> {
    if let Ok(json) = serde_json::from_str::<Value>(body) {
        let to = json.get("to").or_else(|| json.get("chat_id")).or_else(|| json.pointer("/message/token"));
        return to.map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()));
    }
    body.split('&').find_map(|pair| pair.strip_prefix("To=")).map(|v| v.replace("%2B", "+"))
}

async fn receive(
    State(s): State<SinkState>,
    Path((channel, rest)): Path<(String, String)>,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    let body = String::from_utf8_lossy(&body).into_owned();
    let to = recipient(&body);
    let status = to
        .as_ref()
        .and_then(|t| {
            s.sink.failures.lock().unwrap_or_else(|e| e.into_inner()).get_mut(t).and_then(VecDeque::pop_front)
        })
        .unwrap_or(200);
    let record = SinkRequest { channel, path: format!("/{rest}"), to, body, status };
    s.sink.requests.lock().unwrap_or_else(|e| e.into_inner()).push(record);
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    (status, Json(serde_json::json!({ "ok": status.is_success() })))
}

#[derive(Deserialize)]
struct Failures {
    to: String,
    statuses: Vec<u16>,
}

async fn queue_failures(State(s): State<SinkState>, Json(f): Json<Failures>) -> StatusCode {
    s.sink.failures.lock().unwrap_or_else(|e| e.into_inner()).entry(f.to).or_default().extend(f.statuses);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct RequestsQuery {
    to: Option<String>,
}

async fn requests(State(s): State<SinkState>, Query(q): Query<RequestsQuery>) -> Json<Value> {
    let all = s.sink.requests.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let items: Vec<_> = all.into_iter().filter(|r| q.to.is_none() || r.to == q.to).collect();
    Json(serde_json::json!({ "items": items }))
}

#[derive(Deserialize)]
struct OutboxQuery {
    user_id: String,
    org_id: Option<String>,
}

async fn outbox(State(s): State<SinkState>, Query(q): Query<OutboxQuery>) -> Result<Json<Value>, StatusCode> {
    let org = OrgId::parse(q.org_id.unwrap_or_else(|| "demo".into())).map_err(|_| StatusCode::BAD_REQUEST)?;
    let user = UserId::parse(q.user_id).map_err(|_| StatusCode::BAD_REQUEST)?;
    let items = s.store.deliveries(&org, &user, 100).await.map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    Ok(Json(serde_json::json!({ "items": items })))
}
